"""The named walk over an object tree: model -> layers -> sublayers -> variables, with Keras 3's paths.

Layers, optimizers and metrics are `Trackable`: each has its own variables and its
children (the trackables held in its attributes, directly or in lists, tuples and
dicts). One walk serves every client that needs the tree:

* `walk(root)`: each object once, parents before children, in tracking order (the
  order attributes were assigned; for Sequential and functional models, their
  layers), with the path Keras 3 writes it under in `.keras` and `.weights.h5` files:
  an attribute's name (`dense1`), a container's items by snake-cased class name made
  unique (`layers/dense`, `layers/dense_1`), nested containers as `container`;
* `variables_by_path(root)`: {"layers/dense/vars/0": Variable, ...}, as Keras files store them;
* `Layer.weights` / `get_weights` / `set_weights` follow the same walk (layers only).

A shared object is listed once, under the path Keras gives it: the first one met
when attributes are visited in Keras's order (public names before private ones,
alphabetically; a model's layers first).
"""

from lamina.backend import naming


class Trackable:
    """Base of objects the walk visits: `_tracked_variables()` and `_tracked_children()`."""

    #: "layer", "optimizer" or "metric": lets a walk follow only some kinds (weights follow layers).
    _tracking_kind = "object"
    #: Attributes never visited (engine caches, graph nodes, references to parents).
    _untracked = frozenset()

    def _tracked_variables(self):
        """This object's own variables, in the order its file entry numbers them (`vars/0`, `vars/1`, ...)."""
        return []

    def _tracked_children(self):
        """[(attribute name, child or container of children)] in tracking (assignment) order."""
        skip = self._untracked
        return [(name, value) for name, value in vars(self).items()
                if name not in skip and _holds_trackables(value)]


def _holds_trackables(value, depth=0):
    if isinstance(value, Trackable):
        return True
    if depth < 8 and isinstance(value, (list, tuple)):
        return any(_holds_trackables(v, depth + 1) for v in value)
    if depth < 8 and isinstance(value, dict):
        return any(_holds_trackables(v, depth + 1) for v in value.values())
    return False


def _expand(name, value, out, seen_containers, named):
    """Flatten one attribute into [(relative path, trackable)], naming container items like Keras
    (paths are None when `named` is False: most walks only need the objects)."""
    if isinstance(value, Trackable):
        out.append((name, value))
        return
    if id(value) in seen_containers:
        return
    seen_containers.add(id(value))
    items = list(value.values()) if isinstance(value, dict) else list(value)
    used = {}
    for item in items:
        if isinstance(item, Trackable):
            path = f"{name}/{_unique(naming.to_snake_case(type(item).__name__), used)}" if named else None
            out.append((path, item))
        elif isinstance(item, (list, tuple, dict)) and _holds_trackables(item):
            _expand(f"{name}/{_unique('container', used)}" if named else None, item, out, seen_containers, named)


def _unique(base, used):
    if base in used:
        used[base] += 1
        return f"{base}_{used[base]}"
    used[base] = 0
    return base


def children(obj, named=True):
    """[(relative path, child)] of one object, in tracking order (containers expanded; paths only if `named`)."""
    out = []
    seen_containers = set()
    for name, value in obj._tracked_children():
        _expand(name, value, out, seen_containers, named)
    return out


def _keras_order(pairs):
    """Keras's visiting order: a model's `layers` first, then public names, then private ones, alphabetically."""
    def key(pair):
        head = pair[0].split("/", 1)[0]
        return (head != "layers", head.startswith("_"), head)

    return sorted(pairs, key=key)


def objects(root, follow=None):
    """`root` and every trackable below it, each once, parents before children, in tracking order.

    `follow(obj) -> bool` limits the walk to the children it accepts (e.g. only layers).
    """
    order, seen = [], set()

    def visit(obj):
        seen.add(id(obj))
        order.append(obj)
        for _, child in children(obj, named=False):
            if id(child) not in seen and (follow is None or follow(child)):
                visit(child)

    visit(root)
    return order


def walk(root, follow=None):
    """[(path, object)] for `objects(root, follow)`, each with the path Keras 3 files it under ("" for root)."""
    paths = {}

    def name_all(obj, path):  # Keras's visiting order decides which path a shared object gets
        paths[id(obj)] = path
        for rel, child in _keras_order(children(obj)):
            if id(child) not in paths and (follow is None or follow(child)):
                name_all(child, f"{path}/{rel}" if path else rel)

    name_all(root, "")
    return [(paths[id(obj)], obj) for obj in objects(root, follow)]


def variables_by_path(root, follow=None):
    """{"<object path>/vars/<i>": Variable} over the walk, in walk order (a variable listed once)."""
    found, seen = {}, set()
    for path, obj in walk(root, follow):
        for i, variable in enumerate(obj._tracked_variables()):
            if id(variable) not in seen:
                seen.add(id(variable))
                found[f"{path}/vars/{i}" if path else f"vars/{i}"] = variable
    return found
