/* grad_avx512.c -- the backward passes' row kernels (grad.inc) compiled with the avx512 flags: the
 * compiler vectorises them for this level (setup.py gives each *_avx512.c file its flags). */
#include "kernels.h"

#define LEVEL avx512
#include "grad_level.inc"
