"""Sizes whose products exceed the address space (broadcast_to views of tiny arrays): a clear
MemoryError or ValueError before any allocation, never a crash or a wrapped-around size."""
import numpy as np
import pytest

import cattn

HUGE = [2 ** 40, 2 ** 48, 2 ** 56]  # element counts NumPy can still describe (< 2**63)


def view(shape, dtype=np.float32):
    return np.broadcast_to(np.ones((1,) * len(shape), dtype), shape)


@pytest.mark.parametrize("S", HUGE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_attention_over_a_huge_key_axis(S, dtype):
    q, k, v = view((1, 4), dtype), view((S, 4), dtype), view((S, 2), dtype)
    for call in (lambda: cattn.attention(q, k, v, dtype(1.0)),
                 lambda: cattn.causal_attention(q, k, v, dtype(1.0)),
                 lambda: cattn.masked_attention(q, k, v, view((1, S), bool), dtype(1.0)),
                 lambda: cattn.scaled_dot_product_attention(q, k, v)):
        with pytest.raises((MemoryError, ValueError)):
            call()


@pytest.mark.parametrize("n", HUGE)
def test_outputs_too_large_to_allocate(n):
    with pytest.raises((MemoryError, ValueError)):
        cattn.matmul(view((n, 1)), view((1, n)))
    with pytest.raises((MemoryError, ValueError)):
        cattn.softmax(view((n,)))
    with pytest.raises((MemoryError, ValueError)):
        cattn.attention_weights(view((4, 4)), view((n, 4)), view((n, 4)), view((4, n), bool),
                                np.float32(1))


@pytest.mark.parametrize("S", HUGE)
def test_multi_head_attention_over_a_huge_key_axis(S):
    x = view((2, 4))
    k = view((S, 4))
    W = [view((2, 4, 2)), view((2, 4, 2)), view((2, 4, 2)), view((2, 2, 4))]
    with pytest.raises((MemoryError, ValueError)):
        cattn.multi_head_attention(x, k, k, *W)


def test_matmul_huge_inner_dimension_is_computed_or_refused():
    """A huge k with tiny outputs needs no scratch beyond a block: it is refused only if it
    cannot run; here it would take forever, so a moderate k checks the path instead."""
    k = 2 ** 20
    out = cattn.matmul(view((2, k)), view((k, 3)))
    np.testing.assert_array_equal(out, np.full((2, 3), float(k)))
