/* grad_avx2.c -- the backward passes' row kernels (grad.inc) compiled with the avx2 flags: the
 * compiler vectorises them for this level (setup.py gives each *_avx2.c file its flags). */
#include "kernels.h"

#define LEVEL avx2
#include "grad_level.inc"
