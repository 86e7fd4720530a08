/* isa/neon/tile.h -- NEON's GEMM tile: float 12×8, double 12×4 (24 q-register accumulators each):
 * the sizes gemm.c's microkernels compute and table.c puts in the dispatch table. */
#define SMR 12
#define SNR 8
#define DMR 12
#define DNR 4
