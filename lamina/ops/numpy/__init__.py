"""`keras.ops.numpy`: the NumPy-style ops, on `jax.numpy` with Keras's names, defaults and dtype rules.

By job: `elementwise` (math on each element), `reductions` (sums, statistics, cumulative ops),
`creation` (new arrays), `shaping` (reshape, join, split, pad), `selection` (sort, search, take,
where), `products` (matmul, einsum, diagonals).
"""

from lamina.ops.core import vectorize
from lamina.ops.numpy.creation import *  # noqa: F401,F403
from lamina.ops.numpy.elementwise import *  # noqa: F401,F403
from lamina.ops.numpy.products import *  # noqa: F401,F403
from lamina.ops.numpy.reductions import *  # noqa: F401,F403
from lamina.ops.numpy.selection import *  # noqa: F401,F403
from lamina.ops.numpy.shaping import *  # noqa: F401,F403

from lamina.ops.numpy import creation, elementwise, products, reductions, selection, shaping

__all__ = sorted(["vectorize"] + [name for module in (creation, elementwise, products, reductions, selection,
                                                       shaping) for name in module.__all__])
