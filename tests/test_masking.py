"""Masks flow between layers the Keras way: `Embedding(mask_zero=True)` and `Masking` make them,
recurrent layers, losses and metrics use them, in Sequential, functional and subclassed models and
inside the compiled `fit` / `evaluate` / `predict`; a padded sequence gives the unpadded answer."""

import warnings

import jax
import numpy as np
import pytest

import lamina
from lamina import layers as L

RNG = np.random.default_rng(0)
T, V = 7, 12


def padded_ids(n, rng=RNG, pre=False):
    """Integer sequences 1..V-1 of random lengths, zero-padded after (or before) to T steps."""
    ids = rng.integers(1, V, size=(n, T)).astype("int32")
    for i, length in enumerate(rng.integers(2, T + 1, size=n)):
        if pre:
            ids[i, :T - length] = 0
        else:
            ids[i, length:] = 0
    return ids


IDS = padded_ids(40)


def tagger(module, rnn="LSTM"):
    """Embedding(mask_zero) -> RNN(return_sequences) -> Dense softmax: one class per step."""
    inp = module.Input(shape=(T,), dtype="int32")
    h = module.layers.Embedding(V, 5, mask_zero=True)(inp)
    h = getattr(module.layers, rnn)(6, return_sequences=True)(h)
    out = module.layers.Dense(3, activation="softmax")(h)
    model = module.Model(inp, out)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=module.optimizers.SGD(0.1),
                  metrics=["accuracy"])
    return model


def classifier(module, rnn="GRU"):
    model = module.Sequential([module.Input(shape=(T,), dtype="int32"), module.layers.Embedding(V, 4, mask_zero=True),
                               getattr(module.layers, rnn)(5), module.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def test_sequence_losses_and_metrics_skip_masked_steps_like_keras(keras):
    """The mask on y_pred ([batch, steps]) leaves padded steps out of the loss and the accuracy, in
    evaluate and in fit (weights after two epochs equal Keras's), with a ragged last batch."""
    y = RNG.integers(0, 3, size=(len(IDS), T)).astype("int32")
    k_model, l_model = tagger(keras), tagger(lamina)
    l_model.set_weights(k_model.get_weights())
    k_eval = k_model.evaluate(IDS, y, batch_size=16, verbose=0)
    l_eval = l_model.evaluate(IDS, y, batch_size=16, verbose=0)
    np.testing.assert_allclose(l_eval, k_eval, rtol=1e-5, atol=1e-6)
    probs = k_model.predict(IDS, verbose=0)
    ce = -np.log(np.take_along_axis(probs, y[..., None], -1)[..., 0])
    real = IDS != 0
    unmasked_loss = ce.mean()
    assert abs(l_eval[0] - unmasked_loss) > 1e-5  # the mask changes the answer
    np.testing.assert_allclose(l_eval[1], ((probs.argmax(-1) == y) & real).sum() / real.sum(), rtol=1e-5)
    k_model.fit(IDS, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    l_model.fit(IDS, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(l_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_per_sample_weights_combine_with_the_sequence_mask(keras):
    """Per-sample weights [batch] apply to every step of a sequence output whose mask leaves padding
    out: a batch's loss = sum(ce * w * mask) / sum(mask); `metrics` count the real steps, `weighted_metrics`
    weigh them, with a padded last batch (40 rows in batches of 16).
    (Keras 3 raises here: it multiplies the [batch] weights by the [batch, steps] mask.)"""
    y = RNG.integers(0, 3, size=(len(IDS), T)).astype("int32")
    weights = RNG.uniform(0.5, 2.0, size=len(IDS)).astype("float32")
    model = tagger(lamina, "GRU")
    with pytest.raises(ValueError, match="Incompatible shapes"):
        tagger(keras, "GRU").evaluate(IDS, y, sample_weight=weights, batch_size=40, verbose=0)
    probs = model.predict(IDS, verbose=0)
    ce = -np.log(np.take_along_axis(probs, y[..., None], -1)[..., 0])
    real, w = (IDS != 0).astype("float32"), weights[:, None]
    hits = (probs.argmax(-1) == y).astype("float32")
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    logs = model.evaluate(IDS, y, sample_weight=weights, batch_size=16, verbose=0, return_dict=True)
    batches = [slice(i, i + 16) for i in range(0, len(IDS), 16)]  # the loss is averaged over batches by size
    per_batch = [(ce * w * real)[b].sum() / real[b].sum() * len(IDS[b]) for b in batches]
    np.testing.assert_allclose(logs["loss"], sum(per_batch) / len(IDS), rtol=1e-5)
    np.testing.assert_allclose(logs["accuracy"], (hits * real).sum() / real.sum(), rtol=1e-5)
    np.testing.assert_allclose(logs["weighted_accuracy"], (hits * w * real).sum() / (w * real).sum(), rtol=1e-5)


@pytest.mark.parametrize("rnn", ["LSTM", "GRU"])
def test_sequential_predict_and_fit_match_keras(keras, rnn):
    y = (IDS[:, 0] > 5).astype("float32")
    k_model, l_model = classifier(keras, rnn), classifier(lamina, rnn)
    l_model.set_weights(k_model.get_weights())
    np.testing.assert_allclose(l_model.predict(IDS, verbose=0), k_model.predict(IDS, verbose=0), atol=1e-5)
    k_model.fit(IDS, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    l_model.fit(IDS, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(l_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_padded_sequences_give_the_unpadded_answer():
    """Each padded row (padding after or before) gives what its unpadded sequence alone gives, in a
    Sequential (Embedding mask) and a functional model (Masking, Bidirectional, Dense in between)."""
    rng = np.random.default_rng(1)
    real_rows = [rng.integers(1, V, size=n).astype("int32") for n in (2, 5, 5)]
    post = np.zeros((6, T), "int32")
    for i, row in enumerate(real_rows):
        post[i, :len(row)] = row
        post[3 + i, T - len(row):] = row  # the same sequences padded before
    seq = lamina.Sequential([lamina.Input(shape=(T,), dtype="int32"), L.Embedding(V, 4, mask_zero=True),
                             L.LSTM(5, return_sequences=True), L.GRU(3), L.Dense(2)])
    inp = lamina.Input(shape=(None, 3))
    h = L.Bidirectional(L.LSTM(4, return_sequences=True))(L.Masking(0.0)(inp))
    func = lamina.Model(inp, L.Bidirectional(L.SimpleRNN(3), merge_mode="sum")(L.Dense(4)(h)))
    table = RNG.normal(size=(V, 3)).astype("float32")
    table[0] = 0.0
    padded_seq, padded_func = seq.predict(post, verbose=0), func.predict(table[post], verbose=0)
    for i in range(6):
        real = real_rows[i % 3][None]
        np.testing.assert_allclose(padded_seq[i], seq(real)[0], atol=1e-5)
        np.testing.assert_allclose(padded_func[i], func(table[real])[0], atol=1e-5)


def test_masks_are_attached_to_symbolic_tensors_and_passed_on():
    inp = lamina.Input(shape=(T,), dtype="int32")
    emb = L.Embedding(V, 4, mask_zero=True)(inp)
    assert inp._keras_mask is None and emb._keras_mask.shape == (None, T) and emb._keras_mask.dtype == "bool"
    dense = L.Dropout(0.1)(L.Dense(3)(emb))  # both support masking: the mask passes
    assert dense._keras_mask.shape == (None, T)
    seq, h, c = L.LSTM(2, return_sequences=True, return_state=True)(dense)
    assert seq._keras_mask.shape == (None, T) and h._keras_mask is None and c._keras_mask is None
    assert L.LSTM(2)(dense)._keras_mask is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        flat = L.Flatten()(emb)
    assert flat._keras_mask is None
    assert any("does not support masking" in str(w.message) for w in caught)


def test_functional_model_takes_and_nests_masks(keras):
    """A functional model called with `mask=`; a masked model nested in another passes its output
    mask on; Keras gives the same numbers."""
    def build(m):
        inner_in = m.Input(shape=(T, 3))
        inner = m.Model(inner_in, m.layers.GRU(4, return_sequences=True)(inner_in))
        outer_in = m.Input(shape=(T, 3))
        out = m.layers.LSTM(2)(inner(m.layers.Masking(0.0)(outer_in)))
        return inner, m.Model(outer_in, out)

    x = RNG.normal(size=(4, T, 3)).astype("float32")
    x[0, 5:] = 0.0
    x[2, :3] = 0.0
    (k_inner, k_outer), (l_inner, l_outer) = build(keras), build(lamina)
    l_outer.set_weights(k_outer.get_weights())
    np.testing.assert_allclose(l_outer(x), k_outer(x), atol=1e-5)
    mask = np.abs(x).sum(-1) > 0
    np.testing.assert_allclose(l_inner(x, mask=mask), k_inner(x, mask=mask), atol=1e-5)
    assert not np.allclose(l_inner(x, mask=mask), l_inner(x), atol=1e-3)


def test_subclassed_model_passes_masks_explicitly():
    class Tagger(lamina.Model):
        def __init__(self):
            super().__init__()
            self.embed = L.Embedding(V, 4, mask_zero=True)
            self.rnn = L.GRU(3)
            self.out = L.Dense(1)

        def call(self, ids):
            return self.out(self.rnn(self.embed(ids), mask=self.embed.compute_mask(ids)))

    model = Tagger()
    model(IDS[:2])
    functional = lamina.Sequential([lamina.Input(shape=(T,), dtype="int32"), L.Embedding(V, 4, mask_zero=True),
                                    L.GRU(3), L.Dense(1)])
    functional.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(IDS, verbose=0), functional.predict(IDS, verbose=0), atol=1e-5)


def test_lstm_learns_a_generated_sequence_task_with_fit():
    """Padded sequences of random lengths; label: does token 1 occur? An LSTM gets it right."""
    rng = np.random.default_rng(3)
    ids = padded_ids(1200, rng)
    hits = rng.random(len(ids)) < 0.5
    for i in np.flatnonzero(hits):
        row = np.flatnonzero(ids[i])
        ids[i, rng.choice(row)] = 1
    ids[~hits] = np.where(ids[~hits] == 1, 2, ids[~hits])
    y = (ids == 1).any(axis=1).astype("float32")
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(T,), dtype="int32"), L.Embedding(V, 8, mask_zero=True),
                               L.LSTM(16), L.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=lamina.optimizers.Adam(0.01), metrics=["accuracy"])
    history = model.fit(ids[:1000], y[:1000], batch_size=32, epochs=12, verbose=0, validation_data=(ids[1000:],
                                                                                                    y[1000:]))
    assert history.history["val_accuracy"][-1] > 0.95, history.history["val_accuracy"]


def test_stateful_rnn_carries_states_through_predict_and_fit():
    """Compiled predict/fit carry a stateful layer's states from batch to batch and call to call (Keras
    3 on JAX drops them); reset_states starts over."""
    model = lamina.Sequential([lamina.Input(batch_shape=(2, 3, 4)), L.LSTM(5, stateful=True), L.Dense(1)])
    x = RNG.normal(size=(2, 6, 4)).astype("float32")
    first, second = x[:, :3], x[:, 3:]
    a = model.predict(first, verbose=0)
    b = model.predict(second, verbose=0)
    model.layers[0].reset_states()
    np.testing.assert_allclose(model.predict(first, verbose=0), a, atol=1e-6)
    whole = lamina.Sequential([lamina.Input(shape=(6, 4)), L.LSTM(5), L.Dense(1)])
    whole.set_weights(model.get_weights())
    np.testing.assert_allclose(b, whole.predict(x, verbose=0), atol=1e-5)
    model.layers[0].reset_states()
    model.compile(loss="mse", optimizer="sgd")
    model.fit(np.concatenate([first, second]), np.zeros((4, 1)), batch_size=2, shuffle=False, epochs=1, verbose=0)
    assert np.abs(np.asarray(model.layers[0].states[0].value)).sum() > 0


def test_global_average_pooling_1d_consumes_the_mask():
    if not hasattr(L, "GlobalAveragePooling1D"):
        pytest.skip("GlobalAveragePooling1D comes with the pooling layers (another branch)")
    ids = padded_ids(5, np.random.default_rng(2))
    model = lamina.Sequential([lamina.Input(shape=(T,), dtype="int32"), L.Embedding(V, 4, mask_zero=True),
                               L.GlobalAveragePooling1D()])
    table = model.layers[0].get_weights()[0]
    out = model.predict(ids, verbose=0)
    for i, row in enumerate(ids):
        np.testing.assert_allclose(out[i], table[row[row != 0]].mean(0), atol=1e-6)


def test_mask_reaches_a_layer_taking_mask_and_leaves_others_unchanged():
    seen = {}

    class Probe(L.Layer):
        def call(self, inputs, mask=None):
            seen["mask"] = mask
            return inputs

    model = lamina.Sequential([lamina.Input(shape=(T,), dtype="int32"), L.Embedding(V, 2, mask_zero=True), Probe()])
    model(IDS[:3])
    np.testing.assert_array_equal(np.asarray(seen["mask"]), IDS[:3] != 0)
    plain = lamina.Sequential([lamina.Input(shape=(T,), dtype="int32"), L.Embedding(V, 2), Probe()])
    plain(IDS[:3])
    assert seen["mask"] is None
    bn_input = RNG.normal(size=(4, 3)).astype("float32")
    bn = L.BatchNormalization()
    out = bn(bn_input, training=True, mask=np.array([1, 1, 0, 0], bool))
    kept = bn_input[:2]
    np.testing.assert_allclose(out[:2], (kept - kept.mean(0)) / np.sqrt(kept.var(0) + 1e-3), atol=1e-4)
    assert jax.tree_util.tree_leaves(out)


@pytest.mark.parametrize("merge", ["Concatenate", "Add", "Maximum", "Minimum", "Average"])
def test_merge_layers_combine_masks_like_keras(keras, merge):
    """Two masked sequences merged, then an LSTM: Keras's mask rules (OR for elementwise merges,
    concatenated masks for Concatenate; masked entries left out of Maximum / Minimum)."""
    def build(m):
        a, b = m.Input(shape=(T, 3)), m.Input(shape=(T, 3))
        merged = getattr(m.layers, merge)()([m.layers.Masking(0.0)(a), m.layers.Masking(0.0)(b)])
        return m.Model([a, b], m.layers.LSTM(4, return_sequences=True)(merged))

    xa, xb = RNG.normal(size=(2, 4, T, 3)).astype("float32")
    xa[0, 5:], xb[0, 4:], xa[1, :2], xb[2, 3] = 0.0, 0.0, 0.0, 0.0
    k_model, l_model = build(keras), build(lamina)
    l_model.set_weights(k_model.get_weights())
    np.testing.assert_allclose(l_model([xa, xb]), k_model([xa, xb]), atol=1e-5)


def test_lambda_mask_argument(keras):
    """Lambda drops the mask unless given `mask` (a value or a function of inputs and mask), as in Keras."""
    def build(m, mask):
        inp = m.Input(shape=(T,), dtype="int32")
        h = m.layers.Lambda(lambda x: x * 2.0, mask=mask)(m.layers.Embedding(V, 3, mask_zero=True)(inp))
        return m.Model(inp, m.layers.GRU(2)(h))

    keep = lambda inputs, mask: mask  # noqa: E731
    for mask in (None, keep):
        k_model, l_model = build(keras, mask), build(lamina, mask)
        l_model.set_weights(k_model.get_weights())
        np.testing.assert_allclose(l_model(IDS[:5]), k_model(IDS[:5]), atol=1e-5)
    assert L.Lambda(lambda x: x, mask=keep).get_config()["mask"]["class_name"] == "__lambda__"
