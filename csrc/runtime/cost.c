/* runtime/cost.c -- the cost model every per-shape choice goes through: time = padded work ÷
 * measured rate.
 *
 * rate:  the multiply-adds per nanosecond of a tile's GEMM microkernel, float and double, on
 *        operands in L1: measured once per process, lazily (the first choice that needs it), in
 *        a few trials of about 20 µs per (tile, dtype) -- or injected (cattn_set_gemm_rate, for
 *        tests).
 * time:  a product (m,n,k) on a table costs ceil(m/MR)·MR · ceil(n/NR)·NR · k ÷ rate: the work
 *        of whole tiles, edges padded, at that tile's speed.
 *
 * Choices made with it (each per call, from the shapes):
 *   0. bfloat16 products (cattn_bgemm_pays): the pair tile of AVX512-BF16 (vdpbf16ps), at its
 *      own measured rate, against the float32 tile the product would take after converting.
 *   1. the GEMM tile (cattn_gemm_table): along a level's chain of tiles (AVX-512's 12×32, its
 *      16-row one-vector tile, then AVX2's 6×16), the one that costs least, each tile at its own
 *      measured rate.  Whether a 512-bit FMA does the work of one 256-bit FMA
 *      or two is the CPU's (two on Zen 4, one on Zen 5 and Intel server cores): measured here,
 *      never guessed.  Every tile sums each element in the same order (k blocks of the same
 *      size, one FMA per step), so the choice changes the speed, never the bits.
 *   2. the threads (threads.c asks cattn_work_rate): a call's float32 flops ÷ (2 · the active
 *      level's float rate) is its time, and a second thread pays when each gets ≥ 10 µs.
 * Rule that lives here: how a level's speed is measured and compared.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#endif
#include <stdatomic.h>
#include <string.h>
#include "dispatch.h"

#if defined(_WIN32)
#include <windows.h>
static double now_ns(void)
{
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart * 1e9 / (double)f.QuadPart;
}
#else
#include <time.h>
static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}
#endif

/* rates[tile][CATTN_RATE_F32, _F64, _BF16]: 0 until measured (or injected); tile: a level's main tile,
 * or one of its other tiles (dispatch.h, CATTN_TILE_*) */
static _Atomic double rates[CATTN_TILE_COUNT][3];

#define RATE_K 96          /* the microkernel's k: a and b take 5-21 KiB, in any L1 */
#define RATE_TRIALS 7      /* the best of 7 trials ...                                      */
#define RATE_TRIAL_NS 2e4  /* ... of about 20 µs each: about 0.16 ms per (tile, dtype), 1.1 ms
                            * for AVX-512's three tiles in float32, float64 and bfloat16 */

/* One microkernel and dtype being timed: its operands (a, b: small values, no overflow, no
 * denormals; c), the calls per trial (reps) and the best rate so far. */
typedef struct {
    const cattn_kernel_table *kt;
    int dbl;  /* CATTN_RATE_* */
    ptrdiff_t mr, nr, k;
    char *buf, *a, *b, *c;
    long reps;
    double best;
} rate_trial;

/* 0, or -1 when out of memory */
static int trial_init(rate_trial *t, const cattn_kernel_table *kt, int dbl)
{
    const int bf = dbl == CATTN_RATE_BF16;
    t->kt = kt, t->dbl = dbl, t->reps = 1, t->best = 0;
    t->mr = bf ? kt->bmr : dbl ? kt->dmr : kt->smr;
    t->nr = bf ? kt->bnr : dbl ? kt->dnr : kt->snr, t->k = bf ? RATE_K / 2 : RATE_K;
    const size_t size = dbl == CATTN_RATE_F64 ? sizeof(double) : sizeof(float);  /* a word */
    const size_t na = (size_t)(t->mr * t->k), nb = (size_t)(t->k * t->nr);
    const size_t nc = (size_t)(t->mr * t->nr);
    t->buf = cattn_alloc_aligned((na + nb + nc) * size + 128);
    if (t->buf == NULL) return -1;
    t->a = t->buf, t->b = t->a + ((na * size + 63) & ~(size_t)63);
    t->c = t->b + ((nb * size + 63) & ~(size_t)63);
    for (size_t i = 0; i < na + nb; i++) {
        char *x = i < na ? t->a : t->b;
        size_t j = i < na ? i : i - na;
        if (bf) {  /* pairs of 0.5 .. 1.25 in bfloat16 */
            uint32_t h = 0x3f00u + (uint32_t)(i % 7) * 0x20u;
            ((uint32_t *)x)[j] = h | h << 16;
        } else if (dbl) {
            ((double *)x)[j] = 0.5 + (double)(i % 7) * 0.125;
        } else {
            ((float *)x)[j] = 0.5f + (float)(i % 7) * 0.125f;
        }
    }
    memset(t->c, 0, nc * size);
    return 0;
}

/* ns for t->reps calls of the microkernel.  The bfloat16 pair tile takes RATE_K / 2 pairs: the
 * same multiply-adds. */
static double trial_run(const rate_trial *t)
{
    const cattn_kernel_table *kt = t->kt;
    double t0 = now_ns();
    for (long r = 0; r < t->reps; r++) {
        if (t->dbl == CATTN_RATE_BF16)
            kt->bgemm_ukr(t->k, (const uint32_t *)t->a, 1, t->mr, (const uint32_t *)t->b,
                          (float *)t->c, t->nr, 1, r > 0);
        else if (t->dbl)
            kt->dgemm_ukr(RATE_K, (const double *)t->a, 1, t->mr, (const double *)t->b, t->nr,
                          (double *)t->c, t->nr, 1, r > 0);
        else
            kt->sgemm_ukr(RATE_K, (const float *)t->a, 1, t->mr, (const float *)t->b, t->nr,
                          (float *)t->c, t->nr, 1, r > 0);
    }
    return now_ns() - t0;
}

/* Measure every microkernel and dtype of the tiles chain[0..n) together, in turns: two sizing
 * runs each, then RATE_TRIALS rounds in which each is timed once, the best of its rounds kept.
 * The rates a choice compares were measured side by side, so a slow spell of the machine (a
 * neighbour on the core, a frequency step) slows them all alike instead of one.  Timed one after
 * the other, with a neighbour busy, 2 processes in 6 measured AVX2's tile 17-37 % low, and one
 * profiled float16 training step ran every projection on AVX2's slower tile; side by side, 6 in
 * 6 agreed within 1 %.  Each rate is stored where none is yet (an injected one stays). */
#define RATE_GROUP 4 /* tiles in a chain, at most */
static void measure_together(const cattn_kernel_table *const *chain, int n)
{
    rate_trial t[RATE_GROUP * 3];
    int m = 0;
    for (int i = 0; i < n && i < RATE_GROUP; i++)
        for (int dbl = CATTN_RATE_F32; dbl <= CATTN_RATE_BF16; dbl++) {
            /* the pair tile once, with its level's table (a level's other tiles share it) */
            if (dbl == CATTN_RATE_BF16 && (chain[i]->bgemm_ukr == NULL ||
                                           chain[i]->tile != (int)chain[i]->level))
                continue;
            if (trial_init(&t[m], chain[i], dbl) == 0) m++;
        }
    for (int pass = 0; pass < 2; pass++)  /* size reps: about RATE_TRIAL_NS a trial */
        for (int i = 0; i < m; i++) {
            double dt = trial_run(&t[i]);
            t[i].reps = dt > 0 ? (long)(RATE_TRIAL_NS * (double)t[i].reps / dt) + 1 : 64;
            if (t[i].reps > 4096) t[i].reps = 4096;
        }
    for (int round = 0; round < RATE_TRIALS; round++)
        for (int i = 0; i < m; i++) {
            double dt = trial_run(&t[i]);
            double rate = dt > 0 ? (double)t[i].reps * (double)(t[i].mr * t[i].nr * RATE_K) / dt
                                 : 0;
            if (rate > t[i].best) t[i].best = rate;
        }
    for (int i = 0; i < m; i++) {
        double zero = 0, r = t[i].best > 0 ? t[i].best : 1;  /* no clock: any positive rate */
        atomic_compare_exchange_strong(&rates[t[i].kt->tile][t[i].dbl], &zero, r);
        cattn_free_aligned(t[i].buf);
    }
}

/* The tiles measured together with kt: the chain of the best level's table when kt is in it
 * (AVX-512's 12x32, its 16-row tile, AVX2's 6x16: every tile a choice compares), else kt's own
 * chain (ref; a level below the best, chosen by CATTN_ARCH). */
static int rate_group(const cattn_kernel_table *kt, const cattn_kernel_table **chain)
{
    const cattn_kernel_table *top = cattn_kernels_of(cattn_level_best());
    int n = 0, in = 0;
    for (const cattn_kernel_table *t = top; t != NULL && n < RATE_GROUP; t = t->narrow)
        in |= t == kt, chain[n++] = t;
    if (!in) {
        n = 0;
        for (const cattn_kernel_table *t = kt; t != NULL && n < RATE_GROUP; t = t->narrow)
            chain[n++] = t;
    }
#if defined(CATTN_EMULATE_AVX512)
    int kept = 0;  /* SIMDe's AVX-512 is modelled, never measured (cattn_gemm_rate) */
    for (int i = 0; i < n; i++)
        if (chain[i]->level != CATTN_LEVEL_AVX512) chain[kept++] = chain[i];
    n = kept;
#endif
    return n;
}

double cattn_gemm_rate(const cattn_kernel_table *kt, int dbl)
{
    _Atomic double *slot = &rates[kt->tile][dbl];
    double r = atomic_load_explicit(slot, memory_order_relaxed);
    if (r > 0) return r;
#if defined(CATTN_EMULATE_AVX512)
    /* a test build: SIMDe's AVX-512 runs at a tenth of the CPU's speed, which says nothing of a
     * real AVX-512 CPU.  It is modelled as a Zen 4 (the AVX2 tile's rate), so that the emulated
     * level takes the tiles a real one takes and its tests run the AVX-512 microkernel. */
    if (kt->level == CATTN_LEVEL_AVX512 && dbl == CATTN_RATE_BF16)
        return kt->bgemm_ukr != NULL ? 2 * cattn_gemm_rate(kt, CATTN_RATE_F32) : 0;
    if (kt->level == CATTN_LEVEL_AVX512) {
        const cattn_kernel_table *t = kt->narrow;
        while (t != NULL && t->level == CATTN_LEVEL_AVX512) t = t->narrow;
        if (t != NULL) return cattn_gemm_rate(t, dbl);
    }
#endif
    if (dbl == CATTN_RATE_BF16 && kt->bgemm_ukr == NULL) return 0;  /* no such kernel */
    const cattn_kernel_table *chain[RATE_GROUP];
    measure_together(chain, rate_group(kt, chain));
    r = atomic_load_explicit(slot, memory_order_relaxed);
    if (r > 0) return r;  /* (the first measurement wins: every later choice sees one rate) */
    double zero = 0;      /* kt not measured (out of memory): any positive rate */
    return atomic_compare_exchange_strong(slot, &zero, 1.0) ? 1.0 : zero;
}

double cattn_gemm_rate_known(const cattn_kernel_table *kt, int dbl)
{
    return atomic_load_explicit(&rates[kt->tile][dbl], memory_order_relaxed);
}

void cattn_set_gemm_rate(cattn_level level, int tile, int all_tiles, int dbl, double rate)
{
    if (level < CATTN_LEVEL_REF || level >= CATTN_LEVEL_COUNT || tile < 0 || tile >= CATTN_TILE_COUNT)
        return;
    rate = rate > 0 ? rate : 0;  /* 0: measure again */
    if (dbl < 0 || dbl > CATTN_RATE_BF16) return;
    atomic_store(&rates[tile][dbl], rate);
    if (all_tiles && level == CATTN_LEVEL_AVX512 && dbl != CATTN_RATE_BF16)  /* and its others */
        atomic_store(&rates[CATTN_TILE_AVX512_TALL][dbl], rate);
}

double cattn_tile_cost(ptrdiff_t mr, ptrdiff_t nr, double rate, ptrdiff_t m, ptrdiff_t n,
                       ptrdiff_t k)
{
    double pm = (double)((m + mr - 1) / mr * mr), pn = (double)((n + nr - 1) / nr * nr);
    return pm * pn * (double)(k > 0 ? k : 1) / rate;
}

const cattn_kernel_table *cattn_gemm_table(const cattn_kernel_table *kt, int dbl, ptrdiff_t m,
                                           ptrdiff_t n, ptrdiff_t k)
{
    const cattn_kernel_table *best = kt;
    double least = 0;
    for (const cattn_kernel_table *t = kt; t != NULL; t = t->narrow) {  /* widest first */
        double cost = cattn_tile_cost(dbl ? t->dmr : t->smr, dbl ? t->dnr : t->snr,
                                      cattn_gemm_rate(t, dbl), m, n, k);
        if (t == kt || cost < least) best = t, least = cost;  /* a tie goes to the wider tile */
    }
    return best;
}

int cattn_bgemm_pays(const cattn_kernel_table *kt, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k)
{
    if (kt->bgemm_ukr == NULL) return 0;
    const cattn_kernel_table *t = cattn_gemm_table(kt, 0, m, n, k);
    double f32 = cattn_tile_cost(t->smr, t->snr, cattn_gemm_rate(t, CATTN_RATE_F32), m, n, k);
    double bf = cattn_tile_cost(kt->bmr, kt->bnr, cattn_gemm_rate(kt, CATTN_RATE_BF16), m, n,
                                (k + 1) / 2 * 2);
    return bf < f32;
}

/* threads.c's measure of speed: float32 flops per ns of the active level */
double cattn_work_rate(void) { return 2.0 * cattn_gemm_rate(cattn_kernels_now(), 0); }
