"""The Coates layer on a dask cluster: 1 against 2 worker processes, and what a chunk costs to ship.

The layer of ``bench_conv.py`` (1,600 filters 6x6x3, valid, ReLU, 2x2-grid sum
pooling) over CIFAR-10 (JPEG q75) training images held as a dask array in chunks of
``--chunk`` images. Timed, median of ``--repeats`` runs each:

- in this process, as numpy arrays (skconv's own threads, ``n_jobs=-1``);
- on a ``distributed.LocalCluster`` of 1 worker process with 2 threads, of 1 worker
  with 1 thread, and of 2 workers with 1 thread each (the pipeline's own threads set
  to 1, so that one task uses one core), the last also with distributed's
  ``MALLOC_TRIM_THRESHOLD_=65536`` unset in the workers ("no trim");

and, per chunk, the bytes shipped to a worker (the input chunk, the pickled fitted
transformers, the pooled features back) and the time to serialize them, against the
compute time of the chunk on one core: how the run extrapolates to a cluster of many machines.

Usage: ``python benchmarks/dask_scaling.py [--n-images 4000] [--chunk 500]``; needs
``pip install ".[dask]"`` and ``../shared/data/cifar10_jpeg_q75.npz``.
"""

import argparse
import os
import pickle
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import DATA_DIR  # noqa: E402

from skconv import Conv, Pool  # noqa: E402


def timed(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=4000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=str(DATA_DIR / "cifar10_jpeg_q75.npz"))
    args = parser.parse_args()

    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    with np.load(args.data) as data:
        X = data["X_train"][: args.n_images].astype(np.float32)
    filters = np.random.default_rng(0).standard_normal((1600, 6, 6, 3)).astype(np.float32)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(X)} CIFAR-10 (JPEG q75) "
          f"images in chunks of {args.chunk}; 1,600 filters 6x6x3, ReLU, 2x2 sum pooling")

    def fitted(n_jobs):
        conv = Conv(filters, encoding="relu", n_jobs=n_jobs).fit(X[:10])
        pool = Pool(grid=(2, 2)).fit(conv.transform(X[:10]))
        return conv, pool

    conv, pool = fitted(-1)
    t_local, F_local = timed(lambda: pool.transform(conv.transform(X)), args.repeats)
    rows = [("in this process, numpy, 2 threads", t_local)]

    Xd = da.from_array(X, chunks=(args.chunk, 32, 32, 3))
    conv1, pool1 = fitted(1)
    for n_workers, threads, trim in ((1, 2, True), (1, 1, True), (2, 1, True), (2, 1, False)):
        # distributed's workers start with MALLOC_TRIM_THRESHOLD_=65536 (memory handed back
        # to the system early); None unsets it, leaving glibc's own threshold
        environ = {} if trim else {"MALLOC_TRIM_THRESHOLD_": None}
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v
                              for k, v in environ.items()}), \
                LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=True,
                             host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            lazy = pool1.transform(conv1.transform(Xd))
            client.compute(lazy[: args.chunk]).result()  # start the workers, ship the code
            t, F = timed(lambda: client.compute(lazy).result(), args.repeats)
            np.testing.assert_allclose(F, F_local, rtol=1e-4)
            rows.append((f"LocalCluster, {n_workers} worker(s) x {threads} thread(s)"
                         + ("" if trim else ", no trim"), t))

    print(f"\n{'where':<53} {'time (s)':>9} {'images/s':>9} {'vs 1 worker x 1':>15}")
    single = dict(rows)["LocalCluster, 1 worker(s) x 1 thread(s)"]
    for name, t in rows:
        print(f"{name:<53} {t:>9.2f} {len(X) / t:>9.0f} {single / t:>14.2f}x")

    chunk = X[: args.chunk]
    shipped = {
        "input chunk": pickle.dumps(chunk, protocol=5),
        "fitted Conv + Pool": pickle.dumps((conv1, pool1), protocol=5),
        "pooled features back": pickle.dumps(F_local[: args.chunk], protocol=5),
    }
    t_ser, _ = timed(lambda: [pickle.loads(pickle.dumps(o, protocol=5)) for o in
                              (chunk, (conv1, pool1), F_local[: args.chunk])], 5)
    with threadpool_limits(1):  # one core: skconv's threads and BLAS's
        t_chunk, _ = timed(lambda: pool1.transform(conv1.transform(chunk)), args.repeats)
    total = sum(len(b) for b in shipped.values())
    print(f"\nper chunk of {args.chunk} images:")
    for name, b in shipped.items():
        print(f"  {name:<22} {len(b) / 2**20:8.2f} MiB")
    print(f"  serialize + deserialize all of it: {t_ser * 1e3:.1f} ms; compute the chunk on one "
          f"core: {t_chunk * 1e3:.0f} ms ({t_ser / t_chunk:.2%} of it)")
    print(f"  {total / args.chunk / 2**10:.1f} KiB shipped per image for "
          f"{t_chunk / args.chunk * 1e3:.1f} ms of compute per image: a network of "
          f"B MB/s keeps a worker busy while B >= {total / 2**20 / t_chunk:.1f} MB/s")


if __name__ == "__main__":
    main()
