/* The boost stage: per-item weights added to or multiplying the scores
 * (sponsored items, new items by age, local items), then the list is
 * ordered again by the new scores. */
#include "rerank-impl.h"

#include <math.h>

rec_status rr_boost(const rec_rerank_stage *s, rr_list *l, const rr_call *c)
{
    for (size_t j = 0; j < l->n; j++) {
        float w = s->weights[l->item[j]];
        float v = s->mul ? l->score[j] * w : l->score[j] + w;
        /* An infinite score times a zero weight: the rule says "no weight",
         * so the item sinks rather than poisoning the order with a NaN. */
        l->score[j] = isnan(v) ? -INFINITY : v;
    }
    return rr_sort(l);
}
