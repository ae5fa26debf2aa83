"""Normalization layers: `BatchNormalization`, `LayerNormalization`, `Normalization`, `Rescaling`."""

import itertools
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from lamina import constraints, initializers, regularizers
from lamina.backend import config
from lamina.backend.variables import current_scope
from lamina.layers.base import InputSpec, Layer, _fmt


def _check_epsilon(owner, epsilon):
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
        raise ValueError(f"{owner}: `epsilon` must be a positive number, got epsilon={epsilon!r}.")
    return float(epsilon)


def _normalize_axis(layer, axis, rank, shape):
    if not -rank <= axis < rank:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}): axis={axis} is out of range for inputs of shape "
            f"{_fmt(shape)} (rank {rank})."
        )
    return axis % rank


def _apply_normalization(x, mean, variance, gamma, beta, epsilon):
    """`(x - mean) / sqrt(variance + epsilon) * gamma + beta` (all broadcastable to x)."""
    inv = jax.lax.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma
    res = -mean * inv
    if beta is not None:
        res = res + beta
    return x * inv + res


class BatchNormalization(Layer):
    """Normalizes each feature along `axis` with batch statistics (training) or moving ones (inference).

    Any shape [batch, ..., C, ...] -> same shape, C = size of `axis`.

    Training (`training=True` and the layer trainable) uses the mean/variance
    of the batch and updates `moving = moving * momentum + batch * (1 - momentum)`;
    otherwise the moving statistics are used. A frozen layer (`trainable=False`)
    always runs in inference mode, like Keras 3. Rows that the training engine
    pads (the scope's `batch_mask`) and positions where `mask` is False are left
    out of the statistics.

    Weights (`get_weights` order): gamma (if scale), beta (if center),
    moving_mean, moving_variance.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, synchronized=False, renorm=False,
                 renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"BatchNormalization: `axis` must be an int (the features axis), got axis={axis!r}.")
        if renorm:
            raise ValueError("BatchNormalization: `renorm=True` (batch renormalization) is not supported by lamina.")
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization: `momentum` must be a number in [0, 1], got momentum={momentum!r}.")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = _check_epsilon("BatchNormalization", epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.synchronized = bool(synchronized)
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        axis = _normalize_axis(self, self.axis, rank, input_shape)
        if axis == 0 or input_shape[axis] is None:
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization) needs a known, non-batch features axis; got "
                f"axis={self.axis} for inputs of shape {_fmt(input_shape)}."
            )
        shape = (input_shape[axis],)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.moving_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=shape, initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self.input_spec = InputSpec(ndim=rank, axes={axis: input_shape[axis]})
        self.built = True

    def _moments(self, x, axis, mask):
        """Mean and variance over all axes but `axis`, weighting rows by the batch mask and `mask`."""
        reduce = tuple(i for i in range(x.ndim) if i != axis)
        weights = None
        scope = current_scope()
        batch_mask = None if scope is None else scope.batch_mask
        if batch_mask is not None and batch_mask.shape[0] == x.shape[0]:
            weights = jnp.reshape(batch_mask.astype(x.dtype), (x.shape[0],) + (1,) * (x.ndim - 1))
        eps = 0.0
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim != x.ndim - 1:
                raise ValueError(
                    f"Layer '{self.name}' (BatchNormalization): `mask` must have one dimension less than the "
                    f"inputs; got mask shape {_fmt(mask.shape)} for inputs of shape {_fmt(x.shape)}."
                )
            m = jnp.expand_dims(mask.astype(x.dtype), -1)
            weights = m if weights is None else weights * m
            eps = config.epsilon()
        if weights is None:
            return jnp.mean(x, axis=reduce), jnp.var(x, axis=reduce)
        weights = jnp.broadcast_to(weights, x.shape)
        count = jnp.sum(weights, axis=reduce, keepdims=True) + eps
        mean = jnp.sum(x * weights, axis=reduce, keepdims=True) / count
        variance = jnp.sum(weights * jnp.square(x - mean), axis=reduce, keepdims=True) / count
        return jnp.squeeze(mean, reduce), jnp.squeeze(variance, reduce)

    def call(self, inputs, training=False, mask=None):
        axis = self.axis % inputs.ndim
        shape = [1] * inputs.ndim
        shape[axis] = inputs.shape[axis]
        if training and self.trainable:
            mean, variance = self._moments(inputs, axis, mask)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.value * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.value * m + variance * (1.0 - m))
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        gamma = None if self.gamma is None else self.gamma.value.reshape(shape)
        beta = None if self.beta is None else self.beta.value.reshape(shape)
        out = _apply_normalization(inputs, mean.reshape(shape), variance.reshape(shape), gamma, beta, self.epsilon)
        return out.astype(inputs.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


class LayerNormalization(Layer):
    """Normalizes each example over `axis` (int or list of ints); shape unchanged.

    `out = (x - mean) / sqrt(var + epsilon) * gamma + beta` with the statistics
    over `axis`; gamma/beta have the shape of those axes. `rms_scaling=True`
    (deprecated in Keras) computes `x / sqrt(var + epsilon) * gamma` without beta.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
                raise TypeError(f"LayerNormalization: `axis` must be an int or a list of ints, got axis={axis!r}.")
            axis = sorted(int(a) for a in axis)
            axis = axis[0] if len(axis) == 1 else axis
        elif isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"LayerNormalization: `axis` must be an int or a list of ints, got axis={axis!r}.")
        else:
            axis = int(axis)
        self.axis = axis
        self.epsilon = _check_epsilon("LayerNormalization", epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _axes(self, rank, shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        return sorted(_normalize_axis(self, a, rank, shape) for a in axes)

    def build(self, input_shape):
        axes = self._axes(len(input_shape), input_shape)
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(
                f"Layer '{self.name}' (LayerNormalization) needs known sizes on axis={self.axis}; got inputs "
                f"of shape {_fmt(input_shape)}."
            )
        self.gamma = self.beta = None
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={a: input_shape[a] for a in axes})
        self.built = True

    def call(self, inputs):
        axes = self._axes(inputs.ndim, inputs.shape)
        shape = [inputs.shape[i] if i in axes else 1 for i in range(inputs.ndim)]
        gamma = None if self.gamma is None else self.gamma.value.reshape(shape)
        beta = None if self.beta is None else self.beta.value.reshape(shape)
        variance = jnp.var(inputs, axis=tuple(axes), keepdims=True)
        if self.rms_scaling:
            out = inputs * jax.lax.rsqrt(variance + self.epsilon)
            return out if gamma is None else out * gamma
        mean = jnp.mean(inputs, axis=tuple(axes), keepdims=True)
        return _apply_normalization(inputs, mean, variance, gamma, beta, self.epsilon)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


def _first_array(batch):
    """The inputs of a batch that may be `(x, y)` or `(x, y, sample_weight)`."""
    if isinstance(batch, (tuple, list)) and batch and hasattr(batch[0], "shape"):
        return batch[0]
    return batch


class Normalization(Layer):
    """Feature-wise standardization: `(x - mean) / sqrt(variance)`; shape unchanged.

    Args:
        axis: axis or axes that keep their own statistics (default -1: one mean
            per feature); None gives one scalar mean/variance.
        mean, variance: fixed statistics (both or neither); otherwise call
            `adapt(data)` before use.
        invert: apply the inverse, `x * sqrt(variance) + mean`.

    The divisor is `max(sqrt(variance), 1e-7)`. Adapted statistics are stored
    as non-trainable weights `mean`, `variance`, `count` (Keras's layout), so
    they are saved and loaded with the model.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (list, tuple)) and all(isinstance(a, numbers.Integral) for a in axis):
            axis = tuple(int(a) for a in axis)
        else:
            raise TypeError(f"Normalization: `axis` must be an int, a tuple of ints or None, got axis={axis!r}.")
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(
                "Normalization: give both `mean` and `variance`, or neither (then call `adapt(data)`); got "
                f"mean={mean!r}, variance={variance!r}."
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f"Normalization: `mean` and `variance` must have the same shape, got {np.shape(mean)} and "
                    f"{np.shape(variance)}."
                )
            if np.ndim(mean) > len(self.axis):
                raise ValueError(
                    f"Normalization: `mean` has rank {np.ndim(mean)} but axis={self.axis} keeps only "
                    f"{len(self.axis)} axes."
                )
            if np.any(np.asarray(variance) < 0):
                raise ValueError("Normalization: `variance` must be non-negative.")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True
        self._build_input_shape = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        for a in self.axis:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"Layer '{self.name}' (Normalization): axis={self.axis} is out of range for inputs of "
                    f"shape {_fmt(input_shape)}."
                )
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(
                    f"Layer '{self.name}' (Normalization): the kept axis {d} must have a known size; got inputs "
                    f"of shape {_fmt(input_shape)}."
                )
        self._build_input_shape = input_shape
        self._keep_axis = keep
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        stats_shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=stats_shape, initializer="zeros", trainable=False, name="mean")
            self.adapt_variance = self.add_weight(shape=stats_shape, initializer="ones", trainable=False,
                                                  name="variance")
            self.count = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False, name="count")
        else:
            self._fixed = [self._expand(np.asarray(v, dtype=self.dtype)) for v in (self.input_mean,
                                                                                    self.input_variance)]
        self.built = True

    @property
    def mean(self):
        """The mean subtracted from inputs, in the broadcast shape (e.g. (1, features)); None before `build`
        (as in Keras, where it is set once the layer is built or adapted)."""
        return self._statistic(0)

    @property
    def variance(self):
        """The variance inputs are scaled by, in the broadcast shape; None before `build`."""
        return self._statistic(1)

    def _statistic(self, which):
        if not self.built:
            return None
        if self.input_mean is not None:
            return self._fixed[which]
        return jnp.reshape((self.adapt_mean, self.adapt_variance)[which].value, self._broadcast_shape)

    def _expand(self, value):
        """A statistic (scalar, or shaped like the kept axes' trailing part) -> broadcast shape."""
        if value.ndim:
            shape = [1] * len(self._broadcast_shape)
            for i in range(1, value.ndim + 1):
                shape[self._keep_axis[-i]] = value.shape[-i]
            value = value.reshape(shape)
        return jnp.broadcast_to(jnp.asarray(value), self._broadcast_shape)

    def adapt(self, data):
        """Compute the mean and variance of `data` over all axes but `axis`.

        `data`: a NumPy/JAX array, or an iterable of batches (lists of arrays,
        generators, datasets yielding `x` or `(x, y)`). Batches are combined
        with exact running formulas, so the result equals that of one array.
        """
        if hasattr(data, "shape") and not isinstance(data, (list, tuple)):
            batches = None
            shape = tuple(data.shape)
        elif hasattr(data, "__iter__"):
            iterator = iter(data)
            first = next(iterator, None)
            if first is None:
                raise ValueError(f"Layer '{self.name}' (Normalization): adapt() received an empty iterable.")
            first = np.asarray(_first_array(first))
            shape = tuple(first.shape)
            batches = itertools.chain([first], iterator)
        else:
            raise TypeError(
                f"Layer '{self.name}' (Normalization): adapt() expects an array or an iterable of batches, "
                f"got {type(data).__name__}."
            )
        if self.input_mean is not None:
            raise ValueError(
                f"Layer '{self.name}' (Normalization) was given fixed `mean` and `variance`; it cannot be adapted."
            )
        if not self.built:
            self._maybe_build(shape)
        self._check_adapt_shape(shape)
        if batches is None:
            data = np.asarray(data, dtype=np.float64)
            total_mean = data.mean(axis=self._reduce_axis)
            total_var = data.var(axis=self._reduce_axis)
        else:
            total_mean = np.zeros(self.adapt_mean.shape)
            total_var = np.zeros(self.adapt_mean.shape)
            total = 0
            for batch in batches:
                batch = np.asarray(_first_array(batch), dtype=np.float64)
                self._check_adapt_shape(tuple(batch.shape))
                count = math.prod(batch.shape[d] for d in self._reduce_axis)
                if count == 0:
                    continue
                b_mean = batch.mean(axis=self._reduce_axis)
                b_var = batch.var(axis=self._reduce_axis)
                total += count
                w = count / total
                new_mean = total_mean * (1 - w) + b_mean * w
                total_var = ((total_var + (total_mean - new_mean) ** 2) * (1 - w)
                             + (b_var + (b_mean - new_mean) ** 2) * w)
                total_mean = new_mean
        self.adapt_mean.assign(total_mean)
        self.adapt_variance.assign(total_var)

    def _check_adapt_shape(self, shape):
        for d in self._keep_axis:
            if len(shape) != len(self._build_input_shape) or shape[d] != self._build_input_shape[d]:
                raise ValueError(
                    f"Layer '{self.name}' (Normalization) was built for inputs of shape "
                    f"{_fmt(self._build_input_shape)}, but adapt() got data of shape {_fmt(shape)}."
                )

    def _stats(self):
        if self.input_mean is not None:
            return self._fixed
        return [self._expand(v.value) for v in (self.adapt_mean, self.adapt_variance)]

    def call(self, inputs):
        if not jnp.issubdtype(inputs.dtype, jnp.floating):
            inputs = inputs.astype(self.dtype)
        mean, variance = (s.astype(inputs.dtype) for s in self._stats())
        std = jnp.maximum(jnp.sqrt(variance), config.epsilon())
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def get_config(self):
        def listed(v):
            return None if v is None else np.asarray(v).tolist()

        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": listed(self.input_mean), "variance": listed(self.input_variance)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("axis"), list):
            config["axis"] = tuple(config["axis"])
        return super().from_config.__func__(cls, config)


class Rescaling(Layer):
    """`inputs * scale + offset` (e.g. `Rescaling(1/255)` for pixels); shape unchanged, float output.

    `scale` and `offset` may be numbers or per-channel lists (broadcast on the last axis).
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("scale", scale), ("offset", offset)):
            try:
                np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"Rescaling: `{arg}` must be a number or a list of numbers, got {value!r}.") from None
        self.scale = np.asarray(scale).tolist() if isinstance(scale, np.ndarray) else scale
        self.offset = np.asarray(offset).tolist() if isinstance(offset, np.ndarray) else offset
        self.supports_masking = True

    def call(self, inputs):
        dtype = inputs.dtype if jnp.issubdtype(inputs.dtype, jnp.floating) else self.dtype
        scale = jnp.asarray(self.scale, dtype)
        offset = jnp.asarray(self.offset, dtype)
        return inputs.astype(dtype) * scale + offset

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
