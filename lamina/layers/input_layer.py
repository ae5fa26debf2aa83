"""`InputLayer` and `Input`: where a functional graph or Sequential model starts."""

from lamina.backend import config
from lamina.layers import symbolic
from lamina.layers.base import Layer


class InputLayer(Layer):
    """Declares the input of a model: `shape` without the batch axis, or `batch_shape` with it.

    Accepts Keras 2 spellings too (`input_shape=`, `batch_input_shape=`).
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 input_shape=None, batch_input_shape=None, sparse=None, input_tensor=None, **kwargs):
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if sparse:
            raise ValueError(f"InputLayer '{name}': `sparse=True` inputs are not supported by lamina (inputs are dense).")
        if shape is None and batch_shape is None:
            raise ValueError("InputLayer: give `shape` (without the batch axis), e.g. shape=(8,).")
        if shape is not None and batch_shape is not None:
            raise ValueError("InputLayer: give `shape` or `batch_shape`, not both.")
        for argument, value in (("shape", shape), ("batch_shape", batch_shape)):
            if value is not None and not isinstance(value, (int, tuple, list)):
                hint = (" A model with several inputs takes one Input each, e.g. "
                        "inputs={'a': Input((3,)), 'b': Input((5,))}." if isinstance(value, dict) else "")
                raise ValueError(f"InputLayer: `{argument}` must be a tuple of ints (None for an unknown size), "
                                 f"got {type(value).__name__} {value!r}.{hint}")
        if batch_shape is None:
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        for d in batch_shape:
            if d is not None and (not isinstance(d, int) or d <= 0):
                raise ValueError(f"InputLayer: every dimension must be a positive int or None, got {tuple(batch_shape)}.")
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.dtype = config.standardize_dtype(dtype)
        self.batch_shape = tuple(batch_shape)
        self._batch_input_shape = self.batch_shape
        self.built = True
        tensor = symbolic.KerasTensor(self.batch_shape, self.dtype, name=self.name)
        self._inbound_nodes.append(symbolic.Node(self, (), {}, tensor))
        self._output_shapes = self.batch_shape

    @property
    def output(self):
        return self._inbound_nodes[0].outputs

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for flag in ("sparse", "ragged", "optional"):  # Keras 3 flags; lamina inputs are dense, required
            if config.pop(flag, False):
                raise ValueError(f"InputLayer '{config.get('name')}': `{flag}=True` inputs are not supported.")
        if "batch_input_shape" in config:
            config["batch_shape"] = config.pop("batch_input_shape")
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
    """A symbolic input tensor: `Input(shape=(8,))` stands for a batch of 8-feature rows."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape, **kwargs).output
