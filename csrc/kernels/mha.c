/* kernels/mha.c -- multi-head attention: the forward pass (projections by gemm, attention per head,
 * output projection by gemm), optionally keeping what the backward needs, and the backward.  Written once (mha.inc), instantiated for float and double below.
 */
#include <stdlib.h>
#include "runtime/dispatch.h"

#include "half.h"

#define T float
#define P(name) cattn_s##name
#define HALF_IO 1 /* float also takes half operands (mha_half) */
#include "mha.inc"
#undef T
#undef P
#undef HALF_IO

#define T double
#define P(name) cattn_d##name
#define HALF_IO 0
#include "mha.inc"
