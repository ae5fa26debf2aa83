"""`vmap_lanes`: `jax.vmap` over many small models, with the mapped axis last (minor) inside the program.

`jax.vmap` moves the mapped axis to the front of every batched matrix product, and XLA's CPU backend runs
a batched product of tiny matrices as a loop of GEMM library calls (~1 us each). With the axis last, a
product of small per-model matrices is a fused multiply-reduce whose innermost loop runs over the models
(one SIMD lane each), and elementwise work (activations, optimizer updates) runs over the same lanes.
Measured on a 2-core EPYC, 32 Pima models (8-12-8-1, batch 10, Adam, 16 per core): an epoch of 77 steps
takes 2.3 ms against 3.5 ms under `jax.vmap`.

`vmap_lanes(fn)(*args)` equals `jax.vmap(fn)(*args)` (every argument mapped over axis 0, results stacked
on axis 0; sums up to float rounding). It traces `fn` for one model and evaluates the jaxpr with every
mapped value `x` of per-model shape S held as S + [models]:

- elementwise and reduce primitives run as they are (their axes are unchanged);
- `dot_general` becomes a multiply-reduce over the contracted axes, laid out [contracted..., batch...,
  lhs free..., rhs free..., models];
- `scan`, `cond` (unmapped index) and calls (`jit`, custom derivatives, remat) are evaluated inside; an
  innermost loop (the steps) carries its mapped values of one shape and dtype stacked, so a weight and its
  optimizer slots update in one kernel (XLA:CPU fuses no sibling outputs). A 16-member Pima step then runs
  35 kernels instead of 44 (one is a copy of each stacked carry), an epoch 1.7-1.8 ms instead of 2.3 ms;
  compiling takes ~0.1 s longer;
- anything else runs through `jax.vmap` of that one primitive, its result moved to the last axis.

Values that depend on no mapped input stay unmapped (computed once for every model). When a product has
more than `MAX_TERMS` multiply-adds per model, the jaxpr runs under `jax.vmap` instead: batched GEMMs beat
loops there, and their neighbours are best laid out as they are. So it does on other backends than the CPU,
whose batched products are not loops of library calls.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

#: Programs whose products have at most this many multiply-adds per model (rows x contracted x outputs)
#: run on the lanes. Measured with 8 models at batch 10: 8-32-1 and 8-16-16-1 (512 terms) 0-15% faster than
#: `jax.vmap`, 8-64-64-64-1 (40,960) 40% slower, 2.5x slower still with its products as loops.
MAX_TERMS = 4096

_CALLS = frozenset({"pjit", "jit", "closed_call", "core_call", "remat", "checkpoint", "custom_jvp_call",
                    "custom_vjp_call", "custom_vjp_call_jaxpr"})

_ELEMENTWISE = frozenset("""
    abs acos acosh add add_any and asin asinh atan atan2 atanh cbrt ceil clamp conj convert_element_type copy cos
    cosh digamma div eq erf erf_inv erfc exp exp2 expm1 floor ge gt imag integer_pow is_finite le lgamma log log1p
    logistic lt max min mul ne neg nextafter not or pow real reduce_precision rem round rsqrt select_n shift_left
    shift_right_arithmetic shift_right_logical sign sin sinh sqrt square stop_gradient sub tan tanh xor
""".split())

_REDUCTIONS = frozenset({"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
                         "reduce_xor", "argmax", "argmin"})


def vmap_lanes(fn):
    """`fn` over axis 0 of every argument leaf, like `jax.vmap(fn)`, with the models on the minor axis."""

    def mapped(*args):
        leaves, tree = jax.tree_util.tree_flatten(args)
        size = leaves[0].shape[0]
        one = [jax.ShapeDtypeStruct(np.shape(a)[1:], a.dtype, weak_type=getattr(a, "weak_type", False))
               for a in leaves]
        closed, shapes = jax.make_jaxpr(lambda *ls: fn(*jax.tree_util.tree_unflatten(tree, ls)),
                                        return_shape=True)(*one)
        if jax.default_backend() == "cpu" and _all_products_small(closed.jaxpr):
            lanes = _Lanes(size)
            outs, flags = lanes.closed(closed, [jnp.moveaxis(a, 0, -1) for a in leaves], [True] * len(leaves))
            outs = [jnp.moveaxis(lanes.mapped(o, f), -1, 0) for o, f in zip(outs, flags)]
        else:  # large products run best as batched GEMMs, their neighbours in the same layout
            outs = jax.vmap(lambda *ls: jax.core.eval_jaxpr(closed.jaxpr, closed.consts, *ls))(*leaves)
        return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shapes), outs)

    return mapped


def _all_products_small(jaxpr):
    """Whether every `dot_general` in `jaxpr` (open; nested ones included) has at most `MAX_TERMS` terms."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            (_, rc), (_, rb) = eqn.params["dimension_numbers"]
            lhs, rhs = eqn.invars[0].aval.shape, eqn.invars[1].aval.shape
            if math.prod(lhs) * math.prod(n for i, n in enumerate(rhs) if i not in rc and i not in rb) > MAX_TERMS:
                return False
        for value in eqn.params.values():
            for inner in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(inner, "jaxpr", inner)  # a ClosedJaxpr's open jaxpr
                if hasattr(inner, "eqns") and not _all_products_small(inner):
                    return False
    return True


def _is_literal(v):
    return hasattr(v, "val")


def _jaxpr_and_consts(j):
    """(open jaxpr, consts) of a ClosedJaxpr or an open Jaxpr."""
    return (j.jaxpr, j.consts) if hasattr(j, "consts") else (j, ())


def _call_jaxpr(params):
    return params.get("jaxpr") if params.get("jaxpr") is not None else params.get("call_jaxpr")


class _Lanes:
    """One evaluation of a jaxpr for `size` models; a flag per value says whether it is mapped."""

    def __init__(self, size):
        self.size = size
        self._flag_memo = {}

    def mapped(self, x, flag):
        """`x` (per-model shape S) as S + [models]: broadcast when unmapped."""
        if flag:
            return x
        return lax.broadcast_in_dim(x, np.shape(x) + (self.size,), tuple(range(np.ndim(x))))

    # ----- which values are mapped --------------------------------------------------------------------

    def out_flags(self, jaxpr, flags):
        """Whether each output of `jaxpr` (open) is mapped, given its inputs' flags (mirrors `apply`)."""
        key = (id(jaxpr), tuple(flags))
        if key not in self._flag_memo:
            env = dict(zip(jaxpr.invars, flags))
            read = lambda v: False if _is_literal(v) else env.get(v, False)  # noqa: E731
            for eqn in jaxpr.eqns:
                out = self._eqn_flags(eqn.primitive.name, eqn.params, [read(v) for v in eqn.invars],
                                      len(eqn.outvars))
                env.update(zip(eqn.outvars, out))
            self._flag_memo[key] = (jaxpr, [read(v) for v in jaxpr.outvars])
        return self._flag_memo[key][1]

    def _eqn_flags(self, name, params, flags, n_out):
        if not any(flags):
            return [False] * n_out
        if name in _CALLS:
            return self.out_flags(_jaxpr_and_consts(_call_jaxpr(params))[0], flags)
        if name == "scan":
            carry = self._scan_carry_flags(params, flags)
            body = params["jaxpr"].jaxpr
            nc, nk = params["num_consts"], params["num_carry"]
            return carry + self.out_flags(body, flags[:nc] + carry + flags[nc + nk:])[nk:]
        if name == "cond" and not flags[0]:
            return self._cond_flags(params, flags[1:])
        return [True] * n_out

    def _scan_carry_flags(self, params, flags):
        nc, nk = params["num_consts"], params["num_carry"]
        carry = list(flags[nc:nc + nk])
        while True:
            out = self.out_flags(params["jaxpr"].jaxpr, flags[:nc] + carry + flags[nc + nk:])[:nk]
            grown = [a or b for a, b in zip(carry, out)]
            if grown == carry:
                return carry
            carry = grown

    def _cond_flags(self, params, flags):
        per_branch = [self.out_flags(b.jaxpr, flags) for b in params["branches"]]
        return [any(f) for f in zip(*per_branch)]

    # ----- evaluation ---------------------------------------------------------------------------------

    def closed(self, j, args, flags):
        jaxpr, consts = _jaxpr_and_consts(j)
        return self.evaluate(jaxpr, consts, args, flags)

    def evaluate(self, jaxpr, consts, args, flags):
        """Outputs of `jaxpr` (open; `consts` unmapped) and their flags."""
        env = {v: (c, False) for v, c in zip(jaxpr.constvars, consts)}
        env.update((v, (a, f)) for v, a, f in zip(jaxpr.invars, args, flags))
        read = lambda v: (v.val, False) if _is_literal(v) else env[v]  # noqa: E731
        for eqn in jaxpr.eqns:
            ins = [read(v) for v in eqn.invars]
            outs, out_flags = self.apply(eqn.primitive, [a for a, _ in ins], [f for _, f in ins], eqn.params)
            env.update((v, (o, f)) for v, o, f in zip(eqn.outvars, outs, out_flags))
        res = [read(v) for v in jaxpr.outvars]
        return [a for a, _ in res], [f for _, f in res]

    def apply(self, prim, vals, flags, params):
        """One equation: (outputs, flags)."""
        name = prim.name
        if not any(flags):
            out = prim.bind(*vals, **params)
            out = list(out) if prim.multiple_results else [out]
            return out, [False] * len(out)
        if name in _CALLS:
            return self.closed(_call_jaxpr(params), vals, flags)
        if name == "scan":
            return self._scan(vals, flags, params)
        if name == "cond" and not flags[0]:
            return self._cond(vals, flags, params)
        if name in _ELEMENTWISE:
            return self._elementwise(prim, vals, flags, params)
        if name in _REDUCTIONS or name == "squeeze":
            return [prim.bind(*vals, **params)], [True]
        if name == "broadcast_in_dim" and len(vals) == 1:
            shape = tuple(params["shape"])
            return [lax.broadcast_in_dim(vals[0], shape + (self.size,),
                                         tuple(params["broadcast_dimensions"]) + (len(shape),))], [True]
        if name == "reshape" and len(vals) == 1 and params.get("dimensions") is None:
            return [lax.reshape(vals[0], tuple(params["new_sizes"]) + (self.size,))], [True]
        if name == "transpose":
            perm = tuple(params["permutation"])
            return [lax.transpose(vals[0], perm + (len(perm),))], [True]
        if name == "dot_general":
            product = self._dot(vals, flags, params)
            if product is not None:
                return [product], [True]
        return self._by_vmap(prim, vals, flags, params)

    def _by_vmap(self, prim, vals, flags, params):
        axes = [-1 if f else None for f in flags]
        fn = jax.vmap(lambda *a: prim.bind(*a, **params), in_axes=axes, out_axes=-1, axis_size=self.size)
        out = fn(*vals)
        out = list(out) if prim.multiple_results else [out]
        return out, [True] * len(out)

    def _elementwise(self, prim, vals, flags, params):
        """Operands of one rank (size-1 axes broadcast, as the primitive allows) or scalars, all on the lanes."""
        shapes = [np.shape(v)[:-1] if f else np.shape(v) for v, f in zip(vals, flags)]
        ranks = {len(s) for s in shapes} - {0}
        if len(ranks) > 1:
            return self._by_vmap(prim, vals, flags, params)
        full = np.broadcast_shapes(*shapes)
        lifted = []
        for v, f, shape in zip(vals, flags, shapes):
            if f and not shape and full:  # a mapped scalar among arrays
                v = lax.broadcast_in_dim(v, full + (self.size,), (len(full),))
            elif not f and (shape or not full):  # unmapped arrays; unmapped scalars among scalars
                v = self.mapped(v, False)
            lifted.append(v)
        return [prim.bind(*lifted, **params)], [True]

    def _dot(self, vals, flags, params):
        """A (small) `dot_general` as a multiply-reduce over the contracted axes, or None (mixed or
        low-precision types: `jax.vmap`'s batched product)."""
        (lhs, rhs), (fl, fr) = vals, flags
        (lc, rc), (lb, rb) = params["dimension_numbers"]
        want = params.get("preferred_element_type")
        ls = np.shape(lhs)[:-1] if fl else np.shape(lhs)
        rs = np.shape(rhs)[:-1] if fr else np.shape(rhs)
        lfree = [i for i in range(len(ls)) if i not in lc and i not in lb]
        rfree = [i for i in range(len(rs)) if i not in rc and i not in rb]
        if (lhs.dtype != rhs.dtype or lhs.dtype not in (np.float32, np.float64)
                or (want is not None and np.dtype(want) != lhs.dtype)):
            return None
        n_lf, n_rf = len(lfree), len(rfree)
        # both operands as [contracted..., batch..., lhs free..., rhs free..., models (or 1)]
        lx = lax.transpose(lhs, list(lc) + list(lb) + lfree + ([len(ls)] if fl else []))
        lx = lax.reshape(lx, tuple(ls[i] for i in list(lc) + list(lb) + lfree) + (1,) * n_rf
                         + ((self.size,) if fl else (1,)))
        rx = lax.transpose(rhs, list(rc) + list(rb) + rfree + ([len(rs)] if fr else []))
        rx = lax.reshape(rx, tuple(rs[i] for i in list(rc) + list(rb)) + (1,) * n_lf
                         + tuple(rs[i] for i in rfree) + ((self.size,) if fr else (1,)))
        shape = tuple(max(a, b) for a, b in zip(lx.shape, rx.shape))
        dims = tuple(range(len(shape)))
        product = lax.mul(lax.broadcast_in_dim(lx, shape, dims), lax.broadcast_in_dim(rx, shape, dims))
        return lax.reduce_sum(product, tuple(range(len(lc))))

    def _scan(self, vals, flags, params):
        nc, nk = params["num_consts"], params["num_carry"]
        body = params["jaxpr"]
        carry_flags = self._scan_carry_flags(params, list(flags))
        consts, xs = vals[:nc], vals[nc + nk:]
        init = [v if f else self.mapped(v, False) if want else v
                for v, f, want in zip(vals[nc:nc + nk], flags[nc:nc + nk], carry_flags)]
        in_flags = list(flags[:nc]) + carry_flags + list(flags[nc + nk:])
        y_flags = self.out_flags(body.jaxpr, in_flags)[nk:]

        # A loop of steps carries each weight with its optimizer slots: stacked, they update in one kernel. An
        # outer loop (over epochs) runs its body rarely, and stacking there only costs compile time.
        pack, unpack = (list, list) if _has_loop(body.jaxpr) else _carry_groups(init, carry_flags)

        def step(carry, x):
            outs, out_flags = self.closed(body, list(consts) + unpack(carry) + list(x), in_flags)
            new = [self.mapped(o, f) if want else o for o, f, want in zip(outs[:nk], out_flags[:nk], carry_flags)]
            return pack(new), outs[nk:]

        carry, ys = lax.scan(step, pack(init), xs, length=params["length"], reverse=params["reverse"],
                             unroll=params["unroll"])
        return unpack(carry) + list(ys), carry_flags + y_flags

    def _cond(self, vals, flags, params):
        index, operands, op_flags = vals[0], vals[1:], list(flags[1:])
        out_flags = self._cond_flags(params, op_flags)

        def branch(closed):
            def run(*ops):
                outs, got = self.closed(closed, list(ops), op_flags)
                return [self.mapped(o, f) if want else o for o, f, want in zip(outs, got, out_flags)]
            return run

        outs = lax.switch(index, [branch(b) for b in params["branches"]], *operands)
        return list(outs), out_flags


def _has_loop(jaxpr):
    """Whether `jaxpr` (open) holds a scan or while loop, in any nested jaxpr (calls, cond branches) too."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in ("scan", "while"):
            return True
        for param in eqn.params.values():
            for sub in param if isinstance(param, (tuple, list)) else (param,):
                sub = getattr(sub, "jaxpr", sub)
                if hasattr(sub, "eqns") and _has_loop(sub):
                    return True
    return False


def _carry_groups(carry, flags):
    """(pack, unpack): the mapped carries of one shape and dtype stacked on a new first axis (a weight and its
    optimizer slots then update in one loop), and back."""
    groups = {}
    for i, (c, f) in enumerate(zip(carry, flags)):
        if f:
            groups.setdefault((np.shape(c), np.dtype(c.dtype)), []).append(i)
    groups = [g for g in groups.values() if len(g) > 1]
    grouped = {i for g in groups for i in g}
    alone = [i for i in range(len(carry)) if i not in grouped]

    def pack(values):
        return [values[i] for i in alone] + [jnp.stack([values[i] for i in g]) for g in groups]

    def unpack(packed):
        out = [None] * len(carry)
        for i, v in zip(alone, packed):
            out[i] = v
        for g, stacked in zip(groups, packed[len(alone):]):
            for k, i in enumerate(g):
                out[i] = stacked[k]
        return out

    return pack, unpack


def compiler_options():
    """XLA options for programs that use `vmap_lanes` (on the CPU): no YNNPACK fusions, whose library calls
    would take back the multiply-reduce loops (measured: 43 us per 16-member Pima step with, 25 us without),
    and copy insertion by region analysis, which spares the step's loop a copy of each carried weight
    that it updates (7 copy kernels per Pima step)."""
    if jax.default_backend() != "cpu":
        return {}
    return {"xla_cpu_experimental_ynn_fusion_type": "", "xla_cpu_copy_insertion_use_region_analysis": True}
