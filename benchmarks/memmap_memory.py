"""Peak memory of Conv -> Pool over a memory-mapped dataset larger than memory should allow.

Writes a uint8 dataset of ``--gigabytes`` (default 6) to a ``.npy`` file, opens it
with ``np.load(..., mmap_mode="r")`` and pools the maps of a random filter bank over
it, batch by batch, while a thread samples the process's memory. Reported:

- the peak anonymous resident memory (``RssAnon``): what the process itself
  allocates. The pages of the mapped file are page cache, which the kernel reads in
  and drops as it needs; they are not the process's memory;
- the peak resident set size (``VmHWM``), which also counts mapped file pages that
  happened to stay resident;
- the time, and the throughput in MB of input per second.

With ``--limit-gb G`` the process runs under ``RLIMIT_DATA`` of G GiB: it cannot
allocate more than that (heap and anonymous mappings; the pages of a mapped file do
not count), so the run shows the dataset streaming through memory it could not hold.

Usage: ``python benchmarks/memmap_memory.py [--gigabytes 6] [--batch-size 8]
[--limit-gb 2] [--dir /tmp]``. The file is deleted at the end unless ``--keep`` is
given.
"""

import argparse
import os
import resource
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from skconv import Pool, RandomConv


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakSampler(threading.Thread):
    """Samples RssAnon every few milliseconds and keeps the peak."""

    def __init__(self, interval=0.005):
        super().__init__(daemon=True)
        self.interval, self.peak, self._done = interval, 0, threading.Event()

    def run(self):
        while not self._done.is_set():
            self.peak = max(self.peak, status_kib("RssAnon"))
            time.sleep(self.interval)

    def stop(self):
        self._done.set()
        self.join()
        return self.peak


def write_dataset(path, n, size, seed=0):
    images = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, size, size))
    rng = np.random.default_rng(seed)
    step = max(1, (256 * 2**20) // (size * size))
    for i in range(0, n, step):
        images[i:i + step] = rng.integers(0, 256, images[i:i + step].shape, dtype=np.uint8)
    images.flush()
    del images


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=6.0)
    parser.add_argument("--size", type=int, default=512, help="side of the square grey images")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--n-filters", type=int, default=8)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--limit-gb", type=float, default=None,
                        help="run under RLIMIT_DATA of this many GiB")
    args = parser.parse_args()

    n = int(args.gigabytes * 2**30 // (args.size * args.size))
    path = Path(args.dir) / f"skconv_memmap_{n}x{args.size}.npy"
    if not path.exists():
        start = time.perf_counter()
        write_dataset(path, n, args.size)
        print(f"wrote {path} ({path.stat().st_size / 2**30:.2f} GiB) in "
              f"{time.perf_counter() - start:.0f} s")
    if args.limit_gb is not None:
        limit = int(args.limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        print(f"RLIMIT_DATA: {args.limit_gb:g} GiB (the process cannot allocate more)")
    X = np.load(path, mmap_mode="r")
    if args.limit_gb is not None:
        try:
            np.ones(X.shape, dtype=np.float32)
            print("a float32 copy of the data would fit under the limit")
        except MemoryError:
            print(f"a float32 copy of the data ({X.size * 4 / 2**30:.0f} GiB) is refused under "
                  "the limit (MemoryError), as a pipeline that copied its input would be")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"dataset {X.shape} {X.dtype}, {X.nbytes / 2**30:.2f} GiB memory-mapped")

    baseline = status_kib("RssAnon")
    conv = RandomConv(args.n_filters, 3, encoding="relu", batch_size=args.batch_size,
                      n_jobs=-1, random_state=0)
    pool = Pool(grid=(2, 2))
    sampler = PeakSampler()
    sampler.start()
    start = time.perf_counter()
    features = pool.fit_transform(conv.fit_transform(X))
    elapsed = time.perf_counter() - start
    peak_anon = sampler.stop()
    per_sample = (args.size - 2) ** 2 * args.n_filters * 4
    print(f"features {features.shape}; the maps ({n * per_sample / 2**30:.1f} GiB of float32) "
          f"are never held whole: a batch of {args.batch_size} takes "
          f"{args.batch_size * per_sample / 2**20:.0f} MiB, one per thread")
    print(f"peak anonymous memory (RssAnon): {peak_anon / 2**10:.0f} MiB "
          f"({(peak_anon - baseline) / 2**10:.0f} MiB above the {baseline / 2**10:.0f} MiB "
          f"before the pipeline); peak resident set (VmHWM, file pages included): "
          f"{status_kib('VmHWM') / 2**10:.0f} MiB")
    print(f"time {elapsed:.1f} s: {X.nbytes / 2**20 / elapsed:.0f} MB of input per second, "
          f"{n / elapsed:.0f} images of {args.size}x{args.size} per second")
    if not args.keep:
        del X
        path.unlink()


if __name__ == "__main__":
    main()
