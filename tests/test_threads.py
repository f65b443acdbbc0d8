"""skconv's worker threads and the BLAS limit in them."""

import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skconv._threads import blas_threads, map_in_workers, one_blas_thread


def test_results_in_order_whatever_the_finishing_order():
    def slow_first(i):
        time.sleep(0.02 if i == 0 else 0.0)
        return i * i

    assert map_in_workers(slow_first, list(range(9)), 3) == [i * i for i in range(9)]


def test_never_more_than_the_workers_asked_for():
    running, peak, lock = [0], [0], threading.Lock()

    def task(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.005)
        with lock:
            running[0] -= 1
        return i

    assert map_in_workers(task, list(range(12)), 2) == list(range(12))
    assert peak[0] == 2
    assert map_in_workers(task, list(range(12)), 5) == list(range(12))  # the pool grows
    assert peak[0] == 5


def test_nested_calls_do_not_wait_for_themselves():
    # every worker of the outer call starts an inner call: with one shared pool of
    # two threads this would deadlock; inner calls get a pool of their own
    def outer(i):
        return sum(map_in_workers(lambda j: i * j, list(range(4)), 2))

    assert map_in_workers(outer, list(range(6)), 2) == [6 * i for i in range(6)]


def test_an_error_reaches_the_caller():
    def task(i):
        if i == 3:
            raise ValueError("item 3")
        return i

    with pytest.raises(ValueError, match="item 3"):
        map_in_workers(task, list(range(8)), 2)
    assert map_in_workers(lambda i: i, [1, 2], 2) == [1, 2]  # the pool still works


def test_blas_threads_follow_the_limits():
    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS loaded
    with threadpool_limits(1):
        assert blas_threads() == 1
    with one_blas_thread():
        assert blas_threads() == 1


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_makes_its_own_threads():
    # the parent's pool threads do not exist in a forked child: a task given to
    # that pool would wait forever
    import os
    import select
    import signal

    both = threading.Barrier(2, timeout=30)  # two threads of the pool running at once

    def meet(i):
        both.wait()
        return i + 1

    assert map_in_workers(meet, [1, 2], 2) == [2, 3]  # the parent's pool, two threads idle now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.write(write, repr(map_in_workers(lambda i: 2 * i, [0, 1, 2, 3], 2)).encode())
        finally:
            os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], 30)
    if not ready:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert ready, "the forked child's call never finished"
    assert os.read(read, 100) == b"[0, 2, 4, 6]"
    os.close(read)
