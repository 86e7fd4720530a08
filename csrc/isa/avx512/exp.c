/* isa/avx512/exp.c -- vectorised exp, row max and streamed scaling for softmax, AVX-512F (compiled
 * with -mavx512f).
 *
 * The same method, constants and contract as isa/avx2/exp.c, sixteen floats / eight doubles at a
 * time: exp(x) = 2^n · exp(r), n = round(x / ln 2), r = x - n ln 2 by Cody-Waite, Cephes' degree-7
 * polynomial (float) / Taylor to degree 13 (double), 2^n built in the exponent field: one field
 * below 88 (709), 2^n1 · 2^n2 above.  <= 2 ulp; exactly 0 below the smallest normal result (x <
 * -87.33 float, x < -708.39 double, -inf included), +inf above log(max), NaN stays NaN.
 * Comparisons give masks; the row's tail goes through a small buffer.  avx512.h says why there are
 * no masked loads/stores, vscalef or vroundscale here.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "avx512.h"

/* exp(r) on |r| <= ln2/2: Cephes' polynomial (float), Taylor to degree 13 (double). */
static inline __m512 exp16_poly(__m512 r)
{
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    return _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
}

static inline __m512d exp8d_poly(__m512d r)
{
    /* Horner from the top: 1/13!, 1/12!, ..., 1/1!, 1 */
    static const double c[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                               1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0,
                               1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0};
    __m512d p = _mm512_set1_pd(c[0]);
    for (int i = 1; i < 14; i++) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c[i]));
    return p;
}

/* exp over the whole range, 2^n = 2^n1 · 2^n2 (n1 = floor(n/2), n2 = n - n1: n is in [-126, 128]
 * after the clamp); exp16 sends a vector here only when a lane exceeds 88. */
static __m512 exp16_wide(__m512 x)
{
    const __m512 hi = _mm512_set1_ps(88.7228394f), lo = _mm512_set1_ps(-87.3365447505531f);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);  /* flush to 0 (also -inf) */
    __mmask16 over = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ);   /* +inf                   */
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);   /* stays NaN              */
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    const __m512 magic = _mm512_set1_ps(12582912.0f);  /* 1.5·2^23: rounds to an integer */
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), magic), magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = exp16_poly(r);
    __m512i ni = _mm512_cvtps_epi32(n), n1 = _mm512_srai_epi32(ni, 1), n2 = _mm512_sub_epi32(ni, n1);
    const __m512i bias = _mm512_set1_epi32(127);
    __m512 e1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23));
    __m512 e2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23));
    __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, e1), e2);
    y = _mm512_mask_mov_ps(y, under, _mm512_setzero_ps());
    y = _mm512_mask_mov_ps(y, over, _mm512_set1_ps(INFINITY));
    return _mm512_mask_mov_ps(y, nan, x);
}

/* exp of every lane.  Below 88, n <= 127: t = x/ln2 + 1.5·2^23 + 127 holds n + 127 in its low
 * mantissa bits and t << 23 is 2^n, as in isa/avx2/exp.c (the same bits as exp16_wide). */
static inline __m512 exp16(__m512 x)
{
    if (_mm512_cmp_ps_mask(x, _mm512_set1_ps(88.0f), _CMP_GT_OQ)) return exp16_wide(x);
    const __m512 lo = _mm512_set1_ps(-87.3365447505531f);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);  /* flush to 0 (also -inf) */
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);   /* stays NaN              */
    __m512 xc = _mm512_max_ps(x, lo);
    const __m512 magic = _mm512_set1_ps(12582912.0f + 127.0f);
    __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), magic);
    __m512 n = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 e = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(t), 23));
    __m512 y = _mm512_mul_ps(exp16_poly(r), e);
    y = _mm512_mask_mov_ps(y, under, _mm512_setzero_ps());
    return _mm512_mask_mov_ps(y, nan, x);
}

/* Double: the same two paths, split at 709 (n <= 1023). */
static __m512d exp8d_wide(__m512d x)
{
    const __m512d hi = _mm512_set1_pd(709.782712893383973), lo = _mm512_set1_pd(-708.3964185322641);
    __mmask8 under = _mm512_cmp_pd_mask(x, lo, _CMP_LT_OQ);
    __mmask8 over = _mm512_cmp_pd_mask(x, hi, _CMP_GT_OQ);
    __mmask8 nan = _mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q);
    __m512d xc = _mm512_min_pd(_mm512_max_pd(x, lo), hi);
    /* n = round(x / ln 2) with the 1.5·2^52 trick: the integer lands in the low mantissa bits */
    const __m512d magic = _mm512_set1_pd(6755399441055744.0);
    __m512d n = _mm512_sub_pd(_mm512_fmadd_pd(xc, _mm512_set1_pd(1.4426950408889634), magic), magic);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.93147180369123816490e-01), xc);
    r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.90821492927058770002e-10), r);
    __m512d p = exp8d_poly(r);
    /* 2^n = 2^n1 · 2^n2 with integers: n + 1.5·2^52 holds n in its low bits; n is in
     * [-1022, 1024], so n1 = floor(n/2) = ((n + 1024) >> 1) - 512 by a logical shift of a
     * non-negative number, n2 = n - n1, each 2^k as (k + 1023) << 52 */
    __m512i ni = _mm512_sub_epi64(_mm512_castpd_si512(_mm512_add_pd(n, magic)),
                                  _mm512_castpd_si512(magic));
    __m512i n1 = _mm512_sub_epi64(
        _mm512_srli_epi64(_mm512_add_epi64(ni, _mm512_set1_epi64(1024)), 1), _mm512_set1_epi64(512));
    __m512i n2 = _mm512_sub_epi64(ni, n1);
    const __m512i bias = _mm512_set1_epi64(1023);
    __m512d e1 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(n1, bias), 52));
    __m512d e2 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(n2, bias), 52));
    __m512d y = _mm512_mul_pd(_mm512_mul_pd(p, e1), e2);
    y = _mm512_mask_mov_pd(y, under, _mm512_setzero_pd());
    y = _mm512_mask_mov_pd(y, over, _mm512_set1_pd(INFINITY));
    return _mm512_mask_mov_pd(y, nan, x);
}

static inline __m512d exp8d(__m512d x)
{
    if (_mm512_cmp_pd_mask(x, _mm512_set1_pd(709.0), _CMP_GT_OQ)) return exp8d_wide(x);
    const __m512d lo = _mm512_set1_pd(-708.3964185322641);
    __mmask8 under = _mm512_cmp_pd_mask(x, lo, _CMP_LT_OQ);
    __mmask8 nan = _mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q);
    __m512d xc = _mm512_max_pd(x, lo);
    const __m512d magic = _mm512_set1_pd(6755399441055744.0 + 1023.0);
    __m512d t = _mm512_fmadd_pd(xc, _mm512_set1_pd(1.4426950408889634), magic);
    __m512d n = _mm512_sub_pd(t, magic);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.93147180369123816490e-01), xc);
    r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.90821492927058770002e-10), r);
    __m512d e = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_castpd_si512(t), 52));
    __m512d y = _mm512_mul_pd(exp8d_poly(r), e);
    y = _mm512_mask_mov_pd(y, under, _mm512_setzero_pd());
    return _mm512_mask_mov_pd(y, nan, x);
}

/* y[i] = exp(scale*x[i] - shift), returns the sum (lanes added pairwise at the end; the tail goes
 * through a zero-padded buffer, and only its n - i results are added). */
float cattn_sexp_sum_avx512(float *y, const float *x, float scale, float shift, ptrdiff_t n)
{
    __m512 a = _mm512_set1_ps(scale), s = _mm512_set1_ps(shift), acc = _mm512_setzero_ps();
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp16(_mm512_fmsub_ps(a, _mm512_loadu_ps(x + i), s));
        _mm512_storeu_ps(y + i, e);
        acc = _mm512_add_ps(acc, e);
    }
    float t[16];
    _mm512_storeu_ps(t, acc);
    for (int w = 8; w > 0; w /= 2)
        for (int j = 0; j < w; j++) t[j] += t[j + w];
    float sum = t[0];
    if (i < n) {
        float in[16] = {0}, out[16];
        for (ptrdiff_t j = 0; j < n - i; j++) in[j] = x[i + j];
        _mm512_storeu_ps(out, exp16(_mm512_fmsub_ps(a, _mm512_loadu_ps(in), s)));
        for (ptrdiff_t j = 0; j < n - i; j++) {
            y[i + j] = out[j];
            sum += out[j];
        }
    }
    return sum;
}

double cattn_dexp_sum_avx512(double *y, const double *x, double scale, double shift, ptrdiff_t n)
{
    __m512d a = _mm512_set1_pd(scale), s = _mm512_set1_pd(shift), acc = _mm512_setzero_pd();
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d e = exp8d(_mm512_fmsub_pd(a, _mm512_loadu_pd(x + i), s));
        _mm512_storeu_pd(y + i, e);
        acc = _mm512_add_pd(acc, e);
    }
    double t[8];
    _mm512_storeu_pd(t, acc);
    for (int w = 4; w > 0; w /= 2)
        for (int j = 0; j < w; j++) t[j] += t[j + w];
    double sum = t[0];
    if (i < n) {
        double in[8] = {0}, out[8];
        for (ptrdiff_t j = 0; j < n - i; j++) in[j] = x[i + j];
        _mm512_storeu_pd(out, exp8d(_mm512_fmsub_pd(a, _mm512_loadu_pd(in), s)));
        for (ptrdiff_t j = 0; j < n - i; j++) {
            y[i + j] = out[j];
            sum += out[j];
        }
    }
    return sum;
}

/* max of x (n), ignoring NaN (vmaxps(x, m) returns m when x is NaN), as in isa/avx2/exp.c. */
float cattn_smax_avx512(const float *x, ptrdiff_t n)
{
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    ptrdiff_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
        m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
        m2 = _mm512_max_ps(_mm512_loadu_ps(x + i + 32), m2);
        m3 = _mm512_max_ps(_mm512_loadu_ps(x + i + 48), m3);
    }
    for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
    float t[16];
    _mm512_storeu_ps(t, _mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
    float m = t[0];
    for (int u = 1; u < 16; u++) m = t[u] > m ? t[u] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

double cattn_dmax_avx512(const double *x, ptrdiff_t n)
{
    __m512d m0 = _mm512_set1_pd(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm512_max_pd(_mm512_loadu_pd(x + i), m0);
        m1 = _mm512_max_pd(_mm512_loadu_pd(x + i + 8), m1);
        m2 = _mm512_max_pd(_mm512_loadu_pd(x + i + 16), m2);
        m3 = _mm512_max_pd(_mm512_loadu_pd(x + i + 24), m3);
    }
    for (; i + 8 <= n; i += 8) m0 = _mm512_max_pd(_mm512_loadu_pd(x + i), m0);
    double t[8];
    _mm512_storeu_pd(t, _mm512_max_pd(_mm512_max_pd(m0, m1), _mm512_max_pd(m2, m3)));
    double m = t[0];
    for (int u = 1; u < 8; u++) m = t[u] > m ? t[u] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* y = a·x with streaming stores, which need 64-byte alignment: y's first elements up to that
 * boundary are stored plainly, as is the tail. */
void cattn_sscale_nt_avx512(float *y, const float *x, float a, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    for (; i < n && ((uintptr_t)(y + i) & 63); i++) y[i] = a * x[i];
    __m512 av = _mm512_set1_ps(a);
    for (; i + 16 <= n; i += 16) _mm512_stream_ps(y + i, _mm512_mul_ps(av, _mm512_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = a * x[i];
}

void cattn_dscale_nt_avx512(double *y, const double *x, double a, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    for (; i < n && ((uintptr_t)(y + i) & 63); i++) y[i] = a * x[i];
    __m512d av = _mm512_set1_pd(a);
    for (; i + 8 <= n; i += 8) _mm512_stream_pd(y + i, _mm512_mul_pd(av, _mm512_loadu_pd(x + i)));
    for (; i < n; i++) y[i] = a * x[i];
}
