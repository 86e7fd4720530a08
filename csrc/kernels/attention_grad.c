/* kernels/attention_grad.c -- the backward pass of scaled dot-product attention: the plain
 * reference kernel and the blocked, flash-style one.  Written once (attention_grad.inc),
 * instantiated for float (which also takes float16 and bfloat16 operands) and double below; it
 * reads the forward's description of a call (cattn_attn_call) and scores it with the forward's
 * cap/scale/mask step (masked_score.inc). */
#include <math.h>
#include <stdlib.h>
#include "runtime/dispatch.h"
#include "row_rules.h"
#include "tanh.h"
#include "half.h"

#define T float
#define P(name) cattn_s##name
#define EXP expf
#define EXP_SUM (kt->sexp_sum)
#define DOT (kt->sdot)
#define SOFTMAX_GRAD (kt->ssoftmax_grad)
#define DROPOUT (kt->sdropout)
#define TANH_REF tanhf
#define TANH_FAST cattn_tanhf_fast
#define HALF_IO 1 /* float also takes half operands (attention_backward_half) */
#include "masked_score.inc"
#include "attention_grad.inc"
#undef T
#undef P
#undef EXP
#undef EXP_SUM
#undef DOT
#undef SOFTMAX_GRAD
#undef DROPOUT
#undef TANH_REF
#undef TANH_FAST
#undef HALF_IO

#define T double
#define P(name) cattn_d##name
#define EXP exp
#define EXP_SUM (kt->dexp_sum)
#define DOT (kt->ddot)
#define SOFTMAX_GRAD (kt->dsoftmax_grad)
#define DROPOUT (kt->ddropout)
#define TANH_REF tanh
#define TANH_FAST tanh
#define HALF_IO 0
#include "masked_score.inc"
#include "attention_grad.inc"
