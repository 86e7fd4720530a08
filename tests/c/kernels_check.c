/* kernels_check.c -- the C kernels without Python, for the machines the Python suite cannot run
 * on here: scripts/c_check.sh builds it natively, cross-compiled for aarch64 (run under
 * qemu-aarch64) and for Windows with mingw-w64 (run under Wine).
 *
 * On every level this CPU and build offer (ref, then avx2/avx512 or neon), and on 1 and 2 threads:
 *   1. each table kernel against level ref's on random rows of many lengths (tails included);
 *   2. the drivers -- gemm, softmax, attention forward (blocked, decoding, causal, with weights)
 *      and backward -- against their plain reference versions; the half GEMM (bfloat16 on the
 *      AVX512-BF16 pair tile where the CPU has it) against float64 sums;
 *   3. the thread pool: the attention backward gives the same bits on 1 and 2 threads.
 * Prints one line per level and "ok", exits 0; or names the first check that failed, exits 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/dispatch.h"
#include "kernels/half.h"

static int failures = 0;
static const char *where = "";

static void fail(const char *what, ptrdiff_t n, double got, double want)
{
    if (failures++ < 20)
        printf("FAIL %s: %s (n=%ld): got %.9g, want %.9g\n", where, what, (long)n, got, want);
}

/* |got - want| <= tol·(1 + |want|), NaN equal to NaN */
static void near(const char *what, ptrdiff_t n, double got, double want, double tol)
{
    if (got == want || (isnan(want) && isnan(got))) return;  /* ±inf too */
    if (!(fabs(got - want) <= tol * (1 + fabs(want)))) fail(what, n, got, want);
}

static unsigned long long rng = 88172645463325252ULL;
static double uniform(void)  /* in [-1, 1) */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 4503599627370496.0 - 1;
}
static float *frand(ptrdiff_t n, double amp)
{
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (ptrdiff_t i = 0; i < n; i++) x[i] = (float)(amp * uniform());
    return x;
}
static double *drand(ptrdiff_t n, double amp)
{
    double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (ptrdiff_t i = 0; i < n; i++) x[i] = amp * uniform();
    return x;
}

/* 1. each table kernel against ref's */
static void table_kernels(const cattn_kernel_table *t, const cattn_kernel_table *r)
{
    /* the float16 rows: every float16 value, and floats across the whole range, as ref's */
    {
        enum { N = 65536 };
        static cattn_half h[N], back[N], back_ref[N];
        static float f[N], f_ref[N];
        for (int i = 0; i < N; i++) h[i] = (cattn_half)i;
        t->h2f_row(f, h, N - 3);  /* an odd length: the tail too */
        r->h2f_row(f_ref, h, N - 3);
        for (int i = 0; i < N - 3; i++)
            if (memcmp(&f[i], &f_ref[i], sizeof(float)) != 0) fail("h2f_row", i, f[i], f_ref[i]);
        for (int i = 0; i < N; i++) f[i] = ldexpf((float)(i % 1000) - 500, i / 1000 - 40) / 7;
        t->f2h_row(back, f, N - 5);
        r->f2h_row(back_ref, f, N - 5);
        for (int i = 0; i < N - 5; i++)
            if (back[i] != back_ref[i]) fail("f2h_row", i, back[i], back_ref[i]);
        t->f2b_row(back, f, N - 5);
        r->f2b_row(back_ref, f, N - 5);
        for (int i = 0; i < N - 5; i++)
            if (back[i] != back_ref[i]) fail("f2b_row", i, back[i], back_ref[i]);
        t->b2f_row(f, h, N - 3);
        r->b2f_row(f_ref, h, N - 3);
        for (int i = 0; i < N - 3; i++)
            if (memcmp(&f[i], &f_ref[i], sizeof(float)) != 0) fail("b2f_row", i, f[i], f_ref[i]);
        /* NaNs and the largest finite floats, which round to infinity or stay finite */
        float odd[16] = {NAN, -NAN, INFINITY, -INFINITY, 3.4e38f, -3.4e38f, 3.3895e38f, 0.0f,
                         -0.0f, 1e-40f, -1e-45f, 1.0f, 1.00390625f, 1.01171875f, 65504.0f, 7.0f};
        memcpy(&odd[15], &(uint32_t){0x7f800001u}, 4);  /* a signalling NaN */
        t->f2b_row(back, odd, 16);
        r->f2b_row(back_ref, odd, 16);
        for (int i = 0; i < 16; i++)
            if (back[i] != back_ref[i]) fail("f2b_row (special)", i, back[i], back_ref[i]);
    }
    for (ptrdiff_t n = 0; n <= 131; n += n < 40 ? 1 : 13) {
        float *x = frand(n, 8), *y = frand(n, 1), *a = frand(n, 1), *b = frand(n, 1);
        double *dx = drand(n, 8), *dy = drand(n, 1), *da = drand(n, 1), *db = drand(n, 1);
        near("smax", n, t->smax(x, n), r->smax(x, n), 0);
        near("dmax", n, t->dmax(dx, n), r->dmax(dx, n), 0);
        near("sexp_sum", n, t->sexp_sum(a, x, 0.7f, 2.0f, n), r->sexp_sum(b, x, 0.7f, 2.0f, n), 1e-5);
        for (ptrdiff_t i = 0; i < n; i++) near("sexp_sum y", n, a[i], b[i], 1e-6);
        near("dexp_sum", n, t->dexp_sum(da, dx, 0.7, 2.0, n), r->dexp_sum(db, dx, 0.7, 2.0, n), 1e-13);
        for (ptrdiff_t i = 0; i < n; i++) near("dexp_sum y", n, da[i], db[i], 1e-14);
        /* arguments up to 90 (float) and 720 (double): vectors with a lane past the short path */
        t->sexp_sum(a, x, 11.25f, 0, n), r->sexp_sum(b, x, 11.25f, 0, n);
        for (ptrdiff_t i = 0; i < n; i++) near("sexp_sum wide y", n, a[i], b[i], 1e-6);
        t->dexp_sum(da, dx, 90, 0, n), r->dexp_sum(db, dx, 90, 0, n);
        for (ptrdiff_t i = 0; i < n; i++) near("dexp_sum wide y", n, da[i], db[i], 1e-14);
        /* the streamed scaling, from every alignment of y */
        for (ptrdiff_t o = 0; o < 3 && o < n; o++) {
            t->sscale_nt(a + o, x, 0.3f, n - o), r->sscale_nt(b + o, x, 0.3f, n - o);
            t->dscale_nt(da + o, dx, 0.3, n - o), r->dscale_nt(db + o, dx, 0.3, n - o);
            cattn_store_fence();
            for (ptrdiff_t i = o; i < n; i++) near("sscale_nt", n, a[i], b[i], 0);
            for (ptrdiff_t i = o; i < n; i++) near("dscale_nt", n, da[i], db[i], 0);
        }
        near("sdot", n, t->sdot(x, y, n), r->sdot(x, y, n), 1e-5);
        near("ddot", n, t->ddot(dx, dy, n), r->ddot(dx, dy, n), 1e-13);
        t->ssoftmax_grad(a, y, x, 0.25f, n), r->ssoftmax_grad(b, y, x, 0.25f, n);
        for (ptrdiff_t i = 0; i < n; i++) near("ssoftmax_grad", n, a[i], b[i], 1e-6);
        memcpy(a, y, sizeof(float) * (size_t)n), memcpy(b, y, sizeof(float) * (size_t)n);
        t->sdropout(a, n, 12345, 7, 1u << 30, 4.0f / 3), r->sdropout(b, n, 12345, 7, 1u << 30, 4.0f / 3);
        for (ptrdiff_t i = 0; i < n; i++) near("sdropout", n, a[i], b[i], 0);
        free(x), free(y), free(a), free(b), free(dx), free(dy), free(da), free(db);
    }
    /* the decoding rows: m query rows against n keys of e values */
    for (ptrdiff_t m = 1; m <= 8; m += 3)
        for (ptrdiff_t n = 1; n <= 67; n += 11)
            for (ptrdiff_t e = 1; e <= 70; e += 23) {
                float *q = frand(m * e, 1), *k = frand(n * e, 1), *s = frand(m * n, 1),
                      *s2 = frand(m * n, 1), *o = frand(m * e, 1), *o2 = malloc(sizeof(float) * (size_t)(m * e));
                memcpy(o2, o, sizeof(float) * (size_t)(m * e));
                t->sdot_rows(s, n, q, e, m, k, e, n, e), r->sdot_rows(s2, n, q, e, m, k, e, n, e);
                for (ptrdiff_t i = 0; i < m * n; i++) near("sdot_rows", e, s[i], s2[i], 1e-5);
                t->saxpy_rows(o, e, s, n, m, k, e, n, e), r->saxpy_rows(o2, e, s, n, m, k, e, n, e);
                for (ptrdiff_t i = 0; i < m * e; i++) near("saxpy_rows", n, o[i], o2[i], 1e-5);
                free(q), free(k), free(s), free(s2), free(o), free(o2);
            }
    /* the same rows over float16 and bfloat16 keys and values (converted as loaded): rows one
     * to six (axpy's panels take four, two or one at a time: every mix), keys across its passes
     * of 32, values across its panels and single vectors */
    for (int bf16 = 0; bf16 < 2; bf16++)
        for (ptrdiff_t m = 1; m <= 6; m++)
            for (ptrdiff_t n = 1; n <= 100; n += 33)
                for (ptrdiff_t e = 1; e <= 300; e += e < 32 ? 15 : 64) {
                    float *q = frand(m * e, 1), *kf = frand(n * e, 1), *s = frand(m * n, 1),
                          *s2 = frand(m * n, 1), *o = frand(m * e, 1),
                          *o2 = malloc(sizeof(float) * (size_t)(m * e));
                    cattn_half *k = malloc(sizeof(cattn_half) * (size_t)(n * e));
                    for (ptrdiff_t i = 0; i < n * e; i++) k[i] = cattn_half_put(kf[i], bf16);
                    memcpy(o2, o, sizeof(float) * (size_t)(m * e));
                    const char *dn = bf16 ? "bdot_rows" : "hdot_rows", *an = bf16 ? "baxpy_rows" : "haxpy_rows";
                    (bf16 ? t->bdot_rows : t->hdot_rows)(s, n, q, e, m, k, e, n, e);
                    (bf16 ? r->bdot_rows : r->hdot_rows)(s2, n, q, e, m, k, e, n, e);
                    for (ptrdiff_t i = 0; i < m * n; i++) near(dn, e, s[i], s2[i], (bf16 ? 1e-2 : 1e-5) * sqrt((double)e));
                    (bf16 ? t->baxpy_rows : t->haxpy_rows)(o, e, s, n, m, k, e, n, e);
                    (bf16 ? r->baxpy_rows : r->haxpy_rows)(o2, e, s, n, m, k, e, n, e);
                    for (ptrdiff_t i = 0; i < m * e; i++) near(an, n, o[i], o2[i], (bf16 ? 1e-2 : 1e-5) * sqrt((double)n));
                    free(q), free(kf), free(k), free(s), free(s2), free(o), free(o2);
                }
}

/* 2. the drivers against their reference versions */
static void gemm(void)
{
    static const ptrdiff_t shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {16, 16, 64}, {64, 64, 64},
                                          {100, 37, 129}, {3, 300, 17}, {257, 65, 200}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const ptrdiff_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = frand(m * k, 1), *b = frand(k * n, 1), *c = frand(m * n, 1), *c2 = frand(m * n, 1);
        double *da = drand(m * k, 1), *db = drand(k * n, 1), *dc = drand(m * n, 1), *dc2 = drand(m * n, 1);
        cattn_sgemm(c, n, 1, a, k, 1, b, n, 1, m, n, k);
        cattn_sgemm_ref(c2, n, 1, a, k, 1, b, n, 1, m, n, k);
        for (ptrdiff_t i = 0; i < m * n; i++) near("sgemm", k, c[i], c2[i], 1e-5 * sqrt((double)k));
        cattn_dgemm(dc, 1, m, da, 1, m, db, 1, k, m, n, k);  /* column-major: other strides */
        cattn_dgemm_ref(dc2, 1, m, da, 1, m, db, 1, k, m, n, k);
        for (ptrdiff_t i = 0; i < m * n; i++) near("dgemm", k, dc[i], dc2[i], 1e-13 * sqrt((double)k));
        free(a), free(b), free(c), free(c2), free(da), free(db), free(dc), free(dc2);
    }
}

static void softmax(void)
{
    for (ptrdiff_t n = 1; n <= 600; n += n < 40 ? 1 : 97) {
        float *x = frand(n, 20), *y = frand(n, 1), *y2 = frand(n, 1);
        double *dx = drand(n, 20), *dy = drand(n, 1), *dy2 = drand(n, 1);
        if (n > 3) x[n / 2] = -INFINITY, dx[1] = -INFINITY;
        cattn_ssoftmax(y, 1, x, 1, n), cattn_ssoftmax_ref(y2, 1, x, 1, n);
        for (ptrdiff_t i = 0; i < n; i++) near("ssoftmax", n, y[i], y2[i], 1e-6);
        cattn_slog_softmax(y, 1, x, 1, n), cattn_slog_softmax_ref(y2, 1, x, 1, n);
        for (ptrdiff_t i = 0; i < n; i++) near("slog_softmax", n, y[i], y2[i], 1e-5);
        cattn_dsoftmax(dy, 1, dx, 1, n), cattn_dsoftmax_ref(dy2, 1, dx, 1, n);
        for (ptrdiff_t i = 0; i < n; i++) near("dsoftmax", n, dy[i], dy2[i], 1e-14);
        free(x), free(y), free(y2), free(dx), free(dy), free(dy2);
    }
    /* the row drivers: m rows, streamed or not (the same bits), against the reference */
    const cattn_kernel_table *kt = cattn_kernels_now();
    for (ptrdiff_t n = 1; n <= 1100; n += 137) {
        const ptrdiff_t m = 9, ld = n + 3;
        float *x = frand(m * ld, 20), *y = frand(m * ld, 1), *y2 = frand(m * ld, 1);
        double *dx = drand(m * ld, 20), *dy = drand(m * ld, 1), *dy2 = drand(m * ld, 1);
        cattn_ssoftmax_rows(y, ld, 1, x, ld, 1, m, n, 1, kt);
        cattn_ssoftmax_rows(y2, ld, 1, x, ld, 1, m, n, 0, kt);
        cattn_dsoftmax_rows(dy, ld, 1, dx, ld, 1, m, n, 1, kt);
        cattn_dsoftmax_rows(dy2, ld, 1, dx, ld, 1, m, n, 0, kt);
        for (ptrdiff_t r = 0; r < m; r++)
            for (ptrdiff_t i = 0; i < n; i++) {
                near("ssoftmax_rows stream", n, y[r * ld + i], y2[r * ld + i], 0);
                near("dsoftmax_rows stream", n, dy[r * ld + i], dy2[r * ld + i], 0);
            }
        for (ptrdiff_t r = 0; r < m; r++) {
            float want[1100];
            double dwant[1100];
            cattn_ssoftmax_ref(want, 1, x + r * ld, 1, n);
            cattn_dsoftmax_ref(dwant, 1, dx + r * ld, 1, n);
            for (ptrdiff_t i = 0; i < n; i++) near("ssoftmax_rows", n, y[r * ld + i], want[i], 1e-6);
            for (ptrdiff_t i = 0; i < n; i++) near("dsoftmax_rows", n, dy[r * ld + i], dwant[i], 1e-14);
        }
        cattn_slog_softmax_rows(y, ld, 1, x, ld, 1, m, n, kt);
        for (ptrdiff_t r = 0; r < m; r++) {
            float want[1100];
            cattn_slog_softmax_ref(want, 1, x + r * ld, 1, n);
            for (ptrdiff_t i = 0; i < n; i++) near("slog_softmax_rows", n, y[r * ld + i], want[i], 1e-5);
        }
        free(x), free(y), free(y2), free(dx), free(dy), free(dy2);
    }
}

/* forward and backward of one call: the level's kernels against the reference versions */
static void attention_case(ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, cattn_attn_call c, int weights)
{
    const ptrdiff_t Ev = E;
    float *q = frand(L * E, 1), *k = frand(S * E, 1), *v = frand(S * Ev, 1), *dout = frand(L * Ev, 1);
    float *o = frand(L * Ev, 1), *o2 = frand(L * Ev, 1), *lse = frand(L, 1), *lse2 = frand(L, 1);
    float *w = frand(L * S, 1), *w2 = frand(L * S, 1);
    float *g[6];
    for (int i = 0; i < 6; i++) g[i] = frand((i % 3 == 0 ? L : S) * E, 1);
    c.scale = cattn_default_scale(E);
    cattn_attn_call c2 = c;
    c.lse = lse, c.rsl = 1, c2.lse = lse2, c2.rsl = 1;
    if (weights) c.w = w, c.rsw = S, c.csw = 1, c2.w = w2, c2.rsw = S, c2.csw = 1;
    if (cattn_sattention(o, Ev, 1, q, E, 1, k, E, 1, v, Ev, 1, L, S, E, Ev, &c) != 0 ||
        cattn_sattention_ref(o2, Ev, 1, q, E, 1, k, E, 1, v, Ev, 1, L, S, E, Ev, &c2) != 0)
        fail("attention returned -1", L, 0, 0);
    for (ptrdiff_t i = 0; i < L * Ev; i++) near("attention out", S, o[i], o2[i], 1e-5);
    for (ptrdiff_t i = 0; i < L; i++) near("attention lse", S, lse[i], lse2[i], 1e-5);
    if (weights)
        for (ptrdiff_t i = 0; i < L * S; i++) near("attention weights", S, w[i], w2[i], 1e-5);
    cattn_out none = {NULL, 0, 0, 0};
    cattn_in lin = {lse2, 0, 0, 1};
#define IN(p, cols) ((cattn_in){(p), 0, (cols), 1})
#define OUT(p, cols) ((cattn_out){(p), 0, (cols), 1})
    c.w = c2.w = NULL;
    if (cattn_sattention_backward(OUT(g[0], E), OUT(g[1], E), OUT(g[2], Ev), none, IN(q, E),
                                  IN(k, E), IN(v, Ev), IN(o2, Ev), lin, IN(dout, Ev), L, S, E, Ev,
                                  &c) != 0 ||
        cattn_sattention_backward_ref(OUT(g[3], E), OUT(g[4], E), OUT(g[5], Ev), none, IN(q, E),
                                      IN(k, E), IN(v, Ev), IN(o2, Ev), lin, IN(dout, Ev), L, S, E,
                                      Ev, &c2) != 0)
        fail("attention backward returned -1", L, 0, 0);
    for (ptrdiff_t i = 0; i < L * E; i++) near("attention dq", S, g[0][i], g[3][i], 1e-4);
    for (ptrdiff_t i = 0; i < S * E; i++) near("attention dk", L, g[1][i], g[4][i], 1e-4);
    for (ptrdiff_t i = 0; i < S * Ev; i++) near("attention dv", L, g[2][i], g[5][i], 1e-4);
    /* 3. the same bits on one thread as on two */
    const int threads = cattn_get_num_threads();
    cattn_set_num_threads(threads == 1 ? 2 : 1);
    float *h = frand(S * E, 1);
    cattn_sattention_backward(OUT(g[3], E), OUT(h, E), OUT(g[5], Ev), none, IN(q, E), IN(k, E),
                              IN(v, Ev), IN(o2, Ev), lin, IN(dout, Ev), L, S, E, Ev, &c);
    cattn_set_num_threads(threads);
    if (memcmp(h, g[1], sizeof(float) * (size_t)(S * E)) != 0) fail("dk differs across threads", L, 0, 0);
    free(h), free(q), free(k), free(v), free(dout), free(o), free(o2), free(lse), free(lse2);
    free(w), free(w2);
    for (int i = 0; i < 6; i++) free(g[i]);
}

static void attention(void)
{
    cattn_attn_call plain = {0}, causal = {0}, window = {0};
    cattn_causal_limits(&causal, 130, 130);
    window.limited = 1, window.lo = -16, window.hi = 0, window.kv_len = 150, window.q_len = 190;
    attention_case(4, 3000, 128, plain, 0);    /* decoding */
    attention_case(1, 37, 16, plain, 0);
    attention_case(100, 77, 32, plain, 1);     /* blocked, with weights */
    attention_case(130, 130, 64, causal, 0);
    attention_case(200, 150, 24, window, 0);
}

/* The half conversions, exhaustively: every float16 and bfloat16 value converts to float and
 * back to itself (NaN to a NaN); between two neighbours, the float midpoint rounds to the even
 * one and the floats just beside it to the nearer one (round to nearest, ties to even); past the
 * largest float16, the floats from 65520 on round to infinity. */
static void half_conversions(void)
{
    for (int bf = 0; bf < 2; bf++) {
        const char *what = bf ? "bfloat16" : "float16";
        for (uint32_t a = 0; a < 0x10000; a++) {
            const uint16_t h = (uint16_t)a;
            float f = bf ? cattn_b2f(h) : cattn_h2f(h);
            uint16_t back = bf ? cattn_f2b(f) : cattn_f2h(f);
            if (isnan(f)) {
                float g = bf ? cattn_b2f(back) : cattn_h2f(back);
                if (!isnan(g)) fail(what, (ptrdiff_t)a, g, f);
                continue;
            }
            if (back != h && !(f == 0 && (back & 0x7fffu) == 0 && back == h)) fail(what, a, back, h);
            /* the neighbour above (positive, finite, not the largest) */
            const uint16_t top = bf ? 0x7f7fu : 0x7bffu;
            if (h >= top) continue;
            float up = bf ? cattn_b2f((uint16_t)(h + 1)) : cattn_h2f((uint16_t)(h + 1));
            float mid = f + (up - f) / 2;  /* exact: a float has the room (and no overflow) */
            uint16_t even = (h & 1u) ? (uint16_t)(h + 1) : h;
            uint16_t rm = bf ? cattn_f2b(mid) : cattn_f2h(mid);
            if (rm != even) fail(what, a, rm, even);
            uint16_t lo = bf ? cattn_f2b(nextafterf(mid, 0)) : cattn_f2h(nextafterf(mid, 0));
            uint16_t hi = bf ? cattn_f2b(nextafterf(mid, INFINITY)) : cattn_f2h(nextafterf(mid, INFINITY));
            if (lo != h) fail(what, a, lo, h);
            if (hi != (uint16_t)(h + 1)) fail(what, a, hi, h + 1);
        }
    }
    if (cattn_f2h(65519.99f) != 0x7bffu || cattn_f2h(65520.0f) != 0x7c00u ||
        cattn_f2h(-1e30f) != 0xfc00u || cattn_f2h(1e-10f) != 0 || cattn_f2b(3.4e38f) != 0x7f80u)
        fail("float16 and bfloat16 overflow and underflow", 0, 0, 1);
}

/* The half softmax rows equal the float kernel on the converted row, rounded once. */
static void half_softmax(void)
{
    const ptrdiff_t n = 5000;  /* past the per-thread row buffer */
    float *x = frand(n, 7), *y = malloc(sizeof(float) * (size_t)n);
    cattn_half *hx = malloc(2 * (size_t)n), *hy = malloc(2 * (size_t)n);
    for (int bf = 0; bf < 2; bf++) {
        for (ptrdiff_t i = 0; i < n; i++) {
            hx[i] = bf ? cattn_f2b(8 * x[i]) : cattn_f2h(8 * x[i]);
            y[i] = bf ? cattn_b2f(hx[i]) : cattn_h2f(hx[i]);
        }
        cattn_ssoftmax(y, 1, y, 1, n);
        if ((bf ? cattn_bsoftmax : cattn_hsoftmax)(hy, 1, hx, 1, n) != 0) fail("half softmax", n, 1, 0);
        for (ptrdiff_t i = 0; i < n; i++) {
            uint16_t want = bf ? cattn_f2b(y[i]) : cattn_f2h(y[i]);
            if (hy[i] != want) {
                fail(bf ? "bfloat16 softmax" : "float16 softmax", i, hy[i], want);
                break;
            }
        }
    }
    free(x), free(y), free(hx), free(hy);
}

/* The half GEMM (float16 and bfloat16; bfloat16 on the pair tile where the level has one)
 * against float64 sums of the same half inputs: one half rounding plus a float32 rounding per
 * product. */
static void half_gemm(void)
{
    static const ptrdiff_t shapes[][3] = {{7, 13, 5}, {100, 37, 129}, {97, 65, 33},
                                          {50, 600, 1031}, {130, 70, 513}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const ptrdiff_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *x = frand(m * k + k * n, 2);
        cattn_half *a = malloc(2 * (size_t)(m * k + k * n)), *b = a + m * k;
        cattn_half *c = malloc(2 * (size_t)(m * n));
        for (int bf = 0; bf < 2; bf++) {
            for (ptrdiff_t i = 0; i < m * k + k * n; i++) a[i] = bf ? cattn_f2b(x[i]) : cattn_f2h(x[i]);
            if ((bf ? cattn_bgemm : cattn_hgemm)(c, n, 1, a, k, 1, b, n, 1, m, n, k) != 0)
                fail("half gemm", k, 1, 0);
            for (ptrdiff_t i = 0; i < m; i++)
                for (ptrdiff_t j = 0; j < n; j++) {
                    double want = 0, size = 0;
                    for (ptrdiff_t p = 0; p < k; p++) {
                        double t = (bf ? cattn_b2f(a[i * k + p]) : cattn_h2f(a[i * k + p])) *
                                   (double)(bf ? cattn_b2f(b[p * n + j]) : cattn_h2f(b[p * n + j]));
                        want += t, size += fabs(t);
                    }
                    double got = bf ? cattn_b2f(c[i * n + j]) : cattn_h2f(c[i * n + j]);
                    double tol = (bf ? 0x1p-8 : 0x1p-11) * fabs(want) + (double)k * 0x1p-23 * size;
                    if (!(fabs(got - want) <= tol + 1e-30)) {
                        fail(bf ? "bgemm" : "hgemm", k, got, want);
                        i = m;
                        break;
                    }
                }
        }
        free(x), free(a), free(c);
    }
}

int main(void)
{
    if (cattn_init() != 0) printf("CATTN_ARCH names no level: using the best\n");
    const cattn_level best = cattn_level_best();
    cattn_set_level(CATTN_LEVEL_REF);
    const cattn_kernel_table *ref = cattn_kernels_now();
    half_conversions();
    for (int l = CATTN_LEVEL_REF; l <= (int)best; l++) {
        if (cattn_set_level((cattn_level)l) != 0) continue;
        for (int threads = 1; threads <= 2; threads++) {
            char name[64];
            snprintf(name, sizeof name, "level %s, %d thread%s", cattn_level_name((cattn_level)l),
                     threads, threads > 1 ? "s" : "");
            where = name;
            cattn_set_num_threads(threads);
            const int before = failures;
            table_kernels(cattn_kernels_now(), ref);
            gemm();
            softmax();
            attention();
            half_softmax();
            half_gemm();
            printf("%s: %s\n", name, failures == before ? "ok" : "FAILED");
        }
    }
    printf(failures ? "%d checks failed\n" : "ok\n", failures);
    return failures ? 1 : 0;
}
