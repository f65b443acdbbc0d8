"""Shared, tiled and locally connected filters on aligned images, and the invariance
that max pooling over a tile's kernels adds.

Aligned images (scikit-learn's digits, MNIST, scikit-image's LFW face crops) put
the same parts at the same positions, so filters learned per position (a
dictionary of patches per output position, ``PatchConv(sharing="local")``) or per
tile position (``sharing="tiled"``) can specialize where shared filters cannot;
random filters (``RandomConv``) are the control. Every model is ``conv -> Pool
(grid, max) -> StandardScaler -> LogisticRegression``; the pooling cells are
multiples of the 2x2 tile, so each max pools over the kernels of a whole tile
(Goodfellow et al., *Deep Learning*, sec. 9.5).

Invariance: the models trained on the original MNIST training images are scored
on the test images shifted by one pixel and rotated by +-10 degrees. A tiled layer
whose four kernels are one random kernel rotated by -15, -5, 5 and 15 degrees
(``Conv(sharing="tiled")``) tests the book's mechanism: max pooling over
detectors with rotated copies of a filter should respond to the feature whatever
its (small) rotation; the shared layer with the unrotated kernels is its control.

Usage::

    python benchmarks/sharing_aligned.py            # the full run
    python benchmarks/sharing_aligned.py --small    # a quick check
"""

import argparse
import time

import numpy as np
from scipy import ndimage
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skimage.data import lfw_subset

from _common import DATA_DIR
from skconv import Conv, PatchConv, Pool, RandomConv
from skconv.filters import random_bank

SHARINGS = [("shared", {}), ("tiled 2x2", {"sharing": "tiled", "tile_shape": 2}),
            ("local", {"sharing": "local"})]


def families(n_filters, kernel, n_patches):
    return {
        "RandomConv": RandomConv(n_filters, kernel, zero_mean=True, encoding="relu",
                                 random_state=0),
        "PatchConv": PatchConv(n_filters, kernel, whiten=True, encoding="split", alpha=0.25,
                               n_patches=n_patches, random_state=0),
    }


def model(conv, grid):
    return Pipeline([
        ("conv", conv),
        ("pool", Pool(grid=grid, method="max")),
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(C=0.1, max_iter=2000)),
    ])


def shifted(X, dy, dx):
    return ndimage.shift(X, (0, dy, dx), order=0, mode="constant")


def rotated(X, angle):
    return ndimage.rotate(X, angle, axes=(1, 2), reshape=False, order=1, mode="constant")


def cv_table(name, X, y, n_filters, kernel, grid, n_patches):
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for family, conv in families(n_filters, kernel, n_patches).items():
        for label, params in SHARINGS:
            est = model(clone(conv).set_params(**params), grid)
            t0 = time.perf_counter()
            scores = cross_val_score(est, X, y, cv=folds)
            params_count = clone(conv).set_params(**params).fit(X[:50]).cost(X.shape[1:])[
                "params"]
            print(f"| {name} | {family} | {label} | {params_count:,} | "
                  f"{100 * scores.mean():.2f} +- {100 * scores.std():.2f} % | "
                  f"{time.perf_counter() - t0:.1f} |", flush=True)


def mnist_tables(n_train, n_test):
    with np.load(DATA_DIR / "mnist.npz") as data:
        X_train = data["X_train"][:n_train].astype(np.float32) / 255
        y_train = data["y_train"][:n_train]
        X_test = data["X_test"][:n_test].astype(np.float32) / 255
        y_test = data["y_test"][:n_test]
    tests = {
        "original": X_test,
        "shifted 1 px": shifted(X_test, 1, 1),
        "rotated +10": rotated(X_test, 10),
        "rotated -10": rotated(X_test, -10),
    }
    print(f"\nMNIST, {n_train} training images, {n_test} test images (5x5 kernels, "
          "max over a 4x4 grid of 6x6 cells)")
    print("| family | sharing | parameters | " + " | ".join(tests) + " | fit (s) |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in tests) + " | --- |")
    convs = []
    for family, conv in families(32, 5, 2000).items():
        for label, params in SHARINGS:
            convs.append((family, label, clone(conv).set_params(**params)))
    # the book's mechanism: the four kernels of a 2x2 tile are rotated copies
    base = random_bank(32, (7, 7), 1, zero_mean=True, random_state=0)[..., 0]
    angles = (-15, -5, 5, 15)
    rot = np.stack([
        np.stack([ndimage.rotate(k, a, reshape=False, order=1) for k in base]) for a in angles
    ])[..., 1:6, 1:6, None]  # (4, 32, 5, 5, 1), the central 5x5
    convs.append(("rotated copies", "shared (0 degrees)",
                  Conv(base[:, 1:6, 1:6, None], encoding="relu")))
    convs.append(("rotated copies", "tiled 2x2: -15, -5, 5, 15 degrees",
                  Conv(rot.reshape((2, 2) + rot.shape[1:]), sharing="tiled", encoding="relu")))
    for family, label, conv in convs:
        est = model(conv, 4)
        t0 = time.perf_counter()
        est.fit(X_train, y_train)
        fit = time.perf_counter() - t0
        scores = [est.score(X, y_test) for X in tests.values()]
        n_params = conv.cost((28, 28))["params"]
        print(f"| {family} | {label} | {n_params:,} | "
              + " | ".join(f"{100 * s:.2f} %" for s in scores) + f" | {fit:.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick check on fewer images")
    args = parser.parse_args()
    digits = load_digits()
    X_d, y_d = digits.images / 16.0, digits.target
    faces = lfw_subset()  # 100 face crops, then 100 non-face crops, 25x25
    y_f = np.r_[np.ones(100, int), np.zeros(100, int)]
    if args.small:
        X_d, y_d = X_d[:300], y_d[:300]
    print("5-fold cross-validated accuracy (mean +- std over the folds)")
    print("| data | family | sharing | parameters | accuracy | time (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    cv_table("digits 8x8 (3x3 kernels, max over 3x3 cells of 2x2)", X_d, y_d, 16, 3, 3, 1000)
    cv_table("LFW faces vs non-faces 25x25 (5x5 kernels, max over 3x3 cells of 7x7)", faces,
             y_f, 16, 5, 3, 150)
    mnist_tables(*((1000, 1000) if args.small else (5000, 5000)))


if __name__ == "__main__":
    main()
