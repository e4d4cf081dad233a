/* Re-ranking stages that drop items: hide (deny set, caller predicate) and
 * no_repeat (the call's recently shown items).  Both keep the order. */
#include "rerank-impl.h"

rec_status rr_hide(const rec_rerank_stage *s, rr_list *l, const rr_call *c)
{
    size_t m = 0;
    for (size_t j = 0; j < l->n; j++) {
        int32_t it = l->item[j];
        if (rr_contains(s->deny, s->ndeny, it) || (s->pred && s->pred(s->pred_user, it)))
            continue;
        l->item[m] = it;
        l->score[m++] = l->score[j];
    }
    l->n = m;
    return REC_OK;
}

rec_status rr_no_repeat(const rec_rerank_stage *s, rr_list *l, const rr_call *c)
{
    size_t m = 0;
    for (size_t j = 0; j < l->n; j++) {
        if (rr_contains(c->recent, c->nrecent, l->item[j]))
            continue;
        l->item[m] = l->item[j];
        l->score[m++] = l->score[j];
    }
    l->n = m;
    return REC_OK;
}
