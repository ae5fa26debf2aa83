"""`keras.ops.nn`: neural-network ops by job: `activations`, `convolution`, `pooling`, `normalization`,
`losses` (cross-entropies, PSNR), `ctc`, `encoding` (one-hot), `attention`, `blocks` (pixel shuffle,
fold/unfold); `polar` comes from `lamina.ops.math`."""

from lamina.ops.math import polar
from lamina.ops.nn.activations import *  # noqa: F401,F403
from lamina.ops.nn.attention import *  # noqa: F401,F403
from lamina.ops.nn.blocks import *  # noqa: F401,F403
from lamina.ops.nn.convolution import *  # noqa: F401,F403
from lamina.ops.nn.ctc import *  # noqa: F401,F403
from lamina.ops.nn.encoding import *  # noqa: F401,F403
from lamina.ops.nn.losses import *  # noqa: F401,F403
from lamina.ops.nn.normalization import *  # noqa: F401,F403
from lamina.ops.nn.pooling import *  # noqa: F401,F403

from lamina.ops.nn import activations, attention, blocks, convolution, ctc, encoding, losses, normalization, pooling

__all__ = sorted(["polar"] + [name for module in (activations, attention, blocks, convolution, ctc, encoding, losses,
                                                   normalization, pooling) for name in module.__all__])
