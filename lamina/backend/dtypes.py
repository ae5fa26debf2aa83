"""Dtype names and Keras 3's type promotion (`keras.backend.standardize_dtype` / `result_type`).

Keras promotes on JAX's lattice with two twists that `jnp.result_type` does not have: Python scalars
(`int`, `float`) are *weak* and resolve to the precision of `floatx()` ("float" with floatx float16
gives float16), and 64-bit results become 32-bit, as JAX does without x64.
"""

import functools

from lamina.backend import config
from lamina.backend.config import ALLOWED_DTYPES, standardize_dtype  # noqa: F401 (Keras's names, here too)

INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
FLOAT8_TYPES = ("float8_e4m3fn", "float8_e5m2")
_TO_32 = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}

# Each dtype -> the dtypes just above it ("int"/"float" are the weak Python scalar types).
_LATTICE = {
    "bool": ["int"], "int": ["uint8", "int8", "complex64"],
    "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"], "uint32": ["int64", "uint64"],
    "uint64": ["float"], "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
    "float": ["bfloat16", "float16"], "bfloat16": ["float32"], "float16": ["float32"],
    "float32": ["float64", "complex64"], "float64": ["complex128"], "complex64": ["complex128"],
    "complex128": [],
}


def _upper_bounds():
    bounds = {}
    for node in _LATTICE:
        seen, todo = {node}, [node]
        while todo:
            for up in _LATTICE[todo.pop()]:
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        bounds[node] = seen
    return bounds


_UPPER = _upper_bounds()


@functools.lru_cache(maxsize=512)
def _least_upper_bound(nodes):
    common = set.intersection(*(_UPPER[n] for n in nodes))
    best = [c for c in common if common <= _UPPER[c]]
    if len(best) != 1:
        raise ValueError(f"result_type: the dtypes {sorted(nodes)} have no implicit promotion; cast them first.")
    return best[0]


def _resolve_weak(weak):
    return f"{weak}{config.floatx()[-2:]}"


def result_type(*dtypes):
    """The dtype Keras computes in for inputs of these dtypes (Python `int`/`float` are weak).

    `result_type("int32", float) == "float32"`, `result_type("bfloat16", int) == "bfloat16"`,
    `result_type() == floatx()`; None counts as `floatx()`.
    """
    if not dtypes:
        return config.floatx()
    nodes = []
    for d in dtypes:
        if d is int or d is float:
            nodes.append(d.__name__)
            continue
        name = standardize_dtype(d)
        if name in FLOAT8_TYPES:
            raise ValueError(f"result_type: float8 dtypes have no implicit promotion; cast {name} first. Got {dtypes}.")
        nodes.append(name)
    if all(n in ("int", "float") for n in nodes):
        out = "float" if "float" in nodes else "int"
    else:
        strong = {n for n in nodes if n not in ("int", "float")}
        out = next(iter(strong)) if len(strong) == 1 and len(set(nodes)) == 1 else _least_upper_bound(frozenset(nodes))
    if out in ("int", "float"):
        out = _resolve_weak(out)
    return _TO_32.get(out, out)


def is_float_dtype(dtype):
    name = standardize_dtype(dtype)
    return name.startswith("float") or name.startswith("bfloat")


def is_int_dtype(dtype):
    return standardize_dtype(dtype) in INT_TYPES
