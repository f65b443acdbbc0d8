"""
=================================================
Random, Gabor, edge and PCA filters on the digits
=================================================

Which filters should a convolutional layer use when nothing is trained by
backpropagation? This example puts four families side by side on scikit-learn's
8x8 digits: filters drawn at random (:class:`RandomConv`), a Gabor bank
(:class:`GaborConv`), classic edge and blob detectors (:class:`EdgeConv`), and
the principal components of image patches (:class:`PCAConv`, PCANet's first
stage).

Each family is one choice for the ``conv`` step of the same pipeline, followed
by sum pooling over a 2x2 grid, standardization and a logistic regression. A single
:class:`~sklearn.model_selection.GridSearchCV` swaps the step (and a parameter
or two of each family), so all of them are compared with the same
cross-validation folds, then the best pipeline is scored on held-out digits.
Finally the filter banks themselves are drawn with
:func:`skconv.plotting.plot_filters`.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import EdgeConv, GaborConv, PCAConv, Pool, RandomConv
from skconv.plotting import plot_filters

# SKCONV_EXAMPLES_SMALL=1 runs a smaller grid on fewer images (the tests do)
SMALL = os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"

# %%
# The data: 1,797 grey 8x8 images, scaled to [0, 1]. The images go in as they
# are, ``(n_samples, 8, 8)``: the transformers know they work in 2-D.
digits = load_digits()
X = digits.images / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, digits.target, test_size=0.3, random_state=0, stratify=digits.target
)
if SMALL:
    X_train, y_train = X_train[:300], y_train[:300]

# %%
# One pipeline, four families for its ``conv`` step. The kernels are small
# (the images are 8x8) and ``padding="same"`` keeps the maps 8x8.
pipe = Pipeline(
    [
        ("conv", RandomConv()),
        ("pool", Pool(grid=2)),
        # pooled responses of different families have very different scales;
        # standardizing them keeps the regression well conditioned and fast
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(C=0.1, max_iter=1000)),
    ]
)
common = dict(padding="same")
param_grid = [
    {
        "conv": [RandomConv(kernel_size=3, encoding="relu", random_state=0, **common)],
        "conv__n_filters": [8, 32],
    },
    {
        "conv": [GaborConv((0.25, 0.4), 4, kernel_size=5, **common)],
        "conv__part": ["real", "magnitude"],
    },
    {
        "conv": [EdgeConv(encoding="abs", **common)],
        "conv__log_sigmas": [(), (1.0,)],
    },
    {
        "conv": [PCAConv(kernel_size=3, encoding="abs", random_state=0, **common)],
        "conv__n_filters": [4, 8],
    },
]
if SMALL:  # one setting per family
    param_grid = [{k: v[:1] for k, v in grid.items()} for grid in param_grid]
search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=1)
search.fit(X_train, y_train)

# %%
# The table: every family and setting, with its cross-validated accuracy.
results = search.cv_results_
rows = []
for i, params in enumerate(results["params"]):
    conv = params["conv"]
    extra = ", ".join(f"{k.split('__')[1]}={v!r}" for k, v in params.items() if "__" in k)
    rows.append(
        (
            type(conv).__name__,
            extra,
            results["mean_test_score"][i],
            results["std_test_score"][i],
            results["mean_fit_time"][i],
        )
    )
print(f"{'family':<11} {'setting':<22} {'accuracy':>15} {'fit (s)':>8}")
for family, extra, mean, std, fit_time in sorted(rows, key=lambda r: -r[2]):
    print(f"{family:<11} {extra:<22} {mean:>8.3f} ± {std:.3f} {fit_time:>8.2f}")
best = search.best_estimator_
print(f"\nbest: {type(best['conv']).__name__} with {search.best_params_}")
print(f"held-out accuracy of the best pipeline: {best.score(X_test, y_test):.3f}")

# %%
# The banks. Random filters look like noise, Gabor filters like oriented
# stripes, the edge bank holds the 3x3 Sobel, Prewitt, Scharr, Roberts and
# Laplace kernels, and the principal components of digit patches come out as
# smooth derivative-like patterns ordered by the variance they explain.
banks = {
    "RandomConv (32 x 3x3)": RandomConv(32, 3, random_state=0),
    "GaborConv (real, 8 x 5x5)": GaborConv((0.25, 0.4), 4, kernel_size=5),
    "EdgeConv (9 x 3x3)": EdgeConv(),
    "PCAConv (8 x 3x3)": PCAConv(8, 3, random_state=0),
}
fig = plt.figure(figsize=(13, 4), layout="constrained")
for subfig, (title, conv) in zip(fig.subfigures(1, len(banks)), banks.items()):
    plot_filters(conv.fit(X_train), fig=subfig, max_filters=32)
    subfig.suptitle(title)

out_dir = Path(os.environ.get("SKCONV_FIGURE_DIR", Path(__file__).resolve().parent))
fig.savefig(out_dir / "plot_filter_families.png", dpi=100)
plt.show()
