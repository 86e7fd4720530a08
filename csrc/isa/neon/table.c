/* isa/neon/table.c -- the neon level's entries of the dispatch table, filled in this one place
 * (runtime/level_table.inc) from this folder's kernels: gemm.c, exp.c.
 * ARM64 NEON; cpu.c calls cattn_table_fill_neon after the probe says the CPU has it. */
#include "runtime/dispatch.h"
#include "tile.h"

#define LEVEL neon
#define HAS_SCALE_NT 0
#define HAS_ROWS 0
#include "runtime/level_table.inc"
