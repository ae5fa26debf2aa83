"""Devices, meshes and layouts: Keras 3's `DeviceMesh`, `TensorLayout` and `LayoutMap` on `jax.sharding`.

    devices = list_devices()                       # ["cpu:0", "cpu:1", ...] (global in a multi-process job)
    mesh = DeviceMesh((2, 4), ["batch", "model"], devices)
    layout_map = LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")  # regex keys, matched whole against variable paths
    layout_map[".*dense.*bias"] = ("model",)

A `DeviceMesh` is a `jax.sharding.Mesh` (`backend_mesh`); a `TensorLayout` a
`jax.sharding.NamedSharding` (`backend_layout`). Devices are named as Keras names them,
"<platform>:<id>" (JAX's device ids: in a multi-process job the second process's CPUs are
"cpu:2048", ...); `jax.Device` objects are accepted too.
"""

import collections.abc
import math
import re

import jax
import numpy as np


def list_devices(device_type=None):
    """The devices of `device_type` ("cpu", "gpu" or "tpu"; default: the accelerators when there are any,
    else the CPUs) as strings "<platform>:<id>"; all processes' devices in a multi-process job."""
    device_type = device_type.lower() if device_type else None
    return [f"{d.platform}:{d.id}" for d in jax.devices(device_type)]


def get_device_count(device_type=None):
    """How many devices `list_devices(device_type)` lists."""
    return jax.device_count(device_type.lower() if device_type else None)


def to_jax_device(name):
    """"gpu:1", "cpu" (device 0) or a `jax.Device` -> the `jax.Device`; ValueError naming the devices there are."""
    if isinstance(name, jax.Device):
        return name
    text = str(name)
    platform, _, index = text.partition(":")
    try:
        candidates = jax.devices(platform.lower())
    except RuntimeError as err:
        raise ValueError(f"Device '{text}': there is no '{platform}' platform here ({err}).") from None
    wanted = int(index) if index else candidates[0].id
    for device in candidates:
        if device.id == wanted:
            return device
    known = [f"{platform}:{d.id}" for d in candidates]
    raise ValueError(f"Device '{text}' not found; the {platform} devices are {known}.")


class DeviceMesh:
    """Devices arranged in a grid with named axes (Keras's `keras.distribution.DeviceMesh`).

    Args:
        shape: the grid's shape, e.g. `(8,)` for data parallelism or `(2, 4)` for data x model.
        axis_names: one name per axis, e.g. `["batch", "model"]`.
        devices: device names or `jax.Device`s, `prod(shape)` of them; default `list_devices()`.
    """

    def __init__(self, shape, axis_names, devices=None):
        if not shape or not axis_names:
            raise ValueError(f"DeviceMesh: shape and axis_names cannot be empty; got shape={shape}, "
                             f"axis_names={axis_names}.")
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: shape and axis_names must have the same length; got shape={shape}, "
                             f"axis_names={axis_names}.")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"DeviceMesh: axis_names must be distinct; got {axis_names}.")
        if devices is None:
            devices = list_devices()
        devices = np.array(devices, dtype=object)
        if math.prod(shape) != devices.size:
            raise ValueError(f"DeviceMesh: shape {tuple(shape)} needs {math.prod(shape)} devices, but "
                             f"{devices.size} were given ({list(devices.flat)[:8]}...). Pass devices= or change "
                             "the shape.")
        self._shape = shape
        self._axis_names = axis_names
        self._devices = np.reshape(devices, shape)
        self._backend_mesh = None

    @property
    def shape(self):
        return self._shape

    @property
    def axis_names(self):
        return self._axis_names

    @property
    def devices(self):
        return self._devices

    @property
    def backend_mesh(self):
        """The `jax.sharding.Mesh`."""
        if self._backend_mesh is None:
            jax_devices = np.array([to_jax_device(d) for d in self._devices.flat], dtype=object)
            self._backend_mesh = jax.sharding.Mesh(jax_devices.reshape(self._devices.shape), tuple(self._axis_names))
        return self._backend_mesh

    def describe(self):
        """JSON-able identity (shape, axis names, device platform:id in order): part of program keys."""
        mesh = self.backend_mesh
        return {"shape": list(mesh.devices.shape), "axes": list(mesh.axis_names),
                "devices": [f"{d.platform}:{d.id}" for d in mesh.devices.flat]}

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"

    __str__ = __repr__


class TensorLayout:
    """How one tensor lies on a mesh: one mesh axis name (or None: not split) per tensor dimension
    (Keras's `keras.distribution.TensorLayout`; JAX's `NamedSharding`).

    Args:
        axes: e.g. `(None, "model")`: rows whole, columns split over the `model` axis.
        device_mesh: the `DeviceMesh`; may be set once later (a `LayoutMap` sets it).
    """

    def __init__(self, axes, device_mesh=None):
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def axes(self):
        return self._axes

    @property
    def device_mesh(self):
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh):
        if self._device_mesh is not None:
            raise ValueError(f"TensorLayout{self._axes}: its device mesh is already {self._device_mesh}; it cannot "
                             "be changed.")
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def backend_layout(self):
        """The `jax.sharding.NamedSharding`."""
        if self._device_mesh is None:
            raise ValueError(f"TensorLayout{self._axes} has no device mesh: pass device_mesh= or put it in a "
                             "LayoutMap.")
        return jax.sharding.NamedSharding(self._device_mesh.backend_mesh, jax.sharding.PartitionSpec(*self._axes))

    def _validate_axes(self):
        if self._device_mesh is not None:
            valid = set(self._device_mesh.axis_names)
            unknown = set(self._axes) - {None} - valid
            if unknown:
                raise ValueError(f"TensorLayout{self._axes}: axis name(s) {sorted(unknown)} are not axes of the "
                                 f"mesh; valid names: {sorted(valid)}.")

    def __repr__(self):
        return f"<TensorLayout axes={self.axes}, device_mesh={self.device_mesh}>"

    __str__ = __repr__


class LayoutMap(collections.abc.MutableMapping):
    """Variable paths (regular expressions) -> `TensorLayout` (Keras's `keras.distribution.LayoutMap`).

    `layout_map[path]`: the exact key if present, else the one key that `re.fullmatch`es the
    path (ValueError when several do), else None. Values may be given as tuples of axis names.
    lamina's variable paths are "<layer>/<weight>" (`dense/kernel`); Keras 3's carry the model's
    name in front (`sequential/dense/kernel`), so write keys such as `.*dense.*kernel` that match both.
    """

    def __init__(self, device_mesh):
        self._layout_map = collections.OrderedDict()
        self._device_mesh = device_mesh

    def __getitem__(self, key):
        if key in self._layout_map:
            return self._layout_map[key]
        matching = [pattern for pattern in self._layout_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(f"Path '{key}' matches several LayoutMap keys: {matching}. Make each variable path "
                             "match at most one key.")
        return self._layout_map[matching[0]] if matching else None

    def __setitem__(self, key, layout):
        if key in self._layout_map:
            raise ValueError(f"LayoutMap: key '{key}' is already set to {self._layout_map[key]}; keys must be "
                             "distinct.")
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(axes=layout)
        if not isinstance(layout, TensorLayout):
            raise ValueError(f"LayoutMap['{key}']: expected a TensorLayout or a tuple of axis names, got "
                             f"{type(layout).__name__} {layout!r}.")
        if layout.device_mesh is None and self._device_mesh is not None:
            layout.device_mesh = self._device_mesh
        self._layout_map[key] = layout

    def __delitem__(self, key):
        return self._layout_map.pop(key)

    def __len__(self):
        return len(self._layout_map)

    def __iter__(self):
        return iter(self._layout_map)

    @property
    def device_mesh(self):
        return self._device_mesh


LayoutMap.get.__doc__ = LayoutMap.__getitem__.__doc__
