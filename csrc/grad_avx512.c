/* grad_avx512.c -- the row kernels of the backward passes (grad.inc) compiled with the avx512 flags:
 * the compiler vectorises them for this level (setup.py gives each *_avx512.c file its flags). */
#include "kernels.h"

#define T float
#define P(name) cattn_s##name##_avx512
#define LANES 32
#include "grad.inc"
#undef T
#undef P
#undef LANES

#define T double
#define P(name) cattn_d##name##_avx512
#define LANES 16
#include "grad.inc"
#undef T
#undef P
#undef LANES

/* Overwrite the table entries this file provides (called by cpu.c after the probe). */
void cattn_grad_fill_avx512(cattn_kernel_table *t)
{
    t->sdot = cattn_sdot_avx512;
    t->ddot = cattn_ddot_avx512;
    t->ssoftmax_grad = cattn_ssoftmax_grad_avx512;
    t->dsoftmax_grad = cattn_dsoftmax_grad_avx512;
}
