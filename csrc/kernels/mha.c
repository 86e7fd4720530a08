/* kernels/mha.c -- multi-head attention: the forward pass (projections by gemm, attention per head,
 * output projection by gemm), optionally keeping what the backward needs, and the backward.  Written once (mha.inc), instantiated for float and double below.
 */
#include <stdlib.h>
#include "runtime/dispatch.h"

#define T float
#define P(name) cattn_s##name
#include "mha.inc"
#undef T
#undef P

#define T double
#define P(name) cattn_d##name
#include "mha.inc"
