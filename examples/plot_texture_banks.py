"""
=====================================================
Texture classification with Gabor and Leung-Malik banks
=====================================================

Textures are told apart by the statistics of their local structure, not by
where things are. A classic recipe is a bank of oriented, multi-scale filters
followed by the average response energy of each filter over the whole image
[Jain & Farrokhnia 1991; Leung & Malik 2001].

Here three of scikit-image's bundled textures (brick, grass and gravel) are
cut into 64x64 patches; patches from the top half of each image train the
classifier and those from the bottom half test it, so no test patch overlaps
a training one. Each patch is described by the mean response, over the whole
patch, of a Gabor bank (complex-cell magnitude, 4 frequencies x 6
orientations) or of the 48-filter Leung-Malik bank (edges, bars, spots and
blobs), followed by a logistic regression. The mean and standard deviation of
the raw pixels serve as a baseline.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skimage import data
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skconv import EdgeConv, GaborConv, Pool
from skconv.plotting import plot_filters

# SKCONV_EXAMPLES_SMALL=1 uses a quarter of each texture (the tests do)
SMALL = os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"

# %%
# Cut each 512x512 texture into 64 non-overlapping 64x64 patches: the top
# four rows of patches for training, the bottom four for testing.
names = ["brick", "grass", "gravel"]
images = [getattr(data, name)().astype(np.float32) / 255 for name in names]
if SMALL:
    images = [image[:256, :256] for image in images]
size = 64
X_train, y_train, X_test, y_test = [], [], [], []
for label, image in enumerate(images):
    for i in range(0, image.shape[0], size):
        for j in range(0, image.shape[1], size):
            patch = image[i : i + size, j : j + size]
            if i + size <= image.shape[0] // 2:
                X_train.append(patch)
                y_train.append(label)
            else:
                X_test.append(patch)
                y_test.append(label)
X_train, X_test = np.stack(X_train), np.stack(X_test)
y_train, y_test = np.array(y_train), np.array(y_test)
print(f"{len(X_train)} training and {len(X_test)} test patches of {size}x{size}")

# %%
# Three descriptors. The filter banks use ``padding="same"`` so that every
# pixel of a patch contributes (the 49x49 Leung-Malik kernels would leave only
# 16x16 valid positions); ``Pool(method="mean", grid=1)`` averages each
# filter's response energy over the patch.


def pixel_statistics(X):
    flat = X.reshape(len(X), -1)
    return np.column_stack([flat.mean(axis=1), flat.std(axis=1)])


gabor = GaborConv(
    frequencies=(0.05, 0.1, 0.2, 0.4), n_orientations=6, kernel_size=31,
    part="magnitude", padding="same", n_jobs=-1,
)
leung_malik = EdgeConv(filters=(), bank="leung_malik_small", encoding="abs",
                       padding="same", n_jobs=-1)
descriptors = {
    "pixel mean and std": FunctionTransformer(pixel_statistics),
    "Gabor energy (24 filters)": make_pipeline(gabor, Pool(method="mean", grid=1)),
    "Leung-Malik energy (48 filters)": make_pipeline(leung_malik, Pool(method="mean", grid=1)),
}
for name, descriptor in descriptors.items():
    clf = make_pipeline(descriptor, StandardScaler(), LogisticRegression(max_iter=1000))
    clf.fit(X_train, y_train)
    print(f"{name:<32} test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# The textures (the dashed line separates training from test patches) and the
# two banks. The Gabor bank is shown by its real (even) filters; the
# imaginary (odd) ones follow them in ``filters_``.
fig = plt.figure(figsize=(12, 8), layout="constrained")
top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.3])
axes = top.subplots(1, 3)
for ax, name, image in zip(axes, names, images):
    ax.imshow(image, cmap="gray")
    ax.axhline(image.shape[0] / 2 - 0.5, color="tab:orange", linestyle="--")
    ax.set_title(name)
    ax.set_axis_off()
left, right = bottom.subfigures(1, 2)
gabor.fit(X_train)
plot_filters(gabor.filters_[: gabor.n_output_channels_], fig=left, ncols=6)
left.suptitle("Gabor bank (real parts)")
plot_filters(leung_malik.fit(X_train), fig=right, ncols=8)
right.suptitle("Leung-Malik bank (small scales)")

out_dir = Path(os.environ.get("SKCONV_FIGURE_DIR", Path(__file__).resolve().parent))
fig.savefig(out_dir / "plot_texture_banks.png", dpi=80)
plt.show()
