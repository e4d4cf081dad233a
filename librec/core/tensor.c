/* Arena, tape and backward pass.  One graph is one training (or inference)
 * step: ops allocate their outputs from the arena and append a node to the
 * tape; reset rewinds both without returning memory to the allocator. */
#include "tensor-impl.h"

#include <stdio.h>
#include <string.h>

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    unsigned char *mem;
} chunk;

struct rec_graph {
    chunk *head;        /* current chunk; older ones follow */
    size_t used, peak, total;
    rec_node *tape;
    size_t ntape, captape;
    rec_tensor **touched; /* tables holding rowgrad chunks */
    size_t ntouched, captouched;
    rec_status status;
    int training, grad;
    rec_rng rng;
};

#define FIRST_CHUNK (1u << 20)

rec_status rec_graph_create(rec_graph **out)
{
    if (!out)
        return rec_err(REC_E_INVALID, "rec_graph_create: out is NULL");
    rec_graph *g = rec_calloc(1, sizeof *g);
    if (!g)
        return rec_nomem("rec_graph_create");
    g->grad = 1;
    rec_rng_seed(&g->rng, 0);
    *out = g;
    return REC_OK;
}

static void free_chunks(chunk *c)
{
    while (c) {
        chunk *n = c->next;
        rec_aligned_free(c->mem, c->size);
        rec_free(c, sizeof *c);
        c = n;
    }
}

void rec_graph_destroy(rec_graph *g)
{
    if (!g)
        return;
    rec_graph_reset(g);
    free_chunks(g->head);
    rec_free(g->tape, g->captape * sizeof *g->tape);
    rec_free(g->touched, g->captouched * sizeof *g->touched);
    rec_free(g, sizeof *g);
}

void rec_graph_reset(rec_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->ntouched; i++)
        g->touched[i]->rg = NULL;
    g->ntouched = 0;
    g->ntape = 0;
    g->status = REC_OK;
    g->used = 0;
    if (g->head && g->head->next) {
        /* Several chunks were needed: replace them with one that fits all,
         * so a steady-state step makes no allocator calls. */
        size_t total = g->total;
        free_chunks(g->head);
        g->head = NULL;
        g->total = 0;
        chunk *c = rec_malloc(sizeof *c);
        unsigned char *mem = c ? rec_aligned_alloc(total) : NULL;
        if (!mem) {
            rec_free(c, sizeof *c);
            return; /* next alloc starts fresh */
        }
        rec_advise_huge_pages(mem, total);
        *c = (chunk){ NULL, total, 0, mem };
        g->head = c;
        g->total = total;
    } else if (g->head) {
        g->head->used = 0;
    }
}

rec_status rec_graph_status(const rec_graph *g)
{
    return g ? g->status : REC_E_INVALID;
}

void *rec_graph_fail(rec_graph *g, rec_status st, const char *fmt, ...)
{
    if (g->status == REC_OK) {
        va_list ap;
        va_start(ap, fmt);
        rec_verr(st, fmt, ap);
        va_end(ap);
        g->status = st;
    }
    return NULL;
}

void rec_graph_set_training(rec_graph *g, int on) { g->training = on; }
int rec_graph_training(const rec_graph *g) { return g->training; }
void rec_graph_set_grad(rec_graph *g, int on) { g->grad = on; }
void rec_graph_seed(rec_graph *g, uint64_t seed) { rec_rng_seed(&g->rng, seed); }
rec_rng *rec_graph_rng(rec_graph *g) { return &g->rng; }
size_t rec_graph_arena_used(const rec_graph *g) { return g->used; }

void *rec_graph_alloc(rec_graph *g, size_t bytes)
{
    if (g->status)
        return NULL;
    bytes = (bytes + 63) & ~(size_t)63;
    chunk *c = g->head;
    if (!c || c->size - c->used < bytes) {
        size_t want = c ? c->size * 2 : FIRST_CHUNK;
        while (want < bytes)
            want *= 2;
        chunk *nc = rec_malloc(sizeof *nc);
        unsigned char *mem = nc ? rec_aligned_alloc(want) : NULL;
        if (!mem) {
            rec_free(nc, sizeof *nc);
            return rec_graph_fail(g, REC_E_NOMEM, "graph: out of memory allocating %zu bytes",
                                  bytes);
        }
        rec_advise_huge_pages(mem, want);
        *nc = (chunk){ c, want, 0, mem };
        g->head = nc;
        g->total += want;
        c = nc;
    }
    void *p = c->mem + c->used;
    c->used += bytes;
    g->used += bytes;
    if (g->used > g->peak)
        g->peak = g->used;
    return p;
}

static rec_tensor *tensor_header(rec_graph *g, rec_dtype dt, int nd, const int64_t *shape)
{
    if (g->status)
        return NULL;
    if (nd < 0 || nd > REC_MAX_DIMS)
        return rec_graph_fail(g, REC_E_INVALID, "tensor: %d dimensions (at most %d)", nd,
                              REC_MAX_DIMS);
    int64_t n = 1;
    for (int i = 0; i < nd; i++) {
        if (shape[i] < 0 || (shape[i] && n > INT64_MAX / 8 / shape[i]))
            return rec_graph_fail(g, REC_E_INVALID, "tensor: bad dimension %lld",
                                  (long long)shape[i]);
        n *= shape[i];
    }
    rec_tensor *t = rec_graph_alloc(g, sizeof *t);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->nd = nd;
    for (int i = 0; i < nd; i++)
        t->shape[i] = shape[i];
    t->n = n;
    t->dtype = dt;
    return t;
}

rec_tensor *rec_tensor_new(rec_graph *g, rec_dtype dt, int nd, const int64_t *shape)
{
    rec_tensor *t = tensor_header(g, dt, nd, shape);
    if (!t)
        return NULL;
    void *mem = rec_graph_alloc(g, (size_t)t->n * 4);
    if (!mem)
        return NULL;
    if (dt == REC_F32)
        t->v = mem;
    else
        t->iv = mem;
    return t;
}

rec_tensor *rec_tensor_zeros(rec_graph *g, rec_dtype dt, int nd, const int64_t *shape)
{
    rec_tensor *t = rec_tensor_new(g, dt, nd, shape);
    if (t)
        memset(dt == REC_F32 ? (void *)t->v : (void *)t->iv, 0, (size_t)t->n * 4);
    return t;
}

rec_tensor *rec_tensor_2d(rec_graph *g, int64_t rows, int64_t cols)
{
    int64_t s[2] = { rows, cols };
    return rec_tensor_new(g, REC_F32, 2, s);
}

rec_tensor *rec_tensor_1d(rec_graph *g, int64_t n)
{
    return rec_tensor_new(g, REC_F32, 1, &n);
}

rec_tensor *rec_tensor_i32(rec_graph *g, int64_t n)
{
    return rec_tensor_new(g, REC_I32, 1, &n);
}

rec_tensor *rec_tensor_from(rec_graph *g, const float *v, int nd, const int64_t *shape)
{
    rec_tensor *t = rec_tensor_new(g, REC_F32, nd, shape);
    if (t)
        memcpy(t->v, v, (size_t)t->n * sizeof *v);
    return t;
}

rec_tensor *rec_tensor_wrap(rec_graph *g, float *v, int nd, const int64_t *shape)
{
    rec_tensor *t = tensor_header(g, REC_F32, nd, shape);
    if (t)
        t->v = v;
    return t;
}

rec_tensor *rec_tensor_wrap_i32(rec_graph *g, int32_t *iv, int64_t n)
{
    rec_tensor *t = tensor_header(g, REC_I32, 1, &n);
    if (t)
        t->iv = iv;
    return t;
}

int rec_same_shape(const rec_tensor *a, const rec_tensor *b)
{
    if (a->nd != b->nd)
        return 0;
    for (int i = 0; i < a->nd; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

rec_tensor *rec_op_out(rec_graph *g, int nd, const int64_t *shape, rec_backward_fn bw, int nin,
                       rec_tensor *const *in, rec_node **node)
{
    if (node)
        *node = NULL;
    if (g->status)
        return NULL;
    int want = 0;
    for (int i = 0; i < nin; i++) {
        if (!in[i])
            return rec_graph_fail(g, REC_E_INVALID, "op: input %d is NULL", i);
        if (in[i]->flags & REC_T_GRAD)
            want = 1;
    }
    rec_tensor *out = rec_tensor_new(g, REC_F32, nd, shape);
    if (!out)
        return NULL;
    if (!want || !g->grad || !bw)
        return out;
    out->flags = REC_T_GRAD;
    if (g->ntape == g->captape) {
        size_t nc = g->captape ? g->captape * 2 : 256;
        rec_node *t = rec_realloc(g->tape, g->captape * sizeof *t, nc * sizeof *t);
        if (!t)
            return rec_graph_fail(g, REC_E_NOMEM, "graph: out of memory growing the tape");
        g->tape = t;
        g->captape = nc;
    }
    rec_node *n = &g->tape[g->ntape++];
    memset(n, 0, sizeof *n);
    n->backward = bw;
    n->out = out;
    n->nin = nin;
    for (int i = 0; i < nin; i++)
        n->in[i] = in[i];
    if (node)
        *node = n;
    return out;
}

float *rec_grad_of(rec_graph *g, rec_tensor *t)
{
    if (!(t->flags & REC_T_GRAD) || (t->flags & REC_T_SPARSE))
        return NULL;
    if (!t->g) {
        t->g = rec_graph_alloc(g, (size_t)t->n * sizeof(float));
        if (t->g)
            memset(t->g, 0, (size_t)t->n * sizeof(float));
    }
    return t->g;
}

int rec_grad_take(rec_tensor *t, const rec_tensor *out)
{
    if (!(t->flags & REC_T_GRAD) || (t->flags & (REC_T_SPARSE | REC_T_PARAM)) || t->g ||
        !out->g || t->n != out->n)
        return 0;
    t->g = out->g;
    return 1;
}

float *rec_grad_full(rec_graph *g, rec_tensor *t, float *beta)
{
    *beta = 1.0f;
    if (!(t->flags & REC_T_GRAD) || (t->flags & REC_T_SPARSE))
        return NULL;
    if (!t->g) {
        t->g = rec_graph_alloc(g, (size_t)t->n * sizeof(float));
        *beta = 0.0f;
    }
    return t->g;
}

void rec_rowgrad_push(rec_graph *g, rec_tensor *table, int64_t n, const int32_t *rows,
                      float *vals)
{
    rec_rowgrad *c = rec_graph_alloc(g, sizeof *c);
    if (!c)
        return;
    if (!table->rg) {
        if (g->ntouched == g->captouched) {
            size_t nc = g->captouched ? g->captouched * 2 : 16;
            rec_tensor **t = rec_realloc(g->touched, g->captouched * sizeof *t, nc * sizeof *t);
            if (!t) {
                rec_graph_fail(g, REC_E_NOMEM, "graph: out of memory");
                return;
            }
            g->touched = t;
            g->captouched = nc;
        }
        g->touched[g->ntouched++] = table;
    }
    *c = (rec_rowgrad){ table->rg, n, rows, vals };
    table->rg = c;
}

rec_status rec_backward(rec_graph *g, rec_tensor *loss)
{
    if (!g)
        return rec_err(REC_E_INVALID, "rec_backward: graph is NULL");
    if (g->status)
        return g->status;
    if (!loss)
        return rec_err(REC_E_INVALID, "rec_backward: loss is NULL");
    if (loss->n != 1)
        return rec_err(REC_E_INVALID, "rec_backward: loss has %lld elements, want 1",
                       (long long)loss->n);
    float *dl = rec_grad_of(g, loss);
    if (!dl)
        return g->status ? g->status
                         : rec_err(REC_E_INVALID, "rec_backward: loss does not need a gradient");
    dl[0] += 1.0f;
    for (size_t i = g->ntape; i-- > 0;) {
        rec_node *n = &g->tape[i];
        if (!n->out->g)
            continue; /* nothing flowed into this output */
        n->backward(g, n);
        if (g->status)
            return g->status;
    }
    return REC_OK;
}
