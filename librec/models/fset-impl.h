/* Call-time feature sets (feature_set.c): the values one entity was given
 * by field name, and how a kind reads them against its own schema (the
 * rec_features of rows-less fields it keeps, features_schema.c). */
#ifndef LIBREC_FSET_IMPL_H
#define LIBREC_FSET_IMPL_H

#include "model-impl.h"

/* One field's value as given (raw: coded and normalised at use). */
typedef struct fset_val {
    int set;
    double num;          /* numeric                                           */
    char *s;             /* categorical: the value; multi-hot: nvals values,
                            each NUL-terminated; text: the text              */
    size_t slen, scap;
    int32_t nvals;
    float *vec;          /* dense: vdim raw floats                            */
    int32_t vdim;
} fset_val;

struct rec_feature_set {
    rec_side side;
    rec_features *schema; /* referenced: the model's or the dataset's fields */
    int nf;               /* fields of schema known at create               */
    fset_val *v;          /* [nf]                                           */
    const char *of;       /* "the model's" / "the dataset's", for messages  */
};

/* The value fs holds for the kind's schema field f (matched by name), or
 * NULL when fs (may be NULL) leaves it unset.  REC_E_INVALID naming fn when
 * fs's field of that name has another type or dim. */
rec_status rec_fset_value(const rec_feature_set *fs, const rec_field *f, const fset_val **v,
                          const char *fn);
/* A categorical value's code in f's vocabulary, -1 when unknown. */
int32_t rec_fset_code(const rec_field *f, const fset_val *v);
/* A multi-hot value's distinct known codes into out (room v->nvals) in the
 * order given; returns their count. */
int32_t rec_fset_codes(const rec_field *f, const fset_val *v, int32_t *out);
/* Side check of a feature set given to fn as argument arg. */
rec_status rec_fset_check(const rec_feature_set *fs, rec_side side, const char *fn,
                          const char *arg);

#endif
