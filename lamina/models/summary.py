"""`model.summary()`: the Layer (type) / Output Shape / Param # table with totals."""

import numpy as np

from lamina.layers.input_layer import InputLayer


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_shape_text(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, (list,)) or (isinstance(shape, tuple) and shape and isinstance(shape[0], (tuple, list))):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def _size_text(count, variables):
    nbytes = sum(int(np.prod(v.shape)) * v.dtype.itemsize for v in variables)
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if nbytes >= scale:
            return f"{count:,} ({nbytes / scale:.2f} {unit})"
    return f"{count:,} ({nbytes:.2f} B)"


def _rows(model, connected):
    if connected:
        nodes_of = model._graph.nodes_by_layer()  # this model's calls of each layer, numbered like Keras
    rows = []
    for layer in model.layers:
        if isinstance(layer, InputLayer) and not connected:
            continue
        params = int(sum(int(np.prod(v.shape)) for v in layer.weights)) if layer.built else 0
        shape = layer._output_shapes
        row = [f"{layer.name} ({type(layer).__name__})", _shape_text(shape), f"{params:,}"]
        if connected:
            parents = []
            for node in nodes_of.get(id(layer), []):  # every call: a shared layer lists all its inputs
                parents += [f"{t.node.layer.name}[{nodes_of[id(t.node.layer)].index(t.node)}][{t.index}]"
                            for t in node.inputs]
            row.append(", ".join(parents) or "-")
        rows.append(row)
    return rows


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False):
    """Print the summary of `model` through `print_fn` (default `print`), one line per call."""
    print_fn = print_fn or print
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has not been built yet, so its shapes and weights are unknown. "
            "Give the first layer an input shape (e.g. `Input(shape=(8,))` or `input_dim=8`), or call "
            "`model.build(input_shape)` or the model on data first."
        )
    graph = getattr(model, "_graph", None)
    connected = graph is not None and (len(graph.flat_inputs) > 1 or any(len(n.inputs) > 1 for n in graph.nodes))
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    rows = _rows(model, connected)
    widths = [max(len(r[i]) for r in [headers] + rows) + 3 for i in range(len(headers))]
    if line_length:
        widths[0] = max(widths[0], line_length - sum(widths[1:]))
    total = sum(widths)

    def line(cells):
        return " " + "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * total)
    print_fn(line(headers))
    print_fn("=" * total)
    for i, row in enumerate(rows):
        print_fn(line(row))
        if i < len(rows) - 1:
            print_fn("_" * total if connected else "")
    print_fn("=" * total)
    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    n_train = int(sum(int(np.prod(v.shape)) for v in trainable))
    n_fixed = int(sum(int(np.prod(v.shape)) for v in non_trainable))
    print_fn(f"Total params: {_size_text(n_train + n_fixed, trainable + non_trainable)}")
    print_fn(f"Trainable params: {_size_text(n_train, trainable)}")
    print_fn(f"Non-trainable params: {_size_text(n_fixed, non_trainable)}")
    print_fn("_" * total)
