"""Convolution throughput against the machine's GEMM peak, a plain numpy pipeline and torch.

Three workloads:

- the "Coates layer": 1,000 RGB images 32x32, 1,600 filters 6x6x3, stride 1,
  valid padding, ReLU, then 2x2-grid sum pooling (252 MFLOP per image);
- a small bank: 16 Gabor filters 11x11 on 1,000 greyscale images 28x28 (the
  engine's call, the ``Conv`` transformer and torch, on all cores and on one);
- volumes: 200 volumes 32x32x32, 32 filters 5x5x5, valid, ReLU, then sums over
  the eight octants (176 MFLOP per volume).

and, with ``--stack``, the two-layer stack of ``cifar10_stack.py`` at its
full-CIFAR shapes (1,600 filters 6x6x3, max pool 3x3 stride 2, 100 groups of
16 channels x 32 filters 3x3, quadrant sums of both layers), fitted on random
images with few patches: the throughput depends on the shapes only.

Every figure is the median of ``--repeats`` runs, and the ratios compare
numbers measured in the same process. The runs of a table are interleaved, the
GEMM peak's among them (one repeat of each in turn), so that a machine shared
with other jobs slows them alike. "CPU s" is the process's CPU time per run
(both cores counted): on a shared machine the images per CPU second say what
the code costs when the wall-clock time says how busy the machine was. torch
is used only when installed.

Run from the repository root::

    python benchmarks/bench_conv.py
    python benchmarks/bench_conv.py --stack --n-images 300
"""

import argparse
import os
import platform
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from skconv import Conv, Pool, _engine
from skconv.filters import gabor_bank


def interleaved_times(funcs, repeats, warmup=1):
    """Median wall-clock and CPU seconds of each function, the repeats interleaved."""
    for func in funcs.values():
        for _ in range(warmup):
            func()
    wall = {name: [] for name in funcs}
    cpu = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            w0, c0 = time.perf_counter(), time.process_time()
            func()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return ({name: statistics.median(v) for name, v in wall.items()},
            {name: statistics.median(v) for name, v in cpu.items()})


GEMM_FLOP = 2 * 2048**3


def gemm_func():
    """A float32 2048^3 GEMM (numpy), the peak the pipelines are compared with."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.standard_normal((2048, 2048), dtype=np.float32)
    c = np.empty((2048, 2048), dtype=np.float32)
    return lambda: np.matmul(a, b, out=c)


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
    parser.add_argument("--small-repeats", type=int, default=31,
                        help="repeats of the small bank (runs of about 10 ms)")
    parser.add_argument("--stack", action="store_true",
                        help="also measure the two-layer stack of cifar10_stack.py")
    parser.add_argument("--batch-size", default="auto",
                        type=lambda v: v if v == "auto" else int(v))
    args = parser.parse_args()

    # torch's idle OpenMP threads would otherwise spin between its calls and
    # take cores from the pipelines interleaved with it (its own times are the
    # same either way: 9.6 ms for the small bank, active or passive)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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
    ref = numpy_pipeline(x[:50], w)
    got = skconv_pipeline(x[:50], w, -1, args.batch_size)
    np.testing.assert_allclose(got, ref, rtol=2e-3, atol=1e-2)  # same work, same answer

    funcs = {"gemm": gemm_func(),
             "plain numpy pipeline": lambda: numpy_pipeline(x, w),
             "skconv Conv + Pool (n_jobs=-1)": lambda: skconv_pipeline(x, w, -1, args.batch_size),
             "skconv Conv + Pool (n_jobs=None)":
                 lambda: skconv_pipeline(x, w, None, args.batch_size)}
    if torch is not None:
        torch.set_num_threads(cores)
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        wt = torch.from_numpy(np.ascontiguousarray(w.transpose(0, 3, 1, 2)))
        funcs[f"torch {torch.__version__} conv2d + relu + sums"] = lambda: torch_coates(torch, xt, wt)
    wall, cpu = interleaved_times(funcs, args.repeats)
    peak = GEMM_FLOP / wall.pop("gemm")
    peak_cpu = GEMM_FLOP / cpu.pop("gemm")
    print(f"float32 GEMM 2048^3 (numpy), median of the interleaved runs: {peak / 1e9:.1f} GFLOP/s "
          f"({peak_cpu / 1e9:.1f} per CPU second)\n")
    t_np = wall["plain numpy pipeline"]
    print(f"Coates layer: {n} images 32x32x3, 1600 filters 6x6x3, valid, relu, 2x2 sum pool")
    print(f"{'pipeline':<42} {'median s':>9} {'images/s':>9} {'GFLOP/s':>8} {'% peak':>7} "
          f"{'vs numpy':>9} {'CPU s':>7} {'% peak per CPU s':>17}")
    for name, t in wall.items():
        gf = flop / t
        print(f"{name:<42} {t:9.3f} {n / t:9.0f} {gf / 1e9:8.1f} {100 * gf / peak:6.1f}% "
              f"{t_np / t:8.2f}x {cpu[name]:7.3f} {100 * flop / cpu[name] / peak_cpu:16.1f}%")

    small_bank(args, rng, torch, cores)

    volumes_throughput(args, rng, peak)
    if args.stack:
        stack_throughput(args, rng)


def small_bank(args, rng, torch, cores):
    """16 Gabor filters 11x11 on greyscale 28x28 images: few filters, where
    im2col + GEMM is wasteful. The engine's own call (the path its cost model
    picks: the compiled direct convolution where the package has it), the
    ``Conv`` transformer (input checks, batches in threads, the maps written into
    one array) and torch's ``conv2d``, on all cores and then on one thread each."""
    bank = gabor_bank(frequencies=(0.15, 0.3), n_orientations=8, kernel_size=11).astype(np.float32)
    n = args.n_images
    g = rng.random((n, 28, 28), dtype=np.float32)
    g4 = g[..., None]
    path = _engine._choose_method(g4, bank, 1, (11, 11), (1, 1), (1, 1), ((0, 0), (0, 0)),
                                  (18, 18))
    isa = f", {_engine.NATIVE.isa}" if path == "compiled" else ""
    print(f"\nSmall bank: {n} images 28x28x1, {len(bank)} Gabor filters 11x11, valid "
          f"(engine path: {path}{isa}; median of {args.small_repeats})")
    engine = f"skconv engine conv ({path})"
    funcs = {engine: lambda: _engine.conv(g4, bank),
             "skconv Conv(n_jobs=-1), maps materialized": lambda: np.asarray(
                 Conv(bank, n_jobs=-1, batch_size=args.batch_size).fit_transform(g))}
    if torch is not None:
        gt = torch.from_numpy(g[:, None])
        bt = torch.from_numpy(np.ascontiguousarray(bank.transpose(0, 3, 1, 2)))

        def torch_small():
            with torch.no_grad():
                return torch.nn.functional.conv2d(gt, bt)

        funcs[f"torch {torch.__version__} conv2d"] = torch_small
    np.testing.assert_allclose(funcs[engine](), np.asarray(funcs[list(funcs)[1]]()), rtol=1e-5,
                               atol=1e-5)
    for threads in (cores, 1):
        if threads == 1:
            funcs.pop(list(funcs)[1])  # the transformer's threads are its n_jobs
        if torch is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(threads):
            wall, cpu = interleaved_times(funcs, args.small_repeats)
        last = list(wall)[-1]
        print(f"{threads} thread(s)")
        print(f"{'pipeline':<42} {'median s':>9} {'images/s':>9} {'GFLOP/s':>8} {'vs torch':>9} "
              f"{'CPU s':>7}")
        for name, t in wall.items():
            vs = f"{wall[last] / t:8.2f}x" if torch is not None else "       -"
            gf = 2 * n * 18 * 18 * 11 * 11 * len(bank) / t / 1e9
            print(f"{name:<42} {t:9.4f} {n / t:9.0f} {gf:8.1f} {vs} {cpu[name]:7.4f}")
    if torch is not None:
        torch.set_num_threads(cores)


def stack_throughput(args, rng):
    """Images/s of the two-layer stack's features at the full-CIFAR shapes."""
    from skconv import KMeansConv, LayerwiseStack, ReceptiveFieldConv

    n = args.n_images
    x = (255 * rng.random((max(n, 500), 32, 32, 3))).astype(np.float32)
    funcs = {}
    for encoding in ("triangle", "soft_threshold"):
        stack = LayerwiseStack(
            [("conv1", KMeansConv(1600, 6, n_patches=20_000, max_iter=2, n_jobs=-1)),
             ("pool1", Pool(size=3, stride=2, method="max")),
             ("conv2", ReceptiveFieldConv(
                 KMeansConv(32, 3, n_patches=500, max_iter=2, encoding=encoding),
                 n_groups=100, group_size=16, n_jobs=-1))],
            fit_subset=200, concat=["conv1", "conv2"], pool=Pool(grid=(2, 2)), random_state=0,
        ).fit(x[:200])
        funcs[f"stack, layer 2 {encoding}"] = lambda s=stack: s.transform(x[:n])
        if encoding == "triangle":
            conv1 = stack.named_layers_["conv1"]
            funcs["layer 1 alone (KMeansConv triangle + quadrant sums)"] = (
                lambda c=conv1: Pool(grid=(2, 2)).fit_transform(c.transform(x[:n])))
    wall, cpu = interleaved_times(funcs, args.repeats)
    print(f"\nTwo-layer stack features: {n} images 32x32x3 (full-CIFAR shapes, 19,200 features)")
    print(f"{'pipeline':<52} {'median s':>9} {'images/s':>9} {'CPU s':>7} {'images per CPU s':>17}")
    for name, t in wall.items():
        print(f"{name:<52} {t:9.3f} {n / t:9.1f} {cpu[name]:7.3f} {n / cpu[name]:17.1f}")


def volumes_throughput(args, rng, peak):
    """The same recipe in 3-D: a layer of 32 filters 5x5x5 on 32^3 volumes."""
    try:
        import torch
    except ImportError:
        torch = None
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
    funcs = {"plain numpy pipeline": lambda: numpy_pipeline_3d(v, w3[..., 0]),
             "skconv Conv + Pool (n_jobs=-1)": lambda: skconv_3d(-1)}
    if torch is not None:
        vt = torch.from_numpy(v[:, None])
        wt3 = torch.from_numpy(np.ascontiguousarray(w3.transpose(0, 4, 1, 2, 3)))

        def torch_3d():
            with torch.no_grad():
                z = torch.relu(torch.nn.functional.conv3d(vt, wt3))
                h = [(slice(0, 14), slice(14, 28))] * 3
                return torch.cat([z[:, :, a, b, c].sum((2, 3, 4)) for a in h[0] for b in h[1]
                                  for c in h[2]], 1)

        funcs[f"torch {torch.__version__} conv3d + relu + sums"] = torch_3d
    wall, _ = interleaved_times(funcs, args.repeats)
    print(f"\nVolumes: {nv} volumes 32x32x32x1, 32 filters 5x5x5, valid, relu, 2x2x2 sum pool")
    print_throughput(list(wall.items()), nv, flop3, peak, "volumes/s")


if __name__ == "__main__":
    main()
