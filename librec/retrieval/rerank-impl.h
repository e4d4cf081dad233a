/* The re-ranking pipeline's representation, shared by rerank.c (building,
 * applying) and the stage files: rerank_filter.c (hide, no_repeat),
 * rerank_boost.c, rerank_diversity.c (cap, mmr), rerank_explore.c. */
#ifndef LIBREC_RERANK_IMPL_H
#define LIBREC_RERANK_IMPL_H

#include "librec/rerank.h"
#include "core/core-impl.h"

typedef enum rr_kind { RR_HIDE, RR_BOOST, RR_CAP, RR_MMR, RR_NO_REPEAT, RR_EXPLORE } rr_kind;

struct rec_rerank_stage {
    rr_kind kind;
    const char *name;          /* the kind as the caller spelled it (static)  */
    /* params */
    int mul;                   /* boost: 1 = multiply, 0 = add                */
    int64_t max;               /* cap                                         */
    double lambda;             /* mmr                                         */
    int softmax;               /* explore: 1 = softmax, 0 = epsilon-greedy    */
    double epsilon, temperature;
    uint64_t seed;
    /* data */
    int32_t *deny;             /* hide: [ndeny], sorted ascending, distinct   */
    size_t ndeny, deny_cap;    /* distinct entries, allocated entries         */
    rec_rerank_predicate pred;
    void *pred_user;
    float *weights;            /* boost: [nitems]                             */
    int32_t *groups;           /* cap, mmr: [nitems]                          */
    int32_t ngroups;           /* max group + 1                               */
    float *vecs;               /* mmr: [nitems x dim], unit length or zero    */
    int dim;
    size_t nitems;             /* entries of weights, groups or vecs          */
};

struct rec_rerank {
    rec_rerank_stage **stage;  /* [cap], n used                               */
    size_t n, cap;
};

/* The working list: best first, n entries live. */
typedef struct rr_list {
    int32_t *item;
    float *score;
    size_t n;
} rr_list;

/* What one rec_rerank_apply call brings. */
typedef struct rr_call {
    const int32_t *recent;     /* [nrecent], sorted ascending                 */
    size_t nrecent;
    uint64_t seed;
    size_t k;
} rr_call;

#define RR_APPLY "rec_rerank_apply"

/* Orders l by score, best first; ties keep their order. */
rec_status rr_sort(rr_list *l);
/* Is x in the sorted array a[0..n)? */
int rr_contains(const int32_t *a, size_t n, int32_t x);
/* Moves entry j of l to position t (t <= j), shifting t..j-1 down one. */
void rr_move(rr_list *l, size_t t, size_t j);

rec_status rr_hide(const rec_rerank_stage *s, rr_list *l, const rr_call *c);
rec_status rr_no_repeat(const rec_rerank_stage *s, rr_list *l, const rr_call *c);
rec_status rr_boost(const rec_rerank_stage *s, rr_list *l, const rr_call *c);
rec_status rr_cap(const rec_rerank_stage *s, rr_list *l, const rr_call *c);
rec_status rr_mmr(const rec_rerank_stage *s, rr_list *l, const rr_call *c);
rec_status rr_explore(const rec_rerank_stage *s, rr_list *l, const rr_call *c);

#endif
