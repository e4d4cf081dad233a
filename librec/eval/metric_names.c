/* Metric lists by name: "rmse,mae,ndcg@10,mrr" -> rec_metric[]. */
#include "eval-impl.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_K 1000000

static const struct {
    const char *name;
    rec_metric_kind kind;
    int cutoff; /* 0 none, 1 optional, 2 required */
} names[] = {
    { "rmse", REC_M_RMSE, 0 },          { "mae", REC_M_MAE, 0 },
    { "hit", REC_M_HIT, 2 },            { "precision", REC_M_PRECISION, 2 },
    { "recall", REC_M_RECALL, 2 },      { "ndcg", REC_M_NDCG, 2 },
    { "map", REC_M_MAP, 2 },            { "mrr", REC_M_MRR, 1 },
    { "auc", REC_M_AUC, 0 },            { "coverage", REC_M_COVERAGE, 2 },
    { "diversity", REC_M_DIVERSITY, 2 }, { "novelty", REC_M_NOVELTY, 2 },
    { "serendipity", REC_M_SERENDIPITY, 2 },
};
#define NNAMES (sizeof names / sizeof *names)
#define KNOWN "rmse, mae, hit@K, precision@K, recall@K, ndcg@K, map@K, mrr, mrr@K, auc, " \
              "coverage@K, diversity@K, novelty@K, serendipity@K"

/* Parses one trimmed, lower-cased entry. */
static rec_status parse_one(const char *e, const char *fn, rec_metric *m)
{
    const char *at = strchr(e, '@');
    size_t blen = at ? (size_t)(at - e) : strlen(e);
    size_t w = 0;
    while (w < NNAMES && !(strlen(names[w].name) == blen && memcmp(names[w].name, e, blen) == 0))
        w++;
    if (w == NNAMES)
        return rec_err(REC_E_INVALID, "%s: unknown metric '%s' (known: " KNOWN ")", fn, e);
    m->kind = names[w].kind;
    m->k = 0;
    if (!at) {
        if (names[w].cutoff == 2)
            return rec_err(REC_E_INVALID, "%s: metric '%s' needs a cutoff, e.g. '%s@10'", fn, e,
                           e);
    } else {
        if (names[w].cutoff == 0)
            return rec_err(REC_E_INVALID, "%s: metric '%s' takes no cutoff", fn, e);
        const char *d = at + 1;
        long k = 0;
        int ok = *d != '\0';
        for (; *d && ok; d++) {
            if (!isdigit((unsigned char)*d) || k > MAX_K)
                ok = 0;
            else
                k = k * 10 + (*d - '0');
        }
        if (!ok || k < 1 || k > MAX_K)
            return rec_err(REC_E_INVALID, "%s: metric '%s': the cutoff must be an integer in "
                           "[1, %d]", fn, e, MAX_K);
        m->k = (int)k;
    }
    if (m->k)
        snprintf(m->name, sizeof m->name, "%s@%d", names[w].name, m->k);
    else
        snprintf(m->name, sizeof m->name, "%s", names[w].name);
    return REC_OK;
}

rec_status rec_metrics_parse(const char *list, const char *fn, rec_metric **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    rec_metric *m = rec_calloc(cap, sizeof *m);
    if (!m)
        return rec_nomem(fn);
    size_t cnt = 0;
    rec_status st = REC_OK;
    rec_list_iter it;
    const char *p;
    size_t len;
    rec_list_start(&it, list);
    if (!it.next)
        st = rec_err(REC_E_INVALID, "%s: empty entry in the metric list '%s'", fn, list);
    while (!st && rec_list_next(&it, &p, &len)) {
        char e[64];
        if (len == 0) {
            st = rec_err(REC_E_INVALID, "%s: empty entry in the metric list '%s'", fn, list);
            break;
        }
        if (len >= sizeof e) {
            st = rec_err(REC_E_INVALID, "%s: unknown metric '%.*s'", fn, (int)len, p);
            break;
        }
        for (size_t i = 0; i < len; i++)
            e[i] = (char)tolower((unsigned char)p[i]);
        e[len] = '\0';
        st = parse_one(e, fn, &m[cnt]);
        if (st)
            break;
        for (size_t j = 0; j < cnt && !st; j++)
            if (strcmp(m[j].name, m[cnt].name) == 0)
                st = rec_err(REC_E_INVALID, "%s: metric '%s' is listed twice", fn, m[cnt].name);
        if (st)
            break;
        cnt++;
    }
    if (st) {
        rec_free(m, cap * sizeof *m);
        return st;
    }
    /* Hand back an exact-size block so the caller frees n * sizeof. */
    if (cnt != cap) {
        rec_metric *t = rec_malloc(cnt * sizeof *t);
        if (!t) {
            rec_free(m, cap * sizeof *m);
            return rec_nomem(fn);
        }
        memcpy(t, m, cnt * sizeof *t);
        rec_free(m, cap * sizeof *m);
        m = t;
    }
    *out = m;
    *n = cnt;
    return REC_OK;
}
