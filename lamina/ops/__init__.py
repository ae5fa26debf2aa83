"""`lamina.ops`: Keras 3's backend-agnostic ops (`keras.ops`) on `jax.numpy`, `jax.lax` and `jax.nn`.

Same names, arguments, defaults and dtype rules as Keras on JAX, so custom layers, losses and metrics
written with `keras.ops` run unchanged; every op works eagerly and under `jax.jit`/`grad`/`vmap`,
and on a functional model's symbolic tensors it adds a node to the graph. The flat namespace holds
everything Keras's does; the families are also submodules, as in Keras: `lamina.ops.numpy`,
`lamina.ops.nn`, `lamina.ops.linalg`, `lamina.ops.image`, plus `core` (conversion, control flow),
`math` (segments, FFT, top_k) and `einops` (`rearrange`).
"""

from lamina.ops import core, einops, image, linalg, math, nn, numpy
from lamina.ops.core import *  # noqa: F401,F403
from lamina.ops.einops import *  # noqa: F401,F403
from lamina.ops.linalg import *  # noqa: F401,F403
from lamina.ops.math import *  # noqa: F401,F403
from lamina.ops.nn import *  # noqa: F401,F403
from lamina.ops.numpy import *  # noqa: F401,F403
