/* glue/docs.h -- the docstrings of the gufuncs.  Each opens with the call's signature with real
 * argument names: python/cattn/_signatures.py makes that line the ufunc's one signature
 * (__doc__ and __signature__) in place of NumPy's generated x1, x2, ... */
#ifndef CATTN_DOCS_H
#define CATTN_DOCS_H

#define DOC_MATMUL \
"matmul(a, b, /, out=None, *, axes=None, axis=None)\n\n" \
"Matrix product with np.matmul's contract: 1-D operands are promoted (and the added\n" \
"dimension removed afterwards), batch dimensions broadcast, out= and axes= work.\n" \
"float32 and float64 loops; integer inputs compute in float64.\n\n" \
">>> import numpy as np, cattn\n" \
">>> cattn.matmul(np.ones((2, 3)), np.ones((3, 4))).shape\n" \
"(2, 4)\n"

#define DOC_SOFTMAX \
"softmax(x, /, out=None, *, axis=-1)\n\n" \
"y_i = exp(x_i - max x) / sum_j exp(x_j - max x) along `axis` (default: the last).\n\n" \
"Numerics: the max is subtracted first, so large inputs (1e4) neither overflow nor give NaN.\n" \
"A -inf entry gets weight 0; a row that is entirely -inf gives zeros (not NaN); a NaN\n" \
"anywhere in a row makes that whole row NaN; +inf entries give NaN (inf - inf).\n\n" \
">>> import numpy as np, cattn\n" \
">>> cattn.softmax(np.array([0.0, np.log(3.0)]))\n" \
"array([0.25, 0.75])\n"

#define DOC_LOG_SOFTMAX \
"log_softmax(x, /, out=None, *, axis=-1)\n\n" \
"y_i = x_i - max x - log sum_j exp(x_j - max x) along `axis` (default: the last).\n" \
"Same policy as softmax, except that an all -inf row gives -inf (the log of 0).\n\n" \
">>> import numpy as np, cattn\n" \
">>> cattn.log_softmax(np.array([0.0, 0.0]))\n" \
"array([-0.69314718, -0.69314718])\n"

#define DOC_ATTENTION \
"attention(q, k, v, scale, /, out=None)\n\n" \
"Scaled dot-product attention: out = softmax(scale * q @ k^T) @ v with q (..., L, E),\n" \
"k (..., S, E), v (..., S, Ev) -> out (..., L, Ev); leading dims broadcast, scale too.\n" \
"scale has no default here (a ufunc takes no optional inputs): for the default 1/sqrt(E), masks,\n" \
"causal attention and weights use cattn.scaled_dot_product_attention(q, k, v, ...).\n\n" \
">>> import numpy as np, cattn\n" \
">>> q = k = v = np.ones((2, 3, 4))\n" \
">>> cattn.attention(q, k, v, 0.5).shape\n" \
"(2, 3, 4)\n"

#define DOC_CAUSAL_ATTENTION \
"causal_attention(q, k, v, scale, /, out=None)\n\n" \
"As attention, but query i attends only keys j <= i (top-left aligned, as PyTorch's\n" \
"is_causal=True); masked key tiles are skipped, not computed.\n\n" \
">>> import numpy as np, cattn\n" \
">>> v = np.array([[1.0], [3.0]])\n" \
">>> cattn.causal_attention(np.zeros((2, 1)), np.zeros((2, 1)), v, 1.0)\n" \
"array([[1.],\n       [2.]])\n"

#define DOC_MASKED_ATTENTION \
"masked_attention(q, k, v, mask, scale, /, out=None)\n\n" \
"As attention, with a mask (..., L, S): boolean (True = may attend) or floating (added to\n" \
"the scores). A query row that may attend nothing gives an output row of zeros.\n\n" \
">>> import numpy as np, cattn\n" \
">>> v = np.array([[1.0], [3.0]])\n" \
">>> mask = np.array([[True, False], [False, False]])\n" \
">>> cattn.masked_attention(np.zeros((2, 1)), np.zeros((2, 1)), v, mask, 1.0)\n" \
"array([[1.],\n       [0.]])\n"

#define DOC_ATTENTION_WEIGHTS \
"attention_weights(q, k, v, mask, scale, /, out=(None, None))\n\n" \
"As masked_attention, and also returns the weights softmax(scale * q @ k^T + mask), (..., L, S).\n\n" \
">>> import numpy as np, cattn\n" \
">>> out, w = cattn.attention_weights(np.zeros((1, 1)), np.zeros((2, 1)), np.eye(2), np.ones((1, 2), bool), 1.0)\n" \
">>> w\n" \
"array([[0.5, 0.5]])\n"

#define DOC_MHA \
"multi_head_attention(xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo, mask, scale, /, out=None)\n\n" \
"The multi-head attention forward pass with per-head weights (cattn.multi_head_attention_ufunc):\n\n" \
"    out = sum_h attention(xq wq[h] + bq[h], xk wk[h] + bk[h], xv wv[h] + bv[h]; mask[h]) wo[h] + bo\n\n" \
"that is: each head has its own W_q, W_k, W_v; the heads' outputs are concatenated and\n" \
"multiplied by W_o. Shapes: xq (L,Eq), xk (S,Ek), xv (S,Ev), wq (H,Eq,d), wk (H,Ek,d),\n" \
"wv (H,Ev,dv), wo (H,dv,Eo), bq/bk (H,d), bv (H,dv), bo (Eo), mask (H,L,S) boolean or additive.\n" \
"Use cattn.multi_head_attention or cattn.MultiHeadAttention for keywords and defaults.\n\n" \
">>> import numpy as np, cattn\n" \
">>> x = np.ones((3, 4)); w = np.ones((2, 4, 2)); b = np.zeros((2, 2))\n" \
">>> cattn.multi_head_attention_ufunc(x, x, x, w, w, w, np.ones((2, 2, 4)), b, b, b, np.zeros(4), np.ones((2, 3, 3), bool), 0.5).shape\n" \
"(3, 4)\n"

#define DOC_MHA_WEIGHTS \
"multi_head_attention_weights(xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo, mask, scale, /, out=(None, None))\n\n" \
"As multi_head_attention, and also returns the per-head weights (H, L, S).\n\n" \
">>> import numpy as np, cattn\n" \
">>> x = np.ones((3, 4)); w = np.ones((2, 4, 2)); b = np.zeros((2, 2))\n" \
">>> out, wts = cattn.multi_head_attention_weights(x, x, x, w, w, w, np.ones((2, 2, 4)), b, b, b, np.zeros(4), np.ones((2, 3, 3), bool), 0.5)\n" \
">>> wts.shape\n" \
"(2, 3, 3)\n"

/* ---- gradients ---------------------------------------------------------------------------- */

#define DOC_ADDITIVE_SCORES \
"additive_attention_scores(qp, kp, w, /, out=None, *, axes=None)\n\n" \
"Additive (Bahdanau) attention's scores: from the projected queries qp (..., L, h) = query W_q^T,\n" \
"the projected keys kp (..., S, h) = key W_k^T and w (..., h) (w_v's row),\n" \
"s_ij = sum_t w_t tanh(qp_it + kp_jt), shape (..., L, S). The (L, S, h) tensor of tanh\n" \
"features is never held in memory: keys go by blocks that fit in the L1 cache. The softmax over\n" \
"keys and the weighted sum of the values are cattn.softmax and cattn.matmul; the whole layer is\n" \
"cattn.additive_attention.\n\n" \
">>> import numpy as np, cattn\n" \
">>> qp = np.array([[0.5, -0.5]]); kp = np.array([[0.0, 0.0], [1.0, 1.0]])\n" \
">>> np.round(cattn.additive_attention_scores(qp, kp, np.array([1.0, 2.0])), 4)\n" \
"array([[-0.4621,  1.8294]])\n"

#define DOC_ADDITIVE_SCORES_BACKWARD \
"additive_attention_scores_backward(qp, kp, w, ds, /, out=(None, None, None), *, axes=None)\n\n" \
"The backward of additive_attention_scores: from its inputs and ds (..., L, S), the gradient of\n" \
"a loss with respect to the scores, (dqp (..., L, h), dkp (..., S, h), dw (..., h)); with\n" \
"u_ijt = tanh(qp_it + kp_jt) and a_ijt = ds_ij w_t (1 - u_ijt^2): dqp_it = sum_j a_ijt,\n" \
"dkp_jt = sum_i a_ijt, dw_t = sum_ij ds_ij u_ijt. Entries with ds_ij = 0 (masked keys) are\n" \
"skipped.\n\n" \
">>> import numpy as np, cattn\n" \
">>> qp = np.zeros((1, 2)); kp = np.zeros((3, 2)); w = np.array([1.0, -1.0])\n" \
">>> dqp, dkp, dw = cattn.additive_attention_scores_backward(qp, kp, w, np.ones((1, 3)))\n" \
">>> dqp, dw\n" \
"(array([[ 3., -3.]]), array([0., 0.]))\n"

#define DOC_SOFTMAX_BACKWARD \
"softmax_backward(y, g, /, out=None, *, axis=-1)\n\n" \
"The backward of softmax: from y = softmax(x) and g, the gradient of a loss with respect to y,\n" \
"dx = y * (g - sum(y * g)) along `axis`, the gradient with respect to x. With y the attention\n" \
"weights P and g their gradient dP, this is attention's dS = P * (dP - rowsum(P * dP)), where\n" \
"rowsum(P * dP) = rowsum(dO * O) is the D of the flash backward.\n\n" \
">>> import numpy as np, cattn\n" \
">>> y = cattn.softmax(np.array([0.0, 0.0]))\n" \
">>> cattn.softmax_backward(y, np.array([1.0, 0.0]))\n" \
"array([ 0.25, -0.25])\n"

#define DOC_LOG_SOFTMAX_BACKWARD \
"log_softmax_backward(y, g, /, out=None, *, axis=-1)\n\n" \
"The backward of log_softmax: from y = log_softmax(x) and g, dx = g - exp(y) * sum(g) along\n" \
"`axis` (exp(y) is softmax(x)).\n\n" \
">>> import numpy as np, cattn\n" \
">>> y = cattn.log_softmax(np.array([0.0, 0.0]))\n" \
">>> cattn.log_softmax_backward(y, np.array([1.0, 0.0]))\n" \
"array([ 0.5, -0.5])\n"

#define DOC_ATTENTION_WITH_LSE \
"attention_with_lse(q, k, v, scale, /, out=(None, None))\n\n" \
"As attention, also returning lse (..., L), the log-sum-exp of each row's scaled scores,\n" \
"lse_i = log sum_j exp(scale q_i.k_j): all attention_backward needs to recompute the weights,\n" \
"P = exp(scale q k^T - lse), so no (L, S) matrix is kept between the passes. A row that\n" \
"attends no key has lse = -inf.\n\n" \
">>> import numpy as np, cattn\n" \
">>> out, lse = cattn.attention_with_lse(np.zeros((1, 2)), np.zeros((3, 2)), np.ones((3, 1)), 1.0)\n" \
">>> np.allclose(lse, np.log(3))\n" \
"True\n"

#define DOC_ATTENTION_BACKWARD \
"attention_backward(q, k, v, o, lse, dout, scale, /, out=(None, None, None))\n\n" \
"The backward of attention, flash style: from the inputs, the forward's output o and lse\n" \
"(attention_with_lse) and dout, the gradient of a loss with respect to o -> (dq, dk, dv):\n\n" \
"    P = exp(scale q k^T - lse)     (recomputed tile by tile, never stored)\n" \
"    D = rowsum(dout * o),  dS = P * (dout v^T - D)\n" \
"    dv = P^T dout,  dq = scale dS k,  dk = scale dS^T q\n\n" \
"Leading dims broadcast; the results are the same bits for any number of threads.\n\n" \
">>> import numpy as np, cattn\n" \
">>> q, k, v = np.ones((2, 4)), np.ones((3, 4)), np.arange(6.0).reshape(3, 2)\n" \
">>> out, lse = cattn.attention_with_lse(q, k, v, 0.5)\n" \
">>> dq, dk, dv = cattn.attention_backward(q, k, v, out, lse, np.ones((2, 2)), 0.5)\n" \
">>> dv  # every query weighs every key 1/3\n" \
"array([[0.66666667, 0.66666667],\n       [0.66666667, 0.66666667],\n       [0.66666667, 0.66666667]])\n"

#define DOC_MHA_FORWARD \
"multi_head_attention_forward(xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo, mask, scale, /, out=(None,) * 6)\n\n" \
"As multi_head_attention, also returning what multi_head_attention_backward needs:\n" \
"(out, q (..., L, H, d), k (..., S, H, d), v (..., S, H, dv), o (..., L, H, dv), lse (..., H, L)) --\n" \
"each head's projections and output, side by side, and the log-sum-exp of its rows.\n\n" \
">>> import numpy as np, cattn\n" \
">>> x = np.ones((3, 4)); w = [np.ones((2, 4, 1))] * 3 + [np.ones((2, 1, 4))]\n" \
">>> b = [np.zeros((2, 1))] * 3 + [np.zeros(4)]\n" \
">>> out, q, k, v, o, lse = cattn.multi_head_attention_forward(x, x, x, *w, *b, np.ones((2, 3, 3), bool), 1.0)\n" \
">>> q.shape, lse.shape\n" \
"((3, 2, 1), (2, 3))\n"

#define DOC_MHA_BACKWARD \
"multi_head_attention_backward(xq, xk, xv, wq, wk, wv, wo, mask, q, k, v, o, lse, dout, scale, /, out=(None,) * 11)\n\n" \
"The backward of multi_head_attention from multi_head_attention_forward's saved arrays and dout\n" \
"(..., L, Eo) -> (dxq, dxk, dxv, dwq, dwk, dwv, dwo, dbq, dbk, dbv, dbo), each shaped as its input\n" \
"with the call's batch dims (cattn.vjp sums them over the dims an argument was broadcast along):\n\n" \
"    dbo = colsum dout,  dwo_h = o_h^T dout,  do_h = dout wo_h^T\n" \
"    (dq_h, dk_h, dv_h) = attention_backward of head h\n" \
"    dw_h = x^T dY_h,  db_h = colsum dY_h,  dx = sum_h dY_h w_h^T   (for q, k and v)\n\n" \
">>> import numpy as np, cattn\n" \
">>> rng = np.random.default_rng(0)\n" \
">>> x = rng.standard_normal((3, 4)); w = [rng.standard_normal(s) for s in [(1, 4, 2)] * 3 + [(1, 2, 4)]]\n" \
">>> b = [np.zeros((1, 2))] * 3 + [np.zeros(4)]; mask = np.ones((1, 3, 3), bool)\n" \
">>> out, *saved = cattn.multi_head_attention_forward(x, x, x, *w, *b, mask, 0.5)\n" \
">>> grads = cattn.multi_head_attention_backward(x, x, x, *w, mask, *saved, np.ones((3, 4)), 0.5)\n" \
">>> [g.shape for g in grads[:4]]\n" \
"[(3, 4), (3, 4), (3, 4), (1, 4, 2)]\n"

#define DOC_CAUSAL_ATTENTION_WITH_LSE \
"causal_attention_with_lse(q, k, v, scale, /, out=(None, None))\n\n" \
"As attention_with_lse, causal (query i attends keys j <= i).\n\n" \
">>> import numpy as np, cattn\n" \
">>> out, lse = cattn.causal_attention_with_lse(np.zeros((2, 1)), np.zeros((2, 1)), np.ones((2, 1)), 1.0)\n" \
">>> np.allclose(lse, np.log([1, 2]))  # the first query sees one key, the second two\n" \
"True\n"

#define DOC_MASKED_ATTENTION_WITH_LSE \
"masked_attention_with_lse(q, k, v, mask, scale, /, out=(None, None))\n\n" \
"As attention_with_lse, with a boolean (True = may attend) or additive mask (..., L, S).\n\n" \
">>> import numpy as np, cattn\n" \
">>> mask = np.array([[True, False]])\n" \
">>> out, lse = cattn.masked_attention_with_lse(np.zeros((1, 1)), np.zeros((2, 1)), np.ones((2, 1)), mask, 1.0)\n" \
">>> float(lse[0])\n" \
"0.0\n"

#define DOC_CAUSAL_ATTENTION_BACKWARD \
"causal_attention_backward(q, k, v, o, lse, dout, scale, /, out=(None, None, None))\n\n" \
"As attention_backward, for causal_attention_with_lse: the tiles above the diagonal are\n" \
"skipped.\n\n" \
">>> import numpy as np, cattn\n" \
">>> q = k = np.zeros((2, 1)); v = np.array([[1.0], [3.0]])\n" \
">>> o, lse = cattn.causal_attention_with_lse(q, k, v, 1.0)\n" \
">>> dq, dk, dv = cattn.causal_attention_backward(q, k, v, o, lse, np.ones((2, 1)), 1.0)\n" \
">>> dv  # key 0 has weight 1 + 1/2, key 1 weight 1/2\n" \
"array([[1.5],\n       [0.5]])\n"

#define DOC_MASKED_ATTENTION_BACKWARD \
"masked_attention_backward(q, k, v, mask, o, lse, dout, scale, /, out=(None, None, None))\n\n" \
"As attention_backward, for masked_attention_with_lse (boolean or additive mask).\n\n" \
">>> import numpy as np, cattn\n" \
">>> q = k = np.zeros((2, 1)); v = np.array([[1.0], [3.0]])\n" \
">>> mask = np.array([[True, True], [False, False]])  # the second query attends nothing\n" \
">>> o, lse = cattn.masked_attention_with_lse(q, k, v, mask, 1.0)\n" \
">>> cattn.masked_attention_backward(q, k, v, mask, o, lse, np.ones((2, 1)), 1.0)[2]\n" \
"array([[0.5],\n       [0.5]])\n"

#define DOC_MASKED_ATTENTION_BACKWARD_DMASK \
"masked_attention_backward_dmask(q, k, v, mask, o, lse, dout, scale, /, out=(None, None, None, None))\n\n" \
"As masked_attention_backward, and the gradient of an additive mask,\n" \
"dmask = P * (dP - D) -- dS, the gradient of the scores (..., L, S).\n\n" \
">>> import numpy as np, cattn\n" \
">>> q = k = np.zeros((1, 1)); v = np.array([[1.0], [3.0]]); k = np.zeros((2, 1))\n" \
">>> mask = np.zeros((1, 2))\n" \
">>> o, lse = cattn.masked_attention_with_lse(q, k, v, mask, 1.0)\n" \
">>> cattn.masked_attention_backward_dmask(q, k, v, mask, o, lse, np.ones((1, 1)), 1.0)[3]\n" \
"array([[-0.5,  0.5]])\n"

#endif
