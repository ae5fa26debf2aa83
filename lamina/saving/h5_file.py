"""The legacy `.h5` format (Keras 2 and Keras 3's `model.save("x.h5")`), read and written.

Layout: root attributes `model_config` (JSON), `training_config` (JSON: compile arguments and
`optimizer_config`), `keras_version`, `backend`; a group `model_weights` with attribute
`layer_names` and one group per layer (attribute `weight_names`, one dataset per weight, in
the order trainable then non-trainable); `top_level_model_weights` for the model's own weights;
and a group `optimizer_weights` (attribute `weight_names`) with the optimizer's state.

Where lamina does better than Keras 3's own legacy loader:

* the optimizer state is restored (Keras 3 builds a fresh optimizer and drops the saved
  one), for files from Keras 3 and tf.keras 2 (`Adam/m/dense/kernel:0`, matched by name);
* short loss names ("mse") load; lamina writes the loss under Keras's full function name
  ("mean_squared_error"), which Keras 3's legacy loader also reads (it fails on "mse");
* tf.keras 2 files (`<layer>/<layer>/kernel:0`, list-form inbound nodes) load as they are;
* saving does not remove the optimizer from the model's compile config (Keras 3 does, so a
  `.keras` saved after a `.h5` lost its optimizer).

Legacy weights-only files (`save_weights("x.h5")` in Keras 2: `layer_names` at the root) are
read by `read_weights`. Weights are matched to layers by order (as Keras does) or by name.
"""

import json
import os

import numpy as np

from lamina.backend import registry
from lamina.saving import hdf5, legacy_config, model_config, optimizer_state, weights_file
from lamina.saving.errors import FileError


def _backend_name():
    return "jax"


# ----- writing -------------------------------------------------------------------------------------


def _legacy_weights(layer):
    """A layer's weights in the legacy order: trainable, then non-trainable (as Keras 2 listed them)."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _unique_names(variables):
    names, used = [], {}
    for v in variables:
        name = v.path or v.name
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        names.append(name)
    return names


def _write_subset(group, variables):
    names = _unique_names(variables)
    hdf5.write_names_attr(group, "weight_names", names)
    for name, variable in zip(names, variables):
        weights_file.write_array(group, name, variable.numpy())


def _keras_loss_name(spec):
    """Loss names Keras 3's legacy loader reads: short aliases ("mse") become the function's full name."""
    from lamina import losses

    if isinstance(spec, list):
        return [_keras_loss_name(s) for s in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _keras_loss_name(v) for k, v in spec.items()}
    if isinstance(spec, str):
        found = losses.ALL_OBJECTS_DICT.get(spec)
        if found is not None and not isinstance(found, type):
            return found.__name__
    return spec


def training_config(model):
    """The `training_config` attribute: Keras's compile arguments plus `optimizer_config`."""
    config = dict(model.get_compile_config())  # a copy: the model's own compile config is left whole
    config.pop("optimizer", None)
    out = {"loss": _keras_loss_name(config.pop("loss", None)), "loss_weights": config.pop("loss_weights", None),
           "metrics": config.pop("metrics", None), "weighted_metrics": config.pop("weighted_metrics", None)}
    out.update(config)
    out["optimizer_config"] = {"class_name": type(model.optimizer).__name__, "config": model.optimizer.get_config()}
    return out


def write(model, path, include_optimizer=True):
    """Write `model` as a legacy `.h5` file to (the temporary file) `path`."""
    import h5py

    config = {"class_name": type(model).__name__, "config": model.get_config()}
    build_config = model.get_build_config()
    if build_config is not None:  # lamina's addition (Keras ignores it): subclassed models load built
        config["build_config"] = build_config
    attrs = {"backend": _backend_name(), "keras_version": model_config.KERAS_VERSION,
             "lamina_version": model_config.lamina_version(), "model_config": model_config.to_json(config)}
    if include_optimizer and getattr(model, "compiled", False) and model.optimizer is not None:
        attrs["training_config"] = model_config.to_json(training_config(model))
    with h5py.File(path, "w") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        group = f.create_group("model_weights")
        layers = model.layers
        hdf5.write_names_attr(group, "layer_names", [layer.name for layer in layers])
        group.attrs["backend"] = _backend_name()
        group.attrs["keras_version"] = model_config.KERAS_VERSION
        for layer in sorted(layers, key=lambda layer: layer.name):
            _write_subset(group.create_group(layer.name), _legacy_weights(layer))
        _write_subset(group.create_group("top_level_model_weights"), list(model._tracked_variables()))
        optimizer = model.optimizer if include_optimizer and getattr(model, "compiled", False) else None
        if optimizer is not None and optimizer.variables:
            opt_group = f.create_group("optimizer_weights")
            names = [f"{optimizer.name}/{v.name}" for v in optimizer.variables]
            hdf5.write_names_attr(opt_group, "weight_names", names)
            for name, variable in zip(names, optimizer.variables):
                weights_file.write_array(opt_group, name, variable.numpy())


# ----- reading --------------------------------------------------------------------------------------


def _subset(reader, group, where):
    """[(weight name, dataset)] of one layer group, in `weight_names` order."""
    out = []
    for name in reader.names_attr(group, "weight_names"):
        dataset = reader.dataset(group, name)
        if dataset is None:
            raise reader.error(f"'{where}' lists weight '{name}' but does not hold it.")
        out.append((name, dataset))
    return out


def _match_layer(reader, plan, layer, saved, where, skip_mismatch):
    variables = _legacy_weights(layer)
    problem = None
    if len(saved) != len(variables):
        problem = f"layer '{layer.name}' has {len(variables)} weights, but '{where}' holds {len(saved)}."
    else:
        for variable, (name, dataset) in zip(variables, saved):
            if tuple(dataset.shape) != tuple(variable.shape):
                problem = (f"layer '{layer.name}': weight '{variable.path}' has shape {tuple(variable.shape)} in the "
                           f"model, but '{where}/{name}' has shape {tuple(dataset.shape)} in the file.")
                break
    if problem is not None:
        if skip_mismatch:
            import warnings

            warnings.warn(f"{reader.source}: skipping layer '{layer.name}': {problem}", stacklevel=4)
            return
        raise reader.error(problem)
    for variable, (name, dataset) in zip(variables, saved):
        plan.assignments.append((variable, reader.read(dataset, f"{where}/{name}")))


def plan_model_weights(reader, group, model, by_name=False, skip_mismatch=False):
    """A `weights_file.Plan` for the layer groups in `group` (the `model_weights` group or a weights file's root).

    By order (Keras's default: the i-th layer with weights gets the i-th saved layer with
    weights), or `by_name` (saved layers whose name no model layer has are skipped).
    """
    plan = weights_file.Plan()
    layer_names = reader.names_attr(group, "layer_names")
    saved = []
    for name in layer_names:
        layer_group = reader.group(name, group)
        if layer_group is None:
            raise reader.error(f"lists layer '{name}' in 'layer_names' but has no group for it.")
        weights = _subset(reader, layer_group, name)
        if weights:
            saved.append((name, weights))
    layers = [layer for layer in model.layers if _legacy_weights(layer)]
    if by_name:
        index = {layer.name: layer for layer in model.layers}
        for name, weights in saved:
            if name in index:
                _match_layer(reader, plan, index[name], weights, name, skip_mismatch)
    else:
        if len(saved) != len(layers):
            raise reader.error(
                f"the model has {len(layers)} layers with weights ({', '.join(l.name for l in layers)}), but the "
                f"file holds weights for {len(saved)} ({', '.join(n for n, _ in saved)}).")
        for layer, (name, weights) in zip(layers, saved):
            _match_layer(reader, plan, layer, weights, name, skip_mismatch)
    top = reader.group("top_level_model_weights", group)
    own = list(model._tracked_variables())
    if top is not None or own:
        weights = _subset(reader, top, "top_level_model_weights") if top is not None else []
        if len(weights) != len(own):
            raise reader.error(f"the model has {len(own)} weights of its own (not in layers), but the file holds "
                               f"{len(weights)} in 'top_level_model_weights'.")
        for variable, (name, dataset) in zip(own, weights):
            if tuple(dataset.shape) != tuple(variable.shape):
                raise reader.error(f"model weight '{variable.path}' has shape {tuple(variable.shape)}, but the file's "
                                   f"has {tuple(dataset.shape)}.")
            plan.assignments.append((variable, reader.read(dataset, f"top_level_model_weights/{name}")))
    return plan


def _plan_optimizer(reader, model, plan):
    group = reader.group("optimizer_weights")
    if group is None or model.optimizer is None:
        return
    saved = _subset(reader, group, "optimizer_weights")
    if not saved:
        return
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    try:
        pairs = optimizer_state.match(optimizer, [d.shape for _, d in saved], [n for n, _ in saved])
    except ValueError as error:
        raise reader.error(f"the saved optimizer state does not fit: {error}") from None
    for variable, index in pairs:
        name, dataset = saved[index]
        plan.assignments.append((variable, reader.read(dataset, f"optimizer_weights/{name}")))


def _json_attr(reader, name):
    text = reader.text_attr(reader.file, name)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise reader.error(f"attribute '{name}' is not valid JSON ({error}).") from None


def open_reader(path):
    return hdf5.Reader(hdf5.open_file(path, str(path)), str(path), os.path.getsize(path))


def read_model(path, custom_objects=None, compile=True, safe_mode=True):
    """The model saved in the legacy `.h5` file at `path`, compiled with its optimizer state when it has one."""
    reader = open_reader(path)
    try:
        config = _json_attr(reader, "model_config")
        if config is None:
            kind = "weights (saved by save_weights)" if ("layer_names" in reader.file.attrs or "vars" in reader.file
                                                        or "layers" in reader.file) else "no model"
            raise FileError(f"'{path}' is an HDF5 file with {kind}, not a saved model (it has no 'model_config'). "
                            "Build the model and call model.load_weights(...) to load weights.")
        training = _json_attr(reader, "training_config") if compile else None
        try:
            budget = model_config.weight_budget(reader.size, "the file")
            model = model_config.model_from_config(config, custom_objects, safe_mode, budget=budget)
            if training is not None:
                names = list(getattr(model, "output_names", None) or ["output"])
                compile_config = legacy_config.compile_config_from_training_config(training, names)
                with registry.custom_object_scope(custom_objects or {}):
                    model.compile_from_config(compile_config)
        except ValueError as error:
            raise FileError(f"Cannot load a model from '{path}': {error}") from error
        group = reader.group("model_weights")
        if group is None:
            raise reader.error("has a model config but no 'model_weights' group.")
        names = set(reader.names_attr(group, "layer_names"))
        by_name = names >= {layer.name for layer in model.layers if _legacy_weights(layer)}
        plan = plan_model_weights(reader, group, model, by_name=by_name)
        if training is not None:
            _plan_optimizer(reader, model, plan)
        plan.apply()
    finally:
        reader.file.close()
    return model


def read_weights(model, path, by_name=False, skip_mismatch=False):
    """Load a legacy `.h5` model file's or Keras 2 weights file's weights into `model` (no optimizer state)."""
    reader = open_reader(path)
    try:
        group = reader.file
        if "layer_names" not in reader.file.attrs and reader.group("model_weights") is not None:
            group = reader.group("model_weights")
        if "layer_names" not in group.attrs and "layer_names0" not in group.attrs:
            raise FileError(f"'{path}' is an HDF5 file without Keras weights ('layer_names' is missing).")
        plan_model_weights(reader, group, model, by_name=by_name, skip_mismatch=skip_mismatch).apply()
    finally:
        reader.file.close()
