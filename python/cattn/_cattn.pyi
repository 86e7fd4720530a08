"""Type stubs for cattn's C extension (csrc/module.c): the gufuncs and the configuration
functions.  Each gufunc X has a reference-kernel twin X_ref of the same type."""
from typing import Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt

class _Config(TypedDict):
    version: str
    level: Literal["ref", "avx2", "avx512", "neon"]
    best: Literal["ref", "avx2", "avx512", "neon"]
    levels: list[str]
    threads: int
    avx512_emulated: bool
    neon_emulated: bool

# the generalized ufuncs (see their docstrings for the signatures)

_additive_scores: np.ufunc
_additive_scores_backward: np.ufunc
_additive_scores_backward_ref: np.ufunc
_additive_scores_ref: np.ufunc
_masked_mha_forward_weights: np.ufunc
_masked_mha_forward_weights_ref: np.ufunc
_mha: np.ufunc
_mha_backward: np.ufunc
_mha_backward_ref: np.ufunc
_mha_forward: np.ufunc
_mha_forward_ref: np.ufunc
_mha_forward_weights: np.ufunc
_mha_forward_weights_ref: np.ufunc
_mha_ref: np.ufunc
_mha_weights: np.ufunc
_mha_weights_ref: np.ufunc
_sdpa: np.ufunc
_sdpa_ref: np.ufunc
_sdpa_backward: np.ufunc
_sdpa_backward_ref: np.ufunc
_sdpa_mask: np.ufunc
_sdpa_mask_ref: np.ufunc
_sdpa_mask_backward: np.ufunc
_sdpa_mask_backward_ref: np.ufunc
_sdpa_mask_backward_dmask: np.ufunc
_sdpa_mask_backward_dmask_ref: np.ufunc
_sdpa_mask_w: np.ufunc
_sdpa_mask_w_ref: np.ufunc
_sdpa_w: np.ufunc
_sdpa_w_ref: np.ufunc
additive_attention_scores: np.ufunc
additive_attention_scores_backward: np.ufunc
additive_attention_scores_backward_ref: np.ufunc
additive_attention_scores_ref: np.ufunc
attention: np.ufunc
attention_backward: np.ufunc
attention_backward_ref: np.ufunc
attention_ref: np.ufunc
attention_weights: np.ufunc
attention_weights_ref: np.ufunc
attention_with_lse: np.ufunc
attention_with_lse_ref: np.ufunc
causal_attention: np.ufunc
causal_attention_backward: np.ufunc
causal_attention_backward_ref: np.ufunc
causal_attention_ref: np.ufunc
causal_attention_with_lse: np.ufunc
causal_attention_with_lse_ref: np.ufunc
exp_sum: np.ufunc
exp_sum_ref: np.ufunc
log_softmax: np.ufunc
log_softmax_backward: np.ufunc
log_softmax_backward_ref: np.ufunc
log_softmax_ref: np.ufunc
masked_attention: np.ufunc
masked_attention_backward: np.ufunc
masked_attention_backward_dmask: np.ufunc
masked_attention_backward_dmask_ref: np.ufunc
masked_attention_backward_ref: np.ufunc
masked_attention_ref: np.ufunc
masked_attention_with_lse: np.ufunc
masked_attention_with_lse_ref: np.ufunc
matmul: np.ufunc
matmul_ref: np.ufunc
multi_head_attention: np.ufunc
multi_head_attention_backward: np.ufunc
multi_head_attention_backward_ref: np.ufunc
multi_head_attention_forward: np.ufunc
multi_head_attention_forward_ref: np.ufunc
multi_head_attention_ref: np.ufunc
multi_head_attention_weights: np.ufunc
multi_head_attention_weights_ref: np.ufunc
row_max: np.ufunc
row_max_ref: np.ufunc
softmax: np.ufunc
softmax_backward: np.ufunc
softmax_backward_ref: np.ufunc
softmax_ref: np.ufunc

bad_arch: int
LIMITS: tuple[str, ...]  # the names of the limits operand's fields, in its order

def get_config() -> _Config: ...
def set_level(level: str, /) -> None: ...
def set_num_threads(n: int, /) -> None: ...
def get_num_threads() -> int: ...
def compute_dtype(*arrays: npt.ArrayLike) -> np.dtype[Any]: ...
def sdpa_direct(q: Any, k: Any, v: Any, scale: float | None, causal: bool, weights: bool,
                /) -> Any: ...
