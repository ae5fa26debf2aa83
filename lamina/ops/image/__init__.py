"""`keras.ops.image`: image ops by job: `color` (color spaces), `geometry` (resize and warps),
`filters` (blur, edges, SSIM), `patches` (patches, padding, cropping). Images are (height, width,
channels) or batched, or channels-first with `data_format="channels_first"`."""

from lamina.ops.image.color import *  # noqa: F401,F403
from lamina.ops.image.filters import *  # noqa: F401,F403
from lamina.ops.image.geometry import *  # noqa: F401,F403
from lamina.ops.image.patches import *  # noqa: F401,F403

from lamina.ops.image import color, filters, geometry, patches

__all__ = sorted(name for module in (color, filters, geometry, patches) for name in module.__all__)
