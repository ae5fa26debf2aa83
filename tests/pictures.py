"""`assert_picture(path)`: the file is an image Pillow can read, of a sensible size, and not blank."""

import pathlib

import numpy as np


def assert_picture(path, min_colors=3):
    from PIL import Image

    path = pathlib.Path(path)
    assert path.is_file(), f"no picture at {path}"
    with Image.open(path) as image:
        image.load()
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[0] >= 50 and pixels.shape[1] >= 50, f"{path.name} is only {pixels.shape[:2]} pixels"
    colors = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colors) >= min_colors, f"{path.name} is blank ({len(colors)} colours)"
    # Something is drawn over a good share of it, not a lone dot on a white page.
    assert (pixels.min(axis=2) < 200).mean() > 0.005, f"{path.name} is almost empty"
