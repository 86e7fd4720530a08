/* kernels/tanh.h -- a tanh for float that compilers vectorise (libm's tanhf is a call per element).
 *
 *     tanh|x| = (1 − e) / (1 + e),  e = exp(−2|x|) = 2^n · exp(r),  r = −2|x| − n·ln 2,
 *
 * with |r| ≤ ln2/2 and exp(r) by its Taylor series to r⁷ (relative error < 6e-9); below
 * |x| = 1/4, where 1 − e would cancel, the odd series x − x³/3 + 2x⁵/15 − 17x⁷/315 + 62x⁹/2835.
 * |x| ≥ 9 gives ±1 (tanh 9 rounds to 1 in float).  Error: ≤ 3 ulp over the whole line; NaN in,
 * NaN out.  Only branch-free arithmetic, so a loop over it is vectorised at every level. */
#ifndef CATTN_TANH_H
#define CATTN_TANH_H

#include <stdint.h>
#include <string.h>

static inline float cattn_tanhf_fast(float x)
{
    /* 1. |x|, clamped where tanh is 1 in float (a NaN goes through: the compares are false) */
    float ax = x < 0 ? -x : x;
    float c = ax > 9.0f ? 9.0f : ax;
    /* 2. e = exp(−2c) = 2^n · exp(r): n = round(−2c / ln 2) by adding and taking away 1.5·2^23
     *    (the sum's low bits are then n: no float-to-int conversion, which compilers do not
     *    vectorise here), r by Cody–Waite with ln 2 in two parts */
    float y = -2.0f * c;
    float z = y * 1.44269504f + 12582912.0f;
    float n = z - 12582912.0f;
    float r = (y - n * 0.693145752f) - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
              r * (1.0f / 720 + r * (1.0f / 5040)))))));
    /* unsigned: a NaN's bits wrap instead of overflowing (its result is replaced in step 3) */
    uint32_t zbits, magic = 0x4b400000u;  /* the bits of 1.5·2^23; z's are magic + n */
    memcpy(&zbits, &z, sizeof zbits);
    uint32_t bits = (zbits - magic + 127u) << 23;  /* 2^n, n in [−26, 0] */
    float two_n;
    memcpy(&two_n, &bits, sizeof two_n);
    float e = p * two_n;
    float big = (1.0f - e) / (1.0f + e);
    /* 3. near 0: the odd series (x² ≤ 1/16 keeps the next term below 1e-8 of tanh) */
    float x2 = c * c;
    float small = c * (1.0f - x2 * (1.0f / 3 - x2 * (2.0f / 15 - x2 * (17.0f / 315 -
                  x2 * (62.0f / 2835)))));
    float t = c < 0.25f ? small : big;
    t = ax != ax ? x : t;  /* NaN */
    return x < 0 ? -t : t;
}

#endif
