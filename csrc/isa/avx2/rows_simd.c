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

/* W half keys to floats: F16C's conversion, or a shift */
static inline __m256 load_h(const cattn_half *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static inline __m256 load_b(const cattn_half *p) /* a bfloat16: a float's top 16 bits */
{
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
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
/* the same rows over float16 (h) and bfloat16 (b) keys and values, converted as loaded */
#undef P
#define TK cattn_half
#define P(name) cattn_h##name##_avx2
#define DOT_KEYS 3 /* 12 sums, 3 keys and q: AVX2's 16 registers; half keys are compute-bound */
#define LOADK load_h
#define KF(x) cattn_h2f(x)
#include "kernels/rows_simd.inc"
#undef P
#define TK cattn_half
#define P(name) cattn_b##name##_avx2
#define DOT_KEYS 3
#define LOADK load_b
#define KF(x) cattn_b2f(x)
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
        _mm256_storeu_ps(dst + i, load_h(src + i));
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

/* ---- bfloat16 rows: a shift in; out, round to nearest even (a NaN made quiet) --------------- */

void cattn_b2f_row_avx2(float *dst, const cattn_half *src, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_b(src + i));
    for (; i < n; i++) dst[i] = cattn_b2f(src[i]);
}

void cattn_f2b_row_avx2(cattn_half *dst, const float *src, ptrdiff_t n)
{
    const __m256i abs = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i half = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
    const __m256i quiet = _mm256_set1_epi32(0x40);
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_castps_si256(_mm256_loadu_ps(src + i));
        __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
        __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, half), odd), 16);
        __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs), inf);
        r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_srli_epi32(u, 16), quiet), nan);
        /* the eight 32-bit results to 16 bits: pack within the 128-bit halves, then join them */
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_castsi256_si128(p));
    }
    for (; i < n; i++) dst[i] = cattn_f2b(src[i]);
}

