/* cpu.c -- the CPU probe and the dispatch table.
 *
 * The table starts with the portable kernels; cattn_init() probes the CPU and overwrites entries
 * with the best level this build and this CPU support.  CATTN_ARCH=ref|avx2|avx512 caps the level.
 * This file is compiled without ISA flags, so nothing AVX runs before the probe says it may.
 */
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

#if defined(CATTN_HAVE_AVX2)
void cattn_kernels_fill_avx2(cattn_kernel_table *t);
#endif
#if defined(CATTN_HAVE_AVX512)
void cattn_kernels_fill_avx512(cattn_kernel_table *t);
#endif

static const cattn_kernel_table ref_table = {
    CATTN_LEVEL_REF,
    CATTN_REF_SMR, CATTN_REF_SNR, cattn_sgemm_ukr_ref,
    CATTN_REF_DMR, CATTN_REF_DNR, cattn_dgemm_ukr_ref,
    cattn_sexp_sum_ref, cattn_dexp_sum_ref,
    cattn_smax_ref, cattn_dmax_ref,
};

cattn_kernel_table cattn_kernels = {
    CATTN_LEVEL_REF,
    CATTN_REF_SMR, CATTN_REF_SNR, cattn_sgemm_ukr_ref,
    CATTN_REF_DMR, CATTN_REF_DNR, cattn_dgemm_ukr_ref,
    cattn_sexp_sum_ref, cattn_dexp_sum_ref,
    cattn_smax_ref, cattn_dmax_ref,
};

static cattn_level best = CATTN_LEVEL_REF;

const char *cattn_level_name(cattn_level level)
{
    switch (level) {
    case CATTN_LEVEL_AVX512: return "avx512";
    case CATTN_LEVEL_AVX2: return "avx2";
    default: return "ref";
    }
}

static cattn_level probe(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
#if defined(CATTN_HAVE_AVX512) && defined(CATTN_EMULATE_AVX512)
    /* a test build: the AVX-512 kernels run on SIMDe's emulation, which needs AVX2 + FMA */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CATTN_LEVEL_AVX512;
#elif defined(CATTN_HAVE_AVX512)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return CATTN_LEVEL_AVX512;
#endif
#if defined(CATTN_HAVE_AVX2)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CATTN_LEVEL_AVX2;
#endif
#endif
    return CATTN_LEVEL_REF;
}

int cattn_set_level(cattn_level level)
{
    if (level < CATTN_LEVEL_REF || level > best) return -1;
    cattn_kernel_table t = ref_table;
#if defined(CATTN_HAVE_AVX2)
    if (level >= CATTN_LEVEL_AVX2) cattn_kernels_fill_avx2(&t);
#endif
#if defined(CATTN_HAVE_AVX512)
    if (level >= CATTN_LEVEL_AVX512) cattn_kernels_fill_avx512(&t);
#endif
    t.level = level;
    cattn_kernels = t;
    return 0;
}

cattn_level cattn_level_best(void) { return best; }
cattn_level cattn_level_current(void) { return cattn_kernels.level; }

/* Probe, then apply CATTN_ARCH: returns 0, or -1 when CATTN_ARCH names no known level (the best
 * level is used then, and the caller may warn). */
int cattn_init(void)
{
    best = probe();
    cattn_level want = best;
    int rc = 0;
    const char *env = getenv("CATTN_ARCH");
    if (env != NULL && env[0] != '\0') {
        if (strcmp(env, "ref") == 0) want = CATTN_LEVEL_REF;
        else if (strcmp(env, "avx2") == 0) want = CATTN_LEVEL_AVX2;
        else if (strcmp(env, "avx512") == 0) want = CATTN_LEVEL_AVX512;
        else rc = -1;
        if (want > best) want = best;  /* never run what the CPU lacks */
    }
    cattn_set_level(want);
    return rc;
}
