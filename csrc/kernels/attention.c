/* kernels/attention.c -- scaled dot-product attention: the plain reference kernel and the blocked
 * one.
 *
 * Written once (attention.inc), instantiated for float and double below.  Both read one
 * cattn_attn_call (cattn.h): the mask kind and array, the scale, the weights output and the kernel
 * table, as the glue described the call.
 */
#include <math.h>
#include <stdlib.h>
#include "runtime/dispatch.h"
#include "row_rules.h"
#include "tanh.h"
#include "half.h"

/* Causal over (L, S) is row limits (cattn.h): query i attends keys j <= i. */
void cattn_causal_limits(cattn_attn_call *c, ptrdiff_t L, ptrdiff_t S)
{
    c->limited = 1;
    c->lo = -L, c->hi = 0, c->kv_len = S, c->q_len = L, c->per = 0;
}

/* The default scale 1/sqrt(e) of an embedding size (0 for e <= 0). */
double cattn_default_scale(ptrdiff_t e) { return e > 0 ? 1.0 / sqrt((double)e) : 0.0; }

#define T float
#define P(name) cattn_s##name
#define EXP expf
#define LOG logf
#define EXP_SUM (kt->sexp_sum)
#define MAX (kt->smax)
#define DROPOUT (kt->sdropout)
#define DOT_ROWS (j->kt->sdot_rows)
#define AXPY_ROWS (j->kt->saxpy_rows)
#define TANH_REF tanhf
#define TANH_FAST cattn_tanhf_fast
#define HALF_IO 1 /* float also takes half operands (attention_half) */
#include "masked_score.inc"
#include "attention.inc"
#undef T
#undef P
#undef EXP
#undef LOG
#undef EXP_SUM
#undef MAX
#undef DROPOUT
#undef DOT_ROWS
#undef AXPY_ROWS
#undef TANH_REF
#undef TANH_FAST
#undef HALF_IO

#define T double
#define P(name) cattn_d##name
#define EXP exp
#define LOG log
#define EXP_SUM (kt->dexp_sum)
#define MAX (kt->dmax)
#define DROPOUT (kt->ddropout)
#define DOT_ROWS (j->kt->ddot_rows)
#define AXPY_ROWS (j->kt->daxpy_rows)
#define TANH_REF tanh
#define TANH_FAST tanh
#define HALF_IO 0
#include "masked_score.inc"
#include "attention.inc"
