/* cattn.h -- the public C API of cattn's kernels.
 *
 * Nothing here knows about Python or NumPy: every kernel takes plain pointers, sizes and strides.
 * Conventions (BLAS-like):
 *   - outputs first, then inputs, then sizes;
 *   - every size and stride is a ptrdiff_t, strides are in elements (not bytes) and may be
 *     negative or zero;
 *   - a matrix X is passed as (x, rsx, csx): element (i, j) lives at x[i*rsx + j*csx];
 *   - the `s` functions work on float, the `d` functions on double;
 *   - `_ref` marks the plain reference kernels, kept forever as the oracle for tests and as the
 *     fallback for awkward shapes.
 */
#ifndef CATTN_H
#define CATTN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CATTN_VERSION "0.1.0"

/* ---- matrix multiplication ------------------------------------------------------------------ */

/* c (m,n) = a (m,k) · b (k,n) */
void cattn_sgemm(float *c, ptrdiff_t rsc, ptrdiff_t csc,
                 const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                 const float *b, ptrdiff_t rsb, ptrdiff_t csb,
                 ptrdiff_t m, ptrdiff_t n, ptrdiff_t k);
void cattn_dgemm(double *c, ptrdiff_t rsc, ptrdiff_t csc,
                 const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                 const double *b, ptrdiff_t rsb, ptrdiff_t csb,
                 ptrdiff_t m, ptrdiff_t n, ptrdiff_t k);
void cattn_sgemm_ref(float *c, ptrdiff_t rsc, ptrdiff_t csc,
                     const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                     const float *b, ptrdiff_t rsb, ptrdiff_t csb,
                     ptrdiff_t m, ptrdiff_t n, ptrdiff_t k);
void cattn_dgemm_ref(double *c, ptrdiff_t rsc, ptrdiff_t csc,
                     const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                     const double *b, ptrdiff_t rsb, ptrdiff_t csb,
                     ptrdiff_t m, ptrdiff_t n, ptrdiff_t k);

/* ---- softmax over one row --------------------------------------------------------------------- */

/* y (n) = softmax(x (n)):      y_i = exp(x_i - max x) / sum_j exp(x_j - max x)
 * Policy: -inf entries get weight 0; a row that is all -inf gives zeros; a NaN anywhere makes the
 * whole row NaN; y may alias x. */
void cattn_ssoftmax(float *y, ptrdiff_t incy, const float *x, ptrdiff_t incx, ptrdiff_t n);
void cattn_dsoftmax(double *y, ptrdiff_t incy, const double *x, ptrdiff_t incx, ptrdiff_t n);
void cattn_ssoftmax_ref(float *y, ptrdiff_t incy, const float *x, ptrdiff_t incx, ptrdiff_t n);
void cattn_dsoftmax_ref(double *y, ptrdiff_t incy, const double *x, ptrdiff_t incx, ptrdiff_t n);

/* y (n) = log_softmax(x (n)):  y_i = x_i - max x - log sum_j exp(x_j - max x)
 * Policy as softmax, except that an all -inf row gives -inf everywhere. */
void cattn_slog_softmax(float *y, ptrdiff_t incy, const float *x, ptrdiff_t incx, ptrdiff_t n);
void cattn_dlog_softmax(double *y, ptrdiff_t incy, const double *x, ptrdiff_t incx, ptrdiff_t n);
void cattn_slog_softmax_ref(float *y, ptrdiff_t incy, const float *x, ptrdiff_t incx, ptrdiff_t n);
void cattn_dlog_softmax_ref(double *y, ptrdiff_t incy, const double *x, ptrdiff_t incx, ptrdiff_t n);

/* The backward passes: y = softmax(x) or log_softmax(x) (n), the forward's output, and g (n),
 * the gradient of a loss with respect to y -> dx (n), its gradient with respect to x:
 *     softmax:      dx = y ∘ (g − y·g)
 *     log_softmax:  dx = g − exp(y) Σ_j g_j          (exp(y) is softmax(x))
 * dx may alias y or g (the same elements). */
void cattn_ssoftmax_backward(float *dx, ptrdiff_t incdx, const float *y, ptrdiff_t incy,
                             const float *g, ptrdiff_t incg, ptrdiff_t n);
void cattn_dsoftmax_backward(double *dx, ptrdiff_t incdx, const double *y, ptrdiff_t incy,
                             const double *g, ptrdiff_t incg, ptrdiff_t n);
void cattn_ssoftmax_backward_ref(float *dx, ptrdiff_t incdx, const float *y, ptrdiff_t incy,
                                 const float *g, ptrdiff_t incg, ptrdiff_t n);
void cattn_dsoftmax_backward_ref(double *dx, ptrdiff_t incdx, const double *y, ptrdiff_t incy,
                                 const double *g, ptrdiff_t incg, ptrdiff_t n);
void cattn_slog_softmax_backward(float *dx, ptrdiff_t incdx, const float *y, ptrdiff_t incy,
                                 const float *g, ptrdiff_t incg, ptrdiff_t n);
void cattn_dlog_softmax_backward(double *dx, ptrdiff_t incdx, const double *y, ptrdiff_t incy,
                                 const double *g, ptrdiff_t incg, ptrdiff_t n);
void cattn_slog_softmax_backward_ref(float *dx, ptrdiff_t incdx, const float *y, ptrdiff_t incy,
                                     const float *g, ptrdiff_t incg, ptrdiff_t n);
void cattn_dlog_softmax_backward_ref(double *dx, ptrdiff_t incdx, const double *y,
                                     ptrdiff_t incy, const double *g, ptrdiff_t incg, ptrdiff_t n);

/* ---- half precision: float16 (h) and bfloat16 (b) -------------------------------------------- */

/* The bits of a float16 or a bfloat16 number. */
typedef uint16_t cattn_half;

/* softmax, log_softmax and their backward (as above) over rows of float16 (h) or bfloat16 (b),
 * read as half: each row is converted to float as it is loaded, computed in float32, rounded once
 * as it is stored (the same bits as the float32 kernel on the converted row, rounded).  No float
 * copy of the operands beyond one row.  Return 0, or -1 when out of memory (a row over 4096). */
#define CATTN_HALF_ROW_ARGS \
    cattn_half *y, ptrdiff_t incy, const cattn_half *x, ptrdiff_t incx, ptrdiff_t n
#define CATTN_HALF_ROW_BACKWARD_ARGS                                                            \
    cattn_half *dx, ptrdiff_t incdx, const cattn_half *y, ptrdiff_t incy, const cattn_half *g, \
        ptrdiff_t incg, ptrdiff_t n
int cattn_hsoftmax(CATTN_HALF_ROW_ARGS);
int cattn_bsoftmax(CATTN_HALF_ROW_ARGS);
int cattn_hsoftmax_ref(CATTN_HALF_ROW_ARGS);
int cattn_bsoftmax_ref(CATTN_HALF_ROW_ARGS);
int cattn_hlog_softmax(CATTN_HALF_ROW_ARGS);
int cattn_blog_softmax(CATTN_HALF_ROW_ARGS);
int cattn_hlog_softmax_ref(CATTN_HALF_ROW_ARGS);
int cattn_blog_softmax_ref(CATTN_HALF_ROW_ARGS);
int cattn_hsoftmax_backward(CATTN_HALF_ROW_BACKWARD_ARGS);
int cattn_bsoftmax_backward(CATTN_HALF_ROW_BACKWARD_ARGS);
int cattn_hsoftmax_backward_ref(CATTN_HALF_ROW_BACKWARD_ARGS);
int cattn_bsoftmax_backward_ref(CATTN_HALF_ROW_BACKWARD_ARGS);
int cattn_hlog_softmax_backward(CATTN_HALF_ROW_BACKWARD_ARGS);
int cattn_blog_softmax_backward(CATTN_HALF_ROW_BACKWARD_ARGS);
int cattn_hlog_softmax_backward_ref(CATTN_HALF_ROW_BACKWARD_ARGS);
int cattn_blog_softmax_backward_ref(CATTN_HALF_ROW_BACKWARD_ARGS);

/* c (m,n) = a (m,k) · b (k,n), all float16 (h) or bfloat16 (b), read as half: converted while b
 * is packed and a's rows are loaded, summed in float32, rounded once as c is stored (the bits of
 * the float32 GEMM on the converted operands, rounded).  Return 0, or -1 when out of memory. */
#define CATTN_HALF_GEMM_ARGS                                                                     \
    cattn_half *c, ptrdiff_t rsc, ptrdiff_t csc, const cattn_half *a, ptrdiff_t rsa,            \
        ptrdiff_t csa, const cattn_half *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t m,          \
        ptrdiff_t n, ptrdiff_t k
int cattn_hgemm(CATTN_HALF_GEMM_ARGS);
int cattn_bgemm(CATTN_HALF_GEMM_ARGS);
int cattn_hgemm_ref(CATTN_HALF_GEMM_ARGS);
int cattn_bgemm_ref(CATTN_HALF_GEMM_ARGS);

/* ---- scaled dot-product attention ------------------------------------------------------------ */

/* The kernels of one dispatch level (dispatch.h).  cattn_kernels_now() is the current level's
 * table; a call that reads it once runs on that level to the end, whatever cattn_set_level does
 * meanwhile. */
typedef struct cattn_kernel_table cattn_kernel_table;
const cattn_kernel_table *cattn_kernels_now(void);

/* What may a query attend? */
typedef enum {
    CATTN_MASK_NONE = 0,   /* every key                                                     */
    CATTN_MASK_BOOL = 1,   /* mask is const unsigned char*: nonzero = may attend             */
    CATTN_MASK_ADD = 2     /* mask is const float* / const double*: added to the scores      */
} cattn_mask_kind;

/* One attention call, described once by the glue and read by every kernel below: the mask, the
 * scale, the optional weights output and the kernel table; the limits on each row's keys (a band
 * such as a sliding window or a causal alignment, sequence lengths), soft-capping and dropout.
 * Arrays with a head axis (mha) use the head strides hs*; a single attention ignores them.
 * Strides are in elements of the mask's and the weights' own types.  Fields left zero are off. */
typedef struct {
    cattn_mask_kind mask_kind;
    const void *mask;                /* BOOL / ADD: element (h,i,j) at mask[h*hsm + i*rsm + j*csm] */
    ptrdiff_t hsm, rsm, csm;
    double scale;                    /* multiplies q·k before the mask is applied                  */
    void *w;                         /* the weights (h,L,S) out, of the kernel's type, or NULL     */
    ptrdiff_t hsw, rsw, csw;
    const cattn_kernel_table *kt;    /* the level to run; NULL = cattn_kernels_now()               */
    void *lse;                       /* forward: the rows' log-sum-exp (h,L) out, of the kernel's  */
    ptrdiff_t hsl, rsl;              /* type, or NULL: what the backward needs instead of weights   */
    /* Row limits (kernels/row_rules.h), with limited = 1: row r, at position i = r mod per (per =
     * 0: L), attends only keys j with i + lo <= j <= i + hi and j < kv_len, and none if i >=
     * q_len. The kernels skip the blocks no row attends.  They combine with any mask kind.
     * Causal attention (query i attends keys j <= i, top-left aligned) is limits too: lo = -L,
     * hi = 0, kv_len = S, q_len = L, per = 0 (cattn_causal_limits). */
    int limited;
    ptrdiff_t lo, hi, kv_len, q_len, per;
    double softcap;                  /* > 0: scores s = softcap·tanh(s/softcap), after the scale   */
    double dropout_p;                /* in (0, 1): weights dropped with this probability, the kept */
    unsigned long long seed, stream; /* ones scaled by 1/(1−p); row r draws from stream + r/per   */
} cattn_attn_call;

/* Make c causal over (L, S): the limits above, leaving the rest of c as it is. */
void cattn_causal_limits(cattn_attn_call *c, ptrdiff_t L, ptrdiff_t S);

/* The default scale 1/sqrt(e) of an embedding size e > 0 (0 for e <= 0: the callers refuse it). */
double cattn_default_scale(ptrdiff_t e);

/* q (L,E), k (S,E), v (S,Ev) -> out (L,Ev), and optionally c->w (L,S) and c->lse (L):
 *     w = softmax(scale · q kᵀ + mask),  out = w v,  lse_i = log Σ_j exp(scale q_i·k_j + mask_ij)
 * A query row that may attend no key gets an output row of zeros, weights of zeros, lse -inf.
 * Returns 0, or -1 when out of memory for scratch. */
int cattn_sattention(float *out, ptrdiff_t rso, ptrdiff_t cso,
                     const float *q, ptrdiff_t rsq, ptrdiff_t csq,
                     const float *k, ptrdiff_t rsk, ptrdiff_t csk,
                     const float *v, ptrdiff_t rsv, ptrdiff_t csv,
                     ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev, const cattn_attn_call *c);
int cattn_dattention(double *out, ptrdiff_t rso, ptrdiff_t cso,
                     const double *q, ptrdiff_t rsq, ptrdiff_t csq,
                     const double *k, ptrdiff_t rsk, ptrdiff_t csk,
                     const double *v, ptrdiff_t rsv, ptrdiff_t csv,
                     ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev, const cattn_attn_call *c);
int cattn_sattention_ref(float *out, ptrdiff_t rso, ptrdiff_t cso,
                         const float *q, ptrdiff_t rsq, ptrdiff_t csq,
                         const float *k, ptrdiff_t rsk, ptrdiff_t csk,
                         const float *v, ptrdiff_t rsv, ptrdiff_t csv,
                         ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev,
                         const cattn_attn_call *c);
int cattn_dattention_ref(double *out, ptrdiff_t rso, ptrdiff_t cso,
                         const double *q, ptrdiff_t rsq, ptrdiff_t csq,
                         const double *k, ptrdiff_t rsk, ptrdiff_t csk,
                         const double *v, ptrdiff_t rsv, ptrdiff_t csv,
                         ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev,
                         const cattn_attn_call *c);

/* A strided stack of matrices: element (h, i, j) at p[h*hs + i*rs + j*cs] (strides in elements;
 * a matrix ignores hs, a vector uses cs only).  p == NULL means "absent" (a bias). */
typedef struct { const void *p; ptrdiff_t hs, rs, cs; } cattn_in;
typedef struct { void *p; ptrdiff_t hs, rs, cs; } cattn_out;

/* The backward of attention, flash style: from q (L,E), k (S,E), v (S,Ev), the forward's out
 * (L,Ev) and lse (L) (lse.cs is its stride), and dout (L,Ev), the gradient of the output ->
 * dq (L,E), dk (S,E), dv (S,Ev) and, when dmask.p is not NULL, dmask (L,S), the gradient of an
 * additive mask.  c describes the call as for the forward (its w and lse are not used):
 *     P = exp(scale q kᵀ + mask − lse)   (recomputed block by block, never stored)
 *     D = rowsum(dout ∘ out),  dS = P ∘ (dout vᵀ − D)
 *     dv = Pᵀ dout,  dq = scale dS k,  dk = scale dSᵀ q,  dmask = dS
 * A row that attended no key (lse = -inf) contributes nothing and gets dq = 0.  The results are
 * the same bits for any number of threads.  Returns 0, or -1 when out of memory for scratch. */
int cattn_sattention_backward(cattn_out dq, cattn_out dk, cattn_out dv, cattn_out dmask,
                              cattn_in q, cattn_in k, cattn_in v, cattn_in out, cattn_in lse,
                              cattn_in dout, ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev,
                              const cattn_attn_call *c);
int cattn_dattention_backward(cattn_out dq, cattn_out dk, cattn_out dv, cattn_out dmask,
                              cattn_in q, cattn_in k, cattn_in v, cattn_in out, cattn_in lse,
                              cattn_in dout, ptrdiff_t L, ptrdiff_t S, ptrdiff_t E, ptrdiff_t Ev,
                              const cattn_attn_call *c);
int cattn_sattention_backward_ref(cattn_out dq, cattn_out dk, cattn_out dv, cattn_out dmask,
                                  cattn_in q, cattn_in k, cattn_in v, cattn_in out, cattn_in lse,
                                  cattn_in dout, ptrdiff_t L, ptrdiff_t S, ptrdiff_t E,
                                  ptrdiff_t Ev, const cattn_attn_call *c);
int cattn_dattention_backward_ref(cattn_out dq, cattn_out dk, cattn_out dv, cattn_out dmask,
                                  cattn_in q, cattn_in k, cattn_in v, cattn_in out, cattn_in lse,
                                  cattn_in dout, ptrdiff_t L, ptrdiff_t S, ptrdiff_t E,
                                  ptrdiff_t Ev, const cattn_attn_call *c);

/* ---- additive (Bahdanau) attention ------------------------------------------------------- */

/* Its scores: the projected queries qp (L,h) = query W_qᵀ, keys kp (S,h) = key W_kᵀ and the
 * vector w (h) (w.cs is its stride) -> s (L,S):
 *     s_ij = Σ_t w_t · tanh(qp_it + kp_jt)
 * c (or NULL: every key) gives the row limits (its limited, lo, hi, kv_len, q_len, per; causal
 * is cattn_causal_limits) and the kernel table: a key a row does not attend gets s_ij = -inf
 * and is never read.  The (L,S,h) tensor of tanh features is never held: keys go by blocks
 * that fit in L1.  The softmax over keys and the weighted sum of the values are cattn's softmax
 * and matmul.  Returns 0, or -1 when out of memory for scratch. */
#define CATTN_ADDITIVE_ARGS                                                                    \
    cattn_out s, cattn_in qp, cattn_in kp, cattn_in w, ptrdiff_t L, ptrdiff_t S, ptrdiff_t h, \
        const cattn_attn_call *c
int cattn_sadditive_scores(CATTN_ADDITIVE_ARGS);
int cattn_dadditive_scores(CATTN_ADDITIVE_ARGS);
int cattn_sadditive_scores_ref(CATTN_ADDITIVE_ARGS);
int cattn_dadditive_scores_ref(CATTN_ADDITIVE_ARGS);

/* Their backward: from qp, kp, w and ds (L,S), the gradient of the scores -> dqp (L,h),
 * dkp (S,h), dw (h); with u_ijt = tanh(qp_it + kp_jt) and a_ijt = ds_ij w_t (1 − u_ijt²):
 *     dqp_it = Σ_j a_ijt,   dkp_jt = Σ_i a_ijt,   dw_t = Σ_ij ds_ij u_ijt
 * Entries with ds_ij = 0 (masked keys) add nothing, and keys outside c's limits are never read.
 * Returns 0, or -1 when out of memory. */
#define CATTN_ADDITIVE_BACKWARD_ARGS                                                           \
    cattn_out dqp, cattn_out dkp, cattn_out dw, cattn_in qp, cattn_in kp, cattn_in w,         \
        cattn_in ds, ptrdiff_t L, ptrdiff_t S, ptrdiff_t h, const cattn_attn_call *c
int cattn_sadditive_scores_backward(CATTN_ADDITIVE_BACKWARD_ARGS);
int cattn_dadditive_scores_backward(CATTN_ADDITIVE_BACKWARD_ARGS);
int cattn_sadditive_scores_backward_ref(CATTN_ADDITIVE_BACKWARD_ARGS);
int cattn_dadditive_scores_backward_ref(CATTN_ADDITIVE_BACKWARD_ARGS);

/* ---- multi-head attention ------------------------------------------------------------------ */

typedef struct {
    ptrdiff_t L, S;          /* query and key/value positions                                  */
    ptrdiff_t Eq, Ek, Ev;    /* embedding sizes of the query, key and value inputs             */
    ptrdiff_t H, d, dv, Eo;  /* heads, per-head query/key and value sizes, output size         */
} cattn_mha_dims;

/* What the multi-head forward keeps for its backward (cattn_smha with saved != NULL): every
 * head side by side in contiguous row-major matrices -- the projections q (L, H·d), k (S, H·d),
 * v (S, H·dv), the heads' outputs o (L, H·dv) -- and each head's rows' log-sum-exp lse (H, L). */
typedef struct { void *q, *k, *v, *o, *lse; } cattn_mha_saved;

/* xq (L,Eq), xk (S,Ek), xv (S,Ev); per head h: wq (H,Eq,d), wk (H,Ek,d), wv (H,Ev,dv),
 * wo (H,dv,Eo), biases bq (H,d), bk (H,d), bv (H,dv), bo (Eo); c's mask (H,L,S) -> out (L,Eo),
 * optionally c's weights w (H,L,S) and what the backward needs (saved, or NULL):
 *     out = sum_h attention(xq wq_h + bq_h, xk wk_h + bk_h, xv wv_h + bv_h; mask_h) wo_h + bo
 * which is "each head has its own W_q, W_k, W_v; concatenate the heads; multiply by W_o".
 * Returns 0, or -1 when out of memory. */
#define CATTN_MHA_ARGS                                                                         \
    cattn_out out, const cattn_mha_saved *saved, cattn_in xq, cattn_in xk, cattn_in xv,       \
        cattn_in wq, cattn_in wk, cattn_in wv, cattn_in wo, cattn_in bq, cattn_in bk,         \
        cattn_in bv, cattn_in bo, cattn_mha_dims n, const cattn_attn_call *c
int cattn_smha(CATTN_MHA_ARGS);
int cattn_dmha(CATTN_MHA_ARGS);
int cattn_smha_ref(CATTN_MHA_ARGS);
int cattn_dmha_ref(CATTN_MHA_ARGS);

/* The gradients of a multi-head call, each shaped as its input (p == NULL: not wanted): the
 * three inputs, the four projections, the four biases, and an additive mask (H,L,S). */
typedef struct { cattn_out xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo, mask; } cattn_mha_grads;

/* The backward of cattn_smha: from its inputs, what it saved and dout (L,Eo) -> g.  Per head,
 * with Y = the saved projections and dY their gradients:
 *     dbo = colsum dout,  dwo_h = o_hᵀ dout,  do_h = dout wo_hᵀ
 *     (dq_h, dk_h, dv_h) = attention backward (cattn_sattention_backward)
 *     dw_h = xᵀ dY_h,  db_h = colsum dY_h,  dx = Σ_h dY_h w_hᵀ    (for q, k and v each)
 * Returns 0, or -1 when out of memory. */
#define CATTN_MHA_BACKWARD_ARGS                                                                \
    const cattn_mha_grads *g, cattn_in dout, cattn_in xq, cattn_in xk, cattn_in xv,           \
        cattn_in wq, cattn_in wk, cattn_in wv, cattn_in wo, const cattn_mha_saved *saved,     \
        cattn_mha_dims n, const cattn_attn_call *c
int cattn_smha_backward(CATTN_MHA_BACKWARD_ARGS);
int cattn_dmha_backward(CATTN_MHA_BACKWARD_ARGS);
int cattn_smha_backward_ref(CATTN_MHA_BACKWARD_ARGS);
int cattn_dmha_backward_ref(CATTN_MHA_BACKWARD_ARGS);

/* ---- CPU dispatch and threads (cpu.c) ------------------------------------------------------- */

/* Levels: ref (portable C) on every CPU; avx2 and avx512 on x86-64, each needing the one before;
 * neon on ARM64.  CATTN_ARCH=ref|avx2|avx512|neon forces one (never one the CPU lacks). */
typedef enum {
    CATTN_LEVEL_REF = 0,
    CATTN_LEVEL_AVX2 = 1,
    CATTN_LEVEL_AVX512 = 2,
    CATTN_LEVEL_NEON = 3,
    CATTN_LEVEL_COUNT = 4
} cattn_level;
int cattn_level_available(cattn_level level);  /* 1 when this CPU and build offer it */

int cattn_init(void);                    /* probe the CPU, read CATTN_ARCH; idempotent          */
cattn_level cattn_level_best(void);      /* the best level this CPU and this build support      */
cattn_level cattn_level_current(void);   /* the level of cattn_kernels_now()                    */
int cattn_set_level(cattn_level level);  /* 0, or -1 if not available here; safe during calls   */
const char *cattn_level_name(cattn_level level);

/* Threads: CATTN_NUM_THREADS, else the CPUs this process may run on.  n < 1 restores that. */
int cattn_get_num_threads(void);
void cattn_set_num_threads(int n);

/* Stopping a long call (Ctrl-C): a thread marks its calls stoppable (cattn_set_stoppable(1));
 * cattn_request_stop() -- async-signal-safe, so a signal handler may call it -- then makes the
 * kernels of those calls (on every thread working for them) return at their next block, their
 * outputs unfinished; cattn_stop_requested() is what the kernels poll; cattn_clear_stop() clears
 * the request.  Calls of threads not marked stoppable never stop. */
void cattn_set_stoppable(int on);
void cattn_request_stop(void);
int cattn_stop_requested(void);
void cattn_clear_stop(void);

#ifdef __cplusplus
}
#endif
#endif /* CATTN_H */
