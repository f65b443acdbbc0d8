"""
==============================================
Classifying signals with MiniRocket features
==============================================

:class:`skconv.MiniRocket` turns signals into features with 84 fixed kernels
applied at many dilations, followed by the proportion of positions where each
output exceeds a bias learned from the training signals [Dempster et al. 2021].
A ridge classifier on those features is a strong, fast baseline for time series.

The signals here are made with numpy: noise with one event at a random place,
a smooth bump, a square pulse or a short oscillation burst. Where the event is
does not matter, only its shape: the raw values, fed to the same ridge
classifier, do poorly. The second half shows what the transformer adds to
MiniRocket: signals of different lengths given as a list, and MultiRocket's
statistics of the positive values with the first differences as a second
representation [Tan et al. 2022].

``--small`` (or ``SKCONV_EXAMPLES_SMALL=1``) runs a small version in a few
seconds.
"""

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import make_pipeline

from skconv import MiniRocket

small = "--small" in sys.argv or os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"
per_class, n_features = (30, 2000) if small else (150, 10_000)
classes = ["bump", "pulse", "burst"]
rng = np.random.default_rng(0)


def signal(kind, length):
    t = np.arange(length)
    where, width = rng.uniform(0.15, 0.85) * length, rng.uniform(4, 10)
    if kind == "bump":
        event = np.exp(-0.5 * ((t - where) / width) ** 2)
    elif kind == "pulse":
        event = (np.abs(t - where) < width).astype(float)
    else:
        event = np.sin((t - where) * 1.2) * (np.abs(t - where) < 1.5 * width)
    return (1.5 * event + rng.normal(0, 0.5, length)).astype(np.float32)


def signals(n, lengths):
    X = [signal(kind, int(rng.integers(*lengths))) for _ in range(n) for kind in classes]
    y = np.array([kind for _ in range(n) for kind in classes])
    return X, y


# %%
# Signals of 150 values: MiniRocket's features against the raw values.
X_train, y_train = signals(per_class, (150, 151))
X_test, y_test = signals(per_class, (150, 151))
X_train, X_test = np.stack(X_train), np.stack(X_test)
ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
minirocket = make_pipeline(MiniRocket(n_features, random_state=0), ridge)
minirocket.fit(X_train, y_train)
print(f"MiniRocket ({minirocket[0].n_features_out_} features) test accuracy "
      f"{minirocket.score(X_test, y_test):.3f}")
raw = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(X_train, y_train)
print(f"raw values                         test accuracy {raw.score(X_test, y_test):.3f}")

# %%
# Signals of 80 to 250 values, as lists; MultiRocket's statistics (proportion,
# mean and longest stretch of the positive values) on the signals and on their
# first differences.
L_train, ly_train = signals(per_class, (80, 250))
L_test, ly_test = signals(per_class, (80, 250))
multi = make_pipeline(
    MiniRocket(n_features, method=("ppv", "mpv", "lspv"), difference=True, random_state=0),
    RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),
)
multi.fit(L_train, ly_train)
print(f"MultiRocket statistics, lengths 80-250: test accuracy {multi.score(L_test, ly_test):.3f}")

# %%
# A few signals of each class, and the MiniRocket features of the test signals
# on their first two principal components (fitted on the training features).
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for k, kind in enumerate(classes):
    for i in np.flatnonzero(y_test == kind)[:2]:
        axes[0].plot(X_test[i] + 3 * k, color=f"C{k}", lw=0.8)
axes[0].set_yticks([3 * k for k in range(len(classes))], classes)
axes[0].set_title("test signals")
pca = PCA(n_components=2).fit(minirocket[0].transform(X_train))
projected = pca.transform(minirocket[0].transform(X_test))
for k, kind in enumerate(classes):
    rows = y_test == kind
    axes[1].scatter(projected[rows, 0], projected[rows, 1], s=8, label=kind)
axes[1].legend()
axes[1].set_title("test features, first two principal components")

out_dir = Path(os.environ.get("SKCONV_FIGURE_DIR", Path(__file__).resolve().parent))
fig.savefig(out_dir / "plot_signals_minirocket.png", dpi=80)
plt.show()
