/* kernels/row_rules.h -- which keys each query row may attend, and the dropout draws: the rules
 * the forward and backward attention kernels (fast and reference) share, so they agree to the bit.
 *
 * Keys.  A call's rows are positions i = r mod per of per-row queries (per = L unless the glue
 * stacked the query heads of a key/value group as rows of one call, GQA).  Row r attends the keys
 *     max(0, i + lo) <= j <= min(kv_len, S) − 1,  j <= i + hi,          and none when i >= q_len,
 * (a causal call is lo = −∞, hi = 0), then whatever the mask array allows.  The kernels compute
 * only the blocks of keys some row of the block attends.
 *
 * Dropout.  A counter-based draw: the 32 random bits of (row r, key j) are a hash of (seed, the
 * row's stream = stream + r / per, its position i, j) -- no state, no stored mask, the same in the
 * forward and the backward, for any thread count and any blocking.  The hashes are splitmix64
 * (per row) and Wellons' lowbias32 twice (per element, which vectorises).  A weight is kept when
 * its bits are >= thr = floor(p · 2³²), and kept weights are scaled by 1/(1 − p).
 */
#ifndef CATTN_ROWS_H
#define CATTN_ROWS_H

#include <stddef.h>
#include <stdint.h>
#include "cattn.h"

typedef struct {
    ptrdiff_t lo, hi;  /* key offsets from the row's position, clamped to [−L−1, S+1] */
    ptrdiff_t kv;      /* keys past kv are ignored (min of S and the key length)     */
    ptrdiff_t q;       /* positions >= q attend nothing                              */
    ptrdiff_t per;     /* rows per query sequence (>= 1)                             */
    int limited;       /* 0: every row attends keys 0..S−1 (no rule above applies)   */
} cattn_rows;

static inline ptrdiff_t cattn_clamp(ptrdiff_t x, ptrdiff_t a, ptrdiff_t b)
{
    return x < a ? a : x > b ? b : x;
}

/* The rows rule of a call over (L, S). */
static inline cattn_rows cattn_rows_of(const cattn_attn_call *c, ptrdiff_t L, ptrdiff_t S)
{
    cattn_rows r = {-L - 1, S + 1, S, L, L > 0 ? L : 1, 0};
    if (c->limited) {
        r.limited = 1;
        r.lo = cattn_clamp(c->lo, -L - 1, S + 1);
        r.hi = cattn_clamp(c->hi, -L - 1, S + 1);
        r.kv = cattn_clamp(c->kv_len, 0, S);
        r.q = cattn_clamp(c->q_len, 0, L);
        if (c->per > 0) r.per = c->per, r.q = cattn_clamp(c->q_len, 0, c->per);
        /* limits that exclude nothing (every row sees every key) are none: full blocks */
        if (r.lo <= 1 - r.per && r.hi >= S - 1 && r.kv == S && r.q == r.per) r.limited = 0;
    }
    return r;
}

static inline ptrdiff_t cattn_row_pos(const cattn_rows *r, ptrdiff_t row)
{
    return r->per > 0 ? row % r->per : row;
}

/* The keys [*j0, *j1) row `row` may attend (before the mask array); *j1 <= *j0 when none. */
static inline void cattn_row_keys(const cattn_rows *r, ptrdiff_t row, ptrdiff_t *j0, ptrdiff_t *j1)
{
    ptrdiff_t i = cattn_row_pos(r, row), a = i + r->lo, b = i + r->hi + 1;
    if (a < 0) a = 0;
    if (b > r->kv) b = r->kv;
    if (i >= r->q || b < a) b = a;
    *j0 = a, *j1 = b;
}

/* The union of the keys of rows r0..r1-1, [*j0, *j1) (*j1 == *j0: none). */
static inline void cattn_rows_keys(const cattn_rows *r, ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t *j0,
                                   ptrdiff_t *j1)
{
    ptrdiff_t a = PTRDIFF_MAX, b = 0;
    for (ptrdiff_t row = r0; row < r1; row++) {
        ptrdiff_t x, y;
        cattn_row_keys(r, row, &x, &y);
        if (y > x) {
            if (x < a) a = x;
            if (y > b) b = y;
        }
    }
    if (b == 0) a = 0;
    *j0 = a, *j1 = b;
}

/* ---- dropout ------------------------------------------------------------------------------ */

static inline uint64_t cattn_mix64(uint64_t x)  /* splitmix64's finaliser */
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static inline uint32_t cattn_mix32(uint32_t x)  /* lowbias32 (C. Wellons): a bijection */
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* The 64-bit key of a row's draws. */
static inline uint64_t cattn_dropout_key(const cattn_attn_call *c, const cattn_rows *r,
                                         ptrdiff_t row)
{
    uint64_t stream = c->stream + (uint64_t)(row / r->per), pos = (uint64_t)cattn_row_pos(r, row);
    return cattn_mix64(cattn_mix64(c->seed ^ cattn_mix64(stream)) + pos);
}

/* The 32 random bits of key j in a row with key `key`. */
static inline uint32_t cattn_dropout_bits(uint64_t key, uint32_t j)
{
    return cattn_mix32(cattn_mix32(j ^ (uint32_t)key) + (uint32_t)(key >> 32));
}

/* floor(p · 2³²) for 0 <= p < 1: the draws below it are dropped. */
static inline uint32_t cattn_dropout_threshold(double p)
{
    double t = p * 4294967296.0;
    return p <= 0 ? 0 : t >= 4294967295.0 ? 4294967295u : (uint32_t)t;
}

#endif /* CATTN_ROWS_H */
