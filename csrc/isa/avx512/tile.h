/* isa/avx512/tile.h -- AVX-512's wide GEMM tile: float 12×32, double 12×16 (24 zmm accumulators
 * each): the sizes gemm.c's microkernels compute and table.c puts in the dispatch table. */
#define SMR 12
#define SNR 32
#define DMR 12
#define DNR 16
