/* isa/avx512/gemm.c -- register-blocked GEMM microkernels for AVX-512F (compiled with -mavx512f,
 * run only after cpu.c's probe).
 *
 * float:  c (12,32) (+)= a (12,k) · b (k,32): 24 zmm accumulators (12 rows × 2 vectors of 16),
 * double: c (12,16) (+)= a (12,k) · b (k,16): 24 zmm accumulators (12 rows × 2 vectors of 8).
 * Per step p: two vector loads of the packed b row, twelve broadcasts of the packed a column,
 * twenty-four FMAs.  24 accumulators + 2 b vectors + 1 broadcast fit the 32 zmm registers, and 12
 * rows divide attention's 72-query blocks and the driver's 96 / 48-row blocks of a.  The tile
 * of c is prefetched when the kernel starts (ukr.h).
 *
 * The tall tile, for products one vector wide (a batch of 16×64 @ 64×16, heads of 16):
 * float:  c (16,16) (+)= a (16,k) · b (k,16): 16 zmm accumulators, one vector per row,
 * double: c (16,8)  (+)= a (16,k) · b (k,8).
 * Per step p: one vector load of b, sixteen broadcasts, sixteen FMAs.  A 16×16 product is one
 * tile here, where the 12×32 tile computes 24×32 and AVX2's 6×16 computes 18×16; the cost model
 * (cost.c) picks it per shape, as the level below the wide tile (cpu.c).
 */
#include "avx512.h"
#include "runtime/dispatch.h"
#include "kernels/ukr.h"

#include "tile.h"

/* ukr.h's names for each dtype, defined once for both of its kernels (the 12-row one and the
 * tall one) */
#define SIG(T_, name)                                                                         \
    void name(ptrdiff_t k, const T_ *a, ptrdiff_t rsa, ptrdiff_t csa, const T_ *b,            \
              ptrdiff_t ldb, T_ *c, ptrdiff_t rsc, ptrdiff_t csc, int accumulate)

/* Row i of the tall tile: c_i += a[i] · b0, then its store (or add) to row i of c. */
#define TALL_FMA(i, ai) c##i = FMA(BCAST(ai), b0, c##i);
#define TALL_STORE(i)                                                                         \
    do {                                                                                      \
        if (csc == 1) {                                                                       \
            TY *ci = c + (i) * rsc;                                                           \
            if (accumulate) c##i = ADD(c##i, LOAD(ci));                                       \
            STORE(ci, c##i);                                                                  \
        } else {                                                                              \
            TY t[W];                                                                          \
            STORE(t, c##i);                                                                   \
            for (int j = 0; j < W; j++) {                                                     \
                TY *x = c + (i) * rsc + j * csc;                                              \
                *x = accumulate ? *x + t[j] : t[j];                                           \
            }                                                                                 \
        }                                                                                     \
    } while (0)
#define UKR_BODY_TALL                                                                         \
    VEC c0 = ZERO(), c1 = ZERO(), c2 = ZERO(), c3 = ZERO(), c4 = ZERO(), c5 = ZERO();         \
    VEC c6 = ZERO(), c7 = ZERO(), c8 = ZERO(), c9 = ZERO(), c10 = ZERO(), c11 = ZERO();       \
    VEC c12 = ZERO(), c13 = ZERO(), c14 = ZERO(), c15 = ZERO();                               \
    for (int r = 0; r < 16; r++) CATTN_PREFETCH(c + r * rsc);                                 \
    const TY *a0 = a, *a4 = a + 4 * rsa, *a8 = a + 8 * rsa, *a12 = a + 12 * rsa;              \
    for (ptrdiff_t p = 0; p < k; p++) {                                                       \
        VEC b0 = LOAD(b);                                                                     \
        TALL_FMA(0, *a0) TALL_FMA(1, a0[rsa]) TALL_FMA(2, a0[2 * rsa]) TALL_FMA(3, a0[3 * rsa]) \
        TALL_FMA(4, *a4) TALL_FMA(5, a4[rsa]) TALL_FMA(6, a4[2 * rsa]) TALL_FMA(7, a4[3 * rsa]) \
        TALL_FMA(8, *a8) TALL_FMA(9, a8[rsa]) TALL_FMA(10, a8[2 * rsa])                       \
        TALL_FMA(11, a8[3 * rsa]) TALL_FMA(12, *a12) TALL_FMA(13, a12[rsa])                   \
        TALL_FMA(14, a12[2 * rsa]) TALL_FMA(15, a12[3 * rsa])                                 \
        a0 += csa;                                                                            \
        a4 += csa;                                                                            \
        a8 += csa;                                                                            \
        a12 += csa;                                                                           \
        b += ldb;                                                                             \
    }                                                                                         \
    TALL_STORE(0); TALL_STORE(1); TALL_STORE(2); TALL_STORE(3); TALL_STORE(4); TALL_STORE(5); \
    TALL_STORE(6); TALL_STORE(7); TALL_STORE(8); TALL_STORE(9); TALL_STORE(10);               \
    TALL_STORE(11); TALL_STORE(12); TALL_STORE(13); TALL_STORE(14); TALL_STORE(15);

#define TY float
#define VEC __m512
#define W 16
#define ZERO _mm512_setzero_ps
#define LOAD _mm512_loadu_ps
#define STORE _mm512_storeu_ps
#define BCAST _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
SIG(float, cattn_sgemm_ukr_avx512) { UKR_BODY_12(SNR) }
SIG(float, cattn_sgemm_ukr_avx512_tall) { UKR_BODY_TALL }
#include "kernels/ukr_undef.h"

#define TY double
#define VEC __m512d
#define W 8
#define ZERO _mm512_setzero_pd
#define LOAD _mm512_loadu_pd
#define STORE _mm512_storeu_pd
#define BCAST _mm512_set1_pd
#define FMA _mm512_fmadd_pd
#define ADD _mm512_add_pd
SIG(double, cattn_dgemm_ukr_avx512) { UKR_BODY_12(DNR) }
SIG(double, cattn_dgemm_ukr_avx512_tall) { UKR_BODY_TALL }
#include "kernels/ukr_undef.h"
