"""Helpers shared by the benchmark scripts: data location, peak memory, mirrored images,
median times."""

import resource
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
# The data sets live next to the checkout, not in it.
DATA_DIR = REPO_ROOT / ".." / "shared" / "data"


def peak_memory_mib():
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def mirror_images(images):
    """The images flipped left to right ((n, rows, cols, channels)), as a new array."""
    return np.ascontiguousarray(images[:, :, ::-1])


def median_time(fn, repeat=3):
    """Median wall time of ``repeat`` calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))
