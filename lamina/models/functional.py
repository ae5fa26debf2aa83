"""`Functional`: the model `Model(inputs, outputs)` makes, a graph of layer calls (see `graph.py`)."""

from lamina.models.model import Model


class Functional(Model):
    """A model defined by `Model(inputs, outputs)`.

    Args:
        inputs: an `Input` tensor, or a list / dict of them.
        outputs: a symbolic tensor, or a list / dict of them.
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(inputs, outputs, name=name, trainable=trainable, **kwargs)


Model._functional_class = Functional
