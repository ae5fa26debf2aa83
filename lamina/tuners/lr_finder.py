"""The learning-rate range test: train briefly while the rate grows exponentially, watch the loss.

    found = lamina.tuners.find_learning_rate(model, x, y)      # model compiled with its optimizer
    found.plot("lr.png"); model.optimizer.learning_rate = found.suggested

Step `i` of `n` (`n` = `epochs` * batches per epoch) trains with rate
`min_rate * (max_rate / min_rate) ** (i / (n - 1))`. The whole schedule runs inside one compiled
`lax.scan` per chunk of steps (the rate is an input of each step, written into the optimizer's
learning-rate slot), so there are no per-batch Python hooks; between chunks the host smooths the
losses and stops once the smoothed loss exceeds `divergence` (4) times the best one so far, or is
not finite. Afterwards every variable of the model and its optimizer holds exactly what it held
before (the arrays are put back, bit for bit).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

_CHUNK = 128  # steps per compiled call between divergence checks


class LearningRateFinder:
    """The range test's result.

    Attributes:
        rates: [steps] float array, the rate of each step run.
        losses: [steps] the smoothed loss after each step (exponential moving average with bias
            correction, `smoothing` 0.98), the curve to read.
        raw_losses: [steps] each batch's own loss.
        suggested: the rate at the smoothed loss's minimum divided by 10, "a bit below where the
            loss climbs" (the minimum is where it stops falling; a tenth of it stays clear of the
            unstable region). Chosen over the steepest-descent point, which a noisy curve moves about.
        stopped_early: whether the loss diverged before the last step.
    """

    def __init__(self, rates, losses, raw_losses, stopped_early):
        self.rates = np.asarray(rates, np.float64)
        self.losses = np.asarray(losses, np.float64)
        self.raw_losses = np.asarray(raw_losses, np.float64)
        self.stopped_early = stopped_early
        finite = np.where(np.isfinite(self.losses), self.losses, np.inf)
        self.min_loss_rate = float(self.rates[int(np.argmin(finite))]) if len(finite) else float("nan")
        self.suggested = self.min_loss_rate / 10

    def plot(self, path=None):
        """Loss against rate on a log axis (each batch's loss faint, the smoothed curve on top), the minimum
        and the suggestion marked, in lamina's picture style; saved to `path` (returns the path) or shown
        (returns the axes). Needs matplotlib (`pip install "lamina[plot]"`)."""
        from lamina.utils import plotting

        fig, axes = plotting.figure(title="Learning-rate range test", interactive=path is None)
        axes.plot(self.rates, self.raw_losses, color=plotting.COLORS[0], alpha=0.25, linewidth=0.8,
                  label="each batch")
        axes.plot(self.rates, self.losses, color=plotting.COLORS[0], linewidth=2, label="smoothed")
        axes.axvline(self.min_loss_rate, linestyle=":", color=plotting.COLORS[5],
                     label=f"lowest loss at {self.min_loss_rate:.3g}")
        axes.axvline(self.suggested, linestyle="--", color=plotting.COLORS[2], label=f"suggested {self.suggested:.3g}")
        axes.set_xscale("log")
        finite = self.losses[np.isfinite(self.losses)]
        if len(finite):  # keep the diverging tail from flattening the curve
            low, high = float(finite.min()), float(np.percentile(finite, 95))
            axes.set_ylim(low - 0.05 * (high - low + 1e-12), high + 0.25 * (high - low + 1e-12))
        plotting.style(axes, xlabel="learning rate (log scale)", ylabel="training loss", legend=True)
        if path is not None:
            return plotting.save(fig, path)
        import matplotlib.pyplot as plt

        plt.show()
        return axes

    def __repr__(self):
        return f"LearningRateFinder(steps={len(self.rates)}, suggested={self.suggested:.3g})"


def _check(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"find_learning_rate: `{name}` must be a positive number, got {value!r}.")
    return value


def find_learning_rate(model, x, y, epochs=1, batch_size=32, min_rate=1e-5, max_rate=10.0, smoothing=0.98,
                       divergence=4.0, shuffle=True, seed=None):
    """Run the range test on a compiled `model` (whose optimizer has a float learning rate).

    Args:
        x, y: arrays (or dicts / lists of arrays) as for `fit`; the last partial batch of an epoch is
            dropped (every step has `batch_size` rows).
        epochs: passes over the data; the rate spans [min_rate, max_rate] over all of them.
        smoothing: the moving average's factor; divergence: the stop ratio to the best smoothed loss.
        shuffle, seed: each epoch's order (NumPy `default_rng(seed)`).

    Returns a `LearningRateFinder`. The model's weights and optimizer state are restored afterwards.
    """
    from lamina.training import data_adapter, steps
    from lamina.training.state import TrainState

    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"find_learning_rate: `{name}` must be a positive int, got {value!r}.")
    _check("min_rate", min_rate), _check("max_rate", max_rate), _check("divergence", divergence)
    if not min_rate < max_rate:
        raise ValueError(f"find_learning_rate: `min_rate` ({min_rate}) must be below `max_rate` ({max_rate}).")
    if not 0 <= smoothing < 1:
        raise ValueError(f"find_learning_rate: `smoothing` must be in [0, 1), got {smoothing!r}.")
    if not getattr(model, "compiled", False):
        raise RuntimeError("find_learning_rate: compile the model first (with its optimizer and loss).")
    optimizer = model.optimizer
    if optimizer._has_schedule:
        raise ValueError("find_learning_rate: the optimizer's learning rate is a schedule; the range test sets "
                         "the rate itself. Compile with a float learning rate for the test.")
    x = data_adapter.to_numpy_tree(x, "x")
    y = data_adapter.to_numpy_tree(y, "y")
    n = data_adapter.num_samples(x, "x")
    if data_adapter.num_samples(y, "y") != n:
        raise ValueError(f"find_learning_rate: x has {n} samples but y has {data_adapter.num_samples(y, 'y')}.")
    engine = model._engine
    setup = engine.prepare(x, y)
    if setup.keras_steps:
        raise ValueError("find_learning_rate drives lamina's own compiled step; this model overrides a step "
                         "method (train_step, compute_loss, ...) or uses a user-written loss or metric.")
    engine._require_loss("find_learning_rate")
    engine.check_data(data_adapter.ArrayData(x, y, None), training=True, what="find_learning_rate: ")
    sync = engine._sync(with_optimizer=True)
    before = sync.read(TrainState)
    lr_index = next(i for i, v in enumerate(optimizer.variables) if v is optimizer._learning_rate_variable)

    batch = min(batch_size, n)
    per_epoch = n // batch
    total = per_epoch * epochs
    rng = np.random.default_rng(seed)
    order = np.concatenate([(rng.permutation(n) if shuffle else np.arange(n))[:per_epoch * batch]
                            for _ in range(epochs)]).reshape(total, batch)
    rates = min_rate * (max_rate / min_rate) ** (np.arange(total) / max(total - 1, 1))
    chunk = min(_CHUNK, total)
    pad = -total % chunk
    order = np.concatenate([order, np.zeros((pad, batch), order.dtype)])
    all_rates = np.concatenate([rates, np.full(pad, rates[-1])]).astype(np.float32)
    x_dev, y_dev = jax.device_put(x), jax.device_put(y)
    mask = jnp.ones((batch,), jnp.float32)

    def step(carry, inputs, data):
        trainable, non_trainable, opt_vars = carry
        index, rate = inputs
        xb = jax.tree_util.tree_map(lambda a: a[index], data[0])
        yb = jax.tree_util.tree_map(lambda a: a[index], data[1])

        def loss_fn(params):
            raw, _, masks, new_non_trainable, losses = steps._forward(model, setup, params, non_trainable, xb,
                                                                      True, mask)
            total_loss, _ = steps._loss(setup, xb, yb, raw, None, losses, mask, masks)
            return total_loss, new_non_trainable

        (loss, non_trainable), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
        opt_vars = list(opt_vars)
        opt_vars[lr_index] = rate.astype(opt_vars[lr_index].dtype)
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return (trainable, non_trainable, opt_vars), loss

    # The data are arguments (closed-over arrays would be baked into the program as constants).
    run = jax.jit(lambda carry, index, rate, data: jax.lax.scan(lambda c, i: step(c, i, data), carry, (index, rate)))
    carry = (before.trainable_variables, before.non_trainable_variables, before.optimizer_variables)
    raw, smooth, average, best, stopped = [], [], 0.0, math.inf, False
    try:
        for start in range(0, total, chunk):
            carry, losses = run(carry, order[start:start + chunk], all_rates[start:start + chunk], (x_dev, y_dev))
            for loss in np.asarray(losses, np.float64)[:total - start]:
                i = len(raw)
                raw.append(loss)
                average = smoothing * average + (1 - smoothing) * loss
                value = average / (1 - smoothing ** (i + 1))
                smooth.append(value)
                if i > 0 and (not math.isfinite(value) or value > divergence * best):
                    stopped = True
                    break
                best = min(best, value)
            if stopped:
                break
    finally:
        sync.write(before)  # the arrays held before: weights, seeds and optimizer state, bit for bit
    count = len(raw)
    return LearningRateFinder(rates[:count], smooth, raw, stopped and count < total)
