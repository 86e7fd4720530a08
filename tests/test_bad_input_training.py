"""The hostile-input catalogue for what came after the forward library (issue 24): pullbacks,
layers and their pullbacks, the KV cache, gradcheck, the optimisers, the modern keywords
(grouped-query heads, lengths, dropout and its seed, soft-capping, structured masks). Each call
raises ValueError or TypeError naming the function and the argument; each pattern is matched,
so a case with a vaguer message, another exception or none fails."""
import numpy as np
import pytest

import cattn
from cattn import nn

R = np.random.default_rng(0)
q = R.standard_normal((2, 4, 4, 8))
kv = R.standard_normal((2, 2, 6, 8))
x = R.standard_normal((2, 5, 8)).astype(np.float32)
sdpa = cattn.scaled_dot_product_attention
mha = cattn.MultiHeadAttention(8, 4, num_kv_heads=2, seed=0, dropout=0.1)
lin = nn.Linear(8, 3)


def _pullback(fn, *args, **kw):
    return cattn.vjp(fn, *args, **kw)[1]


def _layer_pullback(layer, *args, **kw):
    return layer.vjp(*args, **kw)[1]


CATALOGUE = [
    # --- vjp and the functional pullbacks
    ("vjp unknown function", lambda: cattn.vjp(np.add, x, x), TypeError, r"^vjp: no gradient rule for 'add'"),
    ("vjp matmul keyword", lambda: cattn.vjp(cattn.matmul, x, x.T, axis=0), TypeError, r"^vjp\(matmul\): unsupported keywords \['axis'\]"),
    ("vjp sdpa mask twice", lambda: cattn.vjp(sdpa, q, q, q, np.ones((4, 4), bool), attn_mask=np.ones((4, 4), bool)), TypeError, r"attn_mask given both positionally and by keyword"),
    ("pullback tuple for one output", lambda: _pullback(cattn.softmax, x)((np.ones_like(x),)), TypeError, r"^softmax pullback: grad_out is one array of the output's shape \(2, 5, 8\), got a tuple of 1"),
    ("pullback None", lambda: _pullback(cattn.softmax, x)(None), TypeError, r"^softmax: pullback needs a gradient for the output, got None"),
    ("pullback shape", lambda: _pullback(cattn.matmul, x, x.swapaxes(-1, -2))(np.ones((2, 5, 4))), ValueError, r"^matmul pullback: grad_out has shape \(2, 5, 4\) but the output has shape \(2, 5, 5\)"),
    ("pullback complex", lambda: _pullback(cattn.log_softmax, x)(np.ones(x.shape, complex)), TypeError, r"^log_softmax pullback: grad_out has dtype complex128"),
    ("pullback weights pair", lambda: _pullback(sdpa, q, q, q, return_weights=True)(np.ones((2, 4, 4, 8))), TypeError, r"the forward returned \(output, weights\); pass \(grad_output, grad_weights\)"),
    ("pullback weights with dropout", lambda: _pullback(sdpa, q, q, q, dropout_p=0.5, seed=1, return_weights=True)((np.ones((2, 4, 4, 8)), np.ones((2, 4, 4, 4)))), NotImplementedError, r"softcap or dropout_p is not supported"),
    ("mha pullback weights", lambda: _pullback(cattn.multi_head_attention, q[0], q[0], q[0], *[np.ones((2, 8, 4))] * 3, np.ones((2, 4, 8)), return_weights=True)((np.ones((4, 4, 8)), np.ones((4, 4, 4)))), ValueError, r"multi_head_attention pullback: gradients through the returned weights are not computed"),
    ("cross_entropy cotangent shape", lambda: _pullback(nn.cross_entropy, np.zeros((2, 4)), np.array([1, 3]))(np.ones(3)), ValueError, r"^cross_entropy pullback: grad_out has shape \(3,\) but the output has shape \(\)"),
    ("cross_entropy cotangent str", lambda: _pullback(nn.cross_entropy, np.zeros((2, 4)), np.array([1, 3]))("1"), TypeError, r"^cross_entropy pullback: grad_out has dtype <U1"),
    ("cross_entropy targets float", lambda: nn.cross_entropy(np.zeros((2, 4)), np.array([1.0, 3.0])), TypeError, r"^cross_entropy: targets must be integers"),
    ("cross_entropy target range", lambda: nn.cross_entropy(np.zeros((2, 4)), np.array([1, 4])), ValueError, r"^cross_entropy: targets must be in \[0, 4\) or ignore_index=-100, got 4"),
    ("cross_entropy shapes", lambda: nn.cross_entropy(np.zeros((2, 4)), np.array([1, 2, 3])), ValueError, r"^cross_entropy: targets of shape \(3,\) should have the shape of logits without its class axis"),
    # --- layers and their pullbacks
    ("Linear pullback transposed", lambda: _layer_pullback(lin, x)(np.ones((5, 2, 3), np.float32)), ValueError, r"^Linear.vjp pullback: the cotangent has shape \(5, 2, 3\) but the output has shape \(2, 5, 3\)"),
    ("Linear pullback dtype", lambda: _layer_pullback(lin, x)(np.ones((2, 5, 3))), TypeError, r"^Linear.vjp pullback: the cotangent has dtype float64 but the output has dtype float32"),
    ("Linear input features", lambda: lin(np.ones((2, 7))), ValueError, r"^Linear: input has shape \(2, 7\), its last dimensions must be \(8,\)"),
    ("LayerNorm pullback tuple", lambda: _layer_pullback(nn.LayerNorm(8), x)((np.ones_like(x),)), TypeError, r"^LayerNorm.vjp pullback: the cotangent is one array"),
    ("Embedding index range", lambda: nn.Embedding(4, 2)(np.array([4])), ValueError, r"^Embedding"),
    ("Embedding float index", lambda: nn.Embedding(4, 2)(np.array([1.0])), TypeError, r"^Embedding"),
    ("PositionalEncoding too long", lambda: nn.PositionalEncoding(8, max_len=4)(x), ValueError, r"^PositionalEncoding: 5 positions but max_len is 4"),
    ("MHA pullback transposed", lambda: _layer_pullback(mha, x)(np.ones((5, 2, 8), np.float32)), ValueError, r"^MultiHeadAttention.vjp pullback: the cotangent has shape \(5, 2, 8\) but the output has shape \(2, 5, 8\)"),
    ("MHA pullback dtype", lambda: _layer_pullback(mha, x)(np.ones((2, 5, 8))), TypeError, r"^MultiHeadAttention.vjp pullback: the cotangent has dtype float64"),
    ("MHA pullback weights grad", lambda: _layer_pullback(mha, x, return_weights=True)((np.ones((2, 5, 8), np.float32), np.ones((2, 5, 5), np.float32))), ValueError, r"^MultiHeadAttention.vjp pullback: pass grad_output or \(grad_output, None\)"),
    ("MHA num_kv_heads", lambda: cattn.MultiHeadAttention(8, 4, num_kv_heads=3), ValueError, r"num_kv_heads"),
    ("MHA dropout range", lambda: cattn.MultiHeadAttention(8, 4, dropout=1.0), ValueError, r"dropout"),
    ("Additive pullback shape", lambda: _layer_pullback(cattn.AdditiveAttention(8, 8, 6), x)(np.ones((5, 2, 8), np.float32)), ValueError, r"additive_attention pullback: grad_out has shape \(5, 2, 8\)"),
    # --- the KV cache
    ("cache batch", lambda: mha(x[:1, :1], cache=mha.new_cache((2,), 4)), ValueError, r"the input's batch shape \(1,\) does not match the cache's \(2,\)"),
    ("cache full", lambda: mha(x, cache=mha.new_cache((2,), 4)), ValueError, r"the cache holds 0 of max_len=4 positions; 5 more do not fit"),
    ("cache mask", lambda: mha(x, cache=mha.new_cache((2,), 8), is_causal=True), ValueError, r"with a cache the mask is the cache's"),
    ("cache cross", lambda: mha(x, x[:, :2], cache=mha.new_cache((2,), 8)), ValueError, r"a cache is for self-attention"),
    ("cache type", lambda: mha(x, cache={}), TypeError, r"cache must come from new_cache"),
    ("cache other module", lambda: mha(x, cache=cattn.MultiHeadAttention(8, 4, num_kv_heads=2).new_cache((2,), 8)), ValueError, r"this cache belongs to another module"),
    ("cache max_len", lambda: mha.new_cache((2,), 0), ValueError, r"new_cache: max_len must be positive"),
    ("cache batch_shape", lambda: mha.new_cache(("a",), 4), TypeError, r"new_cache: batch_shape must be a tuple of integers"),
    ("cache negative batch", lambda: mha.new_cache((-1,), 4), ValueError, r"new_cache: batch_shape must be non-negative"),
    # --- modern keywords
    ("gqa heads", lambda: sdpa(q[:, :3], kv, kv, enable_gqa=True), ValueError, r"enable_gqa: the query's 3 heads are not a multiple of the key's and value's 2"),
    ("gqa rank", lambda: sdpa(q[0, 0], kv[0, 0], kv[0, 0], enable_gqa=True), ValueError, r"enable_gqa needs a head axis"),
    ("gqa mask heads", lambda: sdpa(q, kv, kv, np.ones((3, 4, 6), bool), enable_gqa=True), ValueError, r"attn_mask of shape \(3, 4, 6\) has 3 heads but the query has 4"),
    ("key_lengths range", lambda: sdpa(q, q, q, key_lengths=np.array([5, 1])[:, None]), ValueError, r"key_lengths must be in \[0, 4\], got values from 1 to 5"),
    ("key_lengths huge", lambda: sdpa(q, q, q, key_lengths=np.array([2**40])), ValueError, r"key_lengths must be in \[0, 4\]"),
    ("key_lengths uint64", lambda: sdpa(q, q, q, key_lengths=np.array([2**64 - 1], np.uint64)), ValueError, r"key_lengths must be in \[0, 4\]"),
    ("key_lengths float", lambda: sdpa(q, q, q, key_lengths=np.array([1.0])), TypeError, r"key_lengths must be integers, got dtype float64"),
    ("key_lengths shape", lambda: sdpa(q, q, q, key_lengths=np.ones(3, int)), ValueError, r"key_lengths of shape \(3,\) does not broadcast to the batch shape \(2, 4\)"),
    ("query_lengths range", lambda: sdpa(q, q, q, query_lengths=np.array([-1])), ValueError, r"query_lengths must be in \[0, 4\]"),
    ("dropout_p 1", lambda: sdpa(q, q, q, dropout_p=1.0), ValueError, r"dropout_p must be in \[0, 1\), got 1.0"),
    ("dropout_p str", lambda: sdpa(q, q, q, dropout_p="0.1"), TypeError, r"dropout_p must be a real number"),
    ("seed 2**64", lambda: sdpa(q, q, q, dropout_p=0.5, seed=2**64), ValueError, r"seed must be in \[0, 2\*\*64\), got 18446744073709551616"),
    ("seed negative", lambda: sdpa(q, q, q, dropout_p=0.5, seed=-1), ValueError, r"seed must be in \[0, 2\*\*64\), got -1"),
    ("seed float", lambda: sdpa(q, q, q, dropout_p=0.5, seed=1.5), TypeError, r"seed must be an integer, got 1.5"),
    ("softcap 0", lambda: sdpa(q, q, q, softcap=0.0), ValueError, r"softcap must be > 0, got 0.0"),
    ("softcap nan", lambda: sdpa(q, q, q, softcap=np.nan), ValueError, r"softcap must be > 0"),
    ("softcap str", lambda: sdpa(q, q, q, softcap="1"), TypeError, r"softcap must be a real number"),
    ("window too wide", lambda: cattn.sliding_window(4, 4, 2**70), ValueError, r"^sliding_window: left must be < 2\*\*62, got 1180591620717411303424"),
    ("window negative", lambda: cattn.sliding_window(4, 4, 1, -1), ValueError, r"^sliding_window: right must be >= 0, got -1"),
    ("window float", lambda: cattn.sliding_window(4, 4, 1.5), TypeError, r"^sliding_window: left must be an integer"),
    ("structured mask shape", lambda: sdpa(q, q, q, cattn.sliding_window(4, 5, 1)), ValueError, r"attn_mask cattn.sliding_window\(4, 5, 1, 0\) is for \(L, S\) = \(4, 5\) but the call has \(L, S\) = \(4, 4\)"),
    ("half mask int", lambda: sdpa(q.astype(np.float16), q, q, np.ones((4, 4), np.int8)), TypeError, r"attn_mask has dtype int8"),
    # --- gradcheck
    ("gradcheck NaN input", lambda: cattn.gradcheck(cattn.softmax, np.full(3, np.nan)), ValueError, r"^gradcheck\(softmax\): argument 0 \(x\) holds NaN"),
    ("gradcheck eps NaN", lambda: cattn.gradcheck(cattn.softmax, np.ones(3), eps=np.nan), ValueError, r"^gradcheck\(softmax\): eps must be a finite number > 0, got nan"),
    ("gradcheck complex", lambda: cattn.gradcheck(cattn.softmax, np.ones(3, complex)), TypeError, r"^gradcheck\(softmax\)"),
    # --- optimisers
    ("SGD lr str", lambda: nn.SGD([lin], lr="0.1"), TypeError, r"^SGD: lr must be a real number, got '0.1'"),
    ("SGD lr negative", lambda: nn.SGD([lin], lr=-0.1), ValueError, r"^SGD: lr must be >= 0, got -0.1"),
    ("SGD momentum nan", lambda: nn.SGD([lin], lr=0.1, momentum=np.nan), ValueError, r"^SGD: momentum must be >= 0, got nan"),
    ("SGD not a module", lambda: nn.SGD([np.ones(3)], lr=0.1), TypeError, r"^SGD: modules must be cattn modules, got ndarray"),
    ("Adam betas", lambda: nn.Adam([lin], betas=(0.9, 1.0)), ValueError, r"^Adam: betas\[1\] must be in \[0, 1\), got 1.0"),
    ("Adam betas one number", lambda: nn.Adam([lin], betas=0.9), TypeError, r"^Adam: betas must be a pair of numbers, got 0.9"),
    ("Adam eps str", lambda: nn.Adam([lin], eps="1e-8"), TypeError, r"^Adam: eps must be a real number"),
    ("Adam lr bool", lambda: nn.Adam([lin], lr=True), TypeError, r"^Adam: lr must be a real number, got True"),
]


def test_the_catalogue_is_large():
    assert len(CATALOGUE) >= 60


@pytest.mark.parametrize("name,call,err,msg", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_input_raises_clearly(name, call, err, msg):
    with pytest.raises(err, match=msg) as info:
        call()
    assert type(info.value) is err or issubclass(type(info.value), err)


def test_lengths_of_a_huge_broadcast_batch_are_checked_on_their_distinct_values():
    """2**40 items broadcast from one: the lengths are checked and laid out without walking the
    batch (75e6e8d walked it for minutes, then failed allocating 56 GiB of limits); only the
    output's allocation remains, and it fails at once."""
    from cattn.functional import sdpa_plan
    one = np.ones((1, 1, 4, 8), np.float32)
    big = np.broadcast_to(one, (2**20, 2**20, 4, 8))
    kl = np.broadcast_to(np.array(3), (2**20, 2**20))
    plan = sdpa_plan("scaled_dot_product_attention", big, big, big, key_lengths=kl)
    assert plan.lim.shape == (2**20, 2**20, 7) and plan.lim.strides[:2] == (0, 0)
    assert (plan.lim[123, 456] == plan.lim[0, 0]).all() and plan.lim[0, 0, 2] == 3
    with pytest.raises(MemoryError):
        sdpa(big, big, big, key_lengths=kl)
    with pytest.raises(ValueError, match=r"key_lengths must be in \[0, 4\], got values from 5 to 5"):
        sdpa(big, big, big, key_lengths=np.broadcast_to(np.array(5), (2**20, 2**20)))


def test_a_half_precision_additive_mask_works_with_half_inputs():
    """PyTorch's rule: the mask in the query's dtype (or bool). A bfloat16 mask with bfloat16
    q/k/v was refused, asking for a floating mask."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    for half in (np.float16, ml_dtypes.bfloat16):
        qh = R.standard_normal((2, 4, 8)).astype(half)
        mask = np.where(R.random((4, 4)) < 0.3, -np.inf, 0.5).astype(half)
        out = sdpa(qh, qh, qh, mask)
        assert out.dtype == half
        f = [a.astype(np.float32) for a in (qh, mask)]
        ref = sdpa(f[0], f[0], f[0], f[1])
        np.testing.assert_allclose(out.astype(np.float32), ref, atol=2e-2)
        y, pb = cattn.vjp(sdpa, qh, qh, qh, mask)
        assert [g.dtype for g in pb(np.ones_like(y))] == [half] * 4
