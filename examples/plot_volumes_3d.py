"""
==========================================
Classifying 3-D volumes with learned filters
==========================================

Convolution does not care how many dimensions the data has: the same
transformers that learn filters on images learn them on volumes, with a 3-tuple
``kernel_size``. Here the volumes are made with numpy: a solid ball, a hollow
shell or a solid cube, of random size and position, in Gaussian noise. A ball
and a shell of the same radius look alike from afar; their walls differ.

Each volume is described by :class:`skconv.KMeansConv` (k-means filters of
5x5x5 voxels, learned without labels from patches of the training volumes) and
:class:`skconv.Pool` over the eight octants, followed by a logistic regression;
:class:`skconv.RandomConv` (random filters) and the raw voxels are compared.
The figure shows the central slice of each learned filter, and the central
slice of a few feature maps of one volume.

``--small`` (or ``SKCONV_EXAMPLES_SMALL=1``) runs a small version in a few
seconds.
"""

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconv import KMeansConv, Pool, RandomConv
from skconv.plotting import plot_feature_maps, plot_filters

small = "--small" in sys.argv or os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"
size, per_class = (16, 40) if small else (24, 120)
classes = ["ball", "shell", "cube"]

# %%
# Volumes of ``size`` voxels a side: a shape of random radius and centre, plus
# noise. Each class gets ``per_class`` training and as many test volumes.
rng = np.random.default_rng(0)
grid = np.stack(np.meshgrid(*[np.arange(size)] * 3, indexing="ij"), axis=-1)


def volume(kind):
    radius = rng.uniform(0.2, 0.32) * size
    centre = rng.uniform(radius, size - 1 - radius, 3)
    offset = grid - centre
    if kind == "ball":
        shape = np.linalg.norm(offset, axis=-1) <= radius
    elif kind == "shell":
        r = np.linalg.norm(offset, axis=-1)
        shape = (r <= radius) & (r >= radius - 2)
    else:
        shape = np.abs(offset).max(axis=-1) <= radius * 0.8
    return shape.astype(np.float32) + rng.normal(0, 0.4, shape.shape).astype(np.float32)


def volumes(n):
    X = np.stack([volume(kind) for _ in range(n) for kind in classes])
    y = np.array([kind for _ in range(n) for kind in classes])
    return X, y


X_train, y_train = volumes(per_class)
X_test, y_test = volumes(per_class)
print(f"{len(X_train)} training and {len(X_test)} test volumes of {size}^3 voxels")

# %%
# Three pipelines on ``(n_samples, depth, height, width)`` volumes (one channel
# implied; a fifth axis would hold channels).
n_filters = 8 if small else 24
pipelines = {
    "KMeansConv 5x5x5 + octant pooling": make_pipeline(
        KMeansConv(n_filters, (5, 5, 5), n_patches=4000, random_state=0),
        Pool(grid=(2, 2, 2)),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    ),
    "RandomConv 5x5x5 + octant pooling": make_pipeline(
        RandomConv(n_filters, (5, 5, 5), encoding="abs", random_state=0),
        Pool(grid=(2, 2, 2)),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    ),
    "raw voxels": make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000)
    ),
}
for name, model in pipelines.items():
    data = (X_train, X_test) if name != "raw voxels" else (
        X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    )
    model.fit(data[0], y_train)
    print(f"{name:<36} test accuracy {model.score(data[1], y_test):.3f}")

# %%
# The central slice (along the depth) of each learned filter, and of the maps
# of the first test volume.
kmeans = pipelines["KMeansConv 5x5x5 + octant pooling"][0]
fig = plt.figure(figsize=(11, 5), layout="constrained")
left, right = fig.subfigures(1, 2, width_ratios=[1, 1.4])
plot_filters(kmeans.filters_[:, 2], fig=left, ncols=4)
left.suptitle("k-means filters, central slices")
maps = np.asarray(kmeans.transform(X_test[:1]))
centre = maps.shape[1] // 2
plot_feature_maps(maps[:, centre], max_maps=8, ncols=4, fig=right)
right.suptitle(f"maps of a test {y_test[0]}, central slice")

out_dir = Path(os.environ.get("SKCONV_FIGURE_DIR", Path(__file__).resolve().parent))
fig.savefig(out_dir / "plot_volumes_3d.png", dpi=80)
plt.show()
