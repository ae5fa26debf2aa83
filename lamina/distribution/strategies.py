"""Keras 3's distributions: `DataParallel`, `ModelParallel`, the current one, and its `scope()`.

    set_distribution(DataParallel())               # every device holds the weights; batches are split
    with ModelParallel(layout_map=layout_map, batch_dim_name="batch").scope():
        model = make_model()                       # variables laid out by the layout map as they are made

While a distribution is current, each Variable is placed as it is created and named
(`get_variable_layout`: replicated unless a layout says otherwise), and lamina's engine
runs `fit` / `evaluate` / `predict` as one SPMD program over the mesh: each batch is split
along the mesh's batch axis (`get_data_layout`), XLA inserts the collectives.
"""

import contextlib
import math
import warnings

import jax

from lamina.backend import variables as variables_module
from lamina.distribution import placement
from lamina.distribution.mesh import DeviceMesh, LayoutMap, TensorLayout, list_devices

DEFAULT_BATCH_DIM_NAME = "batch"

_current = {"distribution": None}


class Distribution:
    """Base class: a device mesh, the name of its batch axis, and how variables and data lie on it.

    Args:
        device_mesh: the `DeviceMesh`.
        batch_dim_name: the mesh axis that splits batches.
        auto_shard_dataset: in a multi-process job, whether each process is given the whole data and takes
            its own slice (True), or is given its own shard already (False). See the README section
            "Training on several devices and machines".
    """

    def __init__(self, device_mesh, batch_dim_name=None, auto_shard_dataset=True):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        self._num_processes = jax.process_count()
        self._process_id = jax.process_index()
        self._is_multi_process = self._num_processes > 1

    @property
    def num_processes(self):
        return self._num_processes

    @property
    def num_model_replicas(self):
        """How many slices a batch is split into: the size of the mesh's batch axis."""
        return self._device_mesh.shape[list(self._device_mesh.axis_names).index(self._batch_dim_name)]

    @property
    def data_shard_id(self):
        replicas = self.num_model_replicas
        if replicas >= self.num_processes:
            return self._process_id
        return self._process_id // (self.num_processes // replicas)

    @property
    def device_mesh(self):
        return self._device_mesh

    @property
    def batch_dim_name(self):
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self):
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value):
        self._auto_shard_dataset = value

    def get_data_layout(self, data_shape):
        """Batches: the first dimension split along the batch axis, the others whole."""
        return TensorLayout([self._batch_dim_name] + [None] * (len(data_shape) - 1), self._device_mesh)

    def get_variable_layout(self, variable):
        """A variable's layout: its own `_layout` if set, else replicated."""
        if getattr(variable, "_layout", None) is not None:
            return variable._layout
        return TensorLayout([None] * len(variable.shape), self._device_mesh)

    def get_tensor_layout(self, path):
        return None

    def distribute_dataset(self, dataset):
        """Keras's hook; lamina's engine takes each process's slice of in-memory data itself (`fit` etc.)."""
        return dataset

    @contextlib.contextmanager
    def scope(self):
        """Make this distribution current inside the block (the previous one is restored after)."""
        previous = distribution()
        set_distribution(self)
        try:
            yield
        finally:
            set_distribution(previous)

    # ----- what lamina's engine asks -------------------------------------------------------------

    def replicated(self):
        """The `NamedSharding` of a value every device holds whole."""
        return jax.sharding.NamedSharding(self._device_mesh.backend_mesh, jax.sharding.PartitionSpec())

    def variable_sharding(self, variable):
        """The `NamedSharding` of `variable` (ValueError when its shape does not split evenly)."""
        layout = self.get_variable_layout(variable)
        if layout.device_mesh is None:
            layout.device_mesh = self._device_mesh
        axes = tuple(layout.axes)
        shape = tuple(variable.shape)
        if len(axes) != len(shape):
            raise ValueError(f"Variable '{variable.path}' of shape {shape} has the layout {axes}, with "
                             f"{len(axes)} axes for {len(shape)} dimensions; give one entry (or None) per dimension.")
        mesh = layout.device_mesh
        for dim, (size, axis) in enumerate(zip(shape, axes)):
            if axis is None:
                continue
            parts = math.prod(mesh.shape[list(mesh.axis_names).index(a)] for a in
                              (axis if isinstance(axis, tuple) else (axis,)))
            if size % parts:
                raise ValueError(f"Variable '{variable.path}' of shape {shape}: dimension {dim} ({size}) cannot be "
                                 f"split over mesh axis {axis!r} ({parts} devices); make it a multiple of {parts} "
                                 "or change the layout.")
        return layout.backend_layout

    def describe(self):
        """JSON-able identity for program keys: mesh, batch axis, process count."""
        return {"distribution": type(self).__name__, "mesh": self._device_mesh.describe(),
                "batch": self._batch_dim_name, "processes": self._num_processes}

    def __repr__(self):
        return f"<{type(self).__name__} device_mesh={self.device_mesh}>"

    __str__ = __repr__


class DataParallel(Distribution):
    """Data parallelism: every device holds all the weights; each batch is split across the devices.

    Give a `device_mesh` (its first axis splits batches), or `devices` (a 1-D mesh over them),
    or neither (all devices of `list_devices()`).
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(f"DataParallel: `device_mesh` must be a DeviceMesh, got "
                                 f"{type(device_mesh).__name__} {device_mesh!r}.")
            super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)
            if len(device_mesh.shape) != 1:
                warnings.warn(f"DataParallel expects a 1-D mesh; got shape {device_mesh.shape}. Its first axis "
                              f"'{device_mesh.axis_names[0]}' splits the batches.", stacklevel=2)
            return
        devices = list(devices) if devices else list_devices()
        mesh = DeviceMesh((len(devices),), [DEFAULT_BATCH_DIM_NAME], devices)
        super().__init__(mesh, DEFAULT_BATCH_DIM_NAME, auto_shard_dataset)

    @property
    def num_model_replicas(self):
        return self.device_mesh.devices.size


class ModelParallel(Distribution):
    """Variables split by a `LayoutMap` over a mesh; batches split along `batch_dim_name`.

    Args:
        layout_map: `LayoutMap` (its mesh is the distribution's); variables no key matches are replicated.
        batch_dim_name: the mesh axis that splits batches (default: the mesh's first axis).
        auto_shard_dataset: as for `Distribution`.
    """

    def __init__(self, *, layout_map=None, batch_dim_name=None, auto_shard_dataset=True, **kwargs):
        kwargs.pop("device_mesh", None)  # Keras accepts and ignores it (the layout map's mesh is used)
        if kwargs:
            raise TypeError(f"ModelParallel: unexpected argument(s) {sorted(kwargs)}.")
        if layout_map is None:
            raise ValueError("ModelParallel: you must give `layout_map=` (a LayoutMap).")
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(f"ModelParallel: `layout_map` must be a LayoutMap, got {type(layout_map).__name__}.")
        mesh = layout_map.device_mesh
        batch_dim_name = batch_dim_name or mesh.axis_names[0]
        if batch_dim_name not in mesh.axis_names:
            raise ValueError(f"ModelParallel: batch_dim_name='{batch_dim_name}' is not an axis of the mesh "
                             f"{list(mesh.axis_names)}.")
        super().__init__(mesh, batch_dim_name, auto_shard_dataset)
        self._layout_map = layout_map
        if (self._is_multi_process and self.num_processes > self.num_model_replicas
                and self.num_processes % self.num_model_replicas):
            raise ValueError(f"ModelParallel: {self.num_processes} processes cannot share {self.num_model_replicas} "
                             "model replicas evenly; make the process count a multiple of the batch axis size.")

    def get_variable_layout(self, variable):
        if getattr(variable, "_layout", None) is not None:
            return variable._layout
        found = self._layout_map[variable.path]
        if found is not None:
            return found
        return TensorLayout([None] * len(variable.shape), self.device_mesh)

    def get_tensor_layout(self, path):
        return self._layout_map[path]


def distribution():
    """The current distribution (None: one device)."""
    return _current["distribution"]


def set_distribution(value):
    """Make `value` (a Distribution, or None for one device) current for what follows."""
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(f"set_distribution: expected a Distribution (DataParallel, ModelParallel) or None, got "
                         f"{type(value).__name__}.")
    _current["distribution"] = value
    variables_module.set_placement(None if value is None else _placer(value))


def _placer(dist):
    def place(variable):
        value = variable._value
        if not isinstance(value, jax.Array) or isinstance(value, jax.core.Tracer):
            return value
        with jax.ensure_compile_time_eval():  # a Variable made while tracing still holds a concrete array
            return placement.global_array(value, dist.variable_sharding(variable))

    return place


def distribute_tensor(tensor, layout):
    """`tensor` laid out by `layout` (a TensorLayout or a jax Sharding); inside a traced function, a sharding
    constraint."""
    sharding = layout.backend_layout if isinstance(layout, TensorLayout) else layout
    if isinstance(tensor, jax.core.Tracer):
        return jax.lax.with_sharding_constraint(tensor, sharding)
    return placement.global_array(tensor, sharding)
