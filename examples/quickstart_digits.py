"""
Quick start: convolutional features for handwritten digits
==========================================================

Filters learned without labels (k-means on whitened 3x3 patches, as Coates et
al. did for CIFAR-10), the triangle encoding and quadrant pooling turn
scikit-learn's bundled 8x8 digits into features that a plain logistic
regression separates better than raw pixels. No download and no
backpropagation: the whole model is a scikit-learn Pipeline.
"""

import os
import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import KMeansConv, Pool

# SKCONV_EXAMPLES_SMALL=1 runs a smaller dictionary in a second or two (the tests do)
SMALL = os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"
digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.25, random_state=0
)

# `input_shape` tells the transformer how to read the flat rows of pixels.
model = Pipeline(
    [
        ("conv", KMeansConv(n_filters=16 if SMALL else 64, kernel_size=3, input_shape=(8, 8),
                            n_patches=5000 if SMALL else 400000, random_state=0)),
        ("pool", Pool(grid=(2, 2))),
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(C=0.1, max_iter=1000)),
    ]
)

start = time.perf_counter()
model.fit(X_train, y_train)
conv_acc = model.score(X_test, y_test)
elapsed = time.perf_counter() - start

raw = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.1, max_iter=1000))])
raw_acc = raw.fit(X_train, y_train).score(X_test, y_test)

print(f"raw pixels + logistic regression:        test accuracy {raw_acc:.4f}")
print(f"k-means conv + pool + logistic regression: test accuracy {conv_acc:.4f} "
      f"({elapsed:.1f} s)")
