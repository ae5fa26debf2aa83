"""Element-wise math of the NumPy family: `sin`, `add`, `greater`, `bitwise_and`, ...

Most are `jax.numpy` functions under Keras's names, with Keras's dtype rules: the transcendental ones
(`sin`, `exp`, `arctan2`, `ceil`, ...) compute integer and bool inputs in floatx(); the rest keep
JAX's promotion (which Keras uses too), with Python scalars weakly typed.
"""

import jax.numpy as jnp

from lamina.backend import dtypes as _dtypes
from lamina.ops.core import as_float, tensor
from lamina.backend.dispatch import keras_op, make_op

__all__ = [
    "abs", "absolute", "add", "allclose", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan",
    "arctan2", "arctanh", "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "cbrt", "ceil", "clip", "conj", "conjugate", "copy", "cos", "cosh",
    "deg2rad", "divide", "divide_no_nan", "equal", "exp", "exp2", "expm1", "fabs", "floor", "floor_divide",
    "fmax", "fmin", "fmod", "gcd", "greater", "greater_equal", "heaviside", "hypot", "i0", "imag", "isclose",
    "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal", "lcm", "ldexp", "left_shift", "less",
    "less_equal", "log", "log10", "log1p", "log2", "logaddexp", "logaddexp2", "logical_and", "logical_not",
    "logical_or", "logical_xor", "maximum", "minimum", "mod", "multiply", "nan_to_num", "negative",
    "nextafter", "not_equal", "power", "rad2deg", "real", "reciprocal", "right_shift", "round", "sign",
    "signbit", "sin", "sinc", "sinh", "sqrt", "square", "subtract", "tan", "tanh", "true_divide", "trunc",
]


def _unary(name, fn, doc, *, to_float=False):
    def op(x):
        x = tensor(x)
        return fn(as_float(x) if to_float else x)

    return make_op(op, name, doc, __name__)


def _binary(name, fn, doc, *, to_float=False):
    def op(x1, x2):
        x1, x2 = tensor(x1), tensor(x2)
        if to_float:
            common = _dtypes.result_type(x1.dtype, x2.dtype, float)
            x1, x2 = x1.astype(common), x2.astype(common)
        return fn(x1, x2)

    return make_op(op, name, doc, __name__)


# ----- one argument ---------------------------------------------------------------------------------

absolute = _unary("absolute", jnp.absolute, "Absolute value, element-wise (complex: the modulus).")
abs = _unary("abs", jnp.absolute, "Absolute value, element-wise (same as `absolute`).")
negative = _unary("negative", jnp.negative, "`-x`, element-wise.")
sign = _unary("sign", jnp.sign, "-1, 0 or 1 by the sign of `x`, element-wise (same dtype).")
signbit = _unary("signbit", jnp.signbit, "Whether the sign bit is set (True for -0.0), element-wise.")
square = _unary("square", jnp.square, "`x * x`, element-wise (same dtype).")
sqrt = _unary("sqrt", jnp.sqrt, "Square root, element-wise (integers give float32).")
cbrt = _unary("cbrt", jnp.cbrt, "Cube root, element-wise.")
reciprocal = _unary("reciprocal", jnp.reciprocal, "`1 / x`, element-wise.")
exp = _unary("exp", jnp.exp, "`e ** x`, element-wise.", to_float=True)
exp2 = _unary("exp2", jnp.exp2, "`2 ** x`, element-wise.", to_float=True)
expm1 = _unary("expm1", jnp.expm1, "`exp(x) - 1`, accurate near 0.", to_float=True)
log = _unary("log", jnp.log, "Natural logarithm, element-wise.")
log2 = _unary("log2", jnp.log2, "Base-2 logarithm, element-wise.")
log10 = _unary("log10", jnp.log10, "Base-10 logarithm, element-wise.")
log1p = _unary("log1p", jnp.log1p, "`log(1 + x)`, accurate near 0.")
sin = _unary("sin", jnp.sin, "Sine (radians), element-wise.", to_float=True)
cos = _unary("cos", jnp.cos, "Cosine (radians), element-wise.", to_float=True)
tan = _unary("tan", jnp.tan, "Tangent (radians), element-wise.", to_float=True)
arcsin = _unary("arcsin", jnp.arcsin, "Inverse sine, element-wise.", to_float=True)
arccos = _unary("arccos", jnp.arccos, "Inverse cosine, element-wise.", to_float=True)
arctan = _unary("arctan", jnp.arctan, "Inverse tangent, element-wise.", to_float=True)
sinh = _unary("sinh", jnp.sinh, "Hyperbolic sine, element-wise.", to_float=True)
cosh = _unary("cosh", jnp.cosh, "Hyperbolic cosine, element-wise.", to_float=True)
tanh = _unary("tanh", jnp.tanh, "Hyperbolic tangent, element-wise.", to_float=True)
arcsinh = _unary("arcsinh", jnp.arcsinh, "Inverse hyperbolic sine, element-wise.", to_float=True)
arccosh = _unary("arccosh", jnp.arccosh, "Inverse hyperbolic cosine, element-wise.", to_float=True)
arctanh = _unary("arctanh", jnp.arctanh, "Inverse hyperbolic tangent, element-wise.", to_float=True)
sinc = _unary("sinc", jnp.sinc, "Normalized sinc `sin(pi x) / (pi x)`, element-wise.", to_float=True)
angle = _unary("angle", jnp.angle, "Angle of the complex argument (radians), element-wise.", to_float=True)
ceil = _unary("ceil", jnp.ceil, "Smallest integer >= x, element-wise (as floats).", to_float=True)
floor = _unary("floor", jnp.floor, "Largest integer <= x, element-wise (as floats).", to_float=True)
deg2rad = _unary("deg2rad", jnp.deg2rad, "Degrees to radians, element-wise.")
rad2deg = _unary("rad2deg", jnp.rad2deg, "Radians to degrees, element-wise.")
conjugate = _unary("conjugate", jnp.conjugate, "Complex conjugate, element-wise.")
conj = _unary("conj", jnp.conjugate, "Complex conjugate, element-wise (same as `conjugate`).")
real = _unary("real", jnp.real, "Real part, element-wise.")
imag = _unary("imag", jnp.imag, "Imaginary part, element-wise.")
copy = _unary("copy", jnp.copy, "A copy of `x`.")
isfinite = _unary("isfinite", jnp.isfinite, "Whether each element is finite (not inf, not NaN).")
isinf = _unary("isinf", jnp.isinf, "Whether each element is +inf or -inf.")
isnan = _unary("isnan", jnp.isnan, "Whether each element is NaN.")
isneginf = _unary("isneginf", jnp.isneginf, "Whether each element is -inf.")
isposinf = _unary("isposinf", jnp.isposinf, "Whether each element is +inf.")
isreal = _unary("isreal", jnp.isreal, "Whether each element has a zero imaginary part.")
logical_not = _unary("logical_not", jnp.logical_not, "Logical NOT, element-wise (bool result).")
bitwise_invert = _unary("bitwise_invert", jnp.invert, "Bit-wise NOT of integers (logical NOT of bools).")
bitwise_not = _unary("bitwise_not", jnp.invert, "Bit-wise NOT (same as `bitwise_invert`).")


def _i0(x):
    name = _dtypes.standardize_dtype(x.dtype)
    target = name if name in ("bfloat16", "float16") else (
        "float64" if name in ("int64", "float64") else _dtypes.result_type(None))
    return jnp.i0(x.astype(_dtypes.result_type(target)))


i0 = _unary("i0", _i0, "Modified Bessel function of the first kind, order 0 (computed in floatx()).")


def _trunc(x):
    return x if not jnp.issubdtype(x.dtype, jnp.inexact) else jnp.trunc(x)


trunc = _unary("trunc", _trunc, "Round toward zero, element-wise (integers pass through unchanged).")


def _fabs(x):
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"fabs: complex inputs are not supported (use `absolute`); got dtype {x.dtype.name}.")
    return jnp.fabs(x)


fabs = _unary("fabs", _fabs, "Absolute value as floats, element-wise (complex inputs are refused).")


@keras_op
def round(x, decimals=0):
    """Round half to even, to `decimals` places (negative: tens, hundreds, ...); integers stay integers."""
    x = tensor(x)
    if jnp.issubdtype(x.dtype, jnp.integer) and decimals < 0:
        factor = jnp.asarray(10.0**decimals, _dtypes.result_type(None))
        return (jnp.round(x.astype(factor.dtype) * factor) / factor).astype(x.dtype)
    return jnp.round(x, decimals=decimals)


@keras_op
def clip(x, x_min, x_max):
    """`x` limited to `[x_min, x_max]`, element-wise (bools are clipped as int32)."""
    x = tensor(x)
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.clip(x, x_min, x_max)


@keras_op
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """`x` with NaN replaced by `nan` and infinities by `posinf`/`neginf` (default: the dtype's extremes)."""
    return jnp.nan_to_num(tensor(x), nan=nan, posinf=posinf, neginf=neginf)


# ----- two arguments --------------------------------------------------------------------------------

add = _binary("add", jnp.add, "`x1 + x2`, element-wise with broadcasting.")
subtract = _binary("subtract", jnp.subtract, "`x1 - x2`, element-wise with broadcasting.")
multiply = _binary("multiply", jnp.multiply, "`x1 * x2`, element-wise with broadcasting.")
divide = _binary("divide", jnp.divide, "`x1 / x2` (true division: integers give floats).")
true_divide = _binary("true_divide", jnp.true_divide, "`x1 / x2` (same as `divide`).")
floor_divide = _binary("floor_divide", jnp.floor_divide, "`x1 // x2`, element-wise.")
power = _binary("power", jnp.power, "`x1 ** x2`, element-wise.")
mod = _binary("mod", jnp.mod, "Remainder of `x1 / x2` with the sign of `x2` (Python's `%`).")
fmod = _binary("fmod", jnp.fmod, "Remainder of `x1 / x2` with the sign of `x1` (C's `fmod`).")
maximum = _binary("maximum", jnp.maximum, "Element-wise maximum (NaN propagates).")
minimum = _binary("minimum", jnp.minimum, "Element-wise minimum (NaN propagates).")
fmax = _binary("fmax", jnp.fmax, "Element-wise maximum ignoring NaN.")
fmin = _binary("fmin", jnp.fmin, "Element-wise minimum ignoring NaN.")
hypot = _binary("hypot", jnp.hypot, "`sqrt(x1**2 + x2**2)`, element-wise.")
heaviside = _binary("heaviside", jnp.heaviside, "Heaviside step: 0 below 0, `x2` at 0, 1 above.")
gcd = _binary("gcd", jnp.gcd, "Greatest common divisor of integers, element-wise.")
lcm = _binary("lcm", jnp.lcm, "Least common multiple of integers, element-wise.")
nextafter = _binary("nextafter", jnp.nextafter, "The next float after `x1` toward `x2`, element-wise.")
arctan2 = _binary("arctan2", jnp.arctan2, "Angle of the point (x2, x1) in radians, in [-pi, pi].", to_float=True)
logaddexp = _binary("logaddexp", jnp.logaddexp, "`log(exp(x1) + exp(x2))`, computed stably.", to_float=True)
logaddexp2 = _binary("logaddexp2", jnp.logaddexp2, "`log2(2**x1 + 2**x2)`, computed stably.", to_float=True)
equal = _binary("equal", jnp.equal, "`x1 == x2`, element-wise (bool).")
not_equal = _binary("not_equal", jnp.not_equal, "`x1 != x2`, element-wise (bool).")
greater = _binary("greater", jnp.greater, "`x1 > x2`, element-wise (bool).")
greater_equal = _binary("greater_equal", jnp.greater_equal, "`x1 >= x2`, element-wise (bool).")
less = _binary("less", jnp.less, "`x1 < x2`, element-wise (bool).")
less_equal = _binary("less_equal", jnp.less_equal, "`x1 <= x2`, element-wise (bool).")
logical_and = _binary("logical_and", jnp.logical_and, "Logical AND, element-wise (bool).")
logical_or = _binary("logical_or", jnp.logical_or, "Logical OR, element-wise (bool).")
logical_xor = _binary("logical_xor", jnp.logical_xor, "Logical XOR, element-wise (bool).")


def _bitwise(name, fn, doc):
    def op(x, y):
        return fn(tensor(x), y if isinstance(y, int) else tensor(y))

    return make_op(op, name, doc, __name__)


bitwise_and = _bitwise("bitwise_and", jnp.bitwise_and, "Bit-wise AND of integers or bools.")
bitwise_or = _bitwise("bitwise_or", jnp.bitwise_or, "Bit-wise OR of integers or bools.")
bitwise_xor = _bitwise("bitwise_xor", jnp.bitwise_xor, "Bit-wise XOR of integers or bools.")
bitwise_left_shift = _bitwise("bitwise_left_shift", jnp.left_shift, "`x << y`, element-wise.")
left_shift = _bitwise("left_shift", jnp.left_shift, "`x << y` (same as `bitwise_left_shift`).")
bitwise_right_shift = _bitwise("bitwise_right_shift", jnp.right_shift, "`x >> y`, element-wise.")
right_shift = _bitwise("right_shift", jnp.right_shift, "`x >> y` (same as `bitwise_right_shift`).")


@keras_op
def divide_no_nan(x1, x2):
    """`x1 / x2`, with 0 wherever `x2` is 0 (instead of inf or NaN)."""
    x1, x2 = tensor(x1), tensor(x2)
    safe = jnp.where(x2 == 0, 1, x2)
    return jnp.where(x2 == 0, 0, jnp.divide(x1, safe))


@keras_op
def ldexp(x1, x2):
    """`x1 * 2 ** x2` for an integer exponent `x2`."""
    x1, x2 = tensor(x1), tensor(x2)
    if _dtypes.standardize_dtype(x2.dtype) not in _dtypes.INT_TYPES:
        raise TypeError(f"ldexp: the exponent `x2` must have an integer dtype, got {x2.dtype.name}.")
    return jnp.ldexp(x1, x2)


@keras_op
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether `|x1 - x2| <= atol + rtol * |x2|`, element-wise."""
    return jnp.isclose(tensor(x1), tensor(x2), rtol, atol, equal_nan)


@keras_op
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether `isclose` holds for every element (a scalar bool)."""
    return jnp.allclose(tensor(x1), tensor(x2), rtol, atol, equal_nan)
