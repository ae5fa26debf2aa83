"""Utilities with Keras's names: labels, sequences, data splits, file downloads, seeding, images, pictures.

The pictures (`plot_model`, `plot_history`, `plot_decision_boundary`, `plot_confusion_matrix`) import
matplotlib only when called (`pip install "lamina[plot]"`); `confusion_matrix` is NumPy only.
"""

from lamina.backend.random import set_random_seed
from lamina.utils.confusion import confusion_matrix, plot_confusion_matrix
from lamina.utils.dataset_utils import pack_x_y_sample_weight, split_dataset, unpack_x_y_sample_weight
from lamina.utils.decision_plot import plot_decision_boundary
from lamina.utils.file_utils import get_file
from lamina.utils.history_plot import plot_history
from lamina.utils.image_dataset import image_dataset_from_directory
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from lamina.utils.model_plot import model_to_dot_text, plot_model
from lamina.utils.numerical_utils import normalize, to_categorical
from lamina.utils.sequence_utils import pad_sequences


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
