"""
A grid search over filters, kernel size and pooling
===================================================

Every skconv step is a scikit-learn estimator, so the whole feature extractor is
tuned like any other model: :class:`~sklearn.model_selection.GridSearchCV` sweeps
the number of k-means filters, their size and the pooling reduction of a
``KMeansConv -> Pool -> LogisticRegression`` pipeline on the digits, with the same
cross-validation folds for every setting. The heat map shows the cross-validated
accuracy of each pair of settings for the best pooling reduction.
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

from skconv import KMeansConv, Pool

# SKCONV_EXAMPLES_SMALL=1 sweeps a smaller grid on fewer digits (the tests do)
SMALL = os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"

digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.images / 16.0, digits.target, test_size=0.3, random_state=0, stratify=digits.target
)
if SMALL:
    X_train, y_train = X_train[:300], y_train[:300]

pipe = Pipeline(
    [
        ("conv", KMeansConv(n_patches=10_000, max_iter=20, padding="same", random_state=0)),
        ("pool", Pool(grid=(2, 2))),
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(C=0.1, max_iter=2000)),
    ]
)
n_filters = [8, 16] if SMALL else [8, 32, 128]
kernel_sizes = [3] if SMALL else [2, 3, 4]
methods = ["sum", "max"]
grid = {"conv__n_filters": n_filters, "conv__kernel_size": kernel_sizes, "pool__method": methods}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X_train, y_train)

# %%
# The best setting, scored once on the held-out digits.
print(f"best setting: {search.best_params_}")
print(f"cross-validated accuracy {search.best_score_:.4f}; "
      f"held-out accuracy {search.score(X_test, y_test):.4f}")

# %%
# Accuracy for every number of filters and kernel size, with the best reduction.
results = search.cv_results_
best_method = search.best_params_["pool__method"]
scores = np.full((len(n_filters), len(kernel_sizes)), np.nan)
for params, score in zip(results["params"], results["mean_test_score"]):
    if params["pool__method"] == best_method:
        i = n_filters.index(params["conv__n_filters"])
        j = kernel_sizes.index(params["conv__kernel_size"])
        scores[i, j] = score
for f, row in zip(n_filters, scores):
    print(f"{f:>4} filters: " + "  ".join(f"{k}x{k} {s:.4f}" for k, s in zip(kernel_sizes, row)))

fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(len(kernel_sizes)), [f"{k}x{k}" for k in kernel_sizes])
ax.set_yticks(range(len(n_filters)), [str(f) for f in n_filters])
ax.set_xlabel("kernel size")
ax.set_ylabel("k-means filters")
middle = np.nanmean(scores)
for (i, j), s in np.ndenumerate(scores):
    ax.text(j, i, f"{s:.3f}", ha="center", va="center", fontsize=8,
            color="black" if s > middle else "white")
fig.colorbar(image, label=f"cross-validated accuracy ({best_method} pooling)")
out_dir = Path(os.environ.get("SKCONV_FIGURE_DIR", Path(__file__).resolve().parent))
fig.savefig(out_dir / "plot_grid_search.png", dpi=100)
plt.show()
