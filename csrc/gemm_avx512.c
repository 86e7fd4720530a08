/* gemm_avx512.c -- register-blocked GEMM microkernels for AVX-512F (compiled with -mavx512f,
 * run only after cpu.c's probe).
 *
 * float:  c (12,32) (+)= a (12,k) · b (k,32): 24 zmm accumulators (12 rows × 2 vectors of 16),
 * double: c (12,16) (+)= a (12,k) · b (k,16): 24 zmm accumulators (12 rows × 2 vectors of 8).
 * Per step p: two vector loads of the packed b row, twelve broadcasts of the packed a column,
 * twenty-four FMAs.  24 accumulators + 2 b vectors + 1 broadcast fit the 32 zmm registers, and 12
 * rows divide attention's 72-query blocks and the driver's 96 / 48-row blocks of a.  The tile
 * of c is prefetched when the kernel starts (ukr.h).
 */
#include "avx512.h"
#include "kernels.h"
#include "ukr.h"

#define SMR 12
#define SNR 32
#define DMR 12
#define DNR 16

void cattn_sgemm_ukr_avx512(ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                            const float *b, ptrdiff_t ldb, float *c, ptrdiff_t rsc,
                            ptrdiff_t csc, int accumulate)
{
#define TY float
#define VEC __m512
#define W 16
#define ZERO _mm512_setzero_ps
#define LOAD _mm512_loadu_ps
#define STORE _mm512_storeu_ps
#define BCAST _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
    UKR_BODY_12(SNR)
#include "ukr_undef.h"
}

void cattn_dgemm_ukr_avx512(ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                            const double *b, ptrdiff_t ldb, double *c, ptrdiff_t rsc,
                            ptrdiff_t csc, int accumulate)
{
#define TY double
#define VEC __m512d
#define W 8
#define ZERO _mm512_setzero_pd
#define LOAD _mm512_loadu_pd
#define STORE _mm512_storeu_pd
#define BCAST _mm512_set1_pd
#define FMA _mm512_fmadd_pd
#define ADD _mm512_add_pd
    UKR_BODY_12(DNR)
#include "ukr_undef.h"
}

float cattn_sexp_sum_avx512(float *y, const float *x, float scale, float shift, ptrdiff_t n);
double cattn_dexp_sum_avx512(double *y, const double *x, double scale, double shift, ptrdiff_t n);
float cattn_smax_avx512(const float *x, ptrdiff_t n);
double cattn_dmax_avx512(const double *x, ptrdiff_t n);
void cattn_sscale_nt_avx512(float *y, const float *x, float a, ptrdiff_t n);
void cattn_dscale_nt_avx512(double *y, const double *x, double a, ptrdiff_t n);

/* Overwrite the table entries this level provides (called by cpu.c after the probe). */
void cattn_kernels_fill_avx512(cattn_kernel_table *t)
{
    t->smr = SMR;
    t->snr = SNR;
    t->sgemm_ukr = cattn_sgemm_ukr_avx512;
    t->dmr = DMR;
    t->dnr = DNR;
    t->dgemm_ukr = cattn_dgemm_ukr_avx512;
    t->sexp_sum = cattn_sexp_sum_avx512;
    t->dexp_sum = cattn_dexp_sum_avx512;
    t->smax = cattn_smax_avx512;
    t->dmax = cattn_dmax_avx512;
    t->sscale_nt = cattn_sscale_nt_avx512;
    t->dscale_nt = cattn_dscale_nt_avx512;
}
