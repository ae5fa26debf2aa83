"""Data set loaders with Keras's names and arrays, plus built-in and generated data.

`lamina.datasets.<name>.load_data()` returns what `keras.datasets.<name>.load_data()` does.
Files are looked for in `$LAMINA_DATASETS`, lamina's cache, Keras's cache and Debian's
`/usr/share/datasets` before anything is downloaded (see `search_dirs()`).
`pima_indians_diabetes` ships inside the package; `toy` generates 2-D shapes.
"""

from lamina.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    pima_indians_diabetes,
    reuters,
    toy,
)
from lamina.datasets._files import DatasetNotFoundError, cache_dir, search_dirs


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
