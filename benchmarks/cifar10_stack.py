"""Two greedy k-means layers on CIFAR-10 (Coates & Ng, 2011): accuracy, time, memory.

A :class:`skconv.LayerwiseStack` of

1. ``KMeansConv(n1, 6)`` on the pixels (contrast normalization, ZCA, k-means,
   triangle encoding: the single-layer pipeline of ``cifar10_coates.py``);
2. a local pooling of its maps (max over 3x3 windows, stride 2 by default:
   27x27 maps become 13x13);
3. ``ReceptiveFieldConv(KMeansConv(n2, 3), n_groups, group_size)``: the
   channels of layer 1 are grouped by the correlation of their squared
   responses, and each group learns its own small k-means layer;

is fitted greedily, each layer on a random subset of the training images
(``--fit-subset``). Its output is the quadrant sums of the maps of both
layers side by side (``concat``), computed in one streamed pass: no layer's
maps are ever stored for the whole data set. The features are classified
with the same one-vs-rest squared-hinge L2-SVM (the authors' objective,
``l2svm.py``; C chosen on held-out training images among the
``--C`` values, 3, 10 and 30 by default: the stack's validation accuracy
peaks near 10 on full CIFAR-10, where the single layer's peaks near 100) as
the single-layer benchmark, so the accuracies compare directly with
``cifar10_coates.py``'s. With
``--first-layer`` the first layer's columns alone are also classified. With
``--mirror-test`` each test image is also classified by the SVM's decision
values averaged over the image and its mirror image (test-time mirroring: one
more pass over the test images, the training unchanged), reported next to the
plain accuracy.

The second layer's encoding is ``--encoding2`` (the triangle by default; the
soft threshold and ReLU skip its per-position whitened norm, the costliest part
of the layer). Invariance to mirroring can also be built in: ``--invariant``
pools the stack's features over each image and its mirror image
(:class:`skconv.TransformPool`, the same number of samples), and
``--mirror-train`` adds the mirrored training images as training samples
(training-time mirroring; twice the training features in memory). ``--stock``
also classifies the same (standardized) features with scikit-learn classifiers
a user would pick, their regularization chosen on the same held-out images.
``--n3`` adds a third layer (max pool 3x3 stride 2, then groups of the second
layer's channels), whose quadrant sums join the features. The last line
printed is ``test accuracy: 0.XXXX``: the accuracy of all the layers, with
test-time mirroring when ``--mirror-test`` is given.

Run from the repository root (needs ../shared/data/cifar10_jpeg_q75.npz)::

    python benchmarks/cifar10_stack.py
    python benchmarks/cifar10_stack.py --n-train 10000 --n-test 2000 --first-layer
    # keep the features, to classify them again without recomputing them
    python benchmarks/cifar10_stack.py --features-dir benchmarks/results/features
    # also classify each test image together with its mirror image
    python benchmarks/cifar10_stack.py --mirror-test
    # the candidate for 80 %: the soft threshold in layer 2 (faster), the weaker
    # first-layer whitening, features pooled over each image and its mirror image
    python benchmarks/cifar10_stack.py --encoding2 soft_threshold --whiten-eps1 1.0 \
        --invariant mean --C 1 3 10 30

The data file is CIFAR-10 decoded from JPEG quality 75: accuracies are labelled
"CIFAR-10 (JPEG q75)".
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import coates_reference as ref  # noqa: E402
from _common import mirror_images, peak_memory_mib  # noqa: E402
from l2svm import accuracy_l2svm, fit_l2svm  # noqa: E402

from skconv import KMeansConv, LayerwiseStack, Pool, ReceptiveFieldConv, TransformPool  # noqa: E402


def build_stack(args):
    pool1 = Pool(size=args.pool1_size, stride=args.pool1_stride, method=args.pool1_method)
    return LayerwiseStack(
        [
            ("conv1", KMeansConv(args.n1, 6, n_patches=args.n_patches1, init=args.init,
                                 whiten_eps=args.whiten_eps1, n_jobs=-1)),
            ("pool1", pool1),
            (
                "conv2",
                ReceptiveFieldConv(
                    KMeansConv(args.n2, args.kernel2, n_patches=args.n_patches2, init=args.init,
                               whiten_eps=args.whiten_eps2, encoding=args.encoding2,
                               alpha=args.alpha2),
                    n_groups=args.n_groups,
                    group_size=args.group_size,
                    n_jobs=-1,
                ),
            ),
        ] + ([] if not args.n3 else [
            # a third layer: 11x11 maps pooled to 5x5, groups of the second layer's channels
            ("pool2", Pool(size=3, stride=2, method="max")),
            ("conv3", ReceptiveFieldConv(
                KMeansConv(args.n3, 3, n_patches=args.n_patches2, init=args.init,
                           whiten_eps=args.whiten_eps2, encoding=args.encoding2,
                           alpha=args.alpha2),
                n_groups=args.n_groups3, group_size=args.group_size, n_jobs=-1)),
        ]),
        fit_subset=args.fit_subset,
        concat=["conv1", "conv2"] + (["conv3"] if args.n3 else []),
        pool=Pool(grid=(2, 2)),
        random_state=args.seed,
    )


def build_features(args):
    """The stack, or with ``--invariant`` the stack pooled over each image and its mirror."""
    stack = build_stack(args)
    if args.invariant:
        return TransformPool(stack, ("identity", "fliplr"), method=args.invariant)
    return stack


def cache_path(args):
    """Where ``--features-dir`` keeps the features of these settings."""
    if args.features_dir is None:
        return None
    eps = "" if args.whiten_eps1 == ref.ZCA_EPS else f"_whiten{args.whiten_eps1:g}"
    if args.whiten_eps2 != ref.ZCA_EPS:
        eps += f"_whiten2{args.whiten_eps2:g}"
    if args.encoding2 != "triangle":
        eps += f"_{args.encoding2}{args.alpha2:g}"
    if args.invariant:
        eps += f"_invariant{args.invariant}"
    if args.n3:
        eps += f"_layer3g{args.n_groups3}n{args.n3}"
    return args.features_dir / (
        f"stack_n1{args.n1}_p{args.n_patches1}_pool{args.pool1_method}{args.pool1_size}"
        f"s{args.pool1_stride}_g{args.n_groups}x{args.group_size}_n2{args.n2}_k{args.kernel2}"
        f"_p{args.n_patches2}_fit{args.fit_subset}_train{args.n_train}_test{args.n_test}"
        f"_seed{args.seed}_{args.init}{eps}.npz"
    )


def classify(F_train, y_train, F_test, y_test, Cs, n_val, max_iter, solver="newton",
             verbose=False, F_mirror=None):
    """Standardize (in place) and fit the benchmarks' L2-SVM (:func:`l2svm.fit_l2svm`).

    With several ``Cs``, C is chosen on the last ``n_val`` training images.
    Returns the test accuracy, the seconds taken (C choice included), the SVM's
    iterations, the C, the validation accuracies and, given ``F_mirror``
    (features of the mirrored test images), the test accuracy of the decision
    values averaged over each image and its mirror image (else None).
    """
    t0 = time.perf_counter()
    mirror = [] if F_mirror is None else [F_mirror]
    # C chosen in place: a standardized copy of the training features would not
    # fit in the memory budget next to them (3.8 GB at 50,000 x 19,200)
    model, C, scores = fit_l2svm(F_train, y_train, Cs, n_val, F_test, *mirror, in_place=True,
                                 max_iter=max_iter, solver=solver, verbose=verbose)
    accuracy = accuracy_l2svm(model, F_test, y_test)
    mirrored = accuracy_l2svm(model, F_test, y_test, *mirror) if mirror else None
    return accuracy, time.perf_counter() - t0, model.n_iter, C, scores, mirrored


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ref.DEFAULT_DATA)
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--n1", type=int, default=1600, help="first-layer filters")
    parser.add_argument("--n-patches1", type=int, default=400_000)
    parser.add_argument("--pool1-size", type=int, default=3)
    parser.add_argument("--pool1-stride", type=int, default=2)
    parser.add_argument("--pool1-method", default="max")
    parser.add_argument("--n-groups", type=int, default=100)
    parser.add_argument("--group-size", type=int, default=16)
    parser.add_argument("--n2", type=int, default=32, help="second-layer filters per group")
    parser.add_argument("--kernel2", type=int, default=3)
    parser.add_argument("--n3", type=int, default=0,
                        help="third-layer filters per group (0: no third layer); its groups "
                        "take --group-size channels of the second layer, its k-means the "
                        "second layer's settings")
    parser.add_argument("--n-groups3", type=int, default=100)
    parser.add_argument("--n-patches2", type=int, default=40_000, help="per group")
    parser.add_argument("--fit-subset", type=int, default=3_000,
                        help="images each layer is fitted on; layer 2's fit holds their "
                        "pooled layer-1 maps (13 x 13 x n1 float32: 1.1 MB per image at n1=1600)")
    parser.add_argument("--C", type=float, nargs="+", default=[3.0, 10.0, 30.0],
                        help="SVM C (authors' convention); with several values, the one with "
                        "the best accuracy on --n-val held-out training images is used")
    parser.add_argument("--n-val", type=int, default=10_000)
    parser.add_argument("--svm-iter", type=int, default=1000,
                        help="at most this many L-BFGS iterations or Newton steps")
    parser.add_argument("--solver", choices=["newton", "lbfgs"], default="newton")
    parser.add_argument("--first-layer", action="store_true",
                        help="also classify the first layer's features alone")
    parser.add_argument("--mirror-test", action="store_true",
                        help="also classify each test image by the SVM's decision values "
                        "averaged over it and its mirror image (test-time mirroring; the "
                        "training is unchanged)")
    parser.add_argument("--features-dir", type=Path, default=None,
                        help="save the stack's features here, and read them from here when "
                        "a run with the same settings saved them")
    parser.add_argument("--init", choices=["gaussian", "k-means++"], default="gaussian",
                        help="how the k-means of both layers starts (KMeansConv's init)")
    parser.add_argument("--whiten-eps1", type=float, default=ref.ZCA_EPS,
                        help="first layer's ZCA regularizer (KMeansConv's whiten_eps; the "
                        "authors' 0.1)")
    parser.add_argument("--whiten-eps2", type=float, default=ref.ZCA_EPS,
                        help="second layer's ZCA regularizer")
    parser.add_argument("--encoding2", default="triangle",
                        choices=["triangle", "soft_threshold", "relu"],
                        help="second layer's encoding; the soft threshold and ReLU skip the "
                        "per-position whitened norm the triangle needs")
    parser.add_argument("--alpha2", type=float, default=0.25,
                        help="second layer's soft threshold (KMeansConv's alpha)")
    parser.add_argument("--invariant", choices=["mean", "max"], default=None,
                        help="pool the stack's features over each image and its mirror image "
                        "(TransformPool with this method): invariant features, one row per image")
    parser.add_argument("--mirror-train", action="store_true",
                        help="training-time mirroring: the mirrored training images are more "
                        "training samples (C is chosen on held-out images and their mirrors)")
    parser.add_argument("--stock", nargs="*", default=[], choices=sorted(STOCK),
                        help="also classify the standardized features with these scikit-learn "
                        "classifiers, regularization chosen on the held-out images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true",
                        help="print the SVM solver's progress to stderr")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"CIFAR-10 data not found at {args.data} (pass --data).")
        return 0

    X_train, y_train, X_test, y_test = ref.load_cifar(args.data, args.n_train, args.n_test)
    print(f"CIFAR-10 (JPEG q75): {len(X_train)} train / {len(X_test)} test images, "
          f"{os.cpu_count()} cores", flush=True)
    print(f"layer 1: {args.n1} 6x6 k-means filters, {args.pool1_method} pool "
          f"{args.pool1_size}x{args.pool1_size} stride {args.pool1_stride}, whiten_eps "
          f"{args.whiten_eps1:g}; layer 2: "
          f"{args.n_groups} groups of {args.group_size} channels x {args.n2} "
          f"{args.kernel2}x{args.kernel2} filters; fit subset {args.fit_subset}", flush=True)

    print(f"layer 2 encoding {args.encoding2}"
          + (f" (alpha {args.alpha2:g})" if args.encoding2 == "soft_threshold" else "")
          + f", whiten_eps {args.whiten_eps2:g}"
          + (f"; features pooled ({args.invariant}) over each image and its mirror image"
             if args.invariant else "")
          + ("; mirrored training images added" if args.mirror_train else ""), flush=True)

    path = cache_path(args)
    mirror_path = None if path is None else path.with_name(path.stem + "_testmirror.npz")
    train_mirror_path = None if path is None else path.with_name(path.stem + "_trainmirror.npz")
    stack, F_mirror = None, None
    if path is not None and path.is_file():
        with np.load(path) as data:
            F_train, F_test = data["F_train"], data["F_test"]
            fit_s, train_s, test_s = (float(t) for t in data["timings"])
        print(f"features read from {path} (times below are those of the run that saved them)",
              flush=True)
    else:
        stack = build_features(args)
        t0 = time.perf_counter()
        stack.fit(X_train)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        F_train = stack.transform(X_train)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        F_test = stack.transform(X_test)
        test_s = time.perf_counter() - t0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, F_train=F_train, F_test=F_test,
                     timings=np.array([fit_s, train_s, test_s]))
    def mirrored_features(images, saved, what):
        nonlocal stack
        if saved is not None and saved.is_file():
            with np.load(saved) as data:
                return data["F_mirror"]
        if stack is None:
            # the saved features came without the fitted stack: refit it
            # (same settings and seed, so the same filters)
            stack = build_features(args).fit(X_train)
        t0 = time.perf_counter()
        F = stack.transform(mirror_images(images))
        print(f"mirrored {what} features {time.perf_counter() - t0:.0f} s", flush=True)
        if saved is not None:
            np.savez(saved, F_mirror=F)
        return F

    if args.mirror_test:
        F_mirror = mirrored_features(X_test, mirror_path, "test")
    n_val = args.n_val
    if args.mirror_train:
        # rows: fit images, their mirrors, then the held-out images' mirrors and the
        # held-out images, so that the last 2 * n_val rows (the C choice's
        # validation) hold no image whose mirror is fitted on
        F_train_mirror = mirrored_features(X_train, train_mirror_path, "training")
        n_fit = len(F_train) - n_val
        order = [F_train[:n_fit], F_train_mirror[:n_fit], F_train_mirror[n_fit:], F_train[n_fit:]]
        F_train = np.concatenate(order)
        del order, F_train_mirror
        y_train = np.concatenate([y_train[:n_fit], y_train[:n_fit], y_train[n_fit:],
                                  y_train[n_fit:]])
        n_val = 2 * n_val
    del stack
    n_first = 4 * args.n1
    print(f"fit {fit_s:.0f} s, train features {train_s:.0f} s, test features {test_s:.0f} s "
          f"({(len(X_train) + len(X_test)) / (train_s + test_s):.0f} images/s), "
          f"{F_train.shape[1]} features ({n_first} from layer 1), peak {peak_memory_mib() / 1024:.2f} GB",
          flush=True)

    rows = []
    if args.first_layer:
        first_train = np.ascontiguousarray(F_train[:, :n_first])
        first_test = np.ascontiguousarray(F_test[:, :n_first])
        first_mirror = None if F_mirror is None else np.ascontiguousarray(F_mirror[:, :n_first])
        result = classify(first_train, y_train, first_test, y_test, args.C, n_val,
                          args.svm_iter, args.solver, args.verbose, first_mirror)
        del first_train, first_test, first_mirror
        rows.append(("layer 1 alone", n_first, *result))
        report("layer 1 alone", result)
    result = classify(F_train, y_train, F_test, y_test, args.C, n_val, args.svm_iter,
                      args.solver, args.verbose, F_mirror)
    name = "layers 1 + 2 + 3" if args.n3 else "layers 1 + 2"
    rows.append((name, F_train.shape[1], *result))
    report(name, result)
    final = result[5] if result[5] is not None else result[0]
    # classify() standardized the features in place: what a scaler in a
    # Pipeline would give the stock classifiers
    stock_rows = [classify_stock(name, F_train, y_train, F_test, y_test, args.C, n_val, F_mirror)
                  for name in args.stock]

    print("\n| features | count | test accuracy | with test-time mirroring | stack fit (s) "
          "| features (s) | classifier (s) | SVM iterations | C | peak memory (GB) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, count, acc, clf_s, n_iter, C, _, mirrored in rows:
        mirrored = "" if mirrored is None else f"{100 * mirrored:.2f}%"
        print(f"| {name} | {count} | {100 * acc:.2f}% | {mirrored} | {fit_s:.0f} | "
              f"{train_s + test_s:.0f} | {clf_s:.0f} | {n_iter} | {C:g} | "
              f"{peak_memory_mib() / 1024:.2f} |")
    if stock_rows:
        print("\n| classifier (same standardized features) | regularization (validation accuracy) "
              "| test accuracy | with test-time mirroring | time, choice included (s) |")
        print("| --- | --- | --- | --- | --- |")
        for name, value, scores, acc, mirrored, seconds in stock_rows:
            shown = " / ".join(f"{v:g}: {100 * a:.2f}%" for v, a in scores.items())
            mirrored = "" if mirrored is None else f"{100 * mirrored:.2f}%"
            print(f"| {name} | {value:g} ({shown}) | {100 * acc:.2f}% | {mirrored} | {seconds:.0f} |")
    print(f"test accuracy: {final:.4f}")
    return 0


# Stock scikit-learn classifiers: (factory of a regularization value, values from the
# --C grid in the L2-SVM's convention and the number of fitted samples). The
# L2-SVM's loss is C times the mean squared hinge, LIBLINEAR's and
# LogisticRegression's C times the sum, SGD's alpha divides the mean: C / n and
# 1 / C put them on one scale; ridge's alpha is a penalty on the sum of squares.
def _stock():
    from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
    from sklearn.svm import LinearSVC

    return {
        "ridge": (lambda a: RidgeClassifier(alpha=a), lambda C, n: n / C),
        "linearsvc": (lambda c: LinearSVC(C=c), lambda C, n: C / n),
        "sgd": (lambda a: SGDClassifier(alpha=a, random_state=0), lambda C, n: 1 / C),
        "logistic": (lambda c: LogisticRegression(C=c, max_iter=1000), lambda C, n: C / n),
    }


STOCK = ("ridge", "linearsvc", "sgd", "logistic")


def classify_stock(name, F_train, y_train, F_test, y_test, Cs, n_val, F_mirror=None):
    """A stock classifier: its regularization chosen on the last ``n_val`` training
    rows, then refitted on all of them. Returns (name, value, validation accuracies,
    test accuracy, test accuracy with test-time mirroring or None, seconds)."""
    make, value_of = _stock()[name]
    t0 = time.perf_counter()
    n_fit = len(F_train) - n_val
    scores = {}
    for C in sorted(Cs):
        value = value_of(C, n_fit)
        model = make(value).fit(F_train[:n_fit], y_train[:n_fit])
        scores[value] = float(model.score(F_train[n_fit:], y_train[n_fit:]))
    best = max(scores, key=scores.get)
    model = make(best).fit(F_train, y_train)
    accuracy = float(model.score(F_test, y_test))
    mirrored = None
    if F_mirror is not None:
        decision = model.decision_function(F_test) + model.decision_function(F_mirror)
        mirrored = float(np.mean(model.classes_[np.argmax(decision, axis=1)] == y_test))
    seconds = time.perf_counter() - t0
    print(f"{name}: test {100 * accuracy:.2f}%  {seconds:.0f} s  value {best:g} "
          f"{scores}", flush=True)
    return name, best, scores, accuracy, mirrored, seconds


def report(name, result):
    accuracy, clf_s, _, C, scores, mirrored = result
    extra = "" if mirrored is None else f" (with test-time mirroring {100 * mirrored:.2f}%)"
    print(f"{name}: test {100 * accuracy:.2f}%{extra}  classifier {clf_s:.0f} s  "
          f"C {C:g} {scores or ''}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
