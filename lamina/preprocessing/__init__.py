"""`keras.preprocessing`: the legacy `image` module (`ImageDataGenerator` and its iterators, image
transforms) and `image_dataset_from_directory`."""

from lamina.preprocessing import image
from lamina.utils.image_dataset import image_dataset_from_directory

__all__ = ["image", "image_dataset_from_directory"]


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
