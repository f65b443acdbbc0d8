"""Single-layer k-means features on MNIST: accuracy, time and memory.

The pipeline is Coates, Lee & Ng's (2011): :class:`skconv.KMeansConv` learns
centroids of contrast-normalized, ZCA-whitened patches and encodes every
position (triangle activation by default, ``--encoding``); :class:`skconv.Pool`
sums the maps over a grid of regions (optionally after a local max pooling);
the features are standardized in place (training mean and ``sqrt(var + 0.01)``)
and classified by the one-vs-rest squared-hinge L2-SVM of the CIFAR-10
benchmarks (``--classifier l2svm``, ``l2svm.py``, whose ``C`` is the
authors' convention: 100 there) or by a multinomial logistic regression
(L-BFGS, ``--classifier logistic``). Pixels are used as stored, 0..255.

Every combination of the listed settings is run; the convolutional features
of one (filters, kernel, pooling) setting are computed once and shared by the
classifiers of the listed ``C`` values. Run from the repository root (needs
../shared/data/mnist.npz)::

    python benchmarks/mnist_kmeans.py                          # full 60k / 10k
    python benchmarks/mnist_kmeans.py --n-train 10000 --n-test 5000 \\
        --n-filters 400 800 --kernel-size 5 6 --C 0.01 0.1
    # C chosen on 10,000 held-out training images
    python benchmarks/mnist_kmeans.py --C 10 30 100 --n-val 10000

Columns: ``conv fit`` is learning the centroids plus computing and pooling the
training features, ``clf fit`` the scaler and classifier, ``predict`` the whole
pipeline on the test images; ``peak RSS`` is the process's peak resident memory
so far (``resource.getrusage``), so it grows along the rows.
"""

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from skconv import KMeansConv, Pool

sys.path.insert(0, str(Path(__file__).resolve().parent))
import coates_reference as ref  # noqa: E402
from _common import DATA_DIR, peak_memory_mib  # noqa: E402
from l2svm import choose_C, predict_l2svm, standardize, train_l2svm  # noqa: E402

DEFAULT_DATA = DATA_DIR / "mnist.npz"

POOLINGS = {
    # name: (list of Pool steps, short description)
    "grid3": ([dict(grid=(3, 3))], "sum 3x3"),
    "grid4": ([dict(grid=(4, 4))], "sum 4x4"),
    "max2-grid3": ([dict(method="max", size=2, stride=2), dict(grid=(3, 3))], "max 2x2 / sum 3x3"),
    "max3s2-grid3": (
        [dict(method="max", size=3, stride=2), dict(grid=(3, 3))],
        "max 3x3 s2 / sum 3x3",
    ),
}


def load_mnist(path, n_train, n_test):
    """Pixels as stored (uint8, 0..255); ``mnist_families.load_mnist`` scales to [0, 1]."""
    with np.load(path) as data:
        return (
            data["X_train"][:n_train],
            data["y_train"][:n_train],
            data["X_test"][:n_test],
            data["y_test"][:n_test],
        )


def features(conv, pools, X, *, fit):
    """Pooled features of X; the maps stream through the pooling steps.

    A sliding-window pool of lazy maps stays lazy, so the full-resolution maps
    are never stored, only one batch of them per thread.
    """
    out = conv.transform(X)
    for pool in pools:
        out = pool.fit_transform(out) if fit else pool.transform(out)
    return out


def run(args):
    X_train, y_train, X_test, y_test = load_mnist(args.data, args.n_train, args.n_test)
    print(
        f"MNIST: {len(X_train)} training and {len(X_test)} test images; "
        f"{os.cpu_count()} CPUs; n_patches={args.n_patches}, encoding={args.encoding}, "
        f"classifier={args.classifier}, init={args.init}, whiten_eps={args.whiten_eps:g}, "
        f"seed={args.seed}",
        flush=True,
    )
    header = (
        f"{'filters':>7} {'kernel':>6} {'pooling':>20} {'features':>8} {'C':>7} "
        f"{'accuracy':>8} {'conv fit s':>10} {'clf fit s':>9} {'predict s':>9} "
        f"{'peak RSS GiB':>12}"
    )
    print(header)
    print("-" * len(header), flush=True)
    for n_filters, kernel, pooling in itertools.product(
        args.n_filters, args.kernel_size, args.pooling
    ):
        steps, description = POOLINGS[pooling]
        conv = KMeansConv(
            n_filters=n_filters,
            kernel_size=kernel,
            n_patches=args.n_patches,
            encoding=args.encoding,
            init=args.init,
            whiten_eps=args.whiten_eps,
            random_state=args.seed,
            n_jobs=-1,
        )
        t0 = time.perf_counter()
        conv.fit(X_train)
        pools = [Pool(**p) for p in steps]
        F_train = features(conv, pools, X_train, fit=True)
        conv_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        F_test = features(conv, pools, X_test, fit=False)
        test_features = time.perf_counter() - t0
        # Standardize in place, as the CIFAR-10 benchmark does (training mean and
        # sqrt(var + 0.01), the variance block by block): the feature matrices are
        # the large objects here, and StandardScaler's float64 temporaries would
        # double them. The standardization time counts in each classifier's fit.
        Cs, init = args.C, None
        if args.n_val and args.classifier == "l2svm" and len(Cs) > 1:
            t0 = time.perf_counter()
            C, scores, init = choose_C(F_train, y_train, Cs, args.n_val,
                                       max_iter=args.max_iter, solver=args.solver,
                                       verbose=args.verbose)
            print(f"C chosen on the last {args.n_val} training images: {C:g} (validation "
                  + ", ".join(f"C={c:g}: {s:.4f}" for c, s in scores.items())
                  + f"; {time.perf_counter() - t0:.0f} s)", flush=True)
            Cs = [C]
        t0 = time.perf_counter()
        F_train, F_test = standardize(F_train, F_test)
        scale_fit = time.perf_counter() - t0
        for C in Cs:
            t0 = time.perf_counter()
            if args.classifier == "l2svm":
                model = train_l2svm(F_train, y_train, C=C, max_iter=args.max_iter,
                                    solver=args.solver, verbose=args.verbose, init=init)
                clf_fit = scale_fit + time.perf_counter() - t0
                t0 = time.perf_counter()
                predicted = predict_l2svm(model, F_test)
            else:
                clf = LogisticRegression(C=C, max_iter=args.max_iter)
                clf.fit(F_train, y_train)
                clf_fit = scale_fit + time.perf_counter() - t0
                t0 = time.perf_counter()
                predicted = clf.predict(F_test)
            accuracy = float(np.mean(predicted == y_test))
            predict = test_features + time.perf_counter() - t0
            print(
                f"{n_filters:>7} {kernel:>6} {description:>20} {F_train.shape[1]:>8} "
                f"{C:>7g} {accuracy:>8.4f} {conv_fit:>10.1f} {clf_fit:>9.1f} "
                f"{predict:>9.1f} {peak_memory_mib() / 1024:>12.2f}",
                flush=True,
            )
        del F_train, F_test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--n-filters", type=int, nargs="+", default=[1600])
    parser.add_argument("--kernel-size", type=int, nargs="+", default=[6])
    parser.add_argument("--pooling", choices=sorted(POOLINGS), nargs="+", default=["grid3"])
    parser.add_argument("--classifier", choices=["logistic", "l2svm"], default="l2svm")
    parser.add_argument("--C", type=float, nargs="+", default=None,
                        help="default: 100 for l2svm, 0.01 for logistic")
    parser.add_argument("--n-val", type=int, default=0,
                        help="with several --C and the l2svm, choose C on this many held-out "
                        "training images and report the test accuracy of that C only")
    parser.add_argument("--n-patches", type=int, default=400_000)
    parser.add_argument("--encoding", default="triangle")
    parser.add_argument("--init", choices=["gaussian", "k-means++"], default="gaussian",
                        help="how k-means starts (KMeansConv's init)")
    parser.add_argument("--whiten-eps", type=float, default=ref.ZCA_EPS,
                        help="ZCA regularizer added to the eigenvalues (KMeansConv's whiten_eps; "
                        "the authors' 0.1)")
    parser.add_argument("--max-iter", type=int, default=1000,
                        help="at most this many solver iterations (Newton steps for l2svm)")
    parser.add_argument("--solver", choices=["newton", "lbfgs"], default="newton",
                        help="L2-SVM solver (see l2svm.py)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true",
                        help="print the L2-SVM solver's progress to stderr")
    args = parser.parse_args(argv)
    if args.C is None:
        args.C = [100.0] if args.classifier == "l2svm" else [0.01]
    if not args.data.is_file():
        print(f"MNIST data not found at {args.data} (pass --data).")
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
