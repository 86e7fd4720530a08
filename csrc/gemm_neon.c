/* gemm_neon.c -- register-blocked GEMM microkernels for ARM64 NEON (Advanced SIMD: no flag
 * needed, every ARM64 CPU has it; on x86-64 only in a SIMDe test build, neon.h).
 *
 * float:  c (12,8) (+)= a (12,k) · b (k,8): 24 q-register accumulators (12 rows × 2 vectors of 4),
 * double: c (12,4) (+)= a (12,k) · b (k,4): 24 accumulators (12 rows × 2 vectors of 2).
 * Per step p: two vector loads of the packed b row, twelve broadcasts of the a column, twenty-four
 * FMAs (fmla).  24 accumulators + 2 b vectors + 1 broadcast fit the 32 NEON registers, and 12
 * rows divide the drivers' 96 / 48-row blocks of a, as for AVX-512.  The tile of c is prefetched
 * when the kernel starts (ukr.h).
 */
#include "kernels.h"
#include "neon.h"
#include "ukr.h"

#define SMR 12
#define SNR 8
#define DMR 12
#define DNR 4

/* a is read with strides (rsa, csa), in four groups of three rows: a0, a3, a6, a9.  Rows 10 and
 * 11 of the tile are named A and B in the accumulators' names. */
#define UKR_BODY(NR_)                                                                         \
    VEC c00 = ZERO(), c01 = ZERO(), c10 = ZERO(), c11 = ZERO(), c20 = ZERO(), c21 = ZERO();   \
    VEC c30 = ZERO(), c31 = ZERO(), c40 = ZERO(), c41 = ZERO(), c50 = ZERO(), c51 = ZERO();   \
    VEC c60 = ZERO(), c61 = ZERO(), c70 = ZERO(), c71 = ZERO(), c80 = ZERO(), c81 = ZERO();   \
    VEC c90 = ZERO(), c91 = ZERO(), cA0 = ZERO(), cA1 = ZERO(), cB0 = ZERO(), cB1 = ZERO();   \
    PREFETCH_C(12, NR_)                                                                       \
    const TY *a0 = a, *a3 = a + 3 * rsa, *a6 = a + 6 * rsa, *a9 = a + 9 * rsa;                \
    for (ptrdiff_t p = 0; p < k; p++) {                                                       \
        VEC b0 = LOAD(b), b1 = LOAD(b + W), ai;                                               \
        ai = BCAST(*a0); ROW_FMA(0, ai)                                                       \
        ai = BCAST(a0[rsa]); ROW_FMA(1, ai)                                                   \
        ai = BCAST(a0[2 * rsa]); ROW_FMA(2, ai)                                               \
        ai = BCAST(*a3); ROW_FMA(3, ai)                                                       \
        ai = BCAST(a3[rsa]); ROW_FMA(4, ai)                                                   \
        ai = BCAST(a3[2 * rsa]); ROW_FMA(5, ai)                                               \
        ai = BCAST(*a6); ROW_FMA(6, ai)                                                       \
        ai = BCAST(a6[rsa]); ROW_FMA(7, ai)                                                   \
        ai = BCAST(a6[2 * rsa]); ROW_FMA(8, ai)                                               \
        ai = BCAST(*a9); ROW_FMA(9, ai)                                                       \
        ai = BCAST(a9[rsa]); ROW_FMA(A, ai)                                                   \
        ai = BCAST(a9[2 * rsa]); ROW_FMA(B, ai)                                               \
        a0 += csa;                                                                            \
        a3 += csa;                                                                            \
        a6 += csa;                                                                            \
        a9 += csa;                                                                            \
        b += NR_;                                                                             \
    }                                                                                         \
    STORE_ROW(0, 0); STORE_ROW(1, 1); STORE_ROW(2, 2); STORE_ROW(3, 3); STORE_ROW(4, 4);      \
    STORE_ROW(5, 5); STORE_ROW(6, 6); STORE_ROW(7, 7); STORE_ROW(8, 8); STORE_ROW(9, 9);      \
    STORE_ROW(A, 10); STORE_ROW(B, 11);

void cattn_sgemm_ukr_neon(ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                          const float *b, float *c, ptrdiff_t rsc, ptrdiff_t csc, int accumulate)
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
    UKR_BODY(SNR)
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

void cattn_dgemm_ukr_neon(ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                          const double *b, double *c, ptrdiff_t rsc, ptrdiff_t csc, int accumulate)
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
    UKR_BODY(DNR)
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

float cattn_sexp_sum_neon(float *y, const float *x, float scale, float shift, ptrdiff_t n);
double cattn_dexp_sum_neon(double *y, const double *x, double scale, double shift, ptrdiff_t n);
float cattn_smax_neon(const float *x, ptrdiff_t n);
double cattn_dmax_neon(const double *x, ptrdiff_t n);

/* Overwrite the table entries this level provides (called by cpu.c after the probe). */
void cattn_kernels_fill_neon(cattn_kernel_table *t)
{
    t->smr = SMR;
    t->snr = SNR;
    t->sgemm_ukr = cattn_sgemm_ukr_neon;
    t->dmr = DMR;
    t->dnr = DNR;
    t->dgemm_ukr = cattn_dgemm_ukr_neon;
    t->sexp_sum = cattn_sexp_sum_neon;
    t->dexp_sum = cattn_dexp_sum_neon;
    t->smax = cattn_smax_neon;
    t->dmax = cattn_dmax_neon;
}
