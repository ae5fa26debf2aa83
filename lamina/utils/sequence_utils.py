"""`pad_sequences`: ragged lists of sequences to one rectangular NumPy array (Keras semantics)."""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or cut) every sequence to the same length.

    Args:
        sequences: list of `num_samples` sequences; each is a list/array of scalars, or of
            equally shaped items (then the output has their shape as trailing axes).
        maxlen: output length; default: the longest sequence.
        dtype: output dtype; use `object` (or a string dtype) to pad strings.
        padding: "pre" or "post": where the padding goes.
        truncating: "pre" or "post": which end of a too-long sequence is dropped.
        value: the padding value.

    Returns:
        NumPy array of shape `(num_samples, maxlen) + item_shape`.
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: `padding` must be "pre" or "post", got {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: `truncating` must be "pre" or "post", got {truncating!r}')
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be a list of sequences, got {type(sequences).__name__}")
    if maxlen is not None and (isinstance(maxlen, bool) or int(maxlen) != maxlen or maxlen < 0):
        raise ValueError(f"pad_sequences: `maxlen` must be a non-negative int or None, got {maxlen!r}")
    lengths, item_shape, found = [], (), False
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError as e:
            raise ValueError(
                f"pad_sequences: `sequences` must be a list of sequences; item {i} is {seq!r}, which has no length"
            ) from e
        if not found and len(seq):
            item_shape, found = np.asarray(seq).shape[1:], True
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    maxlen = int(maxlen)
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.bytes_)
    if isinstance(value, str) and dtype is not object and np.dtype(dtype) != np.dtype(object) and not is_text:
        raise ValueError(
            f"pad_sequences: padding value {value!r} is a string but dtype={dtype!r} is not; "
            "pass dtype=object for variable-length strings"
        )
    out = np.full((len(lengths), maxlen) + tuple(item_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(item_shape):
            raise ValueError(
                f"pad_sequences: items of sequence {i} have shape {kept.shape[1:]}, "
                f"but earlier sequences have items of shape {tuple(item_shape)}"
            )
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, maxlen - len(kept) :] = kept
    return out
