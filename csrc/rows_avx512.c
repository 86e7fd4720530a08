/* rows_avx512.c -- decoding's row kernels, AVX-512F: a few query rows against keys and values
 * read in place, once (kernels.h: dot_rows, axpy_rows).  Four query rows share each load of a
 * key; each row keeps two accumulators (independent FMA chains), summed across lanes once per
 * key for the four rows together. */
#include "avx512.h"

/* The four sums of a0..a3's lanes, in order: halves added into AVX2 registers, then across. */
static inline __m128 sum4(__m512 a0, __m512 a1, __m512 a2, __m512 a3)
{
    __m256 h[4];
    const __m512 a[4] = {a0, a1, a2, a3};
    for (int r = 0; r < 4; r++)
        h[r] = _mm256_add_ps(_mm512_castps512_ps256(a[r]), _mm512_extractf32x8_ps(a[r], 1));
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(h[0], h[1]), _mm256_hadd_ps(h[2], h[3]));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

static inline __m256d sum4d(__m512d a0, __m512d a1, __m512d a2, __m512d a3)
{
    __m256d h[4];
    const __m512d a[4] = {a0, a1, a2, a3};
    for (int r = 0; r < 4; r++)
        h[r] = _mm256_add_pd(_mm512_castpd512_pd256(a[r]), _mm512_extractf64x4_pd(a[r], 1));
    __m256d t0 = _mm256_hadd_pd(h[0], h[1]), t1 = _mm256_hadd_pd(h[2], h[3]);
    return _mm256_add_pd(_mm256_permute2f128_pd(t0, t1, 0x20), _mm256_permute2f128_pd(t0, t1, 0x31));
}
#include <stddef.h>
#include "kernels.h"

static void sdot_rows(float *s, ptrdiff_t lds, const float *q, ptrdiff_t ldq, ptrdiff_t m,
                      const float *k, ptrdiff_t ldk, ptrdiff_t n, ptrdiff_t e)
{
    for (ptrdiff_t r0 = 0; r0 < m; r0 += 4) {
        const ptrdiff_t mr = m - r0 < 4 ? m - r0 : 4;
        const float *qr[4];  /* a short last group repeats its first row */
        for (int r = 0; r < 4; r++) qr[r] = q + (r0 + (r < mr ? r : 0)) * ldq;
        for (ptrdiff_t j = 0; j < n; j++) {
            const float *kj = k + j * ldk;
            __m512 a[4], b[4];
            for (int r = 0; r < 4; r++) a[r] = b[r] = _mm512_setzero_ps();
            ptrdiff_t c = 0;
            for (; c + 32 <= e; c += 32) {
                __m512 k0 = _mm512_loadu_ps(kj + c), k1 = _mm512_loadu_ps(kj + c + 16);
                for (int r = 0; r < 4; r++) {
                    a[r] = _mm512_fmadd_ps(_mm512_loadu_ps(qr[r] + c), k0, a[r]);
                    b[r] = _mm512_fmadd_ps(_mm512_loadu_ps(qr[r] + c + 16), k1, b[r]);
                }
            }
            for (; c + 16 <= e; c += 16) {
                __m512 k0 = _mm512_loadu_ps(kj + c);
                for (int r = 0; r < 4; r++)
                    a[r] = _mm512_fmadd_ps(_mm512_loadu_ps(qr[r] + c), k0, a[r]);
            }
            float out[4];
            _mm_storeu_ps(out, sum4(_mm512_add_ps(a[0], b[0]), _mm512_add_ps(a[1], b[1]),
                                    _mm512_add_ps(a[2], b[2]), _mm512_add_ps(a[3], b[3])));
            for (ptrdiff_t r = 0; r < mr; r++) {
                float sum = out[r];
                for (ptrdiff_t t = c; t < e; t++) sum += qr[r][t] * kj[t];
                s[(r0 + r) * lds + j] = sum;
            }
        }
    }
}

static void ddot_rows(double *s, ptrdiff_t lds, const double *q, ptrdiff_t ldq, ptrdiff_t m,
                      const double *k, ptrdiff_t ldk, ptrdiff_t n, ptrdiff_t e)
{
    for (ptrdiff_t r0 = 0; r0 < m; r0 += 4) {
        const ptrdiff_t mr = m - r0 < 4 ? m - r0 : 4;
        const double *qr[4];
        for (int r = 0; r < 4; r++) qr[r] = q + (r0 + (r < mr ? r : 0)) * ldq;
        for (ptrdiff_t j = 0; j < n; j++) {
            const double *kj = k + j * ldk;
            __m512d a[4], b[4];
            for (int r = 0; r < 4; r++) a[r] = b[r] = _mm512_setzero_pd();
            ptrdiff_t c = 0;
            for (; c + 16 <= e; c += 16) {
                __m512d k0 = _mm512_loadu_pd(kj + c), k1 = _mm512_loadu_pd(kj + c + 8);
                for (int r = 0; r < 4; r++) {
                    a[r] = _mm512_fmadd_pd(_mm512_loadu_pd(qr[r] + c), k0, a[r]);
                    b[r] = _mm512_fmadd_pd(_mm512_loadu_pd(qr[r] + c + 8), k1, b[r]);
                }
            }
            for (; c + 8 <= e; c += 8) {
                __m512d k0 = _mm512_loadu_pd(kj + c);
                for (int r = 0; r < 4; r++)
                    a[r] = _mm512_fmadd_pd(_mm512_loadu_pd(qr[r] + c), k0, a[r]);
            }
            double out[4];
            _mm256_storeu_pd(out, sum4d(_mm512_add_pd(a[0], b[0]), _mm512_add_pd(a[1], b[1]),
                                        _mm512_add_pd(a[2], b[2]), _mm512_add_pd(a[3], b[3])));
            for (ptrdiff_t r = 0; r < mr; r++) {
                double acc = out[r];
                for (ptrdiff_t t = c; t < e; t++) acc += qr[r][t] * kj[t];
                s[(r0 + r) * lds + j] = acc;
            }
        }
    }
}
/* o[r·ldo + c] += Σ_j p[r·ldp + j] v_j[c]: four value rows at a time, each output row chunk of
 * 16 (8) in a register over those four keys. */
static void saxpy_rows(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ldp, ptrdiff_t m,
                       const float *v, ptrdiff_t ldv, ptrdiff_t n, ptrdiff_t e)
{
    ptrdiff_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *v0 = v + j * ldv, *v1 = v0 + ldv, *v2 = v1 + ldv, *v3 = v2 + ldv;
        for (ptrdiff_t r = 0; r < m; r++) {
            const float *pr = p + r * ldp + j;
            __m512 p0 = _mm512_set1_ps(pr[0]), p1 = _mm512_set1_ps(pr[1]);
            __m512 p2 = _mm512_set1_ps(pr[2]), p3 = _mm512_set1_ps(pr[3]);
            float *orow = o + r * ldo;
            ptrdiff_t c = 0;
            for (; c + 16 <= e; c += 16) {
                __m512 x = _mm512_loadu_ps(orow + c);
                x = _mm512_fmadd_ps(p0, _mm512_loadu_ps(v0 + c), x);
                x = _mm512_fmadd_ps(p1, _mm512_loadu_ps(v1 + c), x);
                x = _mm512_fmadd_ps(p2, _mm512_loadu_ps(v2 + c), x);
                x = _mm512_fmadd_ps(p3, _mm512_loadu_ps(v3 + c), x);
                _mm512_storeu_ps(orow + c, x);
            }
            for (; c < e; c++) orow[c] += pr[0] * v0[c] + pr[1] * v1[c] + pr[2] * v2[c] + pr[3] * v3[c];
        }
    }
    for (; j < n; j++)
        for (ptrdiff_t r = 0; r < m; r++)
            for (ptrdiff_t c = 0; c < e; c++) o[r * ldo + c] += p[r * ldp + j] * v[j * ldv + c];
}

static void daxpy_rows(double *o, ptrdiff_t ldo, const double *p, ptrdiff_t ldp, ptrdiff_t m,
                       const double *v, ptrdiff_t ldv, ptrdiff_t n, ptrdiff_t e)
{
    ptrdiff_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const double *v0 = v + j * ldv, *v1 = v0 + ldv, *v2 = v1 + ldv, *v3 = v2 + ldv;
        for (ptrdiff_t r = 0; r < m; r++) {
            const double *pr = p + r * ldp + j;
            __m512d p0 = _mm512_set1_pd(pr[0]), p1 = _mm512_set1_pd(pr[1]);
            __m512d p2 = _mm512_set1_pd(pr[2]), p3 = _mm512_set1_pd(pr[3]);
            double *orow = o + r * ldo;
            ptrdiff_t c = 0;
            for (; c + 8 <= e; c += 8) {
                __m512d x = _mm512_loadu_pd(orow + c);
                x = _mm512_fmadd_pd(p0, _mm512_loadu_pd(v0 + c), x);
                x = _mm512_fmadd_pd(p1, _mm512_loadu_pd(v1 + c), x);
                x = _mm512_fmadd_pd(p2, _mm512_loadu_pd(v2 + c), x);
                x = _mm512_fmadd_pd(p3, _mm512_loadu_pd(v3 + c), x);
                _mm512_storeu_pd(orow + c, x);
            }
            for (; c < e; c++) orow[c] += pr[0] * v0[c] + pr[1] * v1[c] + pr[2] * v2[c] + pr[3] * v3[c];
        }
    }
    for (; j < n; j++)
        for (ptrdiff_t r = 0; r < m; r++)
            for (ptrdiff_t c = 0; c < e; c++) o[r * ldo + c] += p[r * ldp + j] * v[j * ldv + c];
}

void cattn_rows_fill_avx512(cattn_kernel_table *t);
void cattn_rows_fill_avx512(cattn_kernel_table *t)
{
    t->sdot_rows = sdot_rows, t->ddot_rows = ddot_rows;
    t->saxpy_rows = saxpy_rows, t->daxpy_rows = daxpy_rows;
}
