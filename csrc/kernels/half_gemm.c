/* kernels/half_gemm.c -- matrix multiplication over float16 (h) or bfloat16 (b) operands, read as
 * half: converted while b is packed and while a's rows are loaded, multiplied by the float32
 * microkernels, accumulated in float32 and rounded once as c is stored.
 *
 *   c (m,n) = a (m,k) · b (k,n),  all three half; c_ij = half(Σ_p float(a_ip)·float(b_pj))
 *
 * The float32 sums are those of the float32 GEMM on the converted operands (the same tile and
 * the same k blocks), so c has the bits of that product rounded to half -- without a float32
 * copy of a, b or c: a block of columns of b lives packed (as the float32 driver packs it), a
 * block of rows of a and its block of c live in this thread's buffers.
 *
 * bfloat16 on a CPU with a bfloat16 dot product (the table's bgemm_ukr, AVX512-BF16's
 * vdpbf16ps) takes the pair tile instead when the cost model says it is sooner
 * (cattn_bgemm_pays): a and b are not converted at all, only packed as 32-bit words of two
 * neighbours along k, and the microkernel multiplies pairs into float32 sums at twice the float32
 * tile's rate.  Its sums add two products per step, so they are not the float32 GEMM's bits:
 * within a float32 rounding per pair of k (the tests hold it to float64 references from the
 * same bfloat16 inputs).
 */
#include <stdlib.h>
#include "runtime/dispatch.h"
#include "half.h"

#define HG_MC 96  /* rows of a and c per block: a multiple of every microkernel height */
#define HG_NC 512 /* columns of b packed at a time: k x 512 floats */
#define HG_SMALL 16384 /* a product whose a, b and c fit this many floats: this thread's buffer */
#define HG_BKC 512     /* k per block of the pair tile: kc/2 words per row of a panel, as many
                        * bytes as the float32 driver's KC floats */
static CATTN_THREAD_LOCAL float small_buf[HG_SMALL];

/* Pack b (k,n), half, as float panels of nr columns (the layout of cattn_sgemm_pack_b: panel c
 * holds b[p, c*nr + j] at [c*nr*k + p*nr + j], zero-padded), converting on the way; `row` is
 * scratch of max(k, n) floats.  Contiguous rows or columns convert a run at a time. */
void cattn_half_pack_b(float *bp, const cattn_half *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t k,
                       ptrdiff_t n, int bf16, float *row, const cattn_kernel_table *kt)
{
    const ptrdiff_t nr = kt->snr, np = (n + nr - 1) / nr;
    if (rsb == 1 && csb != 1) {  /* columns contiguous (kᵀ of a row-major k): a column at a time */
        for (ptrdiff_t j = 0; j < np * nr; j++) {
            float *dst = bp + (j / nr) * nr * k + j % nr;
            if (j < n) {
                cattn_half_to_float(row, b + j * csb, 1, k, bf16, kt);
                for (ptrdiff_t p = 0; p < k; p++) dst[p * nr] = row[p];
            } else {
                for (ptrdiff_t p = 0; p < k; p++) dst[p * nr] = 0;
            }
        }
        return;
    }
    for (ptrdiff_t p = 0; p < k; p++) {  /* a row at a time */
        cattn_half_to_float(row, b + p * rsb, csb, n, bf16, kt);
        for (ptrdiff_t c = 0; c < np; c++) {
            float *dst = bp + c * nr * k + p * nr;
            const ptrdiff_t cols = n - c * nr < nr ? n - c * nr : nr;
            for (ptrdiff_t j = 0; j < cols; j++) dst[j] = row[c * nr + j];
            for (ptrdiff_t j = cols; j < nr; j++) dst[j] = 0;
        }
    }
}

/* ---- bfloat16 pairs along k (the bgemm_ukr tile) ------------------------------------------- */

/* the 32-bit word of two bfloat16 neighbours along k: x at 2p (low half), y at 2p+1 */
static inline uint32_t pair(cattn_half x, cattn_half y) { return (uint32_t)x | (uint32_t)y << 16; }

/* b (kc,nc) as panels of nr columns of pairs: panel c holds word p·nr + j = (b[2p, c·nr+j],
 * b[2p+1, c·nr+j]), kp = ceil(kc/2) words per column, zero-padded (odd kc, the last panel). */
void cattn_pack_b_pairs(uint32_t *bp, const cattn_half *b, ptrdiff_t rsb, ptrdiff_t csb,
                         ptrdiff_t kc, ptrdiff_t nc, ptrdiff_t nr)
{
    const ptrdiff_t kp = (kc + 1) / 2;
    for (ptrdiff_t c0 = 0; c0 < nc; c0 += nr) {
        uint32_t *dst = bp + c0 * kp;
        const ptrdiff_t cols = nc - c0 < nr ? nc - c0 : nr;
        for (ptrdiff_t p = 0; p < kp; p++, dst += nr) {
            const cattn_half *r0 = b + 2 * p * rsb + c0 * csb, *r1 = r0 + rsb;
            const int last = 2 * p + 1 >= kc;  /* an odd kc's last row pairs with zero */
            for (ptrdiff_t j = 0; j < cols; j++) dst[j] = pair(r0[j * csb], last ? 0 : r1[j * csb]);
            for (ptrdiff_t j = cols; j < nr; j++) dst[j] = 0;
        }
    }
}

/* a (mc,kc) as panels of mr rows of pairs: panel i holds word p·mr + r = (a[i·mr+r, 2p],
 * a[i·mr+r, 2p+1]), zero-padded. */
void cattn_pack_a_pairs(uint32_t *ap, const cattn_half *a, ptrdiff_t rsa, ptrdiff_t csa,
                         ptrdiff_t mc, ptrdiff_t kc, ptrdiff_t mr)
{
    const ptrdiff_t kp = (kc + 1) / 2, mp = (mc + mr - 1) / mr * mr;
    for (ptrdiff_t i = 0; i < mp; i++) {
        uint32_t *dst = ap + (i / mr) * mr * kp + i % mr;
        if (i >= mc) {
            for (ptrdiff_t p = 0; p < kp; p++) dst[p * mr] = 0;
            continue;
        }
        const cattn_half *row = a + i * rsa;
        for (ptrdiff_t p = 0; p < kc / 2; p++)
            dst[p * mr] = pair(row[2 * p * csa], row[(2 * p + 1) * csa]);
        if (kc % 2) dst[(kp - 1) * mr] = pair(row[(kc - 1) * csa], 0);
    }
}

/* c (mc,nc) (+)= a · packed b, kp pairs: the pair tile over whole tiles, the edges through a
 * tile of scratch; a packed (rsa 1, csa mr) or rows in place (csa 1), b's panels bps words apart
 * (nr·kp when packed for this product). */
void cattn_bgemm_macro(float *c, ptrdiff_t ldc, const uint32_t *a, ptrdiff_t rsa, ptrdiff_t csa,
                       const uint32_t *bp, ptrdiff_t bps, ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kp,
                       int accumulate, const cattn_kernel_table *kt)
{
    const ptrdiff_t mr = kt->bmr, nr = kt->bnr;
    float edge[CATTN_MAX_MR * CATTN_MAX_NR];
    for (ptrdiff_t j = 0; j < nc; j += nr) {
        const ptrdiff_t cols = nc - j < nr ? nc - j : nr;
        for (ptrdiff_t i = 0; i < mc; i += mr) {
            const ptrdiff_t rows = mc - i < mr ? mc - i : mr;
            float *cij = c + i * ldc + j;
            const uint32_t *bj = bp + j / nr * bps, *ai = a + (csa == 1 ? i * rsa : i * kp);
            if (rows == mr && cols == nr) {
                kt->bgemm_ukr(kp, ai, rsa, csa, bj, cij, ldc, 1, accumulate);
                continue;
            }
            kt->bgemm_ukr(kp, ai, rsa, csa, bj, edge, nr, 1, 0);
            for (ptrdiff_t ii = 0; ii < rows; ii++)
                for (ptrdiff_t jj = 0; jj < cols; jj++)
                    cij[ii * ldc + jj] = accumulate ? cij[ii * ldc + jj] + edge[ii * nr + jj]
                                                    : edge[ii * nr + jj];
        }
    }
}

/* ---- the blocked driver ------------------------------------------------------------------ */

typedef struct {
    int bf16, failed;
    int pairs;  /* 1: the bfloat16 pair tile (bp holds words, blocks of HG_BKC rows) */
    int io;     /* CATTN_HG_A_FLOAT: a is float32; CATTN_HG_C_FLOAT: c is float32 */
    void *c;
    const void *a;
    const void *bp;  /* columns jc..jc+nc-1 of b, packed block after block of KC rows, */
    ptrdiff_t np;    /* ... each row of a block np floats (nc rounded up to whole panels),
                      * or with pairs: blocks of HG_BKC rows, np words per pair of rows */
    ptrdiff_t rsc, csc, rsa, csa, m, jc, nc, k;
    const cattn_kernel_table *kt;
} half_gemm_job;

/* Row blocks lo..hi-1 (of HG_MC rows) of c's columns jc..jc+nc-1, each through a float block of
 * c in this thread's buffer, over the blocks along k:
 * 1. the block of a to floats, packed in panels (pairs: packed as words, not converted);
 * 2. the microkernels add its product with the packed block of b (the float32 driver's loops
 *    and order, or the pair tile's); 3. c's block rounded into c. */
static void half_gemm_rows(void *ctx, ptrdiff_t lo, ptrdiff_t hi)
{
    half_gemm_job *j = ctx;
    const cattn_kernel_table *kt = j->kt;
    const ptrdiff_t KC = j->pairs ? HG_BKC : CATTN_GEMM_KC, kc0 = j->k < KC ? j->k : KC;
    const ptrdiff_t mc0 = j->m < HG_MC ? j->m : HG_MC;
    /* a's panels (floats, or words: kc0/2 + 1 of them per row) and its rows as floats */
    const size_t na = (size_t)(mc0 + CATTN_MAX_MR) * (size_t)kc0;
    const size_t nt = j->pairs ? 0 : (size_t)mc0 * (size_t)kc0;
    float *ap = cattn_alloc_aligned((na + nt + (size_t)mc0 * (size_t)j->nc) * sizeof(float));
    if (ap == NULL) {
        j->failed = 1;
        return;
    }
    float *at = ap + na, *cf = at + nt;
    for (ptrdiff_t blk = lo; blk < hi && !cattn_stop_requested(); blk++) {
        const ptrdiff_t i0 = blk * HG_MC, mc = j->m - i0 < HG_MC ? j->m - i0 : HG_MC;
        for (ptrdiff_t pc = 0; pc < j->k; pc += KC) {
            const ptrdiff_t kc = j->k - pc < KC ? j->k - pc : KC;
            const ptrdiff_t off = i0 * j->rsa + pc * j->csa;
            const cattn_half *ai = (const cattn_half *)j->a + off;
            if (j->io & CATTN_HG_A_FLOAT) {  /* float rows: packed as the float32 driver does */
                cattn_sgemm_pack_a(ap, (const float *)j->a + off, j->rsa, j->csa, mc, kc, kt);
                cattn_sgemm_macro(cf, j->nc, 1, ap, (const float *)j->bp + pc * j->np, mc, j->nc,
                                  kc, pc > 0, kt);
                continue;
            }
            if (j->pairs) {
                const ptrdiff_t kp = (kc + 1) / 2;
                cattn_pack_a_pairs((uint32_t *)ap, ai, j->rsa, j->csa, mc, kc, kt->bmr);
                cattn_bgemm_macro(cf, j->nc, (const uint32_t *)ap, 1, kt->bmr,
                                  (const uint32_t *)j->bp + pc / 2 * j->np, kt->bnr * kp, mc,
                                  j->nc, kp, pc > 0, kt);
                continue;
            }
            for (ptrdiff_t i = 0; i < mc; i++)
                cattn_half_to_float(at + i * kc, ai + i * j->rsa, j->csa, kc, j->bf16, kt);
            cattn_sgemm_pack_a(ap, at, kc, 1, mc, kc, kt);
            cattn_sgemm_macro(cf, j->nc, 1, ap, (const float *)j->bp + pc * j->np, mc, j->nc, kc,
                              pc > 0, kt);
        }
        const ptrdiff_t coff = i0 * j->rsc + j->jc * j->csc;
        for (ptrdiff_t i = 0; i < mc; i++) {
            const float *row = cf + i * j->nc;
            if (j->io & CATTN_HG_C_FLOAT) {
                float *ci = (float *)j->c + coff + i * j->rsc;
                for (ptrdiff_t x = 0; x < j->nc; x++) ci[x * j->csc] = row[x];
            } else {
                cattn_float_to_half((cattn_half *)j->c + coff + i * j->rsc, j->csc, row, j->nc,
                                    j->bf16, kt);
            }
        }
    }
    cattn_free_aligned(ap);
}

/* 0, or -1 when out of memory. */
int cattn_half_gemm_kt(int bf16, cattn_half *c, ptrdiff_t rsc, ptrdiff_t csc, const cattn_half *a,
                       ptrdiff_t rsa, ptrdiff_t csa, const cattn_half *b, ptrdiff_t rsb,
                       ptrdiff_t csb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                       const cattn_kernel_table *kt)
{
    return cattn_half_gemm_io(bf16, 0, c, rsc, csc, a, rsa, csa, b, rsb, csb, m, n, k, kt);
}

int cattn_half_gemm_io(int bf16, int io, void *c, ptrdiff_t rsc, ptrdiff_t csc, const void *a,
                       ptrdiff_t rsa, ptrdiff_t csa, const cattn_half *b, ptrdiff_t rsb,
                       ptrdiff_t csb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                       const cattn_kernel_table *kt)
{
    const int a_float = io & CATTN_HG_A_FLOAT, c_float = io & CATTN_HG_C_FLOAT;
    if (m <= 0 || n <= 0) return 0;
    if (k <= 0) {  /* an empty sum */
        for (ptrdiff_t i = 0; i < m; i++)
            for (ptrdiff_t j = 0; j < n; j++) {
                if (c_float) ((float *)c)[i * rsc + j * csc] = 0;
                else ((cattn_half *)c)[i * rsc + j * csc] = 0;
            }
        return 0;
    }
    const int small = (double)m * (double)k + (double)k * (double)n + (double)m * (double)n <=
                      HG_SMALL;
    const int pairs = bf16 && !a_float && !small && cattn_bgemm_pays(kt, m, n, k);  /* cost.c */
    if (!pairs) kt = cattn_gemm_table(kt, 0, m, n, k);  /* the float32 product's tile (cost.c) */
    if (small) {
        /* small (a batch of heads' products): a, b and c as floats in this thread's buffer (a
         * and c in place when they are float32), and the float32 driver, which reads them in
         * place */
        float *fa = small_buf, *fb = fa + m * k, *fc = fb + k * n;
        const float *ta = fa;
        ptrdiff_t ra = k, ca = 1;
        if (a_float) {
            ta = a, ra = rsa, ca = csa;
        } else {
            for (ptrdiff_t i = 0; i < m; i++)
                cattn_half_to_float(fa + i * k, (const cattn_half *)a + i * rsa, csa, k, bf16, kt);
        }
        for (ptrdiff_t p = 0; p < k; p++)
            cattn_half_to_float(fb + p * n, b + p * rsb, csb, n, bf16, kt);
        if (c_float) {
            cattn_sgemm_tile(c, rsc, csc, ta, ra, ca, fb, n, 1, m, n, k, 0, kt);
            return 0;
        }
        cattn_sgemm_tile(fc, n, 1, ta, ra, ca, fb, n, 1, m, n, k, 0, kt);
        for (ptrdiff_t i = 0; i < m; i++)
            cattn_float_to_half((cattn_half *)c + i * rsc, csc, fc + i * n, n, bf16, kt);
        return 0;
    }
    const ptrdiff_t KC = CATTN_GEMM_KC, ncmax = n < HG_NC ? n : HG_NC, nr = pairs ? kt->bnr : kt->snr;
    const ptrdiff_t ncp = (ncmax + nr - 1) / nr * nr, rows = pairs ? k / 2 + k / HG_BKC + 1 : k;
    size_t packed, scratch = pairs ? 0 : (size_t)(KC > ncmax ? KC : ncmax);
    if (cattn_mul_size(&packed, (size_t)ncp, (size_t)rows) || packed + scratch < packed ||
        cattn_mul_size(&packed, packed + scratch, sizeof(float)))
        return -1;
    float *bp = cattn_alloc_aligned(packed);
    if (bp == NULL) return -1;
    float *row = bp + (size_t)ncp * (size_t)rows;
    half_gemm_job j = {bf16, 0, pairs, io, c, a, bp, 0, rsc, csc, rsa, csa, m, 0, 0, k, kt};
    const ptrdiff_t blocks = (m + HG_MC - 1) / HG_MC;
    for (j.jc = 0; j.jc < n && !j.failed; j.jc += HG_NC) {
        j.nc = n - j.jc < HG_NC ? n - j.jc : HG_NC;
        j.np = (j.nc + nr - 1) / nr * nr;
        if (pairs) {  /* b's blocks of HG_BKC rows, as words: block pc at pair pc/2 */
            for (ptrdiff_t pc = 0; pc < k; pc += HG_BKC)
                cattn_pack_b_pairs((uint32_t *)bp + pc / 2 * j.np, b + pc * rsb + j.jc * csb,
                                   rsb, csb, k - pc < HG_BKC ? k - pc : HG_BKC, j.nc, nr);
        } else {  /* b's blocks of KC rows, as gemm_pack_b's */
            for (ptrdiff_t pc = 0; pc < k; pc += KC)
                cattn_half_pack_b(bp + pc * j.np, b + pc * rsb + j.jc * csb, rsb, csb,
                                  k - pc < KC ? k - pc : KC, j.nc, bf16, row, kt);
        }
        double work = 2.0 * (double)m * (double)j.nc * (double)k;
        cattn_parallel_for(blocks, work, 1, half_gemm_rows, &j);
    }
    cattn_free_aligned(bp);
    return j.failed ? -1 : 0;
}

/* The oracle: one element at a time, float32 sums in the order of p. */
int cattn_half_gemm_ref(int bf16, cattn_half *c, ptrdiff_t rsc, ptrdiff_t csc,
                        const cattn_half *a, ptrdiff_t rsa, ptrdiff_t csa, const cattn_half *b,
                        ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k)
{
    for (ptrdiff_t i = 0; i < m; i++)
        for (ptrdiff_t j = 0; j < n; j++) {
            float acc = 0;
            for (ptrdiff_t p = 0; p < k; p++) {
                cattn_half x = a[i * rsa + p * csa], y = b[p * rsb + j * csb];
                acc += cattn_half_get(x, bf16) * cattn_half_get(y, bf16);
            }
            c[i * rsc + j * csc] = cattn_half_put(acc, bf16);
        }
    return 0;
}

/* ---- the C API (cattn.h) ------------------------------------------------------------------- */

#define GEMM(name, call)                                                                       \
    int name(cattn_half *c, ptrdiff_t rsc, ptrdiff_t csc, const cattn_half *a, ptrdiff_t rsa,  \
             ptrdiff_t csa, const cattn_half *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t m,    \
             ptrdiff_t n, ptrdiff_t k)                                                         \
    {                                                                                          \
        return call;                                                                           \
    }
GEMM(cattn_hgemm, cattn_half_gemm_kt(0, c, rsc, csc, a, rsa, csa, b, rsb, csb, m, n, k,
                                     cattn_kernels_now()))
GEMM(cattn_bgemm, cattn_half_gemm_kt(1, c, rsc, csc, a, rsa, csa, b, rsb, csb, m, n, k,
                                     cattn_kernels_now()))
GEMM(cattn_hgemm_ref, cattn_half_gemm_ref(0, c, rsc, csc, a, rsa, csa, b, rsb, csb, m, n, k))
GEMM(cattn_bgemm_ref, cattn_half_gemm_ref(1, c, rsc, csc, a, rsa, csa, b, rsb, csb, m, n, k))
