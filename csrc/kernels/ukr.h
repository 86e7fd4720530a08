/* kernels/ukr.h -- the pieces the SIMD GEMM microkernels (isa/avx2/gemm.c, isa/avx512/gemm.c,
 * isa/neon/gemm.c) share.
 *
 * A microkernel keeps its tile of c in named vector variables c<i>0, c<i>1 (row i, two vectors of
 * W lanes each): GCC keeps an array of accumulators in memory and stores it on every step, which
 * halves the speed.  The macros use TY (float or double), W (the lanes of a vector) and FMA,
 * ADD, LOAD, STORE (the intrinsics for its vector type), which a kernel defines before it
 * expands them, and the kernel's arguments c, rsc, csc, accumulate.
 */
#ifndef CATTN_UKR_H
#define CATTN_UKR_H

/* Row i of the tile += ai · (b0, b1), ai the broadcast a value of that row. */
#define ROW_FMA(i, ai)                     \
    c##i##0 = FMA(ai, b0, c##i##0);        \
    c##i##1 = FMA(ai, b1, c##i##1);

/* Write (or add) accumulators c<i>0, c<i>1 to row r of c: two vectors when c's row is
 * contiguous, else through a small buffer. */
#define STORE_ROW(i, r)                                                                       \
    do {                                                                                      \
        if (csc == 1) {                                                                       \
            TY *ci = c + (r) * rsc;                                                           \
            if (accumulate) {                                                                 \
                c##i##0 = ADD(c##i##0, LOAD(ci));                                             \
                c##i##1 = ADD(c##i##1, LOAD(ci + W));                                         \
            }                                                                                 \
            STORE(ci, c##i##0);                                                               \
            STORE(ci + W, c##i##1);                                                           \
        } else {                                                                              \
            TY t[2 * W];                                                                      \
            STORE(t, c##i##0);                                                                \
            STORE(t + W, c##i##1);                                                            \
            for (int j = 0; j < 2 * W; j++) {                                                 \
                TY *x = c + (r) * rsc + j * csc;                                              \
                *x = accumulate ? *x + t[j] : t[j];                                           \
            }                                                                                 \
        }                                                                                     \
    } while (0)

/* The tile of c is needed at the end of the kernel: fetch its rows while the kernel runs
 * (measured: 10-20 % faster GEMMs at n >= 1024, where c no longer fits the caches). */
#define PREFETCH_C(rows, NR_)                                                                 \
    for (int r = 0; r < (rows); r++) {                                                        \
        CATTN_PREFETCH(c + r * rsc);                                                            \
        CATTN_PREFETCH(c + r * rsc + ((NR_) - 1) * csc);                                        \
    }


/* The body of a 12-row microkernel (isa/avx512/gemm.c, isa/neon/gemm.c): 24 accumulators, c (12,
 * 2W).  a is read with strides (rsa, csa), in four groups of three rows: a0, a3, a6, a9.  Rows 10
 * and 11 of the tile are named A and B in the accumulators' names.  BCAST takes a value. */
#define UKR_BODY_12(NR_)                                                                      \
    VEC c00 = ZERO(), c01 = ZERO(), c10 = ZERO(), c11 = ZERO(), c20 = ZERO(), c21 = ZERO();   \
    VEC c30 = ZERO(), c31 = ZERO(), c40 = ZERO(), c41 = ZERO(), c50 = ZERO(), c51 = ZERO();   \
    VEC c60 = ZERO(), c61 = ZERO(), c70 = ZERO(), c71 = ZERO(), c80 = ZERO(), c81 = ZERO();   \
    VEC c90 = ZERO(), c91 = ZERO(), cA0 = ZERO(), cA1 = ZERO(), cB0 = ZERO(), cB1 = ZERO();   \
    PREFETCH_C(12, NR_)                                                                       \
    const TY *a0 = a, *a3 = a + 3 * rsa, *a6 = a + 6 * rsa, *a9 = a + 9 * rsa;                \
    for (ptrdiff_t p = 0; p < k; p++) {                                                       \
        VEC b0 = LOAD(b), b1 = LOAD(b + W), ai;                                               \
        ai = BCAST(*a0); ROW_FMA(0, ai)                                                       \
        ai = BCAST(a0[rsa]); ROW_FMA(1, ai)                                                   \
        ai = BCAST(a0[2 * rsa]); ROW_FMA(2, ai)                                               \
        ai = BCAST(*a3); ROW_FMA(3, ai)                                                       \
        ai = BCAST(a3[rsa]); ROW_FMA(4, ai)                                                   \
        ai = BCAST(a3[2 * rsa]); ROW_FMA(5, ai)                                               \
        ai = BCAST(*a6); ROW_FMA(6, ai)                                                       \
        ai = BCAST(a6[rsa]); ROW_FMA(7, ai)                                                   \
        ai = BCAST(a6[2 * rsa]); ROW_FMA(8, ai)                                               \
        ai = BCAST(*a9); ROW_FMA(9, ai)                                                       \
        ai = BCAST(a9[rsa]); ROW_FMA(A, ai)                                                   \
        ai = BCAST(a9[2 * rsa]); ROW_FMA(B, ai)                                               \
        a0 += csa;                                                                            \
        a3 += csa;                                                                            \
        a6 += csa;                                                                            \
        a9 += csa;                                                                            \
        b += ldb;                                                                             \
    }                                                                                         \
    STORE_ROW(0, 0); STORE_ROW(1, 1); STORE_ROW(2, 2); STORE_ROW(3, 3); STORE_ROW(4, 4);      \
    STORE_ROW(5, 5); STORE_ROW(6, 6); STORE_ROW(7, 7); STORE_ROW(8, 8); STORE_ROW(9, 9);      \
    STORE_ROW(A, 10); STORE_ROW(B, 11);

#endif /* CATTN_UKR_H */
