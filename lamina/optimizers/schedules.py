"""Learning rate schedules: pure functions of the optimizer step, Keras 3 semantics.

A schedule maps the optimizer's `iterations` (an int32 scalar, the number of
updates already applied) to a float32 scalar learning rate. Every `__call__`
is written in `jax.numpy` only, so optimizers evaluate it inside a jitted
training step without recompiling as the step grows.
"""

import math

import jax.numpy as jnp

from lamina.backend import registry as serialization

_DTYPE = jnp.float32


def _positive_steps(cls_name, arg, value):
    if value is None or value <= 0:
        raise ValueError(f"{cls_name}: argument `{arg}` must be > 0. Received: {arg}={value}")


class LearningRateSchedule:
    """Base class: subclass it and implement `__call__(step)` and `get_config()`.

    `__call__(step)` takes a scalar integer step (the optimizer's iteration
    count before the update) and returns a scalar float learning rate; write
    it with `jax.numpy` so it can run inside `jax.jit`.
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _RatioDecay(LearningRateSchedule):
    """Shared by schedules of `step / decay_steps` (floored when `staircase=True`)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        _positive_steps(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name or type(self).__name__

    def _ratio(self, step):
        p = jnp.asarray(step, _DTYPE) / jnp.asarray(self.decay_steps, _DTYPE)
        return jnp.floor(p) if self.staircase else p

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_RatioDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

    With `staircase=True` the exponent is floored, so the rate drops every
    `decay_steps` steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        lr0 = jnp.asarray(self.initial_learning_rate, _DTYPE)
        return lr0 * jnp.power(jnp.asarray(self.decay_rate, _DTYPE), self._ratio(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[i]` while
    `boundaries[i-1] < step <= boundaries[i]`, `values[-1]` after the last boundary.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries = list(boundaries)
        values = list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: `values` must have exactly one more entry than "
                f"`boundaries`. Received boundaries={boundaries} (length {len(boundaries)}) "
                f"and values={values} (length {len(values)})."
            )
        if any(later <= earlier for earlier, later in zip(boundaries, boundaries[1:])):
            raise ValueError(
                f"PiecewiseConstantDecay: `boundaries` must be strictly increasing. Received {boundaries}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = jnp.asarray(step)
        values = jnp.asarray(self.values, _DTYPE)
        if not self.boundaries:
            return values[0]
        boundaries = jnp.asarray(self.boundaries, step.dtype if step.dtype.kind in "iu" else _DTYPE)
        # Number of boundaries strictly below `step` selects the interval.
        index = jnp.sum((step > boundaries).astype(jnp.int32))
        return values[index]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """`(initial - end) * (1 - step / decay_steps) ** power + end`, step capped at
    `decay_steps`; with `cycle=True` the horizon grows to the next multiple of
    `decay_steps` instead.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _positive_steps("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        lr0 = jnp.asarray(self.initial_learning_rate, _DTYPE)
        end = jnp.asarray(self.end_learning_rate, _DTYPE)
        power = jnp.asarray(self.power, _DTYPE)
        step = jnp.asarray(step, _DTYPE)
        horizon = jnp.asarray(self.decay_steps, _DTYPE)
        if self.cycle:
            multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / horizon))
            horizon = horizon * multiplier
        else:
            step = jnp.minimum(step, horizon)
        p = step / horizon
        return (lr0 - end) * jnp.power(1 - p, power) + end

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_RatioDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (floored
    ratio when `staircase=True`).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        lr0 = jnp.asarray(self.initial_learning_rate, _DTYPE)
        return lr0 / (1.0 + jnp.asarray(self.decay_rate, _DTYPE) * self._ratio(step))


def _cosine(step, decay_steps, start_lr, alpha):
    fraction = step / decay_steps
    cosine = 0.5 * (1.0 + jnp.cos(jnp.asarray(math.pi, _DTYPE) * fraction))
    return start_lr * ((1 - alpha) * cosine + alpha)


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay.

    Without `warmup_target`: decays from `initial_learning_rate` to
    `initial_learning_rate * alpha` over `decay_steps`. With it: rises linearly
    from `initial_learning_rate` to `warmup_target` over `warmup_steps`, then
    decays from `warmup_target` to `warmup_target * alpha` over `decay_steps`.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _positive_steps("CosineDecay", "decay_steps", decay_steps)
        if warmup_steps < 0:
            raise ValueError(f"CosineDecay: `warmup_steps` must be >= 0. Received: warmup_steps={warmup_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        lr0 = jnp.asarray(self.initial_learning_rate, _DTYPE)
        decay_steps = jnp.asarray(self.decay_steps, _DTYPE)
        step = jnp.asarray(step, _DTYPE)
        if self.warmup_target is None:
            return _cosine(jnp.minimum(step, decay_steps), decay_steps, lr0, self.alpha)
        target = jnp.asarray(self.warmup_target, _DTYPE)
        warmup_steps = jnp.asarray(self.warmup_steps, _DTYPE)
        step = jnp.minimum(step, decay_steps + warmup_steps)
        safe_warmup = jnp.where(warmup_steps > 0, warmup_steps, 1.0)
        warm = (target - lr0) * (step / safe_warmup) + lr0
        decayed = _cosine(step - warmup_steps, decay_steps, target, self.alpha)
        return jnp.where(step < warmup_steps, warm, decayed)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR).

    The first period lasts `first_decay_steps`; each next one is `t_mul` times
    longer and starts at `m_mul` times the previous peak. Within a period the
    multiplier falls from 1 to `alpha`.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _positive_steps("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        lr0 = jnp.asarray(self.initial_learning_rate, _DTYPE)
        alpha = jnp.asarray(self.alpha, _DTYPE)
        t_mul = jnp.asarray(self._t_mul, _DTYPE)
        m_mul = jnp.asarray(self._m_mul, _DTYPE)
        fraction = jnp.asarray(step, _DTYPE) / jnp.asarray(self.first_decay_steps, _DTYPE)
        if self._t_mul == 1.0:
            restart = jnp.floor(fraction)
            fraction = fraction - restart
        else:
            restart = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            done = (1.0 - jnp.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - done) / jnp.power(t_mul, restart)
        cosine = 0.5 * jnp.power(m_mul, restart) * (1.0 + jnp.cos(jnp.asarray(math.pi, _DTYPE) * fraction))
        return lr0 * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


ALL_SCHEDULES = {
    cls.__name__: cls
    for cls in (
        LearningRateSchedule,
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(learning_rate_schedule):
    """The Keras config dict of a schedule (`{"module", "class_name", "config", ...}`)."""
    return serialization.serialize_keras_object(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """A schedule from a Keras config dict or a class name."""
    return serialization.deserialize_keras_object(
        config, ALL_SCHEDULES, "learning rate schedule", custom_objects=custom_objects
    )
