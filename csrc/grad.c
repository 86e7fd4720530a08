/* grad.c -- the portable row kernels of the backward passes (grad.inc), the "ref" level's
 * entries of the dispatch table. */
#include <math.h>
#include "kernels.h"
#include "tanh.h"
#include "rows.h"

#define T float
#define P(name) cattn_s##name##_ref
#define LANES 32
#define TANH cattn_tanhf_fast
#include "grad.inc"
#undef T
#undef P
#undef LANES
#undef TANH

#define T double
#define P(name) cattn_d##name##_ref
#define LANES 16
#define TANH tanh
#include "grad.inc"
