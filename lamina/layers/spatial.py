"""Arguments and shape arithmetic shared by the spatial layer families (convolution, pooling,
padding, cropping, upsampling): Keras's argument normalization, the axis layout, window padding.

A spatial input is [batch, *spatial, channels] ("channels_last", the default) or
[batch, channels, *spatial] ("channels_first"); `rank` is the number of spatial axes.
"""

import numbers

from lamina.backend import config
from lamina.layers.base import InputSpec, _fmt

_AXIS_NAMES = {1: ("steps",), 2: ("rows", "cols"), 3: ("dim1", "dim2", "dim3")}


def layout(rank, data_format, channels="channels"):
    """The axes in words: layout(2, "channels_last") == "(batch, rows, cols, channels)"."""
    spatial = _AXIS_NAMES[rank]
    axes = (channels,) + spatial if data_format == "channels_first" else spatial + (channels,)
    return "(" + ", ".join(("batch",) + axes) + ")"


def input_spec(rank, data_format, channels=None):
    """An InputSpec of rank `rank + 2` naming the layout, with the channel count fixed once known."""
    axes = None if channels is None else {channel_axis(data_format): channels}
    return InputSpec(ndim=rank + 2, axes=axes, layout=layout(rank, data_format))


def channel_axis(data_format):
    return 1 if data_format == "channels_first" else -1


def spatial_shape(shape, data_format):
    """The spatial entries of a full input shape."""
    return tuple(shape[2:]) if data_format == "channels_first" else tuple(shape[1:-1])


def with_spatial(shape, data_format, spatial, channels=None):
    """`shape` with its spatial entries (and optionally its channel count) replaced."""
    channels = shape[channel_axis(data_format)] if channels is None else channels
    if data_format == "channels_first":
        return (shape[0], channels) + tuple(spatial)
    return (shape[0],) + tuple(spatial) + (channels,)


def data_format_arg(owner, value):
    """Keras's `data_format`: None means the global `image_data_format()`; case-insensitive."""
    if value is None:
        return config.image_data_format()
    fmt = str(value).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{owner}: `data_format` must be 'channels_last' or 'channels_first', got {value!r}.")
    return fmt


def int_tuple(owner, name, value, n, allow_zero=False):
    """An int or n ints -> a tuple of n ints, each > 0 (>= 0 with `allow_zero`)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if values is None or len(values) != n or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
            raise ValueError(f"{owner}: `{name}` must be an int or a tuple of {n} ints, got {name}={value!r}.")
        values = tuple(int(v) for v in values)
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        need = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{owner}: every entry of `{name}` must be {need}, got {name}={value!r}.")
    return values


def pair_tuple(owner, name, value, n):
    """Keras's padding/cropping amounts: an int, n ints (symmetric) or n pairs -> n (before, after) pairs."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int_tuple(owner, name, value, 2, allow_zero=True),) * n
    try:
        entries = tuple(value)
    except TypeError:
        entries = ()
    if len(entries) != n:
        raise ValueError(
            f"{owner}: `{name}` must be an int, a tuple of {n} ints or a tuple of {n} (before, after) pairs, got "
            f"{name}={value!r}."
        )
    return tuple(int_tuple(owner, f"{name}[{i}]", v, 2, allow_zero=True) for i, v in enumerate(entries))


def padding_arg(owner, value, allowed=("valid", "same")):
    """A padding mode name, lower-cased, among `allowed`."""
    mode = value.lower() if isinstance(value, str) else value
    if mode not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{owner}: `padding` must be one of {choices}, got padding={value!r}.")
    return mode


def window_pads(size, window, stride, dilation, padding):
    """(before, after) zeros that a window op pads on one axis of length `size`.

    "valid": none. "same": TensorFlow's rule (out = ceil(size / stride), the odd extra zero after).
    "causal": (window - 1) * dilation zeros before, so output t sees inputs up to t.
    """
    span = (window - 1) * dilation + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span - 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def window_output_size(size, window, stride, dilation, padding):
    """Output length of a window op on one axis of length `size` (None when unknown)."""
    if size is None:
        return None
    before, after = window_pads(size, window, stride, dilation, padding)
    return (size + before + after - (window - 1) * dilation - 1) // stride + 1


def check_window_fits(layer, input_shape, data_format, window, dilation, padding, what):
    """Raise naming `layer` when a `window` (dilated) is longer than its padded input on some axis.

    Only "valid" padding can fail: "same" and "causal" pad enough for any window.
    """
    if padding != "valid":
        return
    spatial = spatial_shape(input_shape, data_format)
    spans = tuple((w - 1) * d + 1 for w, d in zip(window, dilation))
    if not any(n is not None and n < s for n, s in zip(spatial, spans)):
        return
    dilated = "" if all(d == 1 for d in dilation) else f" (dilated: {'x'.join(map(str, spans))})"
    raise ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}): its {'x'.join(map(str, window))} {what}{dilated} is larger "
        f"than the input with padding='valid': inputs of shape {_fmt(input_shape)}, i.e. "
        f"{layout(len(window), data_format)}, need every spatial size >= {spans}, got {spatial}. Use a larger "
        "input, a smaller window, or padding='same'."
    )
