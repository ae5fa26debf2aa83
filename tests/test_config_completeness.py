"""Every constructor argument of every built-in class reaches `get_config`.

Program keys are computed from configs (`lamina.training.program_key`), so an argument
missing from a config would let two different models share one compiled program. This
walks every class the registry knows as a layer, loss, metric, optimizer, initializer,
regularizer or constraint, builds it once with defaults and once per argument with
another value, and checks that the config changes and survives `from_config`.
"""

import inspect

import jax.numpy as jnp
import numpy as np
import pytest

import lamina  # noqa: F401  (registers every package's built-ins)
import lamina.losses  # noqa: F401
import lamina.metrics  # noqa: F401
import lamina.optimizers  # noqa: F401
from lamina.backend import registry
from lamina.training.program_key import exact

KINDS = ("layer", "loss", "metric", "optimizer", "initializer", "regularizer", "constraint")

#: Base classes and containers: not configurable objects on their own.
ABSTRACT = {"Layer", "Loss", "Metric", "Initializer", "Regularizer", "Constraint", "Model", "Functional",
            "Sequential", "Optimizer"}

#: Arguments that do not belong in a config, and why that is sound for program keys.
EXEMPT = {
    "input_shape": "a shape: Sequential turns it into an InputLayer; programs are keyed by their arguments' shapes",
    "input_dim": "a shape (as input_shape)",
    "batch_size": "a shape (as input_shape)",
    "batch_input_shape": "a shape (as input_shape)",
    "input_length": "a shape (as input_shape)",
    "weights": "initial values: weights are inputs of every program, never part of it",
    "input_tensor": "an existing tensor to wrap: the graph holds it, the config its shape and dtype",
    "lora_alpha": "scales LoRA weights only, and lamina refuses `lora_rank` (Keras writes it only with a rank too)",
}

#: Values for required arguments (by argument name).
REQUIRED = {
    "units": 3, "rate": 0.25, "stddev": 0.1, "activation": "relu", "function": lamina.activations.relu, "axes": 1,
    "dims": (2, 1), "n": 2, "target_shape": (2, 3), "scale": 2.0, "input_dim": 5, "output_dim": 3,
    "recall": 0.5, "precision": 0.5, "sensitivity": 0.5, "specificity": 0.5, "fn": lamina.losses.mean_squared_error,
    "op": "relu", "filters": 2, "kernel_size": 3, "pool_size": 2,
    "height": 4, "width": 4, "factor": 0.2, "height_factor": 0.2, "width_factor": 0.2,
}

#: Another value for an argument, by name (tried after SPECIFIC, before values derived from the default).
OTHER = {
    "name": "custom_name", "dtype": "float16", "activation": "tanh", "seed": 7, "padding": "same",
    "data_format": "channels_first", "reduction": "sum", "mode": "fan_out", "distribution": "uniform",
    "curve": "PR", "summation_method": "minoring", "class_aggregation": "variance_weighted_average",
    "side": "imag", "window": "hamming", "scaling": "spectrum", "average": "macro",
    "kernel_regularizer": "l2", "bias_regularizer": "l1", "activity_regularizer": "l2",
    "embeddings_regularizer": "l2", "beta_regularizer": "l2", "gamma_regularizer": "l2", "alpha_regularizer": "l2",
    "kernel_constraint": "non_neg", "bias_constraint": "non_neg", "embeddings_constraint": "non_neg",
    "beta_constraint": "non_neg", "gamma_constraint": "non_neg", "alpha_constraint": "non_neg",
    "kernel_initializer": "he_normal", "bias_initializer": "ones", "embeddings_initializer": "ones",
    "beta_initializer": "ones", "gamma_initializer": "zeros", "moving_mean_initializer": "ones",
    "moving_variance_initializer": "zeros", "alpha_initializer": "ones",
    "noise_shape": (None, 1), "weight_decay": 0.01, "clipnorm": 1.0, "clipvalue": 0.5, "global_clipnorm": 1.0,
    "thresholds": 0.3, "top_k": 2, "class_id": 1, "num_labels": 3, "ignore_class": 0, "threshold": 0.4,
    "max_value": 6.0, "shared_axes": [1], "output_shape": (3,), "arguments": {"b": 1.0},
    "mean": [1.0, 2.0], "variance": [1.0, 4.0], "label_weights": [1.0, 2.0, 3.0],
    "ema_overwrite_frequency": 10, "loss_scale_factor": 128.0, "gradient_accumulation_steps": 2,
    "renorm_clipping": {"rmax": 3.0, "rmin": 0.3, "dmax": 5.0}, "input_axes": [0], "output_axes": [1],
    "shape": (5,), "batch_shape": (2, 4), "sparse": False,
    **{f"{part}_{what}": value for part in ("depthwise", "pointwise")
       for what, value in (("initializer", "ones"), ("regularizer", "l2"), ("constraint", "non_neg"))},
    "output_padding": 1, "interpolation": "bilinear", "cropping": 2,
    "recurrent_initializer": "glorot_uniform", "recurrent_regularizer": "l2", "recurrent_constraint": "non_neg",
    "recurrent_activation": "hard_sigmoid", "use_cudnn": False, "mask": lamina.activations.relu,
    "fill_mode": "constant", "value_range": (0, 1), "width_factor": 0.3,
}
#: A second other value, for arguments whose first one is often the default ("tanh" for recurrent layers).
OTHER_AGAIN = {"activation": "relu"}

#: Arguments that only make sense with a partner: (class, argument) -> (partner arguments, value a, value b);
#: the test compares `cls(**partner, argument=a)` with `cls(**partner, argument=b)`.
PAIRS = {
    ("Normalization", "mean"): ({"variance": [1.0, 1.0]}, [0.0, 0.0], [1.0, 2.0]),
    ("Normalization", "variance"): ({"mean": [0.0, 0.0]}, [1.0, 1.0], [1.0, 4.0]),
    ("InputLayer", "shape"): ({}, (4,), (5,)),
    ("Bidirectional", "backward_layer"): ({}, None, lamina.layers.SimpleRNN(2, go_backwards=True)),
    **{(f"Conv{n}DTranspose", "output_padding"): ({"strides": 2}, None, 1) for n in (1, 2, 3)},
    ("InputLayer", "batch_shape"): ({}, (2, 4), (3, 4)),
    ("AUC", "num_labels"): ({"multi_label": True}, 2, 3),
    **{(name, axes): ({other: [1]}, [0], [0, 1]) for name in (
        "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "VarianceScaling")
       for axes, other in (("input_axes", "output_axes"), ("output_axes", "input_axes"))},
}
#: Values for one class's argument.
SPECIFIC = {
    **{(f"{kind}Pooling{n}D", arg): 3 for kind in ("Max", "Average") for n in (1, 2, 3)
       for arg in ("pool_size", "strides")},
    **{(f"UpSampling{n}D", "size"): 3 for n in (1, 2, 3)}, **{(f"ZeroPadding{n}D", "padding"): 2 for n in (1, 2, 3)},
    ("Dice", "axis"): (1,), ("Tversky", "axis"): (1,), ("Concatenate", "axis"): 1, ("Softmax", "axis"): 1,
    ("Dot", "axes"): 2, ("Bidirectional", "merge_mode"): "sum", ("F1Score", "average"): "micro",
    ("FBetaScore", "average"): "weighted",
    ("LeakyReLU", "alpha"): 0.1, ("OrthogonalRegularizer", "mode"): "columns", ("VarianceScaling", "mode"): "fan_avg",
    ("InputLayer", "sparse"): True, ("Embedding", "lora_rank"): 2, ("Embedding", "lora_alpha"): 4.0,
    ("Embedding", "quantization_config"): "int8",
    ("RandomFlip", "mode"): "horizontal", ("Resizing", "fill_mode"): "reflect",
    **{(name, "interpolation"): "nearest" for name in ("RandomRotation", "RandomZoom", "RandomTranslation", "Resizing")},
}
#: Required arguments of one class.
BASE = {"InputLayer": {"shape": (4,)}, "Normalization": {"mean": [0.0, 0.0], "variance": [1.0, 1.0]}}

#: Arguments lamina refuses (with a clear error) unless left at their default: they cannot vary silently.
REFUSED = {
    ("Embedding", "lora_rank"), ("Embedding", "lora_alpha"), ("Embedding", "quantization_config"),
    ("BatchNormalization", "renorm"), ("InputLayer", "sparse"), ("Resizing", "fill_mode"),
    ("optimizer", "gradient_accumulation_steps"),
}
#: Arguments Keras's own config leaves out: lamina's config matches Keras, and the key gets them from
#: `_exact_config` (the test checks both).
KERAS_OMITS = {("loss", "*", "dtype"), ("loss", "SparseCategoricalCrossentropy", "axis"),
               ("metric", "CosineSimilarity", "axis")}


def _classes(kind):
    table = registry.builtins(kind)
    found = {v for v in table.values() if inspect.isclass(v) and v.__name__ not in ABSTRACT}
    return sorted(found, key=lambda c: c.__name__)


#: Base-class arguments a class refuses (with a clear TypeError), as Keras's class has no such argument.
NOT_TAKEN = {(f"Conv{n}DTranspose", "groups") for n in (1, 2, 3)} | {("UpSampling1D", "data_format"),
                                                                    ("Cropping1D", "data_format")}


def test_arguments_a_class_does_not_take_are_refused_clearly():
    classes = {c.__name__: c for c in _classes("layer")}
    for name, argument in sorted(NOT_TAKEN):
        with pytest.raises(TypeError, match=f"takes no `{argument}`"):
            classes[name](**{k: REQUIRED[k] for k in ("filters", "kernel_size") if name.startswith("Conv")},
                          **{argument: 2})


def _parameters(cls):
    """The keyword arguments `cls` accepts: its own, and those its `**kwargs` pass to base classes."""
    params, seen_init = {}, False
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        signature = inspect.signature(init)
        own = not params and not seen_init
        seen_init = True
        for p in list(signature.parameters.values())[1:]:
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or (cls.__name__, p.name) in NOT_TAKEN:
                continue
            if not own and p.default is inspect.Parameter.empty:
                continue  # a base's required argument is the subclass's to fill (e.g. LSTM builds RNN's `cell`)
            params.setdefault(p.name, p)
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            break
        if klass.__name__ in ("MeanMetricWrapper", "LossFunctionWrapper"):  # **kwargs go to the function
            break
    return params


#: Required arguments that are objects: made afresh for every construction.
FRESH = {
    "cell": lambda: lamina.layers.SimpleRNNCell(2), "cells": lambda: [lamina.layers.SimpleRNNCell(2),
                                                                       lamina.layers.LSTMCell(3)],
    "layer": lambda: lamina.layers.SimpleRNN(2),
}


def _required(cls, params):
    return {name: FRESH[name]() if name in FRESH else REQUIRED[name] for name, p in params.items()
            if p.default is inspect.Parameter.empty}


def _other(cls, name, default):
    """A valid value other than `default` for `cls(name=...)`."""
    candidates = []
    if (cls.__name__, name) in SPECIFIC:
        candidates.append(SPECIFIC[(cls.__name__, name)])
    if isinstance(default, bool):
        candidates.append(not default)
    if name in OTHER:
        candidates.append(OTHER[name])
    if name in OTHER_AGAIN:
        candidates.append(OTHER_AGAIN[name])
    if isinstance(default, int) and not isinstance(default, bool):
        candidates.append(default + 1)
    if isinstance(default, float):
        candidates += [round(default * 0.5 + 0.05, 6), default * 0.5]
    for value in candidates:
        if value != default:
            return value
    raise KeyError(f"no other value for {cls.__name__}({name}=...): add one to OTHER or SPECIFIC")


def _cases():
    for kind in KINDS:
        for cls in _classes(kind):
            params = _parameters(cls)
            for name, p in params.items():
                if name in EXEMPT or p.default is inspect.Parameter.empty:
                    continue
                yield pytest.param(kind, cls, name, id=f"{kind}-{cls.__name__}-{name}")


def _exact(obj):
    """What program keys see of `obj` (its config in exact form)."""
    with registry.exact_names():
        return exact(registry.serialize_keras_object(obj))


def _base(cls, name, params):
    base = {**_required(cls, params), **BASE.get(cls.__name__, {})}
    if (cls.__name__, name) in PAIRS:
        base = {k: v for k, v in base.items() if k not in (name, "shape", "batch_shape")}
        base.update(PAIRS[(cls.__name__, name)][0])
    return base


def _listed(table, kind, cls, name):
    return any(entry in table for entry in ((kind, "*", name), (kind, cls.__name__, name), (cls.__name__, name),
                                            (kind, name)))


def test_every_kind_has_classes():
    for kind in KINDS:
        assert len(_classes(kind)) >= 3, kind


@pytest.mark.parametrize("kind, cls, name", list(_cases()))
def test_the_argument_reaches_get_config(kind, cls, name):
    params = _parameters(cls)
    base = _base(cls, name, params)
    if (cls.__name__, name) in PAIRS:
        _, default, value = PAIRS[(cls.__name__, name)]
    else:
        default, value = params[name].default, _other(cls, name, params[name].default)
    if _listed(REFUSED, kind, cls, name):
        with pytest.raises(ValueError, match="not supported|Leave it"):
            cls(**base, **{name: value})
        return
    plain, changed = cls(**base, **{name: default}), cls(**base, **{name: value})
    assert _exact(changed) != _exact(plain), f"{cls.__name__}({name}={value!r}) does not change its program key"
    if _listed(KERAS_OMITS, kind, cls, name):
        assert exact(changed.get_config()) == exact(plain.get_config())  # as Keras writes it (checked below)
        return
    assert exact(changed.get_config()) != exact(plain.get_config())
    again = type(changed).from_config(changed.get_config())
    assert _exact(again) == _exact(changed), f"{cls.__name__}({name}={value!r}) does not survive from_config"


@pytest.mark.parametrize("kind, cls", [pytest.param(k, c, id=f"{k}-{c.__name__}") for k in KINDS for c in _classes(k)])
def test_defaults_survive_from_config(kind, cls):
    obj = cls(**_base(cls, None, _parameters(cls)))
    assert _exact(type(obj).from_config(obj.get_config())) == _exact(obj)


@pytest.mark.parametrize("kind, cls, name", [
    ("loss", "MeanSquaredError", "dtype"), ("loss", "SparseCategoricalCrossentropy", "axis"),
    ("metric", "CosineSimilarity", "axis"),
])
def test_what_lamina_keeps_out_of_configs_keras_keeps_out_too(keras, kind, cls, name):
    theirs = getattr(getattr(keras, kind + ("es" if kind == "loss" else "s")), cls)
    value = "float16" if name == "dtype" else 0
    assert name not in theirs(**{name: value}).get_config()
