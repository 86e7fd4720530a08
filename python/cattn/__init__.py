"""cattn: attention for NumPy, written in C.

The kernels are NumPy generalized ufuncs (``cattn.matmul``, ``cattn.softmax``,
``cattn.log_softmax``, ``cattn.attention`` and friends); the functions and classes here add the
keyword arguments a bare ufunc cannot take.
"""
import sys

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


def _register_bfloat16(ml_dtypes):
    """The gufuncs read ml_dtypes' bfloat16 as half (JAX's and PyTorch's interop dtype)."""
    import numpy

    _cattn.register_bfloat16(numpy.dtype(ml_dtypes.bfloat16))


class _RegisterOnImport:
    """cattn needs no ml_dtypes, and importing it takes longer than cattn itself (0.6 s here):
    so cattn registers its bfloat16 loops when ml_dtypes is imported -- now if it already is,
    else right after its own import (a one-shot finder on sys.meta_path, PEP 451: it finds
    ml_dtypes' spec through the other finders and runs the registration after the module's
    code). A bfloat16 array cannot exist before ml_dtypes is imported."""

    def find_spec(self, name, path=None, target=None):
        if name != "ml_dtypes":
            return None
        import importlib.util

        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]  # one shot
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _register_bfloat16(module)
        spec.loader.exec_module = exec_module
        return spec


if "ml_dtypes" in sys.modules:
    _register_bfloat16(sys.modules["ml_dtypes"])
else:
    sys.meta_path.insert(0, _RegisterOnImport())
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
