/* kernels/softmax.c -- softmax and log_softmax over one row: reference and fast kernels.
 *
 * Forward and backward (the gradient of a row from the forward's output).
 * Written once (softmax.inc), instantiated for float and double below.
 */
#include <math.h>
#include <stdlib.h>
#include "runtime/dispatch.h"

#define T float
#define P(name) cattn_s##name
#define EXP expf
#define LOG logf
#define EXP_SUM (kt->sexp_sum)
#define MAX (kt->smax)
#define SCALE_NT (kt->sscale_nt)
#define DOT (kt->sdot)
#define SOFTMAX_GRAD (kt->ssoftmax_grad)
#include "softmax.inc"
#undef T
#undef P
#undef EXP
#undef LOG
#undef EXP_SUM
#undef MAX
#undef SCALE_NT
#undef ROW_BUF
#undef PREFETCH_BYTES
#undef PREFETCH_ROW
#undef DOT
#undef SOFTMAX_GRAD

#define T double
#define P(name) cattn_d##name
#define EXP exp
#define LOG log
#define EXP_SUM (kt->dexp_sum)
#define MAX (kt->dmax)
#define SCALE_NT (kt->dscale_nt)
#define DOT (kt->ddot)
#define SOFTMAX_GRAD (kt->dsoftmax_grad)
#include "softmax.inc"
