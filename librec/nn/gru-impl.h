/* The fused GRU op's saved state and per-step jobs, shared by gru.c and its
 * AVX-512 kernels (gru_avx512.c). */
#ifndef REC_NN_GRU_IMPL_H
#define REC_NN_GRU_IMPL_H

#include "nn-impl.h"

typedef struct gru_state {
    rec_tensor *x, *w_ih, *w_hh, *b_ih, *b_hh, *h0; /* six inputs: more than a node holds */
    int B, T, I, H;
    const int32_t *len;   /* [B] or NULL (all T) */
    float *hs;            /* [T+1, B, H] */
    float *gates;         /* [T, B, 4H] */
    float *xt;            /* AVX-512 path: x time-major [T, B, I] */
} gru_state;

typedef struct gru_job {
    const gru_state *s;
    int t;
    const float *xw;      /* [B*T, 3H]   forward */
    const float *w_hh;    /* [3H, H] */
    const float *b_hh;    /* [3H] */
    float *hh;            /* [B, 3H]     forward scratch (BLAS path) */
    float *out;           /* [B, T, H] */
    /* backward */
    const float *dout;    /* [B, T, H] or NULL */
    const float *dh;      /* [B, H]  gradient of h_{t+1} */
    float *dh_prev;       /* [B, H]  gradient of h_t */
    float *dxw;           /* [B*T, 3H] */
    float *dhh;           /* [T, B, 3H] */
    /* AVX-512 path */
    const float *wp;      /* forward: weights and biases packed per block of 16 units */
    float *dhh_u[2];      /* backward: dHH of steps t, t+1 by parity [B, 3H] */
    float *dan_u[2];      /* backward: d(n pre-activation) of steps t, t+1 [B, H] */
    float *dx;            /* [B, T, I]  or NULL */
    const int32_t *tiles; /* backward: weight-gradient row tiles, m0 << 3 | rows */
    int ntiles, nparts;
    float *dwhh, *dwih, *dbhh, *dbih; /* gradients (each may be NULL) */
} gru_job;

static inline int rec_gru_valid(const gru_state *s, int b, int t)
{
    return !s->len || t < s->len[b];
}

/* The AVX-512 path (gru_avx512.c), used when the CPU has AVX-512F.  Each
 * row's results do not depend on how the batch is split, so the batch is
 * split by thread count alone.  Forward: hs[0] is set by the caller; fills
 * s->xt, hs, gates and out; returns 0, or -1 when the arena is exhausted
 * (the graph holds the error).  Backward: accumulates every gradient. */
int rec_gru_avx512_ok(void);
int rec_gru_fwd_avx512(rec_graph *g, gru_state *s, float *out);
void rec_gru_back_avx512(rec_graph *g, const gru_state *s, const float *dout);

#endif
