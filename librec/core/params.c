/* rec_params: a small ordered map of typed options, checked against a
 * component's spec table when used. */
#include "core-impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *key;
    rec_param_type type;
    int64_t i;
    double f;
    char *s;
} entry;

struct rec_params {
    entry *e;
    size_t n, cap;
};

REC_API rec_status rec_params_create(rec_params **out)
{
    REC_CHECK_ARG(out, "rec_params_create", "out is NULL");
    *out = rec_calloc(1, sizeof **out);
    return *out ? REC_OK : rec_nomem("rec_params_create");
}

static void entry_clear(entry *e)
{
    rec_strfree(e->key);
    rec_strfree(e->s);
}

REC_API void rec_params_destroy(rec_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        entry_clear(&p->e[i]);
    rec_free(p->e, p->cap * sizeof *p->e);
    rec_free(p, sizeof *p);
}

static entry *find(const rec_params *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->e[i].key, key) == 0)
            return &p->e[i];
    return NULL;
}

static int key_ok(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
              (*k >= '0' && *k <= '9') || *k == '_' || *k == '.' || *k == '-'))
            return 0;
    return 1;
}

/* Find or append the entry for key; on success its old string is freed. */
static rec_status slot(rec_params *p, const char *key, const char *fn, entry **out)
{
    REC_CHECK_ARG(p, fn, "params is NULL");
    REC_CHECK_ARG(key, fn, "key is NULL");
    if (!key_ok(key))
        return rec_err(REC_E_INVALID, "%s: bad key '%s' (letters, digits, _ . - only)", fn, key);
    entry *e = find(p, key);
    if (e) {
        rec_strfree(e->s);
        e->s = NULL;
        *out = e;
        return REC_OK;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 8;
        entry *ne = rec_realloc(p->e, p->cap * sizeof *ne, nc * sizeof *ne);
        if (!ne)
            return rec_nomem(fn);
        p->e = ne;
        p->cap = nc;
    }
    char *k = rec_strdup(key);
    if (!k)
        return rec_nomem(fn);
    e = &p->e[p->n++];
    memset(e, 0, sizeof *e);
    e->key = k;
    *out = e;
    return REC_OK;
}

REC_API rec_status rec_params_set_int(rec_params *p, const char *key, int64_t v)
{
    entry *e;
    REC_TRY(slot(p, key, "rec_params_set_int", &e));
    e->type = REC_PARAM_INT;
    e->i = v;
    e->f = (double)v;
    return REC_OK;
}

REC_API rec_status rec_params_set_float(rec_params *p, const char *key, double v)
{
    if (isnan(v))
        return rec_err(REC_E_INVALID, "rec_params_set_float: %s: value is NaN",
                       key ? key : "(null)");
    entry *e;
    REC_TRY(slot(p, key, "rec_params_set_float", &e));
    e->type = REC_PARAM_FLOAT;
    e->f = v;
    return REC_OK;
}

REC_API rec_status rec_params_set_bool(rec_params *p, const char *key, int v)
{
    entry *e;
    REC_TRY(slot(p, key, "rec_params_set_bool", &e));
    e->type = REC_PARAM_BOOL;
    e->i = v != 0;
    return REC_OK;
}

REC_API rec_status rec_params_set_str(rec_params *p, const char *key, const char *v)
{
    REC_CHECK_ARG(v, "rec_params_set_str", "value is NULL");
    char *s = rec_strdup(v);
    if (!s)
        return rec_nomem("rec_params_set_str");
    entry *e;
    rec_status st = slot(p, key, "rec_params_set_str", &e);
    if (st) {
        rec_strfree(s);
        return st;
    }
    e->type = REC_PARAM_STR;
    e->s = s;
    return REC_OK;
}

REC_API rec_status rec_params_parse(rec_params *p, const char *kv)
{
    REC_CHECK_ARG(p, "rec_params_parse", "params is NULL");
    REC_CHECK_ARG(kv, "rec_params_parse", "text is NULL");
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return rec_err(REC_E_INVALID, "rec_params_parse: '%s' is not KEY=VALUE", kv);
    char key[128];
    size_t kn = (size_t)(eq - kv);
    if (kn >= sizeof key)
        return rec_err(REC_E_INVALID, "rec_params_parse: key too long in '%s'", kv);
    memcpy(key, kv, kn);
    key[kn] = 0;
    const char *v = eq + 1;
    if (*v) {
        char *end;
        errno = 0;
        long long iv = strtoll(v, &end, 10);
        if (!*end && errno == 0)
            return rec_params_set_int(p, key, iv);
        double fv = strtod(v, &end);
        if (!*end && errno == 0 && !isnan(fv))
            return rec_params_set_float(p, key, fv);
    }
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
        return rec_params_set_bool(p, key, 1);
    if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
        return rec_params_set_bool(p, key, 0);
    return rec_params_set_str(p, key, v);
}

REC_API rec_status rec_params_count(const rec_params *p, size_t *n)
{
    REC_CHECK_ARG(p && n, "rec_params_count", "params or n is NULL");
    *n = p->n;
    return REC_OK;
}

REC_API rec_status rec_params_key(const rec_params *p, size_t i, const char **key,
                                  rec_param_type *type)
{
    REC_CHECK_ARG(p && key, "rec_params_key", "params or key is NULL");
    if (i >= p->n)
        return rec_err(REC_E_RANGE, "rec_params_key: index %zu >= count %zu", i, p->n);
    *key = p->e[i].key;
    if (type)
        *type = p->e[i].type;
    return REC_OK;
}

static rec_status get(const rec_params *p, const char *key, const char *fn, entry **e)
{
    REC_CHECK_ARG(p, fn, "params is NULL");
    REC_CHECK_ARG(key, fn, "key is NULL");
    *e = find(p, key);
    if (!*e)
        return rec_err(REC_E_NOTFOUND, "%s: no key '%s'", fn, key);
    return REC_OK;
}

static const char *type_name(rec_param_type t)
{
    switch (t) {
    case REC_PARAM_INT: return "int";
    case REC_PARAM_FLOAT: return "float";
    case REC_PARAM_STR: return "string";
    case REC_PARAM_BOOL: return "bool";
    }
    return "?";
}

REC_API rec_status rec_params_get_int(const rec_params *p, const char *key, int64_t *v)
{
    entry *e;
    REC_CHECK_ARG(v, "rec_params_get_int", "v is NULL");
    REC_TRY(get(p, key, "rec_params_get_int", &e));
    if (e->type != REC_PARAM_INT)
        return rec_err(REC_E_INVALID, "rec_params_get_int: '%s' is a %s", key, type_name(e->type));
    *v = e->i;
    return REC_OK;
}

REC_API rec_status rec_params_get_float(const rec_params *p, const char *key, double *v)
{
    entry *e;
    REC_CHECK_ARG(v, "rec_params_get_float", "v is NULL");
    REC_TRY(get(p, key, "rec_params_get_float", &e));
    if (e->type != REC_PARAM_FLOAT && e->type != REC_PARAM_INT)
        return rec_err(REC_E_INVALID, "rec_params_get_float: '%s' is a %s", key,
                       type_name(e->type));
    *v = e->f;
    return REC_OK;
}

REC_API rec_status rec_params_get_bool(const rec_params *p, const char *key, int *v)
{
    entry *e;
    REC_CHECK_ARG(v, "rec_params_get_bool", "v is NULL");
    REC_TRY(get(p, key, "rec_params_get_bool", &e));
    if (e->type != REC_PARAM_BOOL)
        return rec_err(REC_E_INVALID, "rec_params_get_bool: '%s' is a %s", key, type_name(e->type));
    *v = (int)e->i;
    return REC_OK;
}

REC_API rec_status rec_params_get_str(const rec_params *p, const char *key, const char **v)
{
    entry *e;
    REC_CHECK_ARG(v, "rec_params_get_str", "v is NULL");
    REC_TRY(get(p, key, "rec_params_get_str", &e));
    if (e->type != REC_PARAM_STR)
        return rec_err(REC_E_INVALID, "rec_params_get_str: '%s' is a %s", key, type_name(e->type));
    *v = e->s;
    return REC_OK;
}

rec_status rec_params_clone(const rec_params *src, rec_params **out)
{
    rec_params *p;
    REC_TRY(rec_params_create(&p));
    for (size_t i = 0; src && i < src->n; i++) {
        const entry *e = &src->e[i];
        rec_status st = REC_OK;
        switch (e->type) {
        case REC_PARAM_INT: st = rec_params_set_int(p, e->key, e->i); break;
        case REC_PARAM_FLOAT: st = rec_params_set_float(p, e->key, e->f); break;
        case REC_PARAM_BOOL: st = rec_params_set_bool(p, e->key, (int)e->i); break;
        case REC_PARAM_STR: st = rec_params_set_str(p, e->key, e->s); break;
        }
        if (st) {
            rec_params_destroy(p);
            return st;
        }
    }
    *out = p;
    return REC_OK;
}

/* ---- checking against a spec ------------------------------------------ */

static const rec_param_spec *spec_find(const rec_param_spec *s, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].key, key) == 0)
            return &s[i];
    return NULL;
}

static int choice_ok(const char *choices, const char *v)
{
    size_t vn = strlen(v);
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t cn = bar ? (size_t)(bar - c) : strlen(c);
        if (cn == vn && strncmp(c, v, vn) == 0)
            return 1;
        if (!bar)
            break;
        c = bar + 1;
    }
    return 0;
}

/* The spec entry that key sets: its own, or the one its alias names. */
static const rec_param_spec *spec_for(const rec_param_spec *s, size_t n, const char *key)
{
    const rec_param_spec *d = spec_find(s, n, key);
    const char *canon = d ? NULL : rec_param_alias_of(key);
    return canon ? spec_find(s, n, canon) : d;
}

rec_status rec_params_check(const rec_params *p, const rec_param_spec *spec, size_t nspec,
                            const char *fn)
{
    for (size_t i = 0; p && i < p->n; i++) {
        const entry *e = &p->e[i];
        const rec_param_spec *s = spec_for(spec, nspec, e->key);
        if (!s) {
            const char *near = rec_param_suggest(e->key, spec, nspec);
            if (near)
                return rec_err(REC_E_INVALID, "%s: unknown parameter '%s' (did you mean '%s'?)",
                               fn, e->key, near);
            return rec_err(REC_E_INVALID, "%s: unknown parameter '%s'", fn, e->key);
        }
        for (size_t j = 0; j < i; j++)
            if (spec_for(spec, nspec, p->e[j].key) == s)
                return rec_err(REC_E_INVALID, "%s: '%s' and '%s' both set parameter '%s'", fn,
                               p->e[j].key, e->key, s->key);
        int type_ok = e->type == s->type ||
                      (s->type == REC_PARAM_FLOAT && e->type == REC_PARAM_INT);
        if (!type_ok)
            return rec_err(REC_E_INVALID, "%s: parameter '%s' wants a %s, got a %s", fn,
                           e->key, type_name(s->type), type_name(e->type));
        if (s->type == REC_PARAM_INT || s->type == REC_PARAM_FLOAT) {
            double v = s->type == REC_PARAM_INT ? (double)e->i : e->f;
            if (!(v >= s->lo && v <= s->hi))
                return rec_err(REC_E_RANGE, "%s: parameter '%s' = %g is outside [%g, %g]", fn,
                               e->key, v, s->lo, s->hi);
        }
        if (s->type == REC_PARAM_STR && s->choices && !choice_ok(s->choices, e->s))
            return rec_err(REC_E_INVALID, "%s: parameter '%s' = '%s' is not one of %s", fn,
                           e->key, e->s, s->choices);
    }
    return REC_OK;
}

rec_status rec_params_clone_canonical(const rec_params *src, const rec_param_spec *spec,
                                      size_t nspec, rec_params **out)
{
    REC_TRY(rec_params_clone(src, out));
    rec_params *p = *out;
    for (size_t i = 0; i < p->n; i++) {
        const rec_param_spec *s = spec_for(spec, nspec, p->e[i].key);
        if (!s || strcmp(s->key, p->e[i].key) == 0)
            continue;
        char *k = rec_strdup(s->key);
        if (!k) {
            rec_params_destroy(p);
            *out = NULL;
            return rec_nomem("rec_params_clone_canonical");
        }
        rec_strfree(p->e[i].key);
        p->e[i].key = k;
    }
    return REC_OK;
}

/* The entry that sets key: its own, or one under an alias of key (a bag
 * that passed rec_params_check holds at most one of them). */
static const entry *find_value(const rec_params *p, const rec_param_spec *s, size_t n,
                               const char *key)
{
    if (!p)
        return NULL;
    const entry *e = find(p, key);
    for (size_t i = 0; !e && i < p->n; i++) {
        const char *canon = rec_param_alias_of(p->e[i].key);
        if (canon && strcmp(canon, key) == 0 && !spec_find(s, n, p->e[i].key))
            e = &p->e[i];
    }
    return e;
}

int64_t rec_params_int(const rec_params *p, const rec_param_spec *s, size_t n, const char *key)
{
    const entry *e = find_value(p, s, n, key);
    if (e)
        return e->i;
    const rec_param_spec *d = spec_find(s, n, key);
    return d ? strtoll(d->def, NULL, 10) : 0;
}

double rec_params_flt(const rec_params *p, const rec_param_spec *s, size_t n, const char *key)
{
    const entry *e = find_value(p, s, n, key);
    if (e)
        return e->f;
    const rec_param_spec *d = spec_find(s, n, key);
    return d ? strtod(d->def, NULL) : 0.0;
}

int rec_params_bool(const rec_params *p, const rec_param_spec *s, size_t n, const char *key)
{
    const entry *e = find_value(p, s, n, key);
    if (e)
        return (int)e->i;
    const rec_param_spec *d = spec_find(s, n, key);
    return d && (!strcmp(d->def, "true") || !strcmp(d->def, "1"));
}

const char *rec_params_str(const rec_params *p, const rec_param_spec *s, size_t n,
                           const char *key)
{
    const entry *e = find_value(p, s, n, key);
    if (e)
        return e->s;
    const rec_param_spec *d = spec_find(s, n, key);
    return d ? d->def : "";
}
