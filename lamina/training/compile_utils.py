"""What `compile` resolves: per-output losses and metrics, as pure functions of arrays.

Outputs are handled as a flat list in the model's output order; `loss`,
`loss_weights` and `metrics` may be given once (applied to every output), as
a list, or as a dict keyed by output name, like Keras.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np


def flatten_outputs(struct, names):
    """Model outputs (array, list or dict) -> flat list in `names` order."""
    if isinstance(struct, dict):
        return [struct[n] for n in names]
    if isinstance(struct, (list, tuple)):
        return list(struct)
    return [struct]


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


class CompiledLoss:
    """Sum over outputs of loss_i(y_i, y_pred_i, sample_weight, mask) * loss_weight_i."""

    def __init__(self, loss, loss_weights, names):
        from lamina import losses

        self.names = names
        self.losses = [None if l is None else losses.get(l) for l in per_output(loss, names, "loss")]
        if all(l is None for l in self.losses):
            raise ValueError("compile: `loss` is required for fit/evaluate (e.g. loss='mse').")
        weights = per_output(loss_weights, names, "loss_weights") if loss_weights is not None else [1.0] * len(names)
        self.weights = [1.0 if w is None else float(w) for w in weights]

    def __call__(self, y_true, y_pred, sample_weight, mask, logit_outputs=()):
        """Returns (total, [per-output losses]); `logit_outputs` are indices fed logits."""
        per = []
        for i, (fn, w) in enumerate(zip(self.losses, self.weights)):
            if fn is None or y_true[i] is None:
                per.append(jnp.zeros(()))
                continue
            fn = fn.with_logits() if i in logit_outputs else fn
            sw = sample_weight[i] if isinstance(sample_weight, list) else sample_weight
            per.append(fn(y_true[i], y_pred[i], sample_weight=sw, mask=mask))
        # Keras logs each output's loss before `loss_weights`; only the total is weighted.
        return sum(p * w for p, w in zip(per, self.weights)), per


class CompiledMetrics:
    """Metric objects per output, resolved lazily once target/output shapes are known.

    Pure state: a list with one entry per metric (loss trackers first).
    """

    def __init__(self, metrics, weighted_metrics, names):
        self.names = names
        self.spec = per_output(metrics or [], names, "metrics")
        self.weighted_spec = per_output(weighted_metrics or [], names, "weighted_metrics")
        self.entries = None  # list of (log_name, metric, output_index or None, weighted)

    def build(self, compiled_loss, y_shapes, y_pred_shapes):
        from lamina import metrics as metrics_lib

        multi = len(self.names) > 1
        entries = [("loss", metrics_lib.Mean(name="loss"), None, "loss")]
        if multi:
            entries += [(f"{n}_loss", metrics_lib.Mean(name=f"{n}_loss"), i, "output_loss")
                        for i, n in enumerate(self.names)]
        for role, spec in (("plain", self.spec), ("weighted", self.weighted_spec)):
            for i, items in enumerate(spec):
                items = [] if items is None else items if isinstance(items, (list, tuple)) else [items]
                for item in items:
                    metric = self._resolve(item, compiled_loss.losses[i], y_shapes[i], y_pred_shapes[i], metrics_lib)
                    metric.build(y_shapes[i], y_pred_shapes[i])
                    base = item if isinstance(item, str) else metric.name  # Keras logs a string as given
                    prefix = f"{self.names[i]}_" if multi else ""
                    name = prefix + base
                    if role == "weighted" and any(e[0] == name for e in entries):
                        name = f"{prefix}weighted_{base}"
                    if any(e[0] == name for e in entries):
                        stem, k = name, 1
                        while any(e[0] == name for e in entries):
                            name, k = f"{stem}_{k}", k + 1
                    entries.append((name, metric, i, role))
        self.entries = entries

    @staticmethod
    def _resolve(item, loss, y_shape, y_pred_shape, metrics_lib):
        if isinstance(item, str) and item.lower() in RESOLVED_BY_SHAPE:
            return metrics_lib.resolve_accuracy(item, loss, y_shape, y_pred_shape)
        return metrics_lib.get(item)

    @property
    def log_names(self):
        return [e[0] for e in self.entries]

    def init_state(self):
        return [metric.init_state() for _, metric, _, _ in self.entries]

    def update(self, states, total_loss, per_output_losses, y_true, y_pred, sample_weight, mask):
        """New metric states after one batch (pure)."""
        count = jnp.sum(mask) if mask is not None else jnp.asarray(
            jax.tree_util.tree_leaves(y_pred)[0].shape[0], jnp.float32)
        out = []
        for state, (_, metric, i, role) in zip(states, self.entries):
            if role == "loss":
                out.append(metric.update(state, total_loss, sample_weight=count))
            elif role == "output_loss":
                out.append(metric.update(state, per_output_losses[i], sample_weight=count))
            elif y_true[i] is None:
                out.append(state)
            else:
                sw = mask
                if role == "weighted" and sample_weight is not None:
                    base = sample_weight[i] if isinstance(sample_weight, list) else sample_weight
                    sw = base if mask is None else base * mask
                out.append(metric.update(state, y_true[i], y_pred[i], sample_weight=sw))
        return out

    def results(self, states):
        """{log name: scalar array} (pure)."""
        return {name: metric.compute(state) for state, (name, metric, _, _) in zip(states, self.entries)}


def output_activation_warnings(model, compiled_loss, y_pred_shapes):
    """Warn about likely mistakes Keras lets through (softmax + binary CE, one sigmoid unit + categorical CE)."""
    from lamina import activations

    layers = output_layers(model, len(compiled_loss.names))
    for i, loss in enumerate(compiled_loss.losses):
        if loss is None or layers[i] is None:
            continue
        act = getattr(layers[i], "activation", None)
        units = y_pred_shapes[i][-1] if y_pred_shapes[i] else None
        kind = getattr(loss, "logits_activation", None)
        name = type(loss).__name__
        if act is activations.softmax and kind == "sigmoid" and units and units > 1:
            warnings.warn(
                f"Output '{compiled_loss.names[i]}' ends in softmax over {units} units but the loss is {name}: "
                "softmax outputs are mutually exclusive classes; use categorical_crossentropy (one-hot targets) "
                "or sparse_categorical_crossentropy (integer targets), or sigmoid for independent labels.",
                stacklevel=3,
            )
        if act is activations.sigmoid and kind == "softmax" and units == 1:
            warnings.warn(
                f"Output '{compiled_loss.names[i]}' is a single sigmoid unit but the loss is {name}: categorical "
                "cross-entropy over one class is always 0, so nothing is learned. Use binary_crossentropy.",
                stacklevel=3,
            )


def output_layers(model, count):
    """For each of the model's `count` outputs, the layer that produced it when knowable (else None)."""
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    if isinstance(model, Sequential):
        return [model.layers[-1]] if model.layers else [None]
    if isinstance(model, Functional):
        found = []
        for tensor in model.outputs:
            layer = tensor.node.layer
            uses = sum(1 for n in model._nodes if n.layer is layer)
            single_output = not isinstance(tensor.node.outputs, (list, tuple, dict))
            found.append(layer if uses == 1 and single_output else None)
        return found
    return [None] * count


def fusable_outputs(model, compiled_loss):
    """Indices of outputs whose last activation matches their cross-entropy (computed from logits)."""
    from lamina import activations

    fused = {}
    for i, (layer, loss) in enumerate(zip(output_layers(model, len(compiled_loss.names)), compiled_loss.losses)):
        if layer is None or loss is None or getattr(loss, "from_logits", True):
            continue
        act = getattr(layer, "activation", None)
        kind = getattr(loss, "logits_activation", None)
        if (kind == "softmax" and act is activations.softmax) or (kind == "sigmoid" and act is activations.sigmoid):
            fused[i] = layer
    return fused


def validate_targets(compiled_loss, y_list, y_pred_shapes):
    from lamina import losses

    for loss, y, shape in zip(compiled_loss.losses, y_list, y_pred_shapes):
        if loss is not None and y is not None:
            losses.validate_targets(loss, np.asarray(y), shape)
