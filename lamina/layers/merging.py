"""Merging layers: combine a list of tensors into one.

Elementwise merges (`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`,
`Minimum`) take inputs whose non-batch shapes broadcast against each other
(right-aligned; inputs of lower rank get size-1 axes after the batch axis, as
in Keras). `Concatenate` joins along `axis`; `Dot` takes batchwise dot
products. Each class has a function form (`add([a, b])`, ...).
"""

import numbers

import jax
import jax.numpy as jnp

from lamina.backend import config
from lamina.layers.base import Layer, _fmt


def _shapes_text(shapes):
    return ", ".join(_fmt(s) for s in shapes)


class Merge(Layer):
    """Base of the elementwise merges: a list of >= `min_inputs` tensors -> one tensor.

    [batch, *s_1], ..., [batch, *s_k] -> [batch, *broadcast(s_1, ..., s_k)].
    """

    min_inputs = 1
    max_inputs = None

    def _check_list(self, shapes):
        kind = type(self).__name__
        where = f"Layer '{self.name}' ({kind})"
        if not isinstance(shapes, (list, tuple)) or not shapes or not isinstance(shapes[0], (list, tuple)):
            got = f"a single tensor of shape {_fmt(shapes)}" if isinstance(shapes, tuple) and shapes else repr(shapes)
            raise ValueError(f"{where} must be called on a list of tensors, e.g. {kind}()([a, b]); got {got}.")
        if len(shapes) < self.min_inputs or (self.max_inputs is not None and len(shapes) > self.max_inputs):
            count = (f"exactly {self.min_inputs}" if self.min_inputs == self.max_inputs
                     else f"at least {self.min_inputs}")
            raise ValueError(f"{where} needs {count} inputs, got {len(shapes)} with shapes {_shapes_text(shapes)}.")
        batches = {s[0] for s in shapes if s and s[0] is not None}
        if len(batches) > 1:
            raise ValueError(f"{where}: inputs have different batch sizes: shapes {_shapes_text(shapes)}.")

    def _input_shapes(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            kind = type(self).__name__
            raise ValueError(
                f"Layer '{self.name}' ({kind}) must be called on a list of tensors, e.g. {kind}()([a, b]); "
                f"got a single tensor of shape {_fmt(tuple(inputs.shape))}."
            )
        return [tuple(x.shape) for x in inputs]

    def _check_shapes(self, shapes):
        """Raise a ValueError naming the layer and the shapes if they do not broadcast."""
        self._check_list(shapes)
        out = []
        for shape in shapes:
            shape = tuple(shape)[1:]
            if len(shape) > len(out):
                out = [1] * (len(shape) - len(out)) + out
            padded = [1] * (len(out) - len(shape)) + list(shape)
            for i, (a, b) in enumerate(zip(out, padded)):
                if a is None or b is None:
                    out[i] = b if a == 1 else (a if b == 1 else None)
                elif a == 1 or b == 1 or a == b:
                    out[i] = max(a, b)
                else:
                    raise ValueError(
                        f"Layer '{self.name}' ({type(self).__name__}) cannot combine inputs with shapes "
                        f"{_shapes_text(shapes)}: non-batch dimensions must be equal or 1 (broadcastable)."
                    )
        return (shapes[0][0],) + tuple(out)

    def build(self, input_shape):
        self._check_shapes(input_shape)
        self.built = True

    def call(self, inputs):
        self._check_shapes(self._input_shapes(inputs))
        rank = max(x.ndim for x in inputs)
        aligned = [x.reshape((x.shape[0],) + (1,) * (rank - x.ndim) + tuple(x.shape[1:])) for x in inputs]
        return self._merge(aligned)

    def _merge(self, inputs):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """The inputs' masks combined with OR, or None when an input has none (Keras's rule)."""
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
        if mask is None or any(m is None for m in masks):
            return None
        out = masks[0]
        for m in masks[1:]:
            out = jnp.logical_or(out, m)
        return out


def _masked_extreme(op, inputs, masks):
    """`op` (maximum / minimum) over inputs where masked entries take the other inputs' values (Keras's rule)."""
    output, output_mask = None, None
    for x, m in zip(inputs, masks):
        if m is not None:
            m = jnp.broadcast_to(jnp.expand_dims(jnp.asarray(m, bool), -1), x.shape)
        if output is None:
            output, output_mask = x, m
            continue
        if m is not None:
            x = jnp.where(m, x, output)
        if output_mask is not None:
            output = jnp.where(output_mask, output, x)
        output_mask = jnp.logical_or(output_mask, m) if m is not None and output_mask is not None else None
        output = op(output, x)
    return output


class Add(Merge):
    """Elementwise sum of the inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(Merge):
    """`inputs[0] - inputs[1]` (exactly two inputs)."""

    min_inputs = max_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Elementwise product of the inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(Merge):
    """Elementwise mean of the inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class Maximum(Merge):
    """Elementwise maximum of the inputs (with masks, a masked entry does not take part, as in Keras)."""

    _op = staticmethod(jnp.maximum)

    def call(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return super().call(inputs)
        self._check_shapes(self._input_shapes(inputs))
        return _masked_extreme(self._op, list(inputs), list(mask))

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = self._op(out, x)
        return out


class Minimum(Maximum):
    """Elementwise minimum of the inputs (with masks, a masked entry does not take part, as in Keras)."""

    _op = staticmethod(jnp.minimum)


class Concatenate(Merge):
    """Joins inputs along `axis`; all other dimensions must match.

    [batch, ..., a_1, ...], ..., [batch, ..., a_k, ...] -> [batch, ..., sum(a_i), ...].
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Concatenate: `axis` must be an int, got {axis!r}.")
        self.axis = int(axis)

    def _check_shapes(self, shapes):
        self._check_list(shapes)
        where = f"Layer '{self.name}' (Concatenate)"
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(
                f"{where} needs inputs of the same rank, got shapes {_shapes_text(shapes)}. Reshape the inputs "
                "(e.g. with Reshape or Flatten) so they have the same number of dimensions."
            )
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"{where}: axis={self.axis} is out of range for inputs of rank {rank}.")
        axis = self.axis % rank
        if axis == 0:
            raise ValueError(f"{where}: cannot concatenate along the batch axis (axis={self.axis}).")
        for i in range(1, rank):
            if i == axis:
                continue
            sizes = {s[i] for s in shapes if s[i] is not None}
            if len(sizes) > 1:
                raise ValueError(
                    f"{where} requires inputs with matching shapes except along the concatenation axis "
                    f"(axis={self.axis}), but got shapes {_shapes_text(shapes)} (they differ on axis {i})."
                )

    def call(self, inputs):
        self._check_shapes(self._input_shapes(inputs))
        dtype = jnp.result_type(*inputs)
        return jnp.concatenate([x.astype(dtype) for x in inputs], axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """The masks concatenated like the inputs (True where an input has none), then any over the last axis."""
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
        if mask is None or all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                m = jnp.ones(x.shape, bool)
            elif m.ndim < x.ndim:
                m = jnp.broadcast_to(jnp.expand_dims(m, -1), x.shape)
            full.append(jnp.asarray(m, bool))
        return jnp.any(jnp.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _l2_normalize(x, axis):
    square_sum = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    return x * jnp.minimum(jax.lax.rsqrt(square_sum), 1.0 / config.epsilon())


class Dot(Merge):
    """Batchwise dot product of two inputs along `axes` (an int or a pair; the batch axis excluded).

    [batch, *a] . [batch, *b] -> [batch, *a without axes[0], *b without axes[1]]
    (at least [batch, 1]). With `normalize=True` the inputs are L2-normalized along
    the dot axes first, giving the cosine similarity.
    """

    min_inputs = max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes):
                raise ValueError(f"Dot: `axes` must be an int or a pair of ints, got axes={axes!r}.")
            axes = [int(a) for a in axes]
        elif isinstance(axes, bool) or not isinstance(axes, numbers.Integral):
            raise TypeError(f"Dot: `axes` must be an int or a pair of ints, got axes={axes!r}.")
        else:
            axes = int(axes)
        self.axes = axes
        self.normalize = bool(normalize)

    def _resolve_axes(self, shapes):
        pair = self.axes if isinstance(self.axes, list) else [self.axes, self.axes]
        return [a % len(s) if a < 0 else a for a, s in zip(pair, shapes)]

    def _check_shapes(self, shapes):
        self._check_list(shapes)
        where = f"Layer '{self.name}' (Dot)"
        for s in shapes:
            if len(s) < 2:
                raise ValueError(f"{where} needs inputs of rank >= 2, got shapes {_shapes_text(shapes)}.")
        axes = self._resolve_axes(shapes)
        for a, s in zip(axes, shapes):
            if not 1 <= a < len(s):
                raise ValueError(
                    f"{where}: axes={self.axes} is out of range for inputs of shapes {_shapes_text(shapes)} "
                    "(the batch axis 0 cannot be used)."
                )
        d1, d2 = shapes[0][axes[0]], shapes[1][axes[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(
                f"{where}: the dot axes have different sizes: {d1} (axis {axes[0]} of the first input) != {d2} "
                f"(axis {axes[1]} of the second); input shapes {_shapes_text(shapes)}."
            )

    def call(self, inputs):
        shapes = self._input_shapes(inputs)
        self._check_shapes(shapes)
        x1, x2 = inputs
        a1, a2 = self._resolve_axes(shapes)
        if self.normalize:
            x1, x2 = _l2_normalize(x1, a1), _l2_normalize(x2, a2)
        out = jax.lax.dot_general(x1, x2, (((a1,), (a2,)), ((0,), (0,))))
        if out.ndim == 1:
            out = out[:, None]
        return out

    def compute_mask(self, inputs, mask=None):
        """None: a dot product has no steps left to mask (Keras's rule)."""
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """`Add(**kwargs)(inputs)`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """`Subtract(**kwargs)(inputs)`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """`Multiply(**kwargs)(inputs)`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """`Average(**kwargs)(inputs)`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """`Maximum(**kwargs)(inputs)`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """`Minimum(**kwargs)(inputs)`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """`Concatenate(axis, **kwargs)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """`Dot(axes, **kwargs)(inputs)` (`normalize=` may be given)."""
    return Dot(axes=axes, **kwargs)(inputs)
