/* attention.c -- scaled dot-product attention: the plain reference kernel and the blocked one.
 *
 * Written once (attention.inc), instantiated for float and double below.
 */
#include <math.h>
#include <stdlib.h>
#include "kernels.h"

#define T float
#define P(name) cattn_s##name
#define EXP expf
#define EXP_SUM (cattn_kernels.sexp_sum)
#define MAX (cattn_kernels.smax)
#include "attention.inc"
#undef T
#undef P
#undef EXP
#undef EXP_SUM
#undef MAX

#define T double
#define P(name) cattn_d##name
#define EXP exp
#define EXP_SUM (cattn_kernels.dexp_sum)
#define MAX (cattn_kernels.dmax)
#include "attention.inc"
