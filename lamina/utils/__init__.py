"""Utilities with Keras's names: labels, sequences, data splits, file downloads, seeding, images."""

from lamina.backend.random import set_random_seed
from lamina.utils.dataset_utils import pack_x_y_sample_weight, split_dataset, unpack_x_y_sample_weight
from lamina.utils.file_utils import get_file
from lamina.utils.image_dataset import image_dataset_from_directory
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from lamina.utils.numerical_utils import normalize, to_categorical
from lamina.utils.sequence_utils import pad_sequences


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
