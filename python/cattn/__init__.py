"""cattn: attention for NumPy, written in C.

The kernels are NumPy generalized ufuncs (``cattn.matmul``, ``cattn.softmax``,
``cattn.log_softmax``, ``cattn.attention`` and friends); the functions and classes here add the
keyword arguments a bare ufunc cannot take.
"""
from . import _cattn
from ._cattn import (
    attention,
    attention_weights,
    causal_attention,
    log_softmax,
    masked_attention,
    matmul,
    multi_head_attention_weights,
    softmax,
)
from ._cattn import multi_head_attention as multi_head_attention_ufunc
from ._config import get_num_threads, set_level, set_num_threads, show_config
from .functional import multi_head_attention, scaled_dot_product_attention
from .modules import Attention, MultiHeadAttention
from .plot import plot_attention
from .steps import AttentionSteps

from . import _signatures

_signatures.apply(_signatures.ufuncs_of(_cattn))
__version__ = _cattn.get_config()["version"]  # the one version string: CATTN_VERSION, cattn.h

__all__ = [
    "Attention",
    "AttentionSteps",
    "MultiHeadAttention",
    "attention",
    "attention_weights",
    "causal_attention",
    "log_softmax",
    "masked_attention",
    "matmul",
    "multi_head_attention",
    "multi_head_attention_ufunc",
    "multi_head_attention_weights",
    "plot_attention",
    "scaled_dot_product_attention",
    "get_num_threads",
    "set_level",
    "set_num_threads",
    "show_config",
    "softmax",
]
