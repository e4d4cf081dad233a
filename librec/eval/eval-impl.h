/* Internal half of evaluation: metric names, pure metric functions over one
 * user's ranking, and the result object.  Not installed.
 *
 * A user's ranking is described by the 0-based positions of the relevant
 * items in it: pos[0..npos) ascending and distinct, npos <= nrel (relevant
 * items missing from a truncated list have no position).  Every @K metric
 * reads only positions < k. */
#ifndef LIBREC_EVAL_IMPL_H
#define LIBREC_EVAL_IMPL_H

#include "librec/eval.h"
#include "core/core-impl.h"

#include <stddef.h>
#include <stdint.h>

typedef enum rec_metric_kind {
    REC_M_RMSE,
    REC_M_MAE,
    REC_M_HIT,
    REC_M_PRECISION,
    REC_M_RECALL,
    REC_M_NDCG,
    REC_M_MAP,
    REC_M_MRR,       /* k == 0: no cutoff */
    REC_M_AUC,
    REC_M_COVERAGE,
    REC_M_DIVERSITY,
    REC_M_NOVELTY,
    REC_M_SERENDIPITY
} rec_metric_kind;

typedef struct rec_metric {
    rec_metric_kind kind;
    int k;              /* cutoff, 0 for none */
    char name[32];      /* canonical lower-case name: "ndcg@10" */
} rec_metric;

/* Parses "rmse,ndcg@10,..." into *out (rec_free(*out, *n * sizeof **out)).
 * REC_E_INVALID naming the bad entry (fn in the message). */
rec_status rec_metrics_parse(const char *list, const char *fn, rec_metric **out, size_t *n);

/* ---- per-user ranking metrics ---------------------------------------------- */
double rec_metric_hit(const int64_t *pos, size_t npos, size_t nrel, int k);
double rec_metric_precision(const int64_t *pos, size_t npos, size_t nrel, int k);
double rec_metric_recall(const int64_t *pos, size_t npos, size_t nrel, int k);
double rec_metric_ndcg(const int64_t *pos, size_t npos, size_t nrel, int k);
double rec_metric_map(const int64_t *pos, size_t npos, size_t nrel, int k);
/* k == 0: no cutoff. */
double rec_metric_mrr(const int64_t *pos, size_t npos, size_t nrel, int k);
/* gt[j], eq[j]: non-relevant candidates scoring above / equal to relevant
 * item j; nneg: non-relevant candidates (> 0). */
double rec_metric_auc(const int64_t *gt, const int64_t *eq, size_t nrel, int64_t nneg);

/* Positions of the relevant items rel[0..nrel) in a ranked list
 * list[0..n) (best first): fills pos ascending, returns npos. */
size_t rec_metric_positions(const int32_t *list, size_t n, const int32_t *rel, size_t nrel,
                            int64_t *pos);

/* ---- list metrics ---------------------------------------------------------
 * Items described by binary vectors over training users: item i's users are
 * users[ptr[i] .. ptr[i+1]), sorted ascending. */
double rec_metric_diversity(const int32_t *list, size_t n, const int64_t *ptr,
                            const int32_t *users);
/* deg[i]: training users of item i; nusers: all training users. */
double rec_metric_novelty(const int32_t *list, size_t n, const int64_t *deg, int64_t nusers);

/* ---- results ----------------------------------------------------------------- */
struct rec_eval_result {
    size_t n;
    rec_metric *m;      /* [n] */
    double *value;      /* [n] */
    double *std;        /* [n] */
    int64_t users, rows;
    int folds;
    /* Kept by rec_evaluate_per_user only: each evaluated test user's index
     * and, per metric, the sum and count its mean is made of. */
    int kept;
    size_t nu;
    int32_t *uidx;      /* [nu] */
    double *usum;       /* [nu * n] */
    int64_t *ucnt;      /* [nu * n] */
};

rec_status rec_eval_result_new(const rec_metric *m, size_t n, rec_eval_result **out,
                               const char *fn);

#endif
