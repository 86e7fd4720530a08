/* isa/avx512/sum4.h -- out[r] = the sum of a[r]'s lanes, r < 4: halves added into AVX2
 * registers, then across (SIMDe emulates these exactly; not the _mm512_reduce_* sequences, see
 * avx512.h).  Decoding's dot rows reduce with it (rows_simd.c, and avx512bf16's rows.c). */
#ifndef CATTN_AVX512_SUM4_H
#define CATTN_AVX512_SUM4_H
#include "avx512.h"

static inline void sum4_ps(const __m512 a[4], float out[4])
{
    /* 1. interleave a[0] with a[1] and a[2] with a[3]: each 128-bit lane of u holds two partial
     *    sums of a[0] and two of a[1], v likewise of a[2] and a[3];
     * 2. one partial sum of each a[i] per 128-bit lane (w); 3. the four lanes added.  Nine
     *    vector operations where four halvings and three hadds took fifteen: decoding's scores
     *    reduce four of these per 128 FMAs */
    __m512 u = _mm512_add_ps(_mm512_unpacklo_ps(a[0], a[1]), _mm512_unpackhi_ps(a[0], a[1]));
    __m512 v = _mm512_add_ps(_mm512_unpacklo_ps(a[2], a[3]), _mm512_unpackhi_ps(a[2], a[3]));
    __m512 w = _mm512_add_ps(_mm512_shuffle_ps(u, v, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(u, v, _MM_SHUFFLE(3, 2, 3, 2)));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(w), _mm512_extractf32x8_ps(w, 1));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}
#endif
