"""`Loss` (weights, masks and reduces per-sample values) and `LossFunctionWrapper`."""

import copy

import jax.numpy as jnp

from lamina.backend import config
from lamina.losses.functions import squeeze_or_expand_to_same_rank
from lamina.losses.reduction import (
    _snake_case,
    _standardize_reduction,
    reduce_weighted_values,
)
from lamina.backend import registry as serialization


class Loss:
    """Base loss: `call(y_true, y_pred) -> [b, ...]`, `__call__` weights and reduces.

    Attributes:
        logits_activation: "sigmoid" / "softmax" when the loss is the cross-entropy matching
            that output activation (the engine may then feed logits to `with_logits()`).
    """

    logits_activation = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake_case(type(self).__name__)
        self.reduction = _standardize_reduction(reduction)
        self._dtype = config.standardize_dtype(dtype)

    @property
    def dtype(self):
        return self._dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def _values(self, y_true, y_pred, mask=None):
        """(per-sample values, element mask or None); `mask` is the [b] valid-row mask."""
        return self.call(y_true, y_pred), None

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None, output_mask=None):
        """Scalar loss (or per-sample values with reduction "none").

        Args:
            y_true, y_pred: arrays [b, ...].
            sample_weight: optional weights [b] (or broadcastable to the per-sample values).
            mask: optional [b] 0/1 valid rows (padding); masked rows are fully excluded.
            output_mask: optional boolean mask of `y_pred`'s entries (Keras's mask on `y_pred`, e.g.
                [b, steps] for a masked sequence): False entries count neither in the sum nor in the
                number of entries the reduction divides by.
        """
        y_true = jnp.asarray(y_true).astype(self._dtype)
        y_pred = jnp.asarray(y_pred).astype(self._dtype)
        values, elem_mask = self._values(y_true, y_pred, mask)
        if output_mask is not None and jnp.ndim(values) > 0:
            entries = _mask_like(output_mask, values, self.name)
            elem_mask = entries if elem_mask is None else jnp.logical_and(jnp.asarray(elem_mask, bool), entries)
        return reduce_weighted_values(
            values.astype(self._dtype), sample_weight, mask, self.reduction, elem_mask
        )

    @property
    def from_logits(self):
        return getattr(self, "_from_logits", False)

    @from_logits.setter
    def from_logits(self, value):
        if "from_logits" not in getattr(self, "_fn_kwargs", {}):
            raise AttributeError(f"{type(self).__name__} has no `from_logits` argument.")
        self._fn_kwargs["from_logits"] = bool(value)
        self._from_logits = bool(value)

    def with_logits(self):
        """A copy of this loss that takes logits (pre-sigmoid/softmax outputs)."""
        if self.logits_activation is None:
            raise ValueError(f"Loss '{self.name}' ({type(self).__name__}) has no logits form.")
        if self.from_logits:
            raise ValueError(f"Loss '{self.name}' already has from_logits=True.")
        new = copy.copy(self)
        new._fn_kwargs = dict(getattr(self, "_fn_kwargs", {}))
        new._fn_kwargs["from_logits"] = True
        new._from_logits = True
        return new

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    def _exact_config(self):
        """The config plus what Keras's config leaves out (its dtype, the function's arguments): for program keys."""
        return {**self.get_config(), "dtype": self._dtype, "fn_kwargs": dict(getattr(self, "_fn_kwargs", {}))}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _mask_like(mask, values, name):
    """`mask` as a boolean array of `values`' shape (a trailing unit axis squeezed or added, Keras's rule)."""
    mask = jnp.asarray(mask).astype(bool)
    mask, _ = squeeze_or_expand_to_same_rank(mask, values)
    if mask.ndim < values.ndim:
        mask = mask.reshape(mask.shape + (1,) * (values.ndim - mask.ndim))
    try:
        return jnp.broadcast_to(mask, values.shape)
    except ValueError:
        raise ValueError(
            f"Loss '{name}': the mask of y_pred has shape {tuple(mask.shape)}, which does not match the loss's "
            f"per-sample values of shape {tuple(values.shape)}."
        ) from None


class LossFunctionWrapper(Loss):
    """Wrap `fn(y_true, y_pred, **kwargs) -> [b, ...]` as a Loss (ranks aligned first)."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: `fn` must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if hasattr(y_true, "ndim") and hasattr(y_pred, "ndim"):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config_ = super().get_config()
        config_["fn"] = serialization.serialize_keras_object(self.fn)
        config_.update(self._fn_kwargs)
        return config_

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        fn = config_.pop("fn")
        if isinstance(fn, (str, dict)):
            fn = serialization.deserialize_keras_object(fn, None, "loss")
        return cls(fn, **config_)

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


class _KerasLoss(LossFunctionWrapper):
    """A built-in loss: its config is the base config plus the constructor arguments."""

    _fn = None
    _arg_names = ()

    def __init__(self, reduction, name, dtype, **kwargs):
        super().__init__(type(self)._fn, reduction=reduction, name=name, dtype=dtype, **kwargs)
        for key, value in kwargs.items():
            setattr(self, "_from_logits" if key == "from_logits" else key, value)

    def get_config(self):
        config_ = Loss.get_config(self)
        config_.update({k: self._fn_kwargs[k] for k in self._arg_names})
        return config_

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)


def _make_simple(class_name, fn, default_name, doc):
    def __init__(self, reduction="sum_over_batch_size", name=default_name, dtype=None):
        _KerasLoss.__init__(self, reduction, name, dtype)

    return type(class_name, (_KerasLoss,), {"__init__": __init__, "_fn": staticmethod(fn), "__doc__": doc})
