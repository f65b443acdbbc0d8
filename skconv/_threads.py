"""Threads: the BLAS limit skconv sets in its workers, and the threads of its
compiled code, which follow the same limit.

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

__all__ = ["one_blas_thread", "blas_threads", "native_pool"]

_CONTROLLER = (None, None)
_POOL = None
_POOL_LOCK = threading.Lock()


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
