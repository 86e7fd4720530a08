/* isa/avx2/tile.h -- AVX2's GEMM tile: float 6×16, double 6×8 (12 ymm accumulators each): the
 * sizes gemm.c's microkernels compute and table.c puts in the dispatch table. */
#define SMR 6
#define SNR 16
#define DMR 6
#define DNR 8
