"""Random and Gabor filter banks on MNIST: accuracy, fit and predict time.

Each run is one literal scikit-learn pipeline, fitted on the training images
and scored on the test images::

    Pipeline([("conv", <family>), ("pool", Pool("max", size=4, flatten=True)),
              ("scale", StandardScaler()), ("clf", LogisticRegression(C=0.1))])

- ``random``: 128 random 7x7 filters (Gaussian, zero-mean, unit norm), absolute
  value (both polarities of each filter);
- ``gabor``: complex-cell magnitude of 32 Gabor filters (frequencies 0.1, 0.2,
  0.3, 0.4 cycles/pixel x 8 orientations, cropped to 7x7);
- ``pixels``: no convolution, the standardized pixels (a baseline; not run by
  default).

Nothing is learned without labels: the filters are drawn or designed. The
28x28 images, scaled to [0, 1], give 22x22 maps; non-overlapping 4x4 max
pooling keeps a 5x5 map per channel (the last two rows and columns, empty
background in MNIST, fall outside the windows). The maps stream from the
convolution into the pooling batch by batch and are never stored whole.

Run from the repository root (needs ../shared/data/mnist.npz)::

    python benchmarks/mnist_families.py                          # full 60k / 10k
    python benchmarks/mnist_families.py --n-train 10000 --n-test 2000 --runs gabor

Columns: ``fit s`` is ``Pipeline.fit`` on the training images (drawing or
building the filters, convolving, pooling, scaling and training the
classifier), ``predict s`` is ``Pipeline.score`` on the test images.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import GaborConv, Pool, RandomConv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA_DIR  # noqa: E402

DEFAULT_DATA = DATA_DIR / "mnist.npz"


def make_pipeline(name, C, seed):
    """The pipeline of one run, and a short description of its settings."""
    pool = ("pool", Pool("max", size=4, flatten=True))
    if name == "random":
        conv = RandomConv(
            128, 7, distribution="gaussian", zero_mean=True, unit_norm=True,
            encoding="abs", random_state=seed, n_jobs=-1,
        )
        steps = [("conv", conv), pool]
        settings = "RandomConv 128x7x7 zero-mean, abs; max 4x4"
    elif name == "gabor":
        conv = GaborConv(
            (0.1, 0.2, 0.3, 0.4), 8, kernel_size=7, part="magnitude", n_jobs=-1
        )
        steps = [("conv", conv), pool]
        settings = "GaborConv 4 freq x 8 orient 7x7, magnitude; max 4x4"
    elif name == "pixels":
        steps = []
        settings = "pixels (no convolution)"
    else:
        raise ValueError(f"unknown run {name!r}")
    steps += [
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(C=C, max_iter=1000)),
    ]
    return Pipeline(steps), settings


def load_mnist(path, n_train, n_test):
    with np.load(path) as data:
        X_train = data["X_train"][:n_train].astype(np.float32) / 255
        X_test = data["X_test"][:n_test].astype(np.float32) / 255
        return X_train, data["y_train"][:n_train], X_test, data["y_test"][:n_test]


def run(args):
    X_train, y_train, X_test, y_test = load_mnist(args.data, args.n_train, args.n_test)
    print(
        f"MNIST: {len(X_train)} training and {len(X_test)} test images, pixels in [0, 1]; "
        f"{os.cpu_count()} CPUs; C={args.C}; seed={args.seed}",
        flush=True,
    )
    header = (
        f"{'run':<7} {'settings':<52} {'features':>8} {'accuracy':>8} "
        f"{'fit s':>7} {'predict s':>9}"
    )
    print(header)
    print("-" * len(header), flush=True)
    for name in args.runs:
        pipe, settings = make_pipeline(name, args.C, args.seed)
        X_fit = X_train if name != "pixels" else X_train.reshape(len(X_train), -1)
        X_eval = X_test if name != "pixels" else X_test.reshape(len(X_test), -1)
        t0 = time.perf_counter()
        pipe.fit(X_fit, y_train)
        fit_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        accuracy = pipe.score(X_eval, y_test)
        predict_time = time.perf_counter() - t0
        n_features = pipe["clf"].n_features_in_
        print(
            f"{name:<7} {settings:<52} {n_features:>8} {accuracy:>8.4f} "
            f"{fit_time:>7.1f} {predict_time:>9.1f}",
            flush=True,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument(
        "--runs", nargs="+", choices=("random", "gabor", "pixels"), default=["random", "gabor"]
    )
    parser.add_argument("--C", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"MNIST data not found at {args.data} (pass --data).")
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
