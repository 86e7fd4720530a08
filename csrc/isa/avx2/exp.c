/* isa/avx2/exp.c -- vectorised exp, row max and streamed scaling for softmax, AVX2 + FMA (compiled
 * with -mavx2 -mfma).
 *
 * exp(x) = 2^n · exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2], with ln 2 split
 * in a high and a low part (Cody-Waite) so that r is exact to a few ulp; exp(r) is a polynomial.
 *   float:  Cephes' degree-7 minimax polynomial; measured error <= 2 ulp over [-87.3, 88.7]
 *           (tests/test_exp.py checks every 97th float32 in the range against float64 exp).
 *   double: Taylor series to degree 13 (truncation < 5e-18 relative on |r| <= ln2/2);
 *           measured error <= 2 ulp.
 * Two paths give the same bits: below 88 (709 in double), where every softmax argument x - max <= 0
 * lies, 2^n is one exponent field built as n is rounded; a vector with a lane above takes the wide
 * path, 2^n1 · 2^n2, and the overflow to +inf.  (The short path is 1.6x faster in L1.)
 * Inputs below the smallest normal result (x < -87.33 float, x < -708.39 double, -inf included)
 * give exactly 0 -- what softmax needs for masked scores, and no subnormal arithmetic (slow on
 * some CPUs); the true value there is < 1.2e-38 (float) / 2.3e-308 (double).  Inputs above
 * log(max) (88.72 float, 709.78 double) give +inf; NaN gives NaN.
 */
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* exp(r) on |r| <= ln2/2: Cephes' polynomial (float), Taylor to degree 13 (double). */
static inline __m256 exp8_poly(__m256 r)
{
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    return _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
}

static inline __m256d exp4_poly(__m256d r)
{
    /* Horner from the top: 1/13!, 1/12!, ..., 1/1!, 1 */
    static const double c[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                               1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0,
                               1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0};
    __m256d p = _mm256_set1_pd(c[0]);
    for (int i = 1; i < 14; i++) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(c[i]));
    return p;
}

/* exp over the whole range: 2^n = 2^n1 · 2^n2, n1 = floor(n/2), n2 = n - n1, since n is in
 * [-126, 128] after the clamp and 2^128 alone would not fit.  exp8 sends a vector here only when
 * one of its lanes exceeds 88 (never in softmax, whose arguments are <= 0). */
static __m256 exp8_wide(__m256 x)
{
    const __m256 hi = _mm256_set1_ps(88.7228394f), lo = _mm256_set1_ps(-87.3365447505531f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);   /* flush to 0 (also -inf)          */
    __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);    /* +inf                            */
    /* clamp, keeping NaN: vmaxps/vminps return their second operand when either is NaN */
    __m256 xc = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
    const __m256 magic = _mm256_set1_ps(12582912.0f);  /* 1.5·2^23: rounds to an integer */
    __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), magic), magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = exp8_poly(r);
    __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 e1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 e2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, e1), e2);
    y = _mm256_andnot_ps(under, y);
    return _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), over);
}

/* exp of every lane.  Below 88, n <= 127 and 2^n is one exponent field: round and build it in one
 * step, t = x/ln2 + 1.5·2^23 + 127 holds n + 127 in its low mantissa bits, and t << 23 is 2^n.
 * The result is the same, bit for bit, as exp8_wide's (both multiply p by 2^n exactly). */
static inline __m256 exp8(__m256 x)
{
    if (_mm256_movemask_ps(_mm256_cmp_ps(x, _mm256_set1_ps(88.0f), _CMP_GT_OQ)))
        return exp8_wide(x);
    const __m256 lo = _mm256_set1_ps(-87.3365447505531f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);   /* flush to 0 (also -inf)          */
    __m256 xc = _mm256_max_ps(lo, x);                  /* NaN stays NaN, as above         */
    const __m256 magic = _mm256_set1_ps(12582912.0f + 127.0f);
    __m256 t = _mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 e = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23));
    return _mm256_andnot_ps(under, _mm256_mul_ps(exp8_poly(r), e));
}

/* Double: the same two paths, split at 709 (n <= 1023). */
static __m256d exp4_wide(__m256d x)
{
    const __m256d hi = _mm256_set1_pd(709.782712893383973), lo = _mm256_set1_pd(-708.3964185322641);
    __m256d under = _mm256_cmp_pd(x, lo, _CMP_LT_OQ);
    __m256d over = _mm256_cmp_pd(x, hi, _CMP_GT_OQ);
    __m256d xc = _mm256_min_pd(hi, _mm256_max_pd(lo, x));  /* NaN stays NaN, as above */
    /* n = round(x / ln 2) with the 1.5·2^52 trick: the integer lands in the low mantissa bits */
    const __m256d magic = _mm256_set1_pd(6755399441055744.0);
    __m256d n = _mm256_sub_pd(_mm256_fmadd_pd(xc, _mm256_set1_pd(1.4426950408889634), magic), magic);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), xc);
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
    __m256d p = exp4_poly(r);
    /* 2^n = 2^n1 · 2^n2, n1 = floor(n/2), n2 = n - n1, each (k + 1023) << 52 from the low bits
     * of k + 1.5·2^52; n is in [-1022, 1024] after the clamp */
    __m256d n1 = _mm256_round_pd(_mm256_mul_pd(n, _mm256_set1_pd(0.5)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m256d n2 = _mm256_sub_pd(n, n1);
    const __m256i bias = _mm256_set1_epi64x(1023);
    __m256d e1 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_castpd_si256(_mm256_add_pd(n1, magic)), bias), 52));
    __m256d e2 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_castpd_si256(_mm256_add_pd(n2, magic)), bias), 52));
    __m256d y = _mm256_mul_pd(_mm256_mul_pd(p, e1), e2);
    y = _mm256_andnot_pd(under, y);
    return _mm256_blendv_pd(y, _mm256_set1_pd(INFINITY), over);
}

static inline __m256d exp4(__m256d x)
{
    if (_mm256_movemask_pd(_mm256_cmp_pd(x, _mm256_set1_pd(709.0), _CMP_GT_OQ)))
        return exp4_wide(x);
    const __m256d lo = _mm256_set1_pd(-708.3964185322641);
    __m256d under = _mm256_cmp_pd(x, lo, _CMP_LT_OQ);
    __m256d xc = _mm256_max_pd(lo, x);
    const __m256d magic = _mm256_set1_pd(6755399441055744.0 + 1023.0);
    __m256d t = _mm256_fmadd_pd(xc, _mm256_set1_pd(1.4426950408889634), magic);
    __m256d n = _mm256_sub_pd(t, magic);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), xc);
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
    __m256d e = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(t), 52));
    return _mm256_andnot_pd(under, _mm256_mul_pd(exp4_poly(r), e));
}

/* y[i] = exp(scale*x[i] - shift), returns the sum (the tail goes through a final vector). */
float cattn_sexp_sum_avx2(float *y, const float *x, float scale, float shift, ptrdiff_t n)
{
    __m256 a = _mm256_set1_ps(scale), s = _mm256_set1_ps(shift), acc = _mm256_setzero_ps();
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_fmsub_ps(a, _mm256_loadu_ps(x + i), s));
        _mm256_storeu_ps(y + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float t[8];
    _mm256_storeu_ps(t, acc);
    float sum = ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
    if (i < n) {
        float in[8] = {0}, out[8];
        for (ptrdiff_t j = 0; j < n - i; j++) in[j] = x[i + j];
        _mm256_storeu_ps(out, exp8(_mm256_fmsub_ps(a, _mm256_loadu_ps(in), s)));
        for (ptrdiff_t j = 0; j < n - i; j++) {
            y[i + j] = out[j];
            sum += out[j];
        }
    }
    return sum;
}

double cattn_dexp_sum_avx2(double *y, const double *x, double scale, double shift, ptrdiff_t n)
{
    __m256d a = _mm256_set1_pd(scale), s = _mm256_set1_pd(shift), acc = _mm256_setzero_pd();
    ptrdiff_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d e = exp4(_mm256_fmsub_pd(a, _mm256_loadu_pd(x + i), s));
        _mm256_storeu_pd(y + i, e);
        acc = _mm256_add_pd(acc, e);
    }
    double t[4];
    _mm256_storeu_pd(t, acc);
    double sum = (t[0] + t[2]) + (t[1] + t[3]);
    if (i < n) {
        double in[4] = {0}, out[4];
        for (ptrdiff_t j = 0; j < n - i; j++) in[j] = x[i + j];
        _mm256_storeu_pd(out, exp4(_mm256_fmsub_pd(a, _mm256_loadu_pd(in), s)));
        for (ptrdiff_t j = 0; j < n - i; j++) {
            y[i + j] = out[j];
            sum += out[j];
        }
    }
    return sum;
}

/* max of x (n), ignoring NaN: vmaxps(x, m) returns m when x is NaN.  Four accumulators, so that
 * four independent maxes are in flight (the instruction's latency is ~3 cycles). */
float cattn_smax_avx2(const float *x, ptrdiff_t n)
{
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
        m2 = _mm256_max_ps(_mm256_loadu_ps(x + i + 16), m2);
        m3 = _mm256_max_ps(_mm256_loadu_ps(x + i + 24), m3);
    }
    for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    float t[8];
    _mm256_storeu_ps(t, _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    float m = t[0];
    for (int u = 1; u < 8; u++) m = t[u] > m ? t[u] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

double cattn_dmax_avx2(const double *x, ptrdiff_t n)
{
    __m256d m0 = _mm256_set1_pd(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_pd(_mm256_loadu_pd(x + i), m0);
        m1 = _mm256_max_pd(_mm256_loadu_pd(x + i + 4), m1);
        m2 = _mm256_max_pd(_mm256_loadu_pd(x + i + 8), m2);
        m3 = _mm256_max_pd(_mm256_loadu_pd(x + i + 12), m3);
    }
    for (; i + 4 <= n; i += 4) m0 = _mm256_max_pd(_mm256_loadu_pd(x + i), m0);
    double t[4];
    _mm256_storeu_pd(t, _mm256_max_pd(_mm256_max_pd(m0, m1), _mm256_max_pd(m2, m3)));
    double m = t[0];
    for (int u = 1; u < 4; u++) m = t[u] > m ? t[u] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* y = a·x with streaming stores, which need 32-byte alignment: y's first elements up to that
 * boundary are stored plainly, as is the tail. */
void cattn_sscale_nt_avx2(float *y, const float *x, float a, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    for (; i < n && ((uintptr_t)(y + i) & 31); i++) y[i] = a * x[i];
    __m256 av = _mm256_set1_ps(a);
    for (; i + 8 <= n; i += 8) _mm256_stream_ps(y + i, _mm256_mul_ps(av, _mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = a * x[i];
}

void cattn_dscale_nt_avx2(double *y, const double *x, double a, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    for (; i < n && ((uintptr_t)(y + i) & 31); i++) y[i] = a * x[i];
    __m256d av = _mm256_set1_pd(a);
    for (; i + 4 <= n; i += 4) _mm256_stream_pd(y + i, _mm256_mul_pd(av, _mm256_loadu_pd(x + i)));
    for (; i < n; i++) y[i] = a * x[i];
}
