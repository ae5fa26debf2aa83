"""Keras's math ops: segment reductions, `top_k`, `logsumexp`, FFTs and STFTs, `erf`, `rsqrt`, ...

Complex results of the FFTs are returned as `(real, imag)` pairs, and complex inputs taken as such
pairs, as in Keras.
"""

import math

import jax
import jax.numpy as jnp

from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = [
    "cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft", "istft",
    "logdet", "logsumexp", "polar", "rfft", "rsqrt", "segment_max", "segment_min", "segment_prod",
    "segment_sum", "stft", "top_k", "view_as_complex", "view_as_real",
]


def _segment(name, reduce, what):
    def op(data, segment_ids, num_segments=None, sorted=False):
        data, segment_ids = tensor(data), tensor(segment_ids)
        if segment_ids.ndim > 1:
            raise ValueError(
                f"{name}: `segment_ids` must be 1-D, got shape {segment_ids.shape} (flatten it and `data`, or "
                "use vectorized_map).")
        if segment_ids.shape[0] != data.shape[0]:
            raise ValueError(
                f"{name}: `segment_ids` and `data` must have the same leading size, got "
                f"{segment_ids.shape[0]} and {data.shape[0]}.")
        if num_segments is None:
            raise ValueError(f"{name}: `num_segments` must be given on JAX (the output size must be static).")
        return reduce(data, segment_ids, num_segments, indices_are_sorted=sorted)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"The {what} of the rows of `data` with each segment id (`num_segments` rows; empty "
                  "segments get the reduction's identity).")
    return keras_op(op)


segment_sum = _segment("segment_sum", jax.ops.segment_sum, "sum")
segment_max = _segment("segment_max", jax.ops.segment_max, "maximum")
segment_min = _segment("segment_min", jax.ops.segment_min, "minimum")
segment_prod = _segment("segment_prod", jax.ops.segment_prod, "product")


@keras_op
def top_k(x, k, sorted=True):
    """`(values, indices)` of the `k` largest entries along the last axis, largest first."""
    return jax.lax.top_k(tensor(x), k)


@keras_op
def in_top_k(targets, predictions, k):
    """Whether each target class is among the `k` highest `predictions` (ties count in its favour,
    NaN scores never)."""
    targets, predictions = tensor(targets), tensor(predictions)
    at_target = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_target = jnp.where(jnp.isnan(at_target), -jnp.inf, at_target)
    return 1 + jnp.sum(predictions > at_target, axis=-1) <= k


@keras_op
def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` over `axis`, computed stably."""
    return jax.scipy.special.logsumexp(tensor(x), axis=axis, keepdims=keepdims)


@keras_op
def cdist(x, y):
    """Euclidean distances between the rows of `x` (..., P, M) and of `y` (..., R, M): (..., P, R)."""
    x, y = tensor(x), tensor(y)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"cdist: inputs must have rank >= 2, got shapes {x.shape} and {y.shape}.")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cdist: the last axes must match, got shapes {x.shape} and {y.shape}.")
    diff = x[..., :, None, :] - y[..., None, :, :]
    return jnp.sqrt(jnp.sum(diff * diff, axis=-1))


@keras_op
def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` samples every `sequence_stride` along the last axis:
    (..., signal) -> (..., frames, sequence_length)."""
    x = tensor(x)
    *batch, signal = x.shape
    frames = jax.lax.conv_general_dilated_patches(
        x.reshape(math.prod(batch), signal, 1), (sequence_length,), (sequence_stride,), "VALID",
        dimension_numbers=("NTC", "OIT", "NTC"))
    return frames.reshape(*batch, *frames.shape[-2:])


def _complex(x, op):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op}: `x` must be a (real, imag) pair of tensors, got {type(x).__name__}.")
    real, imag = tensor(x[0]), tensor(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"{op}: the real and imaginary parts must have the same shape, got {real.shape} and "
                         f"{imag.shape}.")
    if not (jnp.issubdtype(real.dtype, jnp.floating) and jnp.issubdtype(imag.dtype, jnp.floating)):
        raise ValueError(f"{op}: the real and imaginary parts must be floats, got {real.dtype} and {imag.dtype}.")
    return jax.lax.complex(real, imag)


def _parts(z):
    return jnp.real(z), jnp.imag(z)


@keras_op
def fft(x):
    """FFT over the last axis of the complex `(real, imag)` pair `x`; returns `(real, imag)`."""
    return _parts(jnp.fft.fft(_complex(x, "fft")))


@keras_op
def fft2(x):
    """2-D FFT over the last two axes of the `(real, imag)` pair `x`; returns `(real, imag)`."""
    return _parts(jnp.fft.fft2(_complex(x, "fft2")))


@keras_op
def ifft2(x):
    """Inverse 2-D FFT over the last two axes of the `(real, imag)` pair `x`; returns `(real, imag)`."""
    return _parts(jnp.fft.ifft2(_complex(x, "ifft2")))


@keras_op
def rfft(x, fft_length=None):
    """FFT of the real `x` over its last axis (`fft_length` points): `(real, imag)` of
    `fft_length // 2 + 1` bins."""
    return _parts(jnp.fft.rfft(tensor(x), n=fft_length, axis=-1, norm="backward"))


@keras_op
def irfft(x, fft_length=None):
    """Inverse of `rfft`: the real signal of `fft_length` samples from the `(real, imag)` pair `x`."""
    return jnp.fft.irfft(_complex(x, "irfft"), n=fft_length, axis=-1, norm="backward")


def _window(window, sequence_length, fft_length, dtype, op):
    """The analysis window, centered and zero-padded to `fft_length` (periodic Hann/Hamming by name)."""
    left = (fft_length - sequence_length) // 2
    right = fft_length - sequence_length - left
    if window is None:
        return jnp.ones(fft_length, dtype)
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"{op}: a window name must be 'hann' or 'hamming', got {window!r}.")
        a = 0.5 if window == "hann" else 0.54
        n = jnp.arange(sequence_length, dtype="float32")
        win = (a - (1 - a) * jnp.cos(2 * jnp.pi * n / sequence_length)).astype(dtype)
    else:
        win = tensor(window).astype(dtype)
        if win.shape != (sequence_length,):
            raise ValueError(f"{op}: `window` must have shape ({sequence_length},), got {win.shape}.")
    return jnp.pad(win, (left, right))


def _check_stride(sequence_stride, op):
    if not isinstance(sequence_stride, int) or sequence_stride <= 0:
        raise ValueError(f"{op}: `sequence_stride` must be a positive int, got {sequence_stride!r}.")


@keras_op
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform of the real `x` (..., samples): `(real, imag)` of shape
    (..., frames, fft_length // 2 + 1). `center` pads `fft_length // 2` reflected samples on both
    sides; `window` is "hann", "hamming", a (sequence_length,) array, or None."""
    _check_stride(sequence_stride, "stft")
    x = tensor(x)
    if _dtypes.standardize_dtype(x.dtype) not in ("float32", "float64"):
        raise TypeError(f"stft: `x` must be float32 or float64, got {x.dtype.name}.")
    if fft_length < sequence_length:
        raise ValueError(f"stft: `fft_length` ({fft_length}) must be >= `sequence_length` ({sequence_length}).")
    if center:
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)], mode="reflect")
    win = _window(window, sequence_length, fft_length, x.dtype, "stft")
    frames = extract_sequences.__wrapped__(x, fft_length, sequence_stride)
    return _parts(jnp.fft.rfft(frames * win, n=fft_length, axis=-1))


@keras_op
def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """Inverse of `stft` by weighted overlap-add: the signal from the `(real, imag)` spectrogram `x`
    (..., frames, bins). `length` keeps at most that many samples."""
    _check_stride(sequence_stride, "istft")
    spectrum = _complex(x, "istft")
    if spectrum.ndim < 2:
        raise ValueError(f"istft: `x` must have at least 2 axes (frames, bins), got shape {spectrum.shape}.")
    dtype = jnp.real(spectrum).dtype
    win = _window(window, sequence_length, fft_length, dtype, "istft")
    frames = jnp.fft.irfft(spectrum, n=fft_length, axis=-1) * win
    count = frames.shape[-2]
    total = fft_length + sequence_stride * (count - 1)
    at = sequence_stride * jnp.arange(count)[:, None] + jnp.arange(fft_length)[None, :]
    signal = jnp.zeros(frames.shape[:-2] + (total,), dtype).at[..., at].add(frames)
    weight = jnp.zeros((total,), dtype).at[at].add(jnp.broadcast_to(win * win, at.shape))
    signal = signal / jnp.where(weight > 1e-10, weight, 1.0)
    start = fft_length // 2 if center else 0
    if length is not None:
        return signal[..., start: start + length]
    return signal[..., start: total - fft_length // 2 if center else total]


@keras_op
def rsqrt(x):
    """`1 / sqrt(x)`, element-wise."""
    return jax.lax.rsqrt(tensor(x))


@keras_op
def erf(x):
    """The error function, element-wise."""
    return jax.lax.erf(tensor(x))


@keras_op
def erfc(x):
    """The complementary error function `1 - erf(x)`, element-wise."""
    return jax.scipy.special.erfc(tensor(x))


@keras_op
def erfinv(x):
    """The inverse error function, element-wise."""
    return jax.scipy.special.erfinv(tensor(x))


@keras_op
def logdet(x):
    """`log(det(x))` of the (Hermitian positive-definite) matrices in `x`, from `slogdet`."""
    return jnp.linalg.slogdet(tensor(x))[1]


@keras_op
def view_as_complex(x):
    """A complex tensor from `x` (..., 2) holding (real, imag) in its last axis."""
    x = tensor(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last axis must have size 2 (real, imag), got shape {x.shape}.")
    return jax.lax.complex(x[..., 0], x[..., 1])


@keras_op
def view_as_real(x):
    """The complex `x` as a real tensor (..., 2) holding (real, imag) in a new last axis."""
    x = tensor(x)
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


@keras_op
def polar(abs_, angle):
    """The complex numbers `abs_ * (cos(angle) + i sin(angle))`."""
    abs_, angle = tensor(abs_), tensor(angle)
    return jax.lax.complex(abs_ * jnp.cos(angle), abs_ * jnp.sin(angle))
