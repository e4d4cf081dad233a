/* `librec recommend`: one user (--user), an anonymous history (--history)
 * or many users in one process (--users FILE|-, one id per line in, one
 * JSON object per line out), with business rules applied by a rec_rerank
 * pipeline: --deny/--allow files, --boost weights, --cap FIELD=N and
 * --mmr LAMBDA over an item field of the training data (--data), --explore,
 * and titles printed when that data has them. */
#include <librec/librec.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- item ids <-> the rerank pipeline's item numbers ------------------------
 * The public API speaks in id strings; the pipeline in numbers.  Items of
 * --data come first, numbered as in the dataset (so field values line up),
 * then every other id as it is first met.  cap bounds the distinct ids
 * (model items + data items + ids in files), so numbers never outgrow the
 * per-item arrays sized by it. */
typedef struct items_map {
    char **name;      /* [cap]: number -> id (owned)                 */
    int32_t *slot;    /* [nslots]: hash table of numbers, -1 = free  */
    size_t n, cap, nslots;
} items_map;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int map_init(items_map *m, size_t cap)
{
    memset(m, 0, sizeof *m);
    m->cap = cap ? cap : 1;
    for (m->nslots = 16; m->nslots < 2 * m->cap; m->nslots *= 2)
        ;
    m->name = calloc(m->cap, sizeof *m->name);
    m->slot = malloc(m->nslots * sizeof *m->slot);
    if (!m->name || !m->slot)
        return -1;
    memset(m->slot, 0xff, m->nslots * sizeof *m->slot);
    return 0;
}

static void map_free(items_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->name[i]);
    free(m->name);
    free(m->slot);
}

/* The number of id, added if absent when add; -1 if absent (or no memory). */
static int32_t map_get(items_map *m, const char *id, int add)
{
    size_t mask = m->nslots - 1, s = (size_t)hash(id) & mask;
    for (; m->slot[s] >= 0; s = (s + 1) & mask)
        if (!strcmp(m->name[m->slot[s]], id))
            return m->slot[s];
    if (!add || m->n == m->cap || !(m->name[m->n] = strdup(id)))
        return -1;
    m->slot[s] = (int32_t)m->n;
    return (int32_t)m->n++;
}

/* ---- reading the option files -------------------------------------------- */

/* Non-empty lines of path (or stdin for "-"), without their line ends; *n
 * counts them.  NULL with a message printed on failure. */
static char **read_lines(const char *opt, const char *path, size_t *n)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "librec: %s: cannot open '%s': %s\n", opt, path, strerror(errno));
        return NULL;
    }
    char **lines = NULL, *buf = NULL;
    size_t cap = 0, bufcap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&buf, &bufcap, f)) >= 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = 0;
        if (!len)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **g = realloc(lines, cap * sizeof *g);
            if (!g)
                break;
            lines = g;
        }
        if (!(lines[*n] = strdup(buf)))
            break;
        ++*n;
    }
    int bad = ferror(f) || !feof(f);
    free(buf);
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "librec: %s: cannot read '%s'\n", opt, path);
        for (size_t i = 0; i < *n; i++)
            free(lines[i]);
        free(lines);
        return NULL;
    }
    return lines ? lines : calloc(1, sizeof *lines);
}

static void free_lines(char **l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free(l[i]);
    free(l);
}

/* ---- the session: model, data, rules --------------------------------------- */

typedef struct session {
    const cli_opts *o;
    rec_model *model;
    rec_dataset *data;
    int title_field;            /* -1: no titles                          */
    items_map map;
    rec_rerank *rules;
    uint8_t *allowed;           /* [map.cap] or NULL                      */
    size_t nitems, ncand;
    char **deny, **allow, **boost; /* lines of the files                  */
    size_t ndeny, nallow, nboost;
    const char **cand_id;       /* [ncand] scratch of one answer          */
    float *cand_score, *out_score;
    int32_t *cand, *out, *recent;
} session;

static int not_allowed(void *user, int32_t item)
{
    return !((const uint8_t *)user)[item];
}

/* The groups of the item field spec for the pipeline's numbers (-1 when
 * none); categorical fields give their code, multi-hot their first value. */
static int field_groups(session *s, const char *opt, const char *field, int32_t **out)
{
    if (!s->data)
        return cli_usage_error("%s needs --data PATH (the training data, for its item fields)",
                               opt);
    int k;
    rec_feature_type t;
    const char *name;
    if (rec_dataset_field_index(s->data, REC_SIDE_ITEM, field, &k) ||
        rec_dataset_field_info(s->data, REC_SIDE_ITEM, k, &name, &t))
        return cli_fail(REC_E_NOTFOUND, opt);
    if (t != REC_FEATURE_CATEGORICAL && t != REC_FEATURE_MULTIHOT) {
        char fmt[200];
        snprintf(fmt, sizeof fmt, "%s: item field '%%s' is not categorical or multi-hot", opt);
        return cli_usage_error(fmt, field);
    }
    int32_t *g = malloc(s->map.cap * sizeof *g), nd = 0;
    if (!g)
        return cli_fail(REC_E_NOMEM, NULL);
    rec_dataset_num_items(s->data, &nd);
    for (size_t i = 0; i < s->map.cap; i++) {
        g[i] = -1;
        const int32_t *codes;
        int32_t nc = 0;
        if ((int32_t)i >= nd)
            continue;
        if (t == REC_FEATURE_CATEGORICAL)
            rec_dataset_feature_code(s->data, REC_SIDE_ITEM, k, (int32_t)i, &g[i]);
        else if (!rec_dataset_feature_codes(s->data, REC_SIDE_ITEM, k, (int32_t)i, &codes, &nc) &&
                 nc > 0)
            g[i] = codes[0];
    }
    *out = g;
    return 0;
}

static int add_stage(session *s, rec_rerank_stage *st)
{
    rec_status rc = rec_rerank_add(s->rules, st);
    if (rc) {
        rec_rerank_stage_destroy(st);
        return cli_fail(rc, "rules");
    }
    return 0;
}

/* A stage of kind with up to two "key=value" params (NULL for none). */
static int new_stage(const char *kind, const char *kv, const char *kv2, rec_rerank_stage **st)
{
    rec_params *p = NULL;
    *st = NULL;
    rec_status rc = rec_params_create(&p);
    if (!rc && kv)
        rc = rec_params_parse(p, kv);
    if (!rc && kv2)
        rc = rec_params_parse(p, kv2);
    if (!rc)
        rc = rec_rerank_stage_create(st, kind, p);
    rec_params_destroy(p);
    return rc ? cli_fail(rc, kind) : 0;
}

/* Builds the pipeline: hide (deny, allow), boost, cap, mmr, explore. */
static int build_rules(session *s)
{
    const cli_opts *o = s->o;
    rec_rerank_stage *st = NULL;
    int rc;
    if (rec_rerank_create(&s->rules))
        return cli_fail(REC_E_NOMEM, NULL);
    if (o->deny || o->allow) {
        if ((rc = new_stage("hide", NULL, NULL, &st)))
            return rc;
        for (size_t i = 0; i < s->ndeny; i++) {
            int32_t j = map_get(&s->map, s->deny[i], 1);
            if (j < 0 || rec_rerank_stage_set_items(st, &j, 1)) {
                rec_rerank_stage_destroy(st);
                return cli_fail(REC_E_NOMEM, NULL);
            }
        }
        if (o->allow) {
            if (!(s->allowed = calloc(s->map.cap, 1))) {
                rec_rerank_stage_destroy(st);
                return cli_fail(REC_E_NOMEM, NULL);
            }
            for (size_t i = 0; i < s->nallow; i++) {
                int32_t j = map_get(&s->map, s->allow[i], 1);
                if (j >= 0)
                    s->allowed[j] = 1;
            }
            rec_rerank_stage_set_predicate(st, not_allowed, s->allowed);
        }
        if ((rc = add_stage(s, st)))
            return rc;
    }
    if (o->boost) {
        float *w = calloc(s->map.cap, sizeof *w);
        if (!w)
            return cli_fail(REC_E_NOMEM, NULL);
        for (size_t i = 0; i < s->nboost; i++) {
            /* ITEM,WEIGHT or ITEM<TAB>WEIGHT */
            char *line = s->boost[i], *sep = strrchr(line, ','), *end;
            if (!sep)
                sep = strrchr(line, '\t');
            double v = sep ? strtod(sep + 1, &end) : NAN;
            if (!sep || end == sep + 1 || *end || !isfinite(v)) {
                free(w);
                fprintf(stderr, "librec: --boost: %s: line %zu: expected ITEM,WEIGHT with a "
                        "finite weight, got '%s'\n", o->boost, i + 1, line);
                return 2;
            }
            *sep = 0;
            int32_t j = map_get(&s->map, line, 1);
            if (j >= 0)
                w[j] += (float)v;
        }
        rc = new_stage("boost", NULL, NULL, &st);
        if (!rc && rec_rerank_stage_set_weights(st, w, s->map.cap))
            rc = cli_fail(REC_E_NOMEM, "--boost");
        if (rc)
            rec_rerank_stage_destroy(st);
        free(w);
        if (rc || (rc = add_stage(s, st)))
            return rc; /* add_stage destroys a stage it cannot add */
    }
    if (o->cap) {
        const char *eq = strrchr(o->cap, '=');
        uint64_t max;
        if (!eq || eq == o->cap)
            return cli_usage_error("--cap: '%s' is not FIELD=N", o->cap);
        if (!cli_parse_uint("--cap", eq + 1, 1, INT32_MAX, &max))
            return 2;
        char field[256], kv[64];
        snprintf(field, sizeof field, "%.*s", (int)(eq - o->cap), o->cap);
        snprintf(kv, sizeof kv, "max=%llu", (unsigned long long)max);
        int32_t *g;
        if ((rc = field_groups(s, "--cap", field, &g)))
            return rc;
        rc = new_stage("cap", kv, NULL, &st);
        if (!rc && rec_rerank_stage_set_groups(st, g, s->map.cap))
            rc = cli_fail(REC_E_NOMEM, "--cap");
        if (rc)
            rec_rerank_stage_destroy(st);
        free(g);
        if (rc || (rc = add_stage(s, st)))
            return rc; /* add_stage destroys a stage it cannot add */
    }
    if (o->mmr) {
        char kv[80];
        char *end;
        double lambda = strtod(o->mmr, &end);
        if (end == o->mmr || *end || !(lambda >= 0 && lambda <= 1))
            return cli_usage_error("--mmr: '%s' is not a number from 0 to 1", o->mmr);
        const char *field = o->mmr_field;
        char capfield[256];
        if (!field && o->cap) {
            snprintf(capfield, sizeof capfield, "%.*s", (int)(strrchr(o->cap, '=') - o->cap),
                     o->cap);
            field = capfield;
        }
        if (!field)
            return cli_usage_error("%s", "--mmr needs --mmr-field FIELD (or --cap FIELD=N)");
        int32_t *g;
        if ((rc = field_groups(s, "--mmr-field", field, &g)))
            return rc;
        snprintf(kv, sizeof kv, "lambda=%.17g", lambda);
        rc = new_stage("mmr", kv, NULL, &st);
        if (!rc && rec_rerank_stage_set_groups(st, g, s->map.cap))
            rc = cli_fail(REC_E_NOMEM, "--mmr");
        if (rc)
            rec_rerank_stage_destroy(st);
        free(g);
        if (rc || (rc = add_stage(s, st)))
            return rc; /* add_stage destroys a stage it cannot add */
    }
    if (o->explore) {
        char *end, kv[80], seed[64];
        double eps = strtod(o->explore, &end);
        if (end == o->explore || *end || !(eps >= 0 && eps <= 1))
            return cli_usage_error("--explore: '%s' is not a number from 0 to 1", o->explore);
        snprintf(kv, sizeof kv, "epsilon=%.17g", eps);
        snprintf(seed, sizeof seed, "seed=%llu", (unsigned long long)(o->seed & INT64_MAX));
        if ((rc = new_stage("explore", kv, seed, &st)) || (rc = add_stage(s, st)))
            return rc;
    }
    return 0;
}

static int rules_given(const cli_opts *o)
{
    return o->deny || o->allow || o->boost || o->cap || o->mmr || o->explore;
}

static int session_open(session *s, const cli_opts *o)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    s->title_field = -1;
    rec_status st = rec_model_load(&s->model, o->load);
    if (st)
        return cli_fail(st, "cannot load model");
    rec_model_num_items(s->model, &s->nitems);
    int rc;
    int32_t nd = 0;
    if (o->data) {
        if ((rc = cli_load_data(o, &s->data)))
            return rc;
        rec_dataset_num_items(s->data, &nd);
        int k;
        rec_feature_type t;
        const char *name;
        if (!rec_dataset_field_index(s->data, REC_SIDE_ITEM, "title", &k) &&
            !rec_dataset_field_info(s->data, REC_SIDE_ITEM, k, &name, &t) &&
            t == REC_FEATURE_TEXT)
            s->title_field = k;
    }
    if ((o->deny && !(s->deny = read_lines("--deny", o->deny, &s->ndeny))) ||
        (o->allow && !(s->allow = read_lines("--allow", o->allow, &s->nallow))) ||
        (o->boost && !(s->boost = read_lines("--boost", o->boost, &s->nboost))))
        return 2;
    if (map_init(&s->map, s->nitems + (size_t)nd + s->ndeny + s->nallow + s->nboost))
        return cli_fail(REC_E_NOMEM, NULL);
    for (int32_t i = 0; i < nd; i++) {
        const char *id;
        rec_dataset_item_id(s->data, i, &id);
        if (map_get(&s->map, id, 1) != i)
            return cli_fail(REC_E_NOMEM, NULL);
    }
    if ((rc = build_rules(s)))
        return rc;
    /* Enough candidates for the rules to choose from: the whole catalogue
     * when only allowed items may pass. */
    size_t k = o->k < s->nitems ? o->k : s->nitems;
    s->ncand = o->candidates ? o->candidates : rules_given(o) ? 10 * k + 100 : k;
    if (o->allow || s->ncand > s->nitems)
        s->ncand = s->nitems;
    if (s->ncand < k)
        s->ncand = k;
    size_t c = s->ncand ? s->ncand : 1;
    s->cand_id = calloc(c, sizeof *s->cand_id);
    s->cand_score = calloc(c, sizeof *s->cand_score);
    s->out_score = calloc(c, sizeof *s->out_score);
    s->cand = calloc(c, sizeof *s->cand);
    s->out = calloc(c, sizeof *s->out);
    if (!s->cand_id || !s->cand_score || !s->out_score || !s->cand || !s->out)
        return cli_fail(REC_E_NOMEM, NULL);
    return 0;
}

static void session_close(session *s)
{
    rec_rerank_destroy(s->rules);
    if (s->map.slot)
        map_free(&s->map);
    free(s->allowed);
    free_lines(s->deny, s->ndeny);
    free_lines(s->allow, s->nallow);
    free_lines(s->boost, s->nboost);
    free(s->cand_id);
    free(s->cand_score);
    free(s->out_score);
    free(s->cand);
    free(s->out);
    free(s->recent);
    rec_dataset_destroy(s->data);
    rec_model_destroy(s->model);
}

/* ---- answering ----------------------------------------------------------------- */

/* Candidates from the model, the rules applied, the final k in s->out.
 * history (n entries) instead of user when user is NULL; recent is a
 * comma list of items shown lately (may be NULL). */
static rec_status answer(session *s, const char *user, const char *const *history, size_t nh,
                         const char *recent, uint64_t call, size_t *nout)
{
    size_t n = 0, k = s->o->k < s->nitems ? s->o->k : s->nitems;
    unsigned flags = s->o->include_seen ? REC_INCLUDE_SEEN : 0;
    rec_status st = user ? rec_model_recommend(s->model, user, s->ncand, flags, s->cand_id,
                                               s->cand_score, &n)
                         : rec_model_recommend_history(s->model, history, NULL, nh, s->ncand,
                                                       flags, s->cand_id, s->cand_score, &n);
    if (st)
        return st;
    for (size_t j = 0; j < n; j++)
        if ((s->cand[j] = map_get(&s->map, s->cand_id[j], 1)) < 0)
            return REC_E_NOMEM;
    size_t nr = 0;
    free(s->recent);
    s->recent = NULL;
    if (recent && *recent) {
        size_t parts = 1;
        for (const char *p = recent; *p; p++)
            parts += *p == ',';
        char *copy = strdup(recent);
        if (!copy || !(s->recent = malloc(parts * sizeof *s->recent))) {
            free(copy);
            return REC_E_NOMEM;
        }
        for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
            int32_t j = map_get(&s->map, tok, 0); /* an unknown id was never shown */
            if (j >= 0)
                s->recent[nr++] = j;
        }
        free(copy);
    }
    return rec_rerank_apply(s->rules, s->cand, s->cand_score, n, s->recent, nr, call, k, s->out,
                            s->out_score, nout);
}

static void print_answer(const session *s, const char *key, const char *who, size_t n, int json)
{
    for (size_t j = 0; !json && j < n; j++) {
        const char *id = s->map.name[s->out[j]], *title = NULL;
        printf("%zu\t%s\t%.6g", j + 1, id, s->out_score[j]);
        if (s->title_field >= 0 &&
            !rec_dataset_feature_text(s->data, REC_SIDE_ITEM, s->title_field, s->out[j],
                                      &title) && *title)
            printf("\t%s", title);
        putchar('\n');
    }
    if (!json)
        return;
    printf("{\"%s\": ", key);
    cli_json_str(stdout, who);
    printf(", \"items\": [");
    for (size_t j = 0; j < n; j++) {
        const char *title = NULL;
        printf("%s{\"item\": ", j ? ", " : "");
        cli_json_str(stdout, s->map.name[s->out[j]]);
        printf(", \"score\": ");
        cli_json_num(stdout, s->out_score[j], "the model's score is not a finite number");
        if (s->title_field >= 0 &&
            !rec_dataset_feature_text(s->data, REC_SIDE_ITEM, s->title_field, s->out[j],
                                      &title) && *title) {
            printf(", \"title\": ");
            cli_json_str(stdout, title);
        }
        printf("}");
    }
    printf("]}\n");
}

/* One id per line (optionally a tab and a comma list of items shown lately,
 * for no-repeat); one JSON object per line out, flushed per user so a
 * process on the other end of a pipe gets each answer at once.  A user the
 * model cannot answer gets {"user": ID, "error": MESSAGE} and the run goes
 * on; the exit code is then 1. */
static int serve_users(session *s)
{
    const char *path = s->o->users;
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "librec: --users: cannot open '%s': %s\n", path, strerror(errno));
        return 2;
    }
    char *line = NULL;
    size_t cap = 0, failed = 0;
    ssize_t len;
    uint64_t lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len)
            continue;
        char *recent = strchr(line, '\t');
        if (recent)
            *recent++ = 0;
        size_t n = 0;
        rec_status st = answer(s, line, NULL, 0, recent, lineno, &n);
        if (st == REC_E_NOMEM) {
            free(line);
            if (f != stdin)
                fclose(f);
            return cli_fail_run(st, "recommend failed");
        }
        if (st) {
            failed++;
            printf("{\"user\": ");
            cli_json_str(stdout, line);
            printf(", \"error\": ");
            cli_json_str(stdout, *rec_last_error() ? rec_last_error() : rec_strerror(st));
            printf("}\n");
        } else
            print_answer(s, "user", line, n, 1);
        fflush(stdout);
    }
    int bad = ferror(f);
    free(line);
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "librec: --users: cannot read '%s'\n", path);
        return 1;
    }
    if (failed)
        fprintf(stderr, "librec: %zu of the users could not be answered\n", failed);
    return failed ? 1 : 0;
}

int cli_recommend(cli_opts *o)
{
    int modes = !!o->user + !!o->users + !!o->history;
    if (!o->load || modes != 1)
        return cli_usage_error("%s", modes > 1
                                         ? "recommend takes one of --user ID, --users FILE and "
                                           "--history ITEM,ITEM"
                                         : "recommend needs --load FILE.lrm and --user ID "
                                           "(or --users FILE, or --history ITEM,ITEM)");
    session s;
    int rc = session_open(&s, o);
    if (!rc && o->users)
        rc = serve_users(&s);
    else if (!rc) {
        const char **hist = NULL;
        size_t nh = 0, n = 0;
        char *copy = o->history ? strdup(o->history) : NULL;
        if (o->history) {
            size_t parts = 1;
            for (const char *p = o->history; *p; p++)
                parts += *p == ',';
            hist = malloc(parts * sizeof *hist);
            for (char *t = copy ? strtok(copy, ",") : NULL; hist && t; t = strtok(NULL, ","))
                hist[nh++] = t;
        }
        rec_status st = o->history && (!copy || !hist) ? REC_E_NOMEM
                        : answer(&s, o->user, hist, nh, NULL, 0, &n);
        if (st)
            rc = cli_fail(st, "recommend failed");
        else
            print_answer(&s, o->user ? "user" : "history", o->user ? o->user : o->history, n,
                         o->json);
        free(hist);
        free(copy);
    }
    session_close(&s);
    return rc;
}
