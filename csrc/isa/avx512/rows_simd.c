/* isa/avx512/rows_simd.c -- decoding's row kernels with AVX-512F (rows_simd.inc, for float and
 * double). The lanes are summed through AVX2 registers (SIMDe emulates these exactly; not the
 * _mm512_reduce_* sequences, see avx512.h). */
#include <stddef.h>
#include "avx512.h"
#include "runtime/dispatch.h"
#include "kernels/half.h"
#include "sum4.h" /* sum4_ps */

static inline void sum4_pd(const __m512d a[4], double out[4])
{
    __m256d h[4];
    for (int r = 0; r < 4; r++)
        h[r] = _mm256_add_pd(_mm512_castpd512_pd256(a[r]), _mm512_extractf64x4_pd(a[r], 1));
    __m256d t0 = _mm256_hadd_pd(h[0], h[1]), t1 = _mm256_hadd_pd(h[2], h[3]);
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_permute2f128_pd(t0, t1, 0x20),
                                        _mm256_permute2f128_pd(t0, t1, 0x31)));
}

/* W half keys to floats: F16C's conversion, or a shift */
static inline __m512 load_h(const cattn_half *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static inline __m512 load_b(const cattn_half *p) /* a bfloat16: a float's top 16 bits */
{
    __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

#define T float
#define V __m512
#define W 16
#define P(name) cattn_s##name##_avx512
#define LOADU _mm512_loadu_ps
#define STOREU _mm512_storeu_ps
#define FMADD _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define SET1 _mm512_set1_ps
#define ZERO _mm512_setzero_ps
#define SUM4 sum4_ps
#define DOT_ADJACENT /* four adjacent keys, their 16 sums in 32 registers */
#include "kernels/rows_simd.inc"
/* the same rows over float16 (h) and bfloat16 (b) keys and values, converted as loaded */
#undef P
#define TK cattn_half
#define P(name) cattn_h##name##_avx512
#define LOADK load_h
#define DOT_ADJACENT
#define DOT_AHEAD 32           /* half keys: fetched into L2 32 keys ahead */
#define DOT_HINT _MM_HINT_T1
#define AXPY_ROWS 4   /* 4 rows of 4 sums and 4 values: 24 of AVX-512's 32 registers, each value */
#define ROWS_PANELS 4 /* converted once for the 4 rows (2 x 8 before: 10.7 against 12.4 ns a key) */
#define KF(x) cattn_h2f(x)
#include "kernels/rows_simd.inc"
#undef P
#define TK cattn_half
#define P(name) cattn_b##name##_avx512
#define LOADK load_b
#define DOT_ADJACENT
#define DOT_AHEAD 32           /* half keys: fetched into L2 32 keys ahead */
#define DOT_HINT _MM_HINT_T1
#define AXPY_ROWS 4
#define ROWS_PANELS 4
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
#define V __m512d
#define W 8
#define P(name) cattn_d##name##_avx512
#define LOADU _mm512_loadu_pd
#define STOREU _mm512_storeu_pd
#define FMADD _mm512_fmadd_pd
#define ADD _mm512_add_pd
#define SET1 _mm512_set1_pd
#define ZERO _mm512_setzero_pd
#define SUM4 sum4_pd
#include "kernels/rows_simd.inc"

