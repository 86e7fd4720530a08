"""A catalogue of bad input across the public API: each call raises ValueError or TypeError whose
message names the function and the argument (or gives the documented numeric result).
Never a SystemError, never a crash."""
import numpy as np
import pytest

import cattn

R = np.random.default_rng(0)
q = R.standard_normal((2, 4, 8))
k = R.standard_normal((2, 6, 8))
v = R.standard_normal((2, 6, 5))
x = R.standard_normal((2, 4, 8))
mha = cattn.MultiHeadAttention(8, 2, seed=0, dtype=np.float64)
W = [R.standard_normal(s) for s in ((2, 8, 4), (2, 8, 4), (2, 5, 3), (2, 3, 7))]
sdpa = cattn.scaled_dot_product_attention

CATALOGUE = [
    # --- matmul
    ("matmul rank 0", lambda: cattn.matmul(np.float64(1), np.ones(3)), ValueError, r"^matmul"),
    ("matmul inner dims", lambda: cattn.matmul(np.ones((2, 3)), np.ones((4, 2))), ValueError, r"^matmul: .*mismatch"),
    ("matmul complex", lambda: cattn.matmul(np.ones(3, complex), np.ones(3)), TypeError, r"^matmul: first operand has dtype complex128"),
    ("matmul object", lambda: cattn.matmul(np.ones(3), np.array([1, 2, None])), TypeError, r"^matmul: second operand has dtype object"),
    ("matmul str", lambda: cattn.matmul(np.array(["a"]), np.array(["b"])), TypeError, r"^matmul: first operand has dtype <U1"),
    ("matmul datetime", lambda: cattn.matmul(np.ones(2, "M8[s]"), np.ones(2)), TypeError, r"^matmul: first operand has dtype datetime64"),
    ("matmul out shape", lambda: cattn.matmul(np.ones((2, 3)), np.ones((3, 4)), out=np.empty((2, 5))), ValueError, r"matmul"),
    ("matmul out read-only", lambda: cattn.matmul(np.ones((2, 2)), np.ones((2, 2)), out=np.broadcast_to(np.zeros(2), (2, 2))), ValueError, r"read-only"),
    ("matmul out int", lambda: cattn.matmul(np.ones((2, 2)), np.ones((2, 2)), out=np.empty((2, 2), int)), TypeError, r"matmul"),
    # --- softmax
    ("softmax rank 0", lambda: cattn.softmax(np.float64(1.0)), ValueError, r"^softmax"),
    ("softmax complex", lambda: cattn.softmax(np.ones(3, complex)), TypeError, r"^softmax: input has dtype complex128"),
    ("softmax bytes", lambda: cattn.softmax(np.array([b"a"])), TypeError, r"^softmax: input has dtype \|S1"),
    ("softmax axis", lambda: cattn.softmax(np.ones((2, 3)), axis=2), np.exceptions.AxisError, r"axis 2 is out of bounds"),
    ("log_softmax object", lambda: cattn.log_softmax(np.array([None])), TypeError, r"^log_softmax: input has dtype object"),
    ("softmax out shape", lambda: cattn.softmax(np.ones(3), out=np.empty(4)), ValueError, r"softmax"),
    # --- scaled_dot_product_attention
    ("sdpa q/k sizes", lambda: sdpa(q, k[..., :7], v), ValueError, r"^scaled_dot_product_attention: query has embedding size 8 but key has 7"),
    ("sdpa k/v lengths", lambda: sdpa(q, k, v[:, :5]), ValueError, r"^scaled_dot_product_attention: key has 6 positions but value has 5"),
    ("sdpa rank query", lambda: sdpa(q[0, 0], k, v), ValueError, r"query must have at least 2 dimensions"),
    ("sdpa rank value", lambda: sdpa(q, k, v[0, 0]), ValueError, r"value must have at least 2 dimensions"),
    ("sdpa batch", lambda: sdpa(q, np.concatenate([k, k, k]), np.concatenate([v, v, v])), ValueError, r"batch dimensions do not broadcast: query \(2,\), key \(6,\)"),
    ("sdpa mask shape", lambda: sdpa(q, k, v, np.ones((4, 5), bool)), ValueError, r"attn_mask of shape \(4, 5\) does not broadcast"),
    ("sdpa mask batch", lambda: sdpa(q, k, v, np.ones((3, 4, 6), bool)), ValueError, r"attn_mask \(3,\)"),
    ("sdpa mask int", lambda: sdpa(q, k, v, np.ones((4, 6), int)), TypeError, r"attn_mask has dtype int64"),
    ("sdpa mask complex", lambda: sdpa(q, k, v, np.ones((4, 6), complex)), TypeError, r"attn_mask has dtype complex128"),
    ("sdpa mask str", lambda: sdpa(q, k, v, np.full((4, 6), "x")), TypeError, r"attn_mask has dtype <U1"),
    ("sdpa E=0", lambda: sdpa(q[..., :0], k[..., :0], v), ValueError, r"embedding size E is 0"),
    ("sdpa scale str", lambda: sdpa(q, k, v, scale="big"), TypeError, r"scale must be a real number"),
    ("sdpa scale complex", lambda: sdpa(q, k, v, scale=1j), TypeError, r"scale must be a real number"),
    ("sdpa scale array", lambda: sdpa(q, k, v, scale=np.ones(2)), TypeError, r"scale must be a real number"),
    ("sdpa query complex", lambda: sdpa(q.astype(complex), k, v), TypeError, r"query has dtype complex128"),
    ("sdpa key object", lambda: sdpa(q, k.astype(object), v), TypeError, r"key has dtype object"),
    ("sdpa value str", lambda: sdpa(q, k, v.astype(str)), TypeError, r"value has dtype <U"),
    ("sdpa out shape", lambda: sdpa(q, k, v, out=np.empty((2, 4, 8))), ValueError, r"attention"),
    ("attention gufunc core", lambda: cattn.attention(q, k, v[:, :5], 1.0), ValueError, r"^attention: "),
    ("masked gufunc mask dtype", lambda: cattn.masked_attention(q, k, v, np.ones((4, 6), complex), 1.0), TypeError, r"^masked_attention: the mask has dtype complex128"),
    # --- multi_head_attention
    ("mha features", lambda: cattn.multi_head_attention(q[..., :7], k, k, *W), ValueError, r"query has 7 features but q_weight"),
    ("mha k_weight", lambda: cattn.multi_head_attention(q, k, k, W[0], W[1][:, :7], W[2][:, :8], W[3]), ValueError, r"k_weight \(2, 7, 4\) should be"),
    ("mha out_weight", lambda: cattn.multi_head_attention(q, k, v, W[0], W[1], W[2], W[3][:, :2]), ValueError, r"out_weight \(2, 2, 7\) should be"),
    ("mha bias shape", lambda: cattn.multi_head_attention(q, k, v, *W, q_bias=np.ones(3)), ValueError, r"q_bias has shape \(3,\), expected \(2, 4\)"),
    ("mha key_lengths range", lambda: cattn.multi_head_attention(q, k, v, *W, key_lengths=np.array([1, 9])), ValueError, r"key_lengths must be in \[0, 6\]"),
    ("mha key_lengths dtype", lambda: cattn.multi_head_attention(q, k, v, *W, key_lengths=np.array([1.0, 2.0])), TypeError, r"key_lengths must be integers"),
    ("mha key_lengths shape", lambda: cattn.multi_head_attention(q, k, v, *W, key_lengths=np.array([1, 2, 3])), ValueError, r"key_lengths of shape \(3,\)"),
    ("mha mask heads", lambda: cattn.multi_head_attention(q, k, v, *W, attn_mask=np.ones((2, 3, 4, 6), bool)), ValueError, r"has 3 heads but num_heads is 2"),
    ("mha weight complex", lambda: cattn.multi_head_attention(q, k, v, W[0].astype(complex), *W[1:]), TypeError, r"q_weight has dtype complex128"),
    ("mha weight rank", lambda: cattn.multi_head_attention(q, k, v, W[0][0], *W[1:]), ValueError, r"q_weight must have at least 3 dimensions"),
    # --- MultiHeadAttention / Attention
    ("MHA divisible", lambda: cattn.MultiHeadAttention(10, 3), ValueError, r"embed_dim \(10\) must be divisible by num_heads \(3\)"),
    ("MHA num_heads 0", lambda: cattn.MultiHeadAttention(8, 0), ValueError, r"num_heads must be positive"),
    ("MHA num_heads float", lambda: cattn.MultiHeadAttention(8, 2.0), TypeError, r"num_heads must be an int"),
    ("MHA embed_dim bool", lambda: cattn.MultiHeadAttention(True, 1), TypeError, r"embed_dim must be an int"),
    ("MHA dtype", lambda: cattn.MultiHeadAttention(8, 2, dtype=np.int32), TypeError, r"dtype must be float32, float64, float16 or bfloat16, got"),
    ("Additive half dtype", lambda: cattn.AdditiveAttention(4, 4, 8, dtype=np.float16), TypeError, r"AdditiveAttention: dtype must be float32 or float64"),
    ("MHA call features", lambda: mha(x[..., :5]), ValueError, r"query has 5 features"),
    ("MHA call mask", lambda: mha(x, attn_mask=np.ones((3, 3), bool)), ValueError, r"attn_mask of shape \(3, 3\)"),
    ("MHA call lengths", lambda: mha(x, key_lengths=np.array([5, 1])), ValueError, r"key_lengths must be in \[0, 4\]"),
    ("MHA load missing", lambda: mha.load_state_dict({}), ValueError, r"missing keys"),
    ("MHA load shape", lambda: mha.load_state_dict(dict(mha.state_dict(), **{"out_proj.bias": np.ones(3)})), ValueError, r"out_proj.bias has shape \(3,\), expected \(8,\)"),
    ("MHA load dtype", lambda: mha.load_state_dict(dict(mha.state_dict(), **{"out_proj.bias": np.array(["a"] * 8)})), TypeError, r"out_proj.bias has dtype"),
    ("Attention kdim alone", lambda: cattn.Attention(kdim=3), ValueError, r"kdim/vdim need an embed_dim"),
    ("Attention call rank", lambda: cattn.Attention()(np.ones(3)), ValueError, r"query must have at least 2 dimensions"),
    # --- configuration and plotting
    ("set_level", lambda: cattn.set_level("sse2"), ValueError, r"unknown level 'sse2'"),
    ("set_num_threads", lambda: cattn.set_num_threads(-2), ValueError, r"between 1 and 256"),
    ("plot rank", lambda: cattn.plot_attention(np.ones(4)), ValueError, r"weights must be \(L, S\)"),
]


def test_the_catalogue_is_large():
    assert len(CATALOGUE) >= 40


@pytest.mark.parametrize("name,call,err,msg", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_input_raises_clearly(name, call, err, msg):
    with pytest.raises(err, match=msg) as info:
        call()
    assert not isinstance(info.value, SystemError)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["query", "key", "value", "mask"])
def test_nan_and_inf_give_the_documented_results(where, bad):
    """NaN and infinities reach exactly the rows and columns the maths says, with no exception
    and no floating-point warning: a -inf mask entry removes a key; +inf - inf is NaN."""
    qq, kk, vv = q.copy(), np.abs(k), v.copy()  # keys >= 0: the sign of q·k follows q
    mask = np.zeros((4, 6))
    {"query": qq, "key": kk, "value": vv, "mask": mask}[where][..., 0, 0] = bad
    with np.errstate(all="raise"):
        out = sdpa(qq, kk, vv, mask)
    finite = np.isfinite(out)
    if where == "mask" and bad == -np.inf:  # query 0 may not attend key 0
        allowed = np.ones((4, 6), bool)
        allowed[0, 0] = False
        np.testing.assert_allclose(out, sdpa(qq, kk, vv, allowed), 1e-12)
    elif where == "query" and bad == -np.inf:  # every score of row 0 is -inf: nothing to
        np.testing.assert_array_equal(out[:, 0], 0)  # attend, so zeros (the documented policy)
        assert finite[:, 1:].all()
    elif where in ("query", "mask"):  # row 0 of every batch item is NaN, the rest untouched
        assert np.isnan(out[:, 0]).all() and finite[:, 1:].all()
    elif where == "value":  # column 0 carries it, the other columns do not
        assert not finite[..., 0].any() and finite[..., 1:].all()
    elif np.isnan(bad):  # a NaN key poisons every query's scores
        assert np.isnan(out).all()
    else:  # an infinite key: rows whose score for it is +inf become NaN (inf - inf); -inf rows
        sign = np.sign(qq[..., 0]) * np.sign(bad)  # drop the key instead and stay finite
        assert np.isnan(out[sign > 0]).all() and finite[sign < 0].all()
