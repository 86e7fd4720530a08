/* attention.c -- scaled dot-product attention: the plain reference kernel and the blocked one.
 *
 * Written once (attention.inc), instantiated for float and double below.  Both read one
 * cattn_attn_call (cattn.h): the mask kind and array, the scale, the weights output and the kernel
 * table, as the glue described the call.
 */
#include <math.h>
#include <stdlib.h>
#include "kernels.h"

#define T float
#define P(name) cattn_s##name
#define EXP expf
#define LOG logf
#define EXP_SUM (kt->sexp_sum)
#define MAX (kt->smax)
#include "masked_score.inc"
#include "attention.inc"
#undef T
#undef P
#undef EXP
#undef LOG
#undef EXP_SUM
#undef MAX

#define T double
#define P(name) cattn_d##name
#define EXP exp
#define LOG log
#define EXP_SUM (kt->dexp_sum)
#define MAX (kt->dmax)
#include "masked_score.inc"
#include "attention.inc"
