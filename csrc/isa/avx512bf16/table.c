/* isa/avx512bf16/table.c -- the avx512 table's bfloat16 entries, filled in this one place from
 * this folder's gemm.c (the pair tile) and rows.c (decoding's scores over bfloat16 keys).  Not a level (CATTN_ARCH has no avx512bf16): an extension of the avx512 table
 * that cpu.c adds when the probe finds AVX512-BF16 (and SIMDe's, in an emulated build); every
 * other entry stays avx512's. */
#include "runtime/dispatch.h"

#include "tile.h"

void cattn_bgemm_ukr_avx512bf16(ptrdiff_t kp, const uint32_t *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const uint32_t *b, float *c, ptrdiff_t rsc, ptrdiff_t csc,
                                int accumulate);
void cattn_bdot_rows_avx512bf16(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,
                                ptrdiff_t m, const cattn_half *k, ptrdiff_t ldk, ptrdiff_t n,
                                ptrdiff_t e);
void cattn_baxpy_rows_avx512bf16(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp,
                                 ptrdiff_t m, const cattn_half *v, ptrdiff_t ldv, ptrdiff_t n,
                                 ptrdiff_t e);
void cattn_table_fill_avx512bf16(cattn_kernel_table *t);
void cattn_table_fill_avx512bf16(cattn_kernel_table *t)
{
    t->bmr = BMR, t->bnr = BNR, t->bgemm_ukr = cattn_bgemm_ukr_avx512bf16;  /* gemm.c */
    t->bdot_rows = cattn_bdot_rows_avx512bf16;                             /* rows.c */
    t->baxpy_rows = cattn_baxpy_rows_avx512bf16;
}
