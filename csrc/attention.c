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
#define EXP_SUM (kt->sexp_sum)
#define MAX (kt->smax)
#include "attention.inc"
#undef T
#undef P
#undef EXP
#undef EXP_SUM
#undef MAX

#define T double
#define P(name) cattn_d##name
#define EXP exp
#define EXP_SUM (kt->dexp_sum)
#define MAX (kt->dmax)
#include "attention.inc"
