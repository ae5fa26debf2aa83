"""`plot_model`: a diagram of a model's layers and how tensors flow between them (Keras's signature).

Graphviz draws it when its `dot` program is on PATH (lamina writes the DOT text itself, so `pydot` is
not needed); otherwise lamina lays the graph out and draws it with matplotlib, so the call works on a
machine with only pip. The model is read duck-typed (its `inputs` / `outputs` symbolic tensors and the
layer calls behind them, `layers`, output shapes): this module sits below the models floor.
"""

import os
import shutil
import subprocess

from lamina.utils import plotting


# ----- the graph: boxes and edges -------------------------------------------------------------------------

class _Box:
    def __init__(self, key, layer, lines, cluster):
        self.key, self.layer, self.lines, self.cluster = key, layer, lines, cluster


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_shape_text(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, list) or (isinstance(shape, tuple) and shape and isinstance(shape[0], (tuple, list))):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def _shapes(tensors):
    shapes = [tuple(t.shape) for t in tensors]
    return _shape_text(shapes[0] if len(shapes) == 1 else shapes) if shapes else None


def _is_input_layer(layer):
    return type(layer).__name__ == "InputLayer"


def _graph_ends(model):
    """The model's symbolic inputs and outputs, or None when it has no traced graph (subclassed / unbuilt)."""
    try:
        inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    except (AttributeError, ValueError):
        return None
    if not inputs or not outputs or any(getattr(t, "node", None) is None for t in list(outputs) + list(inputs)):
        return None
    return list(inputs), list(outputs)


def _leaves(structure):
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in _leaves(v)]
    if isinstance(structure, (list, tuple)):
        return [t for v in structure for t in _leaves(v)]
    return [structure] if hasattr(structure, "shape") else []


def _activation_name(layer):
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", None) or getattr(activation, "name", None) or type(activation).__name__


def _label(layer, node_calls, options):
    name = f"{layer.name} ({type(layer).__name__})" if options["show_layer_names"] else type(layer).__name__
    lines = [name]
    outputs = [t for call in node_calls for t in _leaves(call.outputs)]
    if options["show_shapes"]:
        if _is_input_layer(layer):
            shape = _shapes(outputs[:1]) if outputs else _shape_text(getattr(layer, "batch_shape", None))
            lines.append(f"Output shape: {shape}")
        else:
            calls = node_calls or []
            ins = [_shapes(call.inputs) for call in calls]
            outs = [_shapes(_leaves(call.outputs)) for call in calls]
            if not calls:
                outs = [_shape_text(getattr(layer, "_output_shapes", None))]
                ins = ["?"]
            lines.append(f"Input shape: {' / '.join(dict.fromkeys(ins))}")
            lines.append(f"Output shape: {' / '.join(dict.fromkeys(outs))}")
    if options["show_dtype"]:
        dtype = str(outputs[0].dtype) if outputs and getattr(outputs[0], "dtype", None) is not None else getattr(layer, "dtype", "?")
        lines.append(f"Output dtype: {dtype}")
    if options["show_layer_activations"] and _activation_name(layer):
        lines.append(f"Activation: {_activation_name(layer)}")
    if options["show_trainable"]:
        lines.append(f"Trainable: {bool(getattr(layer, 'trainable', True))}")
    return lines


def _describe(model, options, prefix="", cluster=()):
    """(boxes, edges, entries, exits) of `model`'s graph; nested models are inlined when `expand_nested`.

    entries: keys of the boxes that read the model's inputs; exits: keys of the boxes making its outputs.
    """
    ends = _graph_ends(model)
    if ends is None:  # a subclassed model: its call is Python, so only the model itself is drawn
        key = prefix + model.name
        lines = _label(model, [], options)
        sublayers = [layer.name for layer in getattr(model, "layers", [])]
        if sublayers:
            lines.append("Layers: " + ", ".join(sublayers[:6]) + (", ..." if len(sublayers) > 6 else ""))
        return [_Box(key, model, lines, cluster)], [], [key], [key]
    inputs, outputs = ends
    input_ids = {id(t) for t in inputs}
    nodes, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        if not any(id(t) in input_ids for t in _leaves(node.outputs)):
            for parent in node.parent_nodes:
                visit(parent)
        nodes.append(node)

    for tensor in outputs:
        visit(tensor.node)
    calls = {}
    for node in nodes:
        calls.setdefault(id(node.layer), (node.layer, []))[1].append(node)
    boxes, edges, inner = [], [], {}  # inner: layer id -> (entries, exits) of an expanded nested model
    for layer, layer_calls in calls.values():
        if options["expand_nested"] and _graph_ends(layer) is not None and not _is_input_layer(layer):
            sub_boxes, sub_edges, sub_entries, sub_exits = _describe(
                layer, options, prefix=f"{prefix}{layer.name}/", cluster=cluster + (layer.name,))
            boxes += sub_boxes
            edges += sub_edges
            inner[id(layer)] = (sub_entries, sub_exits)
        else:
            boxes.append(_Box(prefix + layer.name, layer, _label(layer, layer_calls, options), cluster))

    def entry_keys(layer):
        return inner[id(layer)][0] if id(layer) in inner else [prefix + layer.name]

    def exit_keys(layer):
        return inner[id(layer)][1] if id(layer) in inner else [prefix + layer.name]

    for node in nodes:
        for parent in node.parent_nodes:
            for src in exit_keys(parent.layer):
                for dst in entry_keys(node.layer):
                    if (src, dst) not in edges:
                        edges.append((src, dst))
    input_layers = [t.node.layer for t in inputs]
    if prefix:  # a nested model's own Input boxes are dropped: the outer arrows enter its first layers
        drop = {prefix + layer.name for layer in input_layers}
        entries = [dst for src, dst in edges if src in drop]
        boxes = [b for b in boxes if b.key not in drop]
        edges = [(s, d) for s, d in edges if s not in drop]
    else:
        entries = [prefix + layer.name for layer in input_layers]
    exits = [k for t in outputs for k in exit_keys(t.node.layer)]
    return boxes, edges, list(dict.fromkeys(entries)), list(dict.fromkeys(exits))


# ----- Graphviz ---------------------------------------------------------------------------------------------

NEWLINE = "\\n"  # DOT's line break inside a label


def _dot_escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def model_to_dot_text(model, show_shapes=True, show_dtype=False, show_layer_names=True, rankdir="TB",
                      expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
                      splines="ortho"):
    """The model's diagram as Graphviz DOT source (what `plot_model` hands to `dot`)."""
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   rankdir=rankdir, expand_nested=expand_nested, show_layer_activations=show_layer_activations,
                   show_trainable=show_trainable)
    boxes, edges = _layout_input(model, options)
    lines = ["digraph model {",
             f'  graph [rankdir="{rankdir}", dpi={int(dpi)}, splines="{splines}", fontname="Helvetica"];',
             '  node [shape=box, style="rounded,filled", fillcolor="#eef4fb", color="#0072B2", '
             'fontname="Helvetica", fontsize=11];', '  edge [color="#555555", arrowsize=0.7];']
    by_cluster = {}
    for box in boxes:
        by_cluster.setdefault(box.cluster, []).append(box)

    def emit(cluster, indent):
        for box in by_cluster.get(cluster, []):
            label = NEWLINE.join(_dot_escape(line) for line in box.lines)
            lines.append(f'{indent}"{_dot_escape(box.key)}" [label="{label}"];')
        children = sorted({c[:len(cluster) + 1] for c in by_cluster if len(c) > len(cluster) and c[:len(cluster)] == cluster})
        for child in children:
            lines.append(f'{indent}subgraph "cluster_{_dot_escape("/".join(child))}" {{')
            lines.append(f'{indent}  label="{_dot_escape(child[-1])}"; style=dashed; color="#888888";')
            emit(child, indent + "  ")
            lines.append(f"{indent}}}")

    emit((), "  ")
    lines += [f'  "{_dot_escape(s)}" -> "{_dot_escape(d)}";' for s, d in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _render_with_graphviz(dot_text, to_file, extension):
    from lamina.utils.atomic import atomic_write

    with atomic_write(to_file) as tmp:
        subprocess.run([shutil.which("dot"), f"-T{extension}", "-o", tmp], input=dot_text.encode(),
                       check=True, capture_output=True, timeout=120)


# ----- matplotlib ---------------------------------------------------------------------------------------

_CHAR_W, _LINE_H, _PAD, _GAP_ALONG, _GAP_ACROSS = 0.078, 0.17, 0.12, 0.5, 0.3  # inches, at 9 pt


def _ranks(boxes, edges):
    """Longest-path layering (rank 0 holds the inputs), then each rank ordered by its parents' mean position."""
    parents = {b.key: [] for b in boxes}
    for src, dst in edges:
        if src != dst:  # a shared layer's loop does not push it down
            parents[dst].append(src)
    rank = {}

    def depth(key, stack=()):
        if key not in rank:
            rank[key] = 1 + max((depth(p, stack + (key,)) for p in parents[key] if p not in stack), default=-1)
        return rank[key]

    for box in boxes:
        depth(box.key)
    rows = [[] for _ in range(max(rank.values()) + 1)]
    for box in boxes:
        rows[rank[box.key]].append(box)
    rows = [row for row in rows if row]  # a cycle through several layers can leave a rank empty
    position = {}
    for row in rows:
        row.sort(key=lambda b: sum(position.get(p, 0) for p in parents[b.key]) / max(len(parents[b.key]), 1))
        for i, box in enumerate(row):
            position[box.key] = i - (len(row) - 1) / 2
    return rows


def _draw_with_matplotlib(boxes, edges, rankdir, dpi, to_file):
    from matplotlib.patches import FancyBboxPatch, Rectangle

    size = {b.key: (max(len(line) for line in b.lines) * _CHAR_W + 2 * _PAD, len(b.lines) * _LINE_H + 2 * _PAD)
            for b in boxes}
    rows = _ranks(boxes, edges)
    across_first = rankdir in ("LR", "RL")  # ranks go left to right; boxes of a rank stack vertically
    centre, along = {}, 0.0
    for row in rows:
        extent_along = max(size[b.key][0 if across_first else 1] for b in row)
        widths = [size[b.key][1 if across_first else 0] for b in row]
        offset = -(sum(widths) + _GAP_ACROSS * (len(row) - 1)) / 2
        for box, w in zip(row, widths):
            c_across, c_along = offset + w / 2, along + extent_along / 2
            centre[box.key] = (c_along, -c_across) if across_first else (c_across, -c_along)
            offset += w + _GAP_ACROSS
        along += extent_along + _GAP_ALONG
    if rankdir in ("BT", "RL"):
        centre = {k: (-x, y) if rankdir == "RL" else (x, -y) for k, (x, y) in centre.items()}
    xs = [centre[k][0] + s * size[k][0] / 2 for k in centre for s in (-1, 1)]
    ys = [centre[k][1] + s * size[k][1] / 2 for k in centre for s in (-1, 1)]
    margin = 0.5
    x0, x1, y0, y1 = min(xs) - margin, max(xs) + margin, min(ys) - margin, max(ys) + margin
    fig, ax = plotting.figure(width=x1 - x0, height=y1 - y0)
    ax.set_position([0, 0, 1, 1])
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    clusters = {c for b in boxes for c in (b.cluster[:i] for i in range(1, len(b.cluster) + 1))}
    for cluster in sorted(clusters, key=len):
        members = [b.key for b in boxes if b.cluster[:len(cluster)] == cluster]
        pad = 0.12 * (1 + max(len(b.cluster) for b in boxes) - len(cluster))
        left = min(centre[k][0] - size[k][0] / 2 for k in members) - pad
        right = max(centre[k][0] + size[k][0] / 2 for k in members) + pad
        bottom = min(centre[k][1] - size[k][1] / 2 for k in members) - pad
        top = max(centre[k][1] + size[k][1] / 2 for k in members) + pad + 0.18  # room for the name
        ax.add_patch(Rectangle((left, bottom), right - left, top - bottom, fill=False, linestyle="--",
                               edgecolor="#888888", linewidth=0.9))
        ax.text(left + 0.05, top - 0.04, cluster[-1], fontsize=8, color="#666666", va="top", ha="left",
                style="italic")
    for src, dst in edges:
        (sx, sy), (dx, dy) = centre[src], centre[dst]
        if src == dst:  # a shared layer called on its own output: a loop on the box's right side
            w, h = size[src]
            ax.annotate("", xy=(sx + w / 2, sy - h / 4), xytext=(sx + w / 2, sy + h / 4),
                        arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.1, mutation_scale=11,
                                        connectionstyle="arc3,rad=-1.2"))
            continue
        if across_first:
            direction = 1 if dx > sx else -1
            start, end = (sx + direction * size[src][0] / 2, sy), (dx - direction * size[dst][0] / 2, dy)
        else:
            direction = 1 if dy > sy else -1
            start, end = (sx, sy + direction * size[src][1] / 2), (dx, dy - direction * size[dst][1] / 2)
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.1,
                                                              shrinkA=0, shrinkB=1, mutation_scale=11))
    for box in boxes:
        (cx, cy), (w, h) = centre[box.key], size[box.key]
        ax.add_patch(FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.06",
                                    facecolor="#eef4fb", edgecolor=plotting.COLORS[0], linewidth=1.2))
        top = cy + h / 2 - _PAD - _LINE_H / 2
        for i, line in enumerate(box.lines):
            ax.text(cx, top - i * _LINE_H, line, ha="center", va="center", fontsize=9, family="DejaVu Sans Mono",
                    fontweight="bold" if i == 0 else "normal", color="#111111" if i == 0 else "#444444")
    return plotting.save(fig, to_file, dpi=dpi, tight=False)


# ----- the public call ------------------------------------------------------------------------------------

def _layout_input(model, options):
    if not getattr(model, "built", False):
        raise ValueError(
            f"plot_model: model '{getattr(model, 'name', model)}' has not been built yet, so its layers' shapes "
            "are unknown. Give it an input shape (`keras.Input(shape=...)` or `input_dim=`), or call "
            "`model.build(input_shape)` or the model on a batch of data first.")
    if options["rankdir"] not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"plot_model: `rankdir` must be 'TB', 'LR', 'BT' or 'RL', got {options['rankdir']!r}.")
    boxes, edges, _, _ = _describe(model, options)
    return boxes, edges


def plot_model(model, to_file="model.png", show_shapes=True, show_layer_names=True, show_dtype=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               splines="ortho", **kwargs):
    """Draw the model's layers as boxes and its tensors as arrows, and write the picture to `to_file`.

    Args (Keras's): `to_file` (.png, .svg, .pdf, .jpg), `show_shapes` (input and output shape of
    each layer), `show_layer_names`, `show_dtype`, `rankdir` ("TB" top to bottom, "LR" left to right),
    `expand_nested` (draw the layers of nested models inside a dashed frame), `dpi`,
    `show_layer_activations`, `show_trainable`, `splines` (Graphviz's edge style; the matplotlib
    drawing uses straight arrows). `show_shapes` and `show_layer_names` default to True
    here (Keras defaults them to False); pass False for Keras's plain diagram.

    Graphviz's `dot` draws the picture when it is on PATH; otherwise lamina draws it with matplotlib
    (`pip install "lamina[plot]"`), so no system package is needed. Unlike Keras, a model without
    Graphviz is not an error. Returns `to_file`, or inside IPython / Jupyter an `IPython.display.Image`
    of it, which the cell displays (Keras returns that Image whenever IPython is importable).
    """
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("plot_model: argument `layer_range` is no longer supported (as in Keras 3).")
    if kwargs:
        raise ValueError(f"plot_model: unrecognized keyword arguments: {kwargs}")
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   rankdir=rankdir, expand_nested=expand_nested, show_layer_activations=show_layer_activations,
                   show_trainable=show_trainable)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1].lstrip(".").lower() or "png"
    if os.path.dirname(os.path.abspath(to_file)):
        os.makedirs(os.path.dirname(os.path.abspath(to_file)), exist_ok=True)
    if shutil.which("dot"):
        _render_with_graphviz(model_to_dot_text(model, dpi=dpi, splines=splines, **options), to_file, extension)
    else:
        boxes, edges = _layout_input(model, options)
        _draw_with_matplotlib(boxes, edges, rankdir, dpi, to_file)
    return _shown(to_file, extension)


def _shown(to_file, extension):
    """In IPython / Jupyter, an `IPython.display.Image` of the file (so the cell shows it); elsewhere the path."""
    try:
        from IPython import get_ipython
        from IPython.display import Image
    except ImportError:
        return to_file
    if get_ipython() is None or extension not in ("png", "jpg", "jpeg"):
        return to_file
    return Image(filename=to_file)
