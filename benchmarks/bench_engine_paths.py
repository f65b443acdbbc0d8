"""Timing of the convolution engine's paths (gemm / fft / direct / compiled) by shape.

Prints a table of best-of-3 wall times for each path and for ``method="auto"``.
These measurements set the cost model behind ``method="auto"`` in
``skconv._cost.path_times`` (the model ``skconv._engine._choose_method`` minimizes).

Usage::

    python benchmarks/bench_engine_paths.py            # a few headline shapes
    python benchmarks/bench_engine_paths.py --sweep    # the 60 calibration shapes, 1 thread
    python benchmarks/bench_engine_paths.py --threads 1
"""

import argparse
import math
import time

import numpy as np
from threadpoolctl import threadpool_limits

from skconv._engine import NATIVE, conv

METHODS = ("gemm", "fft", "direct") + (("compiled",) if NATIVE else ()) + ("auto",)

HEADLINE = [
    # name, x shape, w shape, groups
    ("small bank 16x11x11 on 1000 MNIST", (1000, 28, 28, 1), (16, 11, 11, 1), 1),
    ("64x5x5 on 500 CIFAR rgb", (500, 32, 32, 3), (64, 5, 5, 3), 1),
    ("256x6x6 on 200 CIFAR rgb", (200, 32, 32, 3), (256, 6, 6, 3), 1),
    ("4x21x21 on 200 64x64 grey", (200, 64, 64, 1), (4, 21, 21, 1), 1),
    ("16x3x3 on 1000 MNIST", (1000, 28, 28, 1), (16, 3, 3, 1), 1),
    ("depthwise 32ch 3x3 on 200 28x28", (200, 28, 28, 32), (32, 3, 3, 1), 32),
    ("depthwise 32ch 7x7 on 200 28x28", (200, 28, 28, 32), (32, 7, 7, 1), 32),
    ("grouped 4x(16->16) 3x3 on 200 16x16", (200, 16, 16, 64), (64, 3, 3, 16), 4),
    ("1-D 32x31 on 500 signals of 1000", (500, 1000, 1), (32, 31, 1), 1),
    ("3-D 8x5x5x5 on 20 volumes 24^3", (20, 24, 24, 24, 1), (8, 5, 5, 5, 1), 1),
    ("pointwise 64->128 on 200 16x16", (200, 16, 16, 64), (128, 1, 1, 64), 1),
]


def sweep_cases():
    cases = []
    for n, s in [(200, 28), (50, 64)]:
        for k in [3, 5, 7, 11, 15, 21]:
            for f in [4, 16, 64]:
                cases.append(((n, s, s, 1), (f, k, k, 1), 1))
    for k in [3, 5, 9]:
        for f in [16, 64]:
            cases.append(((100, 32, 32, 3), (f, k, k, 3), 1))
    cases.append(((50, 16, 16, 32), (64, 3, 3, 32), 1))
    for k in [3, 5, 7]:
        cases.append(((50, 28, 28, 32), (32, k, k, 1), 32))
        cases.append(((50, 28, 28, 16), (64, k, k, 1), 16))
    cases.append(((50, 16, 16, 64), (64, 3, 3, 16), 4))
    for k in [9, 31, 101]:
        for f in [8, 32]:
            cases.append(((200, 1000, 1), (f, k, 1), 1))
    for k in [3, 5, 7]:
        cases.append(((10, 24, 24, 24, 1), (8, k, k, k, 1), 1))
    cases.append(((10, 24, 24, 24, 4), (8, 3, 3, 3, 4), 1))
    return [(f"{xs} * {ws} g={g}", xs, ws, g) for xs, ws, g in cases]


def best_time(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(cases):
    rng = np.random.default_rng(0)
    print(f"{'case':46s} " + " ".join(f"{m:>8s}" for m in METHODS) + "   (ms, best of 3)")
    for name, xs, ws, groups in cases:
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        cells = []
        for method in METHODS:
            macs = math.prod(xs[:-1]) * math.prod(ws)
            if method == "direct" and (ws[-1] > 1 and math.prod(ws[1:-1]) > 9 or macs > 3e8):
                cells.append(f"{'-':>8s}")  # far too slow to be worth timing
                continue
            t = best_time(lambda: conv(x, w, groups=groups, method=method))
            cells.append(f"{t * 1e3:8.1f}")
        print(f"{name:46s} " + " ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="the calibration shapes")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (default: 1 with --sweep, else the library's)")
    args = parser.parse_args()
    threads = 1 if args.sweep and args.threads is None else args.threads
    with threadpool_limits(threads):
        run(sweep_cases() if args.sweep else HEADLINE)


if __name__ == "__main__":
    main()
