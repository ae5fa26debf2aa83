"""`clone_model`: the same architecture with freshly initialized weights."""


def clone_model(model, input_tensors=None, clone_function=None, **kwargs):
    """A new model with `model`'s architecture and new weights (not copied; use set_weights).

    Sequential and functional models are rebuilt from their config;
    `clone_function(layer) -> layer` may replace how each layer is recreated.
    Subclassed models need `get_config`/`from_config`.
    """
    from lamina.layers import deserialize
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential
    from lamina.saving.serialization import serialize_keras_object

    if input_tensors is not None:
        raise NotImplementedError("clone_model: `input_tensors` is not supported yet; clone, then call the clone.")
    if isinstance(model, Sequential) and clone_function is not None:
        layers = [clone_function(layer) for layer in model.layers]
        clone = Sequential(name=model.name)
        if model._input_layer is not None:
            clone.add(deserialize(serialize_keras_object(model._input_layer)))
        for layer in layers:
            clone.add(layer)
        return clone
    if isinstance(model, Functional) and clone_function is not None:
        raise NotImplementedError("clone_model: `clone_function` is supported for Sequential models only so far.")
    return type(model).from_config(model.get_config())
