"""Explicit PRNG keys and the global seed stream.

Every random draw in lamina (initial weights, dropout masks, shuffling) takes a
`jax.random` key. Keys come from one of three places:

* an explicit integer `seed=` given to an initializer or layer: always the same key;
* inside a stateless call (`lamina.backend.variables.StatelessScope`): keys folded
  from the rng passed to `stateless_call`, so a compiled step is a pure function
  (a training step passes a `StepKey`, split only if some layer draws from it);
* otherwise the global stream, reset by `set_random_seed`.
"""

import random as _py_random

import numpy as np

_state = {"seed": None, "counter": 0}


def set_random_seed(seed):
    """Seed lamina's global key stream, Python's `random` and NumPy's global RNG.

    After `set_random_seed(s)` the same script builds the same initial weights
    and draws the same dropout masks and shuffles.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"set_random_seed: expected an int seed, got {seed!r}")
    seed = int(seed)
    _state["seed"] = seed
    _state["counter"] = 0
    _py_random.seed(seed)
    np.random.seed(seed % (2**32))


def global_seed():
    """The seed of the global stream (drawn from the OS on first use if never set)."""
    if _state["seed"] is None:
        _state["seed"] = int(np.random.SeedSequence().entropy % (2**31))
    return _state["seed"]


def make_key(seed):
    """A raw uint32 PRNG key for an integer seed, equal to `jax.random.PRNGKey(seed)`.

    Built with NumPy: creating it needs no XLA compilation (which costs
    ~0.1 s the first time in a process).
    """
    seed = int(seed)
    return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32)


def next_seed():
    """Advance the global stream and return a fresh 31-bit integer seed."""
    base = global_seed()
    _state["counter"] += 1
    return (base * 1_000_003 + _state["counter"] * 7919) % (2**31 - 1)


def draw_key(seed=None):
    """A key for one random draw.

    `seed` may be an int (deterministic), a key array (used as is), or None:
    then the key comes from the active stateless scope if there is one, else
    from the global stream.
    """
    import jax

    if seed is None:
        from lamina.backend.variables import current_scope

        scope = current_scope()
        if scope is not None and scope.rng is not None:
            return scope.next_key()
        with jax.ensure_compile_time_eval():
            return make_key(next_seed())
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        with jax.ensure_compile_time_eval():
            return make_key(seed)
    return seed


class SeedGenerator:
    """A named source of keys, like `keras.random.SeedGenerator`.

    With an int seed its draws are reproducible; inside a stateless scope the
    scope's key is folded in so compiled steps get fresh masks every step.
    """

    def __init__(self, seed=None):
        self.seed = seed
        self._count = 0

    def next(self):
        import jax

        from lamina.backend.variables import current_scope

        scope = current_scope()
        if scope is not None and scope.rng is not None:
            key = scope.next_key()
            if self.seed is not None:
                key = jax.random.fold_in(key, self.seed)
            return key
        self._count += 1
        if self.seed is None:
            return draw_key(None)
        with jax.ensure_compile_time_eval():
            return jax.random.fold_in(make_key(self.seed), self._count)


class StepKey:
    """A training step's key, split from the carried key only if a layer draws from it.

    `draw()` -> the key for this step's random layers (the first call splits);
    `carry()` -> the key to carry to the next step: the split's other half, or the
    key itself when nothing drew (a model without dropout or noise then pays no
    PRNG work per step).
    """

    def __init__(self, key):
        self.key = key
        self._split = None

    def draw(self):
        import jax

        if self._split is None:
            self._split = jax.random.split(self.key)
        return self._split[1]

    def carry(self):
        return self.key if self._split is None else self._split[0]
