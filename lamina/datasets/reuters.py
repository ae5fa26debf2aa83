"""Reuters newswires: 11228 newswires as word-index lists, labelled over 46 topics (see `get_label_names`)."""

from lamina.datasets._files import KERAS_ORIGIN
from lamina.datasets._readers import load_npz
from lamina.datasets._sequences import keras_file, load_word_index, object_array, prepare, sequence_arrays

_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
_WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
    "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
    "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail",
    "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead",
)  # fmt: skip


def load_data(
    path="reuters.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    test_split=0.2,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
):
    """Load Reuters like `keras.datasets.reuters.load_data`, from Keras's `reuters.npz`.

    The file holds all newswires in one pair `x`, `y`. They are shuffled with
    `np.random.RandomState(seed)`, processed like IMDB's reviews (word `i` of the file,
    1 = most frequent, becomes `i + index_from`), then the first
    `int(n * (1 - test_split))` become the training set.

    Args:
        path: name of the .npz in the data set folders, or a path to it.
        num_words: keep words with index `< num_words` (after `index_from`); others become
            `oov_char` (or are dropped when `oov_char` is None). None keeps all.
        skip_top: words with index `< skip_top` are treated like rare words.
        maxlen: keep only newswires with fewer than `maxlen` tokens (start mark included),
            before the split.
        test_split: fraction of the newswires in the test set, in `[0, 1)`.
        seed: shuffle seed.
        start_char: token put at the start of each newswire (None: none).
        oov_char: token for removed words (None: drop them).
        index_from: offset added to every word index.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays `(n,)` of Python int lists,
        integer topic arrays `(n,)` (indices into `get_label_names()`).
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"reuters.load_data: `test_split` must be in [0, 1), got {test_split}")
    file = keras_file(path, "Reuters", KERAS_ORIGIN + "reuters.npz", _SHA256)
    arrays = load_npz(file)
    [(sequences, labels)] = prepare(
        [sequence_arrays(arrays, file, "x", "y")],
        seed=seed, num_words=num_words, skip_top=skip_top, maxlen=maxlen, start_char=start_char,
        oov_char=oov_char, index_from=index_from, caller="reuters.load_data", what="newswire",
    )  # fmt: skip
    cut = int(len(sequences) * (1 - test_split))
    return (object_array(sequences[:cut]), labels[:cut]), (object_array(sequences[cut:]), labels[cut:])


def get_word_index(path="reuters_word_index.json"):
    """Dict word -> index (1 = most frequent) from Keras's `reuters_word_index.json`.

    Add `index_from` (3 by default) to map onto the sequences of `load_data`.
    """
    return load_word_index(path, "Reuters word index", KERAS_ORIGIN + "reuters_word_index.json", _WORD_INDEX_MD5)


def get_label_names():
    """The 46 topic names, indexed like the labels of `load_data` (a tuple, as in Keras)."""
    return _LABEL_NAMES
