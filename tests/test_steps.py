"""steps(): the intermediate arrays of the notes' steps, equal to the fused forward pass."""
import numpy as np
import pytest

import cattn


@pytest.fixture
def mha():
    m = cattn.MultiHeadAttention(12, 3, seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    m.load_state_dict({k: rng.standard_normal(v.shape) for k, v in m.state_dict().items()})
    return m


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"key_lengths": np.array([4, 2])},
                                {"attn_mask": np.random.default_rng(1).random((2, 3, 4, 4)) < 0.7},
                                {"attn_mask": np.random.default_rng(2).standard_normal((4, 4))}])
def test_steps_are_consistent_and_equal_forward(mha, kw):
    x = np.random.default_rng(3).standard_normal((2, 4, 12))
    s = mha.steps(x, **kw)
    H, d = 3, 4
    assert s.q.shape == s.k.shape == s.v.shape == (2, H, 4, d)
    assert s.scores.shape == s.weights.shape == s.mask.shape == (2, H, 4, 4)
    wq = mha.head_weights()[0]
    np.testing.assert_allclose(s.q, x[:, None] @ wq + mha.in_proj_bias[:12].reshape(H, 1, d), 1e-12)
    np.testing.assert_allclose(s.scores, s.q @ np.swapaxes(s.k, -1, -2), 1e-12)
    assert s.scale == 0.5
    np.testing.assert_array_equal(s.weights[~s.mask], 0)
    np.testing.assert_allclose(s.weights.sum(-1)[s.mask.any(-1)], 1, 1e-12)
    np.testing.assert_allclose(s.head_outputs, s.weights @ s.v, 1e-12)
    assert s.concat.shape == (2, 4, 12)
    np.testing.assert_allclose(s.concat[..., 4:8], s.head_outputs[:, 1], 1e-12)
    np.testing.assert_allclose(s.output, mha(x, **kw), 1e-12)
    _, w = mha(x, need_weights=True, average_attn_weights=False, **kw)
    np.testing.assert_allclose(s.weights, w, 1e-12)


def test_repr_and_html(mha):
    s = mha.steps(np.random.default_rng(4).standard_normal((3, 12)))
    text = repr(s)
    assert "注意力得分" in text and "注意力分布" in text and "weights of head 0" in text
    page = s._repr_html_()
    assert page.count("<table") == 3 and "head 2" in page
    s2 = mha.steps(np.zeros((3, 12)), attn_mask=np.array([[True, False, True]] * 3))
    assert "background:#ddd" in s2._repr_html_()  # masked cells look different


def test_plain_attention_steps_follow_the_notes():
    """The notes' two-word example: scores (112, 96) / 8 -> (14, 12) -> (0.88, 0.12)."""
    from cattn.lessons.walkthrough import example

    q, k, v = example()
    s = cattn.Attention().steps(q, k, v)
    np.testing.assert_allclose(s.scores[0], [112, 96], 1e-9)
    np.testing.assert_allclose(s.scaled_scores[0], [14, 12], 1e-9)
    np.testing.assert_allclose(s.weights[0], [0.8808, 0.1192], atol=1e-4)
    np.testing.assert_allclose(s.output, cattn.scaled_dot_product_attention(q, k, v), 1e-12)


def test_one_head_has_no_head_axis_and_labels_name_the_table():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4))
    for attn in (cattn.Attention(), cattn.Attention(4, seed=0, dtype=np.float64)):
        s = attn.steps(x, query_labels=["I", "love", "you"], key_labels=["我", "爱", "你"])
        assert s.q.shape[-3:] == (2, 3, 4) and s.scores.shape == s.weights.shape == (2, 3, 3)
        assert s.mask.shape == (2, 3, 3) and s.head_outputs.shape == (2, 3, 4)
        np.testing.assert_allclose(s.output, attn(x), 1e-6)
        page = s._repr_html_()
        assert "<th>love</th>" in page and "<th>爱</th>" in page and "q0" not in page
        assert "weights of head 0" in repr(s)
    with pytest.raises(ValueError, match="query_labels has 2 labels for 3 positions"):
        cattn.Attention().steps(x, query_labels=["a", "b"])
