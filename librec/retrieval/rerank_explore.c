/* The explore stage: some slots go to items the ranking would not have put
 * there, so the system keeps learning about them.  The draws come from
 * stream `call seed` of the stage's seed: the same pair, the same list. */
#include "rerank-impl.h"

#include <math.h>

rec_status rr_explore(const rec_rerank_stage *s, rr_list *l, const rr_call *c)
{
    size_t n = l->n, slots = c->k < n ? c->k : n;
    rec_rng rng;
    rec_rng_stream(&rng, s->seed, c->seed);
    for (size_t t = 0; t + 1 < n && t < slots; t++) {
        size_t pick = t;
        if (!s->softmax) {
            /* else slot t keeps the list's next item (the best remaining
             * by score, or by an earlier mmr stage's order) */
            if (rec_rng_uniform(&rng) < s->epsilon)
                pick = t + rec_rng_below(&rng, (uint32_t)(n - t));
        } else {
            /* Plackett-Luce: draw slot t among the remaining items with
             * weight exp((score - top) / T), top the largest remaining score
             * (an earlier mmr stage may have left the list out of order). */
            double top = -INFINITY, total = 0;
            for (size_t j = t; j < n; j++)
                top = l->score[j] > top ? l->score[j] : top;
            if (!isfinite(top))
                break; /* only -inf scores are left (or +inf): keep the order */
            for (size_t j = t; j < n; j++)
                total += exp(((double)l->score[j] - top) / s->temperature);
            double u = rec_rng_uniform(&rng) * total, acc = 0;
            for (pick = t; pick + 1 < n; pick++) {
                acc += exp(((double)l->score[pick] - top) / s->temperature);
                if (u < acc)
                    break;
            }
        }
        rr_move(l, t, pick);
    }
    return REC_OK;
}
