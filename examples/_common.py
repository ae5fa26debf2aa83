"""What the examples share: the `--quick` / `--out` arguments, the data set folders, and printing.

Every example is `python examples/<name>.py [--quick] [--out FOLDER]`: it prints what it does and
writes its pictures next to itself (or into `--out`). `--quick` trains a few steps on a small slice
of the data (the test suite runs every example so); without it the example runs the full tutorial.

Data sets come from the usual places (`lamina.datasets.search_dirs()`: `$LAMINA_DATASETS`, lamina's
and Keras's caches, Debian's packages, else a download); a `shared/datasets` folder beside the
checkout (the project's offline copies) is searched too.
"""

import argparse
import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
SHARED_DATASETS = HERE.parent.parent / "shared" / "datasets"


class DataMissing(SystemExit):
    """A data set the example needs is not on this machine and cannot be downloaded."""


def arguments(description, argv=None, extend=None):
    """Parse `--quick`, `--out` (and what `extend(parser)` adds); make the output folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a few steps on a small slice (what the tests run)")
    parser.add_argument("--out", default=str(HERE), help="folder for pictures and files (default: beside the script)")
    if extend is not None:
        extend(parser)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    use_shared_datasets()
    return args


def use_shared_datasets():
    """Let the loaders search `../shared/datasets` (beside the checkout) after `$LAMINA_DATASETS`."""
    if SHARED_DATASETS.is_dir():
        current = [p for p in os.environ.get("LAMINA_DATASETS", "").split(os.pathsep) if p]
        if str(SHARED_DATASETS) not in current:
            os.environ["LAMINA_DATASETS"] = os.pathsep.join(current + [str(SHARED_DATASETS)])


def load(module, **kwargs):
    """`module.load_data(**kwargs)`, or `DataMissing` with the loader's explanation (which files, which folders)."""
    from lamina.datasets import DatasetNotFoundError

    try:
        return module.load_data(**kwargs)
    except DatasetNotFoundError as error:
        raise DataMissing(f"{module.__name__.rsplit('.', 1)[-1]} is not available: {error}") from None


def section(title):
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def picture(args, name):
    """The path of picture `name` in the output folder."""
    return os.path.join(args.out, name)


def wrote(path, what):
    print(f"  picture: {path}  ({what})")
    return path


def flat_images(x):
    """uint8 images `(n, 28, 28)` -> float32 `(n, 784)` in [0, 1]."""
    return x.reshape(len(x), -1).astype("float32") / 255.0
