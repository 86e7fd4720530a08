/* module.c -- glue: the extension module cattn._cattn.
 *
 * Registers the generalized ufuncs (float32 and float64 loops, each with a `_ref` twin that runs
 * the reference kernels), their type resolver, and the configuration functions.
 */
#include "loops.h"
#include <numpy/arrayobject.h>
#include <numpy/ufuncobject.h>
#include <math.h>

/* ---- the ufuncs ---------------------------------------------------------------------------- */

/* What a ufunc is: its loops (a float32 and a float64 one; a ufunc with a mask operand has four,
 * the boolean-mask loops first so that a boolean mask is never cast to a float one). */
typedef struct {
    const char *name;
    const char *signature;
    PyUFuncGenericFunction ff, fd;  /* the float32 and float64 inner loops */
    int nin, nout;
    int ndata;                      /* the first ndata inputs decide the computing dtype */
    int imask;                      /* the mask input, or -1 */
    cattn_mask_kind kind;           /* CATTN_MASK_NONE, _CAUSAL, or _BOOL for masked ufuncs */
    const char *doc;
} ufunc_spec;

#include "docs.h"

#define MHA_SIG "(l,eq),(s,ek),(s,ev),(h,eq,d),(h,ek,d),(h,ev,dv),(h,dv,eo),(h,d),(h,d),(h,dv),(eo)," \
                "(h,l,s),()"
static const ufunc_spec specs[] = {
    {"matmul", "(n?,k),(k,m?)->(n?,m?)", cattn_loop_matmul_f, cattn_loop_matmul_d, 2, 1, 2, -1,
     CATTN_MASK_NONE, DOC_MATMUL},
    {"softmax", "(n)->(n)", cattn_loop_softmax_f, cattn_loop_softmax_d, 1, 1, 1, -1,
     CATTN_MASK_NONE, DOC_SOFTMAX},
    {"log_softmax", "(n)->(n)", cattn_loop_log_softmax_f, cattn_loop_log_softmax_d, 1, 1, 1, -1,
     CATTN_MASK_NONE, DOC_LOG_SOFTMAX},
    {"attention", "(l,e),(s,e),(s,ev),()->(l,ev)", cattn_loop_attention_f, cattn_loop_attention_d,
     4, 1, 3, -1, CATTN_MASK_NONE, DOC_ATTENTION},
    {"causal_attention", "(l,e),(s,e),(s,ev),()->(l,ev)", cattn_loop_attention_f,
     cattn_loop_attention_d, 4, 1, 3, -1, CATTN_MASK_CAUSAL, DOC_CAUSAL_ATTENTION},
    {"masked_attention", "(l,e),(s,e),(s,ev),(l,s),()->(l,ev)", cattn_loop_attention_masked_f,
     cattn_loop_attention_masked_d, 5, 1, 3, 3, CATTN_MASK_BOOL, DOC_MASKED_ATTENTION},
    {"attention_weights", "(l,e),(s,e),(s,ev),(l,s),()->(l,ev),(l,s)",
     cattn_loop_attention_weights_f, cattn_loop_attention_weights_d, 5, 2, 3, 3, CATTN_MASK_BOOL,
     DOC_ATTENTION_WEIGHTS},
    {"exp_sum", "(n),()->(n),()", cattn_loop_exp_sum_f, cattn_loop_exp_sum_d, 2, 2, 1, -1,
     CATTN_MASK_NONE, "exp_sum(x, shift) -> (exp(x - shift), its sum): the dispatch table's exp."},
    {"row_max", "(n)->()", cattn_loop_row_max_f, cattn_loop_row_max_d, 1, 1, 1, -1,
     CATTN_MASK_NONE, "row_max(x) -> the max of x ignoring NaN (-inf if none): the dispatch table's max."},
    {"multi_head_attention", MHA_SIG "->(l,eo)", cattn_loop_mha_f, cattn_loop_mha_d, 13, 1, 11, 11,
     CATTN_MASK_BOOL, DOC_MHA},
    {"multi_head_attention_weights", MHA_SIG "->(l,eo),(h,l,s)", cattn_loop_mha_weights_f,
     cattn_loop_mha_weights_d, 13, 2, 11, 11, CATTN_MASK_BOOL, DOC_MHA_WEIGHTS},
};
#define NSPECS (sizeof specs / sizeof specs[0])
#define MAXOP 16

/* Per ufunc (fast and ref): the loop functions, per-loop data and types NumPy keeps pointers to. */
static struct {
    PyUFuncGenericFunction fn[4];
    void *data[4];
    char types[4 * MAXOP];
    cattn_loop_cfg cfg[4];
    char name[64];
} reg[NSPECS][2];

static const ufunc_spec *spec_of(PyUFuncObject *ufunc)
{
    for (size_t i = 0; i < NSPECS; i++)
        if (strncmp(ufunc->name, specs[i].name, strlen(specs[i].name)) == 0 &&
            (ufunc->name[strlen(specs[i].name)] == '\0' ||
             strcmp(ufunc->name + strlen(specs[i].name), "_ref") == 0))
            return &specs[i];
    return NULL;
}

/* ---- type resolution ----------------------------------------------------------------------- */

/* Which dtype a call computes in: float32 when NumPy's result type of the data operands (a, b /
 * x / q, k, v / inputs and weights) is a float of at most 4 bytes, float64 otherwise (so integers
 * compute in float64).  A boolean mask keeps its own loop; scale and float masks take the
 * computing dtype.  Complex, object, string and other dtypes are refused with a TypeError that
 * names the function and the operand. */
static int resolve_types(PyUFuncObject *ufunc, NPY_CASTING casting, PyArrayObject **operands,
                         PyObject *type_tup, PyArray_Descr **out_dtypes)
{
    static const char *ordinal[] = {"first", "second", "third", "fourth", "fifth", "sixth",
                                    "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth",
                                    "thirteenth"};
    const ufunc_spec *sp = spec_of(ufunc);
    const int nin = ufunc->nin, nop = ufunc->nin + ufunc->nout;
    if (type_tup != NULL || sp == NULL)
        return PyUFunc_DefaultTypeResolver(ufunc, casting, operands, type_tup, out_dtypes);
    /* the common call: every data operand float32, or every one float64 */
    int same = 1, t0 = PyArray_DESCR(operands[0])->type_num;
    for (int i = 1; i < sp->ndata && same; i++) same = PyArray_DESCR(operands[i])->type_num == t0;
    for (int i = 0; i < nin; i++) {
        PyArray_Descr *d = PyArray_DESCR(operands[i]);
        int ok = i == sp->imask ? (d->kind == 'b' || d->kind == 'f')
                                : (d->kind == 'b' || d->kind == 'i' || d->kind == 'u' || d->kind == 'f');
        if (!ok) {
            PyObject *r = PyObject_Str((PyObject *)d);
            if (i == sp->imask)
                PyErr_Format(PyExc_TypeError, "%s: the mask has dtype %S; masks are boolean "
                             "(True = may attend) or floating (added)", ufunc->name, r);
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
    int type;
    if (same && (t0 == NPY_FLOAT || t0 == NPY_DOUBLE)) {
        type = t0;
    } else {
        PyArray_Descr *rt = PyArray_ResultType(sp->ndata, operands, 0, NULL);
        if (rt == NULL) return -1;
        type = (rt->kind == 'f' && PyDataType_ELSIZE(rt) <= 4) ? NPY_FLOAT : NPY_DOUBLE;
        Py_DECREF(rt);
    }
    for (int i = 0; i < nop; i++) {
        int t = (i == sp->imask && PyArray_DESCR(operands[i])->kind == 'b') ? NPY_BOOL : type;
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
    __typeof__(reg[0][0]) *r = &reg[s - specs][ref];
    const int nop = s->nin + s->nout, nloops = s->imask >= 0 ? 4 : 2;
    for (int l = 0; l < nloops; l++) {
        int dbl = l % 2;
        r->fn[l] = dbl ? s->fd : s->ff;
        r->cfg[l].ref = ref;
        r->cfg[l].mask = s->imask >= 0 ? (l < 2 ? CATTN_MASK_BOOL : CATTN_MASK_ADD) : s->kind;
        r->data[l] = &r->cfg[l];
        for (int i = 0; i < nop; i++)
            r->types[l * nop + i] = (i == s->imask && l < 2) ? NPY_BOOL : dbl ? NPY_DOUBLE : NPY_FLOAT;
    }
    PyOS_snprintf(r->name, sizeof r->name, "%s%s", s->name, ref ? "_ref" : "");
    PyObject *uf = PyUFunc_FromFuncAndDataAndSignature(
        r->fn, r->data, r->types, nloops, s->nin, s->nout, PyUFunc_None, r->name,
        ref ? "The reference-kernel twin of the ufunc of the same name without _ref." : s->doc,
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
    return Py_BuildValue("{s:s,s:s,s:s,s:i,s:N}", "version", CATTN_VERSION, "level",
                         cattn_level_name(cattn_level_current()), "best",
                         cattn_level_name(cattn_level_best()), "threads", cattn_get_num_threads(),
                         "avx512_emulated", PyBool_FromLong(emulated));
}

static PyObject *set_level(PyObject *self, PyObject *arg)
{
    (void)self;
    const char *name = PyUnicode_AsUTF8(arg);
    if (name == NULL) return NULL;
    for (int l = CATTN_LEVEL_REF; l <= CATTN_LEVEL_AVX512; l++) {
        if (strcmp(name, cattn_level_name((cattn_level)l)) == 0) {
            if (cattn_set_level((cattn_level)l) < 0) {
                PyErr_Format(PyExc_ValueError, "set_level: level '%s' is not available on this "
                             "CPU/build (best is '%s')", name, cattn_level_name(cattn_level_best()));
                return NULL;
            }
            Py_RETURN_NONE;
        }
    }
    PyErr_Format(PyExc_ValueError, "set_level: unknown level '%s' (use 'ref', 'avx2' or 'avx512')",
                 name);
    return NULL;
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

/* ---- the direct path of scaled_dot_product_attention ------------------------------------- */

/* sdpa_direct(q, k, v, scale, causal): the common call -- three C-contiguous, aligned, native
 * arrays of one float dtype and the same batch shape, no mask, no weights, no out= -- without the
 * ufunc machinery (a tiny call costs a third).  Anything else returns NotImplemented and the
 * Python function takes the general path through the gufuncs, which owns every error message.
 * The work itself runs through the same inner loop as the gufunc. */
static PyObject *sdpa_direct(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 5) Py_RETURN_NOTIMPLEMENTED;
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
    double scale = 1.0 / sqrt((double)E);
    if (args[3] != Py_None) {
        if (!PyFloat_CheckExact(args[3]) && !PyLong_CheckExact(args[3])) Py_RETURN_NOTIMPLEMENTED;
        scale = PyFloat_AsDouble(args[3]);
        if (scale == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
    }
    int causal = PyObject_IsTrue(args[4]);
    if (causal < 0) return NULL;
    npy_intp od[NPY_MAXDIMS];
    for (int d = 0; d < nd - 1; d++) od[d] = dq[d];
    od[nd - 1] = Ev;
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(nd, od, type);
    if (out == NULL) return NULL;
    /* the gufunc loop's arguments: outer loop over the N batch items, core strides in bytes */
    const npy_intp item = type == NPY_FLOAT ? 4 : 8;
    float sf = (float)scale;
    char *argv[5] = {PyArray_BYTES(a[0]), PyArray_BYTES(a[1]), PyArray_BYTES(a[2]),
                     type == NPY_FLOAT ? (char *)&sf : (char *)&scale, PyArray_BYTES(out)};
    npy_intp dims[5] = {N, L, E, S, Ev};
    npy_intp steps[13] = {L * E * item, S * E * item, S * Ev * item, 0, L * Ev * item,
                          E * item, item, E * item, item, Ev * item, item, Ev * item, item};
    static const cattn_loop_cfg plain = {0, CATTN_MASK_NONE}, masked = {0, CATTN_MASK_CAUSAL};
    void *cfg = (void *)(causal ? &masked : &plain);
    int big = (double)N * (double)L * (double)S * (double)(E + Ev) > 1e5;
    PyThreadState *ts = big ? PyEval_SaveThread() : NULL;  /* the kernels never touch Python */
    if (type == NPY_FLOAT) cattn_loop_attention_f(argv, dims, steps, cfg);
    else cattn_loop_attention_d(argv, dims, steps, cfg);
    if (ts != NULL) PyEval_RestoreThread(ts);
    if (PyErr_Occurred()) {  /* out of memory for scratch, reported by the loop */
        Py_DECREF(out);
        return NULL;
    }
    return (PyObject *)out;
}

static PyMethodDef methods[] = {
    {"sdpa_direct", (PyCFunction)(void (*)(void))sdpa_direct, METH_FASTCALL,
     "sdpa_direct(q, k, v, scale_or_None, causal): the common call without the ufunc machinery, "
     "or NotImplemented."},
    {"set_num_threads", set_num_threads, METH_O, "Use n threads (1 to 256) in cattn's kernels."},
    {"get_num_threads", get_num_threads, METH_NOARGS, "The number of threads cattn's kernels use."},
    {"get_config", get_config, METH_NOARGS, "The version and the dispatch levels, as a dict."},
    {"set_level", set_level, METH_O, "Force a dispatch level: 'ref', 'avx2' or 'avx512'."},
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
#ifdef Py_GIL_DISABLED
    PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
