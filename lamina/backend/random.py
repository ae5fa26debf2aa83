"""Seeds, PRNG keys and `SeedGenerator`, the state behind every random layer.

Every random draw in lamina takes a raw `jax.random` key (uint32[2]). Keys come from:

* an explicit integer seed: always the same key, Keras's `[seed, 0]` (so `seed=3` draws Keras's
  numbers, in initializers and in `lamina.random` alike);
* a `SeedGenerator`: its state is a non-trainable `Variable` [seed, counter]; each
  `next()` returns the state as the key and advances the counter. Layers that draw
  (Dropout, GaussianNoise, ...) own one, so their state is part of the model's
  `non_trainable_variables` and a compiled step stays a pure function of the state,
  exactly as in Keras 3 (the same seed gives Keras's own keys, hence its masks);
* lamina's global stream, reset by `set_random_seed` (unseeded initializers and
  generators draw their starting seed from it);
* for unseeded `lamina.random` draws, Keras's global `SeedGenerator` (`draw_seed(None)`), seeded
  from Python's `random` as Keras does, so `set_random_seed(s)` then `random.normal(...)` gives
  Keras's numbers. It cannot be used while JAX traces: its state would be baked into the program.
"""

import random as _py_random

import numpy as np

from lamina.backend import naming
from lamina.backend.variables import Variable

_state = {"seed": None, "counter": 0, "generator": None}


def set_random_seed(seed):
    """Seed lamina's global stream, Python's `random` and NumPy's global RNG.

    After `set_random_seed(s)` the same script builds the same initial weights
    and draws the same dropout masks and shuffles.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"set_random_seed: expected an int seed, got {seed!r}")
    seed = int(seed)
    _state["seed"] = seed
    _state["counter"] = 0
    _state["generator"] = None
    _py_random.seed(seed)
    np.random.seed(seed % (2**32))


def global_seed():
    """The seed of the global stream (drawn from the OS on first use if never set)."""
    if _state["seed"] is None:
        _state["seed"] = int(np.random.SeedSequence().entropy % (2**31))
    return _state["seed"]


def make_key(seed):
    """A raw uint32 PRNG key for an integer seed, equal to `jax.random.PRNGKey(seed)`.

    Built with NumPy: creating it needs no XLA compilation (which costs ~0.1 s the
    first time in a process).
    """
    seed = int(seed)
    return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32)


def keras_key(seed):
    """The key Keras uses for an integer seed: `[seed, 0]` as uint32 (built with NumPy, no compile)."""
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed: an integer seed must be in [0, 2**32), got {seed}.")
    return np.array([seed, 0], dtype=np.uint32)


def next_seed():
    """Advance the global stream and return a fresh 31-bit integer seed."""
    base = global_seed()
    _state["counter"] += 1
    return (base * 1_000_003 + _state["counter"] * 7919) % (2**31 - 1)


def draw_key(seed=None):
    """A key for one draw outside compiled code: `seed` is an int (fixed key), a `SeedGenerator`
    (its next key), a key array (used as is) or None (the global stream)."""
    if seed is None:
        return make_key(next_seed())
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return keras_key(seed)
    return seed


def _tracing():
    import jax
    import jax.numpy as jnp

    return isinstance(jnp.ones(()), jax.core.Tracer)


def global_generator():
    """Keras's global `SeedGenerator` for unseeded draws (made on first use, reset by `set_random_seed`)."""
    if _state.get("generator") is None:
        _state["generator"] = SeedGenerator(_py_random.randint(1, int(1e9)), name="global_seed_generator")
    return _state["generator"]


def draw_seed(seed, op="random"):
    """The key for one draw of a `lamina.random` op, with Keras's semantics: an int seed is fixed,
    a `SeedGenerator` advances, None uses the global generator (refused while tracing), a key array
    is used as is."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return keras_key(seed)
    if seed is None:
        if _tracing():
            raise ValueError(
                f"{op}: an unseeded random op cannot run inside a traced (jit/grad/vmap) function: its "
                "draws would be frozen into the program. Create a SeedGenerator once, keep it on your "
                "layer (self.seed_generator = keras.random.SeedGenerator(1337)) and pass "
                "seed=self.seed_generator.")
        return global_generator().next(ordered=False)
    if hasattr(seed, "shape") and hasattr(seed, "dtype"):
        return seed
    raise ValueError(f"{op}: `seed` must be an int, a SeedGenerator or None, got {seed!r} of type "
                     f"{type(seed).__name__}.")


class SeedGenerator:
    """A source of keys whose state is a variable, like `keras.random.SeedGenerator`.

    Args:
        seed: int; None draws one from lamina's global stream (reproducible after
            `set_random_seed`).
        name: default `seed_generator`, `seed_generator_1`, ...

    `next()` returns the state `[seed, counter]` as a raw key and advances the counter.
    Inside a `StatelessScope` the advance is recorded in the scope, so a compiled
    training step returns it with the non-trainable state.
    """

    def __init__(self, seed=None, name=None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"SeedGenerator: unrecognized arguments {sorted(kwargs)}.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"SeedGenerator: `seed` must be an int or None, got {seed!r}.")
        self.name = name or naming.auto_name("SeedGenerator")
        self._initial_seed = None if seed is None else int(seed)
        start = self._initial_seed if seed is not None else next_seed()
        self.state = Variable(np.array([start & 0xFFFFFFFF, 0], np.uint32), trainable=False,
                              name="seed_generator_state")

    @property
    def seed(self):
        """The seed given at construction (None if it was drawn)."""
        return self._initial_seed

    def next(self, ordered=True):
        """The next key (uint32[2]); the state's counter advances by one (with `ordered=False`, the
        state is scrambled as Keras's global generator does)."""
        import jax.numpy as jnp

        key = self.state.value
        if ordered:
            self.state.assign(key + jnp.asarray([0, 1], jnp.uint32))
        else:
            self.state.assign((key + jnp.uint32(1)) * jnp.uint32(5387) % jnp.uint32(933199))
        return key

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name} seed={self._initial_seed}>"
