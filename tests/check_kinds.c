/* The contract every registered model kind keeps, run over rec_model_kind_at
 * on the generated data: save -> load gives identical scores; recommend
 * excludes training items unless REC_INCLUDE_SEEN; history / similar /
 * explain answer or say REC_E_UNSUPPORTED; bad ids and NULLs are errors with
 * a message; failing any allocation of fit, save and load is REC_E_NOMEM
 * with nothing leaked; concurrent recommending equals single-threaded; a fit
 * resumed from its checkpoint equals one straight through; a cancelled fit
 * leaves finite scores; one and two threads fit the same model.  A kind is
 * tested by being registered: only its small settings live here. */
#include "testutil.h"

#include <librec/librec.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Only hnsw_index_serves_as_exact looks inside: at whether a loaded
 * model's index is the file's mapping (loaded, not rebuilt). */
#include "models/model-impl.h"
#include "retrieval/hnsw-impl.h"
#include "retrieval/index-impl.h"

/* Settings that keep each kind fast on the small data (fewer epochs, small
 * dims); a kind missing here runs with its defaults. */
static const struct {
    const char *kind;
    const char *kv[8];
} SMALL[] = {
    { "mf", { "epochs=2", "dim=8", "batch=64" } },
    { "svd", { "epochs=3", "dim=8" } },
    { "svdpp", { "epochs=2", "dim=4" } },
    { "als", { "epochs=2", "dim=8" } },
    { "dnn", { "epochs=1", "dim=4", "hidden=8,4", "batch=64", "negatives=1" } },
    { "twotower", { "epochs=1", "dim=4", "tower=8,8", "batch=64" } },
    { "sasrec", { "epochs=1", "dim=8", "maxlen=6", "batch=16", "blocks=1" } },
    { "lightgcn", { "epochs=1", "dim=8", "layers=2", "negatives=16", "batch=64" } },
    { "ngcf", { "epochs=1", "dim=8", "layers=2", "negatives=16", "batch=64" } },
    { "gcn", { "epochs=1", "dim=8", "fanout=4", "negatives=16", "batch=64" } },
    { "graphsage", { "epochs=1", "dim=8", "fanout=4", "negatives=16", "batch=64" } },
    { "gat", { "epochs=1", "dim=8", "layers=2", "negatives=16", "batch=64" } },
    { "pinsage", { "epochs=2", "dim=8", "walk_steps=50", "hard=1", "hard_lo=2", "hard_hi=8",
                   "batch=64" } },
};

static const char *const *small_kv(const char *kind, int *n)
{
    for (size_t k = 0; k < sizeof SMALL / sizeof *SMALL; k++)
        if (!strcmp(SMALL[k].kind, kind)) {
            for (*n = 0; *n < 8 && SMALL[k].kv[*n]; (*n)++)
                ;
            return SMALL[k].kv;
        }
    *n = 0;
    return NULL;
}

static size_t num_kinds(void)
{
    size_t n = 0;
    while (rec_model_kind_at(n, NULL, NULL) == REC_OK)
        n++;
    return n;
}

static const char *kind_of(int i)
{
    const char *kind;
    ck_assert_int_eq(rec_model_kind_at((size_t)i, &kind, NULL), REC_OK);
    return kind;
}

static rec_params *kind_params(const char *kind, const char *const *extra, int nextra)
{
    rec_params *p;
    int n;
    const char *const *kv = small_kv(kind, &n);
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    for (int k = 0; k < n; k++)
        ck_assert_msg(rec_params_parse(p, kv[k]) == REC_OK, "%s: %s", kind, rec_last_error());
    for (int k = 0; k < nextra; k++)
        ck_assert_msg(rec_params_parse(p, extra[k]) == REC_OK, "%s: %s", kind,
                      rec_last_error());
    return p;
}

static rec_model *fit(const char *kind, const rec_dataset *d)
{
    int n;
    const char *const *kv = small_kv(kind, &n);
    return tu_fit(kind, d, kv, n);
}

static int32_t count_users(const rec_dataset *d)
{
    int32_t n;
    ck_assert_int_eq(rec_dataset_num_users(d, &n), REC_OK);
    return n;
}

static int32_t count_items(const rec_dataset *d)
{
    int32_t n;
    ck_assert_int_eq(rec_dataset_num_items(d, &n), REC_OK);
    return n;
}

static const char *uid_of(const rec_dataset *d, int32_t u)
{
    const char *s;
    ck_assert_int_eq(rec_dataset_user_id(d, u, &s), REC_OK);
    return s;
}

static const char *iid_of(const rec_dataset *d, int32_t i)
{
    const char *s;
    ck_assert_int_eq(rec_dataset_item_id(d, i, &s), REC_OK);
    return s;
}

/* seen[u * nitems + i]: whether (u, i) is a training row. */
static unsigned char *seen_matrix(const rec_dataset *d)
{
    int32_t nu = count_users(d), ni = count_items(d);
    int64_t nr;
    rec_dataset_num_interactions(d, &nr);
    unsigned char *s = calloc((size_t)nu * ni, 1);
    ck_assert_ptr_nonnull(s);
    for (int64_t r = 0; r < nr; r++) {
        int32_t u, i;
        ck_assert_int_eq(rec_dataset_row(d, r, &u, &i, NULL, NULL), REC_OK);
        s[(size_t)u * ni + i] = 1;
    }
    return s;
}

static int32_t item_index(const rec_dataset *d, const char *id)
{
    int32_t ni = count_items(d);
    for (int32_t i = 0; i < ni; i++)
        if (!strcmp(iid_of(d, i), id))
            return i;
    ck_abort_msg("item '%s' is not in the data", id);
    return -1;
}

/* ---- save -> load ------------------------------------------------------------ */

START_TEST(save_load_gives_identical_scores)
{
    const char *kind = kind_of(_i);
    rec_dataset *d = tu_generate(40, 60, 10);
    rec_model *m = fit(kind, d), *l;
    char name[64];
    snprintf(name, sizeof name, "kinds_%s.lrm", kind);
    const char *path = tu_tmp_path(name);
    ck_assert_msg(rec_model_save(m, path) == REC_OK, "%s: %s", kind, rec_last_error());
    ck_assert_msg(rec_model_load(&l, path) == REC_OK, "%s: %s", kind, rec_last_error());
    ck_assert_str_eq(rec_model_kind(l), kind);
    int32_t nu = count_users(d), ni = count_items(d);
    const char **a = malloc(sizeof *a * (size_t)ni), **b = malloc(sizeof *b * (size_t)ni);
    float *sa = malloc(sizeof *sa * (size_t)ni), *sb = malloc(sizeof *sb * (size_t)ni);
    for (int32_t u = 0; u < nu; u++) {
        size_t na, nb;
        const char *user = uid_of(d, u);
        ck_assert_int_eq(rec_model_recommend(m, user, (size_t)ni, REC_INCLUDE_SEEN, a, sa, &na),
                         REC_OK);
        ck_assert_int_eq(rec_model_recommend(l, user, (size_t)ni, REC_INCLUDE_SEEN, b, sb, &nb),
                         REC_OK);
        ck_assert_uint_eq(na, nb);
        for (size_t k = 0; k < na; k++) {
            ck_assert_msg(!strcmp(a[k], b[k]) && sa[k] == sb[k],
                          "%s: user %s, rank %zu: %s %g before, %s %g after load", kind, user,
                          k, a[k], sa[k], b[k], sb[k]);
        }
        float s1, s2;
        const char *item = iid_of(d, (u * 7) % ni);
        ck_assert_int_eq(rec_model_score(m, user, item, &s1), REC_OK);
        ck_assert_int_eq(rec_model_score(l, user, item, &s2), REC_OK);
        ck_assert_msg(s1 == s2, "%s: score(%s, %s) %g before, %g after", kind, user, item, s1,
                      s2);
    }
    for (int32_t i = 0; i < ni; i += 3) {
        size_t na, nb;
        rec_status st = rec_model_similar(m, iid_of(d, i), 10, a, sa, &na);
        ck_assert_int_eq(rec_model_similar(l, iid_of(d, i), 10, b, sb, &nb), st);
        if (st == REC_E_UNSUPPORTED)
            break;
        ck_assert_int_eq(st, REC_OK);
        ck_assert_uint_eq(na, nb);
        for (size_t k = 0; k < na; k++)
            ck_assert_msg(!strcmp(a[k], b[k]) && sa[k] == sb[k],
                          "%s: similar(%d) rank %zu differs after load", kind, i, k);
    }
    const char *hist[3] = { iid_of(d, 4), iid_of(d, 9), iid_of(d, 1) };
    const float hr[3] = { 5, 3, 4 };
    size_t na, nb;
    rec_status st = rec_model_recommend_history(m, hist, hr, 3, 10, 0, a, sa, &na);
    ck_assert_int_eq(rec_model_recommend_history(l, hist, hr, 3, 10, 0, b, sb, &nb), st);
    if (st != REC_E_UNSUPPORTED) {
        ck_assert_int_eq(st, REC_OK);
        ck_assert_uint_eq(na, nb);
        for (size_t k = 0; k < na; k++)
            ck_assert_msg(!strcmp(a[k], b[k]) && sa[k] == sb[k],
                          "%s: history rank %zu differs after load", kind, k);
    }
    free(a);
    free(b);
    free(sa);
    free(sb);
    rec_model_destroy(l);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- seen items ---------------------------------------------------------------- */

START_TEST(recommend_excludes_training_items)
{
    const char *kind = kind_of(_i);
    rec_dataset *d = tu_generate(40, 60, 10);
    rec_model *m = fit(kind, d);
    int32_t nu = count_users(d), ni = count_items(d);
    unsigned char *seen = seen_matrix(d);
    const char **it = malloc(sizeof *it * (size_t)ni);
    float *sc = malloc(sizeof *sc * (size_t)ni);
    for (int32_t u = 0; u < nu; u++) {
        size_t n, nseen = 0;
        for (int32_t i = 0; i < ni; i++)
            nseen += seen[(size_t)u * ni + i];
        ck_assert_int_eq(rec_model_recommend(m, uid_of(d, u), (size_t)ni, 0, it, sc, &n),
                         REC_OK);
        ck_assert_uint_le(n, (size_t)ni - nseen);
        for (size_t k = 0; k < n; k++) {
            ck_assert_msg(!seen[(size_t)u * ni + item_index(d, it[k])],
                          "%s: user %d got training item %s", kind, u, it[k]);
            ck_assert(k == 0 || sc[k - 1] >= sc[k] || isnan(sc[k]));
        }
        /* on request the training items come back: with the whole catalogue
         * asked for, every one of them */
        ck_assert_int_eq(rec_model_recommend(m, uid_of(d, u), (size_t)ni, REC_INCLUDE_SEEN, it,
                                             sc, &n), REC_OK);
        if (n == (size_t)ni) {
            size_t back = 0;
            for (size_t k = 0; k < n; k++)
                back += seen[(size_t)u * ni + item_index(d, it[k])];
            ck_assert_uint_eq(back, nseen);
        }
    }
    free(it);
    free(sc);
    free(seen);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- optional calls -------------------------------------------------------------- */

/* The last error is fmt with the kind's name. */
static void unsupported(const char *fmt, const char *kind)
{
    char want[256];
    snprintf(want, sizeof want, fmt, kind);
    ck_assert_str_eq(rec_last_error(), want);
}

START_TEST(optional_calls_answer_or_are_unsupported)
{
    const char *kind = kind_of(_i);
    rec_dataset *d = tu_generate(40, 60, 10);
    rec_model *m = fit(kind, d);
    int32_t ni = count_items(d);
    const char *it[10], *user = uid_of(d, 3), *item = iid_of(d, 5);
    float sc[10];
    size_t n = 99;

    rec_status st = rec_model_similar(m, item, 10, it, sc, &n);
    ck_assert_msg(st == REC_OK || st == REC_E_UNSUPPORTED, "%s: similar: %s (%s)", kind,
                  rec_strerror(st), rec_last_error());
    if (st == REC_OK) {
        ck_assert_uint_le(n, 10);
        for (size_t k = 0; k < n; k++)
            ck_assert_str_ne(it[k], item);
    } else {
        unsupported("rec_model_similar: %s has no item similarity", kind);
    }

    const char *hist[3] = { iid_of(d, 1), iid_of(d, 2), iid_of(d, 7) };
    st = rec_model_recommend_history(m, hist, NULL, 3, 10, 0, it, sc, &n);
    ck_assert_msg(st == REC_OK || st == REC_E_UNSUPPORTED, "%s: history: %s (%s)", kind,
                  rec_strerror(st), rec_last_error());
    if (st == REC_OK) {
        ck_assert_uint_le(n, 10);
        ck_assert_uint_ge(n, 1);
        for (size_t k = 0; k < n; k++)
            for (int h = 0; h < 3; h++)
                ck_assert_str_ne(it[k], hist[h]);
    } else {
        unsupported("rec_model_recommend_history: %s cannot fold in a new history", kind);
    }

    const char *why[5];
    float w[5];
    st = rec_model_explain(m, user, iid_of(d, ni - 1), 5, why, w, &n);
    ck_assert_msg(st == REC_OK || st == REC_E_UNSUPPORTED, "%s: explain: %s (%s)", kind,
                  rec_strerror(st), rec_last_error());
    if (st == REC_OK) {
        ck_assert_uint_le(n, 5);
        for (size_t k = 0; k < n; k++) {
            ck_assert_ptr_nonnull(why[k]);
            ck_assert(k == 0 || w[k - 1] >= w[k]);
        }
    } else {
        unsupported("rec_model_explain: %s cannot explain its scores", kind);
    }
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- bad input ----------------------------------------------------------------- */

/* st is want, and the message names the call. */
static void expect(rec_status st, rec_status want, const char *kind, const char *call)
{
    ck_assert_msg(st == want, "%s: %s gave %s (%s), want %s", kind, call, rec_strerror(st),
                  rec_last_error(), rec_strerror(want));
    ck_assert_msg(strstr(rec_last_error(), call) != NULL, "%s: message '%s' does not name %s",
                  kind, rec_last_error(), call);
}

/* want, or REC_E_UNSUPPORTED when the kind lacks the call (supported = 0). */
static void expect_opt(rec_status st, rec_status want, int supported, const char *kind,
                       const char *call)
{
    expect(st, supported ? want : (st == want ? want : REC_E_UNSUPPORTED), kind, call);
}

START_TEST(bad_ids_and_nulls_are_errors_with_messages)
{
    const char *kind = kind_of(_i);
    rec_dataset *d = tu_generate(40, 60, 10);
    rec_model *m = fit(kind, d);
    const char *it[4], *user = uid_of(d, 0), *item = iid_of(d, 0);
    float sc[4], s;
    size_t n;
    static const char R[] = "rec_model_recommend", S[] = "rec_model_score",
                      SIM[] = "rec_model_similar", H[] = "rec_model_recommend_history",
                      E[] = "rec_model_explain";
    expect(rec_model_recommend(m, "no-such-user", 4, 0, it, sc, &n), REC_E_NOTFOUND, kind, R);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "no-such-user"));
    expect(rec_model_recommend(NULL, user, 4, 0, it, sc, &n), REC_E_INVALID, kind, R);
    expect(rec_model_recommend(m, NULL, 4, 0, it, sc, &n), REC_E_INVALID, kind, R);
    expect(rec_model_recommend(m, user, 4, 0, it, sc, NULL), REC_E_INVALID, kind, R);
    expect(rec_model_recommend(m, user, 4, 0, NULL, sc, &n), REC_E_INVALID, kind, R);
    expect(rec_model_score(m, user, "no-such-item", &s), REC_E_NOTFOUND, kind, S);
    expect(rec_model_score(m, "no-such-user", item, &s), REC_E_NOTFOUND, kind, S);
    expect(rec_model_score(m, user, item, NULL), REC_E_INVALID, kind, S);
    expect(rec_model_score(m, NULL, item, &s), REC_E_INVALID, kind, S);

    int sim = rec_model_similar(m, item, 4, it, sc, &n) == REC_OK;
    expect_opt(rec_model_similar(m, "no-such-item", 4, it, sc, &n), REC_E_NOTFOUND, sim, kind,
               SIM);
    expect(rec_model_similar(m, NULL, 4, it, sc, &n), REC_E_INVALID, kind, SIM);
    expect(rec_model_similar(NULL, item, 4, it, sc, &n), REC_E_INVALID, kind, SIM);

    const char *hist[1] = { item };
    int his = rec_model_recommend_history(m, hist, NULL, 1, 4, 0, it, sc, &n) == REC_OK;
    expect_opt(rec_model_recommend_history(m, NULL, NULL, 1, 4, 0, it, sc, &n), REC_E_INVALID,
               his, kind, H);
    expect(rec_model_recommend_history(m, hist, NULL, 1, 4, 0, it, sc, NULL), REC_E_INVALID,
           kind, H);

    const char *why[4];
    float w[4];
    int exp = rec_model_explain(m, user, item, 4, why, w, &n) == REC_OK;
    expect_opt(rec_model_explain(m, "no-such-user", item, 4, why, w, &n), REC_E_NOTFOUND, exp,
               kind, E);
    expect_opt(rec_model_explain(m, user, "no-such-item", 4, why, w, &n), REC_E_NOTFOUND, exp,
               kind, E);
    expect(rec_model_explain(m, NULL, item, 4, why, w, &n), REC_E_INVALID, kind, E);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- allocation failures --------------------------------------------------------- */

typedef struct oom_ctx {
    const char *kind;
    rec_dataset *d;
    rec_model *m;
    const char *path;
} oom_ctx;

static rec_status oom_fit(oom_ctx *x)
{
    rec_params *p = NULL;
    int n;
    const char *const *kv = small_kv(x->kind, &n);
    rec_status st = rec_params_create(&p);
    for (int k = 0; !st && k < n; k++)
        st = rec_params_parse(p, kv[k]);
    if (!st)
        st = rec_model_create(&x->m, x->kind, p);
    rec_params_destroy(p);
    if (!st)
        st = rec_model_fit(x->m, x->d, NULL, NULL);
    if (st) {
        rec_model_destroy(x->m);
        x->m = NULL;
    }
    return st;
}

static rec_status oom_save(oom_ctx *x)
{
    return rec_model_save(x->m, x->path);
}

/* Load, then every query a loaded model answers (a kind lacking one says
 * REC_E_UNSUPPORTED, which is not a failure here). */
static rec_status oom_load(oom_ctx *x)
{
    rec_model *l;
    rec_status st = rec_model_load(&l, x->path);
    if (st)
        return st;
    const char *user, *item, *it[4], *why[4];
    float sc[4];
    size_t n;
    st = rec_dataset_user_id(x->d, 1, &user);
    if (!st)
        st = rec_dataset_item_id(x->d, 2, &item);
    if (!st)
        st = rec_model_recommend(l, user, 4, 0, it, sc, &n);
    if (!st)
        st = rec_model_score(l, user, item, sc);
    if (!st && (st = rec_model_similar(l, item, 4, it, sc, &n)) == REC_E_UNSUPPORTED)
        st = REC_OK;
    if (!st && (st = rec_model_recommend_history(l, &item, NULL, 1, 4, 0, it, sc, &n)) ==
                   REC_E_UNSUPPORTED)
        st = REC_OK;
    if (!st && (st = rec_model_explain(l, user, item, 4, why, sc, &n)) == REC_E_UNSUPPORTED)
        st = REC_OK;
    rec_model_destroy(l);
    return st;
}

/* Fails the 1st, 2nd, ... allocation of fn until it succeeds: every failure
 * is REC_E_NOMEM with a message and leaves nothing allocated. */
static void every_allocation_fails_cleanly(rec_status (*fn)(oom_ctx *), oom_ctx *x,
                                           const char *what)
{
    long k;
    for (k = 1; k < 1000000; k++) {
        tu_alloc_install();
        tu_alloc_fail_at(k);
        rec_status st = fn(x);
        long long live;
        if (st == REC_OK && fn == oom_fit) {
            rec_model_destroy(x->m);
            x->m = NULL;
        }
        live = tu_alloc_live();
        tu_alloc_remove();
        if (st == REC_OK) {
            ck_assert_int_eq(live, 0);
            break;
        }
        ck_assert_msg(st == REC_E_NOMEM, "%s %s, allocation %ld: got %s (%s)", x->kind, what, k,
                      rec_strerror(st), rec_last_error());
        ck_assert_msg(*rec_last_error(), "%s %s, allocation %ld: no message", x->kind, what, k);
        ck_assert_msg(live == 0, "%s %s, allocation %ld: %lld bytes leaked", x->kind, what, k,
                      live);
    }
    ck_assert_int_gt(k, 1); /* at least one allocation was made to fail */
}

START_TEST(allocation_failures_are_nomem_and_leak_nothing)
{
    char name[64];
    snprintf(name, sizeof name, "kinds_oom_%s.lrm", kind_of(_i));
    oom_ctx x = { kind_of(_i), tu_generate(12, 20, 6), NULL, tu_tmp_path(name) };
    /* A first fit builds the dataset's cached views, which the dataset owns. */
    ck_assert_msg(oom_fit(&x) == REC_OK, "%s: %s", x.kind, rec_last_error());
    rec_model_destroy(x.m);
    x.m = NULL;
    every_allocation_fails_cleanly(oom_fit, &x, "fit");
    ck_assert_int_eq(oom_fit(&x), REC_OK);
    every_allocation_fails_cleanly(oom_save, &x, "save");
    every_allocation_fails_cleanly(oom_load, &x, "load and queries");
    rec_model_destroy(x.m);
    rec_dataset_destroy(x.d);
}
END_TEST

/* ---- concurrency ---------------------------------------------------------------- */

enum { TOPK = 10, THREADS = 4 };

typedef struct rec_job {
    const rec_model *m;
    const rec_dataset *d;
    int32_t nu;
    const char **items; /* [nu * TOPK] */
    float *scores;
    size_t *n;          /* [nu] */
    rec_status st;
} rec_job;

static void *recommend_all(void *arg)
{
    rec_job *j = arg;
    for (int32_t u = 0; u < j->nu && !j->st; u++) {
        const char *user;
        j->st = rec_dataset_user_id(j->d, u, &user);
        if (!j->st)
            j->st = rec_model_recommend(j->m, user, TOPK, 0, j->items + (size_t)u * TOPK,
                                        j->scores + (size_t)u * TOPK, j->n + u);
    }
    return NULL;
}

static void job_init(rec_job *j, const rec_model *m, const rec_dataset *d, int32_t nu)
{
    *j = (rec_job){ m, d, nu, calloc((size_t)nu * TOPK, sizeof(char *)),
                    calloc((size_t)nu * TOPK, sizeof(float)), calloc((size_t)nu, sizeof(size_t)),
                    REC_OK };
    ck_assert(j->items && j->scores && j->n);
}

static void job_free(rec_job *j)
{
    free(j->items);
    free(j->scores);
    free(j->n);
}

START_TEST(threads_recommend_exactly_as_one)
{
    const char *kind = kind_of(_i);
    rec_dataset *d = tu_generate(40, 60, 10);
    rec_model *m = fit(kind, d);
    int32_t nu = count_users(d);
    rec_job one, many[THREADS];
    job_init(&one, m, d, nu);
    recommend_all(&one);
    ck_assert_msg(one.st == REC_OK, "%s: %s", kind, rec_last_error());
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        job_init(&many[t], m, d, nu);
        ck_assert_int_eq(pthread_create(&th[t], NULL, recommend_all, &many[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < THREADS; t++) {
        ck_assert_int_eq(many[t].st, REC_OK);
        for (int32_t u = 0; u < nu; u++) {
            ck_assert_uint_eq(many[t].n[u], one.n[u]);
            for (size_t k = 0; k < one.n[u]; k++) {
                size_t at = (size_t)u * TOPK + k;
                ck_assert_msg(!strcmp(many[t].items[at], one.items[at]) &&
                              many[t].scores[at] == one.scores[at],
                              "%s: thread %d, user %d, rank %zu differs", kind, t, u, k);
            }
        }
        job_free(&many[t]);
    }
    job_free(&one);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- checkpoint and resume ------------------------------------------------------- */

static int has_key(const char *kind, const char *key)
{
    const char *k;
    for (size_t i = 0; rec_model_param_at(kind, i, &k, NULL, NULL, NULL, NULL, NULL, NULL) ==
                       REC_OK; i++)
        if (!strcmp(k, key))
            return 1;
    return 0;
}

/* Records the epochs progress reports. */
static int note_epoch(void *user, int epoch, int epochs, double loss)
{
    int *seen = user;
    (void)epochs;
    (void)loss;
    seen[seen[0]++ + 1] = epoch;
    return 0;
}

static rec_model *fit_with(const char *kind, const rec_dataset *d, const char *const *kv, int n,
                           rec_status want, int *epochs)
{
    rec_params *p = kind_params(kind, kv, n);
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, kind, p), REC_OK);
    rec_params_destroy(p);
    int dummy[8] = { 0 };
    rec_status st = rec_model_fit(m, d, note_epoch, epochs ? epochs : dummy);
    ck_assert_msg(st == want, "%s: fit gave %s (%s)", kind, rec_strerror(st), rec_last_error());
    return m;
}

/* A kind that trains through the trainer with its checkpoint keys: two
 * epochs straight equal one epoch, then a resumed second, bit for bit. */
START_TEST(resumed_fit_equals_straight_fit)
{
    const char *kind = kind_of(_i);
    if (!has_key(kind, "resume"))
        return;
    rec_dataset *d = tu_generate(40, 60, 10);
    char name[64], ck[600];
    snprintf(name, sizeof name, "kinds_%s.ckpt", kind);
    snprintf(ck, sizeof ck, "checkpoint=%s", tu_tmp_path(name));
    remove(tu_tmp_path(name));
    rec_model *a = fit_with(kind, d, (const char *const[]){ "epochs=2" }, 1, REC_OK, NULL);
    rec_model_destroy(fit_with(kind, d, (const char *const[]){ "epochs=1", ck }, 2, REC_OK,
                               NULL));
    int ran[8] = { 0 };
    rec_model *b = fit_with(kind, d, (const char *const[]){ "epochs=2", ck, "resume=true" }, 3,
                            REC_OK, ran);
    ck_assert_msg(ran[0] == 1 && ran[1] == 2, "%s: the resumed fit ran %d epochs from %d",
                  kind, ran[0], ran[1]);
    int32_t nu = count_users(d), ni = count_items(d);
    for (int32_t u = 0; u < nu; u += 3)
        for (int32_t i = 0; i < ni; i += 5) {
            float sa, sb;
            ck_assert_int_eq(rec_model_score(a, uid_of(d, u), iid_of(d, i), &sa), REC_OK);
            ck_assert_int_eq(rec_model_score(b, uid_of(d, u), iid_of(d, i), &sb), REC_OK);
            ck_assert_msg(sa == sb, "%s: (%d, %d) %g straight, %g resumed", kind, u, i, sa, sb);
        }
    rec_model_destroy(a);
    rec_model_destroy(b);
    /* a checkpoint that is not one fails the fit with a message */
    FILE *f = fopen(tu_tmp_path(name), "wb");
    fputs("not a checkpoint", f);
    fclose(f);
    rec_model_destroy(fit_with(kind, d, (const char *const[]){ "epochs=2", ck, "resume=true" },
                               3, REC_E_FORMAT, NULL));
    ck_assert_ptr_nonnull(strstr(rec_last_error(), name));
    rec_dataset_destroy(d);
}
END_TEST

/* ---- reproducibility ------------------------------------------------------------ */

/* The same seed gives the same model whatever the thread count (DESIGN.md:
 * static partitioning, per-shard streams). */
START_TEST(same_seed_same_model_any_thread_count)
{
    const char *kind = kind_of(_i);
    rec_dataset *d = tu_generate(40, 60, 10);
    int old = rec_get_num_threads();
    rec_set_num_threads(1);
    rec_model *a = fit(kind, d);
    rec_set_num_threads(2);
    rec_model *b = fit(kind, d);
    rec_set_num_threads(old);
    int32_t nu = count_users(d), ni = count_items(d);
    for (int32_t u = 0; u < nu; u += 3)
        for (int32_t i = 0; i < ni; i += 4) {
            float sa, sb;
            ck_assert_int_eq(rec_model_score(a, uid_of(d, u), iid_of(d, i), &sa), REC_OK);
            ck_assert_int_eq(rec_model_score(b, uid_of(d, u), iid_of(d, i), &sb), REC_OK);
            ck_assert_msg(sa == sb, "%s: (%d, %d) %g on one thread, %g on two", kind, u, i, sa,
                          sb);
        }
    rec_model_destroy(a);
    rec_model_destroy(b);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- cancel ------------------------------------------------------------------- */

/* Every byte librec allocates starts as 0xff (a NaN in every float), so a
 * model that reads memory it never wrote scores NaN. */
static void *poison_alloc(void *u, size_t n)
{
    (void)u;
    void *p = malloc(n ? n : 1);
    if (p)
        memset(p, 0xff, n);
    return p;
}

static void *poison_realloc(void *u, void *p, size_t o, size_t n)
{
    (void)u;
    unsigned char *q = realloc(p, n ? n : 1);
    if (q && n > o)
        memset(q + o, 0xff, n - o);
    return q;
}

static void poison_free(void *u, void *p, size_t n)
{
    (void)u;
    (void)n;
    free(p);
}

static int cancel_at_once(void *user, int epoch, int epochs, double loss)
{
    (void)user;
    (void)epoch;
    (void)epochs;
    (void)loss;
    return 1;
}

/* Cancelled at the first progress report, a model keeps the state it
 * reached and answers with finite scores (rec_model(3)). */
START_TEST(cancelled_fit_keeps_a_usable_model)
{
    const char *kind = kind_of(_i);
    rec_dataset *d = tu_generate(40, 60, 10);
    rec_model_destroy(fit(kind, d)); /* the dataset's caches, outside the poison */
    rec_allocator a = { poison_alloc, poison_realloc, poison_free, NULL };
    ck_assert_int_eq(rec_set_allocator(&a), REC_OK);
    rec_params *p = kind_params(kind, NULL, 0);
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, kind, p), REC_OK);
    rec_params_destroy(p);
    rec_status st = rec_model_fit(m, d, cancel_at_once, NULL);
    ck_assert_msg(st == REC_E_CANCELLED, "%s: fit gave %s (%s)", kind, rec_strerror(st),
                  rec_last_error());
    int32_t nu = count_users(d), ni = count_items(d);
    const char **it = malloc(sizeof *it * (size_t)ni);
    float *sc = malloc(sizeof *sc * (size_t)ni);
    for (int32_t u = 0; u < nu; u++) {
        size_t n;
        ck_assert_int_eq(rec_model_recommend(m, uid_of(d, u), (size_t)ni, REC_INCLUDE_SEEN, it,
                                             sc, &n), REC_OK);
        ck_assert_msg(n == (size_t)ni, "%s: user %d gets %zu of %d items after a cancelled fit",
                      kind, u, n, ni);
        for (size_t k = 0; k < n; k++)
            ck_assert_msg(isfinite(sc[k]), "%s: user %d, %s scores %g after a cancelled fit",
                          kind, u, it[k], sc[k]);
        float one;
        ck_assert_int_eq(rec_model_score(m, uid_of(d, u), iid_of(d, u % ni), &one), REC_OK);
        ck_assert_msg(isfinite(one), "%s: score(%d, %d) = %g after a cancelled fit", kind, u,
                      u % ni, one);
    }
    free(it);
    free(sc);
    rec_model_destroy(m);
    rec_set_allocator(NULL);
    rec_dataset_destroy(d);
}
END_TEST

/* One vocabulary: a kind's keys are canonical names, never an alias (the
 * alias would shadow the canonical key and its old callers), so every kind
 * answers to the old names of the ideas it has.  Each alias of a key the
 * kind has sets that key, and a near miss of a key suggests it. */
START_TEST(keys_use_the_one_vocabulary)
{
    const char *kind = kind_of(_i), *key, *alias, *canon;
    for (size_t j = 0; rec_model_param_at(kind, j, &key, NULL, NULL, NULL, NULL, NULL, NULL) ==
                       REC_OK;
         j++)
        for (size_t a = 0; rec_params_alias_at(a, &alias, &canon) == REC_OK; a++) {
            ck_assert_msg(strcmp(key, alias) != 0, "%s: key '%s' is an alias of '%s'", kind, key,
                          canon);
            if (strcmp(key, canon) != 0)
                continue;
            /* An out-of-range value proves the alias reached the key's bounds
             * (every vocabulary key is a number). */
            char kv[96];
            snprintf(kv, sizeof kv, "%s=%lld", alias, (long long)INT64_MAX);
            tu_create_fails(kind, kv, REC_E_RANGE, alias);
        }
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "seeed", 1), REC_OK);
    ck_assert_int_eq(rec_model_create(&m, kind, p), REC_E_INVALID);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", rec_last_error());
    int has_seed = 0;
    for (size_t j = 0; rec_model_param_at(kind, j, &key, NULL, NULL, NULL, NULL, NULL, NULL) ==
                       REC_OK;
         j++)
        has_seed |= !strcmp(key, "seed");
    ck_assert_msg(!has_seed || strstr(msg, "did you mean 'seed'?"), "%s: %s", kind, msg);
    rec_params_destroy(p);
}
END_TEST

/* ---- serving through an HNSW index ------------------------------------------- */

/* items[nu, k] of every user through the batch call. */
static int32_t *top_all(const rec_model *m, int32_t nu, size_t k, unsigned flags,
                        const rec_filter *f, float *scores)
{
    int32_t *users = malloc(sizeof *users * (size_t)nu), *items = malloc(sizeof *items * nu * k);
    for (int32_t u = 0; u < nu; u++)
        users[u] = u;
    ck_assert_msg(rec_model_recommend_batch(m, users, (size_t)nu, k, flags, f, items, scores) ==
                  REC_OK, "%s", rec_last_error());
    free(users);
    return items;
}

/* Share of exact's top k that hnsw's holds. */
static double overlap(const int32_t *exact, const int32_t *hnsw, int32_t nu, size_t k)
{
    size_t hit = 0, all = 0;
    for (int32_t u = 0; u < nu; u++)
        for (size_t a = 0; a < k; a++) {
            if (exact[u * k + a] < 0)
                continue;
            all++;
            for (size_t b = 0; b < k; b++)
                hit += hnsw[u * k + b] == exact[u * k + a];
        }
    return all ? (double)hit / (double)all : 1.0;
}

/* A kind with vectors has the index keys; one with the keys but no vectors
 * at its defaults (lightgcn, whose linear=0 gives them) refuses index=hnsw
 * before training.  With index=hnsw
 * and a search as wide as the catalogue, recommend returns exact's top 10
 * (recall >= 0.99: the index scores by the vectors, exact by score_user,
 * equal up to rounding), never a training item, and filters apply inside
 * the search (rows stay full); the index is saved in the model's file and
 * loaded from it, mapped, not rebuilt, with identical answers. */
START_TEST(hnsw_index_serves_as_exact)
{
    const char *kind = kind_of(_i);
    rec_dataset *d = tu_generate(40, 60, 10);
    rec_model *me = fit(kind, d);
    int dim;
    int vectors = rec_model_vectors(me, REC_SIDE_ITEM, NULL, 0, &dim) == REC_OK;
    ck_assert_msg(has_key(kind, "index") || !vectors, "%s: vectors but no index keys", kind);
    if (has_key(kind, "index") && !vectors) {
        /* vectors by a key (lightgcn's linear=0): index=hnsw is refused
         * before training, with the reason */
        const char *extra[] = { "index=hnsw" };
        rec_params *p = kind_params(kind, extra, 1);
        rec_model *mh;
        ck_assert_int_eq(rec_model_create(&mh, kind, p), REC_OK);
        ck_assert_int_eq(rec_model_fit(mh, d, NULL, NULL), REC_E_INVALID);
        ck_assert_msg(strstr(rec_last_error(), "index=hnsw"), "%s: %s", kind, rec_last_error());
        rec_model_destroy(mh);
        rec_params_destroy(p);
    }
    if (!vectors) {
        rec_model_destroy(me);
        rec_dataset_destroy(d);
        return;
    }
    const char *extra[] = { "index=hnsw", "index_ef=64" };
    rec_params *p = kind_params(kind, extra, 2);
    rec_model *mh;
    ck_assert_int_eq(rec_model_create(&mh, kind, p), REC_OK);
    ck_assert_msg(rec_model_fit(mh, d, NULL, NULL) == REC_OK, "%s: %s", kind, rec_last_error());
    int32_t nu = count_users(d), ni = count_items(d);
    const size_t K = 10;
    unsigned char *seen = seen_matrix(d);
    for (unsigned flags = 0; flags <= REC_INCLUDE_SEEN; flags += REC_INCLUDE_SEEN) {
        int32_t *ex = top_all(me, nu, K, flags, NULL, NULL);
        int32_t *hn = top_all(mh, nu, K, flags, NULL, NULL);
        double r = overlap(ex, hn, nu, K);
        ck_assert_msg(r >= 0.99, "%s: recall@10 %.3f (flags %u)", kind, r, flags);
        for (int32_t u = 0; u < nu && !flags; u++)
            for (size_t j = 0; j < K; j++) {
                ck_assert_int_ge(hn[u * K + j], 0);
                ck_assert_msg(!seen[(size_t)u * ni + hn[u * K + j]], "%s: user %d got %d", kind,
                              u, hn[u * K + j]);
            }
        /* one call per user answers as the batch */
        const char *it[10];
        size_t n;
        ck_assert_int_eq(rec_model_recommend(mh, uid_of(d, 3), K, flags, it, NULL, &n), REC_OK);
        ck_assert_uint_eq(n, K);
        for (size_t j = 0; j < n; j++)
            ck_assert_int_eq(item_index(d, it[j]), hn[3 * K + j]);
        free(ex);
        free(hn);
    }
    /* Items 0..9 denied: rows stay full, the search walks past them. */
    rec_filter *f;
    ck_assert_int_eq(rec_filter_create(&f, (size_t)ni), REC_OK);
    int32_t deny[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    ck_assert_int_eq(rec_filter_deny(f, deny, 10), REC_OK);
    int32_t *fh = top_all(mh, nu, K, 0, f, NULL);
    for (int32_t u = 0; u < nu; u++)
        for (size_t j = 0; j < K; j++)
            ck_assert_msg(fh[u * K + j] >= 10 && !seen[(size_t)u * ni + fh[u * K + j]],
                          "%s: user %d got %d", kind, u, fh[u * K + j]);
    free(fh);
    rec_filter_destroy(f);
    /* save -> load: the index comes back mapped from the file, same answers */
    char path[512];
    snprintf(path, sizeof path, "%s", tu_tmp_path("hnsw_kind.lrm"));
    ck_assert_msg(rec_model_save(mh, path) == REC_OK, "%s: %s", kind, rec_last_error());
    rec_model *ml;
    ck_assert_msg(rec_model_load(&ml, path) == REC_OK, "%s: %s", kind, rec_last_error());
    ck_assert_ptr_nonnull(ml->ix);
    ck_assert_ptr_nonnull(ml->ix->hnsw->reader);
    float *s1 = malloc(sizeof *s1 * nu * K), *s2 = malloc(sizeof *s2 * nu * K);
    int32_t *a = top_all(mh, nu, K, 0, NULL, s1), *b = top_all(ml, nu, K, 0, NULL, s2);
    ck_assert_mem_eq(a, b, sizeof *a * nu * K);
    ck_assert_mem_eq(s1, s2, sizeof *s1 * nu * K);
    free(a);
    free(b);
    free(s1);
    free(s2);
    free(seen);
    remove(path);
    rec_model_destroy(ml);
    rec_model_destroy(mh);
    rec_params_destroy(p);
    rec_model_destroy(me);
    rec_dataset_destroy(d);
}
END_TEST

/* The contract over a range of kinds: the kinds are split over two suites
 * (and the allocation failures are a third) so the parallel test runner can
 * spread the longest part of `make check` over the cores. */
static Suite *contract_suite(const char *name, int from, int to)
{
    Suite *s = suite_create(name);
    TCase *t = tcase_create("contract");
    tcase_set_timeout(t, 300);
    tcase_add_loop_test(t, save_load_gives_identical_scores, from, to);
    tcase_add_loop_test(t, recommend_excludes_training_items, from, to);
    tcase_add_loop_test(t, optional_calls_answer_or_are_unsupported, from, to);
    tcase_add_loop_test(t, bad_ids_and_nulls_are_errors_with_messages, from, to);
    tcase_add_loop_test(t, threads_recommend_exactly_as_one, from, to);
    tcase_add_loop_test(t, resumed_fit_equals_straight_fit, from, to);
    tcase_add_loop_test(t, cancelled_fit_keeps_a_usable_model, from, to);
    tcase_add_loop_test(t, same_seed_same_model_any_thread_count, from, to);
    tcase_add_loop_test(t, keys_use_the_one_vocabulary, from, to);
    tcase_add_loop_test(t, hnsw_index_serves_as_exact, from, to);
    suite_add_tcase(s, t);
    return s;
}

Suite *rec_kinds_suite(void)
{
    return contract_suite("kinds", 0, (int)num_kinds() / 2);
}

Suite *rec_kinds_rest_suite(void)
{
    return contract_suite("kinds_rest", (int)num_kinds() / 2, (int)num_kinds());
}

Suite *rec_kinds_oom_suite(void)
{
    Suite *s = suite_create("kinds_oom");
    TCase *o = tcase_create("out_of_memory");
    tcase_set_timeout(o, 600);
    tcase_add_loop_test(o, allocation_failures_are_nomem_and_leak_nothing, 0, (int)num_kinds());
    suite_add_tcase(s, o);
    return s;
}
