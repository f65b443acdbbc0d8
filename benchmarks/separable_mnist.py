"""Separable (low-rank) filter banks on MNIST: approximation error, speed, accuracy.

Two hand-designed banks, the Gabor bank (4 frequencies x 8 orientations, natural
support, complex-cell magnitude) and the 48-filter Leung-Malik bank (49x49), are
applied in full and through their rank-1, 2 and 3 separable approximations
(``separable=r``). For each: the relative approximation error of the filters
(``approximation_error_``), the multiply-adds per image from ``cost()``, the time
of the maps of ``--n-time`` test images (median of 3, one BLAS thread), and the
test accuracy of ``conv(encoding="abs") -> Pool(grid=4, method="max") ->
StandardScaler -> LogisticRegression(C=0.1)`` trained on the first ``--n-train``
training images.

Usage::

    python benchmarks/separable_mnist.py                 # 10,000 / 10,000 images
    python benchmarks/separable_mnist.py --n-train 500 --n-test 500 --n-time 100
"""

import argparse

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from _common import DATA_DIR, median_time
from skconv import EdgeConv, GaborConv, Pool

BANKS = {
    "Gabor 4x8, magnitude": GaborConv((0.1, 0.2, 0.3, 0.4), 8, part="magnitude",
                                      padding="same", encoding="abs"),
    "Leung-Malik 48 x 49x49": EdgeConv((), bank="leung_malik", padding="same", encoding="abs"),
}
RANKS = (None, 1, 2, 3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--n-time", type=int, default=1000)
    args = parser.parse_args()
    with np.load(DATA_DIR / "mnist.npz") as data:
        X_train = data["X_train"][: args.n_train].astype(np.float32) / 255
        y_train = data["y_train"][: args.n_train]
        X_test = data["X_test"][: args.n_test].astype(np.float32) / 255
        y_test = data["y_test"][: args.n_test]
    print(f"MNIST: {len(X_train)} training and {len(X_test)} test images; maps of "
          f"{args.n_time} test images timed on one BLAS thread")
    print("| bank | separable rank | filter error: median / max | multiply-adds per image "
          "| predicted ratio | time of maps (s) | measured ratio | test accuracy |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, bank in BANKS.items():
        base_macs = base_time = None
        for rank in RANKS:
            conv = clone(bank).set_params(separable=rank)
            conv.fit(X_train[:1])
            macs = conv.cost((28, 28))["multiply_adds"]
            errors = getattr(conv, "approximation_error_", np.zeros(1))
            sample = X_test[: args.n_time]
            with threadpool_limits(1):
                np.asarray(conv.transform(sample[:10]))  # warm up
                t = median_time(lambda: np.asarray(conv.transform(sample)))
            if base_macs is None:
                base_macs, base_time = macs, t
            model = Pipeline([
                ("conv", clone(conv).set_params(n_jobs=-1)),
                ("pool", Pool(grid=4, method="max")),
                ("scale", StandardScaler()),
                ("clf", LogisticRegression(C=0.1, max_iter=1000)),
            ])
            accuracy = model.fit(X_train, y_train).score(X_test, y_test)
            shown = "full" if rank is None else str(rank)
            print(f"| {name} | {shown} | {np.median(errors):.4f} / {errors.max():.4f} | "
                  f"{macs:,} | {macs / base_macs:.3f} | {t:.3f} | {t / base_time:.3f} | "
                  f"{100 * accuracy:.2f} % |", flush=True)


if __name__ == "__main__":
    main()
