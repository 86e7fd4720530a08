/* kernels/gemm.c -- matrix multiplication: the plain reference kernel and the BLIS-style blocked
 * driver.
 *
 * Both are written once (gemm.inc) and instantiated for float and double below.  Every blocked
 * function takes the kernel table of its call, kt, which MR, NR and UKR read.
 */
#include <stdlib.h>
#include "runtime/dispatch.h"

#define T float
#define P(name) cattn_s##name
#define UKR (kt->sgemm_ukr)
#define MR (kt->smr)
#define NR (kt->snr)
#define REF_MR CATTN_REF_SMR
#define REF_NR CATTN_REF_SNR
#define BLOCK_MC 96   /* a packed block of a: 96 x 256 floats = 96 KiB, in L2 */
#define BLOCK_NC 2048 /* a packed block of b: 256 x 2048 floats = 2 MiB, in L3 */
#include "gemm.inc"
#undef BLOCK_MC
#undef BLOCK_NC
#undef T
#undef P
#undef UKR
#undef MR
#undef NR
#undef REF_MR
#undef REF_NR

#define T double
#define P(name) cattn_d##name
#define UKR (kt->dgemm_ukr)
#define MR (kt->dmr)
#define NR (kt->dnr)
#define REF_MR CATTN_REF_DMR
#define REF_NR CATTN_REF_DNR
#define BLOCK_MC 48   /* the same bytes as for float: 48 x 256 doubles = 96 KiB */
#define BLOCK_NC 1024 /* 256 x 1024 doubles = 2 MiB */
#include "gemm.inc"
