"""Which optimizer variable each saved array belongs to, for every layout Keras has written.

* Keras 3 and lamina: `iterations`, the learning rate (float rates only), then the slots,
  interleaved per parameter (`dense_kernel_momentum`, `dense_kernel_velocity`, ...);
* an optimizer saved before it was built: `iterations` (and the learning rate) only;
  the slots keep their initial values, which is what they were;
* tf.keras 2 (2.11+ optimizers): `iteration:0`, then `Adam/m/dense/kernel:0`, ... with no
  learning-rate variable (the rate is in the config); matched by name when the names
  are given, else by position;
* tf.keras 2 legacy optimizers (`Adam/dense/kernel/m:0`, slots grouped by kind): by name.

`match(optimizer, shapes, names)` returns [(variable, index of the saved array)] or raises
`ValueError` saying why the saved state does not fit; every pair is shape-checked.
"""

from lamina.backend.variables import Variable

# tf.keras 2 slot names -> Keras 3 names (per optimizer where they differ).
_SLOT_ALIASES = {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"}
_SLOT_ALIASES_BY_OPTIMIZER = {
    "adamax": {"m": "momentum", "v": "norm", "u": "norm"},
    "rmsprop": {"rms": "velocity", "mg": "average_gradient"},
    "sgd": {"m": "momentum"},
}


def head_size(optimizer):
    """How many variables come before the slots: `iterations`, and the learning rate when it is a float."""
    return 1 + isinstance(optimizer.learning_rate, Variable)


def _strip(name):
    return name[:-2] if name.endswith(":0") else name


def _by_name(optimizer, names):
    """[(variable, index)] for tf.keras 2 names, or None when the names do not say."""
    variables = optimizer.variables
    wanted = {v.name: v for v in variables[head_size(optimizer):]}
    aliases = {**_SLOT_ALIASES, **_SLOT_ALIASES_BY_OPTIMIZER.get(type(optimizer).__name__.lower(), {})}
    pairs = []
    for index, raw in enumerate(names):
        parts = _strip(raw).split("/")
        if parts[-1] in ("iteration", "iterations", "iter"):
            pairs.append((variables[0], index))
            continue
        if parts[-1] in ("learning_rate", "lr"):
            if head_size(optimizer) == 2:
                pairs.append((variables[1], index))
            continue
        if len(parts) < 3:
            return None
        candidates = [(parts[1], parts[2:]), (parts[-1], parts[1:-1])]  # Opt/slot/param, Opt/param/slot
        found = None
        for slot, param in candidates:
            key = "_".join(param) + "_" + aliases.get(slot, slot)
            if key in wanted:
                found = wanted.pop(key)
                break
        if found is None:
            return None
        pairs.append((found, index))
    if wanted and len(wanted) < len(variables) - head_size(optimizer):
        return None  # some slots have a saved value, others not
    return pairs  # every slot, or none (saved before the optimizer was built)


def match(optimizer, shapes, names=None):
    """[(optimizer variable, index into the saved arrays)] for saved arrays of `shapes` (see the module docstring)."""
    variables = optimizer.variables
    head, n = head_size(optimizer), len(shapes)
    pairs = None
    if names is not None and n and not _strip(names[min(1, n - 1)]).endswith("learning_rate"):
        pairs = _by_name(optimizer, names)  # tf.keras 2
    if pairs is None:
        if n == len(variables):
            pairs = list(zip(variables, range(n)))
        elif n == head:
            pairs = list(zip(variables[:head], range(head)))
        elif n == 1:  # tf.keras 2, before the optimizer was built: `iteration` only
            pairs = [(variables[0], 0)]
        elif head == 2 and n == len(variables) - 1:  # tf.keras 2: no learning-rate variable
            pairs = [(variables[0], 0)] + list(zip(variables[2:], range(1, n)))
        else:
            raise ValueError(
                f"optimizer '{optimizer.name}' ({type(optimizer).__name__}) has {len(variables)} variables "
                f"for this model, but the file holds {n}: it was saved with another optimizer or model.")
    for variable, index in pairs:
        if tuple(shapes[index]) != tuple(variable.shape):
            raise ValueError(
                f"optimizer '{optimizer.name}': variable '{variable.name}' has shape {tuple(variable.shape)}, but "
                f"the saved value {index} has shape {tuple(shapes[index])}.")
    return pairs
