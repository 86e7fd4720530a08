/* isa/avx512bf16/table.c -- the avx512 table's bfloat16 entries, filled in this one place from
 * this folder's gemm.c (the pair tile) and rows.c (decoding's scores over bfloat16 keys).  Not a
 * level (CATTN_ARCH has no avx512bf16): an extension of the avx512 table that cpu.c adds when the
 * probe finds AVX512-BF16 (and SIMDe's, in an emulated build); every other entry stays
 * avx512's. */
#include "bf16.h"

void cattn_table_fill_avx512bf16(cattn_kernel_table *t);
void cattn_table_fill_avx512bf16(cattn_kernel_table *t)
{
    t->bmr = BMR, t->bnr = BNR, t->bgemm_ukr = cattn_bgemm_ukr_avx512bf16;  /* gemm.c */
    t->bdot_rows = cattn_bdot_rows_avx512bf16;                             /* rows.c */
}
