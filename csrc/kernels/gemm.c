/* kernels/gemm.c -- matrix multiplication: the plain reference kernel and the BLIS-style blocked
 * driver.
 *
 * Both are written once (gemm.inc) and instantiated for float and double below.  Every blocked
 * function takes the kernel table of its call, kt, which MR, NR and UKR read.
 *
 * The blocks: kc = CATTN_GEMM_KC = 512 values of the inner dimension per pass (dispatch.h), 640 for
 * double (BLOCK_KC).  Each pass reads and writes the
 * whole of c once more, which from 1024 on no longer stays in the caches: 256 (a panel of b in
 * L1) cost float64 5 % at 4096 and 4 % at 2048, float32 5 % at 2048 and 4-11 % at 300-1024, on
 * 1 and 2 threads (Zen 4, timed in turns); 384 was between.  A panel of b then comes from L2,
 * which its two loads per 24 FMAs do not notice; fetching a or b ahead in the microkernel did
 * not help.  float64 takes kc = 640 (BLOCK_KC below): against 512, in turns, 4096 1.009-1.021x
 * on 2 threads and 1.010-1.017x on 1, 2048 0.998-1.013x, 600-1024 1.002-1.012x (Zen 4, the
 * avx512 path; avx2 0.993-1.005x); 768 read 0.998-1.021x, 1024 0.987x, and a block of b 2048
 * or 4096 columns wide 0.89-0.98x.
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
#define BLOCK_MC 96   /* a packed block of a: 96 x 512 floats = 192 KiB, in L2 */
#define BLOCK_NC 2048 /* a packed block of b: 512 x 2048 floats = 4 MiB, in L3 */
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
#define BLOCK_KC 640  /* 5 passes over c at 4096 where 512 takes 8: 1.00-1.02x (below) */
#define BLOCK_MC 48   /* 48 x 640 doubles = 240 KiB, in L2 */
#define BLOCK_NC 1024 /* 640 x 1024 doubles = 5 MiB, in L3 */
#include "gemm.inc"
#undef BLOCK_KC
