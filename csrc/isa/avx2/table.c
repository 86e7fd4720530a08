/* isa/avx2/table.c -- the avx2 level's entries of the dispatch table, filled in this one place
 * (runtime/level_table.inc) from this folder's kernels: gemm.c, exp.c, rows_plain.c, rows_simd.c.
 * AVX2 + FMA + F16C; cpu.c calls cattn_table_fill_avx2 after the probe says the CPU has it. */
#include "runtime/dispatch.h"
#include "tile.h"

#define LEVEL avx2
#define HAS_SCALE_NT 1
#define HAS_ROWS 1
#define HAS_HALF_ROWS 1
#define HAS_HALF_DECODE 1
#include "runtime/level_table.inc"
