"""
A label per pixel: segmenting textures from a few labelled strokes
==================================================================

Keep the maps instead of pooling them away, and every position gets its own
feature vector (the "structured outputs" of Goodfellow et al. 2016, sec. 9.6):
with ``padding="same"`` the maps stay aligned with the pixels, and pooling the same
maps over windows of several sizes adds the context a texture needs. Each pixel is
then one row for any scikit-learn classifier, trained here on a few strokes drawn
on a mosaic of scikit-image's brick, grass and gravel textures, and its
predictions reshape back into a label image.

The same random forest on scikit-image's :func:`skimage.feature.multiscale_basic_features`
(Gaussian-smoothed intensity, gradient and Hessian features at several scales,
the features of its trainable segmentation) is the reference, alone and with the
same context pooling.
"""

import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skimage import data
from skimage.draw import disk, line
from skimage.feature import multiscale_basic_features
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from skconv import GaborConv, MapUnion, Pool

# SKCONV_EXAMPLES_SMALL=1 segments a smaller mosaic with fewer trees (the tests do)
SMALL = os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"
SIZE = 128 if SMALL else 384

# %%
# The mosaic: gravel everywhere, a band of brick, a disk of grass. Each texture is
# scaled to zero mean and unit variance, so that brightness alone does not tell
# them apart.
textures = []
for name in ("gravel", "brick", "grass"):
    t = getattr(data, name)()[:SIZE, :SIZE].astype(np.float32)
    textures.append((t - t.mean()) / t.std())
truth = np.zeros((SIZE, SIZE), dtype=np.intp)
truth[:, : SIZE // 3] = 1
rr, cc = disk((SIZE // 2, 2 * SIZE // 3), SIZE // 4, shape=truth.shape)
truth[rr, cc] = 2
image = np.choose(truth, textures)

# A few strokes per texture: the only labels the classifiers see.
strokes = np.zeros_like(truth)
s = SIZE
for label, segments in {
    1: [(s // 10, s // 12, 9 * s // 10, s // 6)],
    2: [(s // 2 - s // 8, 2 * s // 3 - s // 8, s // 2 + s // 8, 2 * s // 3 + s // 8)],
    0: [(s // 20, s // 2, s // 20, 19 * s // 20), (19 * s // 20, s // 2, 19 * s // 20, 19 * s // 20)],
}.items():
    for r0, c0, r1, c1 in segments:
        rr, cc = line(r0, c0, r1, c1)
        strokes[rr, cc] = label + 1  # 0 means unlabelled
labelled = strokes > 0
print(f"{SIZE}x{SIZE} mosaic of 3 textures; {labelled.sum()} labelled pixels "
      f"({100 * labelled.mean():.2f} % of the image)")

# %%
# skconv's dense features: the complex-cell energy of a Gabor bank (4
# frequencies x 6 orientations, ``padding="same"``), beside the same maps averaged
# over 9x9 and 25x25 windows centred on each pixel (``Pool(padding="same")``).
dense = Pipeline([
    ("gabor", GaborConv((0.1, 0.2, 0.3, 0.4), 6, kernel_size=15, part="magnitude",
                        padding="same")),
    ("scales", MapUnion([
        ("pixel", Pool(size=1)),
        ("9x9", Pool(size=9, stride=1, padding="same", method="mean")),
        ("25x25", Pool(size=25, stride=1, padding="same", method="mean")),
    ])),
])


def segment(features):
    rows = features.reshape(-1, features.shape[-1])
    forest = RandomForestClassifier(n_estimators=20 if SMALL else 100, n_jobs=-1,
                                    random_state=0)
    forest.fit(rows[labelled.ravel()], strokes.ravel()[labelled.ravel()] - 1)
    return forest.predict(rows).reshape(truth.shape)


start = time.perf_counter()
maps = np.asarray(dense.fit_transform(image[np.newaxis]))[0]  # (SIZE, SIZE, 72)
t_skconv = time.perf_counter() - start
start = time.perf_counter()
basic = multiscale_basic_features(image, intensity=True, edges=True, texture=True,
                                  sigma_min=1, sigma_max=16)
t_skimage = time.perf_counter() - start

# The context pooling on scikit-image's features too: which part of the gain is
# the filters', which the context's.
start = time.perf_counter()
basic_context = np.asarray(clone(dense["scales"]).fit_transform(basic[np.newaxis]))[0]
t_context = t_skimage + time.perf_counter() - start

results = {}
for name, features, t in (("skconv Gabor energy + context", maps, t_skconv),
                          ("multiscale_basic_features", basic, t_skimage),
                          ("multiscale_basic_features + context", basic_context, t_context)):
    labels = segment(features)
    accuracy = float(np.mean(labels[~labelled] == truth[~labelled]))
    results[name] = labels
    print(f"{name:<36} {features.shape[-1]:>3} features per pixel, computed in {t:5.2f} s: "
          f"accuracy {accuracy:.4f} on the unlabelled pixels")

# %%
# The mosaic with its strokes, the truth, and the two segmentations.
fig, axes = plt.subplots(1, 5, figsize=(16, 3.6), layout="constrained")
axes[0].imshow(image, cmap="gray")
axes[0].contour(labelled, levels=[0.5], colors="red", linewidths=0.8)
axes[0].set_title("mosaic and strokes")
axes[1].imshow(truth, cmap="viridis", vmin=0, vmax=2)
axes[1].set_title("truth")
for ax, (name, labels) in zip(axes[2:], results.items()):
    ax.imshow(labels, cmap="viridis", vmin=0, vmax=2)
    ax.set_title(name, fontsize=9)
for ax in axes:
    ax.set_axis_off()
out_dir = Path(os.environ.get("SKCONV_FIGURE_DIR", Path(__file__).resolve().parent))
fig.savefig(out_dir / "plot_dense_segmentation.png", dpi=80)
plt.show()
