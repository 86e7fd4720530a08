/* isa/avx512bf16/tile.h -- the bfloat16 pair tile: c (12,32) float32, from pairs along k of
 * bfloat16 a (12 rows) and b (32 columns): 24 zmm accumulators, as avx512's float tile. */
#ifndef CATTN_AVX512BF16_TILE_H
#define CATTN_AVX512BF16_TILE_H
#define BMR 12
#define BNR 32
#endif
