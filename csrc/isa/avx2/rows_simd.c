/* isa/avx2/rows_simd.c -- decoding's row kernels with AVX2 + FMA (rows_simd.inc, for float and
 * double). */
#include <immintrin.h>
#include <stddef.h>
#include "runtime/dispatch.h"
#include "kernels/half.h"

/* out[r] = the sum of a[r]'s lanes, r < 4: pairwise adds within 128-bit halves, then across */
static inline void sum4_ps(const __m256 a[4], float out[4])
{
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
}

static inline void sum4_pd(const __m256d a[4], double out[4])
{
    __m256d t0 = _mm256_hadd_pd(a[0], a[1]), t1 = _mm256_hadd_pd(a[2], a[3]);
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_permute2f128_pd(t0, t1, 0x20),
                                        _mm256_permute2f128_pd(t0, t1, 0x31)));
}

#define T float
#define V __m256
#define W 8
#define P(name) cattn_s##name##_avx2
#define LOADU _mm256_loadu_ps
#define STOREU _mm256_storeu_ps
#define FMADD _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define SET1 _mm256_set1_ps
#define ZERO _mm256_setzero_ps
#define SUM4 sum4_ps
#include "kernels/rows_simd.inc"
#undef T
#undef V
#undef W
#undef P
#undef LOADU
#undef STOREU
#undef FMADD
#undef ADD
#undef SET1
#undef ZERO
#undef SUM4

#define T double
#define V __m256d
#define W 4
#define P(name) cattn_d##name##_avx2
#define LOADU _mm256_loadu_pd
#define STOREU _mm256_storeu_pd
#define FMADD _mm256_fmadd_pd
#define ADD _mm256_add_pd
#define SET1 _mm256_set1_pd
#define ZERO _mm256_setzero_pd
#define SUM4 sum4_pd
#include "kernels/rows_simd.inc"

/* ---- float16 rows, converted by F16C (eight at a time; the tail by kernels/half.h) ----------- */

void cattn_h2f_row_avx2(float *dst, const cattn_half *src, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = cattn_h2f(src[i]);
}

void cattn_f2h_row_avx2(cattn_half *dst, const float *src, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) dst[i] = cattn_f2h(src[i]);
}
