"""Fashion-MNIST: 60000 train + 10000 test 28x28 uint8 images of 10 clothing classes.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
7 Sneaker, 8 Bag, 9 Ankle boot (see `CLASS_NAMES`).
"""

from lamina.datasets._files import KERAS_ORIGIN, Remote, fetch
from lamina.datasets._mnist_common import IDX_NAMES, idx_layouts, load_idx_set

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

# sha256 of the upstream (zalandoresearch) release files, which Keras mirrors under the same names.
_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}


def load_data():
    """Load Fashion-MNIST like `keras.datasets.fashion_mnist.load_data`.

    Reads `fashion-mnist/<IDX name>.gz` (Keras's cache layout, also Debian's
    `dataset-fashion-mnist` and the upstream release; decompressed files work too) from the
    data set folders, downloading the four files when absent.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(60000, 28, 28)` and
        `(10000, 28, 28)`, uint8 labels `(60000,)` and `(10000,)`.
    """
    remotes = [
        Remote(f"fashion-mnist/{name}.gz", f"{KERAS_ORIGIN}{name}.gz", _SHA256[f"{name}.gz"]) for name in IDX_NAMES
    ]
    _, paths = fetch("Fashion-MNIST", idx_layouts("fashion-mnist", "the upstream IDX files"), remotes)
    return load_idx_set(paths)
