/* kernels/half.c -- softmax, log_softmax and their backward over rows of float16 (h) or
 * bfloat16 (b), read as half: each row is converted to float while it is loaded into a row
 * buffer of this thread, computed by the float kernels (the table's, or the reference ones),
 * and converted back while it is stored -- float32 arithmetic, one rounding at the end, the
 * same bits as converting the whole array to float32, calling the float32 kernel and rounding
 * its result, without that float32 copy of the array.
 */
#include <stdlib.h>
#include "runtime/dispatch.h"
#include "half.h"

#define ROW 4096 /* a row's float buffer on this thread (longer rows allocate one) */
static CATTN_THREAD_LOCAL float row_x[ROW], row_g[ROW];

/* The portable rows (the table's ref entries; AVX2's are in isa/avx2/rows_simd.c). */
void cattn_h2f_row_ref(float *dst, const cattn_half *src, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = cattn_h2f(src[i]);
}

void cattn_f2h_row_ref(cattn_half *dst, const float *src, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = cattn_f2h(src[i]);
}

void cattn_b2f_row_ref(float *dst, const cattn_half *src, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = cattn_b2f(src[i]);
}

void cattn_f2b_row_ref(cattn_half *dst, const float *src, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++) dst[i] = cattn_f2b(src[i]);
}

/* Decoding's rows over half keys and values (the table's ref entries; AVX2's and AVX-512's in
 * isa/<level>/rows_simd.c): rows_plain.inc's dot_rows and axpy_rows, each value converted as it
 * is read. */
#define DECODE_ROWS(h, CVT)                                                                     \
    void cattn_##h##dot_rows_ref(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,          \
                                 ptrdiff_t m, const cattn_half *k, ptrdiff_t ldk, ptrdiff_t n,    \
                                 ptrdiff_t e)                                                     \
    {                                                                                             \
        for (ptrdiff_t r = 0; r < m; r++)                                                         \
            for (ptrdiff_t j = 0; j < n; j++) {                                                   \
                float acc = 0;                                                                    \
                for (ptrdiff_t c = 0; c < e; c++) acc += q[r * ldq + c] * CVT(k[j * ldk + c]);    \
                s[r * lds + j] = acc;                                                             \
            }                                                                                     \
    }                                                                                             \
    void cattn_##h##axpy_rows_ref(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp,         \
                                  ptrdiff_t m, const cattn_half *v, ptrdiff_t ldv, ptrdiff_t n,   \
                                  ptrdiff_t e)                                                    \
    {                                                                                             \
        for (ptrdiff_t r = 0; r < m; r++)                                                         \
            for (ptrdiff_t j = 0; j < n; j++)                                                     \
                for (ptrdiff_t c = 0; c < e; c++)                                                 \
                    o[r * ldo + c] += p[r * ldp + j] * CVT(v[j * ldv + c]);                       \
    }
DECODE_ROWS(h, cattn_h2f)
DECODE_ROWS(b, cattn_b2f)

/* n halves, inc apart, to floats, and back (rounded): a contiguous run through the table's rows,
 * a strided one a number at a time.  Every half kernel loads and stores through these two. */
void cattn_half_to_float(float *dst, const cattn_half *src, ptrdiff_t inc, ptrdiff_t n, int bf16,
                         const cattn_kernel_table *kt)
{
    if (inc == 1)
        (bf16 ? kt->b2f_row : kt->h2f_row)(dst, src, n);
    else
        for (ptrdiff_t i = 0; i < n; i++)
            dst[i] = cattn_half_get(src[i * inc], bf16);
}

void cattn_float_to_half(cattn_half *dst, ptrdiff_t inc, const float *src, ptrdiff_t n,
                         int bf16, const cattn_kernel_table *kt)
{
    if (inc == 1)
        (bf16 ? kt->f2b_row : kt->f2h_row)(dst, src, n);
    else
        for (ptrdiff_t i = 0; i < n; i++)
            dst[i * inc] = cattn_half_put(src[i], bf16);
}

/* Room for `count` rows of n floats: this thread's buffers, or fresh ones (*own, to free). */
static int buffers(float **a, float **b, ptrdiff_t n, float **own)
{
    *own = NULL;
    if (n <= ROW) {
        *a = row_x, *b = row_g;
        return 0;
    }
    *own = malloc(2 * (size_t)n * sizeof(float));
    if (*own == NULL) return -1;
    *a = *own, *b = *own + n;
    return 0;
}

/* 1. load the row as float; 2. the float kernel (the table's, or the reference one), in place;
 * 3. store it as half.  Returns 0, or -1 when out of memory for a row longer than ROW. */
int cattn_half_softmax_kt(int bf16, int log, int ref, cattn_half *y, ptrdiff_t incy,
                          const cattn_half *x, ptrdiff_t incx, ptrdiff_t n,
                          const cattn_kernel_table *kt)
{
    float *r, *unused, *own;
    if (buffers(&r, &unused, n, &own) < 0) return -1;
    cattn_half_to_float(r, x, incx, n, bf16, kt);
    if (ref)
        (log ? cattn_slog_softmax_ref : cattn_ssoftmax_ref)(r, 1, r, 1, n);
    else
        (log ? cattn_slog_softmax_kt : cattn_ssoftmax_kt)(r, 1, r, 1, n, kt);
    cattn_float_to_half(y, incy, r, n, bf16, kt);
    free(own);
    return 0;
}

int cattn_half_softmax_backward_kt(int bf16, int log, int ref, cattn_half *dx, ptrdiff_t incdx,
                                   const cattn_half *y, ptrdiff_t incy, const cattn_half *g,
                                   ptrdiff_t incg, ptrdiff_t n, const cattn_kernel_table *kt)
{
    float *ry, *rg, *own;
    if (buffers(&ry, &rg, n, &own) < 0) return -1;
    cattn_half_to_float(ry, y, incy, n, bf16, kt);
    cattn_half_to_float(rg, g, incg, n, bf16, kt);
    if (ref)
        (log ? cattn_slog_softmax_backward_ref : cattn_ssoftmax_backward_ref)(rg, 1, ry, 1, rg, 1,
                                                                              n);
    else
        (log ? cattn_slog_softmax_backward_kt : cattn_ssoftmax_backward_kt)(rg, 1, ry, 1, rg, 1,
                                                                            n, kt);
    cattn_float_to_half(dx, incdx, rg, n, bf16, kt);
    free(own);
    return 0;
}

/* ---- the C API (cattn.h): h = float16, b = bfloat16 ---------------------------------------- */

#define FORWARD(name, bf16, log, ref)                                                         \
    int name(cattn_half *y, ptrdiff_t incy, const cattn_half *x, ptrdiff_t incx, ptrdiff_t n)  \
    {                                                                                         \
        return cattn_half_softmax_kt(bf16, log, ref, y, incy, x, incx, n, cattn_kernels_now()); \
    }
#define BACKWARD(name, bf16, log, ref)                                                        \
    int name(cattn_half *dx, ptrdiff_t incdx, const cattn_half *y, ptrdiff_t incy,            \
             const cattn_half *g, ptrdiff_t incg, ptrdiff_t n)                                 \
    {                                                                                         \
        return cattn_half_softmax_backward_kt(bf16, log, ref, dx, incdx, y, incy, g, incg, n,  \
                                              cattn_kernels_now());                           \
    }
FORWARD(cattn_hsoftmax, 0, 0, 0)
FORWARD(cattn_hsoftmax_ref, 0, 0, 1)
FORWARD(cattn_bsoftmax, 1, 0, 0)
FORWARD(cattn_bsoftmax_ref, 1, 0, 1)
FORWARD(cattn_hlog_softmax, 0, 1, 0)
FORWARD(cattn_hlog_softmax_ref, 0, 1, 1)
FORWARD(cattn_blog_softmax, 1, 1, 0)
FORWARD(cattn_blog_softmax_ref, 1, 1, 1)
BACKWARD(cattn_hsoftmax_backward, 0, 0, 0)
BACKWARD(cattn_hsoftmax_backward_ref, 0, 0, 1)
BACKWARD(cattn_bsoftmax_backward, 1, 0, 0)
BACKWARD(cattn_bsoftmax_backward_ref, 1, 0, 1)
BACKWARD(cattn_hlog_softmax_backward, 0, 1, 0)
BACKWARD(cattn_hlog_softmax_backward_ref, 0, 1, 1)
BACKWARD(cattn_blog_softmax_backward, 1, 1, 0)
BACKWARD(cattn_blog_softmax_backward_ref, 1, 1, 1)

/* ---- attention's oracle over half operands -------------------------------------------------- */

/* Float copies of q, k and v, the float reference kernel, out rounded: the plain way, kept as
 * the oracle of cattn_sattention_half (which makes no such copies).  0, or -1 out of memory. */
int cattn_half_attention_ref(int half, cattn_half *out, ptrdiff_t rso, ptrdiff_t cso,
                             const cattn_half *q, ptrdiff_t rsq, ptrdiff_t csq,
                             const cattn_half *k, ptrdiff_t rsk, ptrdiff_t csk,
                             const cattn_half *v, ptrdiff_t rsv, ptrdiff_t csv,
                             ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev,
                             const cattn_attn_call *c)
{
    const int bf16 = half == 2;
    const size_t n = (size_t)L * (size_t)E + (size_t)S * (size_t)E + (size_t)S * (size_t)Ev +
                     (size_t)L * (size_t)Ev + (c->w != NULL ? (size_t)L * (size_t)S : 0);
    float *f = calloc(n ? n : 1, sizeof(float));
    if (f == NULL) return -1;
    float *fq = f, *fk = fq + L * E, *fv = fk + S * E, *fo = fv + S * Ev, *fw = fo + L * Ev;
    cattn_attn_call cf = *c;  /* half weights: the float kernel's go to fw, rounded below */
    if (c->w != NULL) cf.w = fw, cf.rsw = S, cf.csw = 1;
    for (ptrdiff_t i = 0; i < L; i++)
        for (ptrdiff_t e = 0; e < E; e++) fq[i * E + e] = cattn_half_get(q[i * rsq + e * csq], bf16);
    for (ptrdiff_t j = 0; j < S; j++) {
        for (ptrdiff_t e = 0; e < E; e++) fk[j * E + e] = cattn_half_get(k[j * rsk + e * csk], bf16);
        for (ptrdiff_t e = 0; e < Ev; e++) fv[j * Ev + e] = cattn_half_get(v[j * rsv + e * csv], bf16);
    }
    int rc = cattn_sattention_ref(fo, Ev, 1, fq, E, 1, fk, E, 1, fv, Ev, 1, L, S, E, Ev, &cf);
    for (ptrdiff_t i = 0; i < L && rc == 0; i++) {
        for (ptrdiff_t e = 0; e < Ev; e++)
            out[i * rso + e * cso] = cattn_half_put(fo[i * Ev + e], bf16);
        for (ptrdiff_t x = 0; x < S && c->w != NULL; x++)
            ((cattn_half *)c->w)[i * c->rsw + x * c->csw] = cattn_half_put(fw[i * S + x], bf16);
    }
    free(f);
    return rc;
}

/* x (H, R, C) half, with its strides (a bias: hs and cs; a matrix: rs and cs), as contiguous
 * floats at f; returns the float view.  An absent x (a bias) stays absent. */
static cattn_in float_copy(float *f, cattn_in x, ptrdiff_t H, ptrdiff_t R, ptrdiff_t C, int bf16)
{
    if (x.p == NULL) return x;
    for (ptrdiff_t h = 0; h < H; h++)
        for (ptrdiff_t i = 0; i < R; i++)
            for (ptrdiff_t j = 0; j < C; j++)
                f[(h * R + i) * C + j] =
                    cattn_half_get(((const cattn_half *)x.p)[h * x.hs + i * x.rs + j * x.cs], bf16);
    return (cattn_in){f, R * C, C, 1};
}

/* x (H, R, C) half, with its strides, from contiguous floats at f, each rounded once: how the
 * oracles store their results.  An absent x is skipped. */
static void float_store(cattn_out x, const float *f, ptrdiff_t H, ptrdiff_t R, ptrdiff_t C,
                        int bf16)
{
    for (ptrdiff_t h = 0; h < H && x.p != NULL; h++)
        for (ptrdiff_t i = 0; i < R; i++)
            for (ptrdiff_t j = 0; j < C; j++)
                ((cattn_half *)x.p)[h * x.hs + i * x.rs + j * x.cs] =
                    cattn_half_put(f[(h * R + i) * C + j], bf16);
}

/* The oracle of cattn_sattention_backward_half: float copies of q, k, v, out and dout (on
 * purpose), the float reference backward, each gradient rounded once; lse and dmask float. */
int cattn_half_attention_backward_ref(int half, cattn_out dq, cattn_out dk, cattn_out dv,
                                      cattn_out dmask, cattn_in q, cattn_in k, cattn_in v,
                                      cattn_in out, cattn_in lse, cattn_in dout, ptrdiff_t L,
                                      ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev,
                                      const cattn_attn_call *c)
{
    const int bf16 = half == 2;
    if (L < 0 || S < 0) return 0;
    /* q, dq (L,E); k, dk (S,E); v, dv (S,Ev); out, dout (L,Ev) */
    const size_t n = 2 * ((size_t)L * (size_t)E + (size_t)S * (size_t)E + (size_t)S * (size_t)Ev +
                          (size_t)L * (size_t)Ev);
    float *f = calloc(n ? n : 1, sizeof(float));
    if (f == NULL) return -1;
    float *fq = f, *fk = fq + L * E, *fv = fk + S * E, *fo = fv + S * Ev, *fd = fo + L * Ev;
    float *gq = fd + L * Ev, *gk = gq + L * E, *gv = gk + S * E;
    int rc = cattn_sattention_backward_ref(
        (cattn_out){gq, 0, E, 1}, (cattn_out){gk, 0, E, 1}, (cattn_out){gv, 0, Ev, 1}, dmask,
        float_copy(fq, q, 1, L, E, bf16), float_copy(fk, k, 1, S, E, bf16),
        float_copy(fv, v, 1, S, Ev, bf16), float_copy(fo, out, 1, L, Ev, bf16), lse,
        float_copy(fd, dout, 1, L, Ev, bf16), L, S, E, Ev, c);
    if (rc == 0) {
        float_store(dq, gq, 1, L, E, bf16);
        float_store(dk, gk, 1, S, E, bf16);
        float_store(dv, gv, 1, S, Ev, bf16);
    }
    free(f);
    return rc;
}

/* The oracle of cattn_smha_half: float copies of every operand (on purpose), the float
 * reference kernel, the output rounded once. */
int cattn_half_mha_ref(int half, CATTN_MHA_ARGS)
{
    const int bf16 = half == 2;
    const ptrdiff_t L = n.L, S = n.S, H = n.H, d = n.d, dv = n.dv;
    if (L <= 0) return 0;
    const ptrdiff_t sizes[12][3] = {{1, L, n.Eq}, {1, S, n.Ek}, {1, S, n.Ev}, {H, n.Eq, d},
                                    {H, n.Ek, d},  {H, n.Ev, dv}, {H, dv, n.Eo}, {H, 1, d},
                                    {H, 1, d},     {H, 1, dv},    {1, 1, n.Eo}, {1, L, n.Eo}};
    size_t total = 0, at[12];
    for (int i = 0; i < 12; i++)
        at[i] = total, total += (size_t)(sizes[i][0] * sizes[i][1] * sizes[i][2]);
    float *f = calloc(total ? total : 1, sizeof(float));
    if (f == NULL) return -1;
    const cattn_in in[11] = {xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo};
    cattn_in fin[11];
    for (int i = 0; i < 11; i++)
        fin[i] = float_copy(f + at[i], in[i], sizes[i][0], sizes[i][1], sizes[i][2], bf16);
    float *fo = f + at[11], *fw = NULL;
    cattn_attn_call cf = *c;  /* half weights: the float kernel's into fw, rounded below */
    if (c->w != NULL) {
        const size_t nw = (size_t)H * (size_t)L * (size_t)S;
        fw = calloc(nw ? nw : 1, sizeof(float));
        if (fw == NULL) {
            free(f);
            return -1;
        }
        cf.w = fw, cf.hsw = L * S, cf.rsw = S, cf.csw = 1;
    }
    int rc = cattn_smha_ref((cattn_out){fo, 0, n.Eo, 1}, saved, fin[0], fin[1], fin[2], fin[3],
                            fin[4], fin[5], fin[6], fin[7], fin[8], fin[9], fin[10], n, &cf);
    for (ptrdiff_t h = 0; h < H && rc == 0 && fw != NULL; h++)
        for (ptrdiff_t i = 0; i < L; i++)
            for (ptrdiff_t x = 0; x < S; x++) {
                const float y = fw[(h * L + i) * S + x];
                ((cattn_half *)c->w)[h * c->hsw + i * c->rsw + x * c->csw] =
                    cattn_half_put(y, bf16);
            }
    free(fw);
    for (ptrdiff_t i = 0; i < L && rc == 0; i++)
        for (ptrdiff_t j = 0; j < n.Eo; j++) {
            const float x = fo[i * n.Eo + j];
            ((cattn_half *)out.p)[i * out.rs + j * out.cs] = cattn_half_put(x, bf16);
        }
    free(f);
    return rc;
}

/* The oracle of cattn_smha_backward_half: float copies of x, w and dout (on purpose), the float
 * reference backward into float gradients, each rounded once into its half output; the saved
 * forward float32, the mask's gradient float32 as it is. */
int cattn_half_mha_backward_ref(int half, CATTN_MHA_BACKWARD_ARGS)
{
    const int bf16 = half == 2;
    const ptrdiff_t L = n.L, S = n.S, H = n.H, d = n.d, dv = n.dv;
    /* dout, x q k v, w q k v o, then the gradients: x q k v, w q k v o, b q k v o */
    const ptrdiff_t sizes[19][3] = {
        {1, L, n.Eo}, {1, L, n.Eq}, {1, S, n.Ek}, {1, S, n.Ev}, {H, n.Eq, d}, {H, n.Ek, d},
        {H, n.Ev, dv}, {H, dv, n.Eo}, {1, L, n.Eq}, {1, S, n.Ek}, {1, S, n.Ev}, {H, n.Eq, d},
        {H, n.Ek, d}, {H, n.Ev, dv}, {H, dv, n.Eo}, {H, 1, d}, {H, 1, d}, {H, 1, dv},
        {1, 1, n.Eo}};
    size_t total = 0, at[19];
    for (int i = 0; i < 19; i++)
        at[i] = total, total += (size_t)(sizes[i][0] * sizes[i][1] * sizes[i][2]);
    float *f = calloc(total ? total : 1, sizeof(float));
    if (f == NULL) return -1;
    const cattn_in in[8] = {dout, xq, xk, xv, wq, wk, wv, wo};
    cattn_in fin[8];
    for (int i = 0; i < 8; i++)
        fin[i] = float_copy(f + at[i], in[i], sizes[i][0], sizes[i][1], sizes[i][2], bf16);
    const cattn_out hg[11] = {g->xq, g->xk, g->xv, g->wq, g->wk, g->wv, g->wo,
                              g->bq, g->bk, g->bv, g->bo};
    cattn_out fg[11];
    for (int i = 0; i < 11; i++) {  /* (H, R, C) contiguous; a bias (H, -, C) */
        const ptrdiff_t R = sizes[8 + i][1], C = sizes[8 + i][2];
        fg[i] = (cattn_out){hg[i].p ? f + at[8 + i] : NULL, R * C, i >= 7 ? 0 : C, 1};
    }
    cattn_mha_grads fgr = {fg[0], fg[1], fg[2], fg[3], fg[4], fg[5], fg[6],
                           fg[7], fg[8], fg[9], fg[10], g->mask};
    int rc = cattn_smha_backward_ref(&fgr, fin[0], fin[1], fin[2], fin[3], fin[4], fin[5], fin[6],
                                     fin[7], saved, n, c);
    for (int i = 0; i < 11 && rc == 0; i++)
        float_store(hg[i], f + at[8 + i], sizes[8 + i][0], sizes[8 + i][1], sizes[8 + i][2],
                    bf16);
    free(f);
    return rc;
}
