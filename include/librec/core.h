/*
 * librec core: version, status codes and error messages, allocator hooks,
 * threads and typed parameters.  Everything else in librec builds on these.
 *
 * Conventions (see librec(7)):
 *  - every fallible call returns rec_status (REC_OK == 0, errors < 0) and
 *    writes results through out-pointers;
 *  - on error, rec_last_error() holds a message naming the function and the
 *    argument at fault; it is thread-local and valid until the next failing
 *    librec call on the same thread;
 *  - objects are opaque handles; rec_X_destroy(NULL) is a no-op.
 */
#ifndef LIBREC_CORE_H
#define LIBREC_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(LIBREC_BUILDING)
#define REC_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define REC_API __attribute__((visibility("default")))
#else
#define REC_API
#endif

#define REC_VERSION_MAJOR 0
#define REC_VERSION_MINOR 2
#define REC_VERSION_PATCH 0
#define REC_VERSION_NUMBER \
    (REC_VERSION_MAJOR * 10000 + REC_VERSION_MINOR * 100 + REC_VERSION_PATCH)
#define REC_VERSION_STRING "0.1.0"

/* Run-time twins of the macros: the library actually loaded. */
REC_API unsigned rec_version_number(void);
REC_API const char *rec_version(void);

/* Status codes.  Values are pinned: new codes are appended, never renumbered. */
typedef enum rec_status {
    REC_OK = 0,
    REC_E_INVALID = -1,     /* NULL handle, bad argument, unknown key        */
    REC_E_NOMEM = -2,       /* an allocation failed                          */
    REC_E_IO = -3,          /* open, read, write or rename failed            */
    REC_E_FORMAT = -4,      /* malformed input file or model file            */
    REC_E_RANGE = -5,       /* id, index or value out of range               */
    REC_E_STATE = -6,       /* call not valid in the object's current state  */
    REC_E_UNSUPPORTED = -7, /* the model kind does not support this call     */
    REC_E_NOTFOUND = -8,    /* unknown id, kind or name                      */
    REC_E_CANCELLED = -9    /* a progress callback asked to stop             */
} rec_status;

/* Static name of a code ("invalid argument"); never NULL. Thread-safe. */
REC_API const char *rec_strerror(rec_status status);

/* Message about the last failure on the calling thread ("" if none).
 * The string is owned by librec and valid until the next failing call on
 * this thread. */
REC_API const char *rec_last_error(void);

/* Allocator hooks.  librec copies the struct; pass NULL to restore malloc.
 * free and realloc receive the size of the block, so pool allocators work.
 * Set this before creating any object: blocks must be freed by the
 * allocator that made them.  Not thread-safe with concurrent librec calls. */
typedef struct rec_allocator {
    void *(*alloc)(void *user, size_t size);
    void *(*realloc)(void *user, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *user, void *ptr, size_t size);
    void *user;
} rec_allocator;
REC_API rec_status rec_set_allocator(const rec_allocator *allocator);

/* Threads used by librec's own parallel kernels and by BLAS (one pool: BLAS
 * runs single-threaded inside librec's parallel regions).  n == 0 means the
 * number of online processors.  Results never depend on this number.
 * Call it from one thread while no other librec call runs. */
REC_API rec_status rec_set_num_threads(int n);
REC_API int rec_get_num_threads(void);

/* ---- Parameters --------------------------------------------------------
 * A bag of typed key/value options.  Keys are validated when the bag is
 * used (by rec_model_create and friends): an unknown key, a wrong type or an
 * out-of-range value is an error there, never silently ignored.  Setting an
 * existing key replaces its value.  A rec_params is not thread-safe; it is
 * copied by the calls that use it, so it may be destroyed right after. */
typedef struct rec_params rec_params;

typedef enum rec_param_type {
    REC_PARAM_INT = 1,
    REC_PARAM_FLOAT = 2,
    REC_PARAM_STR = 3,
    REC_PARAM_BOOL = 4
} rec_param_type;

REC_API rec_status rec_params_create(rec_params **out);
REC_API void rec_params_destroy(rec_params *p);
REC_API rec_status rec_params_set_int(rec_params *p, const char *key, int64_t v);
REC_API rec_status rec_params_set_float(rec_params *p, const char *key, double v);
REC_API rec_status rec_params_set_str(rec_params *p, const char *key, const char *v);
REC_API rec_status rec_params_set_bool(rec_params *p, const char *key, int v);
/* "key=value" as on a command line; the value's type is inferred
 * (integer, float, true/false, else string) and checked at use. */
REC_API rec_status rec_params_parse(rec_params *p, const char *key_eq_value);
REC_API rec_status rec_params_count(const rec_params *p, size_t *n);
/* The i-th key (in insertion order) and its type; *key is owned by p. */
REC_API rec_status rec_params_key(const rec_params *p, size_t i, const char **key,
                                  rec_param_type *type);
REC_API rec_status rec_params_get_int(const rec_params *p, const char *key, int64_t *v);
REC_API rec_status rec_params_get_float(const rec_params *p, const char *key, double *v);
REC_API rec_status rec_params_get_str(const rec_params *p, const char *key, const char **v);
REC_API rec_status rec_params_get_bool(const rec_params *p, const char *key, int *v);
/* Alias i of the parameter vocabulary: an old name (*alias, "n_factors")
 * accepted wherever a component's own key is *key ("dim").  Each idea has
 * one name in every kind (dim, epochs, lr, reg, batch, negatives, seed);
 * the aliases keep scripts and model files that use the old ones working.
 * REC_E_RANGE past the last.  Static strings; thread-safe. */
REC_API rec_status rec_params_alias_at(size_t i, const char **alias, const char **key);

/* ---- Progress ------------------------------------------------------------
 * Called during fit after each epoch (and after each step of one-pass
 * models): epoch counts from 1 to epochs within the step that
 * rec_model_fit_step (librec/model.h) names; loss is the epoch's training
 * loss (NAN if the method has none).  Return nonzero to stop: fit then
 * returns REC_E_CANCELLED and the model keeps the state it reached (one-pass
 * models stop only after their last step, the first complete state).
 * Declared here, below every layer, because the trainer (librec/train) calls
 * it too. */
typedef int (*rec_progress_fn)(void *user, int epoch, int epochs, double loss);

#ifdef __cplusplus
}
#endif
#endif
