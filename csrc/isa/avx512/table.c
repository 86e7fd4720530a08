/* isa/avx512/table.c -- the avx512 level's entries of the dispatch table, filled in this one place
 * (runtime/level_table.inc) from this folder's kernels: gemm.c, exp.c, rows_plain.c, rows_simd.c.
 * AVX-512 (F, DQ); cpu.c calls cattn_table_fill_avx512 after the probe says the CPU has it. */
#include "runtime/dispatch.h"
#include "tile.h"

#define LEVEL avx512
#define HAS_SCALE_NT 1
#define HAS_ROWS 1
#define HAS_HALF_DECODE 1
#include "runtime/level_table.inc"

/* The tall tile's table: the AVX-512 table with the 16-row, one-vector microkernels (gemm.c;
 * cpu.c puts it between the wide AVX-512 tile and the AVX2 one in the cost model's chain). */
void cattn_sgemm_ukr_avx512_tall(ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                                 const float *b, ptrdiff_t ldb, float *c, ptrdiff_t rsc,
                                 ptrdiff_t csc, int accumulate);
void cattn_dgemm_ukr_avx512_tall(ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                                 const double *b, ptrdiff_t ldb, double *c, ptrdiff_t rsc,
                                 ptrdiff_t csc, int accumulate);
void cattn_table_fill_avx512_tall(cattn_kernel_table *t);
void cattn_table_fill_avx512_tall(cattn_kernel_table *t)
{
    t->smr = 16, t->snr = 16, t->sgemm_ukr = cattn_sgemm_ukr_avx512_tall;
    t->dmr = 16, t->dnr = 8, t->dgemm_ukr = cattn_dgemm_ukr_avx512_tall;
}
