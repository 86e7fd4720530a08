/* isa/avx512bf16/rows.c -- decoding's scores over bfloat16 keys with AVX512-BF16:
 *
 *   s[r·lds + j] = q_r · k_j   (r < m, j < n; rows of e values, k bfloat16)
 *
 * as the avx512 level's bdot_rows (kernels/rows_simd.inc: four query rows against four adjacent
 * keys, 16 sums in registers, each row's four scores reduced together into one store, the keys
 * 32 ahead fetched into L2), but multiplying bfloat16 pairs along e with vdpbf16ps instead of
 * converting each key to floats and using FMAs: 16 instructions per key where that takes 32
 * FMAs and 8 conversions, the keys read as they are.  q's rows are rounded to bfloat16 first --
 * exact for the decoder's query, which is bfloat16 whenever its keys are (attention's half path
 * takes one dtype for q, k and v).  Rows whose e is not a multiple of 32, or longer than
 * BD_MAXE, take the avx512 kernel.
 *
 * The weighted sum over bfloat16 values stays the avx512 level's (its panels, float weights):
 * a vdpbf16ps version here, weights rounded to bfloat16 pairs and values interleaved into pairs,
 * ran at its speed with the values in cache and 0.75x from memory (16.4 against 12.2 ns a key,
 * d 128, Zen 4), and rounded the weights once more. */
#include "bf16.h"
#include "isa/avx512/sum4.h"
#include "kernels/half.h"

#define BD_MAXE 1024
#define BD_AHEAD 32 /* keys ahead fetched into L2 (rows_simd.inc's DOT_AHEAD for half keys) */


void cattn_bdot_rows_avx512bf16(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,
                                ptrdiff_t m, const cattn_half *k, ptrdiff_t ldk, ptrdiff_t n,
                                ptrdiff_t e)
{
    if (e % 32 != 0 || e > BD_MAXE) {
        cattn_bdot_rows_avx512(s, lds, q, ldq, m, k, ldk, n, e);
        return;
    }
    const ptrdiff_t n4 = n / 4 * 4;
    cattn_half qb[4][BD_MAXE];
    for (ptrdiff_t r0 = 0; r0 < m; r0 += 4) {
        const ptrdiff_t mr = m - r0 < 4 ? m - r0 : 4;
        /* 1. the group's query rows in bfloat16 (a short last group repeats its first row) */
        for (int r = 0; r < 4; r++)
            for (ptrdiff_t c = 0; c < e; c++) qb[r][c] = cattn_f2b(q[(r0 + (r < mr ? r : 0)) * ldq + c]);
        /* 2. keys j .. j + 3 together (keys past n repeat key j): each load of q meets four */
        for (ptrdiff_t j = 0; j < n; j += 4) {
            const cattn_half *kk[4];
            for (int t = 0; t < 4; t++) kk[t] = k + (j + t < n ? j + t : j) * ldk;
            if (j + 4 + BD_AHEAD < n)  /* (as one run of memory: see rows_simd.inc) */
                for (ptrdiff_t c = 0; c < 4 * ldk && c < 4 * e; c += 32)
                    _mm_prefetch((const char *)(kk[0] + BD_AHEAD * ldk + c), _MM_HINT_T1);
            __m512 a[4][4];
            for (int t = 0; t < 4; t++)
                for (int r = 0; r < 4; r++) a[t][r] = _mm512_setzero_ps();
            for (ptrdiff_t c = 0; c < e; c += 32) {
                __m512bh x[4];
                for (int t = 0; t < 4; t++)
                    x[t] = as_bh(_mm512_loadu_si512((const void *)(kk[t] + c)));
                for (int r = 0; r < 4; r++) {
                    const __m512bh y = as_bh(_mm512_loadu_si512((const void *)(qb[r] + c)));
                    for (int t = 0; t < 4; t++) a[t][r] = _mm512_dpbf16_ps(a[t][r], y, x[t]);
                }
            }
            /* 3. each row's four scores (constant indices: the sums stay in registers) */
            float o[4][4];
            for (int r = 0; r < 4; r++) {
                const __m512 b[4] = {a[0][r], a[1][r], a[2][r], a[3][r]};
                sum4_ps(b, o[r]);
            }
            if (j < n4 && mr == 4) {
                for (int r = 0; r < 4; r++) memcpy(s + (r0 + r) * lds + j, o[r], sizeof o[r]);
                continue;
            }
            for (ptrdiff_t r = 0; r < mr; r++)
                for (int t = 0; t < 4 && j + t < n; t++) s[(r0 + r) * lds + j + t] = o[r][t];
        }
    }
}
