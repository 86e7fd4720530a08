/* loops.c -- glue: gufunc inner loops.  Each one unpacks NumPy's `dimensions` and `steps`, turns
 * byte strides into element strides and calls a kernel from cattn.h once per outer iteration.
 *
 * NumPy hands these loops aligned, native-byte-order data (it copies operands that are not) and
 * copies operands that overlap an output, so a loop only has to deal with strides, which every
 * kernel takes as they are (negative and zero included).  The loops never touch the Python API
 * except to report that a kernel ran out of memory, so NumPy runs them without the GIL.
 *
 * cattn reports NaN and infinity through the values it returns, by the documented policy, not
 * through floating-point warnings: each loop clears the exception flags its kernels raised
 * (comparisons with NaN raise "invalid"), which NumPy would otherwise turn into RuntimeWarnings.
 */
#include <fenv.h>
#include <stdlib.h>
#include "loops.h"

static void loop_no_memory(const char *name)
{
    PyGILState_STATE st = PyGILState_Ensure();
    if (!PyErr_Occurred()) PyErr_Format(PyExc_MemoryError, "%s: out of memory for scratch", name);
    PyGILState_Release(st);
}

/* The byte range [lo, hi) that an (n0, n1, n2) operand with byte strides s0, s1, s2 touches. */
typedef struct {
    const char *lo, *hi;
} span;

static span span3(const char *p, const npy_intp *n, const npy_intp *s, size_t item)
{
    span r = {p, p};
    if (p == NULL || n[0] <= 0 || n[1] <= 0 || n[2] <= 0) return r;
    npy_intp lo = 0, hi = 0;
    for (int i = 0; i < 3; i++) {
        if (s[i] < 0) lo += (n[i] - 1) * s[i];
        else hi += (n[i] - 1) * s[i];
    }
    r.lo = p + lo;
    r.hi = p + hi + item;
    return r;
}

static span span2(const char *p, npy_intp n0, npy_intp s0, npy_intp n1, npy_intp s1, size_t item)
{
    const npy_intp n[3] = {1, n0, n1}, s[3] = {0, s0, s1};
    return span3(p, n, s, item);
}

static int overlap(span a, span b) { return a.lo < b.hi && b.lo < a.hi; }

/* NumPy does not copy an input that is the very array given as out= (it treats that as safe for
 * element-wise ufuncs), but a gufunc reads whole core blocks: a loop whose output overlaps an
 * input computes into a scratch block and copies it out. */

/* What a loop hands to the threads: its arguments, and a flag for a scratch allocation that
 * failed (reported once, by the calling thread, after the join). */
typedef struct {
    char **args;
    const npy_intp *dims, *steps;
    const cattn_loop_cfg *cfg;
    int has_mask, has_w;  /* for softmax, has_w selects log_softmax */
    int failed;
} cattn_loop_job;

/* Run the dims[0] outer items of a loop, split across threads when the work is large enough;
 * per_item is about the flops of one item. */
static void run_items(cattn_loop_job *j, double per_item, cattn_range_fn fn, const char *name)
{
    cattn_parallel_for(j->dims[0], per_item * (double)j->dims[0], 4, fn, j);
    if (j->failed) loop_no_memory(name);
    feclearexcept(FE_ALL_EXCEPT);
}

/* the flops of one item: projections, attention per head, output projection */
static double cattn_mha_work(npy_intp const *d)
{
    double L = (double)d[1], S = (double)d[3], H = (double)d[6], dq = (double)d[7], dv = (double)d[8];
    return 2.0 * H * (L * (double)d[2] * dq + S * (double)d[4] * dq + S * (double)d[5] * dv +
                      L * S * (dq + dv) + L * dv * (double)d[9]);
}

#define T float
#define P(name) cattn_s##name
#define K(name) s##name
#define L(name) name##_f
#include "loops.inc"
#undef T
#undef P
#undef K
#undef L

#define T double
#define P(name) cattn_d##name
#define K(name) d##name
#define L(name) name##_d
#include "loops.inc"
