/* gemm_avx2.c -- register-blocked GEMM microkernels for AVX2 + FMA (compiled with -mavx2 -mfma,
 * run only after cpu.c's probe).
 *
 * float:  c (6,16) (+)= a (6,k) · b (k,16): 12 ymm accumulators (6 rows × 2 vectors of 8),
 * double: c (6,8)  (+)= a (6,k) · b (k,8):  12 ymm accumulators (6 rows × 2 vectors of 4).
 * Per step p: two vector loads of the packed b row, six broadcasts of the packed a column, twelve
 * FMAs -- the BLIS "haswell" shape, which keeps both FMA units busy and fits the 16 ymm registers.
 * The tile of c is prefetched when the kernel starts, so that its loads at the end do not stall
 * (measured: 10-20 % faster GEMMs at n >= 1024, where c no longer fits the caches).
 */
#include <immintrin.h>
#include "kernels.h"

#define SMR 6
#define SNR 16
#define DMR 6
#define DNR 8

/* The twelve accumulators are named variables, not an array: GCC keeps an array in memory and
 * stores it on every step, which halves the speed. */
#define ROW_FMA(V, i, ai)                  \
    c##i##0 = FMA(ai, b0, c##i##0);        \
    c##i##1 = FMA(ai, b1, c##i##1);

/* Write (or add) one accumulator row pair to c, contiguous or through a small buffer. */
#define STORE_ROW(i)                                                                          \
    do {                                                                                      \
        if (csc == 1) {                                                                       \
            TY *ci = c + (i) * rsc;                                                           \
            if (accumulate) {                                                                 \
                c##i##0 = ADD(c##i##0, LOAD(ci));                                             \
                c##i##1 = ADD(c##i##1, LOAD(ci + W));                                         \
            }                                                                                 \
            STORE(ci, c##i##0);                                                               \
            STORE(ci + W, c##i##1);                                                           \
        } else {                                                                              \
            TY t[2 * W];                                                                      \
            STORE(t, c##i##0);                                                                \
            STORE(t + W, c##i##1);                                                            \
            for (int j = 0; j < 2 * W; j++) {                                                 \
                TY *x = c + (i) * rsc + j * csc;                                              \
                *x = accumulate ? *x + t[j] : t[j];                                           \
            }                                                                                 \
        }                                                                                     \
    } while (0)

/* a is read with strides (rsa, csa): rows 0-2 from a0, rows 3-5 from a3 = a0 + 3 rsa. */
#define UKR_BODY(MR_, NR_)                                                                    \
    VEC c00 = ZERO(), c01 = ZERO(), c10 = ZERO(), c11 = ZERO(), c20 = ZERO(), c21 = ZERO();   \
    VEC c30 = ZERO(), c31 = ZERO(), c40 = ZERO(), c41 = ZERO(), c50 = ZERO(), c51 = ZERO();   \
    for (int r = 0; r < 6; r++) { /* c's tile is needed at the end: fetch it now */           \
        _mm_prefetch((const char *)(c + r * rsc), _MM_HINT_T0);                               \
        _mm_prefetch((const char *)(c + r * rsc + (NR_ - 1) * csc), _MM_HINT_T0);             \
    }                                                                                         \
    const TY *a0 = a, *a3 = a + 3 * rsa;                                                      \
    for (ptrdiff_t p = 0; p < k; p++) {                                                       \
        VEC b0 = LOAD(b), b1 = LOAD(b + W), ai;                                               \
        ai = BCAST(a0); ROW_FMA(VEC, 0, ai)                                                   \
        ai = BCAST(a0 + rsa); ROW_FMA(VEC, 1, ai)                                             \
        ai = BCAST(a0 + 2 * rsa); ROW_FMA(VEC, 2, ai)                                         \
        ai = BCAST(a3); ROW_FMA(VEC, 3, ai)                                                   \
        ai = BCAST(a3 + rsa); ROW_FMA(VEC, 4, ai)                                             \
        ai = BCAST(a3 + 2 * rsa); ROW_FMA(VEC, 5, ai)                                         \
        a0 += csa;                                                                            \
        a3 += csa;                                                                            \
        b += NR_;                                                                             \
    }                                                                                         \
    (void)(MR_);                                                                                         \
    STORE_ROW(0); STORE_ROW(1); STORE_ROW(2); STORE_ROW(3); STORE_ROW(4); STORE_ROW(5);

void cattn_sgemm_ukr_avx2(ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                          const float *b, float *c, ptrdiff_t rsc, ptrdiff_t csc, int accumulate)
{
#define TY float
#define VEC __m256
#define W 8
#define ZERO _mm256_setzero_ps
#define LOAD _mm256_loadu_ps
#define STORE _mm256_storeu_ps
#define BCAST _mm256_broadcast_ss
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
    UKR_BODY(SMR, SNR)
#undef TY
#undef VEC
#undef W
#undef ZERO
#undef LOAD
#undef STORE
#undef BCAST
#undef FMA
#undef ADD
}

void cattn_dgemm_ukr_avx2(ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                          const double *b, double *c, ptrdiff_t rsc, ptrdiff_t csc, int accumulate)
{
#define TY double
#define VEC __m256d
#define W 4
#define ZERO _mm256_setzero_pd
#define LOAD _mm256_loadu_pd
#define STORE _mm256_storeu_pd
#define BCAST _mm256_broadcast_sd
#define FMA _mm256_fmadd_pd
#define ADD _mm256_add_pd
    UKR_BODY(DMR, DNR)
#undef TY
#undef VEC
#undef W
#undef ZERO
#undef LOAD
#undef STORE
#undef BCAST
#undef FMA
#undef ADD
}

float cattn_sexp_sum_avx2(float *y, const float *x, float scale, float shift, ptrdiff_t n);
double cattn_dexp_sum_avx2(double *y, const double *x, double scale, double shift, ptrdiff_t n);

/* Overwrite the table entries this level provides (called by cpu.c after the probe). */
void cattn_kernels_fill_avx2(cattn_kernel_table *t)
{
    t->smr = SMR;
    t->snr = SNR;
    t->sgemm_ukr = cattn_sgemm_ukr_avx2;
    t->dmr = DMR;
    t->dnr = DNR;
    t->dgemm_ukr = cattn_dgemm_ukr_avx2;
    t->sexp_sum = cattn_sexp_sum_avx2;
    t->dexp_sum = cattn_dexp_sum_avx2;
}
