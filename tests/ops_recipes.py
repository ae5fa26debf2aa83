"""Argument recipes for comparing every public `keras.ops` / `keras.random` callable with lamina's.

`RECIPES[name]` is a list of cases; a case is `lambda g: (args, kwargs)` built from a seeded input
generator `g`, or `Custom(fn)` where `fn(op, g)` calls the op itself (for ops taking or returning
functions). Names are Keras's: `relu`, `image.resize`, `random.normal`. The same arguments go to
Keras and to lamina, and `test_ops_keras_parity.py` compares the outputs.

`PARTIAL` names the ops compared only on part of their domain, with the reason (lamina deliberately
differs from Keras elsewhere); `NOT_COMPARED` names those that cannot be compared at all.
"""

import jax
import jax.numpy as jnp
import numpy as np


class Gen:
    """Seeded inputs: `f` float32 normal, `i` int32, `pos` positive, `unit` in (-0.9, 0.9), `b` bool."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def f(self, *shape, dtype="float32"):
        return self.rng.standard_normal(shape).astype(dtype)

    def i(self, *shape, lo=-5, hi=6, dtype="int32"):
        return self.rng.integers(lo, hi, shape).astype(dtype)

    def pos(self, *shape):
        return self.rng.uniform(0.5, 3.0, shape).astype("float32")

    def unit(self, *shape):
        return self.rng.uniform(-0.9, 0.9, shape).astype("float32")

    def b(self, *shape):
        return self.rng.random(shape) > 0.5

    def nan(self, *shape):
        x = self.f(*shape)
        x.flat[::4] = np.nan
        return x

    def spd(self, n, batch=()):
        a = self.f(*batch, n, n)
        return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype("float32")


class Custom:
    """A case that calls the op itself: `fn(op, g) -> outputs`."""

    def __init__(self, fn):
        self.fn = fn


def case(*args, **kwargs):
    """A case with fixed arguments (no generated inputs)."""
    return lambda g: (args, kwargs)


def _kinds(kinds):
    makers = {
        "f": lambda g: g.f(3, 4), "i": lambda g: g.i(3, 4), "pos": lambda g: g.pos(3, 4),
        "posi": lambda g: g.i(3, 4, lo=1, hi=9), "unit": lambda g: g.unit(3, 4), "b": lambda g: g.b(3, 4),
        "big": lambda g: g.pos(3, 4) + 1.0, "i8": lambda g: g.i(3, 4, dtype="int8"),
        "u8": lambda g: g.i(3, 4, lo=0, hi=200, dtype="uint8"), "f16": lambda g: g.f(3, 4, dtype="float16"),
        "unit_i": lambda g: g.i(3, 4, lo=-1, hi=2), "nan": lambda g: g.nan(3, 4),
    }
    return [makers[k] for k in kinds]


def unary(*kinds, **kwargs):
    return [lambda g, m=m: ((m(g),), dict(kwargs)) for m in _kinds(kinds)]


def binary(*pairs):
    """Cases of two arguments: "f,f" broadcasts (3, 4) with (4,); "f,s" pairs an array with a scalar."""
    out = []
    for pair in pairs:
        left, right = pair.split(",")

        def make(g, left=left, right=right):
            a = _kinds([left])[0](g)
            if right == "s":
                return (a, 2), {}
            if right == "sf":
                return (a, 1.5), {}
            b = _kinds([right])[0](g)[0]
            return (a, b), {}

        out.append(make)
    return out


def reduction(*kinds, extra=()):
    """Over all axes, one axis with keepdims and two axes for the first kind; one axis for the others."""
    def cube(g, make):
        return np.reshape(np.concatenate([make(g), make(g)]), (3, 4, 2))

    first, *rest = _kinds(kinds)
    cases = [lambda g: ((cube(g, first),), {}), lambda g: ((cube(g, first),), {"axis": 1, "keepdims": True}),
             lambda g: ((cube(g, first),), {"axis": (0, 2)})]
    cases += [lambda g, m=m: ((cube(g, m),), {"axis": 1}) for m in rest]
    return cases + list(extra)


FLOAT_UNARY = {
    "exp": "f i b", "exp2": "f i", "expm1": "f i", "log": "pos posi", "log2": "pos posi", "log10": "pos posi",
    "log1p": "pos posi", "sqrt": "pos posi f16", "cbrt": "f i", "sin": "f i i8 u8 f16", "cos": "f i", "tan": "f i",
    "arcsin": "unit unit_i", "arccos": "unit unit_i", "arctan": "f i", "sinh": "f i", "cosh": "f i",
    "tanh": "f i", "arcsinh": "f i", "arccosh": "big posi", "arctanh": "unit", "sinc": "f i", "angle": "f i",
    "ceil": "f i b", "floor": "f i", "deg2rad": "f i", "rad2deg": "f i", "i0": "f i f16", "trunc": "f i",
    "fabs": "f i", "round": "f i", "square": "f i b", "reciprocal": "pos posi", "negative": "f i",
    "sign": "f i", "signbit": "f i", "abs": "f i i8", "absolute": "f i", "conj": "f i", "conjugate": "f i",
    "real": "f i", "imag": "f i", "copy": "f i b", "isfinite": "nan i", "isinf": "nan", "isnan": "nan i",
    "isneginf": "nan", "isposinf": "nan", "isreal": "f", "logical_not": "b f", "bitwise_invert": "i b",
    "bitwise_not": "i u8", "ravel": "f", "fliplr": "f", "flipud": "f", "rsqrt": "pos", "erf": "f",
    "erfc": "f", "erfinv": "unit",
}
NN_UNARY = ["relu", "relu6", "sigmoid", "sparse_sigmoid", "softplus", "softsign", "sparse_plus", "silu", "swish",
            "log_sigmoid", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "selu", "tanh_shrink", "elu",
            "celu", "gelu", "leaky_relu", "hard_shrink", "soft_shrink", "log_softmax", "softmax"]
BINARY = {
    "add": "f,f i,i i,f f,sf i,s i8,f16", "subtract": "f,f i,s", "multiply": "f,f i,i b,f", "divide": "f,pos i,posi",
    "true_divide": "f,pos i,posi", "floor_divide": "f,pos i,posi", "power": "pos,f i,posi pos,s",
    "mod": "f,pos i,posi", "fmod": "f,pos i,posi", "maximum": "f,f i,sf", "minimum": "f,f i,i", "fmax": "nan,f",
    "fmin": "nan,f", "hypot": "f,f", "heaviside": "f,f", "gcd": "i,posi", "lcm": "i,posi", "nextafter": "f,f",
    "arctan2": "f,f i,i", "logaddexp": "f,f i,f", "logaddexp2": "f,f", "equal": "i,i f,sf", "not_equal": "i,i",
    "greater": "f,f i,s", "greater_equal": "f,f", "less": "f,f", "less_equal": "i,f", "logical_and": "b,b f,b",
    "logical_or": "b,b", "logical_xor": "b,b", "bitwise_and": "i,i b,b", "bitwise_or": "i,i", "bitwise_xor": "i,i",
    "left_shift": "posi,posi", "right_shift": "posi,posi", "bitwise_left_shift": "posi,posi",
    "bitwise_right_shift": "posi,s", "divide_no_nan": "f,i", "dot": "f,f", "inner": "f,f", "outer": "f,f",
    "kron": "f,i", "isclose": "f,f", "allclose": "f,f", "append": "f,f", "isin": "i,i",
}
REDUCTIONS = {
    "sum": "f i b", "mean": "f i b f16", "max": "f i", "min": "f i", "amax": "f", "amin": "i", "all": "b f",
    "any": "b", "prod": "f i", "std": "f i", "var": "f i f16", "ptp": "f i", "median": "f i", "nansum": "nan",
    "nanprod": "nan", "nanmax": "nan", "nanmin": "nan", "nanmean": "nan", "nanmedian": "nan", "nanstd": "nan",
    "nanvar": "nan", "logsumexp": "f",
}


def _arg_reduction(name):
    return [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3, 4),), {"axis": 1}),
            lambda g: ((g.i(3, 4),), {"axis": 0, "keepdims": True})] + (
        [lambda g: ((g.nan(3, 4),), {"axis": 1})] if name.startswith("nan") else [])


def _quantile(name):
    q = 30.0 if "percentile" in name else 0.3
    qs = [10.0, 50.0] if "percentile" in name else [0.1, 0.5]
    x = "nan" if name.startswith("nan") else "f"
    return [lambda g: ((_kinds([x])[0](g), q), {}),
            lambda g: ((_kinds([x])[0](g), np.array(qs, "float32")), {"axis": 1, "keepdims": True}),
            lambda g: ((_kinds([x])[0](g), q), {"axis": 0, "method": "nearest"}),
            lambda g: ((g.i(3, 4), q), {"keepdims": True})]


def _cumulative(name):
    x = "nan" if name.startswith("nan") else "f"
    return [lambda g: ((_kinds([x])[0](g),), {}), lambda g: ((_kinds([x])[0](g),), {"axis": 1}),
            lambda g: ((g.i(3, 4),), {"axis": 0, "dtype": "float32"})]


def _image(g, channels=3, batch=2, h=6, w=5, dtype="float32", first=False):
    x = g.rng.uniform(0, 1, (batch, h, w, channels) if batch else (h, w, channels)).astype(dtype)
    return np.moveaxis(x, -1, -3) if first else x


def _vectorize(op, g):
    return op(lambda a, b: a * b + 1.0)(g.f(3, 4), g.f(4))


def _custom_gradient(op, g):
    @op
    def log1pexp(x):
        e = jnp.exp(x)

        def grad(upstream):
            return upstream * (1.0 - 1.0 / (1.0 + e))

        return jnp.log(1.0 + e), grad

    x = g.f(5)
    return log1pexp(x), jax.grad(lambda v: jnp.sum(log1pexp(v) ** 2))(jnp.asarray(x))


def _jvp(op, g):
    x, t = g.f(4), g.f(4)
    return op(lambda v: jnp.sin(v) * v, (x,), (t,))


def _seed_generator(op, g):
    gen = op(seed=1234)
    module = _random_module_of(op)
    return [module.normal((3,), seed=gen), module.uniform((2,), seed=gen), np.asarray(gen.state.value)]


def _random_module_of(op):
    import sys

    return sys.modules["keras.random"] if op.__module__.startswith("keras") else sys.modules["lamina.random"]


def _ctc_inputs(g, batch=2, steps=6, classes=4):
    logits = g.f(batch, steps, classes)
    return logits, np.array([steps, steps - 2], "int32")


RECIPES = {}
for _name, _kinds_of in FLOAT_UNARY.items():
    RECIPES[_name] = unary(*_kinds_of.split())
for _name in NN_UNARY:
    RECIPES[_name] = unary("f", "f16")
for _name, _pairs in BINARY.items():
    RECIPES[_name] = binary(*_pairs.split())
for _name, _kinds_of in REDUCTIONS.items():
    RECIPES[_name] = reduction(*_kinds_of.split())
for _name in ("argmax", "argmin", "nanargmax", "nanargmin"):
    RECIPES[_name] = _arg_reduction(_name)
for _name in ("quantile", "percentile", "nanquantile", "nanpercentile"):
    RECIPES[_name] = _quantile(_name)
for _name in ("cumsum", "cumprod", "nancumsum", "nancumprod"):
    RECIPES[_name] = _cumulative(_name)

RECIPES.update({
    # ----- element-wise with arguments
    "round": unary("f", "i") + [lambda g: ((g.f(3, 4) * 100,), {"decimals": 2}),
                                lambda g: ((g.i(3, 4, lo=-500, hi=500),), {"decimals": -1})],
    "clip": [lambda g: ((g.f(3, 4), -0.5, 0.5), {}), lambda g: ((g.i(3, 4), 0, 3), {}),
             lambda g: ((g.b(3, 4), 0, 1), {})],
    "nan_to_num": [lambda g: ((np.array([np.nan, np.inf, -np.inf, 1.0], "float32"),), {}),
                   lambda g: ((np.array([np.nan, np.inf, -np.inf, 1.0], "float32"),),
                              {"nan": 5.0, "posinf": 9.0, "neginf": -9.0})],
    "ldexp": [lambda g: ((g.f(3, 4), g.i(3, 4)), {})],
    "isclose": [lambda g: ((g.f(3, 4), g.f(3, 4) * 0 + 1), {}), lambda g: (
        (np.array([1.0, np.nan], "float32"), np.array([1.0 + 1e-9, np.nan], "float32")), {"equal_nan": True})],
    # ----- creation
    "zeros": [case((2, 3)), case((2,), dtype="int32")],
    "ones": [case((2, 3)), case(4, dtype="bool")],
    "empty": [case((2, 3)), case((3,), dtype="int32")],
    "full": [case((2, 3), 7), case((2,), 2.5, dtype="float16"), case((2, 2), 3, dtype="int32")],
    "zeros_like": [lambda g: ((g.f(2, 3),), {}), lambda g: ((g.i(2),), {"dtype": "float32"})],
    "ones_like": [lambda g: ((g.i(2, 3),), {}), lambda g: ((g.f(2),), {"dtype": "int32"})],
    "empty_like": [lambda g: ((g.f(2, 3),), {})],
    "full_like": [lambda g: ((g.f(2, 3), 3), {}), lambda g: ((g.i(2), 2.7), {}),
                  lambda g: ((g.i(2), 2.7), {"dtype": "float32"})],
    "eye": [case(3), case(3, 4, k=1, dtype="int32"), case(4, M=2, k=-1)],
    "identity": [case(3), case(2, dtype="int32")],
    "tri": [case(3), case(3, 4, 1), case(3, M=2, k=-1, dtype="int32")],
    "arange": [case(5), case(1.0, 3.0, 0.5), case(2, 10, 3, dtype="float32"), case(0, 5, 1.5), case(3, dtype="int8")],
    "linspace": [case(0, 1, 7), case(0, 10, 5, endpoint=False, retstep=True), case(0, 4, 5, dtype="int32")],
    "logspace": [case(0, 2, 5), case(0.0, 1.0, 4, base=2)],
    "geomspace": [case(1, 100, 5), case(1.0, 8.0, 4, endpoint=False)],
    "array": [case([[1, 2], [3, 4]]), case([1.5, 2.0]), lambda g: ((g.f(3),), {"dtype": "float16"})],
    "meshgrid": [lambda g: ((g.f(3), g.f(2)), {}), lambda g: ((g.f(3), g.f(2), g.f(4)), {"indexing": "ij"})],
    "vander": [lambda g: ((g.f(4),), {}), lambda g: ((g.f(3),), {"N": 5, "increasing": True})],
    "bartlett": [case(6)], "blackman": [case(6)], "hamming": [case(7)], "hanning": [case(6)],
    "kaiser": [case(6, 2.0)],
    # ----- shaping
    "reshape": [lambda g: ((g.f(3, 4), (4, 3)), {}), lambda g: ((g.f(3, 4), -1), {}),
                lambda g: ((g.f(3, 4), [2, -1, 2]), {})],
    "transpose": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(2, 3, 4), (2, 0, 1)), {})],
    "moveaxis": [lambda g: ((g.f(2, 3, 4), 0, -1), {}), lambda g: ((g.f(2, 3, 4), [0, 1], [2, 0]), {})],
    "swapaxes": [lambda g: ((g.f(2, 3, 4), 0, 2), {})],
    "expand_dims": [lambda g: ((g.f(3, 4), 1), {}), lambda g: ((g.f(3, 4), (0, 3)), {})],
    "squeeze": [lambda g: ((g.f(3, 1, 4, 1),), {}), lambda g: ((g.f(3, 1, 4, 1), 1), {})],
    "broadcast_to": [lambda g: ((g.f(4), (3, 4)), {})],
    "flip": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3, 4), 1), {})],
    "rot90": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(2, 3, 4),), {"k": 2, "axes": (1, 2)})],
    "roll": [lambda g: ((g.f(3, 4), 2), {}), lambda g: ((g.f(3, 4), -1), {"axis": 1})],
    "tile": [lambda g: ((g.f(3, 4), (2, 1)), {}), lambda g: ((g.f(3), 2), {})],
    "repeat": [lambda g: ((g.f(3, 4), 2), {}), lambda g: ((g.f(3, 4), np.array([1, 2, 3])), {"axis": 0})],
    "pad": [lambda g: ((g.f(3, 4), 1), {}), lambda g: ((g.f(3, 4), ((1, 0), (2, 1))), {"mode": "reflect"}),
            lambda g: ((g.f(3, 4), ((1, 1), (0, 0))), {"constant_values": 3.0}),
            lambda g: ((g.f(3, 4), (1, 2)), {"mode": "edge"}), lambda g: ((g.f(3, 4), [[1], [2]]), {})],
    "concatenate": [lambda g: (([g.f(3, 4), g.f(3, 2)], 1), {}), lambda g: (([g.f(3, 4), g.i(1, 4)],), {})],
    "stack": [lambda g: (([g.f(3, 4), g.f(3, 4)],), {}), lambda g: (([g.f(3), g.f(3)], 1), {})],
    "hstack": [lambda g: (([g.f(3, 4), g.f(3, 2)],), {})], "vstack": [lambda g: (([g.f(3, 4), g.f(4)],), {})],
    "dstack": [lambda g: (([g.f(3, 4), g.f(3, 4)],), {})],
    "vdot": [lambda g: ((g.f(3, 4), g.f(3, 4)), {}), lambda g: ((g.i(5), g.f(5)), {})],
    "append": binary("f,f") + [lambda g: ((g.f(3, 4), g.f(1, 4)), {"axis": 0})],
    "split": [lambda g: ((g.f(3, 4), 2), {"axis": 1}), lambda g: ((g.f(6, 4), [1, 3]), {})],
    "array_split": [lambda g: ((g.f(7, 2), 3), {}), lambda g: ((g.f(2, 5), 2), {"axis": 1})],
    "hsplit": [lambda g: ((g.f(3, 4), 2), {})], "vsplit": [lambda g: ((g.f(4, 3), [1]), {})],
    "dsplit": [lambda g: ((g.f(2, 3, 4), 2), {})],
    "get_item": [lambda g: ((g.f(3, 4), (slice(1, 3), 0)), {}), lambda g: ((g.f(3, 4), 1), {})],
    "view": [lambda g: ((g.f(3, 4), "int32"), {}), lambda g: ((g.i(3, 4), "float32"), {})],
    "unravel_index": [case(np.array([1, 5, 7]), (3, 4))],
    "ndim": [lambda g: ((g.f(3, 4),), {})], "size": [lambda g: ((g.f(3, 4),), {})],
    # ----- selection
    "sort": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.i(3, 4),), {"axis": 0})],
    "argsort": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3, 4),), {"axis": 0})],
    "argpartition": [lambda g: ((g.f(3, 5), 2), {}), lambda g: ((g.f(3, 5), 1), {"axis": None})],
    "searchsorted": [lambda g: ((np.sort(g.f(6)), g.f(3, 2)), {}),
                     lambda g: ((np.array([1, 2, 2, 3], "int32"), np.array([2, 3], "int32")), {"side": "right"})],
    "digitize": [lambda g: ((g.f(3, 4), np.array([-1.0, 0.0, 0.5], "float32")), {})],
    "isin": [lambda g: ((g.i(3, 4), g.i(3)), {}), lambda g: ((g.i(3, 4), g.i(3)), {"invert": True})],
    "nonzero": [lambda g: ((g.i(3, 4, lo=-1, hi=2),), {})],
    "where": [lambda g: ((g.b(3, 4), g.f(3, 4), g.f(4)), {}), lambda g: ((g.b(3, 4),), {}),
              lambda g: ((g.b(3, 4), g.i(3, 4), 1.5), {})],
    "select": [lambda g: (([g.b(3, 4), g.b(3, 4)], [g.f(3, 4), g.f(3, 4)]), {"default": -1.0})],
    "take": [lambda g: ((g.f(3, 4), np.array([0, 2])), {"axis": 1}), lambda g: ((g.f(3, 4), np.array([[1, 5]])), {})],
    "take_along_axis": [lambda g: ((g.f(3, 4), np.argsort(g.f(3, 4), axis=1)), {"axis": 1})],
    "unique": [lambda g: ((g.i(10),), {}), lambda g: (
        (g.i(10),), {"return_index": True, "return_inverse": True, "return_counts": True}),
        lambda g: ((g.i(10),), {"size": 12, "fill_value": -1})],
    # ----- products and matrices
    "matmul": [lambda g: ((g.f(3, 4), g.f(4, 2)), {}), lambda g: ((g.f(2, 3, 4), g.f(4, 5)), {}),
               lambda g: ((g.i(3, 4, dtype="int8"), g.i(4, 2, dtype="int8")), {}),
               lambda g: ((g.i(3, 4), g.f(4, 2)), {})],
    "einsum": [lambda g: (("ij,jk->ik", g.f(3, 4), g.f(4, 2)), {}), lambda g: (("bij->bji", g.f(2, 3, 4)), {}),
               lambda g: (("ij,ij->i", g.i(3, 4, dtype="int8"), g.i(3, 4, dtype="int8")), {})],
    "tensordot": [lambda g: ((g.f(2, 3, 4), g.f(3, 4, 5)), {}), lambda g: ((g.f(3, 4), g.f(4, 2)), {"axes": 1}),
                  lambda g: ((g.f(3, 4), g.f(4, 3)), {"axes": ([0], [1])})],
    "cross": [lambda g: ((g.f(4, 3), g.f(4, 3)), {}), lambda g: ((g.f(3, 2), g.f(3, 3)), {})],
    "correlate": [lambda g: ((g.f(5), g.f(3)), {}), lambda g: ((g.f(5), g.f(3)), {"mode": "full"})],
    "diag": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3),), {"k": 1})],
    "diagflat": [lambda g: ((g.f(2, 2),), {}), lambda g: ((g.f(3),), {"k": -1})],
    "diagonal": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(2, 3, 4), 1, 1, 2), {})],
    "trace": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(2, 3, 4),), {"offset": 1, "axis1": 1, "axis2": 2})],
    "tril": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(2, 3, 4), -1), {})],
    "triu": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(2, 3, 4), 1), {})],
    "slogdet": [lambda g: ((g.f(3, 3),), {}), lambda g: ((g.f(2, 3, 3),), {})],
    # ----- statistics
    "average": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3, 4),), {"axis": 1, "weights": g.pos(4)}),
                lambda g: ((g.i(3, 4),), {"axis": 0})],
    "count_nonzero": [lambda g: ((g.i(3, 4, lo=-1, hi=2),), {}), lambda g: ((g.i(3, 4, lo=-1, hi=2),), {"axis": 1})],
    "diff": [lambda g: ((g.f(3, 5),), {}), lambda g: ((g.f(3, 5),), {"n": 2, "axis": 0})],
    "trapezoid": [lambda g: ((g.f(3, 5),), {}), lambda g: ((g.f(3, 5),), {"x": np.sort(g.f(5)), "axis": -1}),
                  lambda g: ((g.f(3, 5),), {"dx": 0.5, "axis": 0})],
    "corrcoef": [lambda g: ((g.f(3, 6),), {})],
    "histogram": [lambda g: ((g.f(20),), {}), lambda g: ((g.f(20),), {"bins": 4, "range": (-1.0, 1.0)})],
    "bincount": [lambda g: ((g.i(10, lo=0, hi=5),), {}),
                 lambda g: ((g.i(10, lo=0, hi=5),), {"weights": g.f(10), "minlength": 8}),
                 lambda g: ((np.array([[0, 1, 4], [2, 2, 4]], "int32"),), {})],
    "logsumexp": reduction("f"),
    # ----- core
    "cast": [lambda g: ((g.f(3, 4) * 5, "int32"), {}), lambda g: ((g.f(3, 4), "float16"), {}),
             lambda g: ((g.i(3, 4), "bool"), {}), lambda g: ((g.f(3, 4), float), {})],
    "saturate_cast": [lambda g: ((g.f(3, 4) * 300, "uint8"), {}), lambda g: ((g.i(3, 4, lo=-300, hi=300), "int8"), {}),
                      lambda g: ((np.array([np.inf, -np.inf, 1e6], "float32"), "float16"), {})],
    "convert_to_tensor": [lambda g: ((g.f(3, 4),), {}), case([1.0, 2.0]), case([1, 2]), case(3.5),
                          lambda g: ((g.f(3),), {"dtype": "float16"}), case([1, 2], dtype="bfloat16")],
    "convert_to_numpy": [lambda g: ((g.f(3, 4),), {}), lambda g: ((jnp.asarray(g.f(3)).astype("bfloat16"),), {})],
    "is_tensor": [lambda g: ((g.f(3),), {}), lambda g: ((jnp.asarray(g.f(3)),), {}), case([1, 2])],
    "shape": [lambda g: ((g.f(3, 4),), {}), lambda g: ((jnp.zeros((2, 0, 5)),), {})],
    "dtype": [lambda g: ((g.f(3),), {}), lambda g: ((jnp.asarray(g.i(3)),), {})],
    "stop_gradient": [lambda g: ((g.f(3, 4),), {})],
    "slice": [lambda g: ((g.f(4, 5), (1, 2), (2, 3)), {}), lambda g: ((g.f(4, 5), (1, 0), (-1, 2)), {})],
    "slice_update": [lambda g: ((g.f(4, 5), (1, 2), g.f(2, 3)), {})],
    "scatter": [lambda g: ((np.array([[0, 1], [2, 3], [0, 1]]), g.f(3), (3, 4)), {}),
                lambda g: ((np.array([[0], [2]]), g.f(2, 4), (3, 4)), {})],
    "scatter_update": [lambda g: ((g.f(3, 4), np.array([[0, 1], [2, 3]]), g.f(2)), {}),
                       lambda g: ((g.f(3, 4), np.array([[0, 1], [0, 1]]), g.f(2)), {"reduction": "add"}),
                       lambda g: ((g.f(3, 4), np.array([[1, 1], [2, 0]]), g.f(2)), {"reduction": "max"}),
                       lambda g: ((g.f(3, 4), np.array([[1, 1]]), g.f(1)), {"reduction": "mul"}),
                       lambda g: ((g.f(3, 4), np.array([[1, 1]]), g.f(1)), {"reduction": "min"})],
    "unstack": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3, 4),), {"axis": 1, "num": 4})],
    "cond": [lambda g: ((True, lambda: jnp.ones(3) * 2, lambda: jnp.zeros(3)), {}),
             lambda g: ((np.array(False), lambda: jnp.ones(3) * 2, lambda: jnp.zeros(3)), {})],
    "switch": [lambda g: ((1, [lambda x: x * 2, lambda x: x - 1], g.f(3)), {}),
               lambda g: ((np.array(0), [lambda x, y: x + y, lambda x, y: x * y], g.f(3), g.f(3)), {})],
    "while_loop": [lambda g: ((lambda i, x: i < 5, lambda i, x: (i + 1, x * 2), (0, g.f(3))), {}),
                   lambda g: ((lambda x: jnp.sum(x) < 100.0, lambda x: x * 2 + 1, g.pos(3)), {}),
                   lambda g: ((lambda i, x: i < 50, lambda i, x: (i + 1, x + 1), [0, g.f(2)]),
                              {"maximum_iterations": 3})],
    "fori_loop": [lambda g: ((0, 5, lambda i, v: v * 2 + i, g.f(3)), {})],
    "scan": [lambda g: ((lambda c, x: (c + x, c * x), g.f(4), g.f(5, 4)), {}),
             lambda g: ((lambda c, x: (c * 2, c), g.f(2)), {"length": 3, "reverse": True}),
             lambda g: ((lambda c, x: (c + x, None), 0.0, g.f(6)), {"unroll": 2})],
    "associative_scan": [lambda g: ((lambda a, b: a + b, g.f(5, 3)), {}),
                         lambda g: ((jnp.maximum, g.f(3, 5)), {"axis": 1, "reverse": True})],
    "map": [lambda g: ((lambda x: x * 2 + jnp.sum(x), g.f(3, 4)), {})],
    "vectorized_map": [lambda g: ((lambda x: jnp.outer(x, x), g.f(3, 4)), {}),
                       lambda g: ((lambda xy: xy[0] * xy[1], (g.f(3, 2), g.f(3, 2))), {})],
    "vectorize": [Custom(_vectorize)],
    "custom_gradient": [Custom(_custom_gradient)],
    # ----- math
    "segment_sum": [lambda g: ((g.f(5, 2), np.array([0, 0, 1, 2, 2])), {"num_segments": 4}),
                    lambda g: ((g.f(5), np.array([0, 1, 1, 3, 3])), {"num_segments": 4, "sorted": True})],
    "segment_max": [lambda g: ((g.f(5, 2), np.array([0, 0, 1, 2, 2])), {"num_segments": 3})],
    "segment_min": [lambda g: ((g.f(5, 2), np.array([0, 0, 1, 2, 2])), {"num_segments": 3})],
    "segment_prod": [lambda g: ((g.f(5, 2), np.array([0, 0, 1, 2, 2])), {"num_segments": 3})],
    "top_k": [lambda g: ((g.f(3, 6), 2), {}), lambda g: ((g.i(5), 3), {"sorted": False})],
    "in_top_k": [lambda g: ((np.array([0, 2, 1]), g.f(3, 4), 2), {}),
                 lambda g: ((np.array([1, 0]), np.array([[0.1, np.nan, 0.3], [0.5, 0.5, 0.1]], "float32"), 1), {})],
    "cdist": [lambda g: ((g.f(3, 4), g.f(5, 4)), {}), lambda g: ((g.f(2, 3, 4), g.f(2, 2, 4)), {})],
    "extract_sequences": [lambda g: ((g.f(2, 10), 4, 2), {}), lambda g: ((g.f(9), 3, 3), {})],
    "fft": [lambda g: (((g.f(3, 8), g.f(3, 8)),), {})], "fft2": [lambda g: (((g.f(2, 4, 4), g.f(2, 4, 4)),), {})],
    "ifft2": [lambda g: (((g.f(4, 6), g.f(4, 6)),), {})],
    "rfft": [lambda g: ((g.f(3, 8),), {}), lambda g: ((g.f(8),), {"fft_length": 6})],
    "irfft": [lambda g: (((g.f(3, 5), g.f(3, 5)),), {}), lambda g: (((g.f(5), g.f(5)),), {"fft_length": 10})],
    "stft": [lambda g: ((g.f(2, 40), 8, 4, 16), {}),
             lambda g: ((g.f(40), 10, 5, 10), {"window": "hamming", "center": False}),
             lambda g: ((g.f(32), 4, 2, 8), {"window": None})],
    "istft": [lambda g: (((g.f(2, 9, 9), g.f(2, 9, 9)), 8, 4, 16), {}),
              lambda g: (((g.f(7, 6), g.f(7, 6)), 10, 5, 10), {"window": "hamming", "center": False}),
              lambda g: (((g.f(9, 5), g.f(9, 5)), 8, 4, 8), {"length": 30,
                                                            "window": np.linspace(0.1, 1, 8).astype("float32")})],
    "logdet": [lambda g: ((g.spd(3),), {}), lambda g: ((g.spd(3, (2,)),), {})],
    "view_as_complex": [lambda g: ((g.f(3, 2),), {})],
    "view_as_real": [lambda g: (((g.f(3) + 1j * g.f(3)).astype("complex64"),), {})],
    "polar": [lambda g: ((g.pos(3, 2), g.f(3, 2)), {})],
    "rearrange": [lambda g: ((g.f(2, 3, 4), "a b c -> c (a b)"), {}),
                  lambda g: ((g.f(2, 6), "b (h w) -> b w h"), {"h": 2}),
                  lambda g: ((g.f(2, 3, 4, 5), "b h w c -> b (h w) c"), {})],
    # ----- nn
    "leaky_relu": unary("f") + [lambda g: ((g.f(3, 4),), {"negative_slope": 0.1})],
    "elu": unary("f") + [lambda g: ((g.f(3, 4),), {"alpha": 0.5})],
    "celu": unary("f") + [lambda g: ((g.f(3, 4),), {"alpha": 2.0})],
    "gelu": unary("f", "f16") + [lambda g: ((g.f(3, 4),), {"approximate": False})],
    "glu": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(4, 3),), {"axis": 0})],
    "squareplus": unary("f") + [lambda g: ((g.f(3, 4),), {"b": 2})],
    "hard_shrink": unary("f") + [lambda g: ((g.f(3, 4),), {"threshold": 1.0})],
    "soft_shrink": unary("f") + [lambda g: ((g.f(3, 4),), {"threshold": 1.0})],
    "threshold": [lambda g: ((g.f(3, 4), 0.2, -1.0), {})],
    "softmax": unary("f", "f16") + [lambda g: ((g.f(3, 4),), {"axis": 0}), lambda g: ((g.f(2, 3, 4),), {"axis": (0, 2)})],
    "log_softmax": unary("f") + [lambda g: ((g.f(2, 3, 4),), {"axis": (1, 2)})],
    "sparsemax": [lambda g: ((g.f(3, 4) + np.array([4.0, 0, 0, 0], "float32"),), {}),
                  lambda g: ((np.array([[3.0, 0.5, 0.1], [0.0, 5.0, 1.0]], "float32"),), {"axis": -1})],
    "conv": [lambda g: ((g.f(2, 7, 3), g.f(3, 3, 4)), {}),
             lambda g: ((g.f(2, 6, 5, 3), g.f(3, 2, 3, 4)), {"strides": 2, "padding": "same"}),
             lambda g: ((g.f(2, 3, 6, 5), g.f(3, 3, 3, 2)), {"data_format": "channels_first", "dilation_rate": (2, 1)}),
             lambda g: ((g.f(1, 4, 4, 4, 2), g.f(2, 2, 2, 2, 3)), {"padding": "SAME"}),
             lambda g: ((g.f(2, 6, 6, 4), g.f(3, 3, 2, 6)), {})],
    "depthwise_conv": [lambda g: ((g.f(2, 6, 5, 3), g.f(3, 3, 3, 2)), {}),
                       lambda g: ((g.f(2, 8, 3), g.f(3, 3, 1)), {"strides": 2, "padding": "same"}),
                       lambda g: ((g.f(1, 3, 6, 6), g.f(2, 2, 3, 1)), {"data_format": "channels_first",
                                                                       "dilation_rate": 2})],
    "separable_conv": [lambda g: ((g.f(2, 6, 5, 3), g.f(3, 3, 3, 2), g.f(1, 1, 6, 4)), {}),
                       lambda g: ((g.f(2, 8, 3), g.f(3, 3, 1), g.f(1, 3, 2)), {"padding": "same", "strides": 2})],
    "conv_transpose": [lambda g: ((g.f(2, 4, 5, 3), g.f(3, 3, 2, 3)), {}),
                       lambda g: ((g.f(2, 4, 5, 3), g.f(3, 3, 2, 3)), {"strides": 2, "padding": "same"}),
                       lambda g: ((g.f(2, 5, 3), g.f(4, 2, 3)), {"strides": 3, "output_padding": 1}),
                       lambda g: ((g.f(1, 3, 4, 4), g.f(2, 2, 5, 3)), {"strides": (2, 1), "data_format":
                                                                       "channels_first", "padding": "same"}),
                       lambda g: ((g.f(1, 5, 5, 2), g.f(3, 3, 2, 2)), {"dilation_rate": 2})],
    "max_pool": [lambda g: ((g.f(2, 6, 5, 3), 2, 2), {}),
                 lambda g: ((g.f(2, 7, 3), 3), {"strides": 2, "padding": "same"}),
                 lambda g: ((g.f(1, 3, 6, 6), (2, 3), (2, 3)), {"data_format": "channels_first"}),
                 lambda g: ((g.f(1, 4, 4, 4, 2), 2), {"strides": 1})],
    "average_pool": [lambda g: ((g.f(2, 6, 5, 3), 2, 2), {}),
                     lambda g: ((g.f(2, 7, 3), 3), {"strides": 2, "padding": "same"}),
                     lambda g: ((g.f(1, 3, 5, 6), (2, 3), (1, 2)), {"data_format": "channels_first",
                                                                   "padding": "same"})],
    "adaptive_average_pool": [lambda g: ((g.f(2, 7, 5, 3), (3, 2)), {}), lambda g: ((g.f(2, 10, 3), 4), {}),
                              lambda g: ((g.f(1, 2, 4, 6, 5), (2, 4, 3)), {"data_format": "channels_first"})],
    "adaptive_max_pool": [lambda g: ((g.f(2, 7, 5, 3), (3, 2)), {}), lambda g: ((g.f(2, 10, 3), 4), {}),
                          lambda g: ((g.f(1, 2, 5, 6, 7), 3), {"data_format": "channels_first"})],
    "one_hot": [lambda g: ((g.i(3, 4, lo=-1, hi=4), 4), {}),
                lambda g: ((g.i(3, lo=0, hi=3), 3), {"axis": 0, "dtype": "int32"})],
    "multi_hot": [lambda g: ((np.array([[0, 2], [1, 1]]), 4), {}), lambda g: ((np.array([0, 3]),), {"num_classes": 5}),
                  lambda g: ((np.array([[1, 2]]),), {"num_tokens": 3, "dtype": "int32"})],
    "binary_crossentropy": [lambda g: ((g.b(3, 4).astype("float32"), g.rng.uniform(0, 1, (3, 4)).astype("float32")), {}),
                            lambda g: ((g.b(3, 4).astype("float32"), g.f(3, 4)), {"from_logits": True})],
    "categorical_crossentropy": [
        lambda g: ((np.eye(4, dtype="float32")[[0, 2, 1]], g.rng.uniform(0, 1, (3, 4)).astype("float32")), {}),
        lambda g: ((np.eye(4, dtype="float32")[[0, 2, 1]], g.f(3, 4)), {"from_logits": True}),
        lambda g: ((np.eye(3, dtype="float32")[[0, 2, 1, 1]].T, g.f(3, 4)), {"from_logits": True, "axis": 0})],
    "sparse_categorical_crossentropy": [
        lambda g: ((np.array([0, 2, 1]), g.rng.uniform(0, 1, (3, 4)).astype("float32")), {}),
        lambda g: ((np.array([[0], [3], [1]]), g.f(3, 4)), {"from_logits": True}),
        lambda g: ((g.i(2, 3, lo=0, hi=4), g.f(2, 3, 4)), {"from_logits": True})],
    "ctc_loss": [lambda g: ((np.array([[1, 2, 0], [3, 3, 1]]), g.f(2, 6, 4), np.array([2, 3]), np.array([6, 5])), {}),
                 lambda g: ((np.array([[1, 2]]), g.f(1, 5, 4), np.array([2]), np.array([5])), {"mask_index": 3})],
    "ctc_decode": [lambda g: (_ctc_inputs(g), {}), lambda g: (_ctc_inputs(g), {"merge_repeated": False}),
                   lambda g: (_ctc_inputs(g), {"mask_index": None}),
                   lambda g: (_ctc_inputs(g, steps=5, classes=3), {"strategy": "beam_search", "beam_width": 6,
                                                                  "top_paths": 3})],
    "moments": [lambda g: ((g.f(3, 4, 2), [0, 1]), {}), lambda g: ((g.f(3, 4), 1), {"keepdims": True}),
                lambda g: ((g.f(3, 4, dtype="float16"), [0]), {})],
    "batch_normalization": [lambda g: ((g.f(3, 4), g.f(4), g.pos(4), -1), {}),
                            lambda g: ((g.f(2, 3, 4), g.f(3), g.pos(3), 1), {"offset": g.f(3), "scale": g.f(3),
                                                                             "epsilon": 0.01})],
    "layer_normalization": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3, 4), g.f(4), g.f(4)), {}),
                            lambda g: ((g.f(2, 3, 4),), {"gamma": g.f(3, 4), "axis": (1, 2), "epsilon": 1e-3}),
                            lambda g: ((g.f(3, 4, dtype="float16"), g.f(4)), {})],
    "rms_normalization": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3, 4), g.f(4)), {"epsilon": 1e-3}),
                          lambda g: ((g.f(2, 3, 4),), {"axis": (1, 2)})],
    "normalize": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3, 4),), {"axis": 0, "order": 1}),
                  lambda g: ((g.f(3, 4),), {"order": 3})],
    "dot_product_attention": [
        lambda g: ((g.f(2, 5, 4, 8), g.f(2, 6, 4, 8), g.f(2, 6, 4, 8)), {}),
        lambda g: ((g.f(2, 5, 4, 8), g.f(2, 5, 4, 8), g.f(2, 5, 4, 8)), {"is_causal": True, "scale": 0.3}),
        lambda g: ((g.f(2, 5, 4, 8), g.f(2, 6, 2, 8), g.f(2, 6, 2, 8)), {"mask": g.b(2, 1, 5, 6) | np.eye(5, 6,
                                                                                                        dtype=bool)}),
        lambda g: ((g.f(1, 3, 2, 4), g.f(1, 3, 2, 4), g.f(1, 3, 2, 4)), {"bias": g.f(1, 2, 3, 3)})],
    "psnr": [lambda g: ((g.rng.uniform(0, 1, (4, 4)).astype("float32"), g.rng.uniform(0, 1, (4, 4)).astype("float32"),
                         1.0), {})],
    "depth_to_space": [lambda g: ((g.f(2, 3, 4, 8), 2), {}),
                       lambda g: ((g.f(2, 8, 3, 4), 2), {"data_format": "channels_first"})],
    "space_to_depth": [lambda g: ((g.f(2, 4, 6, 3), 2), {}),
                       lambda g: ((g.f(2, 3, 4, 6), 2), {"data_format": "channels_first"})],
    "unfold": [lambda g: ((g.f(2, 3, 5, 6), 2), {}),
               lambda g: ((g.f(1, 2, 7, 6), (3, 2)), {"dilation": (1, 2), "padding": 1, "stride": 2})],
    "fold": [lambda g: ((g.f(2, 12, 20), (5, 6), 2), {}),
             lambda g: ((g.f(1, 12, 12), (7, 6), (3, 2)), {"dilation": (1, 2), "padding": 1, "stride": 2})],
    # ----- linalg
    "cholesky": [lambda g: ((g.spd(3),), {}), lambda g: ((g.spd(3, (2,)),), {"upper": True})],
    "cholesky_inverse": [lambda g: ((np.linalg.cholesky(g.spd(3)).astype("float32"),), {}),
                         lambda g: ((np.linalg.cholesky(g.spd(3)).T.astype("float32"),), {"upper": True})],
    "det": [lambda g: ((g.f(3, 3),), {}), lambda g: ((g.f(2, 4, 4),), {})],
    "eig": [lambda g: ((g.spd(3),), {})],
    "eigh": [lambda g: ((g.spd(3),), {}), lambda g: ((g.spd(3, (2,)),), {})],
    "inv": [lambda g: ((g.spd(3),), {}), lambda g: ((g.spd(2, (3,)),), {})],
    "lstsq": [lambda g: ((g.f(5, 3), g.f(5)), {}), lambda g: ((g.f(5, 3), g.f(5, 2)), {"rcond": 1e-3})],
    "lu_factor": [lambda g: ((g.f(3, 3),), {}), lambda g: ((g.f(2, 4, 4),), {})],
    "matrix_rank": [lambda g: ((g.f(3, 4),), {}), lambda g: ((np.ones((3, 3), "float32"),), {"tol": 0.1})],
    "norm": [lambda g: ((g.f(5),), {}), lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(3, 4),), {"ord": "fro"}),
             lambda g: ((g.f(3, 4),), {"ord": "nuc"}), lambda g: ((g.f(3, 4),), {"ord": 1, "axis": 1}),
             lambda g: ((g.i(3, 4),), {"ord": np.inf, "axis": 0, "keepdims": True}),
             lambda g: ((g.f(2, 3, 4),), {"axis": (1, 2)})],
    "pinv": [lambda g: ((g.f(3, 4),), {}), lambda g: ((g.f(2, 4, 3),), {"rcond": 1e-2})],
    "qr": [lambda g: ((g.f(4, 3),), {}), lambda g: ((g.f(4, 3),), {"mode": "complete"})],
    "solve": [lambda g: ((g.spd(3), g.f(3)), {}), lambda g: ((g.spd(3), g.f(3, 2)), {})],
    "solve_triangular": [lambda g: ((np.triu(g.spd(3)), g.f(3)), {}),
                         lambda g: ((np.tril(g.spd(3)), g.f(3, 2)), {"lower": True})],
    "svd": [lambda g: ((g.f(4, 3),), {}), lambda g: ((g.f(4, 3),), {"full_matrices": False}),
            lambda g: ((g.f(2, 3, 4),), {"compute_uv": False})],
    "jvp": [Custom(_jvp)],
    # ----- image
    "image.rgb_to_grayscale": [lambda g: ((_image(g),), {}), lambda g: ((_image(g, first=True),), {"data_format":
                                                                                                   "channels_first"}),
                               lambda g: ((_image(g, channels=1, batch=0),), {}),
                               lambda g: (((_image(g) * 255).astype("uint8"),), {})],
    "image.rgb_to_hsv": [lambda g: ((_image(g),), {}), lambda g: ((_image(g, batch=0, first=True),),
                                                                  {"data_format": "channels_first"})],
    "image.hsv_to_rgb": [lambda g: ((_image(g),), {}), lambda g: ((_image(g, first=True),),
                                                                  {"data_format": "channels_first"})],
    "image.resize": [lambda g: ((_image(g), (4, 7)), {}), lambda g: ((_image(g), (9, 3)), {"interpolation": "nearest"}),
                     lambda g: ((_image(g, h=12, w=10), (5, 4)), {"interpolation": "bicubic", "antialias": True}),
                     lambda g: ((_image(g), (4, 8)), {"interpolation": "lanczos3", "crop_to_aspect_ratio": True}),
                     lambda g: ((_image(g), (4, 8)), {"pad_to_aspect_ratio": True, "fill_value": 0.5}),
                     lambda g: ((_image(g, h=8), (8, 2)), {"pad_to_aspect_ratio": True}),
                     lambda g: (((_image(g, batch=0) * 255).astype("uint8"), (3, 3)), {}),
                     lambda g: ((_image(g, first=True), (4, 4)), {"data_format": "channels_first",
                                                                  "interpolation": "lanczos5"})],
    "image.affine_transform": [
        lambda g: ((_image(g, batch=0), np.array([1.0, 0.1, -1.0, 0.2, 0.9, 0.5, 0, 0], "float32")), {}),
        lambda g: ((_image(g), np.array([[1.2, 0.0, 0.5, 0.0, 0.8, -1.0, 0, 0], [0.9, -0.3, 1.0, 0.3, 0.9, 0.0, 0, 0]],
                                        "float32")), {"interpolation": "nearest", "fill_mode": "reflect"}),
        lambda g: ((_image(g, batch=0, first=True), np.array([0.7, 0.1, 0.0, -0.1, 1.1, 0.3, 0, 0], "float32")),
                   {"fill_mode": "wrap", "data_format": "channels_first", "fill_value": 0.7})],
    "image.perspective_transform": [
        lambda g: ((_image(g, batch=1), np.array([[0, 0], [4, 0], [0, 5], [4, 5]], "float32"),
                    np.array([[0.5, 0.2], [4, 0.5], [0, 4.5], [3.5, 5]], "float32")), {}),
        lambda g: ((_image(g), np.array([[[0, 0], [4, 0], [0, 5], [4, 5]]] * 2, "float32"),
                    np.array([[[0.5, 0.2], [4, 0.5], [0, 4.5], [3.5, 5]], [[1, 0], [4, 1], [0, 4], [3, 5]]],
                             "float32")), {"interpolation": "nearest", "fill_value": 0.3})],
    "image.map_coordinates": [
        lambda g: ((g.f(5, 6), g.rng.uniform(-1, 6, (2, 3, 4)).astype("float32"), 1), {}),
        lambda g: ((g.f(5, 6), g.rng.uniform(-1, 6, (2, 7)).astype("float32"), 0), {"fill_mode": "nearest"}),
        lambda g: ((g.f(4, 5, 3), g.rng.uniform(-1, 5, (3, 6)).astype("float32"), 1), {"fill_mode": "wrap"}),
        lambda g: ((g.f(5, 6), g.rng.uniform(-3, 8, (2, 7)).astype("float32"), 1),
                   {"fill_mode": "constant", "fill_value": 2.0})],
    "image.scale_and_translate": [
        lambda g: ((_image(g), (2, 8, 7, 3), np.array([1.5, 1.3], "float32"), np.array([0.5, -1.0], "float32"),
                    (1, 2), "linear"), {}),
        ],
    "image.elastic_transform": [lambda g: ((_image(g, batch=1, first=True),), {"alpha": 0.0, "sigma": 1.0, "seed": 3,
                                                                               "data_format": "channels_first"})],
    "image.gaussian_blur": [lambda g: ((_image(g),), {"data_format": "channels_last"}),
                            lambda g: ((_image(g, h=8, w=9),), {"kernel_size": (3, 5), "sigma": (1.0, 2.0),
                                                                "data_format": "channels_last"}),
                            lambda g: ((_image(g, first=True),), {"data_format": "channels_first"})],
    "image.sobel_edges": [lambda g: ((_image(g),), {}),
                          lambda g: ((_image(g, first=True),), {"data_format": "channels_first"})],
    "image.ssim": [lambda g: ((_image(g, h=16, w=16), _image(g, h=16, w=16)), {}),
                   lambda g: ((_image(g, batch=0, h=12, w=12), _image(g, batch=0, h=12, w=12)),
                              {"filter_size": 5, "max_val": 2.0})],
    "image.extract_patches": [lambda g: ((_image(g, h=6, w=6), 2), {}),
                              lambda g: ((_image(g, h=6, w=7), (2, 3)), {"strides": 1, "padding": "same"}),
                              lambda g: ((_image(g, batch=0, h=7, w=7), 3), {"strides": 2, "dilation_rate": 1}),
                              lambda g: ((_image(g, first=True, h=6, w=6), 2), {"data_format": "channels_first"}),
                              lambda g: ((_image(g, h=6, w=6), 2), {"strides": 1, "dilation_rate": 2})],
    "image.extract_patches_3d": [lambda g: ((g.f(2, 4, 4, 4, 2), 2), {}),
                                 lambda g: ((g.f(4, 5, 4, 2), (2, 3, 2)), {"strides": 1, "padding": "same"})],
    "image.pad_images": [lambda g: ((_image(g),), {"top_padding": 1, "bottom_padding": 2, "left_padding": 0,
                                                   "right_padding": 3}),
                         lambda g: ((_image(g, batch=0),), {"top_padding": 1, "target_height": 9, "right_padding": 1,
                                                            "target_width": 7}),
                         lambda g: ((_image(g, first=True),), {"bottom_padding": 1, "target_height": 9,
                                                               "left_padding": 2, "target_width": 8,
                                                               "data_format": "channels_first"})],
    "image.crop_images": [lambda g: ((_image(g),), {"top_cropping": 1, "bottom_cropping": 2, "left_cropping": 0,
                                                    "right_cropping": 3}),
                          lambda g: ((_image(g, batch=0),), {"top_cropping": 1, "target_height": 3,
                                                             "right_cropping": 1, "target_width": 2}),
                          lambda g: ((_image(g, first=True),), {"bottom_cropping": 1, "target_height": 4,
                                                                "left_cropping": 2, "target_width": 2,
                                                                "data_format": "channels_first"})],
    # ----- random (deterministic given an int seed or a fresh SeedGenerator)
    "random.normal": [case((3, 4), seed=3), case((2,), mean=1.0, stddev=2.0, dtype="float16", seed=7)],
    "random.uniform": [case((3, 4), seed=3), case((5,), minval=-2.0, maxval=5.0, seed=2**32 - 1)],
    "random.truncated_normal": [case((3, 4), seed=3), case((6,), mean=1.0, stddev=0.5, seed=11)],
    "random.randint": [case((3, 4), 0, 10, seed=3), case((5,), -3, 3, dtype="int8", seed=1)],
    "random.categorical": [lambda g: ((g.f(3, 5), 4), {"seed": 3}), lambda g: ((g.f(2, 3), 6), {"seed": 9,
                                                                                              "dtype": "int8"})],
    "random.dropout": [lambda g: ((g.f(4, 5), 0.5), {"seed": 3}), lambda g: ((g.f(4, 5), 0.3), {"noise_shape": (1, 5),
                                                                                              "seed": 1}),
                       lambda g: ((g.f(4, 5), 0.0), {"seed": 1}), lambda g: ((g.f(4, 5), 1.0), {"seed": 1})],
    "random.shuffle": [lambda g: ((g.f(6, 3),), {"seed": 3}), lambda g: ((g.f(3, 6),), {"axis": 1, "seed": 5})],
    "random.gamma": [case((3, 4), 2.0, seed=3), case((5,), 0.5, dtype="float32", seed=1)],
    "random.binomial": [case((3, 4), 10, 0.3, seed=3), case((4,), np.array([5.0, 10.0, 20.0, 1.0]), 0.5, seed=1)],
    "random.beta": [case((3, 4), 2.0, 3.0, seed=3), case((4,), 0.5, 0.5, seed=1)],
    "random.SeedGenerator": [Custom(_seed_generator)],
})

PARTIAL = {
    "sparsemax": "Keras 3.15 on JAX thresholds with the sum of running sums, so its output does not sum to 1 once "
                 "two or more entries are non-zero; compared where one entry dominates (lamina is tested against "
                 "the published algorithm elsewhere)",
    "image.elastic_transform": "Keras draws the row and column displacements from one key (pixels only move "
                               "diagonally); lamina draws them independently, so only alpha=0 is compared",
    "image.affine_transform": "Keras on JAX misapplies the projective terms c0, c1; compared on affine maps",
    "istft": "with window=None Keras on JAX scales the signal by fft_length / sequence_stride, so it does not "
             "invert stft; lamina inverts it (tested on its own); compared with windows",
    "image.gaussian_blur": "Keras on JAX treats data_format=None as channels_first in eager mode; compared with "
                           "data_format given",
}
NOT_COMPARED = {}
