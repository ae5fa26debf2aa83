"""Side-by-side speed benchmarks: lamina against Keras 3 (JAX, TensorFlow) and a plain PyTorch loop.

Run `python -m benchmarks` (see `benchmarks/__main__.py` and `RESULTS.md`). Every measurement runs
in a fresh process (`python -m benchmarks.worker`), systems alternate round by round, and the
driver reports min / median / max and per-round ratios beside the machine's own GEMM rate.
"""
