/* Learning path 14: a recommendation as a service makes it, in three stages.
 *
 *   retrieval   a cheap model over the whole catalogue (ALS) keeps N
 *               candidates per user: what it misses is lost for good, so it
 *               is judged by recall@N;
 *   ranking     a model with features (a DNN over ids, genres, ...) scores
 *               only those N (rec_model_score_items, one call per user):
 *               judged by ndcg@10 of its order.  Two rankers side by side:
 *               one trained as usual against uniformly drawn negatives,
 *               one trained on the retrieval model's own lists
 *               (rec_model_set_candidates: a quarter of its negatives from
 *               each user's N candidates, RankNet over each positive and
 *               its negatives);
 *   re-ranking  business rules make the final 10 (librec/rerank.h): here at
 *               most 2 items of one main genre, then MMR over genres, which
 *               trade a little ndcg for variety, judged by catalogue
 *               coverage and intra-list diversity (ILD: the mean, over pairs
 *               of a list, of the Jaccard distance of their genre sets).
 *
 * Each stage is measured on a per-user 20% holdout of the data, against the
 * lists of the stage before.
 *
 * usage: 14_pipeline [ratings-file [N]]   (no argument: a generated dataset;
 *                                          N candidates, default 100) */
#include <librec/librec.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                      \
    do {                                                                                 \
        rec_status st_ = (call);                                                         \
        if (st_ != REC_OK) {                                                             \
            fprintf(stderr, "14_pipeline: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "14_pipeline: out of memory\n");
        exit(1);
    }
    return p;
}

/* Per-stage sums over the test users. */
typedef struct stage_stats {
    double recall, ndcg, ild;
    long users, ild_lists;
    unsigned char *shown; /* [nitems]: item appeared in some list */
} stage_stats;

static int in_set(const int32_t *set, int n, int32_t x)
{
    for (int j = 0; j < n; j++)
        if (set[j] == x)
            return 1;
    return 0;
}

/* ndcg@10 with binary relevance: the held-out items are the relevant ones. */
static double ndcg10(const int32_t *list, size_t n, const int32_t *test, int ntest)
{
    double dcg = 0, idcg = 0;
    for (size_t j = 0; j < n && j < 10; j++)
        dcg += in_set(test, ntest, list[j]) / log2((double)j + 2);
    for (int j = 0; j < ntest && j < 10; j++)
        idcg += 1 / log2((double)j + 2);
    return idcg > 0 ? dcg / idcg : 0;
}

/* The genre codes of item i (multi-hot field k), none if k < 0. */
static int genres_of(const rec_dataset *d, int k, int32_t i, const int32_t **codes)
{
    int32_t n = 0;
    *codes = NULL;
    if (k >= 0)
        CHECK(rec_dataset_feature_codes(d, REC_SIDE_ITEM, k, i, codes, &n));
    return (int)n;
}

/* Mean Jaccard distance of the genre sets over the pairs of list[0..n). */
static double ild(const rec_dataset *d, int k, const int32_t *list, size_t n)
{
    double sum = 0;
    long pairs = 0;
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++) {
            const int32_t *ga, *gb;
            int na = genres_of(d, k, list[a], &ga), nb = genres_of(d, k, list[b], &gb);
            int both = 0;
            for (int x = 0; x < na; x++)
                both += in_set(gb, nb, ga[x]);
            int any = na + nb - both;
            sum += any ? 1.0 - (double)both / any : 0.0;
            pairs++;
        }
    return pairs ? sum / (double)pairs : 0;
}

static void account(stage_stats *s, const rec_dataset *d, int genres, const int32_t *list,
                    size_t n, size_t nrecall, const int32_t *test, int ntest)
{
    int hit = 0;
    for (size_t j = 0; j < n && j < nrecall; j++)
        hit += in_set(test, ntest, list[j]);
    s->recall += ntest ? (double)hit / ntest : 0;
    s->ndcg += ndcg10(list, n, test, ntest);
    for (size_t j = 0; j < n && j < 10; j++)
        s->shown[list[j]] = 1;
    if (genres >= 0 && n > 1) {
        s->ild += ild(d, genres, list, n < 10 ? n : 10);
        s->ild_lists++;
    }
    s->users++;
}

static void report(const char *name, const stage_stats *s, int32_t nitems, int show_recall)
{
    long covered = 0;
    for (int32_t i = 0; i < nitems; i++)
        covered += s->shown[i];
    char recall[32] = "";
    if (show_recall)
        snprintf(recall, sizeof recall, "%.4f", s->recall / (double)s->users);
    printf("%-38s %10s %8.4f %11.4f %7.4f\n", name, recall, s->ndcg / (double)s->users,
           (double)covered / nitems, s->ild_lists ? s->ild / (double)s->ild_lists : NAN);
}

/* Orders cand[0..n) by score, best first (insertion sort: n is ~100). */
static void sort_by_score(int32_t *cand, float *score, size_t n)
{
    for (size_t j = 1; j < n; j++) {
        int32_t c = cand[j];
        float s = score[j];
        size_t t = j;
        for (; t > 0 && score[t - 1] < s; t--) {
            cand[t] = cand[t - 1];
            score[t] = score[t - 1];
        }
        cand[t] = c;
        score[t] = s;
    }
}

int main(int argc, char **argv)
{
    rec_dataset *d, *train, *test;
    if (argc > 1)
        CHECK(rec_dataset_load(&d, argv[1], NULL, NULL));
    else
        CHECK(rec_dataset_generate(&d, NULL));
    size_t ncand = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 100;
    if (ncand < 10 || ncand > 100000) {
        fprintf(stderr, "14_pipeline: N must be from 10 to 100000\n");
        return 2;
    }
    int32_t nu, ni;
    CHECK(rec_dataset_num_users(d, &nu));
    CHECK(rec_dataset_num_items(d, &ni));
    if ((size_t)ni < ncand)
        ncand = (size_t)ni;
    int genres = -1;
    rec_feature_type gt;
    const char *gname;
    if (rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &genres) != REC_OK ||
        rec_dataset_field_info(d, REC_SIDE_ITEM, genres, &gname, &gt) != REC_OK ||
        gt != REC_FEATURE_MULTIHOT)
        genres = -1;
    printf("%s: %d users, %d items; %zu candidates per user%s\n", argc > 1 ? argv[1]
           : "generated", (int)nu, (int)ni, ncand,
           genres < 0 ? " (no genres field: no diversity rules)" : "");
    CHECK(rec_dataset_split(d, "user:0.2", 0, 1, &train, &test));

    /* Each user's held-out items, as item indices (the split shares the maps). */
    int64_t nt;
    CHECK(rec_dataset_num_interactions(test, &nt));
    int *count = xcalloc((size_t)nu + 1, sizeof *count);
    int32_t *titems = xcalloc((size_t)nt, sizeof *titems);
    for (int64_t r = 0; r < nt; r++) {
        int32_t u;
        CHECK(rec_dataset_row(test, r, &u, NULL, NULL, NULL));
        count[u + 1]++;
    }
    for (int32_t u = 0; u < nu; u++)
        count[u + 1] += count[u];
    int *fill = xcalloc((size_t)nu, sizeof *fill);
    for (int64_t r = 0; r < nt; r++) {
        int32_t u, i;
        CHECK(rec_dataset_row(test, r, &u, &i, NULL, NULL));
        titems[count[u] + fill[u]++] = i;
    }

    /* The models: retrieval by ALS, ranking by a DNN over the features
     * (defaults: every categorical and multi-hot field, z-scored numbers),
     * once with uniform negatives and once on ALS's candidates.  The second
     * sees the lists serving will give it: ALS fitted on the same rows,
     * each user's training items excluded, so the training positives are
     * never among them. */
    rec_model *als, *dnn, *cdnn;
    rec_params *cp;
    CHECK(rec_model_create(&als, "als", NULL));
    CHECK(rec_model_create(&dnn, "dnn", NULL));
    CHECK(rec_params_create(&cp));
    CHECK(rec_params_set_str(cp, "negatives_from", "candidates"));
    CHECK(rec_params_set_float(cp, "candidate_share", 0.25));
    CHECK(rec_params_set_str(cp, "loss", "ranknet"));
    CHECK(rec_model_create(&cdnn, "dnn", cp));
    rec_params_destroy(cp);
    printf("fitting als (retrieval) and two dnn rankers on 80%% of each user's rows...\n");
    CHECK(rec_model_fit(als, train, NULL, NULL));
    CHECK(rec_model_fit(dnn, train, NULL, NULL));
    CHECK(rec_model_set_candidates(cdnn, als, ncand));
    CHECK(rec_model_fit(cdnn, train, NULL, NULL));

    /* The rules: at most 2 per main genre, then MMR over main genres. */
    rec_rerank *rules;
    CHECK(rec_rerank_create(&rules));
    if (genres >= 0) {
        int32_t *main_genre = xcalloc((size_t)ni, sizeof *main_genre);
        for (int32_t i = 0; i < ni; i++) {
            const int32_t *g;
            main_genre[i] = genres_of(d, genres, i, &g) ? g[0] : -1;
        }
        rec_params *p;
        rec_rerank_stage *cap, *mmr;
        CHECK(rec_params_create(&p));
        CHECK(rec_params_set_int(p, "max", 2));
        CHECK(rec_rerank_stage_create(&cap, "cap", p));
        rec_params_destroy(p);
        CHECK(rec_rerank_stage_set_groups(cap, main_genre, (size_t)ni));
        CHECK(rec_rerank_add(rules, cap));
        CHECK(rec_params_create(&p));
        CHECK(rec_params_set_float(p, "lambda", 0.7));
        CHECK(rec_rerank_stage_create(&mmr, "mmr", p));
        rec_params_destroy(p);
        CHECK(rec_rerank_stage_set_groups(mmr, main_genre, (size_t)ni));
        CHECK(rec_rerank_add(rules, mmr));
        free(main_genre);
    }

    /* Retrieval for every test user in one call: row q of cands holds
     * user users[q]'s N candidates (model indices, -1 padded), seen items
     * excluded. */
    int32_t *users = xcalloc((size_t)nu, sizeof *users), nq = 0;
    for (int32_t u = 0; u < nu; u++) {
        const char *uid;
        CHECK(rec_dataset_user_id(d, u, &uid));
        if (count[u + 1] > count[u])
            CHECK(rec_model_user_index(als, uid, &users[nq++]));
    }
    int32_t *cands = xcalloc((size_t)nq * ncand, sizeof *cands);
    CHECK(rec_model_recommend_batch(als, users, (size_t)nq, ncand, 0, NULL, cands, NULL));

    float *score = xcalloc(ncand, sizeof *score);
    int32_t *cand = xcalloc(ncand, sizeof *cand), *mine = xcalloc(ncand, sizeof *mine);
    int32_t *final = xcalloc(10, sizeof *final);
    enum { RETRIEVAL, UNIFORM, CANDIDATES, RULES, NSTAGES };
    stage_stats st[NSTAGES];
    memset(st, 0, sizeof st);
    for (int s = 0; s < NSTAGES; s++)
        st[s].shown = xcalloc((size_t)ni, 1);
    for (int32_t q = 0; q < nq; q++) {
        const char *uid, *iid;
        int32_t u, ru, rc;
        size_t n = 0;
        /* the models' indices to the dataset's, through the ids */
        CHECK(rec_model_user_id(als, users[q], &uid));
        CHECK(rec_dataset_user_index(d, uid, &u));
        const int32_t *tu = titems + count[u];
        int ntest = count[u + 1] - count[u];
        for (; n < ncand && cands[(size_t)q * ncand + n] >= 0; n++) {
            CHECK(rec_model_item_id(als, cands[(size_t)q * ncand + n], &iid));
            CHECK(rec_dataset_item_index(d, iid, &cand[n]));
        }
        account(&st[RETRIEVAL], d, genres, cand, n, ncand, tu, ntest);
        /* ranking: each ranker scores the whole list in one call */
        CHECK(rec_model_user_index(dnn, uid, &ru));
        CHECK(rec_model_user_index(cdnn, uid, &rc));
        for (int r = 0; r < 2; r++) {
            const rec_model *rk = r ? cdnn : dnn;
            for (size_t j = 0; j < n; j++) {
                CHECK(rec_dataset_item_id(d, cand[j], &iid));
                CHECK(rec_model_item_index(rk, iid, &mine[j]));
            }
            CHECK(rec_model_score_items(rk, r ? rc : ru, mine, n, score));
            memcpy(mine, cand, n * sizeof *mine);
            sort_by_score(mine, score, n);
            account(&st[r ? CANDIDATES : UNIFORM], d, genres, mine, n, ncand, tu, ntest);
        }
        /* re-ranking: the rules make the final 10 of the candidate-trained
         * ranker's order (mine and score hold it) */
        size_t nf;
        CHECK(rec_rerank_apply(rules, mine, score, n, NULL, 0, 0, 10, final, NULL, &nf));
        account(&st[RULES], d, genres, final, nf, ncand, tu, ntest);
    }
    printf("\n%-38s %10s %8s %11s %7s\n", "stage", "recall@N", "ndcg@10", "coverage@10",
           "ILD@10");
    report("retrieval: als, top N", &st[RETRIEVAL], ni, 1);
    report("ranking: dnn, uniform negatives", &st[UNIFORM], ni, 0);
    report("ranking: dnn, trained on candidates", &st[CANDIDATES], ni, 0);
    report(genres >= 0 ? "re-ranking: cap 2/genre, mmr 0.7" : "re-ranking: none", &st[RULES],
           ni, 0);
    printf("(%ld test users; recall@N of the candidates, the others on the top 10 of each "
           "list; re-ranking after the candidate-trained ranker)\n", st[RETRIEVAL].users);

    for (int s = 0; s < NSTAGES; s++)
        free(st[s].shown);
    free(users);
    free(cands);
    free(score);
    free(cand);
    free(mine);
    free(final);
    free(count);
    free(fill);
    free(titems);
    rec_rerank_destroy(rules);
    rec_model_destroy(als);
    rec_model_destroy(dnn);
    rec_model_destroy(cdnn);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
    return 0;
}
