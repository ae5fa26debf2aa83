"""`Embedding`: integer ids -> dense vectors."""

import jax
import jax.numpy as jnp
import numpy as np

from lamina import constraints, initializers, regularizers
from lamina.layers.base import Layer
from lamina.layers.core import _positive_int


class Embedding(Layer):
    """Looks up rows of an `(input_dim, output_dim)` table: int [batch, ...] -> [batch, ..., output_dim].

    Args:
        input_dim: vocabulary size; ids must be in `[0, input_dim)`.
        output_dim: size of each vector.
        embeddings_initializer / embeddings_regularizer / embeddings_constraint: for the table.
        mask_zero: whether id 0 is padding (stored and serialized; `compute_mask` gives `ids != 0`).
        weights: optional initial table (an array or a one-element list).
        input_length: Keras 2 spelling; declares the input shape `(input_length,)`.

    Out-of-range ids raise a ValueError when the layer runs eagerly; inside a
    compiled function they give NaN rows, like Keras on JAX.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, input_length=None,
                 activity_regularizer=None, lora_rank=None, lora_alpha=None, quantization_config=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        for arg, value in (("lora_rank", lora_rank), ("quantization_config", quantization_config)):
            if value is not None:
                raise ValueError(f"Embedding: `{arg}` is not supported by lamina; got {arg}={value!r}. Leave it None.")
        self.input_dim = _positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = _positive_int("Embedding", "output_dim", output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build(None)
            self.built = True
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")
        self.built = True

    def call(self, inputs):
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            inputs = inputs.astype("int32")
        if not isinstance(inputs, jax.core.Tracer) and inputs.size:
            ids = np.asarray(inputs)
            bad = ids[(ids < 0) | (ids >= self.input_dim)]
            if bad.size:
                raise ValueError(
                    f"Layer '{self.name}' (Embedding): input id {int(bad.flat[0])} is out of range; ids must be "
                    f"in [0, {self.input_dim}) because input_dim={self.input_dim}. Increase `input_dim` to the "
                    f"vocabulary size (max id + 1) or re-map the ids ({bad.size} id(s) out of range)."
                )
        return jnp.take(self.embeddings.value, inputs, axis=0)

    def compute_mask(self, inputs, mask=None):
        """`inputs != 0` when `mask_zero`, else None."""
        if not self.mask_zero:
            return None
        return jnp.not_equal(jnp.asarray(inputs), 0)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }
