"""Small 2-D classification sets for teaching and tests (the TensorFlow Playground shapes).

Every generator returns `(x, y)`: `x` float32 of shape `(n_samples, 2)`, `y` int32 of shape
`(n_samples,)` with class indices. Samples are shuffled (classes interleaved, so
`validation_split` takes a fair slice). `noise` is the standard deviation of Gaussian noise
added to the coordinates after labelling, and `seed` (int, None, or a
`numpy.random.Generator`) makes the draw reproducible.

>>> x, y = make_moons(200, noise=0.1, seed=0)
>>> x.shape, y.shape
((200, 2), (200,))
"""

import numpy as np


def _check(n_samples, noise, seed):
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"`n_samples` must be a positive int, got {n_samples!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"`noise` must be a finite number >= 0, got {noise!r}")
    return np.random.default_rng(seed)


def _finish(rng, x, y, noise):
    if noise:
        x = x + rng.normal(scale=noise, size=x.shape)
    order = rng.permutation(len(x))
    return x[order].astype(np.float32), y[order].astype(np.int32)


def _class_sizes(n_samples, n_classes):
    return [n_samples // n_classes + (1 if k < n_samples % n_classes else 0) for k in range(n_classes)]


def make_moons(n_samples=100, noise=0.0, seed=None):
    """Two interleaving half circles: class 0 the upper arc of radius 1 at (0, 0), class 1 the
    lower arc at (1, 0.5). Returns `(x [n, 2] float32, y [n] int32)`."""
    rng = _check(n_samples, noise, seed)
    n0, n1 = _class_sizes(n_samples, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(rng, np.concatenate([upper, lower]), y, noise)


def make_circles(n_samples=100, noise=0.0, factor=0.5, seed=None):
    """A ring of radius 1 (class 0) around a ring of radius `factor` (class 1), both at the
    origin. Returns `(x [n, 2] float32, y [n] int32)`."""
    rng = _check(n_samples, noise, seed)
    if not 0 < factor < 1:
        raise ValueError(f"`factor` (inner radius / outer radius) must be in (0, 1), got {factor!r}")
    n0, n1 = _class_sizes(n_samples, 2)
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n1, endpoint=False)
    outer = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    inner = factor * np.stack([np.cos(t1), np.sin(t1)], axis=1)
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(rng, np.concatenate([outer, inner]), y, noise)


def make_xor(n_samples=100, noise=0.0, seed=None):
    """Points uniform in the square [-1, 1]^2, label 1 where the two coordinates have
    different signs (quadrants II and IV), else 0. Returns `(x [n, 2] float32, y [n] int32)`."""
    rng = _check(n_samples, noise, seed)
    x = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int32)
    return _finish(rng, x, y, noise)


def make_spirals(n_samples=100, noise=0.0, n_classes=2, turns=1.75, seed=None):
    """`n_classes` interleaved spiral arms from the origin out to radius 1, each `turns`
    turns long, arm `k` rotated by `2 pi k / n_classes`. Returns `(x [n, 2] float32, y [n] int32)`."""
    rng = _check(n_samples, noise, seed)
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"`n_classes` must be an int >= 2, got {n_classes!r}")
    parts, labels = [], []
    for k, n in enumerate(_class_sizes(n_samples, n_classes)):
        r = np.linspace(0.0, 1.0, n)
        angle = 2 * np.pi * (turns * r + k / n_classes)
        parts.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
        labels.append(np.full(n, k))
    return _finish(rng, np.concatenate(parts), np.concatenate(labels), noise)


def make_blobs(n_samples=100, centers=3, noise=1.0, center_box=(-10.0, 10.0), seed=None):
    """Gaussian blobs, one class per center; `noise` is each blob's standard deviation.

    Args:
        centers: number of blobs (centers drawn uniformly in `center_box`^2), or an array
            `(k, 2)` of centers.

    Returns:
        `(x [n, 2] float32, y [n] int32)`, labels `0..k-1`.
    """
    rng = _check(n_samples, noise, seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"`centers` must be >= 1, got {centers}")
        low, high = center_box
        centers = rng.uniform(low, high, size=(int(centers), 2))
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[1] != 2:
        raise ValueError(f"`centers` must be an int or an array of shape (k, 2), got shape {centers.shape}")
    sizes = _class_sizes(n_samples, len(centers))
    x = np.concatenate([np.repeat(c[None], n, axis=0) for c, n in zip(centers, sizes)])
    y = np.concatenate([np.full(n, k) for k, n in enumerate(sizes)])
    return _finish(rng, x, y, noise)
