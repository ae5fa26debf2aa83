"""Weight initializers with Keras 3 names, defaults, configs and string aliases.

An initializer is called as `init(shape, dtype=None)` and returns a concrete
`jax.Array` of that shape (dtype None means floatx()). Random initializers take
`seed`:

* an int: every call returns the same values (as in Keras 3);
* None: each call draws a fresh key from lamina's global stream (reproducible
  after `lamina.backend.set_random_seed`; never from a stateless scope, so
  weights built while a model is traced are concrete). Keras 3 instead fixes
  a random seed when an unseeded initializer is created, so one unseeded
  instance used for two weights repeats its values there; here it does not;
* a `SeedGenerator` (lamina.backend.random): each call takes its next key.

Unseeded values are drawn on the host by NumPy's generator, seeded from
lamina's global stream: building a model compiles nothing. Seeded values (an
int or a `SeedGenerator`) are drawn with `jax.random` from Keras's keys, by one
compiled sampler per distribution and power-of-two size bucket (then cut to
the shape), not one compilation per weight shape. Either way the values follow
Keras's distributions; constant initializers build their arrays with NumPy.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import config as _config
from lamina.backend import random as _random
from lamina.backend import registry as _ser

_TRUNCATED_NORMAL_STDDEV_FACTOR = 0.87962566103423978  # stddev of N(0, 1) truncated to [-2, 2]


def _standardize_shape(shape, owner):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{owner}: `shape` must be a tuple of ints, got {shape!r}.") from None
    for dim in shape:
        if dim is None:
            raise ValueError(
                f"{owner}: `shape` must be fully defined to create a weight, got {shape} "
                "(None dimensions are only allowed for inputs)."
            )
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 0:
            raise ValueError(f"{owner}: `shape` entries must be non-negative ints, got {shape}.")
    return tuple(int(d) for d in shape)


_MIN_BUCKET = 256
_MAX_BUCKET = 2**22


def _sample(kind, key, shape, dtype, a, b):
    """`kind` in ("uniform": on [a, b)), ("normal": mean a, stddev b),
    ("truncated_normal": mean a, stddev b of the untruncated normal, cut at 2 stddevs)."""
    if kind == "uniform":
        return jax.random.uniform(key, shape, dtype=dtype, minval=a, maxval=b)
    if kind == "normal":
        unit = jax.random.normal(key, shape, dtype=dtype)
    else:
        unit = jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype=dtype)
    return unit * jnp.asarray(b, dtype) + jnp.asarray(a, dtype)


_samplers = {}


def _sampler(kind, shape, dtype):
    """program(key, a, b) -> values of `shape`; kept on disk across runs (see `backend.programs`)."""
    name = (kind, shape, jnp.dtype(dtype).name)
    if name not in _samplers:
        from lamina.backend import programs

        _samplers[name] = programs.CachedProgram(
            lambda key, a, b: _sample(kind, key, shape, dtype, a, b),
            lambda signature: programs.key_for("initializer sample", name, signature))
    return _samplers[name]


def _host_sample(kind, rng, shape, dtype, a, b):
    """`_sample`'s distributions drawn by NumPy's generator `rng` (float32, cast to `dtype`)."""
    size = math.prod(shape)
    if kind == "uniform":
        values = rng.random(size, dtype=np.float32) * np.float32(b - a) + np.float32(a)
    else:
        values = rng.standard_normal(size, dtype=np.float32)
        if kind == "truncated_normal":  # redraw outside [-2, 2]: the normal conditioned on the interval
            outside = np.abs(values) > 2.0
            while outside.any():
                values[outside] = rng.standard_normal(int(outside.sum()), dtype=np.float32)
                outside = np.abs(values) > 2.0
        values = values * np.float32(b) + np.float32(a)
    return values.reshape(shape).astype(jnp.dtype(dtype))


def _draw(kind, key, shape, dtype, a, b):
    """Random values of `shape`: from NumPy when `key` is a `np.random.Generator`, else from a sampler
    compiled once per (kind, size bucket, dtype).

    With a traced key (a stateless scope's key during a trace) the draw is
    traced too; otherwise the result is a concrete array.
    """
    if isinstance(key, np.random.Generator):
        return _to_device(_host_sample(kind, key, shape, dtype, a, b))
    if isinstance(key, jax.core.Tracer):
        return _sample(kind, key, shape, dtype, a, b)
    size = math.prod(shape)
    if size > _MAX_BUCKET:  # big weights: compiling for the exact shape costs little in comparison
        return _sampler(kind, tuple(shape), dtype)(key, float(a), float(b))
    bucket = max(_MIN_BUCKET, 1 << max(size - 1, 0).bit_length())
    flat = np.asarray(_sampler(kind, (bucket,), dtype)(key, float(a), float(b)))
    return _to_device(flat[:size].reshape(shape))


def _to_device(array):
    """A concrete jax array from a NumPy array (device_put compiles nothing, unlike jnp.array)."""
    if isinstance(array, jax.core.Tracer):
        return array
    with jax.ensure_compile_time_eval():
        return jax.device_put(np.asarray(array))


def _np_dtype(dtype):
    return jnp.dtype(_config.standardize_dtype(dtype))


def _float_dtype(dtype, owner):
    dtype = _config.standardize_dtype(dtype)
    if not jnp.issubdtype(jnp.dtype(dtype), jnp.floating):
        raise TypeError(
            f"{owner}: random values need a float dtype, got dtype={dtype!r}. "
            "Use 'zeros', 'ones' or 'constant' for integer weights."
        )
    return dtype


class Initializer:
    """Base class: subclasses implement `__call__(shape, dtype=None) -> array`."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype=None).")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        """A new initializer with the same config."""
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ----- constant initializers ---------------------------------------------------------


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "Zeros")
        return _to_device(np.zeros(shape, dtype=_np_dtype(dtype)))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "Ones")
        return _to_device(np.ones(shape, dtype=_np_dtype(dtype)))


class Constant(Initializer):
    """Every entry equal to `value` (a scalar, or an array broadcastable to the shape)."""

    def __init__(self, value=0.0):
        if isinstance(value, (list, tuple)):
            value = np.asarray(value)
        self.value = value

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "Constant")
        value = np.asarray(self.value).astype(_np_dtype(dtype))
        try:
            return _to_device(np.broadcast_to(value, shape))
        except ValueError:
            raise ValueError(
                f"Constant: value of shape {tuple(value.shape)} cannot fill a weight of shape {shape}."
            ) from None

    def get_config(self):
        value = self.value
        if hasattr(value, "shape") and np.ndim(value) > 0:
            arr = np.asarray(value)
            return {"value": {"class_name": "__numpy__",
                              "config": {"value": arr.tolist(), "dtype": arr.dtype.name}}}
        if hasattr(value, "item"):
            value = np.asarray(value).item()
        return {"value": value}

    @classmethod
    def from_config(cls, config):
        value = config.get("value", 0.0)
        if isinstance(value, dict) and value.get("class_name") in ("__numpy__", "__tensor__"):
            inner = value["config"]
            value = np.asarray(inner["value"], dtype=inner.get("dtype"))
        return cls(value)


class Identity(Initializer):
    """`gain` times the identity matrix; 2-D shapes only (rectangular allowed)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "Identity")
        if len(shape) != 2:
            raise ValueError(f"Identity: only 2-D shapes are supported, got shape={shape} (rank {len(shape)}).")
        dtype = _np_dtype(dtype)
        return _to_device((self.gain * np.eye(*shape)).astype(dtype))

    def get_config(self):
        return {"gain": self.gain}


class STFT(Initializer):
    """Short-time Fourier transform kernel of shape `(frame_length, channels, fft_bins)`.

    Entry `[t, c, f]` is `cos` (side="real") or `sin` (side="imag") of
    `-2 pi t f / (2 (fft_bins - 1))`, times `window[t]` divided by
    `sqrt(sum(window**2))` (scaling="density") or `sum(|window|)` ("spectrum").
    `window` is None, a window name understood by `scipy.signal.get_window`
    ("hann", "hamming", ...), or an array of length `frame_length`.
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT: `side` must be 'real' or 'imag', got {side!r}.")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(f"STFT: `scaling` must be None, 'density' or 'spectrum', got {scaling!r}.")
        if isinstance(window, str):
            self._window_values(window, 4, periodic)  # validate the name now
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    @staticmethod
    def _window_values(window, length, periodic):
        try:
            from scipy import signal
        except ImportError:
            raise ImportError("STFT: named windows need scipy (`pip install scipy`), or pass an array.") from None
        try:
            return np.asarray(signal.get_window(window, length, fftbins=periodic))
        except ValueError as err:
            raise ValueError(f"STFT: unknown window {window!r}: {err}") from None

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "STFT")
        if len(shape) != 3:
            raise ValueError(f"STFT: shape must be (frame_length, channels, fft_bins), got {shape}.")
        dtype = _config.standardize_dtype(dtype)
        frame_length, _, bins = shape
        time = np.arange(frame_length, dtype="float64").reshape(frame_length, 1, 1)
        freq = np.arange(bins, dtype="float64").reshape(1, 1, bins) / ((bins - 1) * 2)
        angle = -2.0 * np.pi * time * freq
        kernel = np.cos(angle) if self.side == "real" else np.sin(angle)
        if self.window is not None:
            if isinstance(self.window, str):
                win = self._window_values(self.window, frame_length, self.periodic)
            else:
                win = np.asarray(self.window, dtype="float64")
            if win.shape != (frame_length,):
                raise ValueError(f"STFT: window must have shape ({frame_length},), got {win.shape}.")
            win = win.reshape(frame_length, 1, 1)
            kernel = kernel * win
            if self.scaling == "density":
                kernel = kernel / np.sqrt(np.sum(win**2))
            elif self.scaling == "spectrum":
                kernel = kernel / np.sum(np.abs(win))
        return _to_device(np.broadcast_to(kernel.astype(_np_dtype(dtype)), shape))

    def get_config(self):
        return {"side": self.side, "window": self.window, "periodic": self.periodic, "scaling": self.scaling}


# ----- random initializers -----------------------------------------------------------


def _serialize_seed(seed):
    if isinstance(seed, _random.SeedGenerator):
        return {"module": "keras.random", "class_name": "SeedGenerator",
                "config": {"seed": seed.seed, "name": "seed_generator"}, "registered_name": None}
    return seed


class RandomInitializer(Initializer):
    """Base of random initializers: holds `seed` (int, None or SeedGenerator)."""

    def __init__(self, seed=None):
        if isinstance(seed, dict):
            if seed.get("class_name") != "SeedGenerator":
                raise ValueError(f"{type(self).__name__}: cannot build a seed from config {seed!r}.")
            seed = _random.SeedGenerator(seed.get("config", {}).get("seed"))
        elif isinstance(seed, np.integer):
            seed = int(seed)
        elif seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, _random.SeedGenerator))):
            raise ValueError(
                f"{type(self).__name__}: `seed` must be an int, None or a SeedGenerator, got {seed!r}."
            )
        self.seed = seed

    def _key(self):
        """The key for one call: fixed for an int seed, the generator's next for a SeedGenerator, else a
        NumPy generator seeded from the global stream (never a stateless scope's key, which may be traced:
        weights created while a model is traced must still be concrete arrays)."""
        if isinstance(self.seed, _random.SeedGenerator):
            return self.seed.next()
        if self.seed is None:
            return np.random.default_rng(_random.next_seed())
        return _random.draw_key(self.seed)

    def get_config(self):
        return {"seed": _serialize_seed(self.seed)}


class RandomNormal(RandomInitializer):
    """Normal distribution with `mean` and `stddev` (default 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "RandomNormal")
        dtype = _float_dtype(dtype, "RandomNormal")
        with jax.ensure_compile_time_eval():
            return _draw("normal", self._key(), shape, dtype, self.mean, self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Normal with `mean`, `stddev`, redrawn outside two standard deviations."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "TruncatedNormal")
        dtype = _float_dtype(dtype, "TruncatedNormal")
        with jax.ensure_compile_time_eval():
            return _draw("truncated_normal", self._key(), shape, dtype, self.mean, self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Uniform on `[minval, maxval)` (default -0.05, 0.05)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "RandomUniform")
        dtype = _float_dtype(dtype, "RandomUniform")
        with jax.ensure_compile_time_eval():
            return _draw("uniform", self._key(), shape, dtype, self.minval, self.maxval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


def compute_fans(shape, input_axes=None, output_axes=None):
    """`(fan_in, fan_out)` of a weight shape.

    Explicit `input_axes`/`output_axes` multiply those dims. Otherwise: rank 0
    gives (1, 1); rank 1 `(n,)` gives (n, n); rank 2 `(in, out)` gives
    (in, out); a conv kernel `(*spatial, in, out)` gives
    `(in * prod(spatial), out * prod(spatial))`.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(math.prod(shape[a] for a in input_axes)), int(math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


class VarianceScaling(RandomInitializer):
    """Scale-aware init: variance `scale / n` with `n` from `mode`.

    `mode`: "fan_in", "fan_out" or "fan_avg" (mean of both), each floored at 1.
    `distribution`: "truncated_normal" (the default; "normal" is an alias) with
    stddev `sqrt(scale / n) / 0.87962566103423978` truncated at two stddevs,
    "untruncated_normal" with stddev `sqrt(scale / n)`, or "uniform" on
    `[-limit, limit]` with `limit = sqrt(3 * scale / n)`.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) or not scale > 0:
            raise ValueError(f"VarianceScaling: `scale` must be a positive number, got scale={scale!r}.")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: `mode` must be one of {self._MODES}, got mode={mode!r}.")
        dist = str(distribution).lower()
        if dist == "normal":
            dist = "truncated_normal"
        if dist not in self._DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling: `distribution` must be one of {self._DISTRIBUTIONS} (or 'normal'), "
                f"got distribution={distribution!r}."
            )
        if (input_axes is None) != (output_axes is None):
            raise ValueError("VarianceScaling: give both `input_axes` and `output_axes`, or neither.")
        self.scale = scale
        self.mode = mode
        self.distribution = dist
        self.input_axes = list(input_axes) if input_axes is not None else None
        self.output_axes = list(output_axes) if output_axes is not None else None
        super().__init__(seed=seed)

    def _variance(self, shape):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        if self.mode == "fan_in":
            n = max(1.0, fan_in)
        elif self.mode == "fan_out":
            n = max(1.0, fan_out)
        else:
            n = max(1.0, (fan_in + fan_out) / 2.0)
        return self.scale / n

    def __call__(self, shape, dtype=None):
        name = type(self).__name__
        shape = _standardize_shape(shape, name)
        dtype = _float_dtype(dtype, name)
        variance = self._variance(shape)
        with jax.ensure_compile_time_eval():
            key = self._key()
            if self.distribution == "truncated_normal":
                stddev = math.sqrt(variance) / _TRUNCATED_NORMAL_STDDEV_FACTOR
                return _draw("truncated_normal", key, shape, dtype, 0.0, stddev)
            if self.distribution == "untruncated_normal":
                return _draw("normal", key, shape, dtype, 0.0, math.sqrt(variance))
            limit = math.sqrt(3.0 * variance)
            return _draw("uniform", key, shape, dtype, -limit, limit)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling preset; its config holds only seed and axes (as in Keras)."""

    _PRESET = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._PRESET
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": _serialize_seed(self.seed), "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(6 / (fan_in + fan_out))` (Xavier)."""

    _PRESET = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal, stddev `sqrt(2 / (fan_in + fan_out)) / 0.8796...`."""

    _PRESET = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(6 / fan_in)`."""

    _PRESET = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal, stddev `sqrt(2 / fan_in) / 0.8796...`."""

    _PRESET = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(3 / fan_in)`."""

    _PRESET = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal, stddev `sqrt(1 / fan_in) / 0.8796...`."""

    _PRESET = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """A random orthogonal matrix times `gain`.

    The shape (rank >= 2) is viewed as `(prod(shape[:-1]), shape[-1])`; the
    result has orthonormal columns (or rows, when there are fewer rows than
    columns). Built from the QR decomposition of a standard normal matrix,
    with the signs of R's diagonal moved into Q so that Q is uniformly
    distributed.
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "Orthogonal")
        dtype = _float_dtype(dtype, "Orthogonal")
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have rank >= 2, got shape={shape}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        with jax.ensure_compile_time_eval():
            a = _draw("normal", self._key(), (max(rows, cols), min(rows, cols)), "float32", 0.0, 1.0)
            xp = jnp if isinstance(a, jax.core.Tracer) else np  # NumPy QR: no compile per shape
            a = a if xp is jnp else np.asarray(a, dtype="float64")
            q, r = xp.linalg.qr(a, mode="reduced")
            q = q * xp.sign(xp.diagonal(r))
            if rows < cols:
                q = q.T
            return _to_device((self.gain * q.reshape(shape)).astype(dtype))

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# ----- lookup and serialization ------------------------------------------------------

_CLASSES = (Initializer, Zeros, Ones, Constant, Identity, STFT, RandomNormal, TruncatedNormal,
            RandomUniform, VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
            LecunUniform, LecunNormal, Orthogonal)


def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update({_snake(cls.__name__): cls for cls in _CLASSES})
ALL_OBJECTS_DICT.update({
    "normal": RandomNormal, "uniform": RandomUniform, "zero": Zeros, "one": Ones,
    "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal, "STFTInitializer": STFT,
})
_ser.register_builtins("initializer", ALL_OBJECTS_DICT)


def serialize(initializer):
    """Keras dict `{"module", "class_name", "config", "registered_name"}`."""
    return _ser.serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """An initializer from a name or a Keras config dict."""
    if isinstance(config, dict) and "class_name" not in config:
        raise ValueError(f"initializers.deserialize: a config dict needs 'class_name'; got keys {sorted(config)}.")
    obj = _ser.deserialize_keras_object(config, ALL_OBJECTS_DICT, "initializer", custom_objects)
    return obj() if isinstance(obj, type) else obj


def _array_initializer(values):
    values = np.asarray(values)

    def initialize(shape, dtype=None):
        shape = _standardize_shape(shape, "initializer")
        if shape != values.shape:
            raise ValueError(f"initializer: the given array has shape {values.shape}, but the weight needs {shape}.")
        with jax.ensure_compile_time_eval():
            return _to_device(values.astype(_np_dtype(dtype)))

    return initialize


def get(identifier):
    """Resolve an initializer.

    None gives None; a name (`"glorot_uniform"`, `"GlorotUniform"`, `"normal"`)
    or config dict gives a new instance; a class is instantiated; a NumPy/JAX
    array becomes an initializer returning that array (shape must match); a
    callable `(shape, dtype=None) -> array` is returned unchanged. Unknown
    names raise ValueError naming the closest valid one.
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type):
        if not callable(getattr(identifier, "__call__", None)):
            raise TypeError(f"initializer: {identifier.__name__} is not an initializer class.")
        return identifier()
    if isinstance(identifier, (np.ndarray, np.generic, jax.Array)):
        return _array_initializer(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        f"initializer: expected a name such as 'glorot_uniform', an Initializer, a callable "
        f"(shape, dtype=None) -> array, a config dict or an array; got {identifier!r}."
    )


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
