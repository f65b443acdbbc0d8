"""
The pipeline on the card: k-means filters, pooling, a linear classifier
=======================================================================

skconv's one-line promise is that this is a complete model::

    Pipeline([("conv", KMeansConv()), ("pool", Pool()), ("clf", LogisticRegression())])

:class:`skconv.KMeansConv` learns 1,600 filters of 6x6 pixels without labels (k-means
on contrast-normalized, whitened patches, as Coates, Lee and Ng did for CIFAR-10),
encodes every position by the triangle activation, and :class:`skconv.Pool` sums the
codes over the four quadrants of the image. Here it runs as written on
scikit-learn's 8x8 digits, given only ``input_shape`` so that the flat rows of
``load_digits().data`` are read as images, and is compared with the same classifier
on raw pixels. The learned filters are drawn at the end.
"""

import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skconv import KMeansConv, Pool
from skconv.plotting import plot_filters

# SKCONV_EXAMPLES_SMALL=1 learns 64 filters instead of 1,600 (the tests do)
SMALL = os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"

X, y = load_digits(return_X_y=True)  # (1797, 64): flat 8x8 images, values 0..16
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                    stratify=y)

# %%
# The card's pipeline. ``KMeansConv()``'s defaults are those of the CIFAR-10
# pipeline: 1,600 filters of 6x6, triangle encoding; ``Pool()`` sums over the
# quadrants. On 8x8 digits each image has 3x3 positions of a 6x6 patch.
conv = KMeansConv(input_shape=(8, 8), random_state=0)
if SMALL:
    conv.set_params(n_filters=64)
model = Pipeline([("conv", conv), ("pool", Pool()), ("clf", LogisticRegression(max_iter=2000))])

start = time.perf_counter()
model.fit(X_train, y_train)
fit_time = time.perf_counter() - start
accuracy = model.score(X_test, y_test)
raw = LogisticRegression(max_iter=2000).fit(X_train, y_train).score(X_test, y_test)

n_features = model[:-1].transform(X_test[:1]).shape[1]
print(f"KMeansConv({conv.n_filters}) + Pool + LogisticRegression: test accuracy "
      f"{accuracy:.4f} ({n_features} features, fit {fit_time:.1f} s)")
print(f"LogisticRegression on the 64 raw pixels:          test accuracy {raw:.4f}")

# %%
# The learned centroids, in the whitened space where k-means found them: the
# strokes, edges and blobs the triangle encoding compares each patch with.
fig = plt.figure(figsize=(8, 8), layout="constrained")
plot_filters(model["conv"].centroids_, fig=fig, max_filters=64)
fig.suptitle("64 of the k-means filters learned on the digits")
out_dir = Path(os.environ.get("SKCONV_FIGURE_DIR", Path(__file__).resolve().parent))
fig.savefig(out_dir / "plot_card_pipeline.png", dpi=80)
plt.show()
