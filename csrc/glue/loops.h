/* glue/loops.h -- glue: the gufunc inner loops (loops.c), registered by module.c, and the one
 * attention path that the loops and module.c's direct call share. */
#ifndef CATTN_LOOPS_H
#define CATTN_LOOPS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_25_API_VERSION
#define NPY_TARGET_VERSION NPY_1_25_API_VERSION
#include <numpy/ndarraytypes.h>
#include "runtime/dispatch.h"

/* What a loop is to call, carried in the ufunc's per-loop data pointer: module.c's table of
 * ufuncs fills one per loop. */
typedef struct {
    int ref;               /* 1: the reference kernels, 0: the fast ones                        */
    cattn_mask_kind mask;  /* attention, mha: the kind of mask (BOOL / ADD with a mask operand)   */
    int causal;            /* attention: query i attends keys j <= i (made row limits: call_of)  */
    int has_mask, has_w;   /* attention, mha: a mask operand; a weights output                  */
    int has_lse;           /* attention, mha: the outputs the backward needs (lse; mha: saved)    */
    int has_dmask;         /* backward: the additive mask's gradient, an output                  */
    int log;               /* softmax: log_softmax                                              */
    int backward;          /* additive scores: the backward                                     */
    int ext;               /* attention: soft cap, dropout and limits are operands; mha: limits   */
    int half;              /* the half loops: 1 float16, 2 bfloat16 (module.c, half_loop_of)    */
    const char *name;      /* for the out-of-memory message                                     */
    int spec;              /* module.c: the index of the ufunc in its table                     */
} cattn_loop_cfg;

/* One operand of a loop: item `it` starts at p + it*step; its nd core dims n have byte strides
 * s; elements have `size` bytes.  p == NULL: the call has no such operand. */
typedef struct {
    char *p;
    npy_intp step;
    int nd;
    npy_intp n[3], s[3];
    size_t size;
} cattn_operand;

/* The limits operand of the `ext` gufuncs (cattn's functions call them): int64 (CATTN_NLIM), one
 * value per field of cattn_attn_call's row limits and dropout stream, in this order -- the one
 * place the layout is written: Python builds the operand by name from _cattn.LIMITS. */
enum { LIM_LO, LIM_HI, LIM_KV_LEN, LIM_Q_LEN, LIM_PER, LIM_SEED, LIM_STREAM, CATTN_NLIM };
#define CATTN_LIMIT_NAMES {"lo", "hi", "kv_len", "q_len", "per", "seed", "stream"}
#define CATTN_LIMITS_SIG "(7)"  /* CATTN_NLIM, as a core dimension (checked in module.c) */

/* The operands of scaled dot-product attention, by role.  The `ext` gufuncs also take the soft
 * cap and the dropout probability (scalars of the computing dtype) and the limits. */
enum { ATT_Q, ATT_K, ATT_V, ATT_MASK, ATT_SCALE, ATT_CAP, ATT_DROP, ATT_LIM, ATT_OUT, ATT_W,
       ATT_LSE, ATT_NOP };

/* An attention call over N items of (L,E), (S,E), (S,Ev): what the gufunc loops and the direct
 * path both hand to cattn_run_attention. */
typedef struct {
    const cattn_loop_cfg *cfg;
    int dbl;                          /* float64 (else float32) */
    npy_intp dims[5];                 /* N, L, E, S, Ev          */
    cattn_operand op[ATT_NOP];
} cattn_attention_job;

/* Runs the items (threads when worth it), with the kernel table read once; 0, or -1 with a
 * MemoryError set (the GIL is taken for it). */
int cattn_run_attention(const cattn_attention_job *job);

#define CATTN_DECLARE_LOOP(name)                                                              \
    void name##_f(char **args, npy_intp const *dims, npy_intp const *steps, void *data);    \
    void name##_d(char **args, npy_intp const *dims, npy_intp const *steps, void *data);

CATTN_DECLARE_LOOP(cattn_loop_matmul)     /* (n?,k),(k,m?)->(n?,m?)                          */
CATTN_DECLARE_LOOP(cattn_loop_softmax)    /* (n)->(n), softmax or log_softmax                 */
CATTN_DECLARE_LOOP(cattn_loop_attention)  /* (l,e),(s,e),(s,ev)[,(l,s)],()->(l,ev)[,(l,s)]    */
CATTN_DECLARE_LOOP(cattn_loop_mha)        /* see module.c for the signature                 */
CATTN_DECLARE_LOOP(cattn_loop_exp_sum)    /* (n),()->(n),()                                  */
CATTN_DECLARE_LOOP(cattn_loop_row_max)    /* (n)->()                                         */
CATTN_DECLARE_LOOP(cattn_loop_softmax_backward)    /* (n),(n)->(n): y, g -> dx                */
CATTN_DECLARE_LOOP(cattn_loop_attention_backward)  /* see module.c for the signatures         */
CATTN_DECLARE_LOOP(cattn_loop_mha_backward)
CATTN_DECLARE_LOOP(cattn_loop_additive)  /* additive scores, or (cfg->backward) their backward */

/* the half-precision loops (float16, and bfloat16 when ml_dtypes registers it): one function
 * each, the cfg says which half */
void cattn_loop_softmax_half(char **args, npy_intp const *dims, npy_intp const *steps,
                             void *data);
void cattn_loop_matmul_half(char **args, npy_intp const *dims, npy_intp const *steps,
                            void *data);
void cattn_loop_softmax_backward_half(char **args, npy_intp const *dims, npy_intp const *steps,
                                      void *data);

#endif
