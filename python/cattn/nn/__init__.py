"""cattn.nn: the few layers, the loss and the optimisers a small attention model needs.

Each layer is a ``cattn.nn.Module`` (nn/module.py): NumPy parameters under PyTorch's names and
initialisation, ``state_dict``/``load_state_dict``, ``grads`` and ``zero_grad``, and
``y, pullback = layer.vjp(x)`` whose pullback returns the input's gradient and *adds* the
parameters' gradients into ``grads``. Linear, Embedding, LayerNorm and PositionalEncoding are
plain NumPy; the attention layers (MultiHeadAttention, Attention, AdditiveAttention, also
``cattn.MultiHeadAttention`` ...) run on cattn's kernels. Every layer but AdditiveAttention
also takes ``dtype=np.float16`` or ``"bfloat16"``: half parameters and gradients, computed in
float32 and rounded once where the kernels do; the optimisers update them in float32. A
training step::

    y, back = model.vjp(x)                      # any chain of vjp's
    loss, dloss = cattn.vjp(cross_entropy, y, targets)
    back(dloss(1.0)[0])
    opt.step(); opt.zero_grad()

>>> import numpy as np, cattn
>>> lin = cattn.nn.Linear(4, 2, seed=0)
>>> y, back = lin.vjp(np.ones((3, 4)))
>>> back(np.ones_like(y)).shape, lin.grads["bias"]
((3, 4), array([3., 3.], dtype=float32))
"""
from .additive import AdditiveAttention
from .attention import Attention
from .embedding import Embedding, PositionalEncoding
from .kv_cache import KVCache
from .linear import Linear
from .loss import cross_entropy
from .module import Module
from .multi_head import MultiHeadAttention
from .norm import LayerNorm
from .optim import SGD, Adam

__all__ = ["Linear", "Embedding", "LayerNorm", "PositionalEncoding", "cross_entropy", "SGD",
           "Adam", "Module", "MultiHeadAttention", "Attention", "AdditiveAttention", "KVCache"]
