/* gemm_avx2.c -- register-blocked GEMM microkernels for AVX2 + FMA (compiled with -mavx2 -mfma,
 * run only after cpu.c's probe).
 *
 * float:  c (6,16) (+)= a (6,k) · b (k,16): 12 ymm accumulators (6 rows × 2 vectors of 8),
 * double: c (6,8)  (+)= a (6,k) · b (k,8):  12 ymm accumulators (6 rows × 2 vectors of 4).
 * Per step p: two vector loads of the packed b row, six broadcasts of the packed a column, twelve
 * FMAs -- the BLIS "haswell" shape, which keeps both FMA units busy and fits the 16 ymm registers.
 */
#include <immintrin.h>
#include "kernels.h"

#define SMR 6
#define SNR 16
#define DMR 6
#define DNR 8

void cattn_sgemm_ukr_avx2(ptrdiff_t k, const float *a, const float *b, float *c, ptrdiff_t rsc,
                          ptrdiff_t csc, int accumulate)
{
    __m256 acc[SMR][2];
    for (int i = 0; i < SMR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        for (int i = 0; i < SMR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += SMR;
        b += SNR;
    }
    if (csc == 1) {  /* rows of c are contiguous: vector stores */
        for (int i = 0; i < SMR; i++) {
            float *ci = c + i * rsc;
            if (accumulate) {
                acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(ci));
                acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(ci + 8));
            }
            _mm256_storeu_ps(ci, acc[i][0]);
            _mm256_storeu_ps(ci + 8, acc[i][1]);
        }
        return;
    }
    float t[SMR][SNR];
    for (int i = 0; i < SMR; i++) {
        _mm256_storeu_ps(t[i], acc[i][0]);
        _mm256_storeu_ps(t[i] + 8, acc[i][1]);
        for (int j = 0; j < SNR; j++) {
            float *x = c + i * rsc + j * csc;
            *x = accumulate ? *x + t[i][j] : t[i][j];
        }
    }
}

void cattn_dgemm_ukr_avx2(ptrdiff_t k, const double *a, const double *b, double *c,
                          ptrdiff_t rsc, ptrdiff_t csc, int accumulate)
{
    __m256d acc[DMR][2];
    for (int i = 0; i < DMR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_pd();
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4);
        for (int i = 0; i < DMR; i++) {
            __m256d ai = _mm256_broadcast_sd(a + i);
            acc[i][0] = _mm256_fmadd_pd(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_pd(ai, b1, acc[i][1]);
        }
        a += DMR;
        b += DNR;
    }
    if (csc == 1) {
        for (int i = 0; i < DMR; i++) {
            double *ci = c + i * rsc;
            if (accumulate) {
                acc[i][0] = _mm256_add_pd(acc[i][0], _mm256_loadu_pd(ci));
                acc[i][1] = _mm256_add_pd(acc[i][1], _mm256_loadu_pd(ci + 4));
            }
            _mm256_storeu_pd(ci, acc[i][0]);
            _mm256_storeu_pd(ci + 4, acc[i][1]);
        }
        return;
    }
    double t[DMR][DNR];
    for (int i = 0; i < DMR; i++) {
        _mm256_storeu_pd(t[i], acc[i][0]);
        _mm256_storeu_pd(t[i] + 4, acc[i][1]);
        for (int j = 0; j < DNR; j++) {
            double *x = c + i * rsc + j * csc;
            *x = accumulate ? *x + t[i][j] : t[i][j];
        }
    }
}

float cattn_sexp_sum_avx2(float *y, const float *x, float shift, ptrdiff_t n);
double cattn_dexp_sum_avx2(double *y, const double *x, double shift, ptrdiff_t n);

/* Overwrite the table entries this level provides (called by cpu.c after the probe). */
void cattn_kernels_fill_avx2(cattn_kernel_table *t)
{
    t->smr = SMR;
    t->snr = SNR;
    t->sgemm_ukr = cattn_sgemm_ukr_avx2;
    t->dmr = DMR;
    t->dnr = DNR;
    t->dgemm_ukr = cattn_dgemm_ukr_avx2;
    t->sexp_sum = cattn_sexp_sum_avx2;
    t->dexp_sum = cattn_dexp_sum_avx2;
}
