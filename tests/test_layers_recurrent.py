"""Recurrent layers (SimpleRNN, LSTM, GRU, their cells, RNN, StackedRNNCells, Bidirectional,
TimeDistributed) against real Keras 3: copied weights give equal outputs and gradients, same weight
shapes and configs; bad input is refused before any compute."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import layers as L

ATOL = 1e-4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 6, 4)).astype("float32")
MASK = np.ones((3, 6), bool)
MASK[0, 4:] = False  # post-padding
MASK[1, :2] = False  # pre-padding
MASK[2, 3] = False  # a hole
H0 = RNG.normal(size=(3, 5)).astype("float32")


def _leaves(out):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(out)]


def _assert_close(ours, theirs, what=""):
    ours, theirs = _leaves(ours), _leaves(theirs)
    assert len(ours) == len(theirs), what
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape, (what, a.shape, b.shape)
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=1e-4, err_msg=what)


def _perturbed(weights):
    rng = np.random.default_rng(1)
    return [w + rng.uniform(-0.3, 0.3, size=w.shape).astype(w.dtype) for w in weights]


def pair(keras, make, x=X):
    """`make(module)` built in Keras and lamina on `x`, sharing Keras's (perturbed) weights."""
    k_layer, l_layer = make(keras), make(lamina)
    k_layer(x)
    l_layer(x)
    k_weights = k_layer.get_weights()
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in k_weights]
    shared = _perturbed(k_weights)
    k_layer.set_weights(shared)
    l_layer.set_weights(shared)
    return k_layer, l_layer


def _grads(layer, x, call_kwargs, training):
    """d(sum of sin(outputs) * k) / d(trainable weights, x, initial states) via stateless_call."""
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]
    kwargs = dict(call_kwargs)
    init = kwargs.pop("initial_state", None)

    def loss(trainable, x, init):
        extra = {} if init is None else {"initial_state": init}
        out = layer.stateless_call(trainable, non_trainable, x, training=training, **kwargs, **extra)[0]
        return sum(jnp.sum(jnp.sin(o) * (i + 1)) for i, o in enumerate(jax.tree_util.tree_leaves(out)))

    return jax.grad(loss, argnums=(0, 1, 2))(trainable, jnp.asarray(x), init)


def compare(keras, make, x=X, call_kwargs=None, training=False, grads=True):
    k_layer, l_layer = pair(keras, make, x)
    call_kwargs = dict(call_kwargs or {})
    _assert_close(l_layer(x, training=training, **call_kwargs), k_layer(x, training=training, **call_kwargs),
                  "outputs")
    if grads:
        _assert_close(_grads(l_layer, x, call_kwargs, training), _grads(k_layer, x, call_kwargs, training),
                      "gradients")
    return k_layer, l_layer


LAYER_OPTIONS = [
    ({}, {}),
    ({"return_sequences": True, "return_state": True}, {}),
    ({"return_sequences": True, "go_backwards": True}, {"mask": MASK}),
    ({"return_state": True, "go_backwards": True}, {"mask": MASK}),
    ({"return_sequences": True, "unroll": True}, {"mask": MASK}),
    ({"return_sequences": True, "return_state": True}, {"initial_state": "h0"}),
    ({"use_bias": False, "activation": "relu"}, {"mask": MASK}),
]


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options,call", LAYER_OPTIONS, ids=lambda v: ",".join(sorted(v)) or "defaults")
def test_recurrent_layer_matches_keras(keras, name, options, call):
    call = dict(call)
    if call.get("initial_state") == "h0":
        call["initial_state"] = [H0, H0 * 0.5] if name == "LSTM" else [H0]
    compare(keras, lambda m: getattr(m.layers, name)(5, **options), call_kwargs=call)


@pytest.mark.parametrize("options", [{"reset_after": False}, {"reset_after": False, "return_sequences": True},
                                     {"recurrent_activation": "hard_sigmoid", "reset_after": True}])
def test_gru_variants_match_keras(keras, options):
    k_layer, _ = compare(keras, lambda m: m.layers.GRU(5, **options), call_kwargs={"mask": MASK})
    bias_shape = (15,) if not options.get("reset_after", True) else (2, 15)
    assert k_layer.get_weights()[2].shape == bias_shape


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", [{"dropout": 0.3, "seed": 3},
                                     {"dropout": 0.3, "recurrent_dropout": 0.4, "seed": 7, "return_sequences": True}])
def test_dropout_draws_keras_masks(keras, name, options):
    """Same seed, same masks: dropout outputs and gradients in training equal Keras's, also after an
    inference call (which advances the seed in Keras too)."""
    k_layer, l_layer = compare(keras, lambda m: getattr(m.layers, name)(5, **options), training=True,
                               call_kwargs={"mask": MASK})
    _assert_close(l_layer(X), k_layer(X), "inference")
    _assert_close(l_layer(X, training=True), k_layer(X, training=True), "training after inference")


def test_weight_layout_and_gate_order(keras):
    """LSTM gates i, f, c, o and GRU gates z, r, h sit side by side in Keras's order: zeroing one
    gate's block in both frameworks gives the same answer."""
    for name, gates in (("LSTM", 4), ("GRU", 3)):
        k_layer, l_layer = pair(keras, lambda m: getattr(m.layers, name)(5, return_sequences=True))
        assert [v.path.split("/")[-1] for v in l_layer.weights] == ["kernel", "recurrent_kernel", "bias"]
        for gate in range(gates):
            weights = [w.copy() for w in k_layer.get_weights()]
            weights[0][:, gate * 5:(gate + 1) * 5] = 0.0
            k_layer.set_weights(weights)
            l_layer.set_weights(weights)
            _assert_close(l_layer(X), k_layer(X), f"{name} gate {gate}")


def test_lstm_unit_forget_bias_initializer(keras):
    layer = L.LSTM(3)
    layer(X)
    np.testing.assert_array_equal(layer.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    layer = L.LSTM(3, unit_forget_bias=False, bias_initializer="ones")
    layer(X)
    np.testing.assert_array_equal(layer.get_weights()[2], np.ones(12))


@pytest.mark.parametrize("cells", [
    lambda m: m.layers.SimpleRNNCell(5),
    lambda m: m.layers.LSTMCell(5),
    lambda m: m.layers.GRUCell(5, reset_after=False),
    lambda m: [m.layers.LSTMCell(4), m.layers.GRUCell(3), m.layers.SimpleRNNCell(2)],
], ids=["simple", "lstm", "gru", "stacked"])
def test_rnn_of_cells_matches_keras(keras, cells):
    compare(keras, lambda m: m.layers.RNN(cells(m), return_sequences=True, return_state=True),
            call_kwargs={"mask": MASK})


def test_cells_one_step_match_keras(keras):
    x, h = X[:, 0], H0
    for make, states in ((lambda m: m.layers.LSTMCell(5), [h, h]), (lambda m: m.layers.GRUCell(5), [h]),
                         (lambda m: m.layers.SimpleRNNCell(5), [h])):
        k_cell, l_cell = make(keras), make(lamina)
        k_cell(x, states)
        l_cell(x, states)
        shared = _perturbed(k_cell.get_weights())
        k_cell.set_weights(shared)
        l_cell.set_weights(shared)
        _assert_close(l_cell(x, states), k_cell(x, states), type(l_cell).__name__)


def _minimal_cell(module):
    class MinimalRNNCell(module.layers.Layer):
        """Keras's documented custom cell: h' = x W + h U."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            output = inputs @ self.kernel + states[0] @ self.recurrent_kernel
            return output, [output]

    return MinimalRNNCell


def test_user_cell_in_rnn_matches_keras(keras):
    compare(keras, lambda m: m.layers.RNN(_minimal_cell(m)(4), return_sequences=True), call_kwargs={"mask": MASK})


def test_user_cell_assigning_inside_the_loop_is_refused():
    class Counting(L.Layer):
        state_size = 2

        def build(self, input_shape):
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

        def call(self, inputs, states):
            self.count.assign(self.count.value + 1.0)
            return states[0], states

    with pytest.raises(ValueError, match="assigned a variable inside the time loop"):
        L.RNN(Counting())(X)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_merge_modes_match_keras(keras, merge_mode, return_sequences):
    compare(keras, lambda m: m.layers.Bidirectional(m.layers.LSTM(3, return_sequences=return_sequences),
                                                    merge_mode=merge_mode), call_kwargs={"mask": MASK},
            grads=merge_mode in ("concat", None))


def test_bidirectional_states_backward_layer_and_initial_state_match_keras(keras):
    def make(m):
        return m.layers.Bidirectional(m.layers.GRU(5, return_sequences=True, return_state=True),
                                      backward_layer=m.layers.GRU(5, go_backwards=True, return_sequences=True,
                                                                  return_state=True, reset_after=False))

    compare(keras, make, call_kwargs={"initial_state": [H0, -H0], "mask": MASK})
    k_layer, l_layer = pair(keras, make)
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in k_layer.get_weights()]
    assert l_layer.forward_layer.name.startswith("forward_") and l_layer.backward_layer.reset_after is False


@pytest.mark.parametrize("inner", [
    lambda m: m.layers.Dense(3, activation="tanh"),
    lambda m: m.layers.Dropout(0.5, seed=4),
    lambda m: m.layers.BatchNormalization(),
], ids=["dense", "dropout", "batchnorm"])
def test_time_distributed_matches_keras(keras, inner):
    """Dense runs once on all steps; Dropout and BatchNormalization step by step, as Keras does, so
    their masks, batch statistics and moving averages are Keras's."""
    for training in (False, True):
        k_layer, l_layer = pair(keras, lambda m: m.layers.TimeDistributed(inner(m)))
        _assert_close(l_layer(X, training=training), k_layer(X, training=training), f"training={training}")
        _assert_close(l_layer.get_weights(), k_layer.get_weights(), "weights after the call")


def test_time_distributed_of_conv_like_rank4_inputs():
    x = RNG.normal(size=(2, 3, 4, 5)).astype("float32")
    layer = L.TimeDistributed(L.Dense(2))
    out = layer(x)
    assert out.shape == (2, 3, 4, 2)
    np.testing.assert_allclose(out[:, 1], layer.layer(x[:, 1]), atol=1e-6)


def test_masking_layer_matches_keras(keras):
    x = X.copy()
    x[0, 2] = 0.0
    x[1, 4:] = 0.0
    k_layer, l_layer = keras.layers.Masking(0.0), L.Masking(0.0)
    _assert_close(l_layer(x), k_layer(x))
    np.testing.assert_array_equal(l_layer.compute_mask(x), keras.ops.convert_to_numpy(k_layer.compute_mask(x)))
    assert l_layer.get_config() == {**k_layer.get_config(), "dtype": l_layer.dtype}


def test_stateful_layer_continues_and_resets(keras):
    """A stateful LSTM's second call continues the first (as one call on the joined sequence), like
    Keras's; reset_states starts over."""
    def make(m):
        return m.layers.LSTM(5, stateful=True, return_sequences=True)

    k_layer, l_layer = pair(keras, make)
    l_layer.reset_states()
    k_layer.reset_states()
    first, second = X[:, :3], X[:, 3:]
    _assert_close(l_layer(first), k_layer(first))
    _assert_close(l_layer(second), k_layer(second))
    whole = L.LSTM(5, return_sequences=True)
    whole(X)
    whole.set_weights(l_layer.get_weights())
    np.testing.assert_allclose(np.asarray(l_layer.states[0].value), np.asarray(whole(X)[:, -1]), atol=1e-5)
    l_layer.reset_states()
    np.testing.assert_allclose(l_layer(first), whole(first), atol=1e-5)
    assert len(l_layer.weights) == 3 and len(l_layer.non_trainable_variables) == 3  # seed state + h, c


# ----- configs ---------------------------------------------------------------------------------


CONFIG_LAYERS = {
    "SimpleRNN": lambda m: m.layers.SimpleRNN(4, dropout=0.1, return_sequences=True),
    "LSTM": lambda m: m.layers.LSTM(4, recurrent_dropout=0.2, seed=3, go_backwards=True, unit_forget_bias=False),
    "GRU": lambda m: m.layers.GRU(4, reset_after=False, return_state=True, kernel_regularizer="l2"),
    "RNN": lambda m: m.layers.RNN([m.layers.LSTMCell(3), m.layers.GRUCell(2)], stateful=False, unroll=True),
    "Bidirectional": lambda m: m.layers.Bidirectional(m.layers.GRU(3, return_sequences=True), merge_mode="ave"),
    "TimeDistributed": lambda m: m.layers.TimeDistributed(m.layers.Dense(2, activation="relu")),
    "Masking": lambda m: m.layers.Masking(mask_value=-1.0),
}


def _strip(config):
    """A config without names and dtypes, at every depth (nested layers are named per framework)."""
    if isinstance(config, dict):
        return {k: _strip(v) for k, v in config.items() if k not in ("name", "dtype", "build_config")}
    if isinstance(config, (list, tuple)):
        return [_strip(v) for v in config]
    return config


@pytest.mark.parametrize("name", list(CONFIG_LAYERS))
def test_configs_load_both_ways(keras, name):
    k_layer, l_layer = CONFIG_LAYERS[name](keras), CONFIG_LAYERS[name](lamina)
    k_layer(X)
    l_layer(X)
    k_config, l_config = k_layer.get_config(), l_layer.get_config()
    assert set(l_config) == set(k_config)
    from_keras = type(l_layer).from_config(k_config)
    assert _strip(from_keras.get_config()) == _strip(l_config)
    back = type(k_layer).from_config(l_config)
    assert _strip(back.get_config()) == _strip(k_config)
    clone = lamina.layers.deserialize(lamina.layers.serialize(l_layer))
    clone(X)
    clone.set_weights(l_layer.get_weights())
    _assert_close(clone(X), l_layer(X))


def test_layer_settings_read_through_to_the_cell():
    layer = L.GRU(4, dropout=0.25, reset_after=False)
    assert (layer.units, layer.dropout, layer.reset_after) == (4, 0.25, False)
    assert layer.cell.name == "gru_cell"


# ----- bad input ---------------------------------------------------------------------------------


def test_rnn_fed_a_2d_array_names_the_layer_and_shape():
    for layer in (L.LSTM(4, name="encoder"), L.GRU(3), L.SimpleRNN(2), L.RNN(L.LSTMCell(2))):
        with pytest.raises(ValueError, match=r"expects sequences of rank.*\(batch, timesteps, features\).*\(8, 5\)"):
            layer(np.zeros((8, 5), "float32"))
        assert not layer.built
    with pytest.raises(ValueError, match="Layer 'encoder' \\(LSTM\\)"):
        L.LSTM(4, name="encoder")(np.zeros((8, 5), "float32"))
    with pytest.raises(ValueError, match=r"rank 3.*\(2, 3, 4, 5\)"):
        L.LSTM(4)(np.zeros((2, 3, 4, 5), "float32"))


def test_wrappers_fed_a_2d_array():
    with pytest.raises(ValueError, match=r"Bidirectional.*\(batch, timesteps, features\).*\(8, 5\)"):
        L.Bidirectional(L.LSTM(2))(np.zeros((8, 5), "float32"))
    with pytest.raises(ValueError, match=r"TimeDistributed.*rank >= 3.*\(8, 5\)"):
        L.TimeDistributed(L.Dense(2))(np.zeros((8, 5), "float32"))


def test_symbolic_rank_error_before_building():
    with pytest.raises(ValueError, match="expects sequences of rank 3"):
        L.LSTM(4)(lamina.Input(shape=(5,)))


def test_bad_masks_and_states_are_refused():
    with pytest.raises(ValueError, match=r"`mask` must be shaped \(batch, timesteps\) = \(3, 6\).*\(3, 5\)"):
        L.LSTM(2)(X, mask=np.ones((3, 5), bool))
    with pytest.raises(ValueError, match="expects 2 initial state array"):
        L.LSTM(5)(X, initial_state=[H0])
    with pytest.raises(ValueError, match="needs a fixed batch size"):
        lamina.Sequential([lamina.Input(shape=(6, 4)), L.LSTM(2, stateful=True)])
    layer = L.LSTM(2, stateful=True)
    layer(X)
    with pytest.raises(ValueError, match="stateful with batch size 3, but received a batch of 2"):
        layer(X[:2])
    with pytest.raises(ValueError, match="0 timesteps"):
        L.GRU(2)(np.zeros((2, 0, 3), "float32"))


def test_bad_wrapper_arguments():
    with pytest.raises(ValueError, match="merge_mode"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="must differ in `go_backwards`"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2))
    with pytest.raises(ValueError, match="must agree on `return_sequences`"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="Layer instance"):
        L.TimeDistributed(lambda x: x)
    with pytest.raises(ValueError, match="state_size"):
        L.RNN(L.Dense(2))


def test_weight_paths_match_keras_weight_files(keras, tmp_path):
    """The named walk files recurrent weights where Keras's `.weights.h5` does (cell, cells, forward and
    backward layers, wrapped layer); carried states and seeds are not weights."""
    h5py = pytest.importorskip("h5py")
    from lamina.backend import tracking

    def build(m):
        inp = m.Input(shape=(5,), dtype="int32")
        seq, h, _ = m.layers.LSTM(3, return_sequences=True, return_state=True)(m.layers.Embedding(10, 4)(inp))
        b = m.layers.Bidirectional(m.layers.GRU(2))(seq)
        r = m.layers.RNN([m.layers.LSTMCell(2), m.layers.SimpleRNNCell(2)])(m.layers.TimeDistributed(
            m.layers.Dense(2))(seq))
        return m.Model(inp, [b, h, r])

    build(keras).save_weights(tmp_path / "k.weights.h5")
    with h5py.File(tmp_path / "k.weights.h5") as f:
        keras_paths = set()
        f.visit(lambda name: keras_paths.add(name) if isinstance(f[name], h5py.Dataset) else None)
    ours = tracking.variables_by_path(build(lamina), follow=lambda o: isinstance(o, L.Layer))
    assert set(ours) == keras_paths
