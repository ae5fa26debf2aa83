"""The named walk (`lamina.backend.tracking`): each object once, with the paths Keras 3 writes in its files."""

import h5py
import numpy as np
import pytest

import lamina
from lamina.backend import tracking

X = np.random.default_rng(0).random((4, 4)).astype("float32")


def sequential(lib):
    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3), lib.layers.BatchNormalization(),
                            lib.layers.Dropout(0.5), lib.layers.Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    model.fit(X, np.ones((4, 1)), verbose=0)
    return model


def functional(lib):
    a, b = lib.Input((3,), name="a"), lib.Input((2,), name="b")
    shared = lib.layers.Dense(2, name="shared")
    out = lib.layers.Concatenate()([shared(lib.layers.Dense(2)(a)), shared(lib.layers.Dense(2)(b))])
    return lib.Model([a, b], out)


def subclassed(lib):
    class Blocks(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense1 = lib.layers.Dense(3)
            self.blocks = [lib.layers.Dense(2), [lib.layers.Dense(2)]]
            self.head = lib.layers.Dense(1)

        def call(self, x):
            x = self.dense1(x)
            for block in (self.blocks[0], self.blocks[1][0]):
                x = block(x)
            return self.head(x)

    model = Blocks()
    model(X)
    return model


def _keras_paths(model, tmp_path):
    """{dataset path: shape} of the weights file Keras writes for `model`."""
    path = tmp_path / "keras.weights.h5"
    model.save_weights(str(path))
    found = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: found.__setitem__(name, obj.shape) if isinstance(obj, h5py.Dataset) else None)
    return found


@pytest.mark.parametrize("build", [sequential, functional, subclassed])
def test_variable_paths_are_keras_file_paths(keras, build, tmp_path):
    theirs, ours = build(keras), build(lamina)
    expected = _keras_paths(theirs, tmp_path)
    got = {path: variable.shape for path, variable in tracking.variables_by_path(ours).items()}
    assert got == expected


def test_weights_follow_the_walk_and_keras_order(keras):
    theirs, ours = functional(keras), functional(lamina)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    walked = [v for path, v in tracking.variables_by_path(ours, follow=lambda o: o._tracking_kind == "layer").items()]
    assert {id(v) for v in walked} == {id(v) for v in ours.weights}


def test_a_shared_object_is_walked_once():
    model = functional(lamina)
    objects = [obj for _, obj in tracking.walk(model)]
    assert len(objects) == len({id(o) for o in objects})
    shared = model.get_layer("shared")
    assert sum(obj is shared for obj in objects) == 1
    assert len(model.weights) == len({id(v) for v in model.weights}) == 6
