/* isa/avx2/rows_plain.c -- the plain row kernels (kernels/rows_plain.inc) compiled with this
 * folder's flags (FLAGS): the compiler vectorises them for the avx2 level. */
#include "runtime/dispatch.h"

#define LEVEL avx2
#include "kernels/rows_plain_level.inc"
