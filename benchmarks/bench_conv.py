"""Convolution throughput against the machine's GEMM peak, a plain numpy pipeline and torch.

Three workloads:

- the "Coates layer": 1,000 RGB images 32x32, 1,600 filters 6x6x3, stride 1,
  valid padding, ReLU, then 2x2-grid sum pooling (252 MFLOP per image);
- a small bank: 16 Gabor filters 11x11 on 1,000 greyscale images 28x28;
- volumes: 200 volumes 32x32x32, 32 filters 5x5x5, valid, ReLU, then sums over
  the eight octants (176 MFLOP per volume).

Every figure is the median of ``--repeats`` runs, and the ratios compare
numbers measured in the same process. torch is used only when installed.

Run from the repository root::

    python benchmarks/bench_conv.py
"""

import argparse
import os
import platform
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info

from skconv import Conv, Pool
from skconv.filters import gabor_bank


def median_time(func, repeats, warmup=1):
    for _ in range(warmup):
        func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_peak(repeats):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.standard_normal((2048, 2048), dtype=np.float32)
    c = np.empty((2048, 2048), dtype=np.float32)
    t = median_time(lambda: np.matmul(a, b, out=c), max(repeats, 5))
    return 2 * 2048**3 / t


def numpy_pipeline(x, w, chunk=100):
    """Plain numpy: sliding_window_view im2col, one GEMM per chunk, np.maximum, slicing sums."""
    n, h, wd, c = x.shape
    f, k = w.shape[0], w.shape[1]
    oh, ow = h - k + 1, wd - k + 1
    wmat = w.reshape(f, -1).T
    hr, hc = (oh + 1) // 2, (ow + 1) // 2
    out = np.empty((n, 4 * f), dtype=np.float32)
    for s in range(0, n, chunk):
        xb = x[s : s + chunk]
        cols = np.lib.stride_tricks.sliding_window_view(xb, (k, k), axis=(1, 2))
        # (b, oh, ow, c, k, k) -> (b, oh, ow, k, k, c) to match the filter layout
        cols = cols.transpose(0, 1, 2, 4, 5, 3).reshape(-1, k * k * c)
        z = (cols @ wmat).reshape(len(xb), oh, ow, f)
        z = np.maximum(z, 0)
        out[s : s + chunk] = np.concatenate(
            [
                z[:, :hr, :hc].sum(axis=(1, 2)),
                z[:, :hr, hc:].sum(axis=(1, 2)),
                z[:, hr:, :hc].sum(axis=(1, 2)),
                z[:, hr:, hc:].sum(axis=(1, 2)),
            ],
            axis=1,
        )
    return out


def numpy_pipeline_3d(x, w, chunk=10):
    """The same plain numpy recipe on volumes (n, d, h, w): octant sums of the ReLU maps."""
    f, k = w.shape[0], w.shape[1]
    wmat = w.reshape(f, -1).T
    out = []
    for s in range(0, len(x), chunk):
        xb = x[s : s + chunk]
        cols = np.lib.stride_tricks.sliding_window_view(xb, (k, k, k), axis=(1, 2, 3))
        o = cols.shape[1:4]
        z = np.maximum(cols.reshape(-1, k**3) @ wmat, 0).reshape((len(xb),) + o + (f,))
        halves = [(slice(0, (m + 1) // 2), slice((m + 1) // 2, m)) for m in o]
        out.append(np.concatenate(
            [z[:, a, b, c].sum(axis=(1, 2, 3)) for a in halves[0] for b in halves[1]
             for c in halves[2]], axis=1))
    return np.concatenate(out)


def skconv_pipeline(x, w, n_jobs, batch_size):
    maps = Conv(w, encoding="relu", n_jobs=n_jobs, batch_size=batch_size).fit_transform(x)
    return Pool(grid=(2, 2)).fit_transform(maps)


def torch_coates(torch, xt, wt):
    with torch.no_grad():
        z = torch.relu(torch.nn.functional.conv2d(xt, wt))
        oh, ow = z.shape[2], z.shape[3]
        hr, hc = (oh + 1) // 2, (ow + 1) // 2
        return torch.cat(
            [
                z[:, :, :hr, :hc].sum((2, 3)),
                z[:, :, :hr, hc:].sum((2, 3)),
                z[:, :, hr:, :hc].sum((2, 3)),
                z[:, :, hr:, hc:].sum((2, 3)),
            ],
            1,
        )


def print_throughput(rows, n, flop, peak, unit):
    """One line per (name, median seconds); the first row is the plain numpy one."""
    print(f"{'pipeline':<42} {'median s':>9} {unit:>9} {'GFLOP/s':>8} {'% peak':>7} {'vs numpy':>9}")
    for name, t in rows:
        gf = flop / t
        print(f"{name:<42} {t:9.3f} {n / t:9.0f} {gf / 1e9:8.1f} {100 * gf / peak:6.1f}% "
              f"{rows[0][1] / t:8.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=1000)
    parser.add_argument("--n-volumes", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", default="auto",
                        type=lambda v: v if v == "auto" else int(v))
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        torch = None

    cores = os.cpu_count()
    rng = np.random.default_rng(0)
    n = args.n_images
    x = rng.random((n, 32, 32, 3), dtype=np.float32)
    w = rng.standard_normal((1600, 6, 6, 3), dtype=np.float32)
    flop = 2 * 27 * 27 * 1600 * 6 * 6 * 3 * n

    print(f"machine: {platform.machine()}, {cores} cores, numpy {np.__version__}")
    blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
            for i in threadpool_info() if i["user_api"] == "blas"]
    print(f"BLAS: {', '.join(blas)}")
    peak = gemm_peak(args.repeats)
    print(f"float32 GEMM 2048^3 (numpy): {peak / 1e9:.1f} GFLOP/s\n")

    ref = numpy_pipeline(x[:50], w)
    got = skconv_pipeline(x[:50], w, -1, args.batch_size)
    np.testing.assert_allclose(got, ref, rtol=2e-3, atol=1e-2)  # same work, same answer

    rows = []
    t_np = median_time(lambda: numpy_pipeline(x, w), args.repeats)
    rows.append(("plain numpy pipeline", t_np))
    t_sk = median_time(lambda: skconv_pipeline(x, w, -1, args.batch_size), args.repeats)
    rows.append(("skconv Conv + Pool (n_jobs=-1)", t_sk))
    t_sk1 = median_time(lambda: skconv_pipeline(x, w, None, args.batch_size), args.repeats)
    rows.append(("skconv Conv + Pool (n_jobs=None)", t_sk1))
    if torch is not None:
        torch.set_num_threads(cores)
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        wt = torch.from_numpy(np.ascontiguousarray(w.transpose(0, 3, 1, 2)))
        t_t = median_time(lambda: torch_coates(torch, xt, wt), args.repeats)
        rows.append((f"torch {torch.__version__} conv2d + relu + sums", t_t))

    print(f"Coates layer: {n} images 32x32x3, 1600 filters 6x6x3, valid, relu, 2x2 sum pool")
    print_throughput(rows, n, flop, peak, "images/s")

    # Small bank: few filters, where im2col + GEMM is wasteful.
    bank = gabor_bank(frequencies=(0.15, 0.3), n_orientations=8, kernel_size=11).astype(np.float32)
    g = rng.random((n, 28, 28), dtype=np.float32)
    print(f"\nSmall bank: {n} images 28x28x1, {len(bank)} Gabor filters 11x11, valid")
    rows = []
    t_small = median_time(
        lambda: np.asarray(Conv(bank, n_jobs=-1, batch_size=args.batch_size).fit_transform(g)),
        args.repeats,
    )
    rows.append(("skconv Conv (maps materialized)", t_small))
    if torch is not None:
        gt = torch.from_numpy(g[:, None])
        bt = torch.from_numpy(np.ascontiguousarray(bank.transpose(0, 3, 1, 2)))
        with torch.no_grad():
            t_ts = median_time(lambda: torch.nn.functional.conv2d(gt, bt), args.repeats)
        rows.append((f"torch {torch.__version__} conv2d", t_ts))
    print(f"{'pipeline':<42} {'median s':>9} {'images/s':>9} {'vs torch':>9}")
    for name, t in rows:
        vs = f"{rows[-1][1] / t:8.2f}x" if torch is not None else "       -"
        print(f"{name:<42} {t:9.4f} {n / t:9.0f} {vs}")

    # Volumes: a 3-D layer, the same recipe with a 3-tuple kernel.
    nv = args.n_volumes
    v = rng.random((nv, 32, 32, 32), dtype=np.float32)
    w3 = rng.standard_normal((32, 5, 5, 5, 1), dtype=np.float32)
    flop3 = 2 * 28**3 * 32 * 125 * nv

    def skconv_3d(n_jobs, volumes=v):
        conv = Conv(w3, encoding="relu", n_jobs=n_jobs, batch_size=args.batch_size)
        return Pool(grid=(2, 2, 2)).fit_transform(conv.fit_transform(volumes))

    # same work, same answer (both region-major, filter-minor)
    np.testing.assert_allclose(skconv_3d(-1, v[:5]), numpy_pipeline_3d(v[:5], w3[..., 0]),
                               rtol=2e-3, atol=1e-2)
    rows = [("plain numpy pipeline", median_time(lambda: numpy_pipeline_3d(v, w3[..., 0]), args.repeats)),
            ("skconv Conv + Pool (n_jobs=-1)", median_time(lambda: skconv_3d(-1), args.repeats))]
    if torch is not None:
        vt = torch.from_numpy(v[:, None])
        wt3 = torch.from_numpy(np.ascontiguousarray(w3.transpose(0, 4, 1, 2, 3)))

        def torch_3d():
            with torch.no_grad():
                z = torch.relu(torch.nn.functional.conv3d(vt, wt3))
                h = [(slice(0, 14), slice(14, 28))] * 3
                return torch.cat([z[:, :, a, b, c].sum((2, 3, 4)) for a in h[0] for b in h[1]
                                  for c in h[2]], 1)

        rows.append((f"torch {torch.__version__} conv3d + relu + sums",
                     median_time(torch_3d, args.repeats)))
    print(f"\nVolumes: {nv} volumes 32x32x32x1, 32 filters 5x5x5, valid, relu, 2x2x2 sum pool")
    print_throughput(rows, nv, flop3, peak, "volumes/s")


if __name__ == "__main__":
    main()
