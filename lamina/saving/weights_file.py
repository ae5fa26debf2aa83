"""Keras 3's weights layout: `.weights.h5` files, and `model.weights.h5` inside `.keras` archives.

Every object of the named walk (`lamina.backend.tracking.walk`: the model, its layers and
sublayers, its optimizer) gets a group `<path>/vars` (`vars` for the model itself) with a
`name` attribute and one dataset per variable, `"0"`, `"1"`, ... in the object's own order:

    layers/dense/vars/0        (8, 12)   kernel
    layers/dense/vars/1        (12,)     bias
    optimizer/vars/0           ()        iterations
    optimizer/vars/1           ()        learning rate
    optimizer/vars/2 ...                 slots, interleaved per parameter

which is the file Keras 3 writes for the same model. Objects that override
`save_own_variables` / `load_own_variables` store what those methods give.

Loading is matched by structure: every path the model has must be in the file with the same
count and shapes, and every array in the file must have a place in the model (tf.keras 2's
metric state excepted). All of it is read and checked first and only then assigned, so a
failed load leaves the model as it was.
"""

import warnings

import h5py
import numpy as np

from lamina.backend import tracking
from lamina.layers.base import Layer
from lamina.optimizers.base import Optimizer
from lamina.saving import optimizer_state


def vars_path(path):
    return f"{path}/vars" if path else "vars"


def _overrides(obj, method):
    """Whether `obj`'s class replaces Keras's default `save_own_variables` / `load_own_variables`."""
    for base in (Layer, Optimizer):
        if isinstance(obj, base):
            return getattr(type(obj), method) is not getattr(base, method)
    return False


def describe(obj, path):
    if not path:
        return f"model '{getattr(obj, 'name', '?')}'"
    kind = getattr(obj, "_tracking_kind", "object")
    return f"{kind} '{getattr(obj, 'name', '?')}' (at '{path}')"


# ----- writing ---------------------------------------------------------------------------------


def _own_arrays(obj):
    if _overrides(obj, "save_own_variables"):
        store = {}
        obj.save_own_variables(store)
        return {str(k): np.asarray(v) for k, v in store.items()}
    return {str(i): v.numpy() for i, v in enumerate(obj._tracked_variables())}


def write_array(group, key, value):
    """One dataset; bfloat16 is written as float32 with `dtype="bfloat16"` (Keras reads it back exactly)."""
    if value.dtype.name == "bfloat16":
        group.create_dataset(key, data=value.astype(np.float32)).attrs["dtype"] = "bfloat16"
    else:
        group.create_dataset(key, data=value)


def write(h5file, model):
    """Write the model's (and its optimizer's) variables into an open, empty `h5py.File`."""
    for path, obj in tracking.walk(model):
        arrays = _own_arrays(obj)
        name = getattr(obj, "name", None)
        if not arrays and not isinstance(name, str):
            continue
        group = h5file.create_group(vars_path(path))
        if isinstance(name, str):
            group.attrs["name"] = name
        for key, value in arrays.items():
            write_array(group, key, value)


# ----- reading -----------------------------------------------------------------------------------


class Plan:
    """What a load will assign, gathered and checked before anything changes."""

    def __init__(self):
        self.assignments = []  # (Variable, array)
        self.custom = []  # (object with its own load_own_variables, {key: array})

    def apply(self):
        for variable, value in self.assignments:
            variable.assign(value)
        for obj, store in self.custom:
            obj.load_own_variables(store)


def _read_object(reader, gpath, variables, what, skip_mismatch):
    group = reader.group(gpath)
    problem = None
    if group is None:
        problem = f"the file has no weights for {what}; expected {len(variables)} arrays under '{gpath}'."
    else:
        names = reader.dataset_names(group)
        if names != [str(i) for i in range(len(variables))]:
            problem = (f"{what} has {len(variables)} weights, but the file has {len(names)} arrays under "
                       f"'{gpath}'.")
        else:
            datasets = [reader.required_dataset(group, str(i), f"{gpath}/{i}") for i in range(len(variables))]
            for i, (variable, dataset) in enumerate(zip(variables, datasets)):
                if tuple(dataset.shape) != tuple(variable.shape):
                    problem = (f"{what}: weight {i} ('{variable.path}') has shape {tuple(variable.shape)} in the "
                               f"model, but {tuple(dataset.shape)} in the file.")
                    break
    if problem is not None:
        if skip_mismatch:
            warnings.warn(f"{reader.source}: skipping {what}: {problem}", stacklevel=4)
            return None
        raise reader.error(problem + " The file was saved from a model with a different structure.")
    return [reader.read(d, f"{gpath}/{i}") for i, d in enumerate(datasets)]


def _plan_optimizer(reader, model, optimizer, path, plan, strict):
    group = reader.group(vars_path(path))
    names = reader.dataset_names(group) if group is not None else []
    if not names:
        return
    if names != [str(i) for i in range(len(names))]:
        raise reader.error(f"'{vars_path(path)}' should hold arrays '0'..'{len(names) - 1}', got {names[:5]}.")
    datasets = [reader.required_dataset(group, n, f"{vars_path(path)}/{n}") for n in names]
    if not optimizer.built and len(names) > optimizer_state.head_size(optimizer) and model.built:
        optimizer.build(model.trainable_variables)  # the state in the file is for these variables
    try:
        pairs = optimizer_state.match(optimizer, [d.shape for d in datasets])
    except ValueError as error:
        if strict:
            raise reader.error(str(error)) from None
        warnings.warn(f"{reader.source}: the optimizer state was not loaded: {error}", stacklevel=4)
        return
    for variable, index in pairs:
        plan.assignments.append((variable, reader.read(datasets[index], f"{vars_path(path)}/{index}")))


def _all_datasets(h5file):
    found = []
    h5file.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return found


# Saved arrays with no place in a lamina model that are not a structural mismatch: tf.keras 2
# wrote compiled metrics' state, some Keras 3 releases wrote random layers' seed states.
def _ignorable(path):
    return path.startswith("metrics/") or "seed_generator" in path


def plan_load(reader, model, skip_mismatch=False, strict_optimizer=True):
    """Read and check the model's and optimizer's variables from `reader` (a `hdf5.Reader`); returns a `Plan`.

    `strict_optimizer`: an optimizer state that does not fit is an error (loading a whole
    model) rather than a warning (loading weights into a model compiled anew, as Keras does).
    """
    plan = Plan()
    consumed = set()
    for path, obj in tracking.walk(model):
        gpath = vars_path(path)
        if isinstance(obj, Optimizer):
            _plan_optimizer(reader, model, obj, path, plan, strict_optimizer)
            continue
        if _overrides(obj, "load_own_variables"):
            group = reader.group(gpath)
            keys = reader.dataset_names(group) if group is not None else []
            plan.custom.append((obj, {k: reader.read(reader.required_dataset(group, k, f"{gpath}/{k}"), f"{gpath}/{k}")
                                     for k in keys}))
            consumed.update(f"{gpath}/{k}" for k in keys)
            continue
        variables = obj._tracked_variables()
        if not variables:
            continue
        values = _read_object(reader, gpath, variables, describe(obj, path), skip_mismatch)
        if values is not None:
            plan.assignments += list(zip(variables, values))
        consumed.update(f"{gpath}/{i}" for i in range(len(variables)))
    # The optimizer's arrays are checked by `_plan_optimizer`, or ignored when the model has no optimizer.
    extra = [p for p in _all_datasets(reader.file)
             if p not in consumed and not _ignorable(p) and not p.startswith("optimizer/")]
    if extra and not skip_mismatch:
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        raise reader.error(
            f"the file holds weights the model has no place for: {extra[:5]}{more}. It was saved from a model "
            "with more layers or weights than this one.")
    return plan
