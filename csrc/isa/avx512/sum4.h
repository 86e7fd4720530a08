/* isa/avx512/sum4.h -- out[r] = the sum of a[r]'s lanes, r < 4: halves added into AVX2
 * registers, then across (SIMDe emulates these exactly; not the _mm512_reduce_* sequences, see
 * avx512.h).  Decoding's dot rows reduce with it (rows_simd.c, and avx512bf16's rows.c). */
#ifndef CATTN_AVX512_SUM4_H
#define CATTN_AVX512_SUM4_H
#include "avx512.h"

static inline void sum4_ps(const __m512 a[4], float out[4])
{
    __m256 h[4];
    for (int r = 0; r < 4; r++)
        h[r] = _mm256_add_ps(_mm512_castps512_ps256(a[r]), _mm512_extractf32x8_ps(a[r], 1));
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(h[0], h[1]), _mm256_hadd_ps(h[2], h[3]));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
}
#endif
