"""`clone_model`: the same architecture with freshly initialized weights."""

from lamina.backend import registry


def clone_model(model, input_tensors=None, clone_function=None, **kwargs):
    """A new model with `model`'s architecture and new weights (not copied; use set_weights).

    Sequential and functional models are rebuilt from their config;
    `clone_function(layer) -> layer` may replace how each layer of a Sequential is recreated.
    Subclassed models need `get_config`/`from_config`.
    """
    if input_tensors is not None:
        raise NotImplementedError("clone_model: `input_tensors` is not supported yet; clone, then call the clone.")
    if clone_function is not None:
        if not hasattr(model, "_stack"):
            raise NotImplementedError("clone_model: `clone_function` is supported for Sequential models only so far.")
        clone = type(model)(name=model.name)
        if model._input_layer is not None:
            clone.add(registry.deserialize_keras_object(registry.serialize_keras_object(model._input_layer), None,
                                                        "layer"))
        for layer in model.layers:
            clone.add(clone_function(layer))
        return clone
    return type(model).from_config(model.get_config())
