/* isa/avx512bf16/bf16.h -- what this folder's files share: the intrinsics (avx512.h, SIMDe's in
 * an emulated build), a vector of bfloat16 pairs as the instructions' operand type, and the
 * kernels table.c puts in the avx512 table. */
#ifndef CATTN_AVX512BF16_H
#define CATTN_AVX512BF16_H

#include <string.h>
#include "isa/avx512/avx512.h"
#include "runtime/dispatch.h"
#include "tile.h"

/* the 16-bit pairs of a vector as vdpbf16ps's operand type (a cast compilers drop) */
static inline __m512bh as_bh(__m512i x)
{
    __m512bh r;
    memcpy(&r, &x, sizeof r);
    return r;
}

/* gemm.c: the pair tile (dispatch.h, cattn_bgemm_ukr) */
void cattn_bgemm_ukr_avx512bf16(ptrdiff_t kp, const uint32_t *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const uint32_t *b, float *c, ptrdiff_t rsc, ptrdiff_t csc,
                                int accumulate);
/* rows.c: decoding's scores over bfloat16 keys (dispatch.h, cattn_hdot_rows) */
void cattn_bdot_rows_avx512bf16(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq,
                                ptrdiff_t m, const cattn_half *k, ptrdiff_t ldk, ptrdiff_t n,
                                ptrdiff_t e);

/* the avx512 level's kernels, which rows.c falls back to (dispatch.h's one list) */
CATTN_LEVEL_KERNELS(avx512)

#endif /* CATTN_AVX512BF16_H */
