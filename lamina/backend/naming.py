"""Default object names, as Keras makes them: `dense`, `dense_1`, `adam`, `mean_squared_error_2`, ...

One counter per name base, shared by layers, models, metrics, optimizers and seed
generators (as in Keras), reset by `lamina.backend.clear_session()`.
"""

import collections
import re

_uids = collections.defaultdict(int)


def to_snake_case(name):
    """'BatchNormalization' -> 'batch_normalization', 'ReLU' -> 're_lu', 'Conv2D' -> 'conv2d' (Keras's rule)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def uniquify(base):
    """`base` the first time, then `base_1`, `base_2`, ..."""
    count = _uids[base]
    _uids[base] += 1
    return base if count == 0 else f"{base}_{count}"


def auto_name(class_name):
    """The default name of an instance of `class_name`: snake case, made unique."""
    return uniquify(to_snake_case(class_name))


def reset():
    """Forget every counter (`clear_session`): the next Dense is `dense` again."""
    _uids.clear()
