/* isa/avx2/gemm.c -- register-blocked GEMM microkernels for AVX2 + FMA (compiled with -mavx2 -mfma,
 * run only after cpu.c's probe).
 *
 * float:  c (6,16) (+)= a (6,k) · b (k,16): 12 ymm accumulators (6 rows × 2 vectors of 8),
 * double: c (6,8)  (+)= a (6,k) · b (k,8):  12 ymm accumulators (6 rows × 2 vectors of 4).
 * Per step p: two vector loads of the packed b row, six broadcasts of the packed a column, twelve
 * FMAs -- the BLIS "haswell" shape, which keeps both FMA units busy and fits the 16 ymm registers.
 * The tile of c is prefetched when the kernel starts (ukr.h).
 */
#include <immintrin.h>
#include "runtime/dispatch.h"
#include "kernels/ukr.h"

#include "tile.h"

/* a is read with strides (rsa, csa): rows 0-2 from a0, rows 3-5 from a3 = a0 + 3 rsa. */
#define UKR_BODY(NR_)                                                                         \
    VEC c00 = ZERO(), c01 = ZERO(), c10 = ZERO(), c11 = ZERO(), c20 = ZERO(), c21 = ZERO();   \
    VEC c30 = ZERO(), c31 = ZERO(), c40 = ZERO(), c41 = ZERO(), c50 = ZERO(), c51 = ZERO();   \
    PREFETCH_C(6, NR_)                                                                        \
    const TY *a0 = a, *a3 = a + 3 * rsa;                                                      \
    for (ptrdiff_t p = 0; p < k; p++) {                                                       \
        VEC b0 = LOAD(b), b1 = LOAD(b + W), ai;                                               \
        ai = BCAST(a0); ROW_FMA(0, ai)                                                        \
        ai = BCAST(a0 + rsa); ROW_FMA(1, ai)                                                  \
        ai = BCAST(a0 + 2 * rsa); ROW_FMA(2, ai)                                              \
        ai = BCAST(a3); ROW_FMA(3, ai)                                                        \
        ai = BCAST(a3 + rsa); ROW_FMA(4, ai)                                                  \
        ai = BCAST(a3 + 2 * rsa); ROW_FMA(5, ai)                                              \
        a0 += csa;                                                                            \
        a3 += csa;                                                                            \
        b += ldb;                                                                             \
    }                                                                                         \
    STORE_ROW(0, 0); STORE_ROW(1, 1); STORE_ROW(2, 2);                                        \
    STORE_ROW(3, 3); STORE_ROW(4, 4); STORE_ROW(5, 5);

void cattn_sgemm_ukr_avx2(ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                          const float *b, ptrdiff_t ldb, float *c, ptrdiff_t rsc,
                          ptrdiff_t csc, int accumulate)
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
    UKR_BODY(SNR)
#include "kernels/ukr_undef.h"
}

void cattn_dgemm_ukr_avx2(ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                          const double *b, ptrdiff_t ldb, double *c, ptrdiff_t rsc,
                          ptrdiff_t csc, int accumulate)
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
    UKR_BODY(DNR)
#include "kernels/ukr_undef.h"
}
