/* isa/avx512bf16/rows.c -- decoding's scores over bfloat16 keys with AVX512-BF16:
 *
 *   s[r·lds + j] = q_r · k_j   (r < m, j < n; rows of e values, k bfloat16)
 *
 * as the avx512 level's bdot_rows (kernels/rows_simd.inc: four query rows, keys j and h + j side
 * by side, two streams prefetched ahead), but multiplying bfloat16 pairs along e with vdpbf16ps
 * instead of converting each key to floats and using FMAs: 16 instructions per key where that
 * takes 32 FMAs and 8 conversions, the keys read as they are.  q's rows are rounded to bfloat16
 * first -- exact for the decoder's query, which is bfloat16 whenever its keys are (attention's
 * half path takes one dtype for q, k and v).  Rows whose e is not a multiple of 32, or longer
 * than BD_MAXE, take the avx512 kernel. */
#include "bf16.h"
#include "isa/avx512/sum4.h"
#include "kernels/half.h"

#define BD_MAXE 1024
#define BD_AHEAD 4 /* keys ahead prefetched in each stream (rows_simd.inc's ROWS_AHEAD) */


void cattn_bdot_rows_avx512bf16(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,
                                ptrdiff_t m, const cattn_half *k, ptrdiff_t ldk, ptrdiff_t n,
                                ptrdiff_t e)
{
    if (e % 32 != 0 || e > BD_MAXE) {
        cattn_bdot_rows_avx512(s, lds, q, ldq, m, k, ldk, n, e);
        return;
    }
    const ptrdiff_t h = (n + 1) / 2;
    cattn_half qb[4][BD_MAXE];
    for (ptrdiff_t r0 = 0; r0 < m; r0 += 4) {
        const ptrdiff_t mr = m - r0 < 4 ? m - r0 : 4;
        /* 1. the group's query rows in bfloat16 (a short last group repeats its first row) */
        for (int r = 0; r < 4; r++)
            for (ptrdiff_t c = 0; c < e; c++) qb[r][c] = cattn_f2b(q[(r0 + (r < mr ? r : 0)) * ldq + c]);
        /* 2. keys j and h + j together: each load of q meets two keys */
        for (ptrdiff_t j = 0; j < h; j++) {
            const int two = h + j < n;
            const cattn_half *k0 = k + j * ldk, *k1 = two ? k0 + h * ldk : k0;
            if (j + BD_AHEAD < h)
                for (ptrdiff_t c = 0; c < e; c += 32) {
                    _mm_prefetch((const char *)(k0 + BD_AHEAD * ldk + c), _MM_HINT_T0);
                    if (h + j + BD_AHEAD < n)
                        _mm_prefetch((const char *)(k1 + BD_AHEAD * ldk + c), _MM_HINT_T0);
                }
            __m512 a[4], b[4];
            for (int r = 0; r < 4; r++) a[r] = b[r] = _mm512_setzero_ps();
            for (ptrdiff_t c = 0; c < e; c += 32) {
                const __m512bh x0 = as_bh(_mm512_loadu_si512((const void *)(k0 + c)));
                const __m512bh x1 = as_bh(_mm512_loadu_si512((const void *)(k1 + c)));
                for (int r = 0; r < 4; r++) {
                    const __m512bh y = as_bh(_mm512_loadu_si512((const void *)(qb[r] + c)));
                    a[r] = _mm512_dpbf16_ps(a[r], y, x0);
                    b[r] = _mm512_dpbf16_ps(b[r], y, x1);
                }
            }
            float oa[4], ob[4];
            sum4_ps(a, oa);
            sum4_ps(b, ob);
            for (ptrdiff_t r = 0; r < mr; r++) {
                s[(r0 + r) * lds + j] = oa[r];
                if (two) s[(r0 + r) * lds + h + j] = ob[r];
            }
        }
    }
}

/* Decoding's weighted sum over bfloat16 values with AVX512-BF16:
 *
 *   o[r·ldo + c] += Σ_j p[r·ldp + j] v_j[c]   (r < m, c < e; v bfloat16)
 *
 * as the avx512 level's baxpy_rows (two streams of values, j, j+1 and h+j, h+j+1), but with
 * vdpbf16ps over pairs of keys: the weights p_j, p_j+1 rounded to bfloat16 as one pair (as
 * PyTorch's bfloat16 attention rounds its weights), the values v_j, v_j+1 interleaved into pairs
 * (vpunpck{l,h}wd: within each 128-bit lane, so the sums live in a permuted order of the
 * columns, in this call's own buffer, and are put back in order once, at the end). */

static inline uint32_t wpair(float a, float b)
{
    return (uint32_t)cattn_f2b(a) | (uint32_t)cattn_f2b(b) << 16;
}

void cattn_baxpy_rows_avx512bf16(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp,
                                 ptrdiff_t m, const cattn_half *v, ptrdiff_t ldv, ptrdiff_t n,
                                 ptrdiff_t e)
{
    if (e % 32 != 0 || e > BD_MAXE || m > 8) {
        cattn_baxpy_rows_avx512(o, ldo, p, ldp, m, v, ldv, n, e);
        return;
    }
    const ptrdiff_t h = n / 4 * 2;  /* keys j, j+1 of the first half beside h+j, h+j+1 */
    float acc[8][BD_MAXE];          /* per 32 columns: the 16 of unpacklo, then unpackhi's */
    for (ptrdiff_t r = 0; r < m; r++) memset(acc[r], 0, (size_t)e * sizeof(float));
    for (ptrdiff_t j = 0; j < h; j += 2) {
        const cattn_half *v0 = v + j * ldv, *v1 = v0 + ldv, *v2 = v + (h + j) * ldv, *v3 = v2 + ldv;
        __m512bh w0[8], w1[8];  /* each row's two weight pairs */
        for (ptrdiff_t r = 0; r < m; r++) {
            const float *pr = p + r * ldp;
            w0[r] = as_bh(_mm512_set1_epi32((int)wpair(pr[j], pr[j + 1])));
            w1[r] = as_bh(_mm512_set1_epi32((int)wpair(pr[h + j], pr[h + j + 1])));
        }
        for (ptrdiff_t c = 0; c < e; c += 32) {
            const __m512i x0 = _mm512_loadu_si512((const void *)(v0 + c));
            const __m512i x1 = _mm512_loadu_si512((const void *)(v1 + c));
            const __m512i x2 = _mm512_loadu_si512((const void *)(v2 + c));
            const __m512i x3 = _mm512_loadu_si512((const void *)(v3 + c));
            const __m512bh lo0 = as_bh(_mm512_unpacklo_epi16(x0, x1));
            const __m512bh hi0 = as_bh(_mm512_unpackhi_epi16(x0, x1));
            const __m512bh lo1 = as_bh(_mm512_unpacklo_epi16(x2, x3));
            const __m512bh hi1 = as_bh(_mm512_unpackhi_epi16(x2, x3));
            for (ptrdiff_t r = 0; r < m; r++) {
                float *a = acc[r] + c;
                __m512 lo = _mm512_loadu_ps(a), hi = _mm512_loadu_ps(a + 16);
                lo = _mm512_dpbf16_ps(lo, w0[r], lo0);
                hi = _mm512_dpbf16_ps(hi, w0[r], hi0);
                lo = _mm512_dpbf16_ps(lo, w1[r], lo1);
                hi = _mm512_dpbf16_ps(hi, w1[r], hi1);
                _mm512_storeu_ps(a, lo);
                _mm512_storeu_ps(a + 16, hi);
            }
        }
    }
    /* the sums back in column order, added to o: lane block b of unpacklo holds columns
     * 8b..8b+3, of unpackhi 8b+4..8b+7 */
    for (ptrdiff_t r = 0; r < m; r++)
        for (ptrdiff_t c = 0; c < e; c += 32) {
            const __m512 lo = _mm512_loadu_ps(acc[r] + c), hi = _mm512_loadu_ps(acc[r] + c + 16);
            const __m512 a = _mm512_shuffle_f32x4(lo, hi, _MM_SHUFFLE(1, 0, 1, 0));
            const __m512 b = _mm512_shuffle_f32x4(lo, hi, _MM_SHUFFLE(3, 2, 3, 2));
            float *or_ = o + r * ldo + c;
            _mm512_storeu_ps(or_, _mm512_add_ps(_mm512_loadu_ps(or_),
                                                _mm512_shuffle_f32x4(a, a, _MM_SHUFFLE(3, 1, 2, 0))));
            _mm512_storeu_ps(or_ + 16, _mm512_add_ps(_mm512_loadu_ps(or_ + 16),
                                                     _mm512_shuffle_f32x4(b, b, _MM_SHUFFLE(3, 1, 2, 0))));
        }
    if (2 * h < n)  /* the last keys, fewer than four */
        cattn_baxpy_rows_avx512(o, ldo, p + 2 * h, ldp, m, v + 2 * h * ldv, ldv, n - 2 * h, e);
}
