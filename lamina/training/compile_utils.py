"""What `compile` resolves: the loss over the model's outputs and the metrics, Keras 3's way.

Outputs are handled as a flat list in the model's output order; `loss`,
`loss_weights` and `metrics` may be given once (applied to every output), as a
list, or as a dict keyed by output name, like Keras.

* `CompileLoss`: the weighted sum of the per-output losses; with several outputs it
  owns one `Mean` tracker per output (`<output>_loss`), as Keras does.
* `CompileMetrics`: the compiled metrics, resolved once target and output shapes are
  known ("accuracy" becomes binary, categorical or sparse categorical accuracy), with
  Keras's log names (`<output>_<metric>`, `weighted_<metric>`).

Both have a pure form (used by lamina's compiled steps, which pass the batch mask of a
padded batch explicitly) and Keras's stateful form (used by Keras-style custom steps,
inside a `StatelessScope`).
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina import losses as losses_lib
from lamina import metrics as metrics_lib


def flatten_outputs(struct, names):
    """Model outputs (array, list or dict) -> flat list in `names` order."""
    if isinstance(struct, dict):
        return [struct[n] for n in names]
    if isinstance(struct, (list, tuple)):
        return list(struct)
    return [struct]


def flatten_masks(masks, names):
    """Output masks (None, or in the outputs' structure with None entries) -> flat list in `names` order."""
    if masks is None:
        return [None] * len(names)
    if isinstance(masks, dict):
        return [masks.get(n) for n in names]
    if isinstance(masks, (list, tuple)):
        return (list(masks) + [None] * len(names))[:len(names)]
    return [masks] + [None] * (len(names) - 1)


def flatten_targets(y, names, what="y"):
    """Targets given like Keras (array, list or dict by output name) -> flat list in output order."""
    if y is None:
        return [None] * len(names)
    if isinstance(y, dict):
        missing = [n for n in names if n not in y]
        if missing:
            raise ValueError(f"{what} is a dict but has no entry for output(s) {missing}; its keys are {list(y)}.")
        return [y[n] for n in names]
    if isinstance(y, (list, tuple)):
        if len(y) != len(names):
            raise ValueError(f"The model has {len(names)} output(s) ({', '.join(names)}) but {what} has {len(y)} entries.")
        return list(y)
    if len(names) != 1:
        raise ValueError(
            f"The model has {len(names)} outputs ({', '.join(names)}); give {what} as a list or a dict keyed by output name."
        )
    return [y]


def flatten_sample_weight(sample_weight, names):
    """Sample weights for each output: one array for all, or a list / dict with one per output."""
    if isinstance(sample_weight, (dict, list, tuple)) and len(names) > 1:
        return flatten_targets(sample_weight, names, "sample_weight")
    return [sample_weight] * len(names)


# Metric names whose meaning depends on the loss and shapes (Keras resolves them at fit time).
RESOLVED_BY_SHAPE = ("accuracy", "acc", "crossentropy", "ce")


def _is_config(x):
    return isinstance(x, dict) and {"class_name", "config"} <= set(x)


def spec_items(spec):
    """The individual losses/metrics in a compile argument (one, a list, or a dict, possibly nested)."""
    if spec is None:
        return []
    if isinstance(spec, dict) and not _is_config(spec):
        return [item for value in spec.values() for item in spec_items(value)]
    if isinstance(spec, (list, tuple)):
        return [item for value in spec for item in spec_items(value)]
    return [spec]


def per_output(spec, names, what):
    """Spread a compile argument over outputs: one value, a list, or a dict by output name.

    With several outputs, a list with one entry per output is taken per output (Keras 3). A flat
    list of metrics of another length applies to every output (tf.keras 2; Keras 3 rejects it).
    """
    if isinstance(spec, dict) and not _is_config(spec):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"compile: {what} has keys {unknown} that are not outputs of the model ({names}).")
        return [spec.get(n) for n in names]
    if isinstance(spec, (list, tuple)) and len(names) > 1:
        flat = not any(isinstance(s, (list, tuple, dict)) for s in spec)
        if what.endswith("metrics") and flat and len(spec) != len(names):
            return [list(spec)] * len(names)
        if len(spec) != len(names):
            raise ValueError(f"compile: {what} has {len(spec)} entries but the model has {len(names)} outputs ({names}).")
        return list(spec)
    return [spec] * len(names)


def check_names(loss, metrics, weighted_metrics):
    """Resolve every name now, so a typo fails at compile with the closest valid name suggested."""
    for item in spec_items(loss):
        losses_lib.get(item)
    for item in spec_items(metrics) + spec_items(weighted_metrics):
        if not (isinstance(item, str) and item.lower() in RESOLVED_BY_SHAPE):
            metrics_lib.get(item)


class CompileLoss:
    """Sum over outputs of `loss_i(y_i, y_pred_i, sample_weight) * loss_weight_i`.

    Args:
        loss: compile's `loss` (one, a list or a dict by output name).
        loss_weights: one float per output (list or dict), or None.
        names: the model's output names.

    `metrics` holds one `Mean` per output (`<name>_loss`, the loss before its weight) when
    the model has several outputs; Keras logs them after the compiled metrics.
    """

    def __init__(self, loss, loss_weights, names):
        self.names = names
        self.losses = [None if l is None else losses_lib.get(l) for l in per_output(loss, names, "loss")]
        if all(l is None for l in self.losses):
            raise ValueError("compile: `loss` is required for fit/evaluate (e.g. loss='mse').")
        weights = per_output(loss_weights, names, "loss_weights") if loss_weights is not None else [1.0] * len(names)
        self.weights = [1.0 if w is None else float(w) for w in weights]
        self.metrics = [metrics_lib.Mean(name=f"{n}_loss") for n in names] if len(names) > 1 else []

    def compute(self, y_true, y_pred, sample_weight, mask=None, logit_outputs=(), output_masks=None):
        """(total, [per-output losses]) for flat lists; `logit_outputs` are indices fed logits;
        `output_masks` the outputs' masks (flat, None entries for none) (pure)."""
        weights = flatten_sample_weight(sample_weight, self.names)
        output_masks = output_masks or [None] * len(self.names)
        per = []
        for i, (fn, w) in enumerate(zip(self.losses, self.weights)):
            if fn is None or y_true[i] is None:
                per.append(jnp.zeros(()))
                continue
            fn = fn.with_logits() if i in logit_outputs else fn
            extra = {} if output_masks[i] is None else {"output_mask": output_masks[i]}
            per.append(fn(y_true[i], y_pred[i], sample_weight=weights[i], mask=mask, **extra))
        return sum(p * w for p, w in zip(per, self.weights)), per

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Keras's stateful form: the total loss; the per-output trackers are updated (in a scope)."""
        y_true = flatten_targets(y_true, self.names)
        y_pred = flatten_outputs(y_pred, self.names)
        total, per = self.compute(y_true, y_pred, sample_weight)
        batch = jnp.asarray(jnp.shape(jax.tree_util.tree_leaves(y_pred)[0])[0], jnp.float32)
        for tracker, value in zip(self.metrics, per):
            tracker.update_state(value, sample_weight=batch)
        return total


class CompileMetrics(metrics_lib.Metric):
    """The metrics given to `compile`, for every output, as one metric named "compile_metrics".

    Its state is the concatenation of its metrics' states, its result a dict by log name.
    """

    def __init__(self, metrics, weighted_metrics, names):
        super().__init__(name="compile_metrics")
        self.names = names
        self.spec = per_output(metrics or [], names, "metrics")
        self.weighted_spec = per_output(weighted_metrics or [], names, "weighted_metrics")
        self.entries = None  # [(log name, metric, output index, weighted)] once built

    @property
    def built(self):
        return self.entries is not None

    def build(self, compile_loss, y_shapes, y_pred_shapes):
        """Resolve the metrics for these target / output shapes ([(None, ...)] per output)."""
        multi = len(self.names) > 1
        entries, names = [], set()
        for weighted, spec in ((False, self.spec), (True, self.weighted_spec)):
            for i, items in enumerate(spec):
                items = [] if items is None else items if isinstance(items, (list, tuple)) else [items]
                for item in items:
                    loss = compile_loss.losses[i] if compile_loss is not None else None
                    metric = _resolve(item, loss, y_shapes[i], y_pred_shapes[i])
                    metric.build(y_shapes[i], y_pred_shapes[i])
                    if isinstance(item, str):  # Keras names (and logs) a metric given as a string by that string
                        metric.name = item
                    base = metric.name
                    prefix = f"{self.names[i]}_" if multi else ""
                    name = prefix + base
                    if weighted and name in names:
                        name = f"{prefix}weighted_{base}"
                    stem, k = name, 1
                    while name in names:
                        name, k = f"{stem}_{k}", k + 1
                    names.add(name)
                    entries.append((name, metric, i, weighted))
        self.entries = entries

    @property
    def metrics(self):
        return [m for _, m, _, _ in self.entries or []]

    @property
    def log_names(self):
        return [name for name, _, _, _ in self.entries or []]

    @property
    def variables(self):
        return [v for m in self.metrics for v in m.variables]

    def _to_state(self, values):
        out, start = [], 0
        for m in self.metrics:
            n = len(m.variables)
            out.append(m._to_state(values[start:start + n]))
            start += n
        return out

    def _state_values(self, state):
        return [v for m, s in zip(self.metrics, state) for v in m._state_values(s)]

    def init_state(self):
        return [m.init_state() for m in self.metrics]

    def update(self, state, y_true, y_pred, sample_weight=None, mask=None, output_masks=None):
        """New states after one batch (pure): flat per-output lists; `mask` marks the real rows;
        `output_masks` (flat, None entries for none) the outputs' masks, which weight the metrics
        that average per-sample values (`MeanMetricWrapper`s, like accuracy), as in Keras."""
        y_true = flatten_targets(y_true, self.names) if not isinstance(y_true, list) else y_true
        y_pred = flatten_outputs(y_pred, self.names) if not isinstance(y_pred, list) else y_pred
        weights = flatten_sample_weight(sample_weight, self.names)
        output_masks = output_masks or [None] * len(self.names)
        out = []
        for s, (_, metric, i, weighted) in zip(state, self.entries):
            if y_true[i] is None:
                out.append(s)
                continue
            sw = mask
            if weighted and weights[i] is not None:
                sw = weights[i] if mask is None else weights[i] * _expand_mask(mask, weights[i])
            if output_masks[i] is not None and isinstance(metric, metrics_lib.MeanMetricWrapper):
                sw = _weights_with_mask(sw, output_masks[i])
            out.append(metric.update(s, y_true[i], y_pred[i], sample_weight=sw))
        return out

    def compute(self, state):
        return {name: metric.compute(s) for s, (name, metric, _, _) in zip(state, self.entries)}

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._assign(self.update(self._current(), y_true, y_pred, sample_weight))

    def _assign(self, state):
        for variable, value in zip(self.variables, self._state_values(state)):
            variable.assign(value)


def holds_user_code(compile_loss, compile_metrics):
    """Whether a compiled loss or metric is the user's code (a function, a Loss or Metric subclass).

    lamina's own steps pad a ragged last batch and pass the padding mask to its losses and metrics; code
    written for Keras never sees padding there, so a model with user losses or metrics runs on Keras's exact
    batches instead (see `training.steps`).
    """
    objects = list(compile_loss.losses if compile_loss is not None else [])
    objects += compile_metrics.metrics if compile_metrics is not None else []
    for obj in objects:
        if obj is None:
            continue
        if not _ours(type(obj)):
            return True
        for attr in ("fn", "_fn"):
            fn = getattr(obj, attr, None)
            if fn is not None and not _ours(fn):
                return True
    return False


def _ours(obj):
    return (getattr(obj, "__module__", None) or "").startswith("lamina.")


def _expand_mask(mask, weights):
    weights = jnp.asarray(weights)
    return jnp.reshape(mask, mask.shape + (1,) * (weights.ndim - 1)) if weights.ndim > 1 else mask


def _weights_with_mask(sample_weight, output_mask):
    """Sample weights (or None) times an output's mask, as 0/1 floats (Keras's `apply_mask`, reduction "sum")."""
    m = jnp.asarray(output_mask).astype(jnp.float32)
    if sample_weight is None:
        return m
    sw = jnp.asarray(sample_weight).astype(jnp.float32)
    m, sw = losses_lib.squeeze_or_expand_to_same_rank(m, sw)
    sw = jnp.reshape(sw, sw.shape + (1,) * (m.ndim - sw.ndim)) if sw.ndim < m.ndim else sw
    return sw * m


def _resolve(item, loss, y_shape, y_pred_shape):
    if isinstance(item, str) and item.lower() in RESOLVED_BY_SHAPE:
        return metrics_lib.resolve_accuracy(item, loss, y_shape, y_pred_shape)
    return metrics_lib.get(item)


# ----- output layers: warnings and logits fusion --------------------------------------------------


def output_activation_warnings(output_layers, compile_loss, y_pred_shapes):
    """Warn about likely mistakes Keras lets through (softmax + binary CE, one sigmoid unit + categorical CE)."""
    from lamina import activations

    for i, loss in enumerate(compile_loss.losses):
        if loss is None or output_layers[i] is None:
            continue
        act = getattr(output_layers[i], "activation", None)
        units = y_pred_shapes[i][-1] if y_pred_shapes[i] else None
        kind = getattr(loss, "logits_activation", None)
        name = type(loss).__name__
        if act is activations.softmax and kind == "sigmoid" and units and units > 1:
            warnings.warn(
                f"Output '{compile_loss.names[i]}' ends in softmax over {units} units but the loss is {name}: "
                "softmax outputs are mutually exclusive classes; use categorical_crossentropy (one-hot targets) "
                "or sparse_categorical_crossentropy (integer targets), or sigmoid for independent labels.",
                stacklevel=4,
            )
        if act is activations.sigmoid and kind == "softmax" and units == 1:
            warnings.warn(
                f"Output '{compile_loss.names[i]}' is a single sigmoid unit but the loss is {name}: categorical "
                "cross-entropy over one class is always 0, so nothing is learned. Use binary_crossentropy.",
                stacklevel=4,
            )


def fusable_outputs(output_layers, compile_loss):
    """{output index: layer} for outputs whose last activation matches their cross-entropy (fed logits)."""
    from lamina import activations

    fused = {}
    for i, (layer, loss) in enumerate(zip(output_layers, compile_loss.losses)):
        if layer is None or loss is None or getattr(loss, "from_logits", True):
            continue
        act = getattr(layer, "activation", None)
        kind = getattr(loss, "logits_activation", None)
        if (kind == "softmax" and act is activations.softmax) or (kind == "sigmoid" and act is activations.sigmoid):
            fused[i] = layer
    return fused


class SwapActivations:
    """Within a trace, make the given layers skip their final activation (so they output logits)."""

    def __init__(self, layers):
        self.layers = list(layers)

    def __enter__(self):
        from lamina import activations

        self.saved = [layer.activation for layer in self.layers]
        for layer in self.layers:
            layer.activation = activations.linear

    def __exit__(self, *exc):
        for layer, act in zip(self.layers, self.saved):
            layer.activation = act


def validate_targets(compile_loss, y_list, y_pred_shapes):
    for loss, y, shape in zip(compile_loss.losses, y_list, y_pred_shapes):
        if loss is not None and y is not None:
            losses_lib.validate_targets(loss, np.asarray(y), shape)
