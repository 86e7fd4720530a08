"""cattn: attention for NumPy, written in C.

The kernels are NumPy generalized ufuncs (``cattn.matmul``, ``cattn.softmax``,
``cattn.log_softmax``, ``cattn.attention`` and friends); the functions and classes here add the
keyword arguments a bare ufunc cannot take.
"""
from . import _cattn
from ._cattn import (
    additive_attention_scores,
    additive_attention_scores_backward,
    attention,
    attention_backward,
    attention_weights,
    attention_with_lse,
    causal_attention,
    causal_attention_backward,
    causal_attention_with_lse,
    log_softmax,
    log_softmax_backward,
    masked_attention,
    masked_attention_backward,
    masked_attention_backward_dmask,
    masked_attention_with_lse,
    matmul,
    multi_head_attention_backward,
    multi_head_attention_forward,
    multi_head_attention_weights,
    softmax,
    softmax_backward,
)
from ._cattn import multi_head_attention as multi_head_attention_ufunc
from ._config import get_num_threads, set_level, set_num_threads, show_config
from .additive import additive_attention
from .functional import multi_head_attention, scaled_dot_product_attention
from .gradients import gradcheck, vjp
from .masks import StructuredMask, causal_lower_right, causal_upper_left, sliding_window
from .plot import plot_attention, use_cjk_font
from .steps import AttentionSteps
from .view import AttentionView, view

from . import _signatures, nn
from .nn import AdditiveAttention, Attention, KVCache, MultiHeadAttention

_signatures.apply(_signatures.ufuncs_of(_cattn))


def _register_bfloat16():
    """The softmax gufuncs read ml_dtypes' bfloat16 as half where ml_dtypes is installed (JAX's
    and PyTorch's interop dtype); cattn itself needs no ml_dtypes."""
    try:
        import ml_dtypes
    except ImportError:
        return
    import numpy

    _cattn.register_bfloat16(numpy.dtype(ml_dtypes.bfloat16))


_register_bfloat16()
__version__ = _cattn.get_config()["version"]  # the one version string: CATTN_VERSION, cattn.h

__all__ = [
    "AdditiveAttention",
    "additive_attention",
    "additive_attention_scores",
    "additive_attention_scores_backward",
    "Attention",
    "attention_backward",
    "attention_with_lse",
    "causal_attention_backward",
    "causal_attention_with_lse",
    "causal_lower_right",
    "causal_upper_left",
    "gradcheck",
    "KVCache",
    "log_softmax_backward",
    "masked_attention_backward",
    "masked_attention_backward_dmask",
    "masked_attention_with_lse",
    "multi_head_attention_backward",
    "multi_head_attention_forward",
    "softmax_backward",
    "vjp",
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
    "nn",
    "plot_attention",
    "use_cjk_font",
    "view",
    "AttentionView",
    "scaled_dot_product_attention",
    "get_num_threads",
    "set_level",
    "set_num_threads",
    "show_config",
    "sliding_window",
    "StructuredMask",
    "softmax",
]
