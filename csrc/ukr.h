/* ukr.h -- the pieces the SIMD GEMM microkernels (gemm_avx2.c, gemm_avx512.c, gemm_neon.c) share.
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
        UKR_PREFETCH(c + r * rsc);                                                            \
        UKR_PREFETCH(c + r * rsc + ((NR_) - 1) * csc);                                        \
    }

/* a hint to fetch p's cache line into L1, for each compiler and architecture */
#if defined(__GNUC__) || defined(__clang__)
#define UKR_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#elif defined(_MSC_VER) && defined(_M_ARM64)
#define UKR_PREFETCH(p) __prefetch((const void *)(p))
#elif defined(_MSC_VER)
#include <immintrin.h>
#define UKR_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#else
#define UKR_PREFETCH(p) ((void)(p))
#endif

#endif /* CATTN_UKR_H */
