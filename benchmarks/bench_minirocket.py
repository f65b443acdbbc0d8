"""skconv's MiniRocket side by side with aeon's, on every classification data set aeon ships.

For each data set: fit on the training signals, transform the training and test
signals, classify with ``RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))`` on the
features as they come (the same classifier for both), and record the accuracy, the
fit + transform seconds and the peak memory of fit + transform. Each library runs
in a child process of its own per data set, so that the peak memory is its own
(the peak resident set size is reset after loading the data). aeon compiles its
numba code on first use: every child first transforms a tiny input, and that
warm-up is reported apart (the compilation itself on the first run of all; numba
caches it on disk, so later children only load it). Accuracies are
means and times medians over ``--seeds``.

The data sets are those of ``aeon/datasets/data`` whose ``.ts`` header says
``@classLabel true`` (the ``_eq`` files are aeon's equal-length versions of the
unequal-length sets). aeon's MiniRocket refuses signals of unequal length: those
sets run with skconv alone, as lists of signals.

aeon pins numpy < 2.4, so it lives in a virtual environment of its own; skconv is
imported from this checkout::

    python3 -m venv venv-aeon
    venv-aeon/bin/pip install aeon==1.6.0 scikit-image
    PYTHONPATH=. venv-aeon/bin/python benchmarks/bench_minirocket.py

The last line reads ``mean accuracy skconv A aeon B; time skconv S s aeon T s``
over the data sets both ran (S and T: total fit + transform seconds).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]


def aeon_data_dir():
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data"


def classification_sets():
    """(name, equal length) of every classification problem shipped with aeon."""
    found = []
    for train in sorted(aeon_data_dir().glob("*/*_TRAIN.ts")):
        name = train.name[: -len("_TRAIN.ts")]
        test = train.with_name(name + "_TEST.ts")
        header = train.read_text(errors="replace").split("@data")[0].lower()
        if not test.exists() or "@classlabel true" not in header or "timestamps true" in header:
            continue
        found.append((name, "@equallength false" not in header))
    return found


def load(name):
    from aeon.datasets import load_from_ts_file

    folder = aeon_data_dir() / name.replace("_eq", "")
    X_train, y_train = load_from_ts_file(str(folder / f"{name}_TRAIN.ts"))
    X_test, y_test = load_from_ts_file(str(folder / f"{name}_TEST.ts"))
    return X_train, y_train, X_test, y_test


def _rss_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the peak resident set size (Linux)
        return True
    except OSError:
        return False


def make_transformer(library, seed, args):
    if library == "aeon":
        from aeon.transformations.collection.convolution_based import MiniRocket

        return MiniRocket(n_kernels=args.n_features, n_jobs=args.n_jobs, random_state=seed)
    from skconv import MiniRocket

    method = args.method[0] if len(args.method) == 1 else tuple(args.method)
    n_features = args.n_features if args.skconv_features is None else args.skconv_features
    return MiniRocket(
        n_features, method=method, difference=args.difference, channel_axis=1,
        n_jobs=args.n_jobs, random_state=seed,
    )


def child(args):
    """One library on one data set: print a JSON line."""
    from sklearn.linear_model import RidgeClassifierCV
    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore")
    X_train, y_train, X_test, y_test = load(args.child_dataset)
    library = args.child_library
    equal = isinstance(X_train, np.ndarray)
    result = {"dataset": args.child_dataset, "library": library}
    limit = None if args.n_jobs == -1 else args.n_jobs
    with threadpool_limits(limits=limit):
        warm = np.random.default_rng(0).standard_normal((3, X_train[0].shape[0], 20))
        start = time.perf_counter()
        make_transformer(library, 0, args).fit(warm).transform(warm)
        result["warmup_s"] = time.perf_counter() - start
        times, accuracies, peaks = [], [], []
        for seed in args.seeds:
            base = _rss_mib("VmRSS")
            exact = _reset_peak()
            start = time.perf_counter()
            try:
                transformer = make_transformer(library, seed, args).fit(X_train)
                F_train = transformer.transform(X_train)
                F_test = transformer.transform(X_test)
            except (ValueError, TypeError) as exc:
                result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                break
            times.append(time.perf_counter() - start)
            peaks.append(_rss_mib("VmHWM") - base if exact else float("nan"))
            F_train, F_test = np.asarray(F_train), np.asarray(F_test)
            clf = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(F_train, y_train)
            accuracies.append(float(clf.score(F_test, y_test)))
            result["n_features"] = int(F_train.shape[1])
    lengths = [x.shape[-1] for x in X_train] if not equal else [X_train.shape[-1]]
    result.update(
        n_train=len(X_train), n_test=len(X_test), channels=int(X_train[0].shape[0]),
        length=f"{min(lengths)}-{max(lengths)}" if min(lengths) != max(lengths) else str(lengths[0]),
        equal=equal,
    )
    if times:
        result.update(
            accuracy=statistics.mean(accuracies), accuracies=accuracies,
            seconds=statistics.median(times), peak_mib=max(peaks),
        )
    print(json.dumps(result), flush=True)


def run_child(library, dataset, args):
    cmd = [sys.executable, __file__, "--child-library", library, "--child-dataset", dataset,
           "--seeds", *map(str, args.seeds), "--n-jobs", str(args.n_jobs),
           "--n-features", str(args.n_features), "--method", *args.method]
    if args.difference:
        cmd.append("--difference")
    if args.skconv_features is not None:
        cmd += ["--skconv-features", str(args.skconv_features)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        return {"dataset": dataset, "library": library, "error": out.stderr.strip()[-300:]}
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", help="default: every classification set")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--n-features", type=int, default=10_000)
    parser.add_argument("--skconv-features", type=int, default=None,
                        help="skconv's number of features (default: --n-features, as aeon's)")
    parser.add_argument("--method", nargs="+", default=["ppv"], help="skconv's statistics")
    parser.add_argument("--difference", action="store_true", help="skconv: also the differences")
    parser.add_argument("--child-library", help=argparse.SUPPRESS)
    parser.add_argument("--child-dataset", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_library:
        return child(args)

    import aeon
    import sklearn

    sets = classification_sets()
    if args.datasets:
        sets = [s for s in sets if s[0] in args.datasets]
    print(f"aeon {aeon.__version__}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
          f"Python {platform.python_version()}, {os.cpu_count()} cores; n_jobs={args.n_jobs}, "
          f"seeds {args.seeds}; skconv MiniRocket(n_features="
          f"{args.n_features if args.skconv_features is None else args.skconv_features}, "
          f"method={args.method}, difference={args.difference})")
    print("classification data sets shipped with aeon:", ", ".join(
        name + ("" if equal else " (unequal lengths)") for name, equal in sets))
    rows = []
    for name, equal in sets:
        sk = run_child("skconv", name, args)
        ae = run_child("aeon", name, args)
        rows.append((name, sk, ae))
        print(json.dumps({"skconv": sk, "aeon": ae}), file=sys.stderr, flush=True)

    def cell(r, key, fmt):
        return fmt % r[key] if key in r else "—"

    print()
    print("| data set | train / test | length | channels | features skconv / aeon | accuracy skconv | "
          "accuracy aeon | fit + transform s skconv | aeon | peak MiB skconv | aeon | aeon warm-up s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    both = []
    for name, sk, ae in rows:
        info = sk if "n_train" in sk else ae
        shape = f"{info.get('n_train', '?')} / {info.get('n_test', '?')}"
        if "error" not in ae:
            aeon_acc = cell(ae, "accuracy", "%.4f")
        elif "unequal" in ae["error"]:
            aeon_acc = "cannot (unequal lengths)"
        else:
            aeon_acc = "failed: " + ae["error"][:60]
        print(f"| {name} | {shape} | {info.get('length', '?')} | {info.get('channels', '?')} | "
              f"{sk.get('n_features', '—')} / {ae.get('n_features', '—')} | "
              f"{cell(sk, 'accuracy', '%.4f')} | {aeon_acc} | {cell(sk, 'seconds', '%.3f')} | "
              f"{cell(ae, 'seconds', '%.3f')} | {cell(sk, 'peak_mib', '%.1f')} | "
              f"{cell(ae, 'peak_mib', '%.1f')} | {cell(ae, 'warmup_s', '%.2f')} |")
        if "accuracy" in sk and "accuracy" in ae:
            both.append((sk, ae))
    if not both:
        print("no data set ran with both")
        return
    mean = lambda rs, k: statistics.mean(r[k] for r in rs)  # noqa: E731
    sks, aes = [b[0] for b in both], [b[1] for b in both]
    print(f"| mean over the {len(both)} sets both ran | | | | | {mean(sks, 'accuracy'):.4f} | "
          f"{mean(aes, 'accuracy'):.4f} | {mean(sks, 'seconds'):.3f} | {mean(aes, 'seconds'):.3f} | "
          f"{mean(sks, 'peak_mib'):.1f} | {mean(aes, 'peak_mib'):.1f} | |")
    print()
    total_sk = sum(r["seconds"] for r in sks)
    total_ae = sum(r["seconds"] for r in aes)
    print(f"mean accuracy skconv {mean(sks, 'accuracy'):.4f} aeon {mean(aes, 'accuracy'):.4f}; "
          f"time skconv {total_sk:.2f} s aeon {total_ae:.2f} s")


if __name__ == "__main__":
    main()
