/* loops.h -- glue: the gufunc inner loops (loops.c), registered by module.c. */
#ifndef CATTN_LOOPS_H
#define CATTN_LOOPS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_25_API_VERSION
#define NPY_TARGET_VERSION NPY_1_25_API_VERSION
#include <numpy/ndarraytypes.h>
#include "kernels.h"

/* What a loop is to call, carried in the ufunc's per-loop data pointer. */
typedef struct {
    int ref;                  /* 1: the reference kernel, 0: the fast one */
    cattn_mask_kind mask;     /* attention: the kind of mask operand (or CAUSAL / NONE) */
} cattn_loop_cfg;

#define CATTN_DECLARE_LOOP(name)                                                              \
    void name##_f(char **args, npy_intp const *dims, npy_intp const *steps, void *data);    \
    void name##_d(char **args, npy_intp const *dims, npy_intp const *steps, void *data);

CATTN_DECLARE_LOOP(cattn_loop_matmul)       /* (n?,k),(k,m?)->(n?,m?)                       */
CATTN_DECLARE_LOOP(cattn_loop_softmax)      /* (n)->(n)                                      */
CATTN_DECLARE_LOOP(cattn_loop_log_softmax)  /* (n)->(n)                                      */
CATTN_DECLARE_LOOP(cattn_loop_attention)    /* (l,e),(s,e),(s,ev),()->(l,ev)                 */
CATTN_DECLARE_LOOP(cattn_loop_attention_masked)   /* (l,e),(s,e),(s,ev),(l,s),()->(l,ev)     */
CATTN_DECLARE_LOOP(cattn_loop_attention_weights)  /* ... ,(l,s),()->(l,ev),(l,s)             */

CATTN_DECLARE_LOOP(cattn_loop_exp_sum)      /* (n),()->(n),()                                */
CATTN_DECLARE_LOOP(cattn_loop_row_max)      /* (n)->()                                       */
CATTN_DECLARE_LOOP(cattn_loop_mha)          /* see module.c for the signature              */
CATTN_DECLARE_LOOP(cattn_loop_mha_weights)

#endif
