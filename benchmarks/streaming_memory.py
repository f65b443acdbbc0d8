"""Peak memory of a literal Conv -> Pool -> classifier Pipeline on 20,000 CIFAR-10 images.

The maps of 256 filters with "same" padding on 20,000 images 32x32 would take
20,000 x 32 x 32 x 256 x 4 B = 21 GB if materialized. Conv returns lazy
FeatureMaps and Pool consumes them batch by batch, so the pipeline's peak
memory is set by ``batch_size`` and ``n_jobs``, not by the number of images.

Run from the repository root (needs ../shared/data/cifar10_jpeg_q75.npz)::

    python benchmarks/streaming_memory.py

The data file is CIFAR-10 decoded from JPEG quality 75: its accuracies are
labelled "CIFAR-10 (JPEG q75)" and are not comparable with published ones.
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

from skconv import Conv, Pool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_memory_mib  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join("..", "shared", "data", "cifar10_jpeg_q75.npz"))
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-filters", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    start_rss = peak_memory_mib()
    with np.load(args.data) as data:
        X_train = data["X_train"][: args.n_train]
        y_train = data["y_train"][: args.n_train]
        X_test, y_test = data["X_test"], data["y_test"]
    # Scale to [0, 1] as float32 (the Conv would otherwise convert on the fly).
    X_train = X_train.astype(np.float32) / 255
    X_test = X_test.astype(np.float32) / 255
    after_load = peak_memory_mib()

    filters = np.random.default_rng(0).standard_normal((args.n_filters, 5, 5, 3))
    filters /= np.linalg.norm(filters.reshape(args.n_filters, -1), axis=1)[:, None, None, None]
    model = Pipeline(
        [
            ("conv", Conv(filters, padding="same", encoding="relu",
                          batch_size=args.batch_size, n_jobs=-1)),
            ("pool", Pool(grid=(2, 2))),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=0.01, max_iter=300)),
        ]
    )
    materialized = args.n_train * 32 * 32 * args.n_filters * 4
    t0 = time.perf_counter()
    model.fit(X_train, y_train)
    t_fit = time.perf_counter() - t0
    peak_fit = peak_memory_mib()
    t0 = time.perf_counter()
    acc = model.score(X_test, y_test)
    t_score = time.perf_counter() - t0

    print(f"images: {args.n_train} train, {len(X_test)} test; {args.n_filters} random 5x5x3 filters, "
          f"padding='same', relu, 2x2 sum pool, logistic regression; batch_size={args.batch_size}, "
          f"n_jobs=-1, {os.cpu_count()} cores")
    print(f"maps if materialized (train):    {materialized / 1e9:8.1f} GB")
    print(f"peak RSS before loading data:    {start_rss:8.0f} MB")
    print(f"peak RSS after loading data:     {after_load:8.0f} MB")
    print(f"peak RSS after Pipeline.fit:     {peak_fit:8.0f} MB")
    print(f"peak RSS after scoring:          {peak_memory_mib():8.0f} MB")
    print(f"fit time {t_fit:.1f} s, score time {t_score:.1f} s")
    print(f"test accuracy, CIFAR-10 (JPEG q75): {acc:.4f}")


if __name__ == "__main__":
    main()
