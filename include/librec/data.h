/*
 * librec data: datasets of interactions (user, item, optional rating,
 * optional timestamp) with external ids, loaders for common file layouts,
 * seeded splits, a synthetic generator, and user/item side features.
 *
 * External ids are strings of any form ("42", "u_17", "0451524934"); they
 * are mapped to dense indices 0..n-1 in order of first appearance and back.
 * A split shares its parent's id maps and features, so train, test and the
 * parent agree on every user and item index.
 *
 * Thread safety: a dataset may be read by any number of threads at once
 * (counts, ids, features, rec_dataset_split) once it is complete; calls that
 * modify it (rec_dataset_add, rec_dataset_set_feature, ...) need exclusive
 * access.  Where a call builds a cached index on first use, its comment says so.
 */
#ifndef LIBREC_DATA_H
#define LIBREC_DATA_H

#include "librec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rec_dataset rec_dataset;

/* Timestamp value meaning "no timestamp" for rec_dataset_add. */
#define REC_NO_TIME INT64_MIN

/* Which entity a side feature describes. */
typedef enum rec_side {
    REC_SIDE_USER = 0,
    REC_SIDE_ITEM = 1
} rec_side;

/* Kinds of side feature.  Values are pinned. */
typedef enum rec_feature_type {
    REC_FEATURE_CATEGORICAL = 1, /* one value from a vocabulary ("F", "eng")      */
    REC_FEATURE_NUMERIC = 2,     /* a number, optionally normalised               */
    REC_FEATURE_MULTIHOT = 3,    /* a set of values from a vocabulary (genres)    */
    REC_FEATURE_TEXT = 4,        /* free text (title, description)                */
    REC_FEATURE_DENSE = 5        /* a fixed-length float vector (a precomputed text,
                                    image or graph embedding; since 0.2)          */
} rec_feature_type;

/* ---- life cycle and rows ------------------------------------------------ */

/* An empty dataset.  *out is set to NULL on failure.
 * Returns REC_OK, REC_E_INVALID (out NULL) or REC_E_NOMEM. Thread-safe. */
REC_API rec_status rec_dataset_create(rec_dataset **out);

/* Releases d (a no-op for NULL).  Splits keep shared id maps and features
 * alive on their own, so parent and splits may be destroyed in any order. */
REC_API void rec_dataset_destroy(rec_dataset *d);

/* Appends one interaction.  user and item are external ids (non-empty
 * strings); a new id gets the next dense index.  rating is NAN for none and
 * timestamp REC_NO_TIME for none; the first row decides whether the dataset
 * has ratings and timestamps, and every later row must agree (REC_E_INVALID
 * otherwise).  On a split, adding a new id first gives this dataset its own
 * copy of the id map (known ids keep their indices).
 * Returns REC_OK, REC_E_INVALID, REC_E_RANGE (more than 2^31-1 ids or rows),
 * REC_E_NOMEM (d unchanged).  Not thread-safe on d. */
REC_API rec_status rec_dataset_add(rec_dataset *d, const char *user, const char *item,
                                   double rating, int64_t timestamp);

/* A dataset from whole columns: row r is (users[r], items[r], ratings[r],
 * timestamps[r]); ratings and timestamps may be NULL (no ratings, no
 * timestamps).  rec_dataset_from_arrays takes integer ids, which become the
 * external ids "42", "-7" (decimal); rec_dataset_from_strings takes string
 * ids.  Ids get dense indices in order of first appearance, as rec_dataset_add
 * would give them; the arrays are copied.
 * Returns REC_OK; REC_E_INVALID naming the first bad row (a NULL or empty
 * string id, a rating that is not finite, a timestamp equal to REC_NO_TIME)
 * or a NULL array with n > 0; REC_E_RANGE (n > 2^31-2); REC_E_NOMEM.  On
 * failure *out is NULL and nothing is allocated.  Available since 0.2.
 * Thread-safe (distinct outputs). */
REC_API rec_status rec_dataset_from_arrays(rec_dataset **out, const int64_t *users,
                                           const int64_t *items, const float *ratings,
                                           const int64_t *timestamps, size_t n);
REC_API rec_status rec_dataset_from_strings(rec_dataset **out, const char *const *users,
                                            const char *const *items, const float *ratings,
                                            const int64_t *timestamps, size_t n);

/* ---- loading and generating -------------------------------------------
 * rec_dataset_load reads path in format "auto", "csv", "tsv", "pairs",
 * "movielens", "goodbooks" or "lightgcn" (NULL means "auto"):
 *   csv, tsv   delimited text; CSV quoting ("a ""b"", c") is honoured.
 *              Columns default to user,item[,rating[,timestamp]]; a header row
 *              is detected and skipped, and when it names the columns
 *              (userId, movieId, rating, timestamp...) it maps them.
 *   pairs      one "user item" pair per line in time order (SASRec's files);
 *              timestamps 0, 1, 2... are synthesised in file order.
 *   lightgcn   one line per user: "user item item ..." (LightGCN's
 *              train.txt/test.txt); no ratings, no timestamps.
 *   movielens  u.data (tab), ratings.dat ("::") or ratings.csv (header); the
 *              sibling u.item/u.genre/u.user, movies.dat/users.dat or
 *              movies.csv/tags.csv become side features when present.
 *   goodbooks  ratings.csv (user_id,book_id,rating) with books.csv,
 *              book_tags.csv and tags.csv as item features; given books.csv
 *              itself, a dataset of the 10,000 books with no interactions.
 *   auto       detects all of the above from the file name and first lines.
 * Options (opts may be NULL):
 *   columns    string, e.g. "item,user,rating": names for the delimited
 *              columns in order; "user", "item", "rating", "timestamp", or
 *              "-" to ignore a column.
 *   delimiter  string: "," "\t" "::" ";" "|" or "space" (runs of blanks).
 *   header     "auto" (default), "yes" or "no".
 *   features   bool, default true: read sibling side-feature files.
 *   catalog    "rated" (default: items are those with interactions) or
 *              "all" (items listed in the item file but never rated are
 *              appended after the rated ones).
 *   context    string, e.g. "device,country": columns of a delimited file
 *              (csv, tsv, movielens ratings.csv) read as per-interaction
 *              context fields (rec_dataset_add_context), each found by its
 *              name in the header or in the columns option; an empty value
 *              is missing.  A name found in neither is REC_E_INVALID.
 * Files that are not valid UTF-8 (MovieLens u.item, movies.dat) are read as
 * Latin-1 and converted.  Every malformed line gives REC_E_FORMAT with a
 * message naming the file, line and column; a missing file REC_E_IO; an
 * unknown option REC_E_INVALID.  On any error *out is NULL and nothing is
 * allocated.  Thread-safe (distinct outputs). */
REC_API rec_status rec_dataset_load(rec_dataset **out, const char *path, const char *format,
                                    const rec_params *opts);

/* Like rec_dataset_load, but user and item ids are mapped through the id
 * maps of ids_from (shared, same indices), e.g. LightGCN's test.txt after its
 * train.txt.  Option "unknown" says what to do with an id ids_from lacks:
 * "add" (default; *out gets its own extended copy of the map), "skip" (drop
 * the row) or "error" (REC_E_NOTFOUND naming file, line and column). */
REC_API rec_status rec_dataset_load_like(rec_dataset **out, const char *path,
                                         const char *format, const rec_params *opts,
                                         const rec_dataset *ids_from);

/* One line describing d for a person to check after a load: users, items,
 * interactions, the rating range (or "no ratings"), the timestamp range
 * (with UTC dates when they look like Unix time; "file order" when
 * synthesised; or "no timestamps"), and for a loaded dataset the format
 * ("detected" or "named") and whether a header line was skipped, e.g.
 *   "610 users, 9724 items, 100836 interactions, ratings 0.5 to 5,
 *    timestamps 828124615 to 1537799250 (1996-03-29 to 2018-09-24),
 *    format movielens (detected), header skipped"
 * (one line).  Writes at most size bytes including the NUL; 256 bytes hold
 * any line.  Returns REC_OK, REC_E_INVALID (d or buf NULL, size 0) or
 * REC_E_RANGE (cut short to size - 1 bytes).  Reads every row once.
 * Available since 0.2.  Thread-safe. */
REC_API rec_status rec_dataset_summary(const rec_dataset *d, char *buf, size_t size);

/* The load's warnings: data read in a way the file did not state (columns
 * taken by position under a header that names no user or item column), one
 * per line, each ending in a newline; "" when none (and for a dataset that
 * was not loaded).  *text is owned by d.  Available since 0.2.  Thread-safe. */
REC_API rec_status rec_dataset_warnings(const rec_dataset *d, const char **text);

/* ---- statistics (the "data detective") ------------------------------------
 * Everything worth knowing about d before modelling it, computed once by
 * rec_dataset_stats_compute and read by key.  Option (opts may be NULL):
 *   cold   int, default 5: users and items with fewer interactions are cold.
 * Values (NAN when undefined: no ratings, no timestamps, no items):
 *   users, items, interactions (rows), pairs (distinct user-item pairs),
 *   density (pairs / (users * items)), active_users, active_items (with at
 *   least one row); top1_share, top10_share, top20_share (share of the rows
 *   held by the ceil(1%, 10%, 20% of items) most popular items, at least
 *   one), gini (Gini coefficient of the item counts, 0 = all equally
 *   popular); user_min, user_p25, user_median, user_p75, user_p90, user_p99,
 *   user_max, user_mean and the same for item_ (rows per user or item, over
 *   every id in the maps, quantiles interpolated linearly between order
 *   statistics as NumPy does); rating_min, rating_max, rating_mean,
 *   rating_values (distinct values); time_first, time_last (NAN when the
 *   timestamps are file order), time_span_days, months (calendar months
 *   with a row; both only for Unix times); cold_threshold, cold_users,
 *   cold_items; duplicate_pairs (pairs with more than one row),
 *   duplicate_rows (rows past each pair's first).
 * Series (x, y arrays of equal length n; n is 0 when undefined):
 *   long_tail       x share of the catalogue (most popular first), y share
 *                   of the rows those items hold; at most 101 points from
 *                   (0, 0) to (1, 1).
 *   user_activity,  x the bin's lower bound 1, 2, 4, 8, ... (bins [x, 2x)),
 *   item_activity   y how many users (items) have that many rows.
 *   ratings         x each rating value, y its rows; with more than 64
 *                   distinct values, 20 equal bins (x the left edge).
 *   months          x year + (month - 1) / 12 of each calendar month from
 *                   the first row's to the last's (UTC), y its rows.
 * Warnings: signs of a misread file, one per line, each ending in '\n':
 * ratings that look like Unix times, a first id that is the only one not a
 * number (a header read as data), every item (or user) occurring once.
 * Ownership: every pointer handed out is owned by the stats object.
 * Available since 0.2.  Thread-safe (a stats object is read-only). */
typedef struct rec_dataset_stats rec_dataset_stats;

/* Returns REC_OK, REC_E_INVALID (out or d NULL, bad option), REC_E_RANGE
 * (cold out of [1, 1e9]) or REC_E_NOMEM; *out is NULL on failure.  Reads
 * every row; sorts a copy of the rows' pairs and of the ratings. */
REC_API rec_status rec_dataset_stats_compute(rec_dataset_stats **out, const rec_dataset *d,
                                             const rec_params *opts);
/* Releases s (a no-op for NULL). */
REC_API void rec_dataset_stats_destroy(rec_dataset_stats *s);
/* Value i in the order above (key and value may be NULL); REC_E_RANGE past
 * the last, so a loop over i lists them all. */
REC_API rec_status rec_dataset_stats_value_at(const rec_dataset_stats *s, size_t i,
                                              const char **key, double *value);
/* The value named key; REC_E_NOTFOUND with a message for an unknown key. */
REC_API rec_status rec_dataset_stats_get(const rec_dataset_stats *s, const char *key,
                                         double *value);
/* Series i in the order above (any out-pointer may be NULL); REC_E_RANGE
 * past the last. */
REC_API rec_status rec_dataset_stats_series_at(const rec_dataset_stats *s, size_t i,
                                               const char **key, const double **x,
                                               const double **y, size_t *n);
/* The warnings ("" when none). */
REC_API rec_status rec_dataset_stats_warnings(const rec_dataset_stats *s, const char **text);

/* A synthetic dataset with learnable structure: users with latent tastes
 * over genres, items with genres, generated titles and descriptions, a
 * popularity skew, and sessions in which one item tends to follow another.
 * Options (all optional):
 *   users (500), items (800), genres (12), interactions-per-user (40, mean),
 *   popularity (1.0, Zipf exponent of item popularity), taste (0.85, share of
 *   a user's actions in the two favourite genres), sequential (0.6, chance
 *   that the next action in a session follows the item's successor),
 *   session-length (6, mean), ratings (true), seed (42), interests (2,
 *   favourite genres per user), context (0; 0..1, the chance that a session's
 *   genre is one favoured at the UTC day part it starts in, shifted at
 *   weekends: man rec_dataset; 0 gives the data of before the option).
 * Item features: "genres" (multi-hot), "title" and "description" (text),
 * "year" and "length" (numeric).  User features: "region" (categorical),
 * "age" (numeric).  The same options give the same dataset on every
 * machine.  Thread-safe (distinct outputs). */
REC_API rec_status rec_dataset_generate(rec_dataset **out, const rec_params *opts);

/* ---- counts ---------------------------------------------------------------
 * Users and items are counted over the id maps, so a split reports its
 * parent's counts.  Thread-safe. */
REC_API rec_status rec_dataset_num_users(const rec_dataset *d, int32_t *n);
REC_API rec_status rec_dataset_num_items(const rec_dataset *d, int32_t *n);
REC_API rec_status rec_dataset_num_interactions(const rec_dataset *d, int64_t *n);
REC_API rec_status rec_dataset_has_ratings(const rec_dataset *d, int *yes);
REC_API rec_status rec_dataset_has_timestamps(const rec_dataset *d, int *yes);

/* Row r as indices (any out-pointer may be NULL); rating is NAN and
 * timestamp REC_NO_TIME when the dataset has none.  REC_E_RANGE for a bad r. */
REC_API rec_status rec_dataset_row(const rec_dataset *d, int64_t r, int32_t *user,
                                   int32_t *item, double *rating, int64_t *timestamp);

/* ---- id maps -------------------------------------------------------------
 * index -> external id: *id is owned by the dataset (valid while any dataset
 * sharing the map lives).  external id -> index: REC_E_NOTFOUND with a
 * message for an unknown id.  REC_E_RANGE for a bad index.  Thread-safe. */
REC_API rec_status rec_dataset_user_id(const rec_dataset *d, int32_t u, const char **id);
REC_API rec_status rec_dataset_item_id(const rec_dataset *d, int32_t i, const char **id);
REC_API rec_status rec_dataset_user_index(const rec_dataset *d, const char *id, int32_t *u);
REC_API rec_status rec_dataset_item_index(const rec_dataset *d, const char *id, int32_t *i);

/* ---- splits ----------------------------------------------------------------
 * Splits d into *train and *test, which share d's id maps and features.
 * how:
 *   "holdout:R"  a random share R in (0,1) of the rows goes to test
 *                (round(R * rows) rows, chosen by seed);
 *   "user:R"     per user, a random ceil((1-R) * n_u) of the user's rows stay
 *                in train and the rest go to test;
 *   "last:N"     per user, the N last rows by timestamp go to test (ties: the
 *                row later in file order counts as later); a user keeps at
 *                least one row in train.  For train/valid/test, split the
 *                train part again with "last:1": (trainval, test), then
 *                (train, valid);
 *   "kfold:K"    rows are shuffled by seed and cut into K folds (the first
 *                rows % K folds hold one more row); fold `fold` (0..K-1) is
 *                test, the rest train.  Folds of one seed partition the rows;
 *   "time:T"     rows with timestamp < T train, the rest test;
 *   "cold-items:R", "cold-users:R"  a random share R of the items (users)
 *                that have rows, rounded and kept in [1, count - 1], goes
 *                to test with all of its rows (cold start; since 0.2).
 * fold is ignored except by kfold; seed is ignored by last and time.  Rows
 * keep their order.  REC_E_INVALID for a malformed how, REC_E_RANGE for a
 * bad ratio/fold, REC_E_STATE for "time" without timestamps ("last" uses
 * file order when the dataset has none).
 * On failure both outputs are NULL.  Thread-safe for distinct outputs. */
REC_API rec_status rec_dataset_split(const rec_dataset *d, const char *how, int fold,
                                     uint64_t seed, rec_dataset **train, rec_dataset **test);

/* Rank `rank`'s part of d for data-parallel training over `size` ranks
 * (rec_comm(3)): every row of the users u with u % size == rank (u the
 * dense user index, first-seen order), in d's row order, so each user's
 * whole history (what negative sampling must avoid) is on one rank.  The
 * shard keeps d's id maps and features, so every rank knows every user and
 * item, and remembers each row's place in d, so that rec_model_fit with a
 * communicator (rec_model_set_comm) visits the global rows in the same
 * batches for any number of ranks (and can gather d back on every rank).
 * 0 <= rank < size; a shard may have no rows.  Thread-safe. */
REC_API rec_status rec_dataset_shard(const rec_dataset *d, int rank, int size,
                                     rec_dataset **out);

/* A stable 64-bit hash of the rows and ids, for model metadata. Thread-safe. */
REC_API rec_status rec_dataset_fingerprint(const rec_dataset *d, uint64_t *hash);

/* ---- side features -------------------------------------------------------
 * Fields are per side (users or items), named, and typed.  Values are set by
 * external id, which must already be in the dataset unless create_ids is
 * nonzero.  The first read after a change builds an index (not thread-safe
 * with other calls on the dataset until done; reads after that are).  A
 * split shares its parent's features; changing features of a dataset that
 * shares them is REC_E_STATE. */

/* Declares field name of the given type; REC_E_INVALID if it exists with
 * another type (redeclaring with the same type is a no-op).  *index may be
 * NULL. */
REC_API rec_status rec_dataset_add_field(rec_dataset *d, rec_side side, const char *name,
                                         rec_feature_type type, int *index);

/* Sets (categorical, numeric) or adds to (multi-hot: one value, or several
 * separated by '|'; text: appended after a space) field name for entity id.
 * A numeric value must parse as a finite number (REC_E_INVALID otherwise). */
REC_API rec_status rec_dataset_set_feature(rec_dataset *d, rec_side side, const char *name,
                                           const char *id, const char *value,
                                           int create_ids);

/* Number of fields on a side; name and type of field k; index of a name
 * (REC_E_NOTFOUND if absent). */
REC_API rec_status rec_dataset_num_fields(const rec_dataset *d, rec_side side, int *n);
REC_API rec_status rec_dataset_field_info(const rec_dataset *d, rec_side side, int k,
                                          const char **name, rec_feature_type *type);
REC_API rec_status rec_dataset_field_index(const rec_dataset *d, rec_side side,
                                           const char *name, int *k);

/* Vocabulary of a categorical or multi-hot field: its size and value j. */
REC_API rec_status rec_dataset_field_vocab(const rec_dataset *d, rec_side side, int k,
                                           int32_t *size);
REC_API rec_status rec_dataset_field_value_name(const rec_dataset *d, rec_side side, int k,
                                                int32_t j, const char **value);

/* Entity e's value of field k.  categorical: *code (-1 if missing);
 * numeric: *value, after the field's normalisation (NAN if missing). */
REC_API rec_status rec_dataset_feature_code(const rec_dataset *d, rec_side side, int k,
                                            int32_t e, int32_t *code);
REC_API rec_status rec_dataset_feature_number(const rec_dataset *d, rec_side side, int k,
                                              int32_t e, double *value);
/* multi-hot: the entity's distinct codes in first-set order; *codes is owned
 * by the dataset (NULL when *n is 0).  text: the entity's text ("" if none). */
REC_API rec_status rec_dataset_feature_codes(const rec_dataset *d, rec_side side, int k,
                                             int32_t e, const int32_t **codes, int32_t *n);
REC_API rec_status rec_dataset_feature_text(const rec_dataset *d, rec_side side, int k,
                                            int32_t e, const char **text);

/* Normalisation of a numeric field, applied when values are read:
 * "none", "minmax" (to [0,1]), "zscore", "log1p" (log(1+x), x >= 0), or
 * "log1p-zscore"; statistics are taken over the entities that have a value.
 * A dense field takes "none", "l2" or "zscore" (see below). */
REC_API rec_status rec_dataset_normalize(rec_dataset *d, rec_side side, const char *name,
                                         const char *method);

/* ---- dense vector fields (since 0.2) ---------------------------------------
 * A REC_FEATURE_DENSE field holds one vector of dim floats per entity (zeros
 * when an entity has none), as RecBole's float_seq.  Its dim is set by the
 * first vector; a vector of another length is REC_E_INVALID.  Normalisation
 * (rec_dataset_normalize): "none", "l2" (each vector to unit length) or
 * "zscore" (each column to mean 0, variance 1 over the entities that have a
 * vector).  The towers of "twotower" and "dnn" take it by name. */

/* Sets entity id's vector of field name (declared with rec_dataset_add_field
 * as REC_FEATURE_DENSE): v[dim] finite floats, copied.  Not thread-safe on d. */
REC_API rec_status rec_dataset_set_vector(rec_dataset *d, rec_side side, const char *name,
                                          const char *id, const float *v, size_t dim,
                                          int create_ids);

/* Loads vectors into dense field name (declared when absent):
 *   path ending in .npy: a NumPy file (format 1.0 or 2.0, little-endian
 *     '<f4' or '<f8', C order, shape (n, dim)); ids_path names a text file
 *     of n lines, line r the id of row r.
 *   otherwise delimited text (ids_path NULL): one entity a line, the id
 *     first and the vector's numbers after it; a header line is skipped
 *     when its second field is no number.  Option "columns" (a header's
 *     names, comma-separated) takes those columns only, in that order.
 * Option "unknown": "error" (default; REC_E_NOTFOUND naming the file and
 * line) or "skip" for an id the dataset lacks; "delimiter" as for
 * rec_dataset_load.  A malformed file is REC_E_FORMAT naming file, line and
 * column (or the .npy header's fault); d is unchanged on any error. */
REC_API rec_status rec_dataset_load_vectors(rec_dataset *d, rec_side side, const char *name,
                                            const char *path, const char *ids_path,
                                            const rec_params *opts);

/* Field k's dim (0 before the first vector) and entity e's vector after
 * normalisation into out[dim] (zeros when e has none); out may be NULL to
 * ask the dim only.  REC_E_INVALID when the field is not dense. */
REC_API rec_status rec_dataset_feature_vector(const rec_dataset *d, rec_side side, int k,
                                              int32_t e, float *out, size_t *dim);

/* ---- per-interaction context (since 0.2) -----------------------------------
 * A context field is a categorical value of one interaction row rather than
 * of its user or item: the device, the country, the page it came from.
 * Rows start missing; splits and shards copy each row's values with it and
 * share the vocabularies.  Two more are derived from the timestamps (Unix
 * seconds, UTC) and never stored: "time:hour" ("0" .. "23") and
 * "time:weekday" ("0" Monday .. "6" Sunday; 1970-01-01 was a Thursday, "3").
 * They need Unix timestamps (REC_E_STATE for a dataset without any, or
 * with the file-order ones of format pairs).  "twotower" (its user tower)
 * and "dnn" (a categorical field of its network) take contexts by name in
 * their user_features. */

/* Declares context field name (a no-op when declared).  REC_E_INVALID for
 * a NULL or empty name or one starting with "time:" (reserved for the
 * derived ones).  *index may be NULL.  Not thread-safe on d. */
REC_API rec_status rec_dataset_add_context(rec_dataset *d, const char *name, int *index);

/* Sets row `row`'s value of declared context name; NULL or "" makes it
 * missing.  REC_E_INVALID for an undeclared or derived name, REC_E_RANGE for
 * a row outside [0, rows).  Not thread-safe on d. */
REC_API rec_status rec_dataset_set_context(rec_dataset *d, int64_t row, const char *name,
                                           const char *value);

/* Number of declared context fields and the name of field k (owned by d;
 * REC_E_RANGE for a bad k).  The derived ones are not counted. */
REC_API rec_status rec_dataset_num_contexts(const rec_dataset *d, int *n);
REC_API rec_status rec_dataset_context_name(const rec_dataset *d, int k, const char **name);

/* Row `row`'s value of context name, declared or derived (*value owned by
 * d, or static; NULL when missing).  REC_E_INVALID for a name that is not a
 * context, REC_E_STATE for a derived one without Unix timestamps,
 * REC_E_RANGE for a bad row.  Thread-safe. */
REC_API rec_status rec_dataset_context_value(const rec_dataset *d, int64_t row,
                                             const char *name, const char **value);

/* Declares a crossed categorical/multi-hot field named "a x b" from
 * fields a and b, each categorical, multi-hot or numeric; a numeric field
 * is cut into `buckets` equal-frequency buckets (2..1000, ignored
 * otherwise).  The crossed values are "va x vb" for every pair of the
 * entity's values.  *index may be NULL. */
REC_API rec_status rec_dataset_cross(rec_dataset *d, rec_side side, const char *a,
                                     const char *b, int buckets, int *index);

#ifdef __cplusplus
}
#endif
#endif
