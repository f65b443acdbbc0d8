"""Time of every convolution variant against its predicted cost.

For each variant the transformer's ``cost()`` predicts the multiply-adds of one
image; the script times ``np.asarray(est.transform(X))`` (median of repeats, one
BLAS thread, ``n_jobs=None``) and prints, next to each other, the predicted ratio
(multiply-adds of the variant over those of the standard convolution of its
group) and the measured ratio of times. The ratios are algorithmic costs: how
well the engine turns fewer multiply-adds into less time.

Usage::

    python benchmarks/bench_variants.py            # the full run (about a minute)
    python benchmarks/bench_variants.py --small    # a few seconds, for development
"""

import argparse

import numpy as np
from threadpoolctl import threadpool_limits

from _common import median_time
from skconv import ChannelShuffle, Conv, RandomConv


def chain(layers, X):
    """Fit the layers one after the other; return a function that runs them all."""
    Z = X
    for layer in layers:
        layer.fit(Z)
        Z = layer.transform(Z)

    def run():
        Z = X
        for layer in layers:
            Z = layer.transform(Z)
        return np.asarray(Z)

    return run


def multiply_adds(layers, shape):
    total = 0
    for layer in layers:
        if hasattr(layer, "cost"):
            cost = layer.cost(shape)
            total += cost["multiply_adds"]
            shape = cost["output_shape"]
    return total


def groups_of_cases(small):
    """(title, input shape of one sample, n, [(variant, layers)]); the first variant
    of each group is its standard convolution."""
    rng = np.random.default_rng(0)
    n_grey, n_multi, n_vol = (20, 10, 4) if small else (200, 100, 20)
    grey = (64, 64, 1)
    f, k = 16, 9
    g1 = [
        ("standard 16 x 9x9", [RandomConv(f, k, random_state=0)]),
        ("spatially separable, rank 1", [RandomConv(f, k, separable=1, random_state=0)]),
        ("separable, rank 2", [RandomConv(f, k, separable=2, random_state=0)]),
        ("tiled 2x2", [RandomConv(f, k, sharing="tiled", tile_shape=2, random_state=0)]),
        ("locally connected", [RandomConv(f, k, sharing="local", random_state=0)]),
    ]
    multi = (32, 32, 16)
    f, k = 32, 5
    g2 = [
        ("standard 32 x 5x5x16", [RandomConv(f, k, random_state=0)]),
        ("strided 2", [RandomConv(f, k, stride=2, random_state=0)]),
        ("padded same", [RandomConv(f, k, padding="same", random_state=0)]),
        ("dilated 2", [RandomConv(f, k, dilation=2, random_state=0)]),
        ("grouped, groups=4", [RandomConv(f, k, groups=4, random_state=0)]),
        ("depthwise (16 x 5x5)", [RandomConv(16, k, groups=16, random_state=0)]),
        ("depthwise separable (+ 32 x 1x1)",
         [RandomConv(16, k, groups=16, random_state=0), RandomConv(f, 1, random_state=0)]),
        ("depthwise + 1x1 groups=4 + shuffle",
         [RandomConv(16, k, groups=16, random_state=0),
          RandomConv(f, 1, groups=4, random_state=0), ChannelShuffle(groups=4)]),
        ("flattened (separable rank 1)", [RandomConv(f, k, separable=1, random_state=0)]),
        ("tiled 2x2", [RandomConv(f, k, sharing="tiled", tile_shape=2, random_state=0)]),
        ("locally connected", [RandomConv(f, k, sharing="local", random_state=0)]),
    ]
    vol = (24, 24, 24, 1)
    w = rng.standard_normal((8, 5, 5, 5, 1))
    g3 = [
        ("standard 8 x 5x5x5", [Conv(w)]),
        ("separable, rank 1", [Conv(w, separable=1)]),
        ("separable, rank 3", [Conv(w, separable=3)]),
    ]
    return [
        ("2-D greyscale images 64x64", grey, n_grey, g1),
        ("2-D maps 32x32 with 16 channels", multi, n_multi, g2),
        ("3-D volumes 24^3", vol, n_vol, g3),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="small inputs, for development")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    print("| input | variant | multiply-adds per sample | predicted ratio | median time (s) "
          "| measured ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    with threadpool_limits(1):
        for title, shape, n, cases in groups_of_cases(args.small):
            X = rng.random((n,) + shape).astype(np.float32)
            base_macs = base_time = None
            for variant, layers in cases:
                run = chain(layers, X)
                run()  # warm up
                t = median_time(run, args.repeat)
                macs = multiply_adds(layers, shape)
                if base_macs is None:
                    base_macs, base_time = macs, t
                print(f"| {title} (n={n}) | {variant} | {macs:,} | {macs / base_macs:.3f} | "
                      f"{t:.4f} | {t / base_time:.3f} |", flush=True)


if __name__ == "__main__":
    main()
