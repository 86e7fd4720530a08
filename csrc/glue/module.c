/* glue/module.c -- glue: the extension module cattn._cattn.
 *
 * Registers the generalized ufuncs (float32 and float64 loops, each with a `_ref` twin that runs
 * the reference kernels) from one table (specs: signature, loops, mask kind and operands), their
 * type resolver, the configuration functions, and the direct path of the common SDPA call.
 * Rules that live here: the computing dtype (compute_type, also _cattn.compute_dtype for Python);
 * the version (CATTN_VERSION of cattn.h, read by setup.py and reported by get_config).
 */
#include "loops.h"
#include <numpy/arrayobject.h>
#include <numpy/ufuncobject.h>
#include <math.h>
#include <string.h>

/* ---- the ufuncs ---------------------------------------------------------------------------- */

/* What a ufunc is: its loops (a float32 and a float64 one; a ufunc with a mask operand has four,
 * the boolean-mask loops first so that a boolean mask is never cast to a float one), and what its
 * loops are to do (cfg: the mask kind, whether there is a mask operand and a weights output). */
typedef struct {
    const char *name;
    const char *signature;
    PyUFuncGenericFunction ff, fd;  /* the float32 and float64 inner loops */
    int nin, nout;
    int ndata;                      /* the first ndata inputs decide the computing dtype */
    int imask;                      /* the mask input, or -1 */
    cattn_loop_cfg cfg;             /* what the loops do (ref, name and spec are set here)       */
    const char *doc;
} ufunc_spec;

#include "docs.h"

#define ATT_IN "(l,e),(s,e),(s,ev)"
#define MHA_IN "(l,eq),(s,ek),(s,ev),(h,eq,d),(h,ek,d),(h,ev,dv),(h,dv,eo),(h,d),(h,d),(h,dv),(eo)"
#define MHA_ARGS "xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo"
#define CFG(causal_, m_, w_, lse_, dm_)                                                   \
    {.mask = CATTN_MASK_NONE, .causal = causal_, .has_mask = m_, .has_w = w_, .has_lse = lse_, \
     .has_dmask = dm_}
/* attention forward: q, k, v [, mask], scale -> out [, w] [, lse] */
#define ATT(causal, mask, w, lse) cattn_loop_attention_f, cattn_loop_attention_d, 4 + (mask), \
    1 + (w) + (lse), 3, (mask) ? 3 : -1, CFG(causal, mask, w, lse, 0)
/* mha forward: the 11 data operands, mask (h,l,s), scale -> out [, w] [, saved q, k, v, o, lse] */
#define MHA(w, saved) cattn_loop_mha_f, cattn_loop_mha_d, 13, 1 + (w) + 5 * (saved), 11, 11, \
    CFG(0, 1, w, saved, 0)
/* the functions' mha: the 11 data operands, scale, limits -> as MHA (no mask: masks go above) */
#define MHA_LIM(w, saved) cattn_loop_mha_f, cattn_loop_mha_d, 13, 1 + (w) + 5 * (saved), 11, -1, \
    {.mask = CATTN_MASK_NONE, .has_w = w, .has_lse = saved, .ext = 1}
/* attention backward: q, k, v [, mask], out, lse, dout, scale -> dq, dk, dv [, dmask] */
#define ATT_BWD(causal, mask, dmask) cattn_loop_attention_backward_f, \
    cattn_loop_attention_backward_d, 7 + (mask), 3 + (dmask), 3, (mask) ? 3 : -1, \
    CFG(causal, mask, 0, 0, dmask)
/* mha backward: xq, xk, xv, wq, wk, wv, wo, mask, saved q, k, v, o, lse, dout, scale ->
 * dxq, dxk, dxv, dwq, dwk, dwv, dwo, dbq, dbk, dbv, dbo; the functions' (lim): no mask, limits
 * after the scale */
#define MHA_BWD(lim) cattn_loop_mha_backward_f, cattn_loop_mha_backward_d, 15, 11, 7, \
    (lim) ? -1 : 7, {.mask = CATTN_MASK_NONE, .has_mask = !(lim), .ext = lim}
#define PLAIN(f, nin, nout, log_) cattn_loop_##f##_f, cattn_loop_##f##_d, nin, nout, nin, -1, \
    {.mask = CATTN_MASK_NONE, .log = log_}
#define PLAIN_BWD(f, nin, nout, log_) cattn_loop_##f##_f, cattn_loop_##f##_d, nin, nout, nin, -1, \
    {.mask = CATTN_MASK_NONE, .log = log_, .backward = 1}
#define SAVED "(l,h,d),(s,h,d),(s,h,dv),(l,h,dv),(h,l)"
#define ATT_BWD_IN ATT_IN ",(l,ev),(l),(l,ev),()->(l,e),(s,e),(s,ev)"
#define ATT_BWD_MASK_IN ATT_IN ",(l,s),(l,ev),(l),(l,ev),()->(l,e),(s,e),(s,ev)"
#define MHA_BWD_W "(l,eq),(s,ek),(s,ev),(h,eq,d),(h,ek,d),(h,ev,dv),(h,dv,eo)"
#define MHA_BWD_OUT "->(l,eq),(s,ek),(s,ev),(h,eq,d),(h,ek,d),(h,ev,dv),(h,dv,eo),(h,d),(h,d)," \
    "(h,dv),(eo)"
#define PRIVATE(what) "\n\n" what " (used by cattn.vjp and the functions; see the public twin)."
#define LIMITS_DOC " The limits are int64, one per name of _cattn.LIMITS (lo, hi, kv_len, " \
    "q_len, per, seed, stream): row r, at position i = r mod per, attends keys i+lo <= j <= i+hi, " \
    "j < kv_len, none if i >= q_len; dropout draws from (seed, stream + r // per, i, j)."
/* the functions' attention, every feature (ext): q, k, v [, mask (p,s)], scale, softcap,
 * dropout_p, limits (7) -> out [, w], lse; and its backward: q, k, v [, mask], out, lse, dout,
 * scale, softcap, dropout_p, limits -> dq, dk, dv [, dmask] */
#define EXT_SCALARS ",(),()," CATTN_LIMITS_SIG
#define EXT_CFG(m_, w_, dm_) {.mask = CATTN_MASK_NONE, .has_mask = m_, .has_w = w_, .has_lse = 1, \
    .has_dmask = dm_, .ext = 1}
#define SDPA(mask, w) cattn_loop_attention_f, cattn_loop_attention_d, 7 + (mask), 2 + (w), 3, \
    (mask) ? 3 : -1, EXT_CFG(mask, w, 0)
#define SDPA_BWD(mask, dmask) cattn_loop_attention_backward_f, cattn_loop_attention_backward_d, \
    10 + (mask), 3 + (dmask), 3, (mask) ? 3 : -1, EXT_CFG(mask, 0, dmask)
#define SDPA_BWD_IN ",(l,ev),(l),(l,ev),()" EXT_SCALARS "->(l,e),(s,e),(s,ev)"
#define SDPA_DOC(sig, what) sig "\n\n" what LIMITS_DOC " Used by cattn's functions and " \
    "cattn.vjp; see scaled_dot_product_attention."
#define MHA_LIM_DOC(sig, what) sig "\n\n" what LIMITS_DOC " Used by cattn's functions and " \
    "cattn.vjp; see multi_head_attention."
static const ufunc_spec specs[] = {
    {"matmul", "(n?,k),(k,m?)->(n?,m?)", cattn_loop_matmul_f, cattn_loop_matmul_d, 2, 1, 2, -1,
     {.mask = CATTN_MASK_NONE}, DOC_MATMUL},
    {"softmax", "(n)->(n)", PLAIN(softmax, 1, 1, 0), DOC_SOFTMAX},
    {"log_softmax", "(n)->(n)", PLAIN(softmax, 1, 1, 1), DOC_LOG_SOFTMAX},
    {"attention", ATT_IN ",()->(l,ev)", ATT(0, 0, 0, 0), DOC_ATTENTION},
    {"causal_attention", ATT_IN ",()->(l,ev)", ATT(1, 0, 0, 0),
     DOC_CAUSAL_ATTENTION},
    {"masked_attention", ATT_IN ",(l,s),()->(l,ev)", ATT(0, 1, 0, 0),
     DOC_MASKED_ATTENTION},
    {"attention_weights", ATT_IN ",(l,s),()->(l,ev),(l,s)", ATT(0, 1, 1, 0),
     DOC_ATTENTION_WEIGHTS},
    {"exp_sum", "(n),()->(n),()", PLAIN(exp_sum, 2, 2, 0),
     "exp_sum(x, shift, /, out=(None, None))\n\n(exp(x - shift), its sum): the dispatch table's "
     "exp."},
    {"row_max", "(n)->()", PLAIN(row_max, 1, 1, 0),
     "row_max(x, /, out=None)\n\nThe max of x ignoring NaN (-inf if none): the dispatch table's "
     "max."},
    {"multi_head_attention", MHA_IN ",(h,l,s),()->(l,eo)", MHA(0, 0), DOC_MHA},
    {"multi_head_attention_weights", MHA_IN ",(h,l,s),()->(l,eo),(h,l,s)",
     MHA(1, 0), DOC_MHA_WEIGHTS},
    /* ---- gradients: the forward passes that keep what the backward needs, and the backward */
    {"additive_attention_scores", "(l,h),(s,h),(h)->(l,s)", cattn_loop_additive_f,
     cattn_loop_additive_d, 3, 1, 3, -1, {.mask = CATTN_MASK_NONE}, DOC_ADDITIVE_SCORES},
    {"additive_attention_scores_backward", "(l,h),(s,h),(h),(l,s)->(l,h),(s,h),(h)",
     cattn_loop_additive_f, cattn_loop_additive_d, 4, 3, 4, -1,
     {.mask = CATTN_MASK_NONE, .backward = 1}, DOC_ADDITIVE_SCORES_BACKWARD},
    {"softmax_backward", "(n),(n)->(n)", PLAIN_BWD(softmax_backward, 2, 1, 0),
     DOC_SOFTMAX_BACKWARD},
    {"log_softmax_backward", "(n),(n)->(n)", PLAIN_BWD(softmax_backward, 2, 1, 1),
     DOC_LOG_SOFTMAX_BACKWARD},
    {"attention_with_lse", ATT_IN ",()->(l,ev),(l)", ATT(0, 0, 0, 1),
     DOC_ATTENTION_WITH_LSE},
    {"causal_attention_with_lse", ATT_IN ",()->(l,ev),(l)", ATT(1, 0, 0, 1),
     DOC_CAUSAL_ATTENTION_WITH_LSE},
    {"masked_attention_with_lse", ATT_IN ",(l,s),()->(l,ev),(l)", ATT(0, 1, 0, 1),
     DOC_MASKED_ATTENTION_WITH_LSE},
    {"attention_backward", ATT_BWD_IN, ATT_BWD(0, 0, 0), DOC_ATTENTION_BACKWARD},
    {"causal_attention_backward", ATT_BWD_IN, ATT_BWD(1, 0, 0),
     DOC_CAUSAL_ATTENTION_BACKWARD},
    {"masked_attention_backward", ATT_BWD_MASK_IN, ATT_BWD(0, 1, 0),
     DOC_MASKED_ATTENTION_BACKWARD},
    {"masked_attention_backward_dmask", ATT_BWD_MASK_IN ",(l,s)", ATT_BWD(0, 1, 1),
     DOC_MASKED_ATTENTION_BACKWARD_DMASK},
    {"multi_head_attention_forward", MHA_IN ",(h,l,s),()->(l,eo)," SAVED,
     MHA(0, 1), DOC_MHA_FORWARD},
    {"_masked_mha_forward_weights", MHA_IN ",(h,l,s),()->(l,eo),(h,l,s)," SAVED,
     MHA(1, 1),
     "_masked_mha_forward_weights(" MHA_ARGS ", mask, scale, /, out=(None,) * 7)"
     PRIVATE("Masked, with the weights and the saved forward")},
    {"multi_head_attention_backward", MHA_BWD_W ",(h,l,s)," SAVED ",(l,eo),()" MHA_BWD_OUT,
     MHA_BWD(0), DOC_MHA_BACKWARD},
    /* ---- the functions' attention, every feature (soft cap, dropout, limits), and backward */
    {"_sdpa", ATT_IN ",()" EXT_SCALARS "->(l,ev),(l)", SDPA(0, 0),
     SDPA_DOC("_sdpa(q, k, v, scale, softcap, dropout_p, limits, /, out=(None, None))",
              "Attention -> (out, lse).")},
    {"_sdpa_w", ATT_IN ",()" EXT_SCALARS "->(l,ev),(l,s),(l)", SDPA(0, 1),
     SDPA_DOC("_sdpa_w(q, k, v, scale, softcap, dropout_p, limits, /, out=(None,) * 3)",
              "Attention -> (out, weights, lse).")},
    {"_sdpa_mask", ATT_IN ",(p,s),()" EXT_SCALARS "->(l,ev),(l)", SDPA(1, 0),
     SDPA_DOC("_sdpa_mask(q, k, v, mask, scale, softcap, dropout_p, limits, /, out=(None,) * 2)",
              "Masked attention -> (out, lse); the mask has a row per position.")},
    {"_sdpa_mask_w", ATT_IN ",(p,s),()" EXT_SCALARS "->(l,ev),(l,s),(l)", SDPA(1, 1),
     SDPA_DOC("_sdpa_mask_w(q, k, v, mask, scale, softcap, dropout_p, limits, /, out=(None,) * 3)",
              "Masked attention -> (out, weights, lse).")},
    {"_sdpa_backward", ATT_IN SDPA_BWD_IN, SDPA_BWD(0, 0),
     SDPA_DOC("_sdpa_backward(q, k, v, o, lse, dout, scale, softcap, dropout_p, limits, /, "
              "out=(None,) * 3)", "The backward of _sdpa -> (dq, dk, dv).")},
    {"_sdpa_mask_backward", ATT_IN ",(p,s)" SDPA_BWD_IN, SDPA_BWD(1, 0),
     SDPA_DOC("_sdpa_mask_backward(q, k, v, mask, o, lse, dout, scale, softcap, dropout_p, "
              "limits, /, out=(None,) * 3)", "The backward of _sdpa_mask -> (dq, dk, dv).")},
    {"_sdpa_mask_backward_dmask", ATT_IN ",(p,s)" SDPA_BWD_IN ",(l,s)", SDPA_BWD(1, 1),
     SDPA_DOC("_sdpa_mask_backward_dmask(q, k, v, mask, o, lse, dout, scale, softcap, "
              "dropout_p, limits, /, out=(None,) * 4)",
              "The backward of _sdpa_mask -> (dq, dk, dv, dmask), dmask the additive mask's.")},
    /* ---- the functions' additive attention without a mask array: causal and lengths */
    {"_additive_scores", "(l,h),(s,h),(h)," CATTN_LIMITS_SIG "->(l,s)", cattn_loop_additive_f,
     cattn_loop_additive_d, 4, 1, 3, -1, {.mask = CATTN_MASK_NONE, .ext = 1},
     "_additive_scores(qp, kp, w, limits, /, out=None)\n\nadditive_attention_scores within "
     "row limits: -inf for a key a row does not attend, never read." LIMITS_DOC},
    {"_additive_scores_backward", "(l,h),(s,h),(h),(l,s)," CATTN_LIMITS_SIG "->(l,h),(s,h),(h)",
     cattn_loop_additive_f, cattn_loop_additive_d, 5, 3, 4, -1,
     {.mask = CATTN_MASK_NONE, .backward = 1, .ext = 1},
     "_additive_scores_backward(qp, kp, w, ds, limits, /, out=(None,) * 3)\n\nThe backward of "
     "_additive_scores." LIMITS_DOC},
    /* ---- the functions' multi-head calls without a mask array: causal and lengths as limits */
    {"_mha", MHA_IN ",()," CATTN_LIMITS_SIG "->(l,eo)", MHA_LIM(0, 0),
     MHA_LIM_DOC("_mha(" MHA_ARGS ", scale, limits, /, out=None)", "Multi-head attention.")},
    {"_mha_weights", MHA_IN ",()," CATTN_LIMITS_SIG "->(l,eo),(h,l,s)", MHA_LIM(1, 0),
     MHA_LIM_DOC("_mha_weights(" MHA_ARGS ", scale, limits, /, out=(None, None))",
                 "Multi-head attention -> (out, weights).")},
    {"_mha_forward", MHA_IN ",()," CATTN_LIMITS_SIG "->(l,eo)," SAVED, MHA_LIM(0, 1),
     MHA_LIM_DOC("_mha_forward(" MHA_ARGS ", scale, limits, /, out=(None,) * 6)",
                 "Multi-head attention, keeping what the backward needs.")},
    {"_mha_forward_weights", MHA_IN ",()," CATTN_LIMITS_SIG "->(l,eo),(h,l,s)," SAVED,
     MHA_LIM(1, 1),
     MHA_LIM_DOC("_mha_forward_weights(" MHA_ARGS ", scale, limits, /, out=(None,) * 7)",
                 "Multi-head attention with the weights, keeping what the backward needs.")},
    {"_mha_backward", MHA_BWD_W "," SAVED ",(l,eo),()," CATTN_LIMITS_SIG MHA_BWD_OUT, MHA_BWD(1),
     MHA_LIM_DOC("_mha_backward(xq, xk, xv, wq, wk, wv, wo, q, k, v, o, lse, dout, scale, "
                 "limits, /, out=(None,) * 11)", "The backward of _mha_forward.")},
};
#define NSPECS (sizeof specs / sizeof specs[0])

/* The ufuncs with a half-precision loop (float16, and bfloat16 once registered): its function,
 * or NULL. */
static PyUFuncGenericFunction half_loop_of(const ufunc_spec *s)
{
    static const struct {
        const char *name;
        PyUFuncGenericFunction fn;
    } loops[] = {{"matmul", cattn_loop_matmul_half},
                 {"attention", cattn_loop_attention_f},  /* the float loop, cfg.half set */
                 {"causal_attention", cattn_loop_attention_f},
                 {"_sdpa", cattn_loop_attention_f},
                 {"_sdpa_w", cattn_loop_attention_f},     /* the weights half too */
                 {"_sdpa_mask", cattn_loop_attention_f},  /* the mask additive, float32 */
                 {"_sdpa_mask_w", cattn_loop_attention_f},
                 {"_mha", cattn_loop_mha_f},  /* x, w, b, out half; the heads float32 */
                 {"_mha_weights", cattn_loop_mha_f},  /* ... and the weights half */
                 {"multi_head_attention", cattn_loop_mha_f},  /* the mask additive, float32 */
                 {"multi_head_attention_weights", cattn_loop_mha_f},
                 {"multi_head_attention_forward", cattn_loop_mha_f},  /* saved: float32 */
                 {"_masked_mha_forward_weights", cattn_loop_mha_f},
                 {"_mha_forward", cattn_loop_mha_f},
                 {"_mha_forward_weights", cattn_loop_mha_f},
                 {"multi_head_attention_backward", cattn_loop_mha_backward_f},  /* dmask f32 */
                 {"_mha_backward", cattn_loop_mha_backward_f},
                 {"_sdpa_backward", cattn_loop_attention_backward_f},  /* dq, dk, dv half */
                 {"_sdpa_mask_backward", cattn_loop_attention_backward_f},
                 {"_sdpa_mask_backward_dmask", cattn_loop_attention_backward_f},  /* dmask f32 */
                 {"softmax", cattn_loop_softmax_half},
                 {"log_softmax", cattn_loop_softmax_half},
                 {"softmax_backward", cattn_loop_softmax_backward_half},
                 {"log_softmax_backward", cattn_loop_softmax_backward_half}};
    for (size_t i = 0; i < sizeof loops / sizeof loops[0]; i++)
        if (strcmp(s->name, loops[i].name) == 0) return loops[i].fn;
    return NULL;
}
/* The type of operand i in a half loop of type `half` (NPY_HALF or bfloat16's number): the data
 * operands, the first output and an attention's weights are half; in attention's backward also
 * o, dout, dk and dv, in multi-head attention's dout and every gradient but the mask's; the
 * limits int64; the other scalars and outputs (an attention's lse, the
 * backward's dmask) float32. */
static int half_operand_type(const ufunc_spec *s, int i, int half)
{
    if (s->ff == cattn_loop_attention_backward_f) {  /* q, k, v [, mask], o, lse, dout, ... */
        const int m = s->cfg.has_mask;
        if (i == 3 + m || i == 5 + m || (i >= s->nin && i < s->nin + 3)) return half;
    }
    if (s->ff == cattn_loop_mha_backward_f) {  /* x, w [, mask], saved (5), dout, ... */
        const int m = s->cfg.has_mask;
        if (i == 12 + m || (i >= s->nin && i < s->nin + 11)) return half;
    }
    if (i < s->ndata || i == s->nin || (s->cfg.has_w && i == s->nin + 1)) return half;
    return s->cfg.ext && i == s->nin - 1 ? NPY_INT64 : NPY_FLOAT;
}
typedef char limits_sig_is_nlim[CATTN_NLIM == 7 ? 1 : -1]; /* CATTN_LIMITS_SIG spells (7) */
#define MAXOP 32

/* Per ufunc (fast and ref): the loop functions, per-loop data and types NumPy keeps pointers to. */
typedef struct {
    PyUFuncGenericFunction fn[5];
    void *data[5];
    char types[5 * MAXOP];
    cattn_loop_cfg cfg[5];
    cattn_loop_cfg bf16;            /* the bfloat16 loop's, when ml_dtypes registers it */
    int bf16_types[MAXOP];
    char name[64];
} registration;
static registration reg[NSPECS][2];

static const ufunc_spec *spec_of(PyUFuncObject *ufunc)
{
    /* every loop's data is its cfg, which knows its spec (a foreign ufunc is never passed here) */
    return &specs[((const cattn_loop_cfg *)ufunc->data[0])->spec];
}

/* ---- type resolution ----------------------------------------------------------------------- */

/* The rule for which dtype a call computes in, kept here once (Python's cattn uses it through
 * _cattn.compute_dtype): float32 when NumPy's result type of the data operands is a float of at
 * most 4 bytes, float64 otherwise (so integers compute in float64).  NPY_FLOAT or NPY_DOUBLE, or
 * -1 with an error set. */
static int bf16_type = -1; /* ml_dtypes' bfloat16, once registered (register_bfloat16) */

/* Operands that are all float16, or all bfloat16, compute as half where a ufunc has half loops
 * (half_type): NPY_HALF, the bfloat16 type number, or -1. */
static int half_type(int n, PyArrayObject **ops)
{
    int t0 = PyArray_DESCR(ops[0])->type_num;
    if (t0 != NPY_HALF && (bf16_type < 0 || t0 != bf16_type)) return -1;
    for (int i = 1; i < n; i++)
        if (PyArray_DESCR(ops[i])->type_num != t0) return -1;
    return t0;
}

static int compute_type(int n, PyArrayObject **ops)
{
    int same = 1, t0 = PyArray_DESCR(ops[0])->type_num;
    for (int i = 1; i < n && same; i++) same = PyArray_DESCR(ops[i])->type_num == t0;
    if (same && (t0 == NPY_FLOAT || t0 == NPY_DOUBLE)) return t0;  /* the common call */
    PyArray_Descr *rt = PyArray_ResultType(n, ops, 0, NULL);
    if (rt == NULL) return -1;
    int type = (rt->kind == 'f' && PyDataType_ELSIZE(rt) <= 4) ? NPY_FLOAT : NPY_DOUBLE;
    Py_DECREF(rt);
    return type;
}

/* A boolean mask keeps its own loop; scale and float masks take the computing dtype.  Complex,
 * object, string and other dtypes are refused with a TypeError that names the function and the
 * operand. */
static int resolve_types(PyUFuncObject *ufunc, NPY_CASTING casting, PyArrayObject **operands,
                         PyObject *type_tup, PyArray_Descr **out_dtypes)
{
    static const char *ordinal[] = {"first", "second", "third", "fourth", "fifth", "sixth",
                                    "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth",
                                    "thirteenth"};
    const ufunc_spec *sp = spec_of(ufunc);
    const int nin = ufunc->nin, nop = ufunc->nin + ufunc->nout;
    if (type_tup != NULL)
        return PyUFunc_DefaultTypeResolver(ufunc, casting, operands, type_tup, out_dtypes);
    const int ilim = sp->cfg.ext ? nin - 1 : -1;  /* the ext gufuncs' int64 limits */
    int half = half_loop_of(sp) != NULL ? half_type(sp->ndata, operands) : -1;
    if (sp->imask >= 0 && PyArray_DESCR(operands[sp->imask])->kind == 'b')
        half = -1;  /* the half loop's mask is additive float32 (cattn's functions make it so) */
    if (half >= 0) {  /* read as half: the half loop, output in the inputs' type */
        for (int i = 0; i < nop; i++)
            out_dtypes[i] = PyArray_DescrFromType(half_operand_type(sp, i, half));
        if (PyUFunc_ValidateCasting(ufunc, casting, operands, out_dtypes) < 0) {
            for (int i = 0; i < nop; i++) Py_CLEAR(out_dtypes[i]);
            return -1;
        }
        return 0;
    }
    for (int i = 0; i < nin; i++) {
        PyArray_Descr *d = PyArray_DESCR(operands[i]);
        int ok = i == sp->imask ? (d->kind == 'b' || d->kind == 'f')
                 : i == ilim    ? (d->kind == 'i' || d->kind == 'u')
                                : (d->kind == 'b' || d->kind == 'i' || d->kind == 'u' || d->kind == 'f');
        if (!ok) {
            PyObject *r = PyObject_Str((PyObject *)d);
            if (i == sp->imask)
                PyErr_Format(PyExc_TypeError, "%s: the mask has dtype %S; masks are boolean "
                             "(True = may attend) or floating (added)", ufunc->name, r);
            else if (i == ilim)
                PyErr_Format(PyExc_TypeError, "%s: the limits have dtype %S; they are integers",
                             ufunc->name, r);
            else if (nin == 1)
                PyErr_Format(PyExc_TypeError, "%s: input has dtype %S; cattn computes in float32 "
                             "or float64", ufunc->name, r);
            else
                PyErr_Format(PyExc_TypeError, "%s: %s operand has dtype %S; cattn computes in "
                             "float32 or float64", ufunc->name, ordinal[i], r);
            Py_XDECREF(r);
            return -1;
        }
    }
    int type = compute_type(sp->ndata, operands);
    if (type < 0) return -1;
    for (int i = 0; i < nop; i++) {
        int t = (i == sp->imask && PyArray_DESCR(operands[i])->kind == 'b') ? NPY_BOOL
                : i == ilim                                                   ? NPY_INT64
                                                                              : type;
        out_dtypes[i] = PyArray_DescrFromType(t);
    }
    if (PyUFunc_ValidateCasting(ufunc, casting, operands, out_dtypes) < 0) {
        for (int i = 0; i < nop; i++) Py_CLEAR(out_dtypes[i]);
        return -1;
    }
    return 0;
}

static int add_ufunc(PyObject *module, const ufunc_spec *s, int ref)
{
    registration *r = &reg[s - specs][ref];
    const PyUFuncGenericFunction fh = half_loop_of(s);
    const int nop = s->nin + s->nout, nloops = (s->imask >= 0 ? 4 : 2) + (fh != NULL);
    PyOS_snprintf(r->name, sizeof r->name, "%s%s", s->name, ref ? "_ref" : "");
    for (int l = 0; l < nloops; l++) {
        int dbl = l % 2, half = fh != NULL && l == nloops - 1;
        r->fn[l] = half ? fh : dbl ? s->fd : s->ff;
        r->cfg[l] = s->cfg;
        r->cfg[l].ref = ref;
        r->cfg[l].name = s->name;
        r->cfg[l].spec = (int)(s - specs);
        r->cfg[l].half = half;  /* 1: float16 */
        if (s->imask >= 0) r->cfg[l].mask = l < 2 ? CATTN_MASK_BOOL : CATTN_MASK_ADD;
        r->data[l] = &r->cfg[l];
        for (int i = 0; i < nop; i++)
            r->types[l * nop + i] = half ? (char)half_operand_type(s, i, NPY_HALF)
                                    : (i == s->imask && l < 2)            ? NPY_BOOL
                                    : (s->cfg.ext && i == s->nin - 1)   ? NPY_INT64
                                    : dbl                              ? NPY_DOUBLE
                                                                       : NPY_FLOAT;
    }
    PyObject *uf = PyUFunc_FromFuncAndDataAndSignature(
        r->fn, r->data, r->types, nloops, s->nin, s->nout, PyUFunc_None, r->name,
        s->doc,
        0, s->signature);
    if (uf == NULL) return -1;
    ((PyUFuncObject *)uf)->type_resolver = resolve_types;
    if (PyModule_AddObject(module, r->name, uf) < 0) {
        Py_DECREF(uf);
        return -1;
    }
    return 0;
}

/* ---- configuration ----------------------------------------------------------------------- */

static PyObject *get_config(PyObject *self, PyObject *noargs)
{
    (void)self, (void)noargs;
#if defined(CATTN_EMULATE_AVX512)
    const int emulated = 1;  /* a test build: avx512 runs on SIMDe (setup.py) */
#else
    const int emulated = 0;
#endif
#if defined(CATTN_EMULATE_NEON)
    const int neon_emulated = 1;  /* a test build: neon runs on SIMDe, on x86-64 (setup.py) */
#else
    const int neon_emulated = 0;
#endif
    PyObject *levels = PyList_New(0);  /* the levels offered here, lowest first */
    if (levels == NULL) return NULL;
    for (int l = CATTN_LEVEL_REF; l < CATTN_LEVEL_COUNT; l++) {
        if (!cattn_level_available((cattn_level)l)) continue;
        PyObject *name = PyUnicode_FromString(cattn_level_name((cattn_level)l));
        if (name == NULL || PyList_Append(levels, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(levels);
            return NULL;
        }
        Py_DECREF(name);
    }
    return Py_BuildValue("{s:s,s:s,s:s,s:N,s:i,s:N,s:N}", "version", CATTN_VERSION, "level",
                         cattn_level_name(cattn_level_current()), "best",
                         cattn_level_name(cattn_level_best()), "levels", levels, "threads",
                         cattn_get_num_threads(), "avx512_emulated", PyBool_FromLong(emulated),
                         "neon_emulated", PyBool_FromLong(neon_emulated));
}

/* The level a name gives, or -1 with a ValueError that names the caller (fname). */
static int level_of(const char *fname, const char *name, cattn_level *level)
{
    for (int l = CATTN_LEVEL_REF; l < CATTN_LEVEL_COUNT; l++)
        if (strcmp(name, cattn_level_name((cattn_level)l)) == 0) return *level = (cattn_level)l, 0;
    PyErr_Format(PyExc_ValueError,
                 "%s: unknown level '%s' (use 'ref', 'avx2', 'avx512' or 'neon')", fname, name);
    return -1;
}

static PyObject *set_level(PyObject *self, PyObject *arg)
{
    (void)self;
    const char *name = PyUnicode_AsUTF8(arg);
    cattn_level level;
    if (name == NULL || level_of("set_level", name, &level) < 0) return NULL;
    if (cattn_set_level(level) < 0) {
        PyErr_Format(PyExc_ValueError, "set_level: level '%s' is not available on this "
                     "CPU/build (best is '%s')", name, cattn_level_name(cattn_level_best()));
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *set_num_threads(PyObject *self, PyObject *arg)
{
    (void)self;
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n < 1 || n > 256) {
        PyErr_Format(PyExc_ValueError, "set_num_threads: n must be between 1 and 256, got %ld", n);
        return NULL;
    }
    cattn_set_num_threads((int)n);
    Py_RETURN_NONE;
}

static PyObject *get_num_threads(PyObject *self, PyObject *noargs)
{
    (void)self, (void)noargs;
    return PyLong_FromLong(cattn_get_num_threads());
}

/* ---- the cost model (cost.c): its rates, injected rates and its choices, for show_config and
 * the tests ---------------------------------------------------------------------------------- */

/* gemm_rates(measure=True): {level: {'float32': rate, 'float64': rate}}, multiply-adds per ns
 * of each available level's microkernel (measured now if not yet; with measure false, 0 where
 * none is yet); its other tiles as 'float32 16x16', ..., and its bfloat16 pair tile, where it
 * has one, as 'bfloat16 12x32' */
static PyObject *gemm_rates(PyObject *self, PyObject *args)
{
    (void)self;
    int measure = 1;
    if (!PyArg_ParseTuple(args, "|p:gemm_rates", &measure)) return NULL;
    double (*rate)(const cattn_kernel_table *, int) = measure ? cattn_gemm_rate
                                                              : cattn_gemm_rate_known;
    PyObject *d = PyDict_New();
    for (int l = CATTN_LEVEL_REF; d != NULL && l < CATTN_LEVEL_COUNT; l++) {
        const cattn_kernel_table *kt = cattn_kernels_of((cattn_level)l);
        if (kt == NULL) continue;
        PyObject *r = Py_BuildValue("{s:d,s:d}", "float32", rate(kt, 0), "float64",
                                    rate(kt, 1));
        /* the level's other tiles, by their size: "float32 16x16", ... */
        for (const cattn_kernel_table *t = kt->narrow; r != NULL && t != NULL && (int)t->level == l;
             t = t->narrow) {
            char key[2][32];
            PyOS_snprintf(key[0], 32, "float32 %zdx%zd", t->smr, t->snr);
            PyOS_snprintf(key[1], 32, "float64 %zdx%zd", t->dmr, t->dnr);
            for (int dbl = 0; dbl < 2 && r != NULL; dbl++) {
                PyObject *v = PyFloat_FromDouble(rate(t, dbl));
                if (v == NULL || PyDict_SetItemString(r, key[dbl], v) < 0) Py_CLEAR(r);
                Py_XDECREF(v);
            }
        }
        if (r != NULL && kt->bgemm_ukr != NULL) {
            char key[32];
            PyOS_snprintf(key, 32, "bfloat16 %zdx%zd", kt->bmr, kt->bnr);
            PyObject *v = PyFloat_FromDouble(rate(kt, CATTN_RATE_BF16));
            if (v == NULL || PyDict_SetItemString(r, key, v) < 0) Py_CLEAR(r);
            Py_XDECREF(v);
        }
        if (r == NULL || PyDict_SetItemString(d, cattn_level_name((cattn_level)l), r) < 0)
            Py_CLEAR(d);
        Py_XDECREF(r);
    }
    return d;
}

/* set_gemm_rate(level, dtype, rate[, tall]): inject a rate (0 measures again) for every tile of
 * the level, or (tall given) for AVX-512's main tile (False) or its 16-row tile (True) only;
 * dtype 0 (False) float32, 1 (True) float64, 2 the bfloat16 pair tile */
static PyObject *set_gemm_rate(PyObject *self, PyObject *args)
{
    (void)self;
    const char *name;
    int dbl;
    double rate;
    cattn_level level;
    int tall = -1;
    if (!PyArg_ParseTuple(args, "sid|p:set_gemm_rate", &name, &dbl, &rate, &tall)) return NULL;
    if (level_of("set_gemm_rate", name, &level) < 0) return NULL;
    if (dbl < 0 || dbl > CATTN_RATE_BF16) {
        PyErr_Format(PyExc_ValueError, "set_gemm_rate: dtype must be 0, 1 or 2, got %d", dbl);
        return NULL;
    }
    if (!(rate >= 0)) {
        PyErr_Format(PyExc_ValueError, "set_gemm_rate: rate must be >= 0, got %g", rate);
        return NULL;
    }
    if (tall >= 0 && level != CATTN_LEVEL_AVX512) {
        PyErr_SetString(PyExc_ValueError, "set_gemm_rate: only avx512 has a tall tile");
        return NULL;
    }
    cattn_set_gemm_rate(level, tall > 0 ? CATTN_TILE_AVX512_TALL : (int)level, tall < 0, dbl, rate);
    Py_RETURN_NONE;
}

/* gemm_choice(m, n, k, dtype, level=current): the tile that computes the product, as
 * "<level> <MR>x<NR>"; dtype 0 (False) float32, 1 (True) float64, 2 bfloat16: the pair tile
 * ("<level> <MR>x<NR> bfloat16 pairs") or the float32 tile it converts for */
static PyObject *gemm_choice(PyObject *self, PyObject *args)
{
    (void)self;
    Py_ssize_t m, n, k;
    int dbl;
    const char *name = NULL;
    cattn_level level = cattn_level_current();
    if (!PyArg_ParseTuple(args, "nnni|s:gemm_choice", &m, &n, &k, &dbl, &name)) return NULL;
    if (name != NULL && level_of("gemm_choice", name, &level) < 0) return NULL;
    const cattn_kernel_table *kt = cattn_kernels_of(level);
    if (kt == NULL) {
        PyErr_Format(PyExc_ValueError, "gemm_choice: level '%s' is not available here", name);
        return NULL;
    }
    if (dbl == CATTN_RATE_BF16 && cattn_bgemm_pays(kt, m, n, k))
        return PyUnicode_FromFormat("%s %zdx%zd bfloat16 pairs", cattn_level_name(kt->level),
                                    kt->bmr, kt->bnr);
    if (dbl == CATTN_RATE_BF16) dbl = 0;
    if (dbl < 0 || dbl > 1) {
        PyErr_Format(PyExc_ValueError, "gemm_choice: dtype must be 0, 1 or 2, got %d", dbl);
        return NULL;
    }
    const cattn_kernel_table *t = cattn_gemm_table(kt, dbl, m, n, k);
    return PyUnicode_FromFormat("%s %zdx%zd", cattn_level_name(t->level), dbl ? t->dmr : t->smr,
                                dbl ? t->dnr : t->snr);
}

/* parallel_threads(n, work): the threads a parallel for over n items of `work` flops takes */
static PyObject *parallel_threads(PyObject *self, PyObject *args)
{
    (void)self;
    Py_ssize_t n;
    double work;
    if (!PyArg_ParseTuple(args, "nd:parallel_threads", &n, &work)) return NULL;
    return PyLong_FromSsize_t(cattn_parallel_threads(n, work));
}

/* ---- the rules Python reuses ------------------------------------------------------------- */

/* compute_dtype(*arrays): the dtype a gufunc call with these data operands computes in. */
static PyObject *compute_dtype(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    PyArrayObject *ops[NPY_MAXARGS];
    if (nargs < 1 || nargs > NPY_MAXARGS) {
        PyErr_SetString(PyExc_TypeError, "compute_dtype: give 1 to 64 arrays");
        return NULL;
    }
    PyObject *ret = NULL;
    Py_ssize_t n = 0;
    for (; n < nargs; n++) {
        ops[n] = (PyArrayObject *)PyArray_FROM_O(args[n]);
        if (ops[n] == NULL) goto fail;
    }
    int type = compute_type((int)n, ops);
    if (type >= 0) ret = (PyObject *)PyArray_DescrFromType(type);
fail:
    for (Py_ssize_t i = 0; i < n; i++) Py_DECREF(ops[i]);
    return ret;
}

/* ---- the direct path of scaled_dot_product_attention ------------------------------------- */

/* sdpa_direct(q, k, v, scale, causal, weights): the common call -- three C-contiguous, aligned,
 * native arrays of one float dtype and the same batch shape, no mask array, no out= -- without
 * the ufunc machinery (a tiny call costs a third).  Anything else returns NotImplemented and the
 * Python function takes the general path through the gufuncs, which owns every error message.
 * The work runs through the same attention path as the gufunc loops (cattn_run_attention). */
static PyObject *sdpa_direct(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 6) Py_RETURN_NOTIMPLEMENTED;
    PyArrayObject *a[3];
    for (int i = 0; i < 3; i++) {
        if (!PyArray_CheckExact(args[i])) Py_RETURN_NOTIMPLEMENTED;
        a[i] = (PyArrayObject *)args[i];
        if (!PyArray_IS_C_CONTIGUOUS(a[i]) || !PyArray_ISALIGNED(a[i]) ||
            !PyArray_ISNOTSWAPPED(a[i]))
            Py_RETURN_NOTIMPLEMENTED;
    }
    int type = PyArray_TYPE(a[0]), nd = PyArray_NDIM(a[0]);
    if ((type != NPY_FLOAT && type != NPY_DOUBLE) || nd < 2) Py_RETURN_NOTIMPLEMENTED;
    for (int i = 1; i < 3; i++)
        if (PyArray_TYPE(a[i]) != type || PyArray_NDIM(a[i]) != nd) Py_RETURN_NOTIMPLEMENTED;
    const npy_intp *dq = PyArray_DIMS(a[0]), *dk = PyArray_DIMS(a[1]), *dv = PyArray_DIMS(a[2]);
    npy_intp N = 1;
    for (int d = 0; d < nd - 2; d++) {
        if (dk[d] != dq[d] || dv[d] != dq[d]) Py_RETURN_NOTIMPLEMENTED;
        N *= dq[d];
    }
    npy_intp L = dq[nd - 2], E = dq[nd - 1], S = dk[nd - 2], Ev = dv[nd - 1];
    if (dk[nd - 1] != E || dv[nd - 2] != S || E == 0) Py_RETURN_NOTIMPLEMENTED;
    double scale = cattn_default_scale(E);
    if (args[3] != Py_None) {
        if (!PyFloat_CheckExact(args[3]) && !PyLong_CheckExact(args[3])) Py_RETURN_NOTIMPLEMENTED;
        scale = PyFloat_AsDouble(args[3]);
        if (scale == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
    }
    int causal = PyObject_IsTrue(args[4]), weights = PyObject_IsTrue(args[5]);
    if (causal < 0 || weights < 0) return NULL;
    npy_intp od[NPY_MAXDIMS];
    for (int d = 0; d < nd - 1; d++) od[d] = dq[d];
    od[nd - 1] = Ev;
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(nd, od, type), *w = NULL;
    if (out == NULL) return NULL;
    if (weights) {
        od[nd - 1] = S;
        w = (PyArrayObject *)PyArray_SimpleNew(nd, od, type);
        if (w == NULL) {
            Py_DECREF(out);
            return NULL;
        }
    }
    /* the job the gufunc loops would build: N items, contiguous core blocks */
#define SDPA_CFG(causal_, w) \
    {.mask = CATTN_MASK_NONE, .causal = causal_, .has_w = w, .name = "scaled_dot_product_attention"}
    static const cattn_loop_cfg cfgs[2][2] = {{SDPA_CFG(0, 0), SDPA_CFG(0, 1)},
                                              {SDPA_CFG(1, 0), SDPA_CFG(1, 1)}};
#undef SDPA_CFG
    const npy_intp item = type == NPY_FLOAT ? 4 : 8;
    float sf = (float)scale;
    cattn_attention_job job = {&cfgs[causal][weights], type == NPY_DOUBLE, {N, L, E, S, Ev}, {{0}}};
    struct { char *p; npy_intp r, c; } blk[ATT_NOP] = {
        [ATT_Q] = {PyArray_BYTES(a[0]), L, E}, [ATT_K] = {PyArray_BYTES(a[1]), S, E},
        [ATT_V] = {PyArray_BYTES(a[2]), S, Ev}, [ATT_OUT] = {PyArray_BYTES(out), L, Ev},
        [ATT_W] = {w ? PyArray_BYTES(w) : NULL, L, S}};
    for (int r = 0; r < ATT_NOP; r++)
        job.op[r] = (cattn_operand){blk[r].p, blk[r].r * blk[r].c * item, 2,
                                    {blk[r].r, blk[r].c, 0}, {blk[r].c * item, item, 0},
                                    (size_t)item};
    job.op[ATT_SCALE] = (cattn_operand){type == NPY_FLOAT ? (char *)&sf : (char *)&scale, 0, 0,
                                        {0, 0, 0}, {0, 0, 0}, (size_t)item};
    int big = (double)N * (double)L * (double)S * (double)(E + Ev) > 1e5;
    PyThreadState *ts = big ? PyEval_SaveThread() : NULL;  /* the kernels never touch Python */
    int rc = cattn_run_attention(&job);
    if (ts != NULL) PyEval_RestoreThread(ts);
    if (rc != 0) {  /* out of memory for scratch, reported by the run */
        Py_DECREF(out);
        Py_XDECREF(w);
        return NULL;
    }
    if (w == NULL) return (PyObject *)out;
    return Py_BuildValue("(NN)", out, w);
}

/* register_bfloat16(dtype): add the bfloat16 loops (ml_dtypes' type, whose number NumPy hands out
 * when ml_dtypes is imported) to the ufuncs with half loops.  cattn/__init__.py calls it when
 * ml_dtypes is installed; cattn itself needs no ml_dtypes.  Idempotent. */
static PyObject *register_bfloat16(PyObject *self, PyObject *arg)
{
    PyArray_Descr *d = NULL;
    if (!PyArray_DescrCheck(arg) || PyDataType_ELSIZE((PyArray_Descr *)arg) != 2) {
        PyErr_SetString(PyExc_TypeError, "register_bfloat16: give ml_dtypes.bfloat16's dtype");
        return NULL;
    }
    d = (PyArray_Descr *)arg;
    if (bf16_type >= 0) {
        if (d->type_num == bf16_type) Py_RETURN_NONE;
        PyErr_SetString(PyExc_ValueError, "register_bfloat16: another bfloat16 is registered");
        return NULL;
    }
    for (size_t i = 0; i < NSPECS; i++) {
        const ufunc_spec *s = &specs[i];
        const PyUFuncGenericFunction fh = half_loop_of(s);
        if (fh == NULL) continue;
        for (int ref = 0; ref < 2; ref++) {
            registration *r = &reg[i][ref];
            PyObject *uf = PyObject_GetAttrString(self, r->name);
            if (uf == NULL) return NULL;
            r->bf16 = r->cfg[0];
            r->bf16.mask = s->imask >= 0 ? CATTN_MASK_ADD : CATTN_MASK_NONE;
            r->bf16.half = 2;
            for (int k = 0; k < s->nin + s->nout; k++)
                r->bf16_types[k] = half_operand_type(s, k, d->type_num);
            int rc = PyUFunc_RegisterLoopForType((PyUFuncObject *)uf, d->type_num, fh,
                                                 r->bf16_types, &r->bf16);
            Py_DECREF(uf);
            if (rc < 0) return NULL;
        }
    }
    bf16_type = d->type_num;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"sdpa_direct", (PyCFunction)(void (*)(void))sdpa_direct, METH_FASTCALL,
     "sdpa_direct(q, k, v, scale_or_None, causal, weights): the common call without the ufunc "
     "machinery, or NotImplemented."},
    {"register_bfloat16", register_bfloat16, METH_O,
     "register_bfloat16(dtype): the softmax gufuncs' bfloat16 loops (ml_dtypes' dtype)."},
    {"compute_dtype", (PyCFunction)(void (*)(void))compute_dtype, METH_FASTCALL,
     "compute_dtype(*arrays): the dtype cattn's gufuncs compute in for these data operands."},
    {"set_num_threads", set_num_threads, METH_O, "Use n threads (1 to 256) in cattn's kernels."},
    {"get_num_threads", get_num_threads, METH_NOARGS, "The number of threads cattn's kernels use."},
    {"get_config", get_config, METH_NOARGS, "The version and the dispatch levels, as a dict."},
    {"set_level", set_level, METH_O, "Force a dispatch level: 'ref', 'avx2', 'avx512' or 'neon'."},
    {"gemm_rates", gemm_rates, METH_VARARGS,
     "gemm_rates(measure=True): multiply-adds per ns of each level's GEMM microkernels (measured "
     "once; with measure false, 0 where not yet)."},
    {"set_gemm_rate", set_gemm_rate, METH_VARARGS,
     "set_gemm_rate(level, dtype, rate[, tall]): inject a microkernel rate (0: measure again)."},
    {"gemm_choice", gemm_choice, METH_VARARGS,
     "gemm_choice(m, n, k, dtype[, level]): the tile the cost model picks, '<level> <MR>x<NR>'."},
    {"parallel_threads", parallel_threads, METH_VARARGS,
     "parallel_threads(n, work): the threads a parallel for of n items and `work` flops takes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "_cattn", "cattn's C extension: kernels as NumPy gufuncs.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cattn(void)
{
    import_array();
    import_umath();
    int bad_arch = cattn_init();
    PyObject *m = PyModule_Create(&moddef);
    if (m == NULL) return NULL;
    for (size_t i = 0; i < NSPECS; i++)
        if (add_ufunc(m, &specs[i], 0) < 0 || add_ufunc(m, &specs[i], 1) < 0) goto fail;
    if (PyModule_AddIntConstant(m, "bad_arch", bad_arch) < 0) goto fail;
    static const char *const limit_names[CATTN_NLIM] = CATTN_LIMIT_NAMES;
    PyObject *names = PyTuple_New(CATTN_NLIM);
    if (names == NULL) goto fail;
    for (int i = 0; i < CATTN_NLIM; i++) {
        PyObject *name = PyUnicode_FromString(limit_names[i]);
        if (name == NULL) {
            Py_DECREF(names);
            goto fail;
        }
        PyTuple_SET_ITEM(names, i, name);
    }
    if (PyModule_AddObject(m, "LIMITS", names) < 0) {
        Py_DECREF(names);
        goto fail;
    }
#ifdef Py_GIL_DISABLED
    PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
