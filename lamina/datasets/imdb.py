"""IMDB movie reviews: 25000 train + 25000 test reviews as word-index lists, label 1 = positive."""

import warnings

from lamina.datasets._files import KERAS_ORIGIN
from lamina.datasets._readers import load_npz
from lamina.datasets._sequences import keras_file, load_word_index, object_array, prepare, sequence_arrays

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
    file = keras_file(path, "IMDB", KERAS_ORIGIN + "imdb.npz", _SHA256)
    arrays = load_npz(file)
    (x_train, y_train), (x_test, y_test) = prepare(
        [sequence_arrays(arrays, file, "x_train", "y_train"), sequence_arrays(arrays, file, "x_test", "y_test")],
        seed=seed, num_words=num_words, skip_top=skip_top, maxlen=maxlen, start_char=start_char,
        oov_char=oov_char, index_from=index_from, caller="imdb.load_data", what="review",
    )  # fmt: skip
    return (object_array(x_train), y_train), (object_array(x_test), y_test)


def get_word_index(path="imdb_word_index.json"):
    """Dict word -> index (1 = most frequent) from Keras's `imdb_word_index.json`.

    Add `index_from` (3 by default) to map onto the sequences of `load_data`.
    """
    return load_word_index(path, "IMDB word index", KERAS_ORIGIN + "imdb_word_index.json", _WORD_INDEX_MD5)
