/* The one vocabulary of parameter names.  Kinds came from different
 * libraries (Surprise's n_factors/reg_all, implicit's factors/iterations/
 * regularization, PyTorch's weight_decay), so the same idea had several
 * names.  Every spec now uses the canonical name; the old names stay
 * accepted as aliases here, in one table, so scripts and model files that
 * use them keep working and a new kind gets the aliases by using the
 * canonical key (tests/check_kinds.c refuses a spec that uses an alias). */
#include "core-impl.h"

#include <string.h>

static const struct {
    const char *alias, *key;
} vocab[] = {
    { "factors", "dim" },           { "n_factors", "dim" },
    { "num_factors", "dim" },       { "embedding_size", "dim" },
    { "iterations", "epochs" },     { "n_epochs", "epochs" },
    { "num_epochs", "epochs" },     { "n_iter", "epochs" },
    { "lr_all", "lr" },             { "learning_rate", "lr" },
    { "regularization", "reg" },    { "reg_all", "reg" },
    { "l2", "reg" },                { "weight_decay", "reg" },
    { "batch_size", "batch" },      { "n_negatives", "negatives" },
    { "num_negatives", "negatives" }, { "random_state", "seed" },
    { "init_std_dev", "init_std" },
};
#define NVOCAB (sizeof vocab / sizeof *vocab)

const char *rec_param_alias_of(const char *alias)
{
    for (size_t i = 0; i < NVOCAB; i++)
        if (strcmp(vocab[i].alias, alias) == 0)
            return vocab[i].key;
    return NULL;
}

REC_API rec_status rec_params_alias_at(size_t i, const char **alias, const char **key)
{
    if (i >= NVOCAB)
        return rec_err(REC_E_RANGE, "rec_params_alias_at: index %zu >= count %zu", i,
                       (size_t)NVOCAB);
    if (alias)
        *alias = vocab[i].alias;
    if (key)
        *key = vocab[i].key;
    return REC_OK;
}

/* Optimal string alignment distance (Levenshtein plus adjacent swaps, so
 * "epcohs" is one edit from "epochs"); keys are short, two rows suffice. */
static size_t distance(const char *a, const char *b)
{
    enum { MAXK = 64 };
    size_t na = strlen(a), nb = strlen(b);
    if (na >= MAXK || nb >= MAXK)
        return (size_t)-1;
    size_t pp[MAXK], p[MAXK], c[MAXK];
    for (size_t j = 0; j <= nb; j++)
        p[j] = j;
    for (size_t i = 1; i <= na; i++) {
        c[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t sub = p[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = p[j] + 1, ins = c[j - 1] + 1;
            size_t best = sub < del ? sub : del;
            best = best < ins ? best : ins;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;
            c[j] = best;
        }
        memcpy(pp, p, (nb + 1) * sizeof *p);
        memcpy(p, c, (nb + 1) * sizeof *c);
    }
    return p[nb];
}

/* A suggestion is worth making when at most a third of the key is wrong
 * (and at least one edit is forgiven): "epoch" -> "epochs", not "k" -> "lr". */
static int close_enough(const char *key, size_t d)
{
    size_t n = strlen(key), allow = n / 3 ? n / 3 : 1;
    return d <= allow;
}

const char *rec_param_suggest(const char *key, const rec_param_spec *spec, size_t nspec)
{
    const char *best = NULL;
    size_t bd = (size_t)-1;
    for (size_t i = 0; i < nspec; i++) {
        size_t d = distance(key, spec[i].key);
        if (d < bd) {
            bd = d;
            best = spec[i].key;
        }
    }
    /* A misspelt alias ("n_factor") suggests the canonical key it stands for. */
    for (size_t i = 0; i < NVOCAB; i++) {
        int known = 0;
        for (size_t j = 0; j < nspec && !known; j++)
            known = strcmp(spec[j].key, vocab[i].key) == 0;
        size_t d = known ? distance(key, vocab[i].alias) : (size_t)-1;
        if (d < bd) {
            bd = d;
            best = vocab[i].key;
        }
    }
    return best && close_enough(key, bd) ? best : NULL;
}
