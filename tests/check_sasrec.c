/* The "sasrec" kind: it learns a deterministic successor pattern (item k is
 * always followed by k + 1) from time order, recommends from a history given
 * at call time, scores a known user from the user's training sequence in
 * timestamp order, explains a user's scores by the last position's attention
 * over the history, saves and loads bit for bit, rejects bad parameters with
 * messages, is reproducible (seed, thread count), honours cancellation and
 * survives allocation failures without leaks. */
#include "testutil.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NITEMS 20
#define NUSERS 40

static rec_model *make(const char *kv)
{
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    /* small and quick; the pattern is easy */
    rec_params_set_int(p, "maxlen", 8);
    rec_params_set_int(p, "dim", 16);
    rec_params_set_int(p, "blocks", 1);
    rec_params_set_int(p, "heads", 2);
    rec_params_set_float(p, "dropout", 0.1);
    rec_params_set_float(p, "lr", 0.01);
    rec_params_set_int(p, "batch", 16);
    rec_params_set_int(p, "epochs", 40);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", kv ? kv : "");
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) {
        char *eq = strchr(t, '=');
        *eq = 0;
        if (strchr(eq + 1, '.'))
            rec_params_set_float(p, t, atof(eq + 1));
        else
            rec_params_set_int(p, t, atoll(eq + 1));
    }
    rec_status st = rec_model_create(&m, "sasrec", p);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    return m;
}

static void name(char *buf, size_t n, int item)
{
    snprintf(buf, n, "i%d", ((item % NITEMS) + NITEMS) % NITEMS);
}

/* User u walks the cycle from item u % NITEMS for 6 + u % 5 steps.  Rows go
 * in reversed for odd users with increasing timestamps, so only the
 * timestamps give the order. */
static rec_dataset *cycles(void)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (int u = 0; u < NUSERS; u++) {
        char us[16], is[16];
        snprintf(us, sizeof us, "u%d", u);
        int len = 6 + u % 5;
        for (int j = 0; j < len; j++) {
            int k = u % 2 ? len - 1 - j : j;
            name(is, sizeof is, u + k);
            ck_assert_int_eq(rec_dataset_add(d, us, is, NAN, 1000 + 10 * k), REC_OK);
        }
    }
    return d;
}

static rec_model *fitted(const char *kv)
{
    rec_dataset *d = cycles();
    rec_model *m = make(kv);
    rec_status st = rec_model_fit(m, d, NULL, NULL);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    rec_dataset_destroy(d);
    return m;
}

/* How many of the NITEMS three-item histories s, s+1, s+2 get s+3 first. */
static int next_first(const rec_model *m)
{
    int good = 0;
    for (int s = 0; s < NITEMS; s++) {
        char h[3][16], want[16];
        const char *hist[3] = { h[0], h[1], h[2] };
        for (int j = 0; j < 3; j++)
            name(h[j], sizeof h[j], s + j);
        name(want, sizeof want, s + 3);
        const char *items[1];
        size_t n;
        ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, 3, 1, 0, items, NULL, &n),
                         REC_OK);
        ck_assert_uint_eq(n, 1);
        good += strcmp(items[0], want) == 0;
    }
    return good;
}

static double losses[64];
static int nloss;

static int record(void *user, int epoch, int epochs, double loss)
{
    (void)user;
    (void)epochs;
    if (epoch <= 64)
        losses[epoch - 1] = loss;
    nloss = epoch;
    return 0;
}

START_TEST(learns_successor)
{
    rec_dataset *d = cycles();
    rec_model *m = make(NULL);
    nloss = 0;
    ck_assert_int_eq(rec_model_fit(m, d, record, NULL), REC_OK);
    ck_assert_int_eq(nloss, 40);
    /* BCE of one positive and one negative at chance is 2 log 2 */
    ck_assert_msg(losses[0] > 1.0 && losses[39] < 0.5 * losses[0], "loss %g -> %g", losses[0],
                  losses[39]);
    int good = next_first(m);
    ck_assert_msg(good >= 17, "next item first for %d of %d histories", good, NITEMS);
    /* known users: the successor of their last (by timestamp) item */
    int ugood = 0;
    for (int u = 0; u < NUSERS; u++) {
        char us[16], want[16];
        snprintf(us, sizeof us, "u%d", u);
        name(want, sizeof want, u + 6 + u % 5);
        const char *items[1];
        size_t n;
        ck_assert_int_eq(rec_model_recommend(m, us, 1, 0, items, NULL, &n), REC_OK);
        ugood += strcmp(items[0], want) == 0;
    }
    ck_assert_msg(ugood >= 34, "next item first for %d of %d users", ugood, NUSERS);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* A user's scores are those of the user's training sequence given as a
 * history (timestamp order, last maxlen items); the reversed history is a
 * different input. */
START_TEST(user_is_its_sequence)
{
    rec_model *m = fitted("epochs=3");
    for (int u = 0; u < 6; u++) {
        char us[16], h[10][16];
        const char *hist[10], *rev[10];
        snprintf(us, sizeof us, "u%d", u);
        int len = 6 + u % 5;
        for (int j = 0; j < len; j++) {
            name(h[j], sizeof h[j], u + j);
            hist[j] = h[j];
            rev[len - 1 - j] = h[j];
        }
        const char *items[NITEMS], *ritems[NITEMS];
        float sc[NITEMS], rsc[NITEMS];
        size_t n, rn;
        ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, (size_t)len, NITEMS,
                                                     REC_INCLUDE_SEEN, items, sc, &n), REC_OK);
        ck_assert_uint_eq(n, NITEMS);
        for (size_t j = 0; j < n; j++) {
            float s;
            ck_assert_int_eq(rec_model_score(m, us, items[j], &s), REC_OK);
            ck_assert_msg(s == sc[j], "user %s item %s: %g vs %g", us, items[j], s, sc[j]);
        }
        ck_assert_int_eq(rec_model_recommend_history(m, rev, NULL, (size_t)len, NITEMS,
                                                     REC_INCLUDE_SEEN, ritems, rsc, &rn),
                         REC_OK);
        int differs = 0;
        for (size_t j = 0; j < n; j++)
            differs |= strcmp(items[j], ritems[j]) != 0 || sc[j] != rsc[j];
        ck_assert(differs);
    }
    rec_model_destroy(m);
}
END_TEST

START_TEST(history_at_call_time)
{
    rec_model *m = fitted(NULL);
    /* unknown ids are skipped; seen items are excluded unless asked for */
    const char *hist[4] = { "i4", "nosuch", "i5", "i6" };
    const char *items[NITEMS];
    float sc[NITEMS];
    size_t n;
    ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, 4, 3, 0, items, sc, &n),
                     REC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(sc[0] >= sc[1] && sc[1] >= sc[2]);
    const char *known[3] = { "i4", "i5", "i6" }, *kitems[3];
    float ksc[3];
    ck_assert_int_eq(rec_model_recommend_history(m, known, NULL, 3, 3, 0, kitems, ksc, &n),
                     REC_OK);
    for (int j = 0; j < 3; j++) {
        ck_assert_str_eq(items[j], kitems[j]);
        ck_assert(sc[j] == ksc[j]);
    }
    ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, 4, NITEMS, 0, items, sc, &n),
                     REC_OK);
    ck_assert_uint_eq(n, NITEMS - 3);
    for (size_t j = 0; j < n; j++)
        ck_assert(strcmp(items[j], "i4") && strcmp(items[j], "i5") && strcmp(items[j], "i6"));
    ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, 4, NITEMS, REC_INCLUDE_SEEN,
                                                 items, sc, &n), REC_OK);
    ck_assert_uint_eq(n, NITEMS);
    /* a history longer than maxlen: only the last maxlen items count */
    char h[30][16];
    const char *lng[30];
    for (int j = 0; j < 30; j++) {
        name(h[j], sizeof h[j], j);
        lng[j] = h[j];
    }
    float a[NITEMS], b[NITEMS];
    const char *ia[NITEMS], *ib[NITEMS];
    size_t na, nb;
    ck_assert_int_eq(rec_model_recommend_history(m, lng, NULL, 30, NITEMS, REC_INCLUDE_SEEN,
                                                 ia, a, &na), REC_OK);
    ck_assert_int_eq(rec_model_recommend_history(m, lng + 22, NULL, 8, NITEMS, REC_INCLUDE_SEEN,
                                                 ib, b, &nb), REC_OK);
    for (size_t j = 0; j < na; j++) {
        ck_assert_str_eq(ia[j], ib[j]);
        ck_assert(a[j] == b[j]);
    }
    /* an empty history still scores (positions only) */
    ck_assert_int_eq(rec_model_recommend_history(m, NULL, NULL, 0, 5, 0, items, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 5);
    rec_model_destroy(m);
}
END_TEST

/* The weights of user u's explanation by reason, into w[NITEMS] (0 where
 * absent); checks they are a distribution over the user's last maxlen (8)
 * items, largest first, the same whatever the item asked about. */
static void attention_of(const rec_model *m, const char *u, const char *const *want, int nwant,
                         float *w)
{
    const char *why[NITEMS], *why2[NITEMS];
    float wt[NITEMS], wt2[NITEMS];
    size_t n, n2;
    ck_assert_int_eq(rec_model_explain(m, u, "i0", NITEMS, why, wt, &n), REC_OK);
    ck_assert_uint_eq(n, (size_t)nwant);
    double sum = 0;
    memset(w, 0, NITEMS * sizeof *w);
    for (size_t j = 0; j < n; j++) {
        ck_assert(wt[j] >= 0 && (j == 0 || wt[j] <= wt[j - 1]));
        sum += wt[j];
        int found = 0;
        for (int q = 0; q < nwant; q++)
            found |= !strcmp(why[j], want[q]);
        ck_assert_msg(found, "%s: reason %s is not in the history", u, why[j]);
        w[atoi(why[j] + 1)] = wt[j];
    }
    ck_assert_msg(fabs(sum - 1) < 1e-5, "%s: weights add up to %g", u, sum);
    ck_assert_msg(wt[0] - wt[n - 1] > 1e-4, "%s: uniform weights", u);
    ck_assert_int_eq(rec_model_explain(m, u, "i7", 3, why2, wt2, &n2), REC_OK);
    ck_assert_uint_eq(n2, 3);
    for (size_t j = 0; j < n2; j++) {
        ck_assert_str_eq(why[j], why2[j]);
        ck_assert(wt[j] == wt2[j]);
    }
}

/* explain: the last position's attention in the last block over the
 * user's history, a distribution over its items that follows their order:
 * the same six items in reversed time order get other weights. */
START_TEST(explain_is_attention_over_the_history)
{
    rec_dataset *d = cycles();
    const char *fwd[6] = { "i0", "i1", "i2", "i3", "i4", "i5" };
    for (int j = 0; j < 6; j++) {
        ck_assert_int_eq(rec_dataset_add(d, "ua", fwd[j], NAN, 5000 + j), REC_OK);
        ck_assert_int_eq(rec_dataset_add(d, "ub", fwd[j], NAN, 5000 - j), REC_OK);
    }
    rec_model *m = make("blocks=2");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    float wa[NITEMS], wb[NITEMS];
    attention_of(m, "ua", fwd, 6, wa);
    attention_of(m, "ub", fwd, 6, wb);
    double diff = 0;
    for (int j = 0; j < NITEMS; j++)
        diff = fmax(diff, fabs(wa[j] - wb[j]));
    ck_assert_msg(diff > 1e-3, "reversing the history left the weights as they were");
    /* a history longer than maxlen: only its last 8 items are reasons */
    char h[10][16];
    const char *last[8];
    for (int j = 0; j < 8; j++) {
        name(h[j], sizeof h[j], 4 + 2 + j); /* u4 walks 10 items from i4 */
        last[j] = h[j];
    }
    attention_of(m, "u4", last, 8, wa);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(bad_params)
{
    tu_create_fails("sasrec", "dropout=1.5", REC_E_RANGE, "dropout");
    tu_create_fails("sasrec", "maxlen=0", REC_E_RANGE, "maxlen");
    tu_create_fails("sasrec", "hidden=64", REC_E_INVALID, "hidden");

    /* heads must divide dim: found at fit */
    rec_dataset *d = cycles();
    rec_model *m = make("dim=16 heads=3");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "heads = 3"));
    const char *items[1];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "u1", 1, 0, items, NULL, &n), REC_E_STATE);
    rec_model_destroy(m);
    rec_dataset_destroy(d);

    /* nobody with a next item to learn */
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "a", "x", NAN, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "b", "y", NAN, REC_NO_TIME), REC_OK);
    m = make(NULL);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "two or more"));
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

static void all_scores(const rec_model *m, float *out)
{
    for (int u = 0; u < NUSERS; u += 5)
        for (int i = 0; i < NITEMS; i++) {
            char us[16], is[16];
            snprintf(us, sizeof us, "u%d", u);
            name(is, sizeof is, i);
            ck_assert_int_eq(rec_model_score(m, us, is, out++), REC_OK);
        }
}

START_TEST(reproducible)
{
    enum { N = (NUSERS / 5) * NITEMS };
    float a[N], b[N], c[N];
    ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
    rec_model *m = fitted("epochs=4 seed=7");
    all_scores(m, a);
    rec_model_destroy(m);
    ck_assert_int_eq(rec_set_num_threads(1), REC_OK);
    m = fitted("epochs=4 seed=7");
    all_scores(m, b);
    rec_model_destroy(m);
    ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
    m = fitted("epochs=4 seed=8");
    all_scores(m, c);
    rec_model_destroy(m);
    int differ = 0;
    for (int k = 0; k < N; k++) {
        ck_assert_msg(a[k] == b[k], "score %d: %g (2 threads) vs %g (1 thread)", k, a[k], b[k]);
        differ += a[k] != c[k];
    }
    ck_assert_int_gt(differ, N / 2);
}
END_TEST

static int stop_at_2(void *user, int epoch, int epochs, double loss)
{
    (void)user;
    (void)epochs;
    (void)loss;
    return epoch == 2;
}

START_TEST(cancel)
{
    rec_dataset *d = cycles();
    rec_model *m = make(NULL);
    ck_assert_int_eq(rec_model_fit(m, d, stop_at_2, NULL), REC_E_CANCELLED);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "epoch 2"));
    const char *items[1];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "u1", 1, 0, items, NULL, &n), REC_OK);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_sasrec_suite(void)
{
    Suite *s = suite_create("sasrec");
    TCase *tc = tcase_create("sasrec");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, learns_successor);
    tcase_add_test(tc, user_is_its_sequence);
    tcase_add_test(tc, history_at_call_time);
    tcase_add_test(tc, explain_is_attention_over_the_history);
    tcase_add_test(tc, bad_params);
    tcase_add_test(tc, reproducible);
    tcase_add_test(tc, cancel);
    suite_add_tcase(s, tc);
    return s;
}
