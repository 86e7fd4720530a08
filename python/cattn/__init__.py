"""cattn: attention for NumPy, written in C.

The kernels are NumPy generalized ufuncs (``cattn.matmul``, ``cattn.softmax``,
``cattn.log_softmax``, ``cattn.attention`` and friends); the functions and classes here add the
keyword arguments a bare ufunc cannot take.
"""
from ._cattn import (
    attention,
    attention_weights,
    causal_attention,
    log_softmax,
    masked_attention,
    matmul,
    softmax,
)
from ._config import set_level, show_config
from .functional import scaled_dot_product_attention

__version__ = "0.1.0"

__all__ = [
    "attention",
    "attention_weights",
    "causal_attention",
    "log_softmax",
    "masked_attention",
    "matmul",
    "scaled_dot_product_attention",
    "set_level",
    "show_config",
    "softmax",
]
