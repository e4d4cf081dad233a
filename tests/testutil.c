#include "testutil.h"
#include "core/lrm-impl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static float wsum_weight(int64_t i)
{
    return (float)sin((double)i * 1.713 + 0.37) + 0.25f;
}

static void wsum_back(rec_graph *g, rec_node *n)
{
    float *ga = rec_grad_of(g, n->in[0]);
    float d = n->out->g[0];
    for (int64_t i = 0; i < n->in[0]->n; i++)
        ga[i] += d * wsum_weight(i);
}

rec_tensor *tu_wsum(rec_graph *g, rec_tensor *out)
{
    if (!out)
        return NULL;
    int64_t one = 1;
    rec_tensor *in[1] = { out };
    rec_tensor *s = rec_op_out(g, 1, &one, wsum_back, 1, in, NULL);
    if (!s)
        return NULL;
    double acc = 0;
    for (int64_t i = 0; i < out->n; i++)
        acc += (double)out->v[i] * wsum_weight(i);
    s->v[0] = (float)acc;
    return s;
}

rec_model *tu_fit(const char *kind, const rec_dataset *d, const char *const *kv, int n)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    for (int j = 0; j < n; j++)
        ck_assert_msg(rec_params_parse(p, kv[j]) == REC_OK, "%s", rec_last_error());
    rec_model *m;
    ck_assert_msg(rec_model_create(&m, kind, p) == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    ck_assert_msg(rec_model_fit(m, d, NULL, NULL) == REC_OK, "%s", rec_last_error());
    return m;
}

rec_dataset *tu_generate(int users, int items, int per_user)
{
    rec_params *o;
    rec_dataset *d;
    ck_assert_int_eq(rec_params_create(&o), REC_OK);
    rec_params_set_int(o, "users", users);
    rec_params_set_int(o, "items", items);
    rec_params_set_int(o, "interactions-per-user", per_user);
    ck_assert_int_eq(rec_dataset_generate(&d, o), REC_OK);
    rec_params_destroy(o);
    return d;
}

/* Fails the 1st, 2nd, ... allocation of a fit of kind with p on d until
 * the fit succeeds: each failure must be REC_E_NOMEM and leave nothing
 * allocated.  Returns the number of the allocation at which it succeeded. */
#if defined(__SANITIZE_THREAD__)
#define TU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TU_TSAN 1
#endif
#endif

/* Failing each of a call's N allocations in turn costs N calls.  Under
 * ThreadSanitizer a fit is 10-50x slower and races, not leaks, are what the
 * build looks for (the plain and ASan builds try every allocation), so there
 * the loop tries the first 32 and then steps by a sixteenth: about 100 calls
 * for a fit of 5,000 allocations instead of 5,000 (a dnn suite of 7 minutes). */
static long next_fail(long k)
{
#ifdef TU_TSAN
    return k < 32 ? k + 1 : k + k / 16;
#else
    return k + 1;
#endif
}

long tu_call_fails_cleanly(const tu_call *c, void *ctx)
{
    long k;
    for (k = 1; k < 100000; k = next_fail(k)) {
        tu_alloc_install();
        if (c->setup)
            c->setup(ctx);
        tu_alloc_fail_at(k);
        rec_status st = c->run(ctx);
        tu_alloc_fail_at(0);
        c->cleanup(ctx);
        long long live = tu_alloc_live();
        tu_alloc_remove();
        ck_assert_msg(live == 0, "allocation %ld: %lld bytes leaked", k, live);
        if (st == REC_OK)
            break;
        ck_assert_msg(st == REC_E_NOMEM, "allocation %ld: %s (%s)", k, rec_strerror(st),
                      rec_last_error());
    }
    return k;
}

typedef struct fit_call {
    const char *kind;
    const rec_params *p;
    const rec_dataset *d;
    rec_model *m;
} fit_call;

static void fit_setup(void *ctx)
{
    fit_call *c = ctx;
    ck_assert_msg(rec_model_create(&c->m, c->kind, c->p) == REC_OK, "%s", rec_last_error());
}

static rec_status fit_run(void *ctx)
{
    fit_call *c = ctx;
    return rec_model_fit(c->m, c->d, NULL, NULL);
}

static void fit_cleanup(void *ctx)
{
    rec_model_destroy(((fit_call *)ctx)->m);
}

long tu_fit_fails_cleanly(const char *kind, const rec_params *p, const rec_dataset *d)
{
    static const tu_call call = { fit_setup, fit_run, fit_cleanup };
    fit_call c = { kind, p, d, NULL };
    return tu_call_fails_cleanly(&call, &c);
}

void tu_fill(rec_tensor *t, unsigned seed, float lo, float hi)
{
    rec_rng r;
    rec_rng_seed(&r, seed);
    rec_init_uniform(t, &r, lo, hi);
}

static double eval_loss(rec_graph *g, tu_build_fn build, void *ctx)
{
    rec_graph_reset(g);
    rec_graph_set_grad(g, 0);
    rec_tensor *l = build(g, ctx);
    ck_assert_msg(l != NULL, "gradcheck: forward failed: %s", rec_last_error());
    double v = l->v[0];
    rec_graph_set_grad(g, 1);
    return v;
}

void tu_gradcheck(rec_pstore *ps, tu_build_fn build, void *ctx, double eps, double atol,
                  double rtol)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    size_t np = rec_pstore_count(ps);
    float **analytic = calloc(np, sizeof *analytic);
    /* Analytic gradients; sparse tables are densified from their row chunks. */
    rec_pstore_zero_grad(ps);
    rec_graph_reset(g);
    rec_graph_seed(g, 7);
    rec_tensor *loss = build(g, ctx);
    ck_assert_msg(loss != NULL, "gradcheck: forward failed: %s", rec_last_error());
    ck_assert_int_eq(rec_backward(g, loss), REC_OK);
    for (size_t p = 0; p < np; p++) {
        rec_tensor *t = rec_pstore_at(ps, p);
        analytic[p] = calloc((size_t)t->n, sizeof(float));
        if (t->flags & REC_T_SPARSE) {
            int64_t d = rec_cols(t);
            for (rec_rowgrad *c = t->rg; c; c = c->next)
                for (int64_t i = 0; i < c->n; i++)
                    for (int64_t j = 0; j < d; j++)
                        analytic[p][(int64_t)c->rows[i] * d + j] += c->vals[i * d + j];
        } else {
            memcpy(analytic[p], t->g, (size_t)t->n * sizeof(float));
        }
    }
    for (size_t p = 0; p < np; p++) {
        rec_tensor *t = rec_pstore_at(ps, p);
        for (int64_t i = 0; i < t->n; i++) {
            float keep = t->v[i];
            t->v[i] = keep + (float)eps;
            rec_graph_seed(g, 7);
            double lp = eval_loss(g, build, ctx);
            t->v[i] = keep - (float)eps;
            rec_graph_seed(g, 7);
            double lm = eval_loss(g, build, ctx);
            t->v[i] = keep;
            double num = (lp - lm) / (2 * eps);
            double an = analytic[p][i];
            ck_assert_msg(fabs(an - num) <= atol + rtol * fabs(num),
                          "gradcheck: %s[%lld]: analytic %.6g, numeric %.6g", t->name,
                          (long long)i, an, num);
        }
        free(analytic[p]);
    }
    free(analytic);
    rec_graph_destroy(g);
}

/* ---- failing allocator ---------------------------------------------------- */

/* Counters are atomic: librec allocates from its pool threads too (e.g.
 * rec_evaluate's per-chunk scratch), and a racy count misreports leaks. */
static long fail_at;
static long count;
static long long live;

static int fa_should_fail(void)
{
    long k = __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST);
    long f = __atomic_load_n(&fail_at, __ATOMIC_SEQ_CST);
    return f && k == f;
}

static void *fa_alloc(void *u, size_t n)
{
    (void)u;
    if (fa_should_fail())
        return NULL;
    void *p = malloc(n);
    if (p)
        __atomic_add_fetch(&live, (long long)n, __ATOMIC_SEQ_CST);
    return p;
}

static void *fa_realloc(void *u, void *p, size_t o, size_t n)
{
    (void)u;
    if (fa_should_fail())
        return NULL;
    void *q = realloc(p, n);
    if (q)
        __atomic_add_fetch(&live, (long long)n - (long long)o, __ATOMIC_SEQ_CST);
    return q;
}

static void fa_free(void *u, void *p, size_t n)
{
    (void)u;
    __atomic_sub_fetch(&live, (long long)n, __ATOMIC_SEQ_CST);
    free(p);
}

void tu_alloc_install(void)
{
    rec_allocator a = { fa_alloc, fa_realloc, fa_free, NULL };
    fail_at = 0;
    count = 0;
    live = 0;
    rec_set_allocator(&a);
}

void tu_alloc_remove(void) { rec_set_allocator(NULL); }
void tu_alloc_fail_at(long n)
{
    __atomic_store_n(&fail_at, n ? __atomic_load_n(&count, __ATOMIC_SEQ_CST) + n : 0,
                     __ATOMIC_SEQ_CST);
}
long tu_alloc_count(void) { return __atomic_load_n(&count, __ATOMIC_SEQ_CST); }
long long tu_alloc_live(void) { return __atomic_load_n(&live, __ATOMIC_SEQ_CST); }

static char tmp_dir[256];
static pid_t tmp_owner;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The process that made the directory removes it (forked tests make their
 * own, as their parent's may not exist yet). */
static void tmp_cleanup(void)
{
    if (tmp_dir[0] && tmp_owner == getpid() && strcmp(tmp_dir, "/tmp") != 0)
        nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_tmp_path(const char *name)
{
    static char buf[512];
    char *dir = tmp_dir;
    if (!dir[0] || tmp_owner != getpid()) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof tmp_dir, "%s/librec-test-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir))
            snprintf(dir, sizeof tmp_dir, "/tmp");
        if (!tmp_owner)
            atexit(tmp_cleanup);
        tmp_owner = getpid();
    }
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

const char *tu_data_at(const char *root, char *why, size_t n)
{
    static const char *need[] = { "ml-latest-small/ratings.csv", "goodbooks-10k/books.csv" };
    if (!root || !*root) {
        snprintf(why, n, "LIBREC_DATA is not set (make check-data sets it from SHARED_DATA, "
                         "default ../shared/data)");
        return NULL;
    }
    for (size_t k = 0; k < sizeof need / sizeof *need; k++) {
        char probe[1024];
        snprintf(probe, sizeof probe, "%s/%s", root, need[k]);
        if (access(probe, R_OK) != 0) {
            snprintf(why, n, "no data: cannot read %s (set SHARED_DATA=DIR for make check-data)",
                     probe);
            return NULL;
        }
    }
    return root;
}

const char *tu_data_dir(void)
{
    char why[1200];
    const char *d = tu_data_at(getenv("LIBREC_DATA"), why, sizeof why);
    if (!d)
        ck_abort_msg("%s", why);
    return d;
}

void tu_slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
}

void tu_cli_run(tu_cli *r, const char *const *args)
{
    const char *build = getenv("LIBREC_BUILD");
    ck_assert_msg(build && *build, "LIBREC_BUILD is not set (run through make check)");
    char exe[1024], outp[600], errp[600];
    snprintf(exe, sizeof exe, "%s/bin/librec", build);
    snprintf(outp, sizeof outp, "%s", tu_tmp_path("cli.out"));
    snprintf(errp, sizeof errp, "%s", tu_tmp_path("cli.err"));
    char *argv[40];
    int n = 0;
    argv[n++] = exe;
    for (; args[n - 1] && n < 39; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "librec %s died of signal %d", args[0],
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    r->code = WEXITSTATUS(status);
    tu_slurp(outp, r->out, sizeof r->out);
    tu_slurp(errp, r->err, sizeof r->err);
}

double tu_json_num(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}

typedef struct rank_job {
    tu_rank_fn fn;
    void *arg;
    rec_comm *c;
    int rank;
    rec_status st;
    char msg[512];
} rank_job;

static void *rank_main(void *p)
{
    rank_job *j = p;
    j->st = j->fn(j->c, j->rank, j->arg);
    snprintf(j->msg, sizeof j->msg, "%s", j->st ? rec_last_error() : "");
    return NULL;
}

void tu_ranks_on(rec_comm **comms, int size, tu_rank_fn fn, void *arg, rec_status *st)
{
    rank_job jobs[16];
    pthread_t th[16];
    ck_assert_int_le(size, 16);
    for (int r = 0; r < size; r++) {
        jobs[r] = (rank_job){ fn, arg, comms[r], r, REC_OK, "" };
        ck_assert_int_eq(pthread_create(&th[r], NULL, rank_main, &jobs[r]), 0);
    }
    for (int r = 0; r < size; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < size; r++) {
        if (st)
            st[r] = jobs[r].st;
        else
            ck_assert_msg(jobs[r].st == REC_OK, "rank %d: %s", r, jobs[r].msg);
    }
}

void tu_ranks(int size, tu_rank_fn fn, void *arg, rec_status *st)
{
    rec_comm *comms[16];
    ck_assert_int_le(size, 16);
    ck_assert_int_eq(rec_comm_create_threads(comms, size), REC_OK);
    tu_ranks_on(comms, size, fn, arg, st); /* st NULL: fails the test at once */
    for (int r = 0; r < size; r++)
        rec_comm_destroy(comms[r]);
}

/* ---- a minimal XML well-formedness checker (for the SVG files) ---------- */

typedef struct xml_in {
    const char *s, *p;
    char *why;
    size_t n;
} xml_in;

static int xml_fail(xml_in *x, const char *what)
{
    snprintf(x->why, x->n, "%s at byte %ld", what, (long)(x->p - x->s));
    return 0;
}

static int xml_name(xml_in *x, const char **name, size_t *len)
{
    const char *b = x->p;
    if (!(isalpha((unsigned char)*x->p) || *x->p == '_' || *x->p == ':'))
        return xml_fail(x, "expected a name");
    while (isalnum((unsigned char)*x->p) || strchr("_:.-", *x->p))
        x->p++;
    *name = b;
    *len = (size_t)(x->p - b);
    return 1;
}

/* Character data up to stop: entities well-formed, no '<', no control bytes. */
static int xml_chars(xml_in *x, char stop)
{
    for (; *x->p && *x->p != stop; x->p++) {
        unsigned char c = (unsigned char)*x->p;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return xml_fail(x, "control character");
        if (c == '<' && stop != '<')
            return xml_fail(x, "'<' in an attribute value");
        if (c != '&')
            continue;
        const char *e = strchr(x->p, ';');
        size_t len = e ? (size_t)(e - x->p) + 1 : 0;
        static const char *const named[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;" };
        int ok = 0;
        for (int k = 0; k < 5; k++)
            ok |= len == strlen(named[k]) && !strncmp(x->p, named[k], len);
        if (!ok && len > 3 && x->p[1] == '#') {
            const char *d = x->p + 2;
            int hex = *d == 'x';
            d += hex;
            ok = d < e;
            for (; d < e; d++)
                ok &= hex ? isxdigit((unsigned char)*d) != 0 : isdigit((unsigned char)*d) != 0;
        }
        if (!ok)
            return xml_fail(x, "a bare '&' or an unknown entity");
        x->p = e;
    }
    return 1;
}

static void xml_space(xml_in *x)
{
    while (isspace((unsigned char)*x->p))
        x->p++;
}

/* Skips comments and processing instructions; 0 on an unterminated one. */
static int xml_misc(xml_in *x)
{
    for (;;) {
        xml_space(x);
        const char *end = NULL;
        if (!strncmp(x->p, "<!--", 4))
            end = strstr(x->p + 4, "-->");
        else if (!strncmp(x->p, "<?", 2))
            end = strstr(x->p + 2, "?>");
        else
            return 1;
        if (!end)
            return xml_fail(x, "unterminated comment or declaration");
        x->p = end + (x->p[1] == '!' ? 3 : 2);
    }
}

int tu_xml_well_formed(const char *text, char *why, size_t n)
{
    xml_in x = { text, text, why, n };
    const char *open[64];
    size_t openlen[64];
    int depth = 0, roots = 0;
    if (!xml_misc(&x))
        return 0;
    for (;;) {
        if (depth == 0 && !xml_misc(&x))
            return 0;
        if (!*x.p)
            break;
        if (*x.p != '<') {
            if (depth == 0)
                return xml_fail(&x, "text outside the root element");
            if (!xml_chars(&x, '<'))
                return 0;
            continue;
        }
        if (!strncmp(x.p, "<!--", 4) || !strncmp(x.p, "<?", 2)) {
            if (!xml_misc(&x))
                return 0;
            continue;
        }
        x.p++;
        const char *name;
        size_t len;
        if (*x.p == '/') {
            x.p++;
            if (!xml_name(&x, &name, &len))
                return 0;
            xml_space(&x);
            if (*x.p != '>')
                return xml_fail(&x, "expected '>' closing an end tag");
            if (!depth || openlen[depth - 1] != len || strncmp(open[depth - 1], name, len))
                return xml_fail(&x, "end tag does not match the open element");
            depth--;
            x.p++;
            continue;
        }
        if (depth == 0 && roots++)
            return xml_fail(&x, "a second root element");
        if (!xml_name(&x, &name, &len))
            return 0;
        const char *attr[64];
        size_t attrlen[64];
        int nattr = 0;
        for (;;) {
            int spaced = isspace((unsigned char)*x.p) != 0;
            xml_space(&x);
            if (*x.p == '>' || !strncmp(x.p, "/>", 2))
                break;
            if (!spaced)
                return xml_fail(&x, "attributes must be separated by space");
            const char *an;
            size_t al;
            if (!xml_name(&x, &an, &al))
                return 0;
            for (int k = 0; k < nattr; k++)
                if (attrlen[k] == al && !strncmp(attr[k], an, al))
                    return xml_fail(&x, "attribute repeated in a tag");
            if (nattr < 64) {
                attr[nattr] = an;
                attrlen[nattr++] = al;
            }
            xml_space(&x);
            if (*x.p != '=')
                return xml_fail(&x, "expected '=' after an attribute name");
            x.p++;
            xml_space(&x);
            char q = *x.p;
            if (q != '"' && q != '\'')
                return xml_fail(&x, "attribute value not quoted");
            x.p++;
            if (!xml_chars(&x, q))
                return 0;
            if (*x.p != q)
                return xml_fail(&x, "unterminated attribute value");
            x.p++;
        }
        if (*x.p == '/') {
            x.p += 2;
            continue;
        }
        x.p++;
        if (depth == 64)
            return xml_fail(&x, "elements nested too deep for this checker");
        open[depth] = name;
        openlen[depth++] = len;
    }
    if (depth)
        return xml_fail(&x, "element not closed at the end");
    if (!roots)
        return xml_fail(&x, "no root element");
    return 1;
}

/* A call that must succeed, with the library's message when it does not. */
static void ok(rec_status st)
{
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
}

/* The generated data with a cold item "cold" (features, no interactions), a
 * dense field "emb" (z-scored) and year z-scored, so that coding and both
 * normalisations are exercised. */
rec_dataset *tu_data_with_cold(const char **g0, const char **g1)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    int kg;
    ok(rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &kg));
    ok(rec_dataset_field_value_name(d, REC_SIDE_ITEM, kg, 0, g0));
    ok(rec_dataset_field_value_name(d, REC_SIDE_ITEM, kg, 2, g1));
    char both[128];
    snprintf(both, sizeof both, "%s|%s", *g0, *g1);
    ok(rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", "cold", both, 1));
    ok(rec_dataset_set_feature(d, REC_SIDE_ITEM, "year", "cold", "1987", 0));
    ok(rec_dataset_set_feature(d, REC_SIDE_ITEM, "length", "cold", "95", 0));
    ok(rec_dataset_add_field(d, REC_SIDE_ITEM, "emb", REC_FEATURE_DENSE, NULL));
    int32_t ni;
    ok(rec_dataset_num_items(d, &ni));
    for (int32_t i = 0; i < ni; i++) {
        const char *id;
        ok(rec_dataset_item_id(d, i, &id));
        float v[3] = { (float)(i % 7), (float)(i % 3) - 1.0f, 0.25f * (float)i };
        ok(rec_dataset_set_vector(d, REC_SIDE_ITEM, "emb", id, v, 3, 0));
    }
    ok(rec_dataset_normalize(d, REC_SIDE_ITEM, "year", "zscore"));
    ok(rec_dataset_normalize(d, REC_SIDE_ITEM, "emb", "zscore"));
    return d;
}

/* The cold item's features again, on a set made against m. */
rec_feature_set *tu_cold_set(const rec_model *m, const char *g0, const char *g1,
                                 int32_t cold_index)
{
    rec_feature_set *fs;
    ok(rec_feature_set_create(&fs, m, REC_SIDE_ITEM));
    ok(rec_feature_set_set(fs, "genres", g0));
    ok(rec_feature_set_set(fs, "genres", g1));
    ok(rec_feature_set_set_number(fs, "year", 1987));
    ok(rec_feature_set_set(fs, "length", "95"));
    float v[3] = { (float)(cold_index % 7), (float)(cold_index % 3) - 1.0f,
                   0.25f * (float)cold_index };
    ok(rec_feature_set_set_vector(fs, "emb", v, 3));
    return fs;
}

float tu_score(const rec_model *m, const char *u, const char *i)
{
    float s = NAN;
    ck_assert_msg(rec_model_score(m, u, i, &s) == REC_OK, "%s", rec_last_error());
    return s;
}

void tu_err_has(rec_status got, rec_status want, const char *needle)
{
    ck_assert_msg(got == want, "status %d, want %d (%s)", got, want, rec_last_error());
    ck_assert_msg(strstr(rec_last_error(), needle), "'%s' lacks '%s'", rec_last_error(),
                  needle);
}

void tu_create_fails(const char *kind, const char *kv, rec_status want, const char *needle)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, kv), REC_OK);
    rec_model *m = NULL;
    rec_status st = rec_model_create(&m, kind, p);
    rec_params_destroy(p);
    ck_assert_msg(m == NULL, "%s %s: a model was created", kind, kv);
    tu_err_has(st, want, needle);
}

typedef struct add_ctx {
    const char *path;
    size_t nitems;
    const char *const *fields;
    int nfields;
    rec_model *m;
    rec_feature_set *fs;
} add_ctx;

/* Everything the run touches is made under the counting allocator. */
static void add_setup(void *p)
{
    add_ctx *c = p;
    ok(rec_model_load(&c->m, c->path));
    ok(rec_feature_set_create(&c->fs, c->m, REC_SIDE_ITEM));
    for (int f = 0; f < c->nfields; f++) {
        char name[64];
        const char *eq = strchr(c->fields[f], '=');
        ck_assert_ptr_nonnull(eq);
        ck_assert_int_lt(eq - c->fields[f], (long)sizeof name);
        memcpy(name, c->fields[f], (size_t)(eq - c->fields[f]));
        name[eq - c->fields[f]] = '\0';
        ok(rec_feature_set_set(c->fs, name, eq + 1));
    }
}

static rec_status add_run(void *p)
{
    add_ctx *c = p;
    const char *ids[] = { "n1", "n2" };
    const rec_feature_set *sets[] = { c->fs, c->fs };
    rec_status st = rec_model_add_items(c->m, ids, sets, 2);
    size_t n;
    rec_model_num_items(c->m, &n);
    ck_assert_uint_eq(n, st ? c->nitems : c->nitems + 2);
    if (st) { /* still serving, as before */
        const char *top[3];
        ok(rec_model_recommend_features(c->m, NULL, NULL, 0, 3, 0, top, NULL, &n));
    }
    return st;
}

static void add_cleanup(void *p)
{
    add_ctx *c = p;
    rec_feature_set_destroy(c->fs);
    rec_model_destroy(c->m);
}

long tu_add_items_fails_cleanly(const char *path, size_t nitems, const char *const *fields,
                                int nfields)
{
    add_ctx c = { path, nitems, fields, nfields, NULL, NULL };
    tu_call call = { add_setup, add_run, add_cleanup };
    return tu_call_fails_cleanly(&call, &c);
}

void tu_lrm_rewrite(const char *src, const char *dst, tu_lrm_keep_fn keep, void *ctx)
{
    rec_lrm_reader *r;
    rec_lrm_writer *w;
    rec_params *p;
    ck_assert_int_eq(rec_lrm_open(src, &r), REC_OK);
    ck_assert_int_eq(rec_lrm_writer_create(rec_lrm_kind(r), &w), REC_OK);
    ck_assert_int_eq(rec_lrm_params(r, &p), REC_OK);
    ck_assert_int_eq(rec_lrm_add_params(w, p), REC_OK);
    rec_params_destroy(p);
    for (size_t k = 0; k < rec_lrm_meta_count(r); k++) {
        const char *key, *val;
        ck_assert_int_eq(rec_lrm_meta_at(r, k, &key, &val), REC_OK);
        ck_assert_int_eq(rec_lrm_add_meta(w, key, val), REC_OK);
    }
    for (size_t k = 0; k < rec_lrm_blob_count(r); k++) {
        const char *name;
        const void *data;
        size_t len;
        ck_assert_int_eq(rec_lrm_blob_at(r, k, &name, &data, &len), REC_OK);
        if (keep(name, NULL, ctx))
            ck_assert_int_eq(rec_lrm_add_blob(w, name, data, len), REC_OK);
    }
    for (size_t k = 0; k < rec_lrm_tensor_count(r); k++) {
        const char *name;
        rec_lrm_dtype dt;
        int nd;
        int64_t shape[REC_LRM_MAX_DIMS];
        const void *data;
        size_t bytes;
        ck_assert_int_eq(rec_lrm_tensor_at(r, k, &name, &dt, &nd, shape, &data, &bytes), REC_OK);
        if (keep(name, &data, ctx))
            ck_assert_int_eq(rec_lrm_add_tensor(w, name, dt, nd, shape, data), REC_OK);
    }
    ck_assert_int_eq(rec_lrm_save(w, dst), REC_OK);
    rec_lrm_writer_destroy(w);
    rec_lrm_close(r);
}
