/* kernels/half.h -- float16 (IEEE binary16) and bfloat16 to float and back, one element at a
 * time: what every half-precision kernel does while it loads a row and while it stores one.
 *
 *   float16:  1 sign, 5 exponent, 10 mantissa bits;  bfloat16: the top 16 bits of a float.
 *   To float: exact (a NaN made quiet).  From float: round to nearest, ties to even; overflow -> inf; NaN stays a
 *   (quiet) NaN of the same sign.
 */
#ifndef CATTN_HALF_H
#define CATTN_HALF_H

#include <stdint.h>
#include <string.h>

static inline float cattn_bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t cattn_float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* float16 -> float */
static inline float cattn_h2f(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) { /* zero or subnormal: m · 2^-24, exact in float */
        float f = (float)m * 0x1p-24f;
        return cattn_bits_float(cattn_float_bits(f) | sign);
    }
    if (e == 31) /* inf, or a NaN made quiet (as F16C's conversion does) */
        return cattn_bits_float(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0));
    return cattn_bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

/* float -> float16 */
static inline uint16_t cattn_f2h(float f)
{
    uint32_t u = cattn_float_bits(f);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    u &= 0x7fffffffu;
    if (u >= 0x47800000u) /* |f| >= 65536, inf or NaN (65520 and up round to inf below) */
        return sign | (u > 0x7f800000u ? (uint16_t)(0x7e00u | ((u >> 13) & 0x3ffu)) : 0x7c00u);
    if (u < 0x38800000u) { /* below 2^-14: a subnormal or zero float16 */
        /* adding 0.5 (2^-1) puts the float16's 10 bits, rounded to nearest even by the float
         * addition itself, at the bottom of the sum's mantissa */
        float s = cattn_bits_float(u) + 0.5f;
        return sign | (uint16_t)(cattn_float_bits(s) - 0x3f000000u);
    }
    /* normal: rebias the exponent, round the 13 bits dropped to nearest even */
    uint32_t r = u + 0xc8000fffu + ((u >> 13) & 1u); /* 0xc8000000 = (15 - 127) << 23 */
    return sign | (uint16_t)(r >> 13);
}

/* bfloat16 -> float */
static inline float cattn_b2f(uint16_t b) { return cattn_bits_float((uint32_t)b << 16); }

/* float -> bfloat16 */
static inline uint16_t cattn_f2b(float f)
{
    uint32_t u = cattn_float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* One element of either half type (bf16 1: bfloat16, 0: float16) to float, and back. */
static inline float cattn_half_get(cattn_half x, int bf16)
{
    return bf16 ? cattn_b2f(x) : cattn_h2f(x);
}
static inline cattn_half cattn_half_put(float f, int bf16)
{
    return bf16 ? cattn_f2b(f) : cattn_f2h(f);
}

#endif
