"""Progress of the long steps: k-means fits, transforms of many batches, stacks of layers.

Messages go to the ``"skconv"`` logger at level INFO, so that an application routes
them like any other log. With ``verbose > 0`` and no handler configured for that
logger (nor for the root logger), one handler that writes to standard error is
added, so that ``verbose=1`` alone prints. ``verbose=0`` (every estimator's
default) says nothing. ``verbose=1`` reports at most every 2 seconds, plus once at
the end of each step; ``verbose=2`` reports every batch or iteration.
"""

import logging
import sys
import threading
import time

__all__ = ["logger", "Progress", "say", "Timer"]

logger = logging.getLogger("skconv")

# A report at most this often at verbose=1 (seconds); every update at verbose >= 2.
_EVERY = 2.0


class _StderrHandler(logging.Handler):
    """Writes to the ``sys.stderr`` of the moment (which notebooks and test runners replace)."""

    def emit(self, record):
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def _ensure_output():
    if not logger.handlers and not logging.getLogger().handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("[skconv] %(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)


def say(verbose, message):
    """Log ``message`` when ``verbose`` is on."""
    if verbose:
        _ensure_output()
        logger.info(message)


def duration(seconds):
    """``seconds`` as ``"2.5 s"`` under a minute, else as ``h:mm:ss``."""
    if seconds < 59.5:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Timer:
    """Seconds since creation, as ``float(timer)`` or ``str(timer)`` (e.g. ``"1.2 s"``)."""

    def __init__(self):
        self._start = time.perf_counter()

    def __float__(self):
        return time.perf_counter() - self._start

    def __str__(self):
        return duration(float(self))


class Progress:
    """Counts units done out of ``total`` in steps (batches, iterations) and reports
    steps done, rate and time left, now and then.

    Thread-safe: the batches of lazy maps finish in worker threads.

    Parameters
    ----------
    verbose : int
        0: silent; 1: a report at most every 2 s and one at the end; 2: every step.
    what : str
        What is being done, the head of every report.
    total : int
        Units (samples, iterations) to do.
    n_steps : int, default=None
        Steps the units come in (batches), reported as ``batch i/n``.
    unit : str, default="samples"
    step : str, default="batch"
    """

    def __init__(self, verbose, what, total, *, n_steps=None, unit="samples", step="batch"):
        self.verbose, self.what, self.total = verbose, what, int(total)
        self.n_steps, self.unit, self.step = n_steps, unit, step
        self.every = _EVERY if verbose < 2 else 0.0
        self.done = self.steps = 0
        self._lock = threading.Lock()
        self._start = self._last = time.perf_counter()

    def update(self, count=1):
        """Record ``count`` more units done (one step)."""
        if not self.verbose:
            return
        with self._lock:
            self.done += count
            self.steps += 1
            now = time.perf_counter()
            finished = self.done >= self.total
            if not finished and now - self._last < self.every:
                return
            self._last = now
            elapsed = max(now - self._start, 1e-9)
            message = self._message(elapsed, finished)
        say(self.verbose, message)

    def _message(self, elapsed, finished):
        rate = self.done / elapsed
        steps = ""
        if self.n_steps is not None and self.n_steps > 1:
            steps = f"{self.step} {self.steps}/{self.n_steps}, "
        if finished:
            tail = f"done in {duration(elapsed)}"
        else:
            tail = f"{duration((self.total - self.done) / rate)} left" if rate > 0 else ""
        percent = 100 * self.done / max(self.total, 1)
        return (
            f"{self.what}: {steps}{self.done:,}/{self.total:,} {self.unit} ({percent:.0f} %), "
            f"{rate:,.{0 if rate >= 100 else 1}f} {self.unit}/s, {tail}"
        )
