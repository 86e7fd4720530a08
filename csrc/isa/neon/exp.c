/* isa/neon/exp.c -- vectorised exp and row max for softmax, ARM64 NEON (neon.h).
 *
 * The same algorithm and constants as isa/avx2/exp.c: exp(x) = 2^n · exp(r), n = round(x / ln 2),
 * r = x - n ln 2 with ln 2 in a high and a low part (Cody-Waite), exp(r) a polynomial (float:
 * Cephes' degree 7; double: Taylor to degree 13), 2^n built in the exponent field: one field below
 * 88 (709 in double), where every softmax argument lies, and 2^n1 · 2^n2 above.
 * Inputs below the smallest normal result (-inf included) give exactly 0, inputs above log(max)
 * give +inf, NaN gives NaN: NEON's fmin/fmax pass a NaN on, so the clamp keeps it.
 * The row max ignores NaN (fmaxnm returns the number when one operand is NaN), as the AVX2 one.
 */
#include <math.h>
#include <stddef.h>
#include "neon.h"

/* n = round(x / ln 2) and exp(r), r = x - n ln 2 (Cody-Waite), for x already clamped */
static inline float32x4_t exp4f_reduced(float32x4_t xc, float32x4_t *n)
{
    *n = vrndnq_f32(vmulq_f32(xc, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(xc, *n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, *n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500E-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507E-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073E-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894E-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459E-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201E-1f), p, r);
    return vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
}

static inline float64x2_t exp2d_reduced(float64x2_t xc, float64x2_t *n)
{
    *n = vrndnq_f64(vmulq_f64(xc, vdupq_n_f64(1.4426950408889634)));
    float64x2_t r = vfmsq_f64(xc, *n, vdupq_n_f64(6.93147180369123816490e-01));
    r = vfmsq_f64(r, *n, vdupq_n_f64(1.90821492927058770002e-10));
    static const double c[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                               1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0,
                               1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0};
    float64x2_t p = vdupq_n_f64(c[0]);
    for (int i = 1; i < 14; i++) p = vfmaq_f64(vdupq_n_f64(c[i]), p, r);
    return p;
}

/* exp over the whole range: n in [-126, 128] after the clamp, and 2^128 alone would not fit, so
 * 2^n1 · 2^n2 (n1 = floor(n/2), n2 = n - n1); overflow to +inf */
static float32x4_t exp4f_wide(float32x4_t x)
{
    const float32x4_t hi = vdupq_n_f32(88.7228394f), lo = vdupq_n_f32(-87.3365447505531f);
    const uint32x4_t under = vcltq_f32(x, lo), over = vcgtq_f32(x, hi);
    float32x4_t n;
    const float32x4_t p = exp4f_reduced(vminq_f32(hi, vmaxq_f32(lo, x)), &n);
    const int32x4_t ni = vcvtq_s32_f32(n), n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
    const int32x4_t bias = vdupq_n_s32(127);
    const float32x4_t e1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
    const float32x4_t e2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
    float32x4_t y = vmulq_f32(vmulq_f32(p, e1), e2);
    y = vbslq_f32(under, vdupq_n_f32(0.0f), y);
    return vbslq_f32(over, vdupq_n_f32(INFINITY), y);
}

/* n in [-1022, 1024] after the clamp: 2^n1 · 2^n2 likewise */
static float64x2_t exp2d_wide(float64x2_t x)
{
    const float64x2_t hi = vdupq_n_f64(709.782712893383973), lo = vdupq_n_f64(-708.3964185322641);
    const uint64x2_t under = vcltq_f64(x, lo), over = vcgtq_f64(x, hi);
    float64x2_t n;
    const float64x2_t p = exp2d_reduced(vminq_f64(hi, vmaxq_f64(lo, x)), &n);
    const float64x2_t n1 = vrndmq_f64(vmulq_f64(n, vdupq_n_f64(0.5))), n2 = vsubq_f64(n, n1);
    const int64x2_t bias = vdupq_n_s64(1023);
    const float64x2_t e1 = vreinterpretq_f64_s64(vshlq_n_s64(vaddq_s64(vcvtq_s64_f64(n1), bias), 52));
    const float64x2_t e2 = vreinterpretq_f64_s64(vshlq_n_s64(vaddq_s64(vcvtq_s64_f64(n2), bias), 52));
    float64x2_t y = vmulq_f64(vmulq_f64(p, e1), e2);
    y = vbslq_f64(under, vdupq_n_f64(0.0), y);
    return vbslq_f64(over, vdupq_n_f64(INFINITY), y);
}

/* exp of every lane.  Below 88 (709 in double) n <= 127 (1023) and 2^n is one exponent field, so
 * one multiply, no overflow test; a vector with a lane above takes the wide path (the same bits
 * where both apply: 2^n exactly either way). */
static inline float32x4_t exp4f(float32x4_t x)
{
    if (vmaxvq_u32(vcgtq_f32(x, vdupq_n_f32(88.0f)))) return exp4f_wide(x);
    const float32x4_t lo = vdupq_n_f32(-87.3365447505531f);
    const uint32x4_t under = vcltq_f32(x, lo);
    float32x4_t n;
    const float32x4_t p = exp4f_reduced(vmaxq_f32(lo, x), &n);  /* (NaN stays NaN) */
    const float32x4_t e = vreinterpretq_f32_s32(
        vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23));
    return vbslq_f32(under, vdupq_n_f32(0.0f), vmulq_f32(p, e));
}

static inline float64x2_t exp2d(float64x2_t x)
{
    if (vmaxvq_u32(vreinterpretq_u32_u64(vcgtq_f64(x, vdupq_n_f64(709.0)))))
        return exp2d_wide(x);
    const float64x2_t lo = vdupq_n_f64(-708.3964185322641);
    const uint64x2_t under = vcltq_f64(x, lo);
    float64x2_t n;
    const float64x2_t p = exp2d_reduced(vmaxq_f64(lo, x), &n);
    const float64x2_t e = vreinterpretq_f64_s64(
        vshlq_n_s64(vaddq_s64(vcvtq_s64_f64(n), vdupq_n_s64(1023)), 52));
    return vbslq_f64(under, vdupq_n_f64(0.0), vmulq_f64(p, e));
}

/* y[i] = exp(scale*x[i] - shift), returns the sum (the tail goes through a final vector). */
float cattn_sexp_sum_neon(float *y, const float *x, float scale, float shift, ptrdiff_t n)
{
    const float32x4_t a = vdupq_n_f32(scale), s = vdupq_n_f32(shift);
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = acc0;
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {  /* two vectors a step: two exps in flight */
        const float32x4_t e0 = exp4f(vfmsq_f32(vnegq_f32(s), a, vnegq_f32(vld1q_f32(x + i))));
        const float32x4_t e1 = exp4f(vfmsq_f32(vnegq_f32(s), a, vnegq_f32(vld1q_f32(x + i + 4))));
        vst1q_f32(y + i, e0), vst1q_f32(y + i + 4, e1);
        acc0 = vaddq_f32(acc0, e0), acc1 = vaddq_f32(acc1, e1);
    }
    float t[4];
    vst1q_f32(t, vaddq_f32(acc0, acc1));
    float sum = (t[0] + t[2]) + (t[1] + t[3]);
    for (; i < n; i += 4) {
        float in[4] = {0}, out[4];
        const ptrdiff_t m = n - i < 4 ? n - i : 4;
        for (ptrdiff_t j = 0; j < m; j++) in[j] = x[i + j];
        vst1q_f32(out, exp4f(vfmsq_f32(vnegq_f32(s), a, vnegq_f32(vld1q_f32(in)))));
        for (ptrdiff_t j = 0; j < m; j++) y[i + j] = out[j], sum += out[j];
    }
    return sum;
}

double cattn_dexp_sum_neon(double *y, const double *x, double scale, double shift, ptrdiff_t n)
{
    const float64x2_t a = vdupq_n_f64(scale), s = vdupq_n_f64(shift);
    float64x2_t acc0 = vdupq_n_f64(0.0), acc1 = acc0;
    ptrdiff_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float64x2_t e0 = exp2d(vfmsq_f64(vnegq_f64(s), a, vnegq_f64(vld1q_f64(x + i))));
        const float64x2_t e1 = exp2d(vfmsq_f64(vnegq_f64(s), a, vnegq_f64(vld1q_f64(x + i + 2))));
        vst1q_f64(y + i, e0), vst1q_f64(y + i + 2, e1);
        acc0 = vaddq_f64(acc0, e0), acc1 = vaddq_f64(acc1, e1);
    }
    double t[2];
    vst1q_f64(t, vaddq_f64(acc0, acc1));
    double sum = t[0] + t[1];
    for (; i < n; i += 2) {
        double in[2] = {0}, out[2];
        const ptrdiff_t m = n - i < 2 ? n - i : 2;
        for (ptrdiff_t j = 0; j < m; j++) in[j] = x[i + j];
        vst1q_f64(out, exp2d(vfmsq_f64(vnegq_f64(s), a, vnegq_f64(vld1q_f64(in)))));
        for (ptrdiff_t j = 0; j < m; j++) y[i + j] = out[j], sum += out[j];
    }
    return sum;
}

/* max of x (n), ignoring NaN; four accumulators, so that four maxes are in flight */
float cattn_smax_neon(const float *x, ptrdiff_t n)
{
    float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = vmaxnmq_f32(vld1q_f32(x + i), m0);
        m1 = vmaxnmq_f32(vld1q_f32(x + i + 4), m1);
        m2 = vmaxnmq_f32(vld1q_f32(x + i + 8), m2);
        m3 = vmaxnmq_f32(vld1q_f32(x + i + 12), m3);
    }
    for (; i + 4 <= n; i += 4) m0 = vmaxnmq_f32(vld1q_f32(x + i), m0);
    float t[4];
    vst1q_f32(t, vmaxnmq_f32(vmaxnmq_f32(m0, m1), vmaxnmq_f32(m2, m3)));
    float m = t[0];
    for (int u = 1; u < 4; u++) m = t[u] > m ? t[u] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

double cattn_dmax_neon(const double *x, ptrdiff_t n)
{
    float64x2_t m0 = vdupq_n_f64(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        m0 = vmaxnmq_f64(vld1q_f64(x + i), m0);
        m1 = vmaxnmq_f64(vld1q_f64(x + i + 2), m1);
        m2 = vmaxnmq_f64(vld1q_f64(x + i + 4), m2);
        m3 = vmaxnmq_f64(vld1q_f64(x + i + 6), m3);
    }
    for (; i + 2 <= n; i += 2) m0 = vmaxnmq_f64(vld1q_f64(x + i), m0);
    double t[2];
    vst1q_f64(t, vmaxnmq_f64(vmaxnmq_f64(m0, m1), vmaxnmq_f64(m2, m3)));
    double m = t[0] > t[1] ? t[0] : t[1];
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}
