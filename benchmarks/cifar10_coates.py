"""Coates et al. (2011) on CIFAR-10: skconv's KMeansConv against a plain reference.

Both pipelines learn 6x6x3 k-means filters from 400,000 contrast-normalized,
ZCA-whitened patches (50 Lloyd iterations; skconv starts from small Gaussian
centroids as the authors' code does, ``--init gaussian``, or from k-means++,
``--init k-means++``; the reference from scikit-learn's k-means++), encode
every 6x6 position of every image with the triangle activation, sum-pool the
four quadrants, standardize and train the same one-vs-rest squared-hinge
linear SVM (``l2svm.py``: C = 100, the authors' objective; truncated Newton,
or ``--solver lbfgs`` for the authors' L-BFGS).
The reference (``coates_reference.py``) builds explicit patch matrices and
whitens them; skconv folds the whitening into the filters and streams the maps
into the pooling.

Each configuration runs in its own process, so its peak memory is its own.
Run from the repository root (needs ../shared/data/cifar10_jpeg_q75.npz)::

    python benchmarks/cifar10_coates.py                    # all three runs
    python benchmarks/cifar10_coates.py --runs skconv:1600 # one run
    # C chosen on 10,000 held-out training images, features kept for later runs
    python benchmarks/cifar10_coates.py --runs skconv:4000 --C 10 30 100 \
        --features-dir benchmarks/results/features
    # also average the decision values over each test image and its mirror image
    python benchmarks/cifar10_coates.py --runs skconv:1600 --mirror-test

The data file is CIFAR-10 decoded from JPEG quality 75: accuracies are labelled
"CIFAR-10 (JPEG q75)" and sit below the published 77.9 % / 79.6 % (original pixels).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import coates_reference as ref  # noqa: E402
from _common import mirror_images, peak_memory_mib  # noqa: E402
from l2svm import SVM_C, accuracy_l2svm, fit_l2svm  # noqa: E402


def cache_path(args, which, n_filters):
    if args.features_dir is None:
        return None
    # the reference always seeds k-means with scikit-learn's k-means++
    init = f"_{args.init}" if which == "skconv" else ""
    eps = "" if args.whiten_eps == ref.ZCA_EPS else f"_whiten{args.whiten_eps:g}"
    return args.features_dir / (
        f"{which}_{n_filters}_train{args.n_train}_test{args.n_test}_patches{args.n_patches}"
        f"_iter{args.kmeans_iter}_seed{args.seed}{init}{eps}.npz"
    )


def cached(args, which, n_filters, compute):
    """Features and extraction timings, from ``--features-dir`` when they were saved there."""
    path = cache_path(args, which, n_filters)
    if path is not None and path.is_file():
        with np.load(path) as data:
            # a file saved without the mirrored test features cannot serve
            # --mirror-test (the dictionary is not saved): compute everything again
            if not args.mirror_test or "F_mirror" in data.files:
                timings = json.loads(str(data["timings"]))
                F_mirror = data["F_mirror"] if args.mirror_test else None
                return (data["F_train"], data["y_train"], data["F_test"], data["y_test"],
                        F_mirror, timings, True)
    F_train, y_train, F_test, y_test, F_mirror, timings = compute(args, n_filters)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        mirrored = {} if F_mirror is None else {"F_mirror": F_mirror}
        np.savez(path, F_train=F_train, y_train=y_train, F_test=F_test, y_test=y_test,
                 timings=json.dumps(timings), **mirrored)
    return F_train, y_train, F_test, y_test, F_mirror, timings, False


def run_skconv(args, n_filters):
    return classify(args, *cached(args, "skconv", n_filters, skconv_features))


def run_reference(args, n_filters):
    return classify(args, *cached(args, "reference", n_filters, reference_features))


def skconv_features(args, n_filters):
    from skconv import KMeansConv, Pool

    X_train, y_train, X_test, y_test = ref.load_cifar(args.data, args.n_train, args.n_test)
    timings = {}
    conv = KMeansConv(
        n_filters=n_filters,
        kernel_size=6,
        n_patches=args.n_patches,
        init=args.init,
        whiten_eps=args.whiten_eps,
        max_iter=args.kmeans_iter,
        random_state=args.seed,
        n_jobs=-1,
    )
    t0 = time.perf_counter()
    conv.fit(X_train)
    timings["dictionary"] = time.perf_counter() - t0
    pool = Pool(grid=(2, 2))
    t0 = time.perf_counter()
    F_train = pool.fit_transform(conv.transform(X_train))
    timings["train features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    F_test = pool.transform(conv.transform(X_test))
    timings["test features"] = time.perf_counter() - t0
    F_mirror = None
    if args.mirror_test:
        t0 = time.perf_counter()
        F_mirror = pool.transform(conv.transform(mirror_images(X_test)))
        timings["mirrored test features"] = time.perf_counter() - t0
    return F_train, y_train, F_test, y_test, F_mirror, timings


def reference_features(args, n_filters):
    X_train, y_train, X_test, y_test = ref.load_cifar(args.data, args.n_train, args.n_test)
    dictionary, stages = ref.learn_dictionary(
        X_train, n_filters, n_patches=args.n_patches, max_iter=args.kmeans_iter,
        random_state=args.seed, whiten_eps=args.whiten_eps,
    )
    timings = {"dictionary": sum(stages.values())}
    t0 = time.perf_counter()
    F_train = ref.extract_features(X_train, dictionary)
    timings["train features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    F_test = ref.extract_features(X_test, dictionary)
    timings["test features"] = time.perf_counter() - t0
    F_mirror = None
    if args.mirror_test:
        t0 = time.perf_counter()
        F_mirror = ref.extract_features(mirror_images(X_test), dictionary)
        timings["mirrored test features"] = time.perf_counter() - t0
    return F_train, y_train, F_test, y_test, F_mirror, timings


def classify(args, F_train, y_train, F_test, y_test, F_mirror, timings, from_cache):
    n_images = len(F_train) + len(F_test)
    mirror = [] if F_mirror is None else [F_mirror]
    t0 = time.perf_counter()
    # standardizes F_train, F_test and F_mirror in place
    model, C, val_scores = fit_l2svm(F_train, y_train, args.C, args.n_val, F_test, *mirror,
                                     max_iter=args.svm_iter, solver=args.solver,
                                     verbose=args.verbose)
    test_acc = accuracy_l2svm(model, F_test, y_test)
    mirrored_acc = accuracy_l2svm(model, F_test, y_test, *mirror) if mirror else None
    train_acc = accuracy_l2svm(model, F_train, y_train)
    timings["classifier"] = time.perf_counter() - t0
    extraction = timings["dictionary"] + timings["train features"] + timings["test features"]
    return {
        "timings": timings,
        "extraction_s": extraction,
        "images_per_s": n_images / (timings["train features"] + timings["test features"]),
        "peak_mib": peak_memory_mib(),
        "train_accuracy": train_acc,
        "test_accuracy": test_acc,
        "mirrored_test_accuracy": mirrored_acc,
        "svm_iterations": model.n_iter,
        "C": C,
        "validation": {str(k): v for k, v in val_scores.items()},
        "features_from_cache": from_cache,
    }


def one_run(args, spec):
    which, k = spec.split(":")
    func = {"skconv": run_skconv, "reference": run_reference}[which]
    return func(args, int(k))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ref.DEFAULT_DATA)
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--n-patches", type=int, default=400_000)
    parser.add_argument("--kmeans-iter", type=int, default=50)
    parser.add_argument("--C", type=float, nargs="+", default=[SVM_C],
                        help="SVM C (authors' convention); with several values, the one with "
                        "the best accuracy on --n-val held-out training images is used")
    parser.add_argument("--n-val", type=int, default=10_000)
    parser.add_argument("--features-dir", type=Path, default=None,
                        help="save the features there, and reuse them when present: the extraction "
                        "timings are then those of the run that saved them, and the peak "
                        "memory only covers this run")
    parser.add_argument("--svm-iter", type=int, default=1000,
                        help="at most this many L-BFGS iterations or Newton steps")
    parser.add_argument("--solver", choices=["newton", "lbfgs"], default="newton",
                        help="SVM solver, both for the same objective (see l2svm.py)")
    parser.add_argument("--init", choices=["gaussian", "k-means++"], default="gaussian",
                        help="how skconv's k-means starts (KMeansConv's init); the reference "
                        "always uses scikit-learn's k-means++")
    parser.add_argument("--whiten-eps", type=float, default=ref.ZCA_EPS,
                        help="ZCA regularizer added to the eigenvalues (the authors' 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true",
                        help="print the SVM solver's progress to stderr")
    parser.add_argument(
        "--runs", default="reference:1600,skconv:1600,skconv:4000",
        help="comma-separated which:n_filters, which in {reference, skconv}",
    )
    parser.add_argument("--mirror-test", action="store_true",
                        help="also classify each test image by the SVM's decision values averaged "
                        "over it and its mirror image (test-time mirroring; training unchanged)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(one_run(args, args.runs)))
        return

    print(f"CIFAR-10 (JPEG q75): {args.n_train} train / {args.n_test} test images, "
          f"{args.n_patches} patches, {args.kmeans_iter} k-means iterations, "
          f"{os.cpu_count()} cores", flush=True)
    results = []
    for spec in args.runs.split(","):
        cmd = [sys.executable, __file__, "--child", "--runs", spec, "--C", *map(str, args.C)]
        cmd += [
            f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
            if k not in ("runs", "child", "C", "verbose", "mirror_test") and v is not None
        ]
        cmd += [flag for flag, on in (("--verbose", args.verbose),
                                      ("--mirror-test", args.mirror_test)) if on]
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append((spec, result))
        t = result["timings"]
        mirrored = result["mirrored_test_accuracy"]
        print(f"{spec:<16} test {100 * result['test_accuracy']:.2f}%"
              + ("" if mirrored is None else f" (with test-time mirroring {100 * mirrored:.2f}%)")
              + "  train "
              f"{100 * result['train_accuracy']:.2f}%  dictionary {t['dictionary']:.0f} s  "
              f"features {t['train features'] + t['test features']:.0f} s "
              f"({result['images_per_s']:.0f} images/s)  classifier {t['classifier']:.0f} s  "
              f"peak {result['peak_mib'] / 1024:.2f} GB  C {result['C']:g}"
              + (f" (validation {result['validation']})" if result["validation"] else "")
              + ("  [features from cache]" if result["features_from_cache"] else ""),
              flush=True)

    print("\n| pipeline | filters | test accuracy | with test-time mirroring | dictionary (s) "
          "| train features (s) | test features (s) | extraction total (s) | images/s "
          "| classifier (s) | peak memory (GB) | C |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for spec, r in results:
        which, k = spec.split(":")
        t = r["timings"]
        mirrored = r["mirrored_test_accuracy"]
        mirrored = "" if mirrored is None else f"{100 * mirrored:.2f}%"
        print(f"| {which} | {k} | {100 * r['test_accuracy']:.2f}% | {mirrored} | "
              f"{t['dictionary']:.1f} | "
              f"{t['train features']:.1f} | {t['test features']:.1f} | {r['extraction_s']:.1f} | "
              f"{r['images_per_s']:.0f} | {t['classifier']:.1f} | {r['peak_mib'] / 1024:.2f} | "
              f"{r['C']:g} |")
    by = dict(results)
    if "reference:1600" in by and "skconv:1600" in by:
        a, b = by["reference:1600"], by["skconv:1600"]
        print(f"\nskconv vs reference, 1600 filters: accuracy "
              f"{100 * (b['test_accuracy'] - a['test_accuracy']):+.2f} points, feature extraction "
              f"(fit + transform) {a['extraction_s'] / b['extraction_s']:.2f}x faster")
    if "skconv:1600" in by and "skconv:4000" in by:
        print(f"skconv 4000 vs 1600 filters: "
              f"{100 * (by['skconv:4000']['test_accuracy'] - by['skconv:1600']['test_accuracy']):+.2f} points")


if __name__ == "__main__":
    main()
