/* runtime/dispatch.h -- private: the dispatch tables that the portable drivers call through.
 *
 * cpu.c builds one immutable table per level at start-up: the portable kernels (level "ref"),
 * then the AVX2 / AVX-512 ones written over them.  A call reads the current table's pointer once
 * (cattn_kernels_now) and passes it down to every driver and thread it uses, as BLIS passes its
 * cntx_t: cattn_set_level swaps the pointer, so a level change never tears a running call.
 * Drivers (gemm.c, softmax.c, attention.c, mha.c) only ever call through the table they were
 * given, so every level runs the same blocking and the same numerics.
 */
#ifndef CATTN_KERNELS_H
#define CATTN_KERNELS_H

#include <stdint.h>
#include <stdlib.h>
#include "cattn.h"

/* A variable per thread: C11's _Thread_local, which MSVC spells its own way. */
#if defined(_MSC_VER) && !defined(__clang__)
#define CATTN_THREAD_LOCAL __declspec(thread)
#else
#define CATTN_THREAD_LOCAL _Thread_local
#endif

/* A hint to fetch p's cache line into L1, for each compiler and architecture. */
#if defined(__GNUC__) || defined(__clang__)
#define CATTN_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define CATTN_PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
#elif defined(_MSC_VER) && defined(_M_ARM64)
#define CATTN_PREFETCH(p) __prefetch((const void *)(p))
#define CATTN_PREFETCH_L2(p) __prefetch((const void *)(p))
#elif defined(_MSC_VER)
#include <immintrin.h>
#define CATTN_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#define CATTN_PREFETCH_L2(p) _mm_prefetch((const char *)(p), _MM_HINT_T1)
#else
#define CATTN_PREFETCH(p) ((void)(p))
#define CATTN_PREFETCH_L2(p) ((void)(p))
#endif

/* Make this thread's non-temporal stores (the scale_nt kernels) visible before another thread
 * reads them: x86's weakly ordered streaming stores need an sfence; elsewhere a release fence. */
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <xmmintrin.h>
static inline void cattn_store_fence(void) { _mm_sfence(); }
#else
#include <stdatomic.h>
static inline void cattn_store_fence(void) { atomic_thread_fence(memory_order_release); }
#endif

/* Outputs of at least this many bytes are written around the caches (softmax's last pass): they
 * would not stay in a last-level cache anyway (32 MiB on the EPYC this was measured on), and a
 * write that misses the cache first reads the line it overwrites. */
#define CATTN_STREAM_BYTES ((double)(32 << 20))

/* GEMM microkernel: c (MR,NR) (+)= a (MR,k) · b (k,NR).
 * b is read a row of NR values per step p, rows ldb apart: a packed panel (ldb = NR), or NR
 * contiguous columns of a row-major b read in place (ldb = its row stride, a small product's b
 * that is not worth packing); a is read with its strides: element (i, p) at
 * a[i*rsa + p*csa] -- a packed panel (MR values per step p) is rsa = 1, csa = MR, and rows of a
 * row-major matrix that stays in cache (attention's score tile) are read in place with rsa = lda,
 * csa = 1, saving a packing pass.  accumulate = 0 overwrites c, 1 adds to it. */
typedef void (*cattn_sgemm_ukr)(ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const float *b, ptrdiff_t ldb, float *c, ptrdiff_t rsc,
                                ptrdiff_t csc, int accumulate);
typedef void (*cattn_dgemm_ukr)(ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const double *b, ptrdiff_t ldb, double *c, ptrdiff_t rsc,
                                ptrdiff_t csc, int accumulate);

/* y[i] = exp(scale*x[i] - shift) for i < n (one fused multiply-add before the exp), returns
 * the sum of the y[i] (contiguous rows; y may be x). */
typedef float (*cattn_sexp_sum)(float *y, const float *x, float scale, float shift, ptrdiff_t n);
typedef double (*cattn_dexp_sum)(double *y, const double *x, double scale, double shift,
                                 ptrdiff_t n);

/* The maximum of a contiguous row x (n), ignoring NaN (-INFINITY for an empty row, or one of
 * NaN and -inf only): softmax's first pass.  Callers that must see a NaN find it through exp. */
typedef float (*cattn_smax)(const float *x, ptrdiff_t n);
typedef double (*cattn_dmax)(const double *x, ptrdiff_t n);

/* y = a·x (n, contiguous; y may be x) with non-temporal stores, which go around the caches:
 * softmax's last pass on outputs of CATTN_STREAM_BYTES or more.  The writing thread calls
 * cattn_store_fence() before any other thread reads y.  ref: plain stores. */
typedef void (*cattn_sscale_nt)(float *y, const float *x, float a, ptrdiff_t n);
typedef void (*cattn_dscale_nt)(double *y, const double *x, double a, ptrdiff_t n);

/* The backward passes' rows (kernels/rows_plain.inc): the dot product x·y of two contiguous rows,
 * and dx_i = y_i·(g_i − d), softmax's backward with d = y·g (dx may be y or g). */
typedef float (*cattn_sdot)(const float *x, const float *y, ptrdiff_t n);
typedef double (*cattn_ddot)(const double *x, const double *y, ptrdiff_t n);
typedef void (*cattn_ssoftmax_grad)(float *dx, const float *y, const float *g, float d,
                                    ptrdiff_t n);
typedef void (*cattn_dsoftmax_grad)(double *dx, const double *y, const double *g, double d,
                                    ptrdiff_t n);

/* Additive attention's rows (kernels/rows_plain.inc): the scores of one query row q (h) against nk
 * contiguous keys k (nk, h), s_j = Σ_t w_t tanh(q_t + k_jt), and their backward (adds into dq, dk,
 * dw). */
typedef void (*cattn_stanh_score)(float *s, const float *q, const float *k, const float *w,
                                  ptrdiff_t nk, ptrdiff_t h);
typedef void (*cattn_dtanh_score)(double *s, const double *q, const double *k, const double *w,
                                  ptrdiff_t nk, ptrdiff_t h);
typedef void (*cattn_stanh_score_grad)(float *dq, float *dk, float *dw, const float *q,
                                       const float *k, const float *w, const float *ds,
                                       ptrdiff_t nk, ptrdiff_t h);
typedef void (*cattn_dtanh_score_grad)(double *dq, double *dk, double *dw, const double *q,
                                       const double *k, const double *w, const double *ds,
                                       ptrdiff_t nk, ptrdiff_t h);

/* Dropout on a row of weights (kernels/rows_plain.inc, the draws of kernels/row_rules.h): x_c =
 * x_c·keep where the bits of key j0 + c are >= thr, 0 elsewhere. */
typedef void (*cattn_sdropout)(float *x, ptrdiff_t n, unsigned long long key, ptrdiff_t j0,
                               uint32_t thr, float keep);
typedef void (*cattn_ddropout)(double *x, ptrdiff_t n, unsigned long long key, ptrdiff_t j0,
                               uint32_t thr, double keep);

/* A few query rows against keys read in place (kernels/rows_plain.inc; decoding):
 *     dot_rows:  s[r·lds + j] = q_r · k_j             (r < m, j < n; rows of e values)
 *     axpy_rows: o[r·ldo + c] += Σ_j p[r·ldp + j] v_j[c]   (r < m, c < e) */
typedef void (*cattn_sdot_rows)(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,
                                ptrdiff_t m, const float *k, ptrdiff_t ldk, ptrdiff_t n,
                                ptrdiff_t e);
typedef void (*cattn_ddot_rows)(double *s, ptrdiff_t lds, const double *q, ptrdiff_t ldq,
                                ptrdiff_t m, const double *k, ptrdiff_t ldk, ptrdiff_t n,
                                ptrdiff_t e);
typedef void (*cattn_saxpy_rows)(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp,
                                 ptrdiff_t m, const float *v, ptrdiff_t ldv, ptrdiff_t n,
                                 ptrdiff_t e);
typedef void (*cattn_daxpy_rows)(double *o, ptrdiff_t ldo, const double *p, ptrdiff_t ldp,
                                 ptrdiff_t m, const double *v, ptrdiff_t ldv, ptrdiff_t n,
                                 ptrdiff_t e);

/* Decoding's rows over half keys and values (k, v float16 with h, bfloat16 with b), converted as
 * they are loaded: the dot_rows and axpy_rows above, half the bytes read. */
typedef void (*cattn_hdot_rows)(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,
                                ptrdiff_t m, const cattn_half *k, ptrdiff_t ldk, ptrdiff_t n,
                                ptrdiff_t e);
typedef void (*cattn_haxpy_rows)(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp,
                                 ptrdiff_t m, const cattn_half *v, ptrdiff_t ldv, ptrdiff_t n,
                                 ptrdiff_t e);

/* A contiguous row of float16 to float, and back (round to nearest even): what the half kernels
 * do while loading and storing (kernels/half.h one element at a time; F16C on AVX2). */
typedef void (*cattn_h2f_row)(float *dst, const cattn_half *src, ptrdiff_t n);
typedef void (*cattn_f2h_row)(cattn_half *dst, const float *src, ptrdiff_t n);
/* The same for bfloat16 (a shift in, round to nearest even out). */
typedef cattn_h2f_row cattn_b2f_row;
typedef cattn_f2h_row cattn_f2b_row;

/* bfloat16 GEMM microkernel over pairs along k (isa/avx512bf16/gemm.c):
 *   c (MR,NR) (+)= a (MR,2kp) · b (2kp,NR), float32 c;
 * a and b as 32-bit words of two bfloat16 neighbours along k: row i's pair p of a at
 * a[i·rsa + p·csa] (packed panels: rsa 1, csa MR; rows read in place: csa 1), b packed by
 * kernels/half_gemm.c, NR words per pair p.  NULL in a table whose CPU lacks a bfloat16 dot
 * product: bfloat16 then takes the convert-on-pack path through the float32 tile. */
typedef void (*cattn_bgemm_ukr)(ptrdiff_t kp, const uint32_t *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const uint32_t *b, float *c, ptrdiff_t rsc, ptrdiff_t csc,
                                int accumulate);

struct cattn_kernel_table {
    cattn_level level;
    ptrdiff_t smr, snr;          /* float microkernel tile  */
    cattn_sgemm_ukr sgemm_ukr;
    ptrdiff_t dmr, dnr;          /* double microkernel tile */
    cattn_dgemm_ukr dgemm_ukr;
    cattn_sexp_sum sexp_sum;
    cattn_dexp_sum dexp_sum;
    cattn_smax smax;
    cattn_dmax dmax;
    cattn_sscale_nt sscale_nt;
    cattn_dscale_nt dscale_nt;
    cattn_sdot sdot;
    cattn_ddot ddot;
    cattn_ssoftmax_grad ssoftmax_grad;
    cattn_dsoftmax_grad dsoftmax_grad;
    cattn_stanh_score stanh_score;
    cattn_dtanh_score dtanh_score;
    cattn_stanh_score_grad stanh_score_grad;
    cattn_dtanh_score_grad dtanh_score_grad;
    cattn_sdropout sdropout;
    cattn_ddropout ddropout;
    cattn_sdot_rows sdot_rows;
    cattn_ddot_rows ddot_rows;
    cattn_saxpy_rows saxpy_rows;
    cattn_daxpy_rows daxpy_rows;
    cattn_h2f_row h2f_row;
    cattn_f2h_row f2h_row;
    cattn_b2f_row b2f_row;
    cattn_f2b_row f2b_row;
    cattn_hdot_rows hdot_rows, bdot_rows;
    cattn_haxpy_rows haxpy_rows, baxpy_rows;
    ptrdiff_t bmr, bnr;          /* bfloat16 pair tile, or 0, 0 */
    cattn_bgemm_ukr bgemm_ukr;
    /* Per-shape dispatch: a level with a wide GEMM tile (AVX-512's 12×32) points at the level
     * below (AVX2, 6×16), whose tile gemm_ex takes when the cost model says it is faster for the
     * product's shape (cost.c, cattn_gemm_table); else NULL. */
    const struct cattn_kernel_table *narrow;
    int tile;  /* the cost model's slot for this table's measured rates (cost.c): its level, or
                * CATTN_TILE_AVX512_TALL for AVX-512's 16-row tile */
};
#define CATTN_TILE_AVX512_TALL CATTN_LEVEL_COUNT
#define CATTN_TILE_COUNT (CATTN_LEVEL_COUNT + 1)

/* The largest microkernel tile of any level: drivers size their edge buffers with it. */
#define CATTN_MAX_MR 16
#define CATTN_MAX_NR 32

/* Every kernel a level may provide, declared for the level's suffix L: cattn_<s|d><name>_<L>.
 * Level ref's are the portable ones (kernels/); a vector level's are in isa/<level>/ and its
 * table.c puts them in its table (a level lacking one keeps ref's). */
#define CATTN_LEVEL_KERNELS(L) CATTN_LEVEL_KERNELS_(L)
#define CATTN_LEVEL_KERNELS_(L)                                                                  \
    void cattn_sgemm_ukr_##L(ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,          \
                             const float *b, ptrdiff_t ldb, float *c, ptrdiff_t rsc,             \
                             ptrdiff_t csc, int accumulate);                                     \
    void cattn_dgemm_ukr_##L(ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,         \
                             const double *b, ptrdiff_t ldb, double *c, ptrdiff_t rsc,           \
                             ptrdiff_t csc, int accumulate);                                     \
    float cattn_sexp_sum_##L(float *y, const float *x, float scale, float shift, ptrdiff_t n);   \
    double cattn_dexp_sum_##L(double *y, const double *x, double scale, double shift,            \
                              ptrdiff_t n);                                                      \
    float cattn_smax_##L(const float *x, ptrdiff_t n);                                           \
    double cattn_dmax_##L(const double *x, ptrdiff_t n);                                         \
    void cattn_sscale_nt_##L(float *y, const float *x, float a, ptrdiff_t n);                    \
    void cattn_dscale_nt_##L(double *y, const double *x, double a, ptrdiff_t n);                 \
    float cattn_sdot_##L(const float *x, const float *y, ptrdiff_t n);                           \
    double cattn_ddot_##L(const double *x, const double *y, ptrdiff_t n);                        \
    void cattn_ssoftmax_grad_##L(float *dx, const float *y, const float *g, float d,             \
                                 ptrdiff_t n);                                                   \
    void cattn_dsoftmax_grad_##L(double *dx, const double *y, const double *g, double d,         \
                                 ptrdiff_t n);                                                   \
    void cattn_stanh_score_##L(float *s, const float *q, const float *k, const float *w,         \
                               ptrdiff_t nk, ptrdiff_t h);                                       \
    void cattn_dtanh_score_##L(double *s, const double *q, const double *k, const double *w,     \
                               ptrdiff_t nk, ptrdiff_t h);                                       \
    void cattn_stanh_score_grad_##L(float *dq, float *dk, float *dw, const float *q,             \
                                    const float *k, const float *w, const float *ds,             \
                                    ptrdiff_t nk, ptrdiff_t h);                                  \
    void cattn_dtanh_score_grad_##L(double *dq, double *dk, double *dw, const double *q,         \
                                    const double *k, const double *w, const double *ds,          \
                                    ptrdiff_t nk, ptrdiff_t h);                                  \
    void cattn_sdropout_##L(float *x, ptrdiff_t n, unsigned long long key, ptrdiff_t j0,         \
                            uint32_t thr, float keep);                                           \
    void cattn_ddropout_##L(double *x, ptrdiff_t n, unsigned long long key, ptrdiff_t j0,        \
                            uint32_t thr, double keep);                                          \
    void cattn_sdot_rows_##L(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,             \
                             ptrdiff_t m, const float *k, ptrdiff_t ldk, ptrdiff_t n,            \
                             ptrdiff_t e);                                                       \
    void cattn_ddot_rows_##L(double *s, ptrdiff_t lds, const double *q, ptrdiff_t ldq,           \
                             ptrdiff_t m, const double *k, ptrdiff_t ldk, ptrdiff_t n,           \
                             ptrdiff_t e);                                                       \
    void cattn_h2f_row_##L(float *dst, const cattn_half *src, ptrdiff_t n);                      \
    void cattn_f2h_row_##L(cattn_half *dst, const float *src, ptrdiff_t n);                      \
    void cattn_b2f_row_##L(float *dst, const cattn_half *src, ptrdiff_t n);                      \
    void cattn_f2b_row_##L(cattn_half *dst, const float *src, ptrdiff_t n);                      \
    void cattn_hdot_rows_##L(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,             \
                             ptrdiff_t m, const cattn_half *k, ptrdiff_t ldk, ptrdiff_t n,       \
                             ptrdiff_t e);                                                       \
    void cattn_bdot_rows_##L(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,             \
                             ptrdiff_t m, const cattn_half *k, ptrdiff_t ldk, ptrdiff_t n,       \
                             ptrdiff_t e);                                                       \
    void cattn_haxpy_rows_##L(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp,            \
                              ptrdiff_t m, const cattn_half *v, ptrdiff_t ldv, ptrdiff_t n,      \
                              ptrdiff_t e);                                                      \
    void cattn_baxpy_rows_##L(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp,            \
                              ptrdiff_t m, const cattn_half *v, ptrdiff_t ldv, ptrdiff_t n,      \
                              ptrdiff_t e);                                                      \
    void cattn_saxpy_rows_##L(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp,            \
                              ptrdiff_t m, const float *v, ptrdiff_t ldv, ptrdiff_t n,           \
                              ptrdiff_t e);                                                      \
    void cattn_daxpy_rows_##L(double *o, ptrdiff_t ldo, const double *p, ptrdiff_t ldp,          \
                              ptrdiff_t m, const double *v, ptrdiff_t ldv, ptrdiff_t n,          \
                              ptrdiff_t e);

/* Portable kernels (level "ref"). */
CATTN_LEVEL_KERNELS(ref)
#define CATTN_REF_SMR 4
#define CATTN_REF_SNR 8
#define CATTN_REF_DMR 4
#define CATTN_REF_DNR 4

/* The drivers with the table of one call, kt (never NULL here).
 * gemm with accumulate: c (m,n) += a (m,k) · b (k,n) when accumulate is 1 (gemm.c). */
void cattn_sgemm_ex(float *c, ptrdiff_t rsc, ptrdiff_t csc, const float *a, ptrdiff_t rsa,
                    ptrdiff_t csa, const float *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t m,
                    ptrdiff_t n, ptrdiff_t k, int accumulate, const cattn_kernel_table *kt);
void cattn_dgemm_ex(double *c, ptrdiff_t rsc, ptrdiff_t csc, const double *a, ptrdiff_t rsa,
                    ptrdiff_t csa, const double *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t m,
                    ptrdiff_t n, ptrdiff_t k, int accumulate, const cattn_kernel_table *kt);
/* gemm_ex with the tile kt already chosen (cattn_gemm_table): a batch of products of one shape
 * chooses once (gemm.c). */
void cattn_sgemm_tile(float *c, ptrdiff_t rsc, ptrdiff_t csc, const float *a, ptrdiff_t rsa,
                      ptrdiff_t csa, const float *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t m,
                      ptrdiff_t n, ptrdiff_t k, int accumulate, const cattn_kernel_table *kt);
void cattn_dgemm_tile(double *c, ptrdiff_t rsc, ptrdiff_t csc, const double *a, ptrdiff_t rsa,
                      ptrdiff_t csa, const double *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t m,
                      ptrdiff_t n, ptrdiff_t k, int accumulate, const cattn_kernel_table *kt);
/* softmax / log_softmax of m rows of n (softmax.c): row r at x + r·ldx, its elements incx apart;
 * stream = 1 writes softmax's rows around the caches (contiguous rows; the caller decides from
 * the whole output's size, CATTN_STREAM_BYTES) and fences before returning. */
void cattn_ssoftmax_rows(float *y, ptrdiff_t ldy, ptrdiff_t incy, const float *x, ptrdiff_t ldx,
                         ptrdiff_t incx, ptrdiff_t m, ptrdiff_t n, int stream,
                         const cattn_kernel_table *kt);
void cattn_dsoftmax_rows(double *y, ptrdiff_t ldy, ptrdiff_t incy, const double *x,
                         ptrdiff_t ldx, ptrdiff_t incx, ptrdiff_t m, ptrdiff_t n, int stream,
                         const cattn_kernel_table *kt);
void cattn_slog_softmax_rows(float *y, ptrdiff_t ldy, ptrdiff_t incy, const float *x,
                             ptrdiff_t ldx, ptrdiff_t incx, ptrdiff_t m, ptrdiff_t n,
                             const cattn_kernel_table *kt);
void cattn_dlog_softmax_rows(double *y, ptrdiff_t ldy, ptrdiff_t incy, const double *x,
                             ptrdiff_t ldx, ptrdiff_t incx, ptrdiff_t m, ptrdiff_t n,
                             const cattn_kernel_table *kt);
/* softmax / log_softmax of one row (softmax.c) */
void cattn_ssoftmax_kt(float *y, ptrdiff_t incy, const float *x, ptrdiff_t incx, ptrdiff_t n,
                       const cattn_kernel_table *kt);
void cattn_dsoftmax_kt(double *y, ptrdiff_t incy, const double *x, ptrdiff_t incx, ptrdiff_t n,
                       const cattn_kernel_table *kt);
void cattn_slog_softmax_kt(float *y, ptrdiff_t incy, const float *x, ptrdiff_t incx,
                           ptrdiff_t n, const cattn_kernel_table *kt);
void cattn_dlog_softmax_kt(double *y, ptrdiff_t incy, const double *x, ptrdiff_t incx,
                           ptrdiff_t n, const cattn_kernel_table *kt);
/* softmax / log_softmax backward of one row (softmax.c) */
void cattn_ssoftmax_backward_kt(float *dx, ptrdiff_t incdx, const float *y, ptrdiff_t incy,
                                const float *g, ptrdiff_t incg, ptrdiff_t n,
                                const cattn_kernel_table *kt);
void cattn_dsoftmax_backward_kt(double *dx, ptrdiff_t incdx, const double *y, ptrdiff_t incy,
                                const double *g, ptrdiff_t incg, ptrdiff_t n,
                                const cattn_kernel_table *kt);
void cattn_slog_softmax_backward_kt(float *dx, ptrdiff_t incdx, const float *y, ptrdiff_t incy,
                                    const float *g, ptrdiff_t incg, ptrdiff_t n,
                                    const cattn_kernel_table *kt);
void cattn_dlog_softmax_backward_kt(double *dx, ptrdiff_t incdx, const double *y,
                                    ptrdiff_t incy, const double *g, ptrdiff_t incg, ptrdiff_t n,
                                    const cattn_kernel_table *kt);

/* the half-precision rows (half.c) with the table of one call: bf16 1 = bfloat16, 0 = float16;
 * log 1 = log_softmax; ref 1 = the float reference kernels */
int cattn_half_softmax_kt(int bf16, int log, int ref, cattn_half *y, ptrdiff_t incy,
                          const cattn_half *x, ptrdiff_t incx, ptrdiff_t n,
                          const cattn_kernel_table *kt);
int cattn_half_softmax_backward_kt(int bf16, int log, int ref, cattn_half *dx, ptrdiff_t incdx,
                                   const cattn_half *y, ptrdiff_t incy, const cattn_half *g,
                                   ptrdiff_t incg, ptrdiff_t n, const cattn_kernel_table *kt);

/* The blocked driver's pieces (gemm.c), for drivers that pack their own blocks (half_gemm.c):
 * its inner block size along k (the sums of a product are blocked by it, so a driver that keeps
 * it gets the same bits), packing a block of a (mc,kc) into MR-row panels, and the two loops
 * around the microkernel: c (mc,nc) (+)= packed a · packed b (a (kc,nc) block of gemm_pack_b). */
#define CATTN_GEMM_KC 512 /* (gemm.c: why 512) */
void cattn_sgemm_pack_a(float *ap, const float *a, ptrdiff_t rsa, ptrdiff_t csa, ptrdiff_t mc,
                        ptrdiff_t kc, const cattn_kernel_table *kt);
void cattn_dgemm_pack_a(double *ap, const double *a, ptrdiff_t rsa, ptrdiff_t csa, ptrdiff_t mc,
                        ptrdiff_t kc, const cattn_kernel_table *kt);
void cattn_sgemm_macro(float *c, ptrdiff_t rsc, ptrdiff_t csc, const float *ap, const float *bp,
                       ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, int accumulate,
                       const cattn_kernel_table *kt);
void cattn_dgemm_macro(double *c, ptrdiff_t rsc, ptrdiff_t csc, const double *ap,
                       const double *bp, ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, int accumulate,
                       const cattn_kernel_table *kt);

/* GEMM over half operands (half_gemm.c): the driver with the table of one call, its oracle, and
 * the packing of a half b as float panels (the layout of gemm_pack_b; `row`: max(k, n) floats of
 * scratch), which attention's half path shares. */
int cattn_half_gemm_kt(int bf16, cattn_half *c, ptrdiff_t rsc, ptrdiff_t csc, const cattn_half *a,
                       ptrdiff_t rsa, ptrdiff_t csa, const cattn_half *b, ptrdiff_t rsb,
                       ptrdiff_t csb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                       const cattn_kernel_table *kt);
/* ... with float32 a or c (the multi-head projections: half x and w into float heads, float
 * heads and half w_o into a float block): io is CATTN_HG_A_FLOAT and/or CATTN_HG_C_FLOAT, strides
 * in each one's elements.  A float a never takes the bfloat16 pair tile. */
#define CATTN_HG_A_FLOAT 1
#define CATTN_HG_C_FLOAT 2
int cattn_half_gemm_io(int bf16, int io, void *c, ptrdiff_t rsc, ptrdiff_t csc, const void *a,
                       ptrdiff_t rsa, ptrdiff_t csa, const cattn_half *b, ptrdiff_t rsb,
                       ptrdiff_t csb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                       const cattn_kernel_table *kt);
int cattn_half_gemm_ref(int bf16, cattn_half *c, ptrdiff_t rsc, ptrdiff_t csc,
                        const cattn_half *a, ptrdiff_t rsa, ptrdiff_t csa, const cattn_half *b,
                        ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k);
/* n halves (inc apart) to floats, and back (rounded), through the table's rows when contiguous
 * (half.c): how every half kernel loads and stores */
void cattn_half_to_float(float *dst, const cattn_half *src, ptrdiff_t inc, ptrdiff_t n, int bf16,
                         const cattn_kernel_table *kt);
void cattn_float_to_half(cattn_half *dst, ptrdiff_t inc, const float *src, ptrdiff_t n,
                         int bf16, const cattn_kernel_table *kt);
/* attention over half q, k, v, out and weights (attention.c; half 1 float16, 2 bfloat16), lse
 * float, the mask float32 or boolean; and its oracle, through float copies (half.c) */
int cattn_sattention_half(int half, cattn_half *out, ptrdiff_t rso, ptrdiff_t cso,
                          const cattn_half *q, ptrdiff_t rsq, ptrdiff_t csq,
                          const cattn_half *k, ptrdiff_t rsk, ptrdiff_t csk,
                          const cattn_half *v, ptrdiff_t rsv, ptrdiff_t csv,
                          ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev,
                          const cattn_attn_call *c);
int cattn_half_attention_ref(int half, cattn_half *out, ptrdiff_t rso, ptrdiff_t cso,
                             const cattn_half *q, ptrdiff_t rsq, ptrdiff_t csq,
                             const cattn_half *k, ptrdiff_t rsk, ptrdiff_t csk,
                             const cattn_half *v, ptrdiff_t rsv, ptrdiff_t csv,
                             ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev,
                             const cattn_attn_call *c);
/* attention's backward over half q, k, v, out, dout and dq, dk, dv (attention_grad.c; half 1
 * float16, 2 bfloat16; strides in halves), lse and dmask float, the mask float32 or boolean; and
 * its oracle, through float copies (half.c) */
int cattn_sattention_backward_half(int half, cattn_out dq, cattn_out dk, cattn_out dv,
                                   cattn_out dmask, cattn_in q, cattn_in k, cattn_in v,
                                   cattn_in out, cattn_in lse, cattn_in dout, ptrdiff_t L,
                                   ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev, const cattn_attn_call *c);
int cattn_half_attention_backward_ref(int half, cattn_out dq, cattn_out dk, cattn_out dv,
                                      cattn_out dmask, cattn_in q, cattn_in k, cattn_in v,
                                      cattn_in out, cattn_in lse, cattn_in dout, ptrdiff_t L,
                                      ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev,
                                      const cattn_attn_call *c);
/* multi-head attention over half x, w, b and out (mha.c; half 1 float16, 2 bfloat16), float32
 * heads inside (saved: the caller's float32 heads and lse); and its oracle, through float copies
 * (half.c) */
int cattn_smha_half(int half, CATTN_MHA_ARGS);
int cattn_half_mha_ref(int half, CATTN_MHA_ARGS);
/* ... and its backward, from the saved float32 forward: x, w, dout and the gradients of x, w
 * and b half, the mask's gradient float32 (mha.c); and its oracle, through float copies */
int cattn_smha_backward_half(int half, CATTN_MHA_BACKWARD_ARGS);
int cattn_half_mha_backward_ref(int half, CATTN_MHA_BACKWARD_ARGS);
void cattn_half_pack_b(float *bp, const cattn_half *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t k,
                       ptrdiff_t n, int bf16, float *row, const cattn_kernel_table *kt);
/* The bfloat16 pair tile's pieces (half_gemm.c), which attention's bfloat16 path shares:
 * pack_b_pairs: b (kc,nc) as panels of nr columns, nr·ceil(kc/2) words each, word p·nr + j of
 *               a panel = (b[2p, j], b[2p+1, j]), zero-padded;
 * pack_a_pairs: a (mc,kc) as panels of mr rows, word p·mr + i = (a[i, 2p], a[i, 2p+1]);
 * bgemm_macro:  c (mc,nc) (+)= a · packed b over kp pairs, b's panels bps words apart; a packed
 *               (rsa 1, csa mr) or rows of words read in place (csa 1: rows up to a whole
 *               panel past mc are read, their products discarded). */
void cattn_pack_b_pairs(uint32_t *bp, const cattn_half *b, ptrdiff_t rsb, ptrdiff_t csb,
                        ptrdiff_t kc, ptrdiff_t nc, ptrdiff_t nr);
void cattn_pack_a_pairs(uint32_t *ap, const cattn_half *a, ptrdiff_t rsa, ptrdiff_t csa,
                        ptrdiff_t mc, ptrdiff_t kc, ptrdiff_t mr);
void cattn_bgemm_macro(float *c, ptrdiff_t ldc, const uint32_t *a, ptrdiff_t rsa, ptrdiff_t csa,
                       const uint32_t *bp, ptrdiff_t bps, ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kp,
                       int accumulate, const cattn_kernel_table *kt);

/* GEMM with b packed once and reused (attention packs k and v once per call, gemm.c):
 * gemm_pack_b packs b (k,n) into panels of NR columns over the whole k (gemm_packed_size
 * elements); gemm_packed_b computes c (m,n) (+)= a (m,k) · packed b (the first k of its kp rows),
 * reading a in place. */
size_t cattn_sgemm_packed_size(ptrdiff_t k, ptrdiff_t n, const cattn_kernel_table *kt);
size_t cattn_dgemm_packed_size(ptrdiff_t k, ptrdiff_t n, const cattn_kernel_table *kt);
void cattn_sgemm_pack_b(float *bp, const float *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t k,
                        ptrdiff_t n, const cattn_kernel_table *kt);
void cattn_dgemm_pack_b(double *bp, const double *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t k,
                        ptrdiff_t n, const cattn_kernel_table *kt);
/* rows p0.. of bp */
const float *cattn_sgemm_packed_from(const float *bp, ptrdiff_t p0, const cattn_kernel_table *kt);
const double *cattn_dgemm_packed_from(const double *bp, ptrdiff_t p0,
                                      const cattn_kernel_table *kt);
void cattn_sgemm_packed_b(float *c, ptrdiff_t rsc, ptrdiff_t csc, const float *a, ptrdiff_t rsa,
                          ptrdiff_t csa, const float *bp, ptrdiff_t kp, ptrdiff_t m, ptrdiff_t n,
                          ptrdiff_t k, int accumulate, const cattn_kernel_table *kt);
void cattn_dgemm_packed_b(double *c, ptrdiff_t rsc, ptrdiff_t csc, const double *a, ptrdiff_t rsa,
                          ptrdiff_t csa, const double *bp, ptrdiff_t kp, ptrdiff_t m, ptrdiff_t n,
                          ptrdiff_t k, int accumulate, const cattn_kernel_table *kt);

/* The cost model (cost.c): time = padded work ÷ measured rate.
 * gemm_rate:  multiply-adds per ns of kt's microkernel (dbl: CATTN_RATE_*), measured once per
 *             process on first use -- with every tile and dtype a choice compares it with, in
 *             turns -- or as injected by set_gemm_rate for one tile (kt->tile) or all of a
 *             level's (rate 0: measure again);
 * tile_cost:  ns for a product (m,n,k) in whole (mr,nr) tiles at `rate`;
 * gemm_table: of kt and the tables down its narrow chain, the tile that computes (m,n,k)
 *             soonest (the same bits whichever);
 * work_rate:  float32 flops per ns of the active level, threads.c's clock for "work";
 * bgemm_pays: 1 when kt's bfloat16 pair tile computes a bfloat16 product (m,n,k) sooner than the
 *             float32 tile would after converting (0 when kt has none). */
#define CATTN_RATE_F32 0
#define CATTN_RATE_F64 1
#define CATTN_RATE_BF16 2 /* the bfloat16 pair tile (bgemm_ukr); 0 where the table has none */
double cattn_gemm_rate(const cattn_kernel_table *kt, int dbl);
double cattn_gemm_rate_known(const cattn_kernel_table *kt, int dbl); /* 0: not yet measured */
void cattn_set_gemm_rate(cattn_level level, int tile, int all_tiles, int dbl, double rate);
double cattn_tile_cost(ptrdiff_t mr, ptrdiff_t nr, double rate, ptrdiff_t m, ptrdiff_t n,
                       ptrdiff_t k);
const cattn_kernel_table *cattn_gemm_table(const cattn_kernel_table *kt, int dbl, ptrdiff_t m,
                                           ptrdiff_t n, ptrdiff_t k);
double cattn_work_rate(void);
int cattn_bgemm_pays(const cattn_kernel_table *kt, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k);
/* The table of a level this CPU and build offer, or NULL (cpu.c). */
const cattn_kernel_table *cattn_kernels_of(cattn_level level);

/* Threads (threads.c): fn(ctx, begin, end) over [0, n), cut into up to chunks_per_thread
 * contiguous ranges per thread, taken in turn by cattn_get_num_threads() threads -- fewer when
 * `work` (about the flops) is too small to pay for them, one inside a worker.  Any range may run
 * on any thread: fn must compute each item the same way whatever range it comes in.  Use 1 chunk
 * per thread where starting a range costs (packing shared by its items), more to balance load. */
typedef void (*cattn_range_fn)(void *ctx, ptrdiff_t begin, ptrdiff_t end);
void cattn_parallel_for(ptrdiff_t n, double work, int chunks_per_thread, cattn_range_fn fn,
                        void *ctx);
/* How many threads cattn_parallel_for(n, work, ...) would use from here: as many as give each
 * at least 10 µs of work, timed by the rate source (cattn_work_rate once cattn_init has run;
 * without one, as pool_stress.c runs threads.c alone, 50 flops per ns). */
ptrdiff_t cattn_parallel_threads(ptrdiff_t n, double work);
void cattn_threads_set_rate_source(double (*flops_per_ns)(void));

/* Overflow-checked size arithmetic for scratch buffers: 0 on success, -1 on overflow. */
static inline int cattn_mul_size(size_t *r, size_t a, size_t b)
{
    if (b != 0 && a > (size_t)-1 / b) return -1;
    *r = a * b;
    return 0;
}

/* Scratch aligned to 64 bytes (a cache line), or NULL; free it with cattn_free_aligned only.
 * Windows' C library has no aligned_alloc: its _aligned_malloc needs its own free. */
static inline void *cattn_alloc_aligned(size_t bytes)
{
    if (bytes > (size_t)-1 - 63) return NULL;
    bytes = (bytes + 63) & ~(size_t)63;
#if defined(_WIN32)
    return _aligned_malloc(bytes ? bytes : 64, 64);
#else
    return aligned_alloc(64, bytes ? bytes : 64);
#endif
}
static inline void cattn_free_aligned(void *p)
{
#if defined(_WIN32)
    _aligned_free(p);
#else
    free(p);
#endif
}

#endif /* CATTN_KERNELS_H */
