"""Code a user writes, checked by mypy against cattn's stubs and py.typed (tests/test_typing.py);
never run."""
import numpy as np

import cattn
from cattn import _cattn

x = np.ones((2, 3), np.float32)
y: np.ndarray = cattn.softmax(x)
c = cattn.matmul(x, x.T)
cfg = _cattn.get_config()
level: str = cfg["level"]
threads: int = cfg["threads"]
emulated: bool = cfg["avx512_emulated"] or cfg["neon_emulated"]
levels: list[str] = cfg["levels"]
cattn.set_num_threads(2)
limits: tuple[str, ...] = _cattn.LIMITS
out = cattn.scaled_dot_product_attention(x, x, x)
mha = cattn.MultiHeadAttention(4, 2)
version: str = cattn.__version__
