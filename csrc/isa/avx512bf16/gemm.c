/* isa/avx512bf16/gemm.c -- the bfloat16 GEMM microkernel for AVX512-BF16 (compiled with
 * -mavx512bf16, run only after cpu.c's probe; a test build runs it on SIMDe's emulation).
 *
 *   c (12,32) (+)= a (12,2kp) · b (2kp,32),  a and b bfloat16 in pairs along k, c float32:
 *   c_ij += a_i,2p · b_2p,j + a_i,2p+1 · b_2p+1,j   for each pair p < kp (one vdpbf16ps lane)
 *
 * Operands, as words of two bfloat16 neighbours along k, the first in the low half:
 *   a: row i's pair p at a[i·rsa + p·csa]: packed panels (kernels/half_gemm.c: rsa 1, csa 12),
 *      or rows of bfloat16 read in place (attention's weights: rsa its row stride in words,
 *      csa 1);
 *   b: packed, per pair p 32 words: column j's (b_2p,j, b_2p+1,j).
 * Per step p: two vector loads of b (16 columns each), twelve broadcasts of a's words,
 * twenty-four vdpbf16ps, each two multiply-adds per lane: twice the float32 tile's work per
 * instruction.  24 accumulators + 2 b vectors + 1 broadcast fit the 32 zmm registers.
 *
 * Numerics (the instruction's, not ours): each product of two bfloat16 values is exact in
 * float32; the pair's two products are added to the lane one after the other, each addition
 * rounded to nearest even; denormal inputs are read as zero and denormal results flushed to zero
 * (SIMDe's emulation keeps them).  So c is within a float32 rounding per pair of the exact sum.
 */
#include "bf16.h"

#define STEP(i, ap, off)                                                                      \
    {                                                                                         \
        __m512bh ai = as_bh(_mm512_set1_epi32((int)(ap)[off]));                               \
        c##i##0 = _mm512_dpbf16_ps(c##i##0, ai, b0);                                          \
        c##i##1 = _mm512_dpbf16_ps(c##i##1, ai, b1);                                          \
    }
#define STORE_ROW(i)                                                                          \
    {                                                                                         \
        float *ci = c + (i) * rsc;                                                            \
        if (csc == 1) {                                                                       \
            if (accumulate) {                                                                 \
                c##i##0 = _mm512_add_ps(c##i##0, _mm512_loadu_ps(ci));                        \
                c##i##1 = _mm512_add_ps(c##i##1, _mm512_loadu_ps(ci + 16));                   \
            }                                                                                 \
            _mm512_storeu_ps(ci, c##i##0);                                                    \
            _mm512_storeu_ps(ci + 16, c##i##1);                                               \
        } else {                                                                              \
            float t[BNR];                                                                     \
            _mm512_storeu_ps(t, c##i##0);                                                     \
            _mm512_storeu_ps(t + 16, c##i##1);                                                \
            for (int j = 0; j < BNR; j++) ci[j * csc] = accumulate ? ci[j * csc] + t[j] : t[j]; \
        }                                                                                     \
    }
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define DECLARE(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();

void cattn_bgemm_ukr_avx512bf16(ptrdiff_t kp, const uint32_t *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const uint32_t *b, float *c, ptrdiff_t rsc, ptrdiff_t csc,
                                int accumulate)
{
    ROWS(DECLARE)
    for (int r = 0; r < BMR; r++) CATTN_PREFETCH(c + r * rsc);
    const uint32_t *a0 = a, *a4 = a + 4 * rsa, *a8 = a + 8 * rsa;
    for (ptrdiff_t p = 0; p < kp; p++) {
        __m512bh b0 = as_bh(_mm512_loadu_si512((const void *)b));
        __m512bh b1 = as_bh(_mm512_loadu_si512((const void *)(b + 16)));
        STEP(0, a0, 0) STEP(1, a0, rsa) STEP(2, a0, 2 * rsa) STEP(3, a0, 3 * rsa)
        STEP(4, a4, 0) STEP(5, a4, rsa) STEP(6, a4, 2 * rsa) STEP(7, a4, 3 * rsa)
        STEP(8, a8, 0) STEP(9, a8, rsa) STEP(10, a8, 2 * rsa) STEP(11, a8, 3 * rsa)
        a0 += csa;
        a4 += csa;
        a8 += csa;
        b += BNR;
    }
    ROWS(STORE_ROW)
}
