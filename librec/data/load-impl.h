/* Shared state of the loaders (load.c, load_movielens.c, load_goodbooks.c). */
#ifndef LIBREC_DATA_LOAD_IMPL_H
#define LIBREC_DATA_LOAD_IMPL_H

#include "data/data-impl.h"

enum { UNKNOWN_ADD, UNKNOWN_SKIP, UNKNOWN_ERROR };
enum { MAXCOLS = 256 };

typedef struct rec_loader {
    const char *fn;
    rec_dataset *d;
    const rec_params *opts;
    int unknown;       /* for interaction rows (load_like)                   */
    int catalog_all;   /* side files may add items/users never rated         */
    int features;      /* read sibling side-feature files                    */
    int user_columns;  /* the columns given to rec_load_delimited are the
                          caller's "columns" option (not a layout's)        */
    const char *context; /* the "context" option: column names ("" none)    */
    rec_tok tok[MAXCOLS];
} rec_loader;

/* Interactions from delimited text: delim as for rec_text_record; columns is
 * the "columns" option ("" for the default or header names); header: -1
 * auto, 0 no, 1 yes; synth_time: timestamps 0,1,2... in file order. */
rec_status rec_load_delimited(rec_loader *L, rec_text *t, const char *delim, int quote,
                              const char *columns, int header, int synth_time);

/* Entity index for a side-file id: intern when catalog_all, else -1 when
 * unknown.  Returns a status (NOMEM). */
rec_status rec_load_entity(rec_loader *L, rec_side side, const char *s, size_t len,
                           int32_t *e);
/* Declares a field (errors reported with L->fn). */
rec_status rec_load_field(rec_loader *L, rec_side side, const char *name,
                          rec_feature_type type, rec_field **f);
/* Wraps a failed put: NOMEM message. */
rec_status rec_load_put(rec_loader *L, rec_status st);

/* Directory part of path (with trailing '/') into buf; returns buf. */
const char *rec_path_dir(const char *path, char *buf, size_t n);
const char *rec_path_base(const char *path);
int rec_file_exists(const char *path);

/* MovieLens side files next to the ratings file; layout: 0 = 100K, 1 = 1M,
 * 2 = latest.  Goodbooks: books.csv (+ book_tags.csv, tags.csv) in dir. */
rec_status rec_load_movielens_side(rec_loader *L, const char *dir, int layout);
rec_status rec_load_goodbooks_books(rec_loader *L, const char *dir);

#endif
