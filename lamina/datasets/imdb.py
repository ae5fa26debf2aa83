"""IMDB movie reviews: 25000 train + 25000 test reviews as word-index lists, label 1 = positive."""

import json
import warnings

import numpy as np

from lamina.datasets._files import KERAS_ORIGIN, Layout, Remote, direct_file, fetch
from lamina.datasets._readers import load_npz

_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
_WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(
    path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3, **kwargs
):
    """Load IMDB like `keras.datasets.imdb.load_data`, from Keras's `imdb.npz`.

    Word `i` of the file (1 = most frequent) becomes `i + index_from`. Each split is shuffled
    with one `np.random.RandomState(seed)` (train first, then test).

    Args:
        path: name of the .npz in the data set folders, or a path to it.
        num_words: keep words with index `< num_words` (after `index_from`); others become
            `oov_char` (or are dropped when `oov_char` is None). None keeps all.
        skip_top: words with index `< skip_top` are treated like rare words.
        maxlen: keep only reviews with fewer than `maxlen` tokens (start mark included).
        seed: shuffle seed.
        start_char: token put at the start of each review (None: none).
        oov_char: token for removed words (None: drop them).
        index_from: offset added to every word index.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays `(n,)` of Python int lists,
        integer label arrays `(n,)`.
    """
    if "nb_words" in kwargs:
        warnings.warn("imdb.load_data: `nb_words` is deprecated; use `num_words`", DeprecationWarning, stacklevel=2)
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"imdb.load_data: unexpected keyword argument(s) {sorted(kwargs)}")
    direct = direct_file(path)
    if direct is None:
        layout = Layout((path,), f"Keras's cache file, from {KERAS_ORIGIN}imdb.npz")
        _, (direct,) = fetch("IMDB", [layout], [Remote(path, KERAS_ORIGIN + "imdb.npz", _SHA256)])
    arrays = load_npz(direct)
    x_train, labels_train = arrays["x_train"], arrays["y_train"]
    x_test, labels_test = arrays["x_test"], arrays["y_test"]

    rng = np.random.RandomState(seed)
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, labels_train = x_train[order], labels_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, labels_test = x_test[order], labels_test[order]

    head = [] if start_char is None else [start_char]
    offset = index_from or 0
    x_train = [head + [w + offset for w in seq] for seq in x_train]
    x_test = [head + [w + offset for w in seq] for seq in x_test]

    if maxlen:
        x_train, labels_train = _shorter_than(maxlen, x_train, labels_train)
        x_test, labels_test = _shorter_than(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: no review is shorter than maxlen={maxlen}; increase maxlen")

    sequences = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    if not num_words:
        num_words = max(max(seq) for seq in sequences if seq)
    if oov_char is not None:
        sequences = [[w if skip_top <= w < num_words else oov_char for w in seq] for seq in sequences]
    else:
        sequences = [[w for w in seq if skip_top <= w < num_words] for seq in sequences]

    n = len(x_train)
    return (_object_array(sequences[:n]), labels[:n]), (_object_array(sequences[n:]), labels[n:])


def _shorter_than(maxlen, sequences, labels):
    keep = [i for i, seq in enumerate(sequences) if len(seq) < maxlen]
    return [sequences[i] for i in keep], np.asarray(labels)[keep]


def _object_array(lists):
    # Always a 1-D array of lists (np.array would make a 2-D array if all lengths were equal).
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def get_word_index(path="imdb_word_index.json"):
    """Dict word -> index (1 = most frequent) from Keras's `imdb_word_index.json`.

    Add `index_from` (3 by default) to map onto the sequences of `load_data`.
    """
    direct = direct_file(path)
    if direct is None:
        layout = Layout((path,), f"Keras's cache file, from {KERAS_ORIGIN}imdb_word_index.json")
        _, (direct,) = fetch(
            "IMDB word index", [layout], [Remote(path, KERAS_ORIGIN + "imdb_word_index.json", _WORD_INDEX_MD5)]
        )
    with open(direct, encoding="utf-8") as f:
        return json.load(f)
