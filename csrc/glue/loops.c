/* glue/loops.c -- glue: gufunc inner loops.  Each loop turns NumPy's `args`/`dimensions`/`steps`
 * into operands (cattn_operand: pointer, outer step, core sizes and byte strides), reads the
 * kernel table once, and calls a kernel from cattn.h once per outer item.
 *
 * Where each rule lives (once):
 *   - operands from NumPy's arguments: operands_from_numpy, from a table of core dims per ufunc;
 *   - an attention call's description (mask kind, mask strides, scale, weights, kernel table):
 *     call_of, used by every attention loop, the multi-head loop and the direct path;
 *   - "an output overlaps an input: compute into scratch, copy out": begin_item / end_item;
 *   - the kernel table: one cattn_kernels_now() per loop call, passed down to every thread;
 *   - Ctrl-C during a long call: sigint_begin / sigint_end around every loop's items.
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
#define _GNU_SOURCE
#include <fenv.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include "loops.h"

static void loop_no_memory(const char *name)
{
    PyGILState_STATE st = PyGILState_Ensure();
    if (!PyErr_Occurred()) PyErr_Format(PyExc_MemoryError, "%s: out of memory for scratch", name);
    PyGILState_Release(st);
}

/* ---- operands ------------------------------------------------------------------------------ */

/* The core dims of one operand, as indices into NumPy's `dimensions`. */
typedef struct {
    int nd;
    int d[3];
} core_dims;

/* Fill op[which[i]] from NumPy operand i, for the nop operands NumPy passed; `steps` holds nop
 * outer steps, then the core steps of each operand in turn. */
static void operands_from_numpy(cattn_operand *op, const int *which, int nop, const core_dims *cd,
                                char **args, const npy_intp *dims, const npy_intp *steps)
{
    const npy_intp *core = steps + nop;
    for (int i = 0; i < nop; i++) {
        cattn_operand *o = &op[which[i]];
        const core_dims *c = &cd[which[i]];
        o->p = args[i];
        o->step = steps[i];
        o->nd = c->nd;
        for (int k = 0; k < c->nd; k++) o->n[k] = dims[c->d[k]], o->s[k] = *core++;
    }
}

/* The order in which NumPy passes the roles 0..nroles-1: those with their bit set in `present`,
 * in role order; returns how many operands NumPy passes. */
static int numpy_order(int *which, int nroles, unsigned present)
{
    int n = 0;
    for (int r = 0; r < nroles; r++)
        if (present & (1u << r)) which[n++] = r;
    return n;
}
#define ALL_ROLES(n) ((1u << (n)) - 1)
#define ROLE(r) (1u << (r))

/* Item `it` of an operand, as a view with step 0. */
static cattn_operand item_of(const cattn_operand *o, npy_intp it)
{
    cattn_operand v = *o;
    if (v.p != NULL) v.p += it * v.step;
    v.step = 0;
    return v;
}

/* The byte range [lo, hi) an item view touches. */
typedef struct {
    const char *lo, *hi;
} span;

static span span_of(const cattn_operand *v)
{
    span r = {v->p, v->p};
    if (v->p == NULL) return r;
    npy_intp lo = 0, hi = 0;
    for (int k = 0; k < v->nd; k++) {
        if (v->n[k] <= 0) return r;
        if (v->s[k] < 0) lo += (v->n[k] - 1) * v->s[k];
        else hi += (v->n[k] - 1) * v->s[k];
    }
    r.lo = v->p + lo;
    r.hi = v->p + hi + v->size;
    return r;
}

/* Fetch an item's bytes ahead of its use (at most 32 KiB: the next small product of a batch).
 * A macro: GCC 12 dropped the prefetches of a static function as a call without effect. */
#define PREFETCH_ITEM(o, it)                                                                      \
    do {                                                                                          \
        cattn_operand v_ = item_of((o), (it));                                                    \
        span s_ = span_of(&v_);                                                                   \
        for (ptrdiff_t b_ = 0; b_ < s_.hi - s_.lo && b_ < 32768; b_ += 64)                        \
            CATTN_PREFETCH_L2(s_.lo + b_);                                                        \
    } while (0)

/* ---- outputs that overlap an input, and layouts a kernel requires ------------------------- */

/* NumPy does not copy an input that is the very array given as out= (it treats that as safe for
 * element-wise ufuncs), but a gufunc reads whole core blocks: an item whose output overlaps an
 * input computes into contiguous scratch and copies it out.  So does an item whose outputs from
 * `contig` on are not C-contiguous (mha's saved forward: cattn_mha_saved is contiguous).
 * begin_item gives the views the kernel writes (the outputs themselves, or scratch); end_item
 * copies scratch out.  The scratch grows as needed and is freed by the caller.  Returns 0, or -1
 * when out of memory. */
typedef struct {
    char *buf;
    size_t cap;
} scratch;

/* Is an item view C-contiguous? */
static int contiguous(const cattn_operand *o)
{
    npy_intp s = (npy_intp)o->size;
    for (int k = o->nd - 1; k >= 0; k--) {
        if (o->n[k] > 1 && o->s[k] != s) return 0;
        s *= o->n[k];
    }
    return 1;
}

/* Room for `count` views shaped as v[0..count-1], laid out contiguously one after another:
 * their byte offsets in at[]; 0, or -1 when out of memory. */
static int scratch_for(scratch *sc, const cattn_operand *v, int count, size_t *at)
{
    size_t need = 0;
    for (int o = 0; o < count; o++) {
        size_t n = v[o].size;
        for (int k = 0; k < v[o].nd; k++) n *= (size_t)v[o].n[k];
        at[o] = need;
        need += (n + 63) & ~(size_t)63;
    }
    if (need > sc->cap) {
        char *b = realloc(sc->buf, need);
        if (b == NULL) return -1;
        sc->buf = b, sc->cap = need;
    }
    return 0;
}

/* v, moved to p and given the C-contiguous strides of its shape */
static void make_contiguous(cattn_operand *v, char *p)
{
    v->p = p;
    npy_intp s = (npy_intp)v->size;
    for (int k = v->nd - 1; k >= 0; k--) v->s[k] = s, s *= v->n[k];
}

/* Copy the elements of src into dst, views of the same shape. */
static void copy_view(const cattn_operand *dst, const cattn_operand *src)
{
    npy_intp n[3] = {1, 1, 1}, sd[3] = {0, 0, 0}, ss[3] = {0, 0, 0};
    for (int k = 0; k < dst->nd; k++) {
        int m = 3 - dst->nd + k;
        n[m] = dst->n[k], sd[m] = dst->s[k], ss[m] = src->s[k];
    }
    for (npy_intp a = 0; a < n[0]; a++)
        for (npy_intp b = 0; b < n[1]; b++)
            for (npy_intp c = 0; c < n[2]; c++)
                memcpy(dst->p + a * sd[0] + b * sd[1] + c * sd[2],
                       src->p + a * ss[0] + b * ss[1] + c * ss[2], dst->size);
}

static int begin_item(cattn_operand *view, const cattn_operand *outs, int nout, int contig,
                      const cattn_operand *ins, int nin, npy_intp it, scratch *sc)
{
    int alias = 0;
    for (int o = 0; o < nout; o++) {
        view[o] = item_of(&outs[o], it);
        span so = span_of(&view[o]);
        if (o >= contig && view[o].p != NULL && !contiguous(&view[o])) alias = 1;
        for (int i = 0; i < nin && !alias; i++) {
            cattn_operand in = item_of(&ins[i], it);
            span si = span_of(&in);
            alias = so.lo < si.hi && si.lo < so.hi;
        }
    }
    if (!alias) return 0;
    size_t at[16];
    if (scratch_for(sc, view, nout, at) < 0) return -1;
    for (int o = 0; o < nout; o++)  /* the same shape, contiguous */
        if (view[o].p != NULL) make_contiguous(&view[o], sc->buf + at[o]);
    return 0;
}

static void end_item(const cattn_operand *view, const cattn_operand *outs, int nout, npy_intp it)
{
    for (int o = 0; o < nout; o++) {
        cattn_operand dst = item_of(&outs[o], it);
        if (dst.p == NULL || dst.p == view[o].p) continue;
        copy_view(&dst, &view[o]);
    }
}

/* Inputs x[0..count-1] a kernel needs C-contiguous: those that are not are copied into scratch,
 * and x[] points there.  0, or -1 when out of memory. */
static int contiguous_inputs(cattn_operand *x, int count, scratch *sc)
{
    int all = 1;
    for (int i = 0; i < count; i++) all &= contiguous(&x[i]);
    if (all) return 0;
    size_t at[8];
    if (scratch_for(sc, x, count, at) < 0) return -1;
    for (int i = 0; i < count; i++) {
        if (contiguous(&x[i])) continue;
        cattn_operand src = x[i];
        make_contiguous(&x[i], sc->buf + at[i]);
        copy_view(&x[i], &src);
    }
    return 0;
}

/* ---- the description of an attention call ------------------------------------------------ */

/* The one place where an attention call is described for the kernels: the mask kind and its
 * element strides (a head axis first when the mask has three core dims), the scale, the weights
 * output, the table, and causality as row limits over (L, S).  mask and w are item views, or
 * NULL. */
static cattn_attn_call call_of(const cattn_loop_cfg *cfg, const cattn_kernel_table *kt,
                               const cattn_operand *mask, double scale, const cattn_operand *w,
                               npy_intp L, npy_intp S)
{
    cattn_attn_call c = {.mask_kind = cfg->mask, .scale = scale, .kt = kt};
    ptrdiff_t *ms[3] = {&c.hsm, &c.rsm, &c.csm}, *ws[3] = {&c.hsw, &c.rsw, &c.csw};
    if (mask != NULL && mask->p != NULL) {
        c.mask = mask->p;
        for (int k = 0; k < mask->nd; k++)
            *ms[3 - mask->nd + k] = (ptrdiff_t)(mask->s[k] / (npy_intp)mask->size);
    }
    if (w != NULL && w->p != NULL) {
        c.w = w->p;
        for (int k = 0; k < w->nd; k++) *ws[3 - w->nd + k] = (ptrdiff_t)(w->s[k] / (npy_intp)w->size);
    }
    if (cfg->causal) cattn_causal_limits(&c, (ptrdiff_t)L, (ptrdiff_t)S);
    return c;
}

/* The ext gufuncs' part of a call: the limits (an item view of the int64 operand, laid out as
 * LIM_*), the soft cap and the dropout probability.  Like every limit (kernels/row_rules.h), the
 * rows per sequence are taken within the call's shapes: in [0, L], and a mask's rows (p) when
 * there is a mask array, whose rows the kernels read by position.  Nothing here can fail. */
static void ext_of(cattn_attn_call *c, const cattn_operand *lim, double cap, double drop,
                   const cattn_operand *mask, npy_intp L)
{
    long long v[CATTN_NLIM];
    for (int i = 0; i < CATTN_NLIM; i++) memcpy(&v[i], lim->p + i * lim->s[0], sizeof v[i]);
    c->limited = 1;
    c->lo = (ptrdiff_t)v[LIM_LO], c->hi = (ptrdiff_t)v[LIM_HI];
    c->kv_len = (ptrdiff_t)v[LIM_KV_LEN], c->q_len = (ptrdiff_t)v[LIM_Q_LEN];
    c->per = v[LIM_PER] < 0 || v[LIM_PER] > L ? 0 : (ptrdiff_t)v[LIM_PER];
    if (mask != NULL && mask->p != NULL) c->per = mask->n[0] == L ? 0 : (ptrdiff_t)mask->n[0];
    c->seed = (unsigned long long)v[LIM_SEED], c->stream = (unsigned long long)v[LIM_STREAM];
    c->softcap = cap > 0 ? cap : 0;
    c->dropout_p = drop > 0 && drop < 1 ? drop : 0;
}

/* ---- Ctrl-C ---------------------------------------------------------------------------------
 * NumPy runs these loops without the GIL, and Python handles SIGINT only between bytecodes, so a
 * minutes-long call could not be interrupted.  A long call from the main thread therefore catches
 * SIGINT while it runs: the handler only asks the kernels to stop (cattn_request_stop, safe in a
 * handler); they return at their next block, and the threads with them.  Then the loop restores
 * the previous handler, hands the signal on to it and lets Python run its handler -- by default
 * KeyboardInterrupt, also what Jupyter's "interrupt" gives -- which the ufunc raises.  A call
 * from another thread, or where SIGINT is ignored, leaves the handler alone. */
#define SIGINT_MIN_WORK 5e7 /* flops: shorter calls end sooner than a person can press Ctrl-C */

#if defined(_WIN32)  /* no sigaction: Python's own handler runs after the call */
typedef struct {
    int active;
} sigint_scope;
static void sigint_begin(sigint_scope *s, double work) { (void)work, s->active = 0; }
static int sigint_end(sigint_scope *s) { return (void)s, 0; }
#else
typedef struct {
    int active;
    struct sigaction old;
} sigint_scope;

static void on_sigint(int sig)
{
    (void)sig;
    cattn_request_stop();
}

static int is_main_thread(void)
{
#if defined(__linux__) && defined(SYS_gettid)
    return (pid_t)syscall(SYS_gettid) == getpid();
#else
    return 0;  /* elsewhere: no interrupting (Python's handler runs after the call) */
#endif
}

static void sigint_begin(sigint_scope *s, double work)
{
    s->active = 0;
    if (work < SIGINT_MIN_WORK || !is_main_thread()) return;
    if (sigaction(SIGINT, NULL, &s->old) != 0 || (!(s->old.sa_flags & SA_SIGINFO) &&
                                                   s->old.sa_handler == SIG_IGN))
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    cattn_clear_stop();
    s->active = sigaction(SIGINT, &sa, NULL) == 0;
    cattn_set_stoppable(s->active);
    if (s->active) {
        /* a SIGINT that came while the call was being set up (allocating its outputs), before
         * this handler, waits in Python's flag: stop at once, not after the call -- sigint_end
         * hands the signal back to Python's handler */
        PyGILState_STATE st = PyGILState_Ensure();
        if (PyOS_InterruptOccurred()) cattn_request_stop();
        PyGILState_Release(st);
    }
}

/* 1 when the call was stopped, with Python's exception set (KeyboardInterrupt by default). */
static int sigint_end(sigint_scope *s)
{
    if (!s->active) return 0;
    sigaction(SIGINT, &s->old, NULL);
    int stopped = cattn_stop_requested();
    cattn_set_stoppable(0);
    if (!stopped) return 0;
    cattn_clear_stop();
    PyGILState_STATE st = PyGILState_Ensure();
    raise(SIGINT);  /* to the previous handler: Python's notes it, SIG_DFL ends the process */
    if (PyErr_CheckSignals() == 0 && !PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
    PyGILState_Release(st);
    return 1;
}
#endif

/* Clear the floating-point exception flags a kernel raised: NumPy reads them after a loop and
 * would warn of an intermediate's harmless overflow (exp of a masked score).  On x86-64 the
 * kernels compute in SSE/AVX registers only, so MXCSR's six flags are all they can raise: two
 * instructions instead of feclearexcept's round trip through the x87 environment, which was
 * 4 % of a 16x16 matmul's call (perf). */
static void clear_fp_flags(void)
{
#if defined(__x86_64__) || defined(_M_X64)
    _mm_setcsr(_mm_getcsr() & ~0x3Fu);
#else
    feclearexcept(FE_ALL_EXCEPT);
#endif
}

/* ---- running the items ---------------------------------------------------------------------- */

/* What a loop hands to the threads. */
typedef struct {
    const cattn_loop_cfg *cfg;
    const cattn_kernel_table *kt;
    const npy_intp *dims;
    const cattn_operand *op;
    int failed;
    int stream;  /* matmul: the batch outgrows the caches, so each item fetches the next a ahead */
} loop_job;

/* A batch of products whose inputs exceed this many bytes streams from memory (beyond an L2 of
 * 1-2 MiB): its loop fetches each next item ahead. */
#define CATTN_PREFETCH_BATCH_BYTES ((double)(2 << 20))

/* Run the dims[0] outer items of a loop, split across threads when the work is large enough;
 * per_item is about the flops of one item.  Returns 0, or -1 with an exception set (Ctrl-C, or
 * MemoryError). */
static int run_items(loop_job *j, double per_item, cattn_range_fn fn)
{
    double work = per_item * (double)j->dims[0];
    sigint_scope sig;
    sigint_begin(&sig, work);
    cattn_parallel_for(j->dims[0], work, 4, fn, j);
    clear_fp_flags();
    if (sigint_end(&sig)) return -1;
    if (j->failed) {
        loop_no_memory(j->cfg->name);
        return -1;
    }
    return 0;
}

/* the flops of one attention item */
static double attention_work(const npy_intp *d)
{
    return 2.0 * (double)d[1] * (double)d[3] * (double)(d[2] + d[4]);
}

/* the flops of one mha item: projections, attention per head, output projection */
static double mha_work(npy_intp const *d)
{
    double L = (double)d[1], S = (double)d[3], H = (double)d[6], dq = (double)d[7], dv = (double)d[8];
    return 2.0 * H * (L * (double)d[2] * dq + S * (double)d[4] * dq + S * (double)d[5] * dv +
                      L * S * (dq + dv) + L * dv * (double)d[9]);
}

/* The core dims of each role, as indices into `dimensions`. */
static const core_dims matmul_cd[] = {{2, {1, 2}}, {2, {2, 3}}, {2, {1, 3}}};
/* additive scores: dims = N, l, h, s[, 7]; qp (l,h), kp (s,h), w (h), then s (l,s) or the
 * backward's ds (l,s) -> dqp (l,h), dkp (s,h), dw (h); the limits (7) last */
static const core_dims additive_cd[] = {{2, {1, 2}}, {2, {3, 2}}, {1, {2}}, {2, {1, 3}},
                                        {2, {1, 2}}, {2, {3, 2}}, {1, {2}}, {1, {4}}};
/* attention: dims = N, l, e, s, ev */
#define CD_L_E {2, {1, 2}}
#define CD_S_E {2, {3, 2}}
#define CD_S_EV {2, {3, 4}}
#define CD_L_S {2, {1, 3}}
#define CD_L_EV {2, {1, 4}}
#define CD_SCALAR {0, {0}}
static const core_dims attention_cd[ATT_NOP] = {
    CD_L_E, CD_S_E, CD_S_EV, CD_L_S, CD_SCALAR, CD_SCALAR, CD_SCALAR, {0, {0}}, CD_L_EV, CD_L_S,
    {1, {1}}};
/* the ext gufuncs: dims = N, l, e, s, ev, then p (the mask's rows) when there is a mask, then the
 * limits' CATTN_NLIM; the mask is (p,s) */
#define CD_P_S {2, {5, 3}}
static const core_dims attention_ext_cd[2][ATT_NOP] = {
    {CD_L_E, CD_S_E, CD_S_EV, CD_P_S, CD_SCALAR, CD_SCALAR, CD_SCALAR, {1, {5}}, CD_L_EV, CD_L_S,
     {1, {1}}},
    {CD_L_E, CD_S_E, CD_S_EV, CD_P_S, CD_SCALAR, CD_SCALAR, CD_SCALAR, {1, {6}}, CD_L_EV, CD_L_S,
     {1, {1}}}};
/* attention backward: the same dims; operands by role */
enum { AB_Q, AB_K, AB_V, AB_MASK, AB_OUT, AB_LSE, AB_DOUT, AB_SCALE, AB_CAP, AB_DROP, AB_LIM,
       AB_DQ, AB_DK, AB_DV, AB_DMASK, AB_NOP };
static const core_dims attention_backward_cd[3][AB_NOP] = {
    {CD_L_E, CD_S_E, CD_S_EV, CD_L_S, CD_L_EV, {1, {1}}, CD_L_EV, CD_SCALAR, CD_SCALAR, CD_SCALAR,
     {0, {0}}, CD_L_E, CD_S_E, CD_S_EV, CD_L_S},
    {CD_L_E, CD_S_E, CD_S_EV, CD_P_S, CD_L_EV, {1, {1}}, CD_L_EV, CD_SCALAR, CD_SCALAR, CD_SCALAR,
     {1, {5}}, CD_L_E, CD_S_E, CD_S_EV, CD_L_S},
    {CD_L_E, CD_S_E, CD_S_EV, CD_P_S, CD_L_EV, {1, {1}}, CD_L_EV, CD_SCALAR, CD_SCALAR, CD_SCALAR,
     {1, {6}}, CD_L_E, CD_S_E, CD_S_EV, CD_L_S}};
/* mha: dims = N, l, eq, s, ek, ev, h, d, dv, eo, then the limits' CATTN_NLIM (ext) */
enum { XQ, XK, XV, WQ, WK, WV, WO, BQ, BK, BV, BO, MHA_MASK, MHA_SCALE, MHA_LIM, MHA_OUT, MHA_W,
       MHA_SQ, MHA_SK, MHA_SV, MHA_SO, MHA_LSE, MHA_NOP };
#define CD_XQ {2, {1, 2}}
#define CD_XK {2, {3, 4}}
#define CD_XV {2, {3, 5}}
#define CD_WQ {3, {6, 2, 7}}
#define CD_WK {3, {6, 4, 7}}
#define CD_WV {3, {6, 5, 8}}
#define CD_WO {3, {6, 8, 9}}
#define CD_HLS {3, {6, 1, 3}}
#define CD_SAVED {3, {1, 6, 7}}, {3, {3, 6, 7}}, {3, {3, 6, 8}}, {3, {1, 6, 8}}, {2, {6, 1}}
static const core_dims mha_cd[MHA_NOP] = {
    CD_XQ, CD_XK, CD_XV, CD_WQ, CD_WK, CD_WV, CD_WO, {2, {6, 7}}, {2, {6, 7}}, {2, {6, 8}},
    {1, {9}}, CD_HLS, CD_SCALAR, {1, {10}}, {2, {1, 9}}, CD_HLS, CD_SAVED};
/* mha backward: the same dims */
enum { MB_XQ, MB_XK, MB_XV, MB_WQ, MB_WK, MB_WV, MB_WO, MB_MASK, MB_SQ, MB_SK, MB_SV, MB_SO,
       MB_LSE, MB_DOUT, MB_SCALE, MB_LIM, MB_DXQ, MB_DXK, MB_DXV, MB_DWQ, MB_DWK, MB_DWV, MB_DWO, MB_DBQ,
       MB_DBK, MB_DBV, MB_DBO, MB_DMASK, MB_NOP };
static const core_dims mha_backward_cd[MB_NOP] = {
    CD_XQ, CD_XK, CD_XV, CD_WQ, CD_WK, CD_WV, CD_WO, CD_HLS, CD_SAVED, {2, {1, 9}}, CD_SCALAR,
    {1, {10}}, CD_XQ, CD_XK, CD_XV, CD_WQ, CD_WK, CD_WV, CD_WO, {2, {6, 7}}, {2, {6, 7}}, {2, {6, 8}},
    {1, {9}}, CD_HLS};


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
#undef T
#undef P
#undef K
#undef L

/* ---- half precision: softmax rows read as half -------------------------------------------- */

/* (n)->(n) and (n),(n)->(n) over float16 or bfloat16: dims = N, n; operands x, y or y, g, dx.
 * Byte strides become element strides of 2 bytes. */
static void half_softmax_items(void *ctx, ptrdiff_t lo, ptrdiff_t hi)
{
    loop_job *j = ctx;
    const cattn_operand *op = j->op;
    const int bf16 = j->cfg->half == 2, bwd = j->cfg->backward;
    const ptrdiff_t n = j->dims[1];
    for (npy_intp it = lo; it < hi && !cattn_stop_requested(); it++) {
        const cattn_half *a = (const cattn_half *)(op[0].p + it * op[0].step);
        int rc;
        if (!bwd)
            rc = cattn_half_softmax_kt(bf16, j->cfg->log, j->cfg->ref,
                                       (cattn_half *)(op[1].p + it * op[1].step),
                                       (ptrdiff_t)(op[1].s[0] / 2), a,
                                       (ptrdiff_t)(op[0].s[0] / 2), n, j->kt);
        else
            rc = cattn_half_softmax_backward_kt(
                bf16, j->cfg->log, j->cfg->ref, (cattn_half *)(op[2].p + it * op[2].step),
                (ptrdiff_t)(op[2].s[0] / 2), a, (ptrdiff_t)(op[0].s[0] / 2),
                (const cattn_half *)(op[1].p + it * op[1].step), (ptrdiff_t)(op[1].s[0] / 2), n,
                j->kt);
        if (rc != 0) {
            j->failed = 1;
            break;
        }
    }
}

static void half_loop(char **args, npy_intp const *dims, npy_intp const *steps, void *data,
                      int nop)
{
    static const core_dims cd[3] = {{1, {1}}, {1, {1}}, {1, {1}}};
    static const int which[3] = {0, 1, 2};
    cattn_operand op[3];
    operands_from_numpy(op, which, nop, cd, args, dims, steps);
    loop_job j = {data, cattn_kernels_now(), dims, op, 0, 0};
    run_items(&j, 20.0 * (double)dims[1], half_softmax_items);
}

void cattn_loop_softmax_half(char **args, npy_intp const *dims, npy_intp const *steps,
                             void *data)
{
    half_loop(args, dims, steps, data, 2);
}

void cattn_loop_softmax_backward_half(char **args, npy_intp const *dims, npy_intp const *steps,
                                      void *data)
{
    half_loop(args, dims, steps, data, 3);
}

/* (n?,k),(k,m?)->(n?,m?) over float16 or bfloat16: dims = N, n, k, m; operands a, b -> c. */
static void half_matmul_items(void *ctx, ptrdiff_t lo, ptrdiff_t hi)
{
    loop_job *j = ctx;
    const cattn_operand *op = j->op;
    const npy_intp *d = j->dims;
    const int bf16 = j->cfg->half == 2;
    scratch sc = {NULL, 0};
    for (npy_intp it = lo; it < hi && !cattn_stop_requested(); it++) {
        cattn_operand c;  /* c, or scratch when it overlaps a or b (out=a) */
        if (begin_item(&c, &op[2], 1, 1, op, 2, it, &sc) < 0) {
            j->failed = 1;
            break;
        }
        cattn_operand a = item_of(&op[0], it), b = item_of(&op[1], it);
        cattn_half *C = (cattn_half *)c.p;
        const cattn_half *A = (const cattn_half *)a.p, *B = (const cattn_half *)b.p;
        const ptrdiff_t rsc = c.s[0] / 2, csc = c.s[1] / 2, rsa = a.s[0] / 2, csa = a.s[1] / 2,
                        rsb = b.s[0] / 2, csb = b.s[1] / 2;  /* bytes -> halves */
        int rc = j->cfg->ref ? cattn_half_gemm_ref(bf16, C, rsc, csc, A, rsa, csa, B, rsb, csb,
                                                   d[1], d[3], d[2])
                             : cattn_half_gemm_kt(bf16, C, rsc, csc, A, rsa, csa, B, rsb, csb,
                                                  d[1], d[3], d[2], j->kt);
        if (rc != 0) {
            j->failed = 1;
            break;
        }
        end_item(&c, &op[2], 1, it);
    }
    free(sc.buf);
}

void cattn_loop_matmul_half(char **args, npy_intp const *dims, npy_intp const *steps, void *data)
{
    cattn_operand op[3];
    static const int which[3] = {0, 1, 2};
    operands_from_numpy(op, which, 3, matmul_cd, args, dims, steps);
    for (int i = 0; i < 3; i++) op[i].size = 2;
    loop_job j = {data, cattn_kernels_now(), dims, op, 0, 0};
    run_items(&j, 2.0 * (double)dims[1] * (double)dims[2] * (double)dims[3], half_matmul_items);
}

int cattn_run_attention(const cattn_attention_job *job)
{
    loop_job j = {job->cfg, cattn_kernels_now(), job->dims, job->op, 0, 0};
    return run_items(&j, attention_work(job->dims),
                     job->dbl ? attention_items_d : attention_items_f);
}
