/* module.c -- glue: the extension module cattn._cattn.
 *
 * Registers the generalized ufuncs (float32 and float64 loops, each with a `_ref` twin that runs
 * the reference kernels), their type resolver, and the configuration functions.
 */
#include "loops.h"
#include <numpy/arrayobject.h>
#include <numpy/ufuncobject.h>

/* ---- type resolution ----------------------------------------------------------------------- */

/* Which dtype a call computes in: float32 when NumPy's result type of the data operands (a, b /
 * x / q, k, v) is a float of at most 4 bytes, float64 otherwise (so integers compute in float64).
 * A boolean mask operand keeps its own loop; scale and float masks take the computing dtype.
 * Complex, object, string and other dtypes are refused with a TypeError naming the function. */
static int resolve_types(PyUFuncObject *ufunc, NPY_CASTING casting, PyArrayObject **operands,
                         PyObject *type_tup, PyArray_Descr **out_dtypes)
{
    const int nin = ufunc->nin, nop = ufunc->nin + ufunc->nout;
    const int ndata = nin <= 2 ? nin : 3;
    const int imask = nin == 5 ? 3 : -1;
    const char *what[] = {"first operand", "second operand", "third operand", "attn_mask", "scale"};
    if (type_tup != NULL) return PyUFunc_DefaultTypeResolver(ufunc, casting, operands, type_tup,
                                                             out_dtypes);
    for (int i = 0; i < nin; i++) {
        PyArray_Descr *d = PyArray_DESCR(operands[i]);
        int ok = i == imask ? (d->kind == 'b' || d->kind == 'f')
                            : (d->kind == 'b' || d->kind == 'i' || d->kind == 'u' || d->kind == 'f');
        if (!ok) {
            PyObject *r = PyObject_Str((PyObject *)d);
            PyErr_Format(PyExc_TypeError, "%s: %s has dtype %S; cattn computes in float32 or "
                         "float64%s", ufunc->name, nin == 1 ? "input" : what[i < 5 ? i : 4], r,
                         i == imask ? " (masks are boolean or floating)" : "");
            Py_XDECREF(r);
            return -1;
        }
    }
    PyArray_Descr *rt = PyArray_ResultType(ndata, operands, 0, NULL);
    if (rt == NULL) return -1;
    int type = (rt->kind == 'f' && PyDataType_ELSIZE(rt) <= 4) ? NPY_FLOAT : NPY_DOUBLE;
    Py_DECREF(rt);
    for (int i = 0; i < nop; i++) {
        int t = (i == imask && PyArray_DESCR(operands[i])->kind == 'b') ? NPY_BOOL : type;
        out_dtypes[i] = PyArray_DescrFromType(t);
    }
    if (PyUFunc_ValidateCasting(ufunc, casting, operands, out_dtypes) < 0) {
        for (int i = 0; i < nop; i++) Py_CLEAR(out_dtypes[i]);
        return -1;
    }
    return 0;
}

/* ---- the ufuncs ---------------------------------------------------------------------------- */

static const cattn_loop_cfg cfg_fast = {0, CATTN_MASK_NONE}, cfg_ref = {1, CATTN_MASK_NONE};
static const cattn_loop_cfg cfg_causal = {0, CATTN_MASK_CAUSAL}, cfg_causal_ref = {1, CATTN_MASK_CAUSAL};
static const cattn_loop_cfg cfg_bool = {0, CATTN_MASK_BOOL}, cfg_bool_ref = {1, CATTN_MASK_BOOL};
static const cattn_loop_cfg cfg_add = {0, CATTN_MASK_ADD}, cfg_add_ref = {1, CATTN_MASK_ADD};

/* Loop tables: a float32 and a float64 loop; masked ufuncs list the boolean-mask loops first so
 * that a boolean mask is never cast to a float one. */
static PyUFuncGenericFunction fn_matmul[] = {cattn_loop_matmul_f, cattn_loop_matmul_d};
static PyUFuncGenericFunction fn_softmax[] = {cattn_loop_softmax_f, cattn_loop_softmax_d};
static PyUFuncGenericFunction fn_log_softmax[] = {cattn_loop_log_softmax_f, cattn_loop_log_softmax_d};
static PyUFuncGenericFunction fn_attention[] = {cattn_loop_attention_f, cattn_loop_attention_d};
static PyUFuncGenericFunction fn_masked[] = {
    cattn_loop_attention_masked_f, cattn_loop_attention_masked_d,
    cattn_loop_attention_masked_f, cattn_loop_attention_masked_d};
static PyUFuncGenericFunction fn_weights[] = {
    cattn_loop_attention_weights_f, cattn_loop_attention_weights_d,
    cattn_loop_attention_weights_f, cattn_loop_attention_weights_d};

static char ty_2_1[] = {NPY_FLOAT, NPY_FLOAT, NPY_FLOAT, NPY_DOUBLE, NPY_DOUBLE, NPY_DOUBLE};
static char ty_1_1[] = {NPY_FLOAT, NPY_FLOAT, NPY_DOUBLE, NPY_DOUBLE};
static char ty_attn[] = {NPY_FLOAT, NPY_FLOAT, NPY_FLOAT, NPY_FLOAT, NPY_FLOAT,
                         NPY_DOUBLE, NPY_DOUBLE, NPY_DOUBLE, NPY_DOUBLE, NPY_DOUBLE};
#define F NPY_FLOAT
#define D NPY_DOUBLE
#define B NPY_BOOL
static char ty_masked[] = {F, F, F, B, F, F, D, D, D, B, D, D, F, F, F, F, F, F, D, D, D, D, D, D};
static char ty_weights[] = {F, F, F, B, F, F, F, D, D, D, B, D, D, D,
                            F, F, F, F, F, F, F, D, D, D, D, D, D, D};
#undef F
#undef D
#undef B

typedef struct {
    const char *name;
    const char *signature;
    PyUFuncGenericFunction *fn;
    char *types;
    int ntypes, nin, nout;
    const cattn_loop_cfg *fast, *ref;
    const char *doc;
} ufunc_spec;

#include "docs.h"

static const ufunc_spec specs[] = {
    {"matmul", "(n?,k),(k,m?)->(n?,m?)", fn_matmul, ty_2_1, 2, 2, 1, &cfg_fast, &cfg_ref,
     DOC_MATMUL},
    {"softmax", "(n)->(n)", fn_softmax, ty_1_1, 2, 1, 1, &cfg_fast, &cfg_ref, DOC_SOFTMAX},
    {"log_softmax", "(n)->(n)", fn_log_softmax, ty_1_1, 2, 1, 1, &cfg_fast, &cfg_ref,
     DOC_LOG_SOFTMAX},
    {"attention", "(l,e),(s,e),(s,ev),()->(l,ev)", fn_attention, ty_attn, 2, 4, 1, &cfg_fast,
     &cfg_ref, DOC_ATTENTION},
    {"causal_attention", "(l,e),(s,e),(s,ev),()->(l,ev)", fn_attention, ty_attn, 2, 4, 1,
     &cfg_causal, &cfg_causal_ref, DOC_CAUSAL_ATTENTION},
    {"masked_attention", "(l,e),(s,e),(s,ev),(l,s),()->(l,ev)", fn_masked, ty_masked, 4, 5, 1,
     &cfg_bool, &cfg_bool_ref, DOC_MASKED_ATTENTION},
    {"attention_weights", "(l,e),(s,e),(s,ev),(l,s),()->(l,ev),(l,s)", fn_weights, ty_weights, 4,
     5, 2, &cfg_bool, &cfg_bool_ref, DOC_ATTENTION_WEIGHTS},
};

/* Per-loop data pointers: [spec][ref][loop]; masked loops 0,1 take a boolean mask, 2,3 a float. */
static void *loop_data[sizeof specs / sizeof specs[0]][2][4];

static int add_ufunc(PyObject *module, const ufunc_spec *s, int ref)
{
    void **data = loop_data[s - specs][ref];
    const cattn_loop_cfg *cfg = ref ? s->ref : s->fast;
    for (int i = 0; i < s->ntypes; i++) {
        data[i] = (void *)cfg;
        if (s->ntypes == 4 && i >= 2) data[i] = (void *)(ref ? &cfg_add_ref : &cfg_add);
    }
    char name[64];
    PyOS_snprintf(name, sizeof name, "%s%s", s->name, ref ? "_ref" : "");
    /* NumPy keeps the name and doc pointers: give it copies that live as long as the process */
    char *keep = PyMem_RawMalloc(strlen(name) + 1);
    if (keep == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    strcpy(keep, name);
    PyObject *uf = PyUFunc_FromFuncAndDataAndSignature(
        s->fn, data, s->types, s->ntypes, s->nin, s->nout, PyUFunc_None, keep,
        ref ? "The reference-kernel twin of the ufunc of the same name without _ref." : s->doc,
        0, s->signature);
    if (uf == NULL) return -1;
    ((PyUFuncObject *)uf)->type_resolver = resolve_types;
    if (PyModule_AddObject(module, keep, uf) < 0) {
        Py_DECREF(uf);
        return -1;
    }
    return 0;
}

/* ---- configuration ----------------------------------------------------------------------- */

static PyObject *get_config(PyObject *self, PyObject *noargs)
{
    (void)self, (void)noargs;
    return Py_BuildValue("{s:s,s:s,s:s}", "version", CATTN_VERSION, "level",
                         cattn_level_name(cattn_level_current()), "best",
                         cattn_level_name(cattn_level_best()));
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

static PyMethodDef methods[] = {
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
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
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
