"""Threads: skconv's workers, the BLAS limit it sets in them, and the threads of
its compiled code, which follow the same limit.

One ``threadpoolctl`` controller is kept between calls (each new one scans the
loaded libraries: 3 ms per call with scikit-learn and scipy loaded, a fifth of
the time of a 1,000-image small bank) and made again only when modules were
imported since.
"""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

__all__ = ["one_blas_thread", "blas_threads", "native_pool", "map_in_workers"]

_CONTROLLER = (None, None)
_POOL = None
_POOL_LOCK = threading.Lock()
_WORKERS = None
_WORKERS_LOCK = threading.Lock()
_IN_WORKER = threading.local()


def _forget_pools():
    """In a forked child the pools' threads are gone: start from none."""
    global _POOL, _WORKERS, _POOL_LOCK, _WORKERS_LOCK
    _POOL = _WORKERS = None
    _POOL_LOCK, _WORKERS_LOCK = threading.Lock(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def _controller():
    global _CONTROLLER
    n_modules, controller = _CONTROLLER
    if controller is None or n_modules != len(sys.modules):
        controller = ThreadpoolController()
        _CONTROLLER = (len(sys.modules), controller)
    return controller


def one_blas_thread():
    """``threadpool_limits(limits=1, user_api="blas")`` as a context manager."""
    return _controller().limit(limits=1, user_api="blas")


def blas_threads():
    """The threads BLAS may use now: the smallest setting of the loaded BLAS
    libraries (so 1 inside :func:`one_blas_thread` or a user's
    ``threadpool_limits(1)``), the cores when none is loaded."""
    counts = [lib.num_threads for lib in _controller().lib_controllers
              if lib.user_api == "blas"]
    return max(1, min(counts, default=os.cpu_count() or 1))


def native_pool():
    """The thread pool of the compiled code (one thread per core, made once)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                       thread_name_prefix="skconv-native")
        return _POOL


def _worker_pool(n):
    """The workers' pool, with at least ``n`` threads (made again, larger, when a
    call asks for more)."""
    global _WORKERS
    with _WORKERS_LOCK:
        if _WORKERS is None or _WORKERS._max_workers < n:
            old = _WORKERS
            _WORKERS = ThreadPoolExecutor(max_workers=max(n, os.cpu_count() or 1),
                                          thread_name_prefix="skconv-worker")
            if old is not None:
                old.shutdown(wait=False)
        return _WORKERS


def map_in_workers(func, items, workers):
    """``[func(item) for item in items]`` on ``workers`` threads at most, results in
    order, the items taken one by one as threads free up.

    The threads are kept between calls (making a pool and its threads costs 0.3 ms
    a call). A call from inside a worker (maps computed from maps) gets a pool of
    its own, so that it never waits for threads that wait for it.
    """
    if getattr(_IN_WORKER, "active", False):
        with ThreadPoolExecutor(max_workers=workers) as ex:
            return list(ex.map(func, items))
    results = [None] * len(items)
    order = iter(range(len(items)))
    lock = threading.Lock()

    def runner():
        _IN_WORKER.active = True
        try:
            while True:
                with lock:
                    i = next(order, None)
                if i is None:
                    return
                results[i] = func(items[i])
        finally:
            _IN_WORKER.active = False

    pool = _worker_pool(workers)
    futures = [pool.submit(runner) for _ in range(workers)]
    for future in futures:
        future.result()  # the first error, once every runner has stopped
    return results
