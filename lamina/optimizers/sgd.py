"""SGD with optional (Nesterov) momentum, Keras 3 numerics."""

import jax.numpy as jnp

from lamina.optimizers import transforms
from lamina.optimizers.base import Optimizer


class SGD(Optimizer):
    """Gradient descent, optionally with momentum (Keras `keras.optimizers.SGD`).

    Per variable `p` with gradient `g`:
    no momentum: `p -= lr * g`;
    momentum: `m = momentum * m - lr * g`, then `p += m`
    (`p += momentum * m - lr * g` with `nesterov=True`).

    The update rule is lamina's own optax transform: Keras keeps `lr` inside
    the momentum buffer, while `optax.sgd` multiplies by `lr` afterwards, which
    differs as soon as the learning rate changes between steps.

    Args:
        learning_rate: float or schedule (default 0.01).
        momentum: float in [0, 1] (default 0.0).
        nesterov: bool (default False).
        **kwargs: the base `Optimizer` arguments (clipnorm, weight_decay, ...).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float in [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _variable_layout(self):
        return [("momentum",)] if self.momentum != 0 else []

    def _update_rule(self):
        momentum, nesterov = self.momentum, self.nesterov
        if momentum == 0:
            return transforms.per_variable({}, lambda g, p, b, lr, it, s: (-(g * lr), {}))

        def step(g, p, buffers, lr, iterations, scalars):
            mom = jnp.asarray(momentum, p.dtype)
            m = buffers["momentum"] * mom - g * lr
            delta = m * mom - g * lr if nesterov else m
            return delta, {"momentum": m}

        return transforms.per_variable({"momentum": 0.0}, step)

    def get_config(self):
        return dict(super().get_config(), momentum=self.momentum, nesterov=self.nesterov)
