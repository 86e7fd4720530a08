/* isa/neon/gemm.c -- register-blocked GEMM microkernels for ARM64 NEON (Advanced SIMD: no flag
 * needed, every ARM64 CPU has it; on x86-64 only in a SIMDe test build, neon.h).
 *
 * float:  c (12,8) (+)= a (12,k) · b (k,8): 24 q-register accumulators (12 rows × 2 vectors of 4),
 * double: c (12,4) (+)= a (12,k) · b (k,4): 24 accumulators (12 rows × 2 vectors of 2).
 * Per step p: two vector loads of the packed b row, twelve broadcasts of the a column, twenty-four
 * FMAs (fmla).  24 accumulators + 2 b vectors + 1 broadcast fit the 32 NEON registers, and 12
 * rows divide the drivers' 96 / 48-row blocks of a, as for AVX-512.  The tile of c is prefetched
 * when the kernel starts (ukr.h).
 */
#include "runtime/dispatch.h"
#include "neon.h"
#include "kernels/ukr.h"

#include "tile.h"

void cattn_sgemm_ukr_neon(ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                          const float *b, ptrdiff_t ldb, float *c, ptrdiff_t rsc,
                          ptrdiff_t csc, int accumulate)
{
#define TY float
#define VEC float32x4_t
#define W 4
#define ZERO() vdupq_n_f32(0.0f)
#define LOAD vld1q_f32
#define STORE vst1q_f32
#define BCAST vdupq_n_f32
#define FMA(x, y, acc) vfmaq_f32((acc), (x), (y))
#define ADD vaddq_f32
    UKR_BODY_12(SNR)
#include "kernels/ukr_undef.h"
}

void cattn_dgemm_ukr_neon(ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                          const double *b, ptrdiff_t ldb, double *c, ptrdiff_t rsc,
                          ptrdiff_t csc, int accumulate)
{
#define TY double
#define VEC float64x2_t
#define W 2
#define ZERO() vdupq_n_f64(0.0)
#define LOAD vld1q_f64
#define STORE vst1q_f64
#define BCAST vdupq_n_f64
#define FMA(x, y, acc) vfmaq_f64((acc), (x), (y))
#define ADD vaddq_f64
    UKR_BODY_12(DNR)
#include "kernels/ukr_undef.h"
}
