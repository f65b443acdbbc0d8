"""
Random depthwise separable layers, stacked
==========================================

A depthwise separable layer (MobileNet, Xception) splits a convolution in two: a
*depthwise* stage that filters every channel on its own (``groups`` equal to the
channels) and a *pointwise* stage of 1x1 filters that mixes the channels. With
``N_c`` output channels and ``h x h`` kernels it costs about ``1/N_c + 1/h^2`` of
the dense layer. Grouping the pointwise stage too (``groups=g``) divides its cost
by ``g``, and a :class:`skconv.ChannelShuffle` after it lets the next layer's
groups see channels from every group.

Here every layer is random (no training, no backpropagation): three dense
random layers against three depthwise separable ones of the same widths, on
scikit-learn's bundled digits, each followed by max pooling over the image
quadrants and a logistic regression. ``cost()`` gives each layer's
multiply-adds before anything runs; the table prints them next to the test
accuracy. Set ``SKCONV_EXAMPLES_SMALL=1`` for a quick run on fewer images.
"""

import os
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import ChannelShuffle, Pool, RandomConv

SMALL = os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"
WIDTHS = (16, 32, 64)
GROUPS = 4  # groups of the pointwise stages

digits = load_digits()
X, y = digits.images / 16.0, digits.target
if SMALL:
    X, y = X[:400], y[:400]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)


def dense_layers():
    """Three dense random 3x3 layers."""
    return [
        (f"conv{i}", RandomConv(w, 3, padding="same", encoding="relu", random_state=i))
        for i, w in enumerate(WIDTHS)
    ]


def separable_layers():
    """A dense first layer (one input channel), then depthwise + grouped pointwise
    stages with a shuffle between the pointwise groups and the next layer."""
    layers = [("conv0", RandomConv(WIDTHS[0], 3, padding="same", encoding="relu",
                                   random_state=0))]
    for i, (c_in, c_out) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:]), start=1):
        layers += [
            (f"depthwise{i}", RandomConv(c_in, 3, groups=c_in, padding="same",
                                         random_state=10 + i)),
            (f"pointwise{i}", RandomConv(c_out, 1, groups=GROUPS, encoding="relu",
                                         random_state=20 + i)),
            (f"shuffle{i}", ChannelShuffle(groups=GROUPS)),
        ]
    return layers


def multiply_adds(layers, shape):
    """Multiply-adds of one image through the layers, from their cost() (a shuffle
    costs none and keeps the shape)."""
    total = 0
    for _, layer in layers:
        if hasattr(layer, "cost"):
            cost = layer.cost(shape)
            total += cost["multiply_adds"]
            shape = cost["output_shape"]
    return total


def model(layers):
    return Pipeline(
        layers
        + [
            ("pool", Pool(grid=2, method="max")),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=0.1, max_iter=2000)),
        ]
    )


# %%
# Fit both stacks and compare
# ---------------------------
rows = []
for name, layers in [("dense", dense_layers()), ("depthwise separable", separable_layers())]:
    macs = multiply_adds(layers, X.shape[1:])
    start = time.perf_counter()
    accuracy = model(layers).fit(X_train, y_train).score(X_test, y_test)
    rows.append((name, macs, accuracy, time.perf_counter() - start))

dense_macs = rows[0][1]
print(f"{len(X_train)} training and {len(X_test)} test digits, widths {WIDTHS}")
print(f"{'stack':22s} {'multiply-adds':>14s} {'vs dense':>9s} {'accuracy':>9s} {'time':>7s}")
for name, macs, accuracy, seconds in rows:
    print(f"{name:22s} {macs:14,d} {macs / dense_macs:9.3f} {accuracy:9.4f} {seconds:6.1f}s")
