/* Every model kind, in the stable order rec_model_kind_at reports. */
#include "model-impl.h"

#include <string.h>

extern const rec_model_vt rec_mf_vt;
extern const rec_model_vt rec_tfidf_vt;
extern const rec_model_vt rec_popularity_vt;
extern const rec_model_vt rec_usercf_vt;
extern const rec_model_vt rec_itemcf_vt;
extern const rec_model_vt rec_svd_vt;
extern const rec_model_vt rec_svdpp_vt;
extern const rec_model_vt rec_als_vt;
extern const rec_model_vt rec_dnn_vt;
extern const rec_model_vt rec_twotower_vt;
extern const rec_model_vt rec_sasrec_vt;
extern const rec_model_vt rec_lightgcn_vt;
extern const rec_model_vt rec_ngcf_vt;
extern const rec_model_vt rec_gcn_vt;
extern const rec_model_vt rec_graphsage_vt;
extern const rec_model_vt rec_gat_vt;
extern const rec_model_vt rec_pinsage_vt;

static const rec_model_vt *const kinds[] = {
    &rec_mf_vt,
    &rec_tfidf_vt,
    &rec_popularity_vt,
    &rec_usercf_vt,
    &rec_itemcf_vt,
    &rec_svd_vt,
    &rec_svdpp_vt,
    &rec_als_vt,
    &rec_dnn_vt,
    &rec_twotower_vt,
    &rec_sasrec_vt,
    &rec_lightgcn_vt,
    &rec_ngcf_vt,
    &rec_gcn_vt,
    &rec_graphsage_vt,
    &rec_gat_vt,
    &rec_pinsage_vt,
};

const rec_model_vt *rec_model_vt_at(size_t i)
{
    return i < sizeof kinds / sizeof *kinds ? kinds[i] : NULL;
}

const rec_model_vt *rec_model_vt_find(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kinds[i]->kind, kind) == 0)
            return kinds[i];
    return NULL;
}
