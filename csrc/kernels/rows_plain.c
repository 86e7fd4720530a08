/* kernels/rows_plain.c -- the portable row kernels (rows_plain.inc): the "ref" level's entries
 * of the dispatch table. */
#include <math.h>
#include "runtime/dispatch.h"
#include "tanh.h"
#include "row_rules.h"

#define T float
#define P(name) cattn_s##name##_ref
#define LANES 32
#define TANH cattn_tanhf_fast
#include "rows_plain.inc"
#undef T
#undef P
#undef LANES
#undef TANH

#define T double
#define P(name) cattn_d##name##_ref
#define LANES 16
#define TANH tanh
#include "rows_plain.inc"
