"""Filters and image similarity: `gaussian_blur`, `sobel_edges`, `ssim`."""

import jax
import jax.numpy as jnp

from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op
from lamina.ops.image.layout import from_layout, to_layout

__all__ = ["gaussian_blur", "sobel_edges", "ssim"]


def _gaussian(size, sigma, dtype):
    x = jnp.arange(size, dtype=dtype) - jnp.asarray((size - 1) / 2, dtype)
    k = jnp.exp(-0.5 * (x / sigma) ** 2)
    return k / jnp.sum(k)


def _depthwise(images, kernel, padding):
    """Each channel of NCHW `images` filtered by the 2-D `kernel` (exact float arithmetic)."""
    channels = images.shape[1]
    weights = jnp.tile(kernel[None, None], (channels, 1, 1, 1))
    return jax.lax.conv_general_dilated(images, weights, (1, 1), padding, dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                        feature_group_count=channels, precision=jax.lax.Precision.HIGHEST)


@keras_op
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Images blurred by a Gaussian kernel ("same" size, zero padding).

    As in Keras on JAX, the second entries of `kernel_size` and `sigma` act along the height and the
    first along the width.
    """
    images, data_format, unbatched = to_layout(images, data_format, "gaussian_blur", "NCHW")
    dtype = images.dtype
    sigma = tensor(sigma).astype(dtype)
    kernel = jnp.outer(_gaussian(kernel_size[1], sigma[1], dtype), _gaussian(kernel_size[0], sigma[0], dtype))
    return from_layout(_depthwise(images, kernel, "SAME"), data_format, unbatched, "NCHW")


@keras_op
def sobel_edges(images, data_format=None):
    """Sobel gradients of a batch of images: (..., 2) holding (d/dy, d/dx) per channel ("same" size)."""
    images, data_format, unbatched = to_layout(images, data_format, "sobel_edges", "NCHW")
    if unbatched:
        raise ValueError(f"sobel_edges: `images` must be a batch (rank 4), got shape {images.shape[1:]}.")
    dx = jnp.asarray([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], images.dtype)
    edges = [from_layout(_depthwise(images, k, "SAME"), data_format, False, "NCHW") for k in (dx.T, dx)]
    return jnp.stack(edges, axis=-1)


@keras_op
def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """Structural similarity of two images (or batches), averaged over positions and channels.

    Gaussian-weighted local statistics over `filter_size` windows ("valid"), as in Wang et al. 2004.
    """
    a, data_format, unbatched = to_layout(image1, data_format, "ssim", "NCHW")
    b, _, _ = to_layout(image2, data_format, "ssim", "NCHW")
    original = a.dtype
    dtype = _dtypes.result_type(original, float)
    a, b = a.astype(dtype), b.astype(dtype)
    g = _gaussian(filter_size, jnp.asarray(filter_sigma, dtype), dtype)
    kernel = jnp.outer(g, g)

    def local(x):
        return _depthwise(x, kernel, "VALID")

    mu1, mu2 = local(a), local(b)
    var1, var2, cov = local(a * a) - mu1 * mu1, local(b * b) - mu2 * mu2, local(a * b) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    ssim_map = (2 * mu1 * mu2 + c1) * (2 * cov + c2) / ((mu1 * mu1 + mu2 * mu2 + c1) * (var1 + var2 + c2))
    out = jnp.mean(ssim_map, axis=(1, 2, 3))
    return (out[0] if unbatched else out).astype(original)
