/* kernels/additive.c -- additive (Bahdanau) attention's scores and their backward: the plain
 * reference kernels and the blocked ones that run the dispatch table's tanh_score rows.  Written
 * once (additive.inc), instantiated for float and double below.  The projections (qp = query W_qᵀ,
 * kp = key W_kᵀ), the softmax and the weighted sum are the library's matmul and softmax: what is
 * new is the (L, S, h) tanh, which no kernel here ever holds beyond one block of keys. */
#include <math.h>
#include <stdlib.h>
#include "runtime/dispatch.h"
#include "row_rules.h"

#define T float
#define P(name) cattn_s##name
#define TANH tanhf
#define TANH_SCORE (kt->stanh_score)
#define TANH_SCORE_GRAD (kt->stanh_score_grad)
#include "additive.inc"
#undef T
#undef P
#undef TANH
#undef TANH_SCORE
#undef TANH_SCORE_GRAD

#define T double
#define P(name) cattn_d##name
#define TANH tanh
#define TANH_SCORE (kt->dtanh_score)
#define TANH_SCORE_GRAD (kt->dtanh_score_grad)
#include "additive.inc"
