"""
Two k-means layers with learned receptive fields on CIFAR-10
============================================================

A second layer of k-means features is learned on the maps of the first, greedily,
without backpropagation (Coates & Ng, 2011). Above the first layer a filter that
spans every channel has too many inputs for k-means to find good centroids, so
each second-layer filter only sees a *receptive field*: a group of first-layer
channels whose responses go together. :func:`skconv.group_channels` measures
that by the correlation of the channels' squared (standardized) responses, and
:class:`skconv.ReceptiveFieldConv` learns one small k-means layer per group.

:class:`skconv.LayerwiseStack` fits the layers one after the other, each on a
random subset of the images (``fit_subset``), so that the first layer only runs
on those images while the second one learns; then it pools the maps of both
layers over the image quadrants and puts the features side by side, in one pass
in which every layer runs once per batch of images.

The two-layer model is compared with one k-means layer of the same total width
(the same number of features) and with its own first layer alone, on a subset of
CIFAR-10 (4,000 training and 1,000 test images) so that it runs in a few minutes
on two cores. The images are stored as JPEG (quality 75). The same logistic
regression (same regularization, not tuned per model) classifies every set of
features. With so few training images the accuracies move by a point or two
between subsets, so read the table as a sketch; the paper's setting (50,000
images, thousands of features) is far more expensive.

The figure shows a few of the learned groups: each row is one group, drawn as
the first-layer centroids of its channels, its seed channel first.

Run it from the repository root; the data path can be given as the first argument
or in the ``SKCONV_CIFAR10`` environment variable.
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import KMeansConv, LayerwiseStack, Pool, ReceptiveFieldConv
from skconv.plotting import plot_filters

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent / ".." / "shared" / "data" / "cifar10_jpeg_q75.npz"
N_TRAIN, N_TEST = 4000, 1000
# SKCONV_EXAMPLES_SMALL=1 runs on a few hundred images (the tests do)
if os.environ.get("SKCONV_EXAMPLES_SMALL") == "1":
    N_TRAIN, N_TEST = 300, 100
N1 = 128  # first-layer filters
N_GROUPS, GROUP_SIZE, N2 = 8, 16, 32  # second layer: 8 groups x 32 filters
N_PATCHES = 50_000
if os.environ.get("SKCONV_EXAMPLES_SMALL") == "1":
    N1, N_GROUPS, N2, N_PATCHES = 32, 4, 8, 5_000

if len(sys.argv) > 1:
    data_path = Path(sys.argv[1])
else:
    data_path = Path(os.environ.get("SKCONV_CIFAR10", DEFAULT_DATA))
if not data_path.is_file():
    print(
        f"CIFAR-10 data not found at {data_path}. Give the path of an .npz file with "
        "X_train, y_train, X_test, y_test (uint8 images of shape (n, 32, 32, 3)) as the "
        "first argument or in the SKCONV_CIFAR10 environment variable."
    )
    sys.exit(0)

with np.load(data_path) as data:
    X_train, y_train = data["X_train"][:N_TRAIN], data["y_train"][:N_TRAIN]
    X_test, y_test = data["X_test"][:N_TEST], data["y_test"][:N_TEST]
print(f"{len(X_train)} training and {len(X_test)} test images of shape {X_train.shape[1:]}")


def classifier():
    return Pipeline(
        [("scale", StandardScaler()), ("clf", LogisticRegression(C=0.01, max_iter=1000))]
    )


# %%
# The stack
# ---------
# 6x6 k-means filters on the pixels, 3x3 max pooling with stride 2 (27x27 maps
# become 13x13), then 3x3 k-means filters on groups of 16 similar channels. Both
# layers' maps are summed over the four quadrants.
stack = LayerwiseStack(
    [
        ("conv1", KMeansConv(N1, 6, n_patches=N_PATCHES, n_jobs=-1)),
        ("pool1", Pool(size=3, stride=2, method="max")),
        (
            "conv2",
            ReceptiveFieldConv(
                KMeansConv(N2, 3, n_patches=N_PATCHES // 2),
                n_groups=N_GROUPS,
                group_size=GROUP_SIZE,
                n_jobs=-1,
            ),
        ),
    ],
    fit_subset=min(1000, N_TRAIN),
    concat=["conv1", "conv2"],
    pool=Pool(grid=(2, 2)),
    random_state=0,
)

start = time.perf_counter()
stack.fit(X_train)
fit_time = time.perf_counter() - start
start = time.perf_counter()
F_train, F_test = stack.transform(X_train), stack.transform(X_test)
transform_time = time.perf_counter() - start
print(f"stack: fitted in {fit_time:.0f} s, features {F_train.shape[1]} in {transform_time:.0f} s")

# The first layer's pooled features are the first columns of the stack's output.
n_first = 4 * N1
rows = [
    (f"first layer alone ({N1} filters)", F_train[:, :n_first], F_test[:, :n_first]),
    (
        f"two layers ({N1} + {N_GROUPS} groups x {N2} filters)",
        F_train,
        F_test,
    ),
]

# %%
# One layer of the same width
# ---------------------------
width = N1 + N_GROUPS * N2
single = Pipeline(
    [
        ("conv", KMeansConv(width, 6, n_patches=N_PATCHES, random_state=0, n_jobs=-1)),
        ("pool", Pool(grid=(2, 2))),
    ]
)
start = time.perf_counter()
S_train = single.fit_transform(X_train)
S_test = single.transform(X_test)
single_time = time.perf_counter() - start
print(f"one layer of {width} filters: features {S_train.shape[1]} in {single_time:.0f} s")
rows.append((f"one layer ({width} filters)", S_train, S_test))

# %%
# Accuracy
# --------
print()
print(f"CIFAR-10 (JPEG q75), {N_TRAIN} train / {N_TEST} test images")
print(f"{'model':<44} {'features':>8} {'test accuracy':>14}")
for name, train, test in rows:
    accuracy = classifier().fit(train, y_train).score(test, y_test)
    print(f"{name:<44} {train.shape[1]:>8} {accuracy:>14.4f}")

# %%
# The receptive fields
# --------------------
# Each row is one group of the second layer, drawn as the first-layer centroids
# (in the whitened patch space) of its channels: the seed channel, then the
# others from the most similar down.
conv1 = stack.named_layers_["conv1"]
conv2 = stack.named_layers_["conv2"]
n_rows = 6
bank = conv1.centroids_[conv2.groups_[:n_rows].ravel()]
fig = plot_filters(bank, max_filters=len(bank), ncols=GROUP_SIZE, tile_size=0.5)
fig.suptitle(f"{n_rows} of the {N_GROUPS} receptive fields of the second layer (one per row)")
out_dir = Path(os.environ.get("SKCONV_FIGURE_DIR", HERE))
out = out_dir / "plot_layerwise_stack.png"
fig.savefig(out, dpi=100)
print(f"receptive fields drawn in {out}")
