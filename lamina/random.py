"""`keras.random`: random draws with Keras's seed semantics, on `jax.random`.

`seed` is, as in Keras:

* an int: always the same draw (the key is Keras's `[seed, 0]`, so the numbers are Keras's);
* a `SeedGenerator`: a fresh draw per call, its state advancing (keep one on a layer to draw inside
  compiled code; the state is part of the layer's non-trainable variables);
* None: the global generator (reproducible after `lamina.utils.set_random_seed`, Keras's numbers
  too). JAX cannot update global state from traced code, so unseeded draws inside `jit`/`grad`/a
  model's compiled step raise an error that says what to do, exactly as Keras does on JAX.
"""

import jax
import jax.numpy as jnp

from lamina.backend import dtypes as _dtypes
from lamina.backend.random import SeedGenerator, draw_seed
from lamina.ops.core import tensor

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal", "randint", "shuffle",
           "truncated_normal", "uniform"]


def _float(dtype, op):
    dtype = _dtypes.standardize_dtype(dtype)
    if not _dtypes.is_float_dtype(dtype):
        raise ValueError(f"{op}: `dtype` must be a float dtype, got {dtype}.")
    return dtype


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution with `mean` and `stddev`."""
    dtype = _float(dtype, "normal")
    return jax.random.normal(draw_seed(seed, "normal"), shape=shape, dtype=dtype) * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples uniform in `[minval, maxval)`."""
    dtype = _float(dtype, "uniform")
    return jax.random.uniform(draw_seed(seed, "uniform"), shape=shape, dtype=dtype, minval=minval, maxval=maxval)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples redrawn outside two standard deviations, scaled by `stddev` and shifted by `mean`."""
    dtype = _float(dtype, "truncated_normal")
    key = draw_seed(seed, "truncated_normal")
    return jax.random.truncated_normal(key, -2.0, 2.0, shape=shape, dtype=dtype) * stddev + mean


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in `[minval, maxval)`."""
    dtype = _dtypes.standardize_dtype(dtype)
    if not _dtypes.is_int_dtype(dtype):
        raise ValueError(f"randint: `dtype` must be an integer dtype, got {dtype}.")
    return jax.random.randint(draw_seed(seed, "randint"), shape=shape, minval=minval, maxval=maxval, dtype=dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """`num_samples` class indices per row of the 2-D `logits` (batch, classes): (batch, num_samples)."""
    logits = tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"categorical: `logits` must be 2-D (batch, classes), got shape {logits.shape}.")
    key = draw_seed(seed, "categorical")
    samples = jax.random.categorical(key, logits[..., None], shape=(logits.shape[0], num_samples), axis=1)
    return samples.astype(_dtypes.standardize_dtype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """`inputs` with each entry zeroed with probability `rate` and the rest scaled by `1 / (1 - rate)`.

    `noise_shape` (None entries: the input's size) shares one draw along its size-1 axes.
    """
    inputs = tensor(inputs)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout: `rate` must be in [0, 1], got {rate}.")
    if rate == 1.0:
        return jnp.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    keep = 1.0 - rate
    shape = inputs.shape if noise_shape is None else tuple(
        d if n is None else n for d, n in zip(inputs.shape, noise_shape))
    mask = jnp.broadcast_to(jax.random.bernoulli(draw_seed(seed, "dropout"), p=keep, shape=shape), inputs.shape)
    return jax.lax.select(mask, inputs / keep, jnp.zeros_like(inputs))


def shuffle(x, axis=0, seed=None):
    """`x` with its slices along `axis` in a random order."""
    return jax.random.permutation(draw_seed(seed, "shuffle"), tensor(x), axis, independent=True)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of a Gamma distribution with concentration `alpha` (scale 1)."""
    dtype = _float(dtype, "gamma")
    return jax.random.gamma(draw_seed(seed, "gamma"), alpha, shape=shape, dtype=dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of Binomial(`counts`, `probabilities`), as floats by default."""
    dtype = _dtypes.standardize_dtype(dtype)
    key = draw_seed(seed, "binomial")
    return jax.random.binomial(key, n=jnp.asarray(counts), p=jnp.asarray(probabilities), shape=shape, dtype=dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of a Beta(`alpha`, `beta`) distribution."""
    dtype = _float(dtype, "beta")
    key = draw_seed(seed, "beta")
    return jax.random.beta(key, a=jnp.asarray(alpha), b=jnp.asarray(beta), shape=shape, dtype=dtype)
