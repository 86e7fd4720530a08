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
#define AXPY_STREAMS 2 /* (half values: see rows_simd.inc) */
#define LOADK load_h
#define KF(x) cattn_h2f(x)
#include "kernels/rows_simd.inc"
#undef P
#define TK cattn_half
#define P(name) cattn_b##name##_avx2
#define DOT_KEYS 3
#define AXPY_STREAMS 2
#define LOADK load_b
#define KF(x) cattn_b2f(x)
#define cattn_baxpy_rows_avx2 cattn_baxpy_rows_avx2_widened /* (the table's is below: pairs) */
static void cattn_baxpy_rows_avx2(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp,
                                  ptrdiff_t m, const cattn_half *v, ptrdiff_t ldv, ptrdiff_t n,
                                  ptrdiff_t e);
#include "kernels/rows_simd.inc"
#undef cattn_baxpy_rows_avx2

/* ---- bfloat16 values in pairs -----------------------------------------------------------------
 * Sixteen bfloat16 are one 256-bit load, and one integer operation makes each half of them
 * floats: the even elements shifted up 16 bits, the odd ones with their low 16 bits cleared (a
 * bfloat16 is a float's top half).  Widening eight at a time takes a load, a zero-extension (a
 * shuffle) and a shift per eight.  The floats come in another order -- the even vector holds
 * elements 0, 2, .. 14, the odd one 1, 3, .. 15 -- so axpy_rows puts its output rows in that order
 * first (in place) and back at the end; the sums are the same products.  Decoding's weighted sum
 * 1.03x faster (Zen 4, AVX2 path, one thread, d 128).  The scores keep the widened loads: with
 * the query rows in pair order they ran slower (12 sums, the keys and a mask are 17 of AVX2's 16
 * registers, and GCC spilled sums). */
#define PAIR 16 /* bfloat16 per 256-bit load */

/* row[0 .. e) into pair order (per 16: the even elements, then the odd), or back */
static void pair_order(float *row, ptrdiff_t e, int back)
{
    float t[PAIR];
    for (ptrdiff_t c = 0; c + PAIR <= e; c += PAIR) {
        for (int l = 0; l < PAIR / 2; l++) {
            if (back) t[2 * l] = row[c + l], t[2 * l + 1] = row[c + PAIR / 2 + l];
            else t[l] = row[c + 2 * l], t[PAIR / 2 + l] = row[c + 2 * l + 1];
        }
        for (int l = 0; l < PAIR; l++) row[c + l] = t[l];
    }
}

/* o[r·ldo + c] += Σ_j p[r·ldp + j] v_j[c]  (r < m, c < e; v bfloat16): as the widened
 * axpy_rows (values j, j+1, h+j, h+j+1 and two output rows at a time), sixteen values at a
 * time; e not a multiple of 16 takes the widened kernel */
void cattn_baxpy_rows_avx2(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp, ptrdiff_t m,
                           const cattn_half *v, ptrdiff_t ldv, ptrdiff_t n, ptrdiff_t e)
{
    if (e % PAIR != 0) {
        cattn_baxpy_rows_avx2_widened(o, ldo, p, ldp, m, v, ldv, n, e);
        return;
    }
    const ptrdiff_t h = n / 4 * 2;
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    /* 1. the output rows into pair order */
    for (ptrdiff_t r = 0; r < m; r++) pair_order(o + r * ldo, e, 0);
    /* 2. four values at a time, the rows two at a time (an odd last row with itself, its
     *    second weights zero) */
    for (ptrdiff_t j = 0; j < h; j += 2) {
        const cattn_half *v0 = v + j * ldv, *v1 = v0 + ldv, *v2 = v + (h + j) * ldv,
                         *v3 = v2 + ldv;
        for (ptrdiff_t r = 0; r < m; r += 2) {
            const int two = r + 1 < m;
            const float *pr = p + r * ldp, *ps = pr + (two ? ldp : 0);
            const __m256 p0 = _mm256_set1_ps(pr[j]), p1 = _mm256_set1_ps(pr[j + 1]),
                         p2 = _mm256_set1_ps(pr[h + j]), p3 = _mm256_set1_ps(pr[h + j + 1]);
            const __m256 s0 = _mm256_set1_ps(two ? ps[j] : 0),
                         s1 = _mm256_set1_ps(two ? ps[j + 1] : 0),
                         s2 = _mm256_set1_ps(two ? ps[h + j] : 0),
                         s3 = _mm256_set1_ps(two ? ps[h + j + 1] : 0);
            float *orow = o + r * ldo, *osec = orow + (two ? ldo : 0);
            for (ptrdiff_t c = 0; c < e; c += PAIR) {
                const __m256i w0 = _mm256_loadu_si256((const __m256i *)(v0 + c)),
                              w1 = _mm256_loadu_si256((const __m256i *)(v1 + c)),
                              w2 = _mm256_loadu_si256((const __m256i *)(v2 + c)),
                              w3 = _mm256_loadu_si256((const __m256i *)(v3 + c));
                for (int odd = 0; odd < 2; odd++) {
                    const ptrdiff_t at = c + odd * (PAIR / 2);
#define PAIR_FLOATS(w) _mm256_castsi256_ps(odd ? _mm256_and_si256(w, hi) : _mm256_slli_epi32(w, 16))
                    const __m256 x0 = PAIR_FLOATS(w0), x1 = PAIR_FLOATS(w1), x2 = PAIR_FLOATS(w2),
                                 x3 = PAIR_FLOATS(w3);
#undef PAIR_FLOATS
                    __m256 x = _mm256_loadu_ps(orow + at), y = _mm256_loadu_ps(osec + at);
                    x = _mm256_fmadd_ps(p0, x0, x), y = _mm256_fmadd_ps(s0, x0, y);
                    x = _mm256_fmadd_ps(p1, x1, x), y = _mm256_fmadd_ps(s1, x1, y);
                    x = _mm256_fmadd_ps(p2, x2, x), y = _mm256_fmadd_ps(s2, x2, y);
                    x = _mm256_fmadd_ps(p3, x3, x), y = _mm256_fmadd_ps(s3, x3, y);
                    /* (an odd last row: y is the row plus zeros, stored first and overwritten) */
                    _mm256_storeu_ps(osec + at, y), _mm256_storeu_ps(orow + at, x);
                }
            }
        }
    }
    /* 3. the rows back in their order, then the last n − 2h values one at a time */
    for (ptrdiff_t r = 0; r < m; r++) pair_order(o + r * ldo, e, 1);
    for (ptrdiff_t j = 2 * h; j < n; j++)
        for (ptrdiff_t r = 0; r < m; r++)
            for (ptrdiff_t c = 0; c < e; c++)
                o[r * ldo + c] += p[r * ldp + j] * cattn_b2f(v[j * ldv + c]);
}
#undef PAIR

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

