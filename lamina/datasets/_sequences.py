"""Shared recipe of the word-index data sets (IMDB, Reuters): Keras's files and Keras's processing.

Both ship as a Keras cache `.npz` of ragged word-index lists (1 = most frequent word) and a
`*_word_index.json`. `prepare` applies `load_data`'s options exactly as Keras does:
shuffle each part with one `RandomState(seed)` (parts in order), put `start_char` in front
and add `index_from` to every word, drop sequences not shorter than `maxlen`, then map
words outside `[skip_top, num_words)` to `oov_char` (or drop them), with `num_words`
defaulting to the largest index over all parts (which, as in Keras, itself becomes OOV).
"""

import json

import numpy as np

from lamina.datasets._files import Layout, Remote, direct_file, fetch


def keras_file(path, title, origin, file_hash):
    """A Keras cache file named by Keras's `path=` argument: read as is, searched for, or downloaded.

    `origin` is the file's URL (its last part is the canonical name); `file_hash` its sha256/md5.
    """
    direct = direct_file(path)
    if direct is not None:
        return direct
    layout = Layout((path,), f"Keras's cache file, from {origin}")
    _, (found,) = fetch(title, [layout], [Remote(path, origin, file_hash)])
    return found


def load_word_index(path, title, origin, file_hash):
    """`{word: index}` from a Keras `*_word_index.json` (index 1 = most frequent word)."""
    found = keras_file(path, title, origin, file_hash)
    try:
        with open(found, encoding="utf-8") as f:
            index = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{found}: cannot be read as a JSON word index: {err}; the file is damaged, delete it "
                         "to fetch it again") from None
    if not isinstance(index, dict):
        raise ValueError(f"{found}: a word index must be a JSON object of word -> index, got {type(index).__name__}")
    return index


def prepare(parts, *, seed, num_words, skip_top, maxlen, start_char, oov_char, index_from, caller, what):
    """Keras's processing of `[(sequences, labels), ...]`; returns `[(list of int lists, labels), ...]`.

    `caller` (e.g. "imdb.load_data") and `what` (e.g. "review") name things in errors.
    """
    rng = np.random.RandomState(seed)
    offset = index_from or 0
    head = [] if start_char is None else [start_char]
    marked = []
    for sequences, labels in parts:
        if len(sequences) != len(labels):
            raise ValueError(f"{caller}: the file holds {len(sequences)} sequences but {len(labels)} labels")
        order = np.arange(len(sequences))
        rng.shuffle(order)
        sequences, labels = sequences[order], labels[order]
        sequences = [head + [w + offset for w in seq] for seq in sequences]
        if maxlen:
            keep = [i for i, seq in enumerate(sequences) if len(seq) < maxlen]
            sequences, labels = [sequences[i] for i in keep], labels[keep]
            if not sequences:
                raise ValueError(f"{caller}: no {what} is shorter than maxlen={maxlen}; increase maxlen")
        marked.append((sequences, labels))

    if not num_words:
        num_words = max((max(seq) for sequences, _ in marked for seq in sequences if seq), default=0)
    if oov_char is not None:
        limit = lambda seq: [w if skip_top <= w < num_words else oov_char for w in seq]  # noqa: E731
    else:
        limit = lambda seq: [w for w in seq if skip_top <= w < num_words]  # noqa: E731
    return [([limit(seq) for seq in sequences], labels) for sequences, labels in marked]


def object_array(lists):
    """A 1-D object array of lists (np.array would make a 2-D array if all lengths were equal)."""
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def sequence_arrays(arrays, path, x_key, y_key):
    """The sequence and label arrays of a loaded `.npz`, checked to be what the loaders expect."""
    missing = [k for k in (x_key, y_key) if k not in arrays]
    if missing:
        raise ValueError(f"{path}: the archive has no {', '.join(missing)} (it holds {sorted(arrays)}); "
                         "is it the right data set file?")
    x, y = arrays[x_key], arrays[y_key]
    if x.ndim == 0 or y.ndim != 1:
        raise ValueError(f"{path}: {x_key} must hold one sequence per row and {y_key} one label per row, "
                         f"got shapes {x.shape} and {y.shape}")
    return x, y
