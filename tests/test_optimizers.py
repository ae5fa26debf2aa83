"""lamina.optimizers against real Keras 3: same weights + same gradients -> same weights."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
import lamina.optimizers as lo
from lamina.backend.variables import Variable
from lamina.optimizers import schedules

SHAPES = [(3, 4), (4,)]


def _data(seed=0, steps=5):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(steps)]
    return init, grads


def _run_keras(keras, opt, init, grads):
    variables = [keras.Variable(w) for w in init]
    for g in grads:
        opt.apply_gradients(zip([jnp.asarray(x) for x in g], variables))
    return [np.asarray(v.value) for v in variables], opt


def _run_lamina(opt, init, grads):
    params = [jnp.asarray(w) for w in init]
    state = opt.init(params)
    step = jax.jit(opt.apply)
    for g in grads:
        params, state = step(g, state, params)
    return [np.asarray(p) for p in params], state


FTRL_REG = {
    "l1_regularization_strength": 0.01,
    "l2_regularization_strength": 0.02,
    "l2_shrinkage_regularization_strength": 0.01,
    "beta": 0.1,
}

CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "learning_rate": 0.01}),
    ("AdamW", {}),
    ("AdamW", {"weight_decay": 0.1, "amsgrad": True}),
    ("Nadam", {}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {}),
    ("Adagrad", {"initial_accumulator_value": 0.5, "learning_rate": 0.1}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {}),
    ("Lion", {}),
    ("Ftrl", {}),
    ("Ftrl", dict(FTRL_REG, learning_rate=0.1)),
    ("Adam", {"clipnorm": 1.0}),
    ("SGD", {"clipvalue": 0.3, "momentum": 0.5}),
    ("RMSprop", {"global_clipnorm": 1.0}),
    ("SGD", {"weight_decay": 0.1, "momentum": 0.9, "learning_rate": 0.1}),
    ("Adam", {"weight_decay": 0.05, "learning_rate": 0.1, "clipnorm": 0.5}),
    ("Nadam", {"weight_decay": 0.01, "global_clipnorm": 0.5}),
    ("Ftrl", {"weight_decay": 0.1, "clipvalue": 0.5}),
    ("Lion", {"weight_decay": 0.1, "learning_rate": 0.01}),
    ("Adam", {"loss_scale_factor": 8.0}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(k) or 'default'}" for n, k in CASES])
def test_update_matches_keras(keras, name, kwargs):
    init, grads = _data()
    expected, _ = _run_keras(keras, getattr(keras.optimizers, name)(**kwargs), init, grads)
    got, state = _run_lamina(getattr(lo, name)(**kwargs), init, grads)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    assert int(state["iterations"]) == len(grads)
    # The weights really moved (a test that cannot fail is a defect).
    assert max(np.max(np.abs(g - w)) for g, w in zip(got, init)) > 1e-4


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5),
        lambda m: m.PiecewiseConstantDecay([1, 3], [0.1, 0.05, 0.01]),
        lambda m: m.CosineDecay(0.0, decay_steps=3, warmup_target=0.1, warmup_steps=2),
    ],
    ids=["exponential", "piecewise", "cosine-warmup"],
)
def test_schedule_driven_updates_match_keras(keras, make):
    init, grads = _data(seed=1, steps=6)
    expected, kopt = _run_keras(
        keras, keras.optimizers.SGD(make(keras.optimizers.schedules), momentum=0.9, weight_decay=0.1), init, grads
    )
    opt = lo.SGD(make(schedules), momentum=0.9, weight_decay=0.1)
    got, state = _run_lamina(opt, init, grads)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    opt.state = state
    assert opt.iterations == 6
    np.testing.assert_allclose(float(opt.learning_rate), float(kopt.learning_rate), rtol=1e-6)


def _keras_mlp(keras, weights):
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)]
    )
    model.set_weights(weights)
    return model


def _lamina_loss_curve(opt, weights, x, y, epochs, batch_size):
    def loss_fn(params, xb, yb):
        k1, b1, k2, b2 = params
        h = jax.nn.relu(xb @ k1 + b1)
        return jnp.mean(jnp.square(h @ k2 + b2 - yb))

    @jax.jit
    def step(params, state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        params, state = opt.apply(grads, state, params)
        return params, state, loss

    params = [jnp.asarray(w) for w in weights]
    state = opt.init(params)
    curve = []
    for _ in range(epochs):
        losses = []
        for i in range(0, len(x), batch_size):
            params, state, loss = step(params, state, x[i : i + batch_size], y[i : i + batch_size])
            losses.append(float(loss))
        curve.append(np.mean(losses))
    return np.array(curve)


LOSS_CURVE_CASES = [
    ("SGD", {"learning_rate": 0.05}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Nadam", {"learning_rate": 0.01}),
]


@pytest.mark.parametrize(
    "name,kwargs", LOSS_CURVE_CASES, ids=[f"{n}-{'-'.join(k)}" for n, k in LOSS_CURVE_CASES]
)
def test_loss_curve_matches_keras_fit(keras, name, kwargs):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    weights = [
        rng.normal(size=(5, 8)).astype("float32") * 0.5,
        np.zeros(8, "float32") + 0.1,
        rng.normal(size=(8, 2)).astype("float32") * 0.5,
        np.zeros(2, "float32"),
    ]
    model = _keras_mlp(keras, weights)
    model.compile(optimizer=getattr(keras.optimizers, name)(**kwargs), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)
    expected = np.array(history.history["loss"])
    got = _lamina_loss_curve(getattr(lo, name)(**kwargs), weights, x, y, epochs=4, batch_size=8)
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert expected[-1] < expected[0]


def test_learning_rate_change_needs_no_recompile():
    opt = lo.SGD(learning_rate=0.1)
    params = [jnp.ones((2, 2)), jnp.ones(2)]
    grads = [jnp.ones((2, 2)), jnp.ones(2)]
    opt.build(params)

    @jax.jit
    def step(opt_state, grads, params):
        return opt.apply(grads, opt_state, params)

    new_params, opt.state = step(opt.state, grads, params)
    np.testing.assert_allclose(np.asarray(new_params[0]), 0.9, rtol=1e-6)
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == pytest.approx(0.5)
    new_params, opt.state = step(opt.state, grads, params)
    np.testing.assert_allclose(np.asarray(new_params[0]), 0.5, rtol=1e-6)
    opt.learning_rate.assign(0.25)  # Keras Variable-style
    new_params, opt.state = step(opt.state, grads, params)
    np.testing.assert_allclose(np.asarray(new_params[1]), 0.75, rtol=1e-6)
    assert step._cache_size() == 1
    assert opt.iterations == 3


def test_learning_rate_set_before_build_is_used_by_init():
    opt = lo.Adam()
    assert float(opt.learning_rate) == pytest.approx(0.001)
    opt.learning_rate = 0.02
    state = opt.init([jnp.zeros(3)])
    assert float(state["learning_rate"]) == pytest.approx(0.02)
    assert opt.get_config()["learning_rate"] == pytest.approx(0.02)


def test_schedule_learning_rate_is_not_settable_and_follows_iterations():
    sched = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = lo.SGD(learning_rate=sched)
    assert float(opt.learning_rate) == pytest.approx(0.1)
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.01
    var = Variable(np.ones(2, "float32"))
    for _ in range(2):
        opt.apply_gradients([(jnp.ones(2), var)])
    assert opt.iterations == 2
    assert float(opt.learning_rate) == pytest.approx(0.025)
    # Updates used lr 0.1 then 0.05.
    np.testing.assert_allclose(var.numpy(), 1 - 0.1 - 0.05, rtol=1e-6)
    with pytest.raises(TypeError, match="after the optimizer is built"):
        opt.learning_rate = schedules.ExponentialDecay(0.2, 1, 0.5)


def test_apply_gradients_matches_keras_with_none_gradient_and_constraint(keras):
    init, grads = _data(seed=2, steps=3)
    kvars = [keras.Variable(w) for w in init]
    kopt = keras.optimizers.Adam(learning_rate=0.1)
    lvars = [Variable(w, name=f"w{i}") for i, w in enumerate(init)]
    lopt = lo.Adam(learning_rate=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, g in enumerate(grads):
            gs = [jnp.asarray(x) for x in g]
            if i == 1:
                gs[1] = None
            kopt.apply_gradients(zip(gs, kvars))
            out = lopt.apply_gradients(zip(gs, lvars))
    assert out == 3 and lopt.iterations == 3
    for k, v in zip(kvars, lvars):
        np.testing.assert_allclose(v.numpy(), np.asarray(k.value), rtol=1e-5, atol=1e-6)
    for k, w in zip(kopt.variables, lopt.get_weights()):
        np.testing.assert_allclose(w, np.asarray(k.value), rtol=1e-5, atol=1e-6)

    constrained = Variable(np.full(2, 5.0, "float32"), constraint=lambda w: jnp.clip(w, -1.0, 1.0))
    opt = lo.SGD(0.1)
    opt.apply_gradients([(jnp.ones(2), constrained)])
    np.testing.assert_allclose(constrained.numpy(), [1.0, 1.0])
    with pytest.raises(ValueError, match="unknown variable"):
        opt.apply_gradients([(jnp.ones(2), Variable(np.zeros(2, "float32")))])
    with pytest.raises(TypeError, match="Variable"):
        lo.SGD().apply_gradients([(jnp.ones(2), jnp.zeros(2))])


def test_keras_stateful_apply_form_updates_variables():
    var = Variable(np.ones(3, "float32"))
    opt = lo.SGD(learning_rate=0.5)
    opt.apply([jnp.ones(3)], [var])
    np.testing.assert_allclose(var.numpy(), 0.5)
    opt.apply([jnp.ones(3)])
    np.testing.assert_allclose(var.numpy(), 0.0)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("Adam", {"amsgrad": True}),
        ("Nadam", {}),
        ("RMSprop", {"momentum": 0.5, "centered": True}),
        ("SGD", {"momentum": 0.9}),
        ("Ftrl", {}),
        ("SGD", {"learning_rate": "schedule"}),
    ],
)
def test_get_weights_in_keras_variable_order(keras, name, kwargs):
    init, grads = _data(seed=4, steps=2)
    kkw, lkw = dict(kwargs), dict(kwargs)
    if kwargs.get("learning_rate") == "schedule":
        kkw["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)
        lkw["learning_rate"] = schedules.ExponentialDecay(0.1, 2, 0.5)
    _, kopt = _run_keras(keras, getattr(keras.optimizers, name)(**kkw), init, grads)
    opt = getattr(lo, name)(**lkw)
    opt.build([jnp.asarray(w) for w in init])
    opt.state = _run_lamina(opt, init, grads)[1]
    expected = [np.asarray(v.value) for v in kopt.variables]
    got = opt.get_weights()
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert e.shape == g.shape and e.dtype == g.dtype
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    # Round trip through set_weights / save_own_variables.
    store = {}
    opt.save_own_variables(store)
    fresh = getattr(lo, name)(**lkw)
    fresh.build([jnp.asarray(w) for w in init])
    fresh.load_own_variables(store)
    assert fresh.iterations == 2
    for a, b in zip(fresh.get_weights(), got):
        np.testing.assert_array_equal(a, b)


def test_load_own_variables_mismatch_warns_and_keeps_state():
    opt = lo.Adam()
    opt.build([jnp.zeros(2)])
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        opt.load_own_variables({"0": np.zeros((), "int32")})
    with pytest.raises(ValueError, match="expected 4 weights"):
        opt.set_weights([np.zeros(())])
    with pytest.raises(ValueError, match="not built"):
        lo.Adam().set_weights([])


def test_weight_decay_exclusion_matches_keras(keras):
    init, grads = _data(seed=5, steps=3)
    kvars = [keras.Variable(init[0], name="kernel"), keras.Variable(init[1], name="bias")]
    kopt = keras.optimizers.AdamW(learning_rate=0.1, weight_decay=0.2)
    kopt.exclude_from_weight_decay(var_names=["bias"])
    lvars = [Variable(init[0], name="kernel"), Variable(init[1], name="bias")]
    lopt = lo.AdamW(learning_rate=0.1, weight_decay=0.2)
    lopt.exclude_from_weight_decay(var_names=["bias"])
    for g in grads:
        gs = [jnp.asarray(x) for x in g]
        kopt.apply_gradients(zip(gs, kvars))
        lopt.apply_gradients(zip(gs, lvars))
    for k, v in zip(kvars, lvars):
        np.testing.assert_allclose(v.numpy(), np.asarray(k.value), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        lopt.exclude_from_weight_decay(var_names=["kernel"])
    bare = lo.AdamW()
    bare.exclude_from_weight_decay(var_names=["bias"])
    with pytest.raises(ValueError, match="Variables"):
        bare.build([jnp.zeros(2)])


def test_params_may_be_any_pytree():
    opt = lo.Adam(learning_rate=0.1)
    params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.zeros(2)}}
    state = opt.init(params)
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    new, state = jax.jit(opt.apply)(grads, state, params)
    assert jax.tree_util.tree_structure(new) == jax.tree_util.tree_structure(params)
    # First Adam step moves each weight by lr * g/(|g| + eps) ~= lr.
    np.testing.assert_allclose(np.asarray(new["dense"]["bias"]), -0.1, rtol=1e-5)
    assert int(state["iterations"]) == 1 and state["learning_rate"].dtype == jnp.float32


def test_iterations_before_build_and_after_engine_writeback():
    opt = lo.RMSprop()
    assert opt.iterations == 0 and not opt.built
    opt.build([jnp.zeros(3)])
    assert opt.built and opt.iterations == 0
    _, opt.state = opt.apply([jnp.ones(3)], opt.state, [jnp.zeros(3)])
    assert opt.iterations == 1 and int(opt.iterations.numpy()) == 1


def test_get_resolves_names_dicts_and_instances(keras):
    assert isinstance(lo.get("adam"), lo.Adam)
    assert isinstance(lo.get("Adam"), lo.Adam)
    assert isinstance(lo.get("RMSprop"), lo.RMSprop)
    assert isinstance(lo.get("sgd"), lo.SGD)
    assert isinstance(lo.get("adamw"), lo.AdamW)
    inst = lo.Nadam()
    assert lo.get(inst) is inst
    assert lo.get(None) is None
    with pytest.raises(ValueError, match="Did you mean 'rmsprop'"):
        lo.get("rmsprp")
    with pytest.raises(ValueError, match="Could not interpret"):
        lo.get(3)
    # A config written by real Keras.
    kconf = keras.optimizers.serialize(keras.optimizers.Adam(learning_rate=0.02, beta_1=0.8, clipnorm=1.0))
    opt = lo.get(kconf)
    assert isinstance(opt, lo.Adam) and opt.beta_1 == 0.8 and opt.clipnorm == 1.0
    assert float(opt.learning_rate) == pytest.approx(0.02)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("Adam", {"learning_rate": 0.02, "amsgrad": True}),
        ("SGD", {"momentum": 0.9, "nesterov": True}),
        ("RMSprop", {"centered": True}),
        ("Ftrl", {"l1_regularization_strength": 0.1}),
        ("Lion", {}),
        ("AdamW", {"weight_decay": 0.01}),
        ("Adagrad", {}),
        ("Adadelta", {}),
        ("Adamax", {}),
        ("Nadam", {}),
    ],
)
def test_config_matches_keras_and_round_trips(keras, name, kwargs):
    kconf = getattr(keras.optimizers, name)(name="opt", **kwargs).get_config()
    opt = getattr(lo, name)(name="opt", **kwargs)
    conf = opt.get_config()
    assert conf.keys() == kconf.keys()
    for key, value in kconf.items():
        if isinstance(value, float):
            assert conf[key] == pytest.approx(value)
        else:
            assert conf[key] == value, key
    again = lo.deserialize(lo.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == conf
    assert lo.serialize(opt)["module"] == "keras.optimizers"


def test_schedule_config_round_trips_through_keras_format(keras):
    sched = keras.optimizers.schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5)
    kconf = keras.optimizers.serialize(keras.optimizers.SGD(learning_rate=sched))
    opt = lo.deserialize(kconf)
    assert isinstance(opt._learning_rate, schedules.CosineDecay)
    assert opt._learning_rate.get_config() == sched.get_config()
    conf = lo.serialize(opt)
    assert conf["config"]["learning_rate"] == kconf["config"]["learning_rate"]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="only one of"):
        lo.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="not recognized"):
        lo.Adam(betaa=0.3)
    with pytest.raises(ValueError, match="ema_momentum"):
        lo.Adam(use_ema=True, ema_momentum=-0.1)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        lo.SGD(gradient_accumulation_steps=4)
    with pytest.raises(ValueError, match="weight_decay"):
        lo.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="momentum"):
        lo.SGD(momentum=2.0)
    with pytest.raises(ValueError, match="beta_1"):
        lo.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="learning_rate_power"):
        lo.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="clipnorm"):
        lo.SGD(clipnorm=-1.0)
    with pytest.raises(TypeError, match="learning_rate"):
        lo.SGD(learning_rate="fast")
    with pytest.raises(TypeError, match="zero-argument"):
        lo.SGD(learning_rate=lambda: 0.1)
    with pytest.warns(UserWarning, match="legacy"):
        opt = lo.Adam(lr=0.05)
    assert float(opt.learning_rate) == pytest.approx(0.05)
    with pytest.warns(UserWarning, match="decay"):
        lo.SGD(decay=1e-6)


def test_callable_of_step_is_a_schedule():
    opt = lo.SGD(learning_rate=lambda step: 0.1 / (1.0 + step))
    var = Variable(np.zeros(1, "float32"))
    for _ in range(2):
        opt.apply_gradients([(jnp.ones(1), var)])
    np.testing.assert_allclose(var.numpy(), [-(0.1 + 0.05)], rtol=1e-6)
    assert float(opt.learning_rate) == pytest.approx(0.1 / 3)


def test_default_names_are_unique_snake_case():
    a, b = lo.Adam(), lo.Adam()
    assert a.name.startswith("adam") and a.name != b.name
    assert lo.RMSprop(name="mine").name == "mine"


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion",
                                  "RMSprop"])
def test_a_first_fit_builds_the_slots_with_numpy_and_compiles_no_init_program(name):
    kwargs = {"Adagrad": {"initial_accumulator_value": 0.3}, "SGD": {"momentum": 0.9},
              "RMSprop": {"centered": True, "momentum": 0.5}}.get(name, {})
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    model.compile(optimizer=getattr(keras.optimizers, name)(**kwargs), loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert not any("optimizer-init" in str(key) for key in model._engine.programs)
    reference = getattr(keras.optimizers, name)(**kwargs)
    fresh = jax.jit(lambda params: reference.init(params)["slots"])([v.value for v in model.trainable_variables])
    initial = jax.tree_util.tree_leaves(fresh)
    assert initial and len(initial) == len(jax.tree_util.tree_leaves(model.optimizer._slot_template))
    for got, want in zip(jax.tree_util.tree_leaves(model.optimizer._slot_template), initial):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_slots_the_numpy_evaluator_cannot_build_come_from_a_program(monkeypatch):
    from lamina.backend import numpy_eval

    def refuse(fn, *args):
        raise numpy_eval.Unsupported("test")

    monkeypatch.setattr(numpy_eval, "evaluate", refuse)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert any("optimizer-init" in str(key) for key in model._engine.programs)
    assert len(model.optimizer.variables) == 2 + 2 * 2
