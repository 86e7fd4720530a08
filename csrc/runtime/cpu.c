/* runtime/cpu.c -- the CPU probe and the dispatch table.
 *
 * cattn_init() probes the CPU and builds one table per level this build and this CPU support: the
 * portable kernels, with the AVX2 / AVX-512 or NEON entries written over them.
 * CATTN_ARCH=ref|avx2|avx512|neon caps the level; cattn_set_level changes it later.  Rule that
 * lives here: the default scale.  This file is compiled without ISA flags, so nothing AVX runs
 * before the probe says it may.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"

/* each level's table.c (isa/<level>/): the one place its entries are written */
void cattn_table_fill_avx2(cattn_kernel_table *t);
void cattn_table_fill_avx512(cattn_kernel_table *t);
void cattn_table_fill_avx512_tall(cattn_kernel_table *t);
void cattn_table_fill_avx512bf16(cattn_kernel_table *t);
void cattn_table_fill_neon(cattn_kernel_table *t);

/* One immutable table per level, built once by cattn_init; `active` points at the current one.
 * A call loads the pointer once (cattn_kernels_now) and keeps using that table, so swapping the
 * pointer (cattn_set_level) is safe while calls run: they finish on the level they started with. */
static cattn_kernel_table tables[CATTN_LEVEL_COUNT];
#if defined(CATTN_HAVE_AVX512)
static cattn_kernel_table avx512_tall;  /* AVX-512's 16-row tile: a GEMM choice, not a level */
#endif
static int available[CATTN_LEVEL_COUNT];  /* the levels this CPU and build offer (probe) */
static _Atomic(const cattn_kernel_table *) active = &tables[CATTN_LEVEL_REF];
static cattn_level best = CATTN_LEVEL_REF;

static const cattn_kernel_table ref_table = {
    CATTN_LEVEL_REF,
    CATTN_REF_SMR, CATTN_REF_SNR, cattn_sgemm_ukr_ref,
    CATTN_REF_DMR, CATTN_REF_DNR, cattn_dgemm_ukr_ref,
    cattn_sexp_sum_ref, cattn_dexp_sum_ref,
    cattn_smax_ref, cattn_dmax_ref,
    cattn_sscale_nt_ref, cattn_dscale_nt_ref,
    cattn_sdot_ref, cattn_ddot_ref,
    cattn_ssoftmax_grad_ref, cattn_dsoftmax_grad_ref,
    cattn_stanh_score_ref, cattn_dtanh_score_ref, cattn_stanh_score_grad_ref, cattn_dtanh_score_grad_ref,
    cattn_sdropout_ref, cattn_ddropout_ref,
    cattn_sdot_rows_ref, cattn_ddot_rows_ref, cattn_saxpy_rows_ref, cattn_daxpy_rows_ref,
    cattn_h2f_row_ref, cattn_f2h_row_ref, cattn_b2f_row_ref, cattn_f2b_row_ref,
    cattn_hdot_rows_ref, cattn_bdot_rows_ref, cattn_haxpy_rows_ref, cattn_baxpy_rows_ref,
    0, 0, NULL,
    NULL, CATTN_LEVEL_REF,
};

const char *cattn_level_name(cattn_level level)
{
    switch (level) {
    case CATTN_LEVEL_AVX512: return "avx512";
    case CATTN_LEVEL_AVX2: return "avx2";
    case CATTN_LEVEL_NEON: return "neon";
    default: return "ref";
    }
}

/* What the CPU and the OS offer: AVX2 + FMA + F16C, AVX-512 F + DQ, and AVX512-BF16 (the avx512
 * table's bfloat16 GEMM entry, not a level of its own; x86-64 only) */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
static int has_f16c(void)  /* F16C: CPUID leaf 1, ECX bit 29 (every AVX2 CPU has it) */
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1u);
}
static int has_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
}
static int has_avx512(void)
{
    return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}
static int has_avx512bf16(void)  /* AVX512-BF16: CPUID leaf 7 subleaf 1, EAX bit 5 */
{
    unsigned a, b, c, d;
    return has_avx512() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1u);
}
#elif defined(_MSC_VER) && defined(_M_X64)
#include <intrin.h>
static int cpuid_bit(int leaf, int reg, int bit)
{
    int r[4];
    __cpuidex(r, leaf, 0);
    return (r[reg] >> bit) & 1;
}
static int has_avx2(void)  /* OSXSAVE, the OS saving the ymm state, AVX, FMA, AVX2 */
{
    return cpuid_bit(1, 2, 27) && (_xgetbv(0) & 6) == 6 && cpuid_bit(1, 2, 28) &&
           cpuid_bit(1, 2, 12) && cpuid_bit(7, 1, 5) && cpuid_bit(1, 2, 29); /* ... and F16C */
}
static int has_avx512(void)  /* and the opmask and zmm state, AVX-512 F, DQ */
{
    return has_avx2() && (_xgetbv(0) & 0xe6) == 0xe6 && cpuid_bit(7, 1, 16) && cpuid_bit(7, 1, 17);
}
static int has_avx512bf16(void)  /* AVX512-BF16: leaf 7 subleaf 1, EAX bit 5 */
{
    int r[4];
    __cpuidex(r, 7, 1);
    return has_avx512() && (r[0] >> 5 & 1);
}
#else
static int has_avx2(void) { return 0; }
static int has_avx512(void) { return 0; }
static int has_avx512bf16(void) { return 0; }
#endif

/* Mark the levels this CPU and build offer; returns the best of them.  x86-64: ref, then AVX2,
 * then AVX-512, each needing the one before.  ARM64: ref and NEON, which every ARM64 CPU has. */
static cattn_level probe(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
#endif
    cattn_level top = CATTN_LEVEL_REF;
    available[CATTN_LEVEL_REF] = 1;
#if defined(CATTN_HAVE_AVX2)
    if (has_avx2()) available[CATTN_LEVEL_AVX2] = 1, top = CATTN_LEVEL_AVX2;
#endif
#if defined(CATTN_HAVE_AVX512) && defined(CATTN_EMULATE_AVX512)
    /* a test build: the AVX-512 kernels run on SIMDe's emulation, which needs AVX2 + FMA */
    if (has_avx2()) available[CATTN_LEVEL_AVX512] = 1, top = CATTN_LEVEL_AVX512;
#elif defined(CATTN_HAVE_AVX512)
    if (has_avx512()) available[CATTN_LEVEL_AVX512] = 1, top = CATTN_LEVEL_AVX512;
#endif
#if defined(CATTN_HAVE_NEON) && defined(CATTN_EMULATE_NEON)
    /* a test build on x86-64: SIMDe's NEON, compiled for AVX2 + FMA; the default level, so that
     * the suite runs it */
    if (has_avx2()) available[CATTN_LEVEL_NEON] = 1, top = CATTN_LEVEL_NEON;
#elif defined(CATTN_HAVE_NEON)
    available[CATTN_LEVEL_NEON] = 1, top = CATTN_LEVEL_NEON;  /* every ARM64 CPU */
#endif
    (void)has_avx2, (void)has_avx512, (void)has_avx512bf16;
    return top;
}

const cattn_kernel_table *cattn_kernels_now(void)
{
    return atomic_load_explicit(&active, memory_order_acquire);
}

int cattn_set_level(cattn_level level)
{
    if (level < CATTN_LEVEL_REF || level >= CATTN_LEVEL_COUNT || !available[level]) return -1;
    atomic_store_explicit(&active, &tables[level], memory_order_release);
    return 0;
}

cattn_level cattn_level_best(void) { return best; }
const cattn_kernel_table *cattn_kernels_of(cattn_level level)
{
    return level >= CATTN_LEVEL_REF && level < CATTN_LEVEL_COUNT && available[level] ? &tables[level]
                                                                                     : NULL;
}
int cattn_level_available(cattn_level level) { return cattn_kernels_of(level) != NULL; }
cattn_level cattn_level_current(void) { return cattn_kernels_now()->level; }

/* Probe, build the tables, then apply CATTN_ARCH: returns 0, or -1 when CATTN_ARCH names no
 * known level (the best level is used then, and the caller may warn).  Runs once, at import,
 * before any kernel (the module's init holds the import lock). */
int cattn_init(void)
{
    static int done = 0, rc = 0;
    if (done) return rc;
    best = probe();
    for (int l = CATTN_LEVEL_REF; l < CATTN_LEVEL_COUNT; l++) {
        if (!available[l]) continue;
        cattn_kernel_table t = ref_table;  /* the portable kernels, each level's written over */
#if defined(CATTN_HAVE_AVX2)
        if (l == CATTN_LEVEL_AVX2 || l == CATTN_LEVEL_AVX512)
            cattn_table_fill_avx2(&t);
#endif
#if defined(CATTN_HAVE_AVX512)
        if (l == CATTN_LEVEL_AVX512)
            cattn_table_fill_avx512(&t);
#endif
#if defined(CATTN_HAVE_AVX512BF16) && defined(CATTN_EMULATE_AVX512)
        if (l == CATTN_LEVEL_AVX512) cattn_table_fill_avx512bf16(&t);  /* SIMDe's, as above */
#elif defined(CATTN_HAVE_AVX512BF16)
        if (l == CATTN_LEVEL_AVX512 && has_avx512bf16()) cattn_table_fill_avx512bf16(&t);
#endif
#if defined(CATTN_HAVE_NEON)
        if (l == CATTN_LEVEL_NEON) cattn_table_fill_neon(&t);
#endif
        t.level = (cattn_level)l;
        t.tile = l;
        tables[l] = t;
    }
    /* the cost model's chain of GEMM tiles, widest first (cost.c, cattn_gemm_table): AVX-512's
     * 12×32, its 16-row one-vector tile, AVX2's 6×16 */
#if defined(CATTN_HAVE_AVX512)
    if (available[CATTN_LEVEL_AVX512]) {
        avx512_tall = tables[CATTN_LEVEL_AVX512];
        cattn_table_fill_avx512_tall(&avx512_tall);
        avx512_tall.tile = CATTN_TILE_AVX512_TALL;
        avx512_tall.narrow = &tables[CATTN_LEVEL_AVX2];
        tables[CATTN_LEVEL_AVX512].narrow = &avx512_tall;
    }
#endif
    cattn_threads_set_rate_source(cattn_work_rate);  /* threads pay by time, not by flops */
    cattn_level want = best;
    const char *env = getenv("CATTN_ARCH");
    if (env != NULL && env[0] != '\0') {
        int known = 0;
        for (int l = CATTN_LEVEL_REF; l < CATTN_LEVEL_COUNT; l++)
            if (strcmp(env, cattn_level_name((cattn_level)l)) == 0) want = (cattn_level)l, known = 1;
        if (!known) rc = -1;
        /* never run what the CPU lacks: an x86 level it lacks falls to the next one down it has
         * (ref on ARM64), neon on x86-64 to the best */
        if (want == CATTN_LEVEL_NEON && !available[want]) want = best;
        while (!available[want]) want = (cattn_level)(want - 1);  /* ref always is */
    }
    cattn_set_level(want);
    done = 1;
    return rc;
}
