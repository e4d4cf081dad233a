/* The in-process backend of rec_comm: `size` ranks as threads sharing one
 * group.  A collective posts this rank's buffers, waits for every rank
 * (a generation barrier), copies from the others' posted buffers, and waits
 * again so no buffer is released while another rank still reads it. */
#include "core/comm-impl.h"

#include <pthread.h>
#include <string.h>

typedef struct group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int size, arrived, refs;
    unsigned gen;
    const void **src;           /* [size] posted send buffers        */
    const size_t **counts;      /* [size] posted alltoallv counts    */
    size_t *bytes;              /* [size] posted allgatherv sizes    */
} group;

typedef struct member {
    group *g;
    int rank;
} member;

static void wait_all(group *g)
{
    pthread_mutex_lock(&g->mu);
    unsigned gen = g->gen;
    if (++g->arrived == g->size) {
        g->arrived = 0;
        g->gen++;
        pthread_cond_broadcast(&g->cv);
    } else {
        while (gen == g->gen)
            pthread_cond_wait(&g->cv, &g->mu);
    }
    pthread_mutex_unlock(&g->mu);
}

static int t_barrier(void *ctx)
{
    wait_all(((member *)ctx)->g);
    return 0;
}

static int t_allgatherv(void *ctx, const void *send, size_t bytes, void *recv,
                        const size_t *recv_bytes)
{
    member *m = ctx;
    group *g = m->g;
    g->src[m->rank] = send;
    g->bytes[m->rank] = bytes;
    wait_all(g);
    int bad = 0;
    size_t off = 0;
    for (int r = 0; r < g->size; r++) {
        if (g->bytes[r] != recv_bytes[r])
            bad = 1;
        else if (r != m->rank && recv_bytes[r])
            memcpy((char *)recv + off, g->src[r], recv_bytes[r]);
        else if (r == m->rank && (char *)recv + off != (const char *)send && bytes)
            memcpy((char *)recv + off, send, bytes);
        off += recv_bytes[r];
    }
    wait_all(g);
    return bad;
}

static int t_alltoallv(void *ctx, const void *send, const size_t *send_bytes, void *recv,
                       const size_t *recv_bytes)
{
    member *m = ctx;
    group *g = m->g;
    g->src[m->rank] = send;
    g->counts[m->rank] = send_bytes;
    wait_all(g);
    int bad = 0;
    size_t off = 0;
    for (int r = 0; r < g->size; r++) {
        const size_t *sc = g->counts[r];
        size_t from = 0;
        for (int k = 0; k < m->rank; k++)
            from += sc[k];
        if (sc[m->rank] != recv_bytes[r])
            bad = 1;
        else if (recv_bytes[r])
            memcpy((char *)recv + off, (const char *)g->src[r] + from, recv_bytes[r]);
        off += recv_bytes[r];
    }
    wait_all(g);
    return bad;
}

static int t_bcast(void *ctx, void *buf, size_t bytes, int root)
{
    member *m = ctx;
    group *g = m->g;
    if (m->rank == root)
        g->src[root] = buf;
    wait_all(g);
    if (m->rank != root)
        memcpy(buf, g->src[root], bytes);
    wait_all(g);
    return 0;
}

static void group_free(group *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    rec_free(g->src, (size_t)g->size * sizeof *g->src);
    rec_free(g->counts, (size_t)g->size * sizeof *g->counts);
    rec_free(g->bytes, (size_t)g->size * sizeof *g->bytes);
    rec_free(g, sizeof *g);
}

static void t_destroy(void *ctx)
{
    member *m = ctx;
    group *g = m->g;
    pthread_mutex_lock(&g->mu);
    int last = --g->refs == 0;
    pthread_mutex_unlock(&g->mu);
    if (last)
        group_free(g);
    rec_free(m, sizeof *m);
}

REC_API rec_status rec_comm_create_threads(rec_comm **comms, int size)
{
    static const char fn[] = "rec_comm_create_threads";
    static const rec_comm_ops ops = { t_allgatherv, t_alltoallv, t_bcast, t_barrier, t_destroy };
    REC_CHECK_ARG(comms, fn, "comms is NULL");
    if (size < 1 || size > 1024)
        return rec_err(REC_E_RANGE, "%s: size %d outside [1, 1024]", fn, size);
    for (int r = 0; r < size; r++)
        comms[r] = NULL;
    group *g = rec_calloc(1, sizeof *g);
    if (!g)
        return rec_nomem(fn);
    g->size = size;
    g->src = rec_calloc((size_t)size, sizeof *g->src);
    g->counts = rec_calloc((size_t)size, sizeof *g->counts);
    g->bytes = rec_calloc((size_t)size, sizeof *g->bytes);
    if (!g->src || !g->counts || !g->bytes || pthread_mutex_init(&g->mu, NULL)) {
        rec_free(g->src, (size_t)size * sizeof *g->src);
        rec_free(g->counts, (size_t)size * sizeof *g->counts);
        rec_free(g->bytes, (size_t)size * sizeof *g->bytes);
        rec_free(g, sizeof *g);
        return rec_nomem(fn);
    }
    if (pthread_cond_init(&g->cv, NULL)) {
        pthread_mutex_destroy(&g->mu);
        g->refs = 0;
        rec_free(g->src, (size_t)size * sizeof *g->src);
        rec_free(g->counts, (size_t)size * sizeof *g->counts);
        rec_free(g->bytes, (size_t)size * sizeof *g->bytes);
        rec_free(g, sizeof *g);
        return rec_nomem(fn);
    }
    for (int r = 0; r < size; r++) {
        member *m = rec_calloc(1, sizeof *m);
        rec_status st = m ? REC_OK : rec_nomem(fn);
        if (m) {
            m->g = g;
            m->rank = r;
            g->refs++;
            st = rec_comm_create_ops(&comms[r], &ops, m, r, size);
            if (st) {
                g->refs--;
                rec_free(m, sizeof *m);
            }
        }
        if (st) {
            int any = g->refs > 0;
            for (int k = 0; k < r; k++) {
                rec_comm_destroy(comms[k]); /* the last frees the group */
                comms[k] = NULL;
            }
            if (!any)
                group_free(g);
            return st == REC_E_NOMEM ? rec_nomem(fn) : st;
        }
    }
    return REC_OK;
}
