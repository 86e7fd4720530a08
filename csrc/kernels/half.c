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

/* A contiguous row: the table's rows; a strided one, one number at a time. */
static void load(float *dst, const cattn_half *src, ptrdiff_t inc, ptrdiff_t n, int bf16,
                 const cattn_kernel_table *kt)
{
    if (bf16 && inc == 1)
        kt->b2f_row(dst, src, n);
    else if (bf16)
        for (ptrdiff_t i = 0; i < n; i++) dst[i] = cattn_b2f(src[i * inc]);
    else if (inc == 1)
        kt->h2f_row(dst, src, n);
    else
        for (ptrdiff_t i = 0; i < n; i++) dst[i] = cattn_h2f(src[i * inc]);
}

static void store(cattn_half *dst, ptrdiff_t inc, const float *src, ptrdiff_t n, int bf16,
                  const cattn_kernel_table *kt)
{
    if (bf16 && inc == 1)
        kt->f2b_row(dst, src, n);
    else if (bf16)
        for (ptrdiff_t i = 0; i < n; i++) dst[i * inc] = cattn_f2b(src[i]);
    else if (inc == 1)
        kt->f2h_row(dst, src, n);
    else
        for (ptrdiff_t i = 0; i < n; i++) dst[i * inc] = cattn_f2h(src[i]);
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
    load(r, x, incx, n, bf16, kt);
    if (ref)
        (log ? cattn_slog_softmax_ref : cattn_ssoftmax_ref)(r, 1, r, 1, n);
    else
        (log ? cattn_slog_softmax_kt : cattn_ssoftmax_kt)(r, 1, r, 1, n, kt);
    store(y, incy, r, n, bf16, kt);
    free(own);
    return 0;
}

int cattn_half_softmax_backward_kt(int bf16, int log, int ref, cattn_half *dx, ptrdiff_t incdx,
                                   const cattn_half *y, ptrdiff_t incy, const cattn_half *g,
                                   ptrdiff_t incg, ptrdiff_t n, const cattn_kernel_table *kt)
{
    float *ry, *rg, *own;
    if (buffers(&ry, &rg, n, &own) < 0) return -1;
    load(ry, y, incy, n, bf16, kt);
    load(rg, g, incg, n, bf16, kt);
    if (ref)
        (log ? cattn_slog_softmax_backward_ref : cattn_ssoftmax_backward_ref)(rg, 1, ry, 1, rg, 1,
                                                                              n);
    else
        (log ? cattn_slog_softmax_backward_kt : cattn_ssoftmax_backward_kt)(rg, 1, ry, 1, rg, 1,
                                                                            n, kt);
    store(dx, incdx, rg, n, bf16, kt);
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
                     (size_t)L * (size_t)Ev;
    float *f = malloc((n ? n : 1) * sizeof(float));
    if (f == NULL) return -1;
    float *fq = f, *fk = fq + L * E, *fv = fk + S * E, *fo = fv + S * Ev;
    for (ptrdiff_t i = 0; i < L * E; i++)
        fq[i] = bf16 ? cattn_b2f(q[i / E * rsq + i % E * csq]) : cattn_h2f(q[i / E * rsq + i % E * csq]);
    for (ptrdiff_t i = 0; i < S * E; i++)
        fk[i] = bf16 ? cattn_b2f(k[i / E * rsk + i % E * csk]) : cattn_h2f(k[i / E * rsk + i % E * csk]);
    for (ptrdiff_t i = 0; i < S * Ev; i++)
        fv[i] = bf16 ? cattn_b2f(v[i / Ev * rsv + i % Ev * csv])
                     : cattn_h2f(v[i / Ev * rsv + i % Ev * csv]);
    int rc = cattn_sattention_ref(fo, Ev, 1, fq, E, 1, fk, E, 1, fv, Ev, 1, L, S, E, Ev, c);
    for (ptrdiff_t i = 0; i < L * Ev && rc == 0; i++)
        out[i / Ev * rso + i % Ev * cso] = bf16 ? cattn_f2b(fo[i]) : cattn_f2h(fo[i]);
    free(f);
    return rc;
}
