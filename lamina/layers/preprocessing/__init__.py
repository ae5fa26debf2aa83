"""Image preprocessing and augmentation layers (Keras 3's `keras.layers.Random*`, `Resizing`, `CenterCrop`).

`image_geometry`: RandomFlip, RandomRotation, RandomZoom, RandomTranslation; `image_intensity`:
RandomContrast, RandomBrightness; `resizing`: Resizing, CenterCrop, RandomCrop. `Rescaling` lives with the
normalization layers.
"""

from lamina.layers.preprocessing.image_geometry import RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from lamina.layers.preprocessing.image_intensity import RandomBrightness, RandomContrast
from lamina.layers.preprocessing.resizing import CenterCrop, RandomCrop, Resizing

__all__ = ["CenterCrop", "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation",
           "RandomTranslation", "RandomZoom", "Resizing"]
