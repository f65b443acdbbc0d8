"""
Images of different sizes, and spatial pyramid pooling
======================================================

Convolution does not care how large an image is, and a spatial pyramid (He et al.
2014) turns maps of any size into a vector of fixed length: each level cuts the
maps into a grid of regions proportional to their size. So a list of images of
different sizes goes through ``Pipeline([conv, Pool(pyramid=...), classifier])``
as it is, with no resizing. Here each digit of scikit-learn's 8x8 set is
enlarged by its own random factor, between 1x and 3x, and classified with
filters learned on those images; the same digits at their original size are the
reference.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skimage.transform import rescale
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import KMeansConv, Pool

# SKCONV_EXAMPLES_SMALL=1 runs on a few hundred digits (the tests do)
SMALL = os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"

digits = load_digits()
images, y = digits.images / 16.0, digits.target
if SMALL:
    images, y = images[:400], y[:400]
rng = np.random.default_rng(0)
scales = rng.uniform(1.0, 3.0, len(images))
resized = [rescale(image, scale, anti_aliasing=False) for image, scale in zip(images, scales)]
sizes = sorted({r.shape for r in resized})
print(f"{len(resized)} digits, {len(sizes)} different sizes from {sizes[0]} to {sizes[-1]}")

idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0,
                                       stratify=y)


def model():
    return Pipeline(
        [
            ("conv", KMeansConv(n_filters=32, kernel_size=3, n_patches=20_000, random_state=0)),
            ("pool", Pool(pyramid=(1, 2, 4), method="max")),  # 21 regions for every size
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=0.1, max_iter=2000)),
        ]
    )


varied = model().fit([resized[i] for i in idx_train], y[idx_train])
acc_varied = varied.score([resized[i] for i in idx_test], y[idx_test])
original = model().fit(images[idx_train], y[idx_train])
acc_original = original.score(images[idx_test], y[idx_test])
n_features = varied[:-2].transform(resized[:1]).shape[1]
print(f"{n_features} features per image, whatever its size")
print(f"digits of sizes {sizes[0][0]}..{sizes[-1][0]} pixels: test accuracy {acc_varied:.4f}")
print(f"the same digits at 8x8:          test accuracy {acc_original:.4f}")

# %%
# Some of the inputs, drawn at the same pixel scale.
largest = max(r.shape[0] for r in resized)
fig, axes = plt.subplots(1, 6, figsize=(9, 2), layout="constrained")
for ax, i in zip(axes, idx_test):
    h, w = resized[i].shape
    ax.imshow(resized[i], cmap="gray_r", extent=(0, w, h, 0))
    ax.set_xlim(0, largest)
    ax.set_ylim(largest, 0)
    ax.set_title(f"{h}x{w}", fontsize=9)
    ax.set_axis_off()
out_dir = Path(os.environ.get("SKCONV_FIGURE_DIR", Path(__file__).resolve().parent))
fig.savefig(out_dir / "plot_variable_size.png", dpi=100)
plt.show()
