"""Run a traced JAX program (a jaxpr) with NumPy, for low-latency inference on the CPU.

An XLA call on a tiny batch costs more than its math: a 1x784 @ 784x784
product takes 60-150 us through XLA on a small CPU and ~25 us through NumPy's
BLAS. `NumpyProgram` turns a closed jaxpr, once, into one generated Python
function of NumPy calls; running it is one NumPy call per operation. Only primitives with an exact
NumPy counterpart are covered; anything else raises `Unsupported` when the
program is built, and the caller keeps using XLA.

    program = NumpyProgram(jax.make_jaxpr(fn)(*example_args))
    outputs = program(*flat_args)      # list of NumPy arrays, one per jaxpr output
"""

import numpy as np


class Unsupported(Exception):
    """The jaxpr uses a primitive (or a form of one) this evaluator does not run."""


class NumpyProgram:
    """A closed jaxpr compiled into NumPy calls over numbered slots.

    Shapes and dtypes are those of the trace; the outputs' are checked against
    it once, on zeros, when the program is built.
    """

    def __init__(self, closed_jaxpr):
        self._initial = []  # slot -> constant value (None for computed slots)
        self._shapes = []  # slot -> shape of the value it will hold
        self._full = {}  # slot of a not yet broadcast value -> (traced shape, slot of the broadcast copy)
        self._steps = []  # (fn, input slots, output slot or tuple of slots)
        jaxpr = closed_jaxpr.jaxpr
        self._inputs = [self._new_slot(shape=v.aval.shape) for v in jaxpr.invars]
        self._input_dtypes = [np.dtype(v.aval.dtype) for v in jaxpr.invars]
        self._outputs = [self._materialized(s) for s in self._emit(jaxpr, closed_jaxpr.consts, self._inputs)]
        self._run = self._straight_line()
        self._check_shapes(jaxpr)

    def __call__(self, *args):
        args = [a if a.dtype == dtype else np.asarray(a, dtype)  # as JAX canonicalizes inputs
                for a, dtype in zip(args, self._input_dtypes)]
        with np.errstate(all="ignore"):  # inf/nan follow IEEE as in XLA, without NumPy's warnings
            outputs = self._run(*args)
        return [np.array(out) for out in outputs]  # owned copies, never views of inputs

    def _straight_line(self):
        """The steps as one generated Python function (one call per step, no interpreter loop).

        The source holds only slot numbers; functions and constants come from its namespace.
        """
        namespace = {f"s{slot}": value for slot, value in enumerate(self._initial) if value is not None}
        namespace["__name__"] = __name__  # the generated function is lamina's code (program keys trust it)
        lines = [f"def run({', '.join(f's{slot}' for slot in self._inputs)}):"]
        for k, (fn, ins, out) in enumerate(self._steps):
            namespace[f"f{k}"] = fn
            target = "".join(f"s{slot}, " for slot in out) if isinstance(out, tuple) else f"s{out}"
            lines.append(f"    {target} = f{k}({', '.join(f's{slot}' for slot in ins)})")
        lines.append(f"    return [{', '.join(f's{slot}' for slot in self._outputs)}]")
        exec(compile("\n".join(lines), "<lamina NumpyProgram>", "exec"), namespace)  # noqa: S102
        return namespace["run"]

    # ----- building ------------------------------------------------------------------------

    def _new_slot(self, value=None, shape=None):
        self._initial.append(value)
        self._shapes.append(tuple(np.shape(value) if shape is None else shape))
        return len(self._initial) - 1

    def _materialized(self, slot):
        """`slot`, or a slot holding its broadcast to the traced shape (emitted once)."""
        if slot not in self._full:
            return slot
        shape, full = self._full[slot]
        if full is None:
            full = self._new_slot(shape=shape)
            self._steps.append((lambda x, shape=shape: np.broadcast_to(x, shape), [slot], full))
            self._full[slot] = (shape, full)
        return full

    def _emit(self, jaxpr, consts, in_slots):
        env = {}
        for var, value in zip(jaxpr.constvars, consts):
            env[var] = self._new_slot(np.asarray(value))
        env.update(zip(jaxpr.invars, in_slots))

        def read(atom):
            # a Literal is the atom with a `val` (importing jax.extend.core to name it imports all of
            # jax.extend, Pallas included: ~25 ms on a process's first NumPy program)
            if hasattr(atom, "val"):
                return self._new_slot(np.asarray(atom.val, dtype=atom.aval.dtype))
            return env[atom]

        for eqn in jaxpr.eqns:
            name = eqn.primitive.name
            ins = [read(a) for a in eqn.invars]
            out_shapes = [tuple(v.aval.shape) for v in eqn.outvars]
            inner = _inner_jaxpr(eqn)
            if inner is not None:
                outs = self._emit(inner[0], inner[1], ins)
            elif name in _IDENTITY:
                outs = ins
            elif name == "broadcast_in_dim" and not eqn.params.get("sharding"):
                outs = [self._lazy_broadcast(ins[0], eqn.params, out_shapes[0])]
            else:
                rule = _RULES.get(name)
                if rule is None:
                    raise Unsupported(f"no NumPy rule for the primitive '{name}'")
                if not (name in _ELEMENTWISE and _broadcasts_to([self._shapes[i] for i in ins], out_shapes[0])):
                    ins = [self._materialized(i) for i in ins]
                fn = rule(eqn.params, [a.aval for a in eqn.invars], [v.aval for v in eqn.outvars])
                outs = [self._new_slot(shape=shape) for shape in out_shapes]
                self._steps.append((fn, ins, tuple(outs) if eqn.primitive.multiple_results else outs[0]))
            for var, slot in zip(eqn.outvars, outs):
                env[var] = slot
        return [read(a) for a in jaxpr.outvars]

    def _lazy_broadcast(self, slot, params, shape):
        """broadcast_in_dim as a reshape only; elementwise consumers let NumPy broadcast the rest."""
        source = self._materialized(slot)
        expanded = [1] * len(shape)
        for i, dim in enumerate(params["broadcast_dimensions"]):
            expanded[dim] = self._shapes[source][i]
        expanded = tuple(expanded)
        out = self._new_slot(shape=expanded)
        self._steps.append((lambda x: x.reshape(expanded), [source], out))
        if expanded != shape:
            self._full[out] = (shape, None)
        return out

    def _check_shapes(self, jaxpr):
        """Run once on zeros and compare every output's shape and dtype with the trace."""
        zeros = [np.zeros(v.aval.shape, v.aval.dtype) for v in jaxpr.invars]
        for got, var in zip(self(*zeros), jaxpr.outvars):
            if got.shape != tuple(var.aval.shape) or got.dtype != var.aval.dtype:
                raise Unsupported(f"NumPy gives {got.dtype}{list(got.shape)} where the trace has "
                                  f"{var.aval.dtype}{list(var.aval.shape)}")


def _inner_jaxpr(eqn):
    """(jaxpr, consts) of a call-like equation (jit, custom_jvp/vjp, checkpoint), else None."""
    if eqn.primitive.name not in _INLINED:
        return None
    for name in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        inner = eqn.params.get(name)
        if inner is not None:
            if hasattr(inner, "consts"):
                return inner.jaxpr, inner.consts
            return inner, ()
    raise Unsupported(f"'{eqn.primitive.name}' without an inner jaxpr")


def _broadcasts_to(shapes, shape):
    try:
        return np.broadcast_shapes(*shapes) == shape
    except ValueError:
        return False


_INLINED = {"jit", "pjit", "closed_call", "core_call", "custom_jvp_call", "custom_vjp_call", "remat", "checkpoint"}


# ----- rules: (params, input avals, output avals) -> fn(*arrays) ----------------------------------

def _same(fn):
    return lambda params, ins, outs: fn


def _integer_divide(a, b):
    return np.fix(np.true_divide(a, b)).astype(a.dtype)


def _divide(params, ins, outs):
    return _integer_divide if np.issubdtype(outs[0].dtype, np.integer) else np.true_divide


def _logistic(x):
    return np.exp(-np.logaddexp(0, -x)).astype(x.dtype)


def _round(params, ins, outs):
    if int(params["rounding_method"]) == 1:  # to nearest even
        return np.round
    return lambda x: (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(x.dtype)


def _select_n(which, *cases):
    if which.dtype == np.bool_:
        return np.where(which, cases[1], cases[0]) if len(cases) == 2 else cases[0]
    return np.choose(which, cases)


def _convert(params, ins, outs):
    dtype = np.dtype(params["new_dtype"])
    return lambda x: np.asarray(x).astype(dtype)


def _reduction(numpy_fn, typed):
    def rule(params, ins, outs):
        axes = tuple(params["axes"])
        if typed:
            return lambda x: numpy_fn(x, axis=axes, dtype=outs[0].dtype)
        return lambda x: numpy_fn(x, axis=axes)
    return rule


def _arg_reduction(numpy_fn):
    def rule(params, ins, outs):
        (axis,), dtype = params["axes"], np.dtype(params["index_dtype"])
        return lambda x: numpy_fn(x, axis=axis).astype(dtype)
    return rule


def _reshape(params, ins, outs):
    if params.get("dimensions") is not None:
        raise Unsupported("reshape with dimensions")
    shape = tuple(outs[0].shape)
    return lambda x: x.reshape(shape)


def _squeeze(params, ins, outs):
    axes = tuple(params["dimensions"])
    return lambda x: np.squeeze(x, axis=axes)


def _transpose(params, ins, outs):
    perm = tuple(params["permutation"])
    return lambda x: np.transpose(x, perm)


def _rev(params, ins, outs):
    axes = tuple(params["dimensions"])
    return lambda x: np.flip(x, axes)


def _concatenate(params, ins, outs):
    axis = params["dimension"]
    return lambda *xs: np.concatenate(xs, axis=axis)


def _slice(params, ins, outs):
    strides = params.get("strides") or [1] * len(params["start_indices"])
    index = tuple(slice(s, e, st) for s, e, st in zip(params["start_indices"], params["limit_indices"], strides))
    return lambda x: x[index]


def _dynamic_slice(params, ins, outs):
    sizes = tuple(params["slice_sizes"])
    dims = ins[0].shape

    def fn(x, *starts):
        index = tuple(slice(s, s + n) for s, n in
                      ((min(max(int(s), 0), d - n), n) for s, n, d in zip(starts, sizes, dims)))
        return x[index]
    return fn


def _iota(params, ins, outs):
    shape, dim, dtype = tuple(params["shape"]), params["dimension"], np.dtype(params["dtype"])
    axis_shape = [1] * len(shape)
    axis_shape[dim] = shape[dim]
    value = np.broadcast_to(np.arange(shape[dim], dtype=dtype).reshape(axis_shape), shape)
    return lambda: value


def _clamp(params, ins, outs):
    return lambda lo, x, hi: np.minimum(np.maximum(x, lo), hi)


def _integer_pow(params, ins, outs):
    y = int(params["y"])
    if y < 0:
        return lambda x: np.reciprocal(np.power(x, -y))
    return lambda x: np.power(x, y)


class _Aval:
    """Shape and dtype of an operand, as a rule sees it."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self.ndim = tuple(shape), np.dtype(dtype), len(shape)


def _dot_general(params, ins, outs):
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = params["dimension_numbers"]
    dtype = outs[0].dtype
    lhs, rhs = ins
    if lhs.dtype != dtype or rhs.dtype != dtype:  # e.g. int8 x int8 -> int32: multiply in the wider type
        product = _dot_general(params, [_Aval(lhs.shape, dtype), _Aval(rhs.shape, dtype)], outs)
        return lambda a, b: product(a.astype(dtype), b.astype(dtype))
    if not lhs_batch and tuple(lhs_contract) == (lhs.ndim - 1,) and tuple(rhs_contract) == (0,) and rhs.ndim <= 2:
        return lambda a, b: np.matmul(a, b).astype(dtype, copy=False)
    if not lhs_batch:
        axes = (tuple(lhs_contract), tuple(rhs_contract))
        return lambda a, b: np.tensordot(a, b, axes=axes).astype(dtype, copy=False)
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    lhs_names = [next(letters) for _ in range(lhs.ndim)]
    rhs_names = [next(letters) for _ in range(rhs.ndim)]
    for l, r in zip(list(lhs_contract) + list(lhs_batch), list(rhs_contract) + list(rhs_batch)):
        rhs_names[r] = lhs_names[l]
    out = ([lhs_names[d] for d in lhs_batch]
           + [n for d, n in enumerate(lhs_names) if d not in lhs_contract and d not in lhs_batch]
           + [n for d, n in enumerate(rhs_names) if d not in rhs_contract and d not in rhs_batch])
    spec = f"{''.join(lhs_names)},{''.join(rhs_names)}->{''.join(out)}"
    return lambda a, b: np.einsum(spec, a, b).astype(dtype, copy=False)


def _pad(params, ins, outs):
    config = params["padding_config"]
    if any(lo < 0 or hi < 0 or interior for lo, hi, interior in config):
        raise Unsupported("pad with negative or interior padding")
    widths = tuple((lo, hi) for lo, hi, _ in config)
    return lambda x, value: np.pad(x, widths, constant_values=value)


def _cumulative(numpy_fn):
    def rule(params, ins, outs):
        axis, reverse, dtype = params["axis"], params["reverse"], outs[0].dtype
        if reverse:
            return lambda x: np.flip(numpy_fn(np.flip(x, axis), axis=axis, dtype=dtype), axis)
        return lambda x: numpy_fn(x, axis=axis, dtype=dtype)
    return rule


def _split(params, ins, outs):
    axis = params["axis"]
    cuts = np.cumsum(params["sizes"])[:-1]
    return lambda x: np.split(x, cuts, axis=axis)


_RULES = {
    "add": _same(np.add), "sub": _same(np.subtract), "mul": _same(np.multiply), "div": _divide,
    "rem": _same(np.fmod), "max": _same(np.maximum), "min": _same(np.minimum), "pow": _same(np.power),
    "atan2": _same(np.arctan2), "neg": _same(np.negative), "abs": _same(np.abs), "sign": _same(np.sign),
    "exp": _same(np.exp), "exp2": _same(np.exp2), "log": _same(np.log), "log1p": _same(np.log1p),
    "expm1": _same(np.expm1), "tanh": _same(np.tanh), "sin": _same(np.sin), "cos": _same(np.cos),
    "tan": _same(np.tan), "asin": _same(np.arcsin), "acos": _same(np.arccos), "atan": _same(np.arctan),
    "sinh": _same(np.sinh), "cosh": _same(np.cosh), "sqrt": _same(np.sqrt), "cbrt": _same(np.cbrt),
    "rsqrt": _same(lambda x: np.reciprocal(np.sqrt(x))), "square": _same(np.square),
    "logistic": _same(_logistic), "floor": _same(np.floor), "ceil": _same(np.ceil), "round": _round,
    "is_finite": _same(np.isfinite), "integer_pow": _integer_pow,
    "eq": _same(np.equal), "ne": _same(np.not_equal), "lt": _same(np.less), "le": _same(np.less_equal),
    "gt": _same(np.greater), "ge": _same(np.greater_equal),
    "not": _same(np.invert), "and": _same(np.bitwise_and), "or": _same(np.bitwise_or),
    "xor": _same(np.bitwise_xor),
    "select_n": _same(_select_n), "clamp": _clamp, "convert_element_type": _convert,
    "reduce_sum": _reduction(np.add.reduce, True), "reduce_prod": _reduction(np.multiply.reduce, True),
    "reduce_max": _reduction(np.maximum.reduce, False), "reduce_min": _reduction(np.minimum.reduce, False),
    "reduce_and": _reduction(np.logical_and.reduce, False), "reduce_or": _reduction(np.logical_or.reduce, False),
    "argmax": _arg_reduction(np.argmax), "argmin": _arg_reduction(np.argmin),
    "cumsum": _cumulative(np.cumsum), "cumprod": _cumulative(np.cumprod),
    "reshape": _reshape, "squeeze": _squeeze,
    "transpose": _transpose, "rev": _rev, "concatenate": _concatenate, "slice": _slice, "dynamic_slice": _dynamic_slice,
    "iota": _iota, "dot_general": _dot_general, "pad": _pad, "split": _split,
}

#: Primitives whose result is their operand.
_IDENTITY = {"stop_gradient", "copy", "copy_p", "optimization_barrier"}

#: Primitives computed element by element, so NumPy broadcasting of their operands gives the traced result.
_ELEMENTWISE = {
    "add", "sub", "mul", "div", "rem", "max", "min", "pow", "atan2", "neg", "abs", "sign", "exp", "exp2", "log",
    "log1p", "expm1", "tanh", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "sqrt", "cbrt", "rsqrt",
    "square", "logistic", "floor", "ceil", "round", "is_finite", "integer_pow", "eq", "ne", "lt", "le", "gt", "ge",
    "not", "and", "or", "xor", "select_n", "clamp", "convert_element_type",
}


def evaluate(fn, *args):
    """`fn(*args)` for a JAX-traceable `fn` of arrays, computed with NumPy (no XLA compilation): its
    outputs as a tree of NumPy arrays. Raises `Unsupported` when the trace needs a primitive not covered."""
    import jax

    closed, shapes = jax.make_jaxpr(fn, return_shape=True)(*args)
    outputs = NumpyProgram(closed)(*[np.asarray(a) for a in jax.tree_util.tree_leaves(args)])
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shapes), outputs)
