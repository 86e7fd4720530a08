/* grad.c -- the portable row kernels of the backward passes (grad.inc), the "ref" level's
 * entries of the dispatch table. */
#include "kernels.h"

#define T float
#define P(name) cattn_s##name##_ref
#define LANES 32
#include "grad.inc"
#undef T
#undef P
#undef LANES

#define T double
#define P(name) cattn_d##name##_ref
#define LANES 16
#include "grad.inc"
