"""Lazy feature maps: the output of every Conv transformer.

The maps after a wide layer are far larger than the images (CIFAR-10 with 1,600
filters is 233 GB in float32), so a Conv transformer returns a :class:`FeatureMaps`
that remembers its input and how to compute the maps of any batch of samples.
Downstream skconv steps (``Pool``, a next ``Conv``) evaluate it batch by batch
with :meth:`FeatureMaps.map_batches`; ``np.asarray(maps)`` materializes it.
"""

import math
import numbers
import threading

import numpy as np

from ._progress import Progress
from ._threads import map_in_workers, one_blas_thread
from ._validation import effective_n_jobs

__all__ = [
    "FeatureMaps",
    "map_batches",
    "stack_batches",
    "materialize",
    "map_like_input",
    "n_samples",
    "is_variable_size",
    "run_in_threads",
]


# The most memory the maps of one batch may take: a larger batch_size is cut down
# to it, so that asking for huge batches slows nothing and crashes nothing.
MAX_BATCH_BYTES = 2**30


class FeatureMaps:
    """Feature maps computed on demand, batch by batch.

    Behaves like a read-only array of shape ``(n_samples, *spatial, n_channels)``
    indexed along the samples: ``len``, ``shape``, ``ndim``, ``dtype``, integer
    indexing (computes one sample), slicing and index arrays (give a lazy subset)
    and ``np.asarray`` (computes everything) work. Maps of samples with different
    spatial sizes have ``None`` for the spatial entries of ``shape`` and cannot be
    stacked into one array; pool them (``Pool(pyramid=...)``) or index them.

    It holds a reference to its input: changing that array afterwards changes the
    maps.

    Parameters
    ----------
    source : ndarray of shape (n, *spatial, c), list of ndarrays or FeatureMaps
        The input of the transformer, already validated.
    func : callable
        Maps an array batch ``(b, *spatial, c)`` to its feature maps ``(b, *out, f)``.
    out_spatial : tuple of int or None
        Spatial shape of the maps; None when it varies between samples.
    n_channels : int
        Channels of the maps.
    dtype : numpy dtype
        Dtype of the maps.
    batch_size : int
        Samples computed at once; cut down so that the maps of a batch take at most
        1 GiB.
    n_jobs : int or None
        Threads used by :meth:`map_batches` and materialization.
    verbose : int, default=0
        Report the progress of the batches computed when the maps are consumed
        (see :mod:`skconv._progress`); 0 takes the verbosity (and name) of
        ``source`` when that is reporting maps.
    what : str, default="maps"
        What the progress reports call the computation.
    into : callable or None, default=None
        ``into(batch, out=view)``: ``func`` writing a batch's maps into ``view``, a
        slice of the materialized array, instead of returning them (so that
        ``np.asarray`` does not copy each batch once more); used when the source
        is an array.
    """

    def __init__(self, source, func, *, out_spatial, n_channels, dtype, batch_size, n_jobs,
                 verbose=0, what="maps", into=None):
        self._source = source
        self._func = func
        self._into = into
        self._out_spatial = None if out_spatial is None else tuple(out_spatial)
        self._n_channels = int(n_channels)
        self._dtype = np.dtype(dtype)
        self.batch_size = int(batch_size)
        if self._out_spatial is not None:
            # a batch whose maps would not fit in memory is cut, not attempted
            per_sample = math.prod(self._out_spatial) * self._n_channels * self._dtype.itemsize
            self.batch_size = max(1, min(self.batch_size, MAX_BATCH_BYTES // max(per_sample, 1)))
        self.n_jobs = n_jobs
        if not verbose and isinstance(source, FeatureMaps):
            # maps computed from reporting maps report the whole chain under that name
            verbose, what = source.verbose, source._what
        self.verbose = verbose
        self._what = what

    # --- array-like interface -------------------------------------------------
    @property
    def variable_size(self):
        """True when the samples' spatial sizes differ (the maps cannot be stacked)."""
        return self._out_spatial is None

    @property
    def spatial_ndim(self):
        if self._out_spatial is not None:
            return len(self._out_spatial)
        return _spatial_ndim(self._source) if not isinstance(self._source, list) else (
            self._source[0].ndim - 1
        )

    @property
    def shape(self):
        spatial = self._out_spatial
        if spatial is None:
            spatial = (None,) * self.spatial_ndim
        return (len(self),) + spatial + (self._n_channels,)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def dtype(self):
        return self._dtype

    @property
    def nbytes(self):
        """Bytes the materialized maps would take (None for variable sizes)."""
        if self.variable_size:
            return None
        return int(np.prod(self.shape, dtype=np.int64)) * self._dtype.itemsize

    def __len__(self):
        return n_samples(self._source)

    def __repr__(self):
        shape = "(" + ", ".join("?" if s is None else str(s) for s in self.shape) + ")"
        return f"FeatureMaps(shape={shape}, dtype={self._dtype.name}, lazy)"

    def __getitem__(self, key):
        if isinstance(key, tuple):
            if len(key) == 0:
                return self
            head, rest = key[0], key[1:]
            sub = self[head]
            if not rest:
                return sub
            arr = sub if isinstance(sub, np.ndarray) else np.asarray(sub)
            if isinstance(head, (numbers.Integral, np.integer)):
                return arr[rest]
            return arr[(slice(None),) + rest]
        if isinstance(key, (numbers.Integral, np.integer)):
            n = len(self)
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for {n} samples")
            i %= n
            return self._compute(_subset(self._source, slice(i, i + 1)))[0]
        if key is Ellipsis:
            return self
        return FeatureMaps(
            _subset(self._source, key),
            self._func,
            out_spatial=self._out_spatial,
            n_channels=self._n_channels,
            dtype=self._dtype,
            batch_size=self.batch_size,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            what=self._what,
            into=self._into,
        )

    def __iter__(self):
        for batch in self.iter_batches():
            yield from batch

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("FeatureMaps are computed on demand; a copy cannot be avoided.")
        out = self.compute()
        if dtype is not None:
            out = out.astype(dtype, copy=False)
        return out

    def compute(self):
        """Compute all the maps and return them as one ndarray."""
        if self.variable_size:
            raise ValueError(
                "these feature maps have different spatial sizes per sample and cannot be "
                "stacked into one array; pool them to a fixed size (e.g. "
                "Pool(pyramid=(1, 2, 4))) or index the samples one at a time."
            )
        out = np.empty(self.shape, dtype=self._dtype)
        if self._into is not None and isinstance(self._source, np.ndarray):
            self._run(lambda sl, batch: self._into(batch, out=out[sl]), raw=True)
            return out

        def store(sl, batch):
            out[sl] = batch

        self._run(store)
        return out

    # --- batch evaluation -----------------------------------------------------
    def _compute(self, source_batch):
        """Maps of a source subset: an ndarray for fixed sizes."""
        if isinstance(source_batch, FeatureMaps):
            source_batch = source_batch._materialize_serial()
        elif isinstance(source_batch, list):
            if len(source_batch) != 1:
                raise RuntimeError("variable-size samples are computed one at a time")
            source_batch = source_batch[0][np.newaxis]
        return self._func(source_batch)

    def _materialize_serial(self):
        if len(self) == 1 or not self.variable_size:
            parts = [b for _, b in self._batches()]
            return parts[0] if len(parts) == 1 else np.concatenate(parts)
        raise ValueError("variable-size maps cannot be stacked")

    def _slices(self):
        n = len(self)
        if _is_variable(self._source):
            return [slice(i, i + 1) for i in range(n)]
        step = max(self.batch_size, 1)
        # As many batches as batch_size asks for, of equal sizes: 1,000 samples in
        # batches of 810 become 500 + 500, so that two threads share the work
        # evenly instead of 810 + 190.
        step = -(-n // -(-n // step)) if n else step
        return [slice(i, min(i + step, n)) for i in range(0, n, step)]

    def _batches(self):
        for sl in self._slices():
            yield sl, self._compute(_subset(self._source, sl))

    def iter_batches(self):
        """Yield the maps batch by batch, in order (serially)."""
        for _, batch in self._batches():
            yield batch

    def _run(self, func, verbose=0, what=None, raw=False):
        """``func(slice, maps of the slice)`` for every batch, in ``n_jobs`` threads
        (``raw``: ``func(slice, source of the slice)``, the maps left to ``func``).

        Progress is reported with the maps' own ``verbose`` and name, or else with
        the consumer's (``verbose``, ``what``: a Pool reporting on plain input).
        """
        slices = self._slices()
        if self.verbose or not verbose:
            verbose, what = self.verbose, self._what
        progress = Progress(verbose, what, len(self), n_steps=len(slices))

        def task(sl):
            source = _subset(self._source, sl)
            result = func(sl, source if raw else self._compute(source))
            progress.update(sl.stop - sl.start)
            return result

        return run_in_threads(task, slices, self.n_jobs)

    def map_batches(self, func, *, verbose=0, what=None):
        """Apply ``func`` to the maps of each batch and return the results in order.

        Batches are computed in ``n_jobs`` threads (numpy and BLAS release the GIL),
        so a reducing ``func`` (pooling) never holds more than ``n_jobs`` batches of
        maps in memory. Samples with different spatial sizes come one per batch.
        ``verbose`` and ``what`` report progress when the maps themselves do not.
        """
        return self._run(lambda sl, batch: func(batch), verbose, what)


def run_in_threads(func, items, n_jobs, *, single_blas_thread=False):
    """``[func(item) for item in items]``, in ``n_jobs`` threads, results in order.

    With several workers each BLAS call runs on one thread: the workers already
    use every core, and threading the element-wise work is where the speed is
    (and several BLAS threads per small product, on a shared machine, wait for
    each other). ``single_blas_thread`` asks for one BLAS thread even when the
    work runs serially, so that results do not depend on ``n_jobs``.
    """
    items = list(items)
    workers = min(effective_n_jobs(n_jobs), len(items))
    if workers <= 1 and not single_blas_thread:
        return [func(item) for item in items]
    with one_blas_thread():
        if workers <= 1:
            return [func(item) for item in items]
        return map_in_workers(func, items, workers)


def _spatial_ndim(source):
    if isinstance(source, FeatureMaps):
        return source.spatial_ndim
    if isinstance(source, list):
        return source[0].ndim - 1
    return source.ndim - 2


def _is_variable(source):
    if isinstance(source, list):
        return True
    if isinstance(source, FeatureMaps):
        return source.variable_size
    return False


def is_variable_size(X):
    """True when ``X`` holds samples of different spatial sizes."""
    return _is_variable(X)


def n_samples(source):
    if isinstance(source, FeatureMaps):
        return len(source)
    return len(source)


def _subset(source, key):
    if isinstance(source, FeatureMaps):
        return source[key]
    if isinstance(source, list):
        if isinstance(key, slice):
            return source[key]
        idx = np.arange(len(source))[key]
        return [source[i] for i in np.atleast_1d(idx)]
    if isinstance(key, (list, tuple)):
        key = np.asarray(key)
    return source[key]


def map_batches(X, func, *, batch_size=256, n_jobs=None, verbose=0, what=None):
    """Apply ``func`` batch by batch to a plain array, a list of samples or FeatureMaps.

    Returns the list of results in sample order. FeatureMaps use their own batch
    size and threads; for arrays ``batch_size`` and ``n_jobs`` apply. Samples of a
    list come one per batch, each as an array of shape ``(1, *spatial, c)``.
    ``verbose`` and ``what`` report the progress (see :meth:`FeatureMaps._run`).
    """
    return _as_feature_maps(X, batch_size, n_jobs).map_batches(func, verbose=verbose, what=what)


def _as_feature_maps(X, batch_size, n_jobs):
    """``X`` itself if it is FeatureMaps, else identity maps over the array or list."""
    if isinstance(X, FeatureMaps):
        return X
    return FeatureMaps(
        X,
        lambda b: b,
        out_spatial=None if isinstance(X, list) else X.shape[1:-1],
        n_channels=X[0].shape[-1],
        dtype=X[0].dtype,
        batch_size=batch_size,
        n_jobs=n_jobs,
    )


def stack_batches(X, func, *, batch_size=256, n_jobs=None, verbose=0, what=None,
                  columns=None):
    """Like :func:`map_batches`, but stack the results into one array as they come.

    ``func`` maps a batch of ``b`` samples to an array of ``b`` rows (pooled
    features); the rows are written into one array allocated on the first result,
    so the whole output is held once, not once as a list of batches and again as
    their concatenation. ``verbose`` and ``what`` report the progress.

    ``columns``, an array ``(n_features, n_samples)``: ``func(batch, view)`` writes
    each batch's features as the columns ``view`` of it instead, and its transpose
    (Fortran-ordered) is returned: for features computed feature-major, which
    then need no transposing copy.
    """
    X = _as_feature_maps(X, batch_size, n_jobs)
    n = len(X)
    if columns is not None:
        X._run(lambda sl, batch: func(batch, columns[:, sl]), verbose, what)
        return columns.T
    out = None
    lock = threading.Lock()

    def store(sl, batch):
        nonlocal out
        rows = np.asarray(func(batch))
        with lock:
            if out is None:
                out = np.empty((n,) + rows.shape[1:], dtype=rows.dtype)
        out[sl] = rows

    X._run(store, verbose, what)
    return out


def materialize(maps):
    """The maps as one ndarray, computed serially (for callers already in a worker)."""
    if isinstance(maps, FeatureMaps):
        parts = list(maps.iter_batches())
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.asarray(maps)


def map_like_input(Xv, layout, func, *, n_channels, batch_size, n_jobs, verbose=0,
                   what="maps"):
    """Apply ``func`` (a batch of maps to maps of the same spatial shape) to validated
    input, returning the result in the input's kind and layout.

    FeatureMaps give lazy FeatureMaps (with their own batch size and threads),
    lists of samples of different sizes give lists, arrays give one array (the
    batches written into it, so the output is held once). ``layout`` is the
    :class:`skconv._validation.InputLayout` of the input.
    """
    from ._validation import restore_layout  # the validation layer builds on this module

    if isinstance(Xv, FeatureMaps):
        return FeatureMaps(
            Xv,
            func,
            out_spatial=None if Xv.variable_size else Xv.shape[1:-1],
            n_channels=n_channels,
            dtype=Xv.dtype,
            batch_size=Xv.batch_size,
            n_jobs=Xv.n_jobs,
            verbose=verbose,
            what=what,
        )
    kwargs = dict(batch_size=batch_size, n_jobs=n_jobs, verbose=verbose, what=what)
    if is_variable_size(Xv):
        parts = map_batches(Xv, func, **kwargs)
        return restore_layout([p[0] for p in parts], layout)
    return restore_layout(stack_batches(Xv, func, **kwargs), layout)
