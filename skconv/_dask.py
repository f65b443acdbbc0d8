"""dask in, dask out: fitted transformers map themselves over the sample chunks of a dask array.

Feature extraction is independent from sample to sample, so a fitted transformer
given a dask array chunked along the samples returns a lazy dask array with one
block per chunk of samples, computed where the chunks live (on the workers of a
``distributed`` cluster) by the transformer's own in-memory ``transform``. The
shape of each output sample comes from the transformer applied to one sample of
zeros, so that nothing of the data is computed before the result is. Fitting on a
dask array reads only what fit needs: the filter families sample their patches
from the samples they draw, chunk by chunk (``skconv._patches``).

dask is optional: nothing here imports it unless the input is a dask array.
"""

import functools
import sys

import numpy as np

__all__ = ["is_dask_array", "dask_aware", "transform_blocks", "iter_blocks"]


def is_dask_array(X):
    """True for a ``dask.array.Array`` (False, without importing dask, when dask is unused)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def transform_blocks(estimator, method, X):
    """``method(estimator, block)`` mapped over the sample chunks of the dask array ``X``.

    Every non-sample axis is brought to one chunk first, so that each block holds
    whole samples. The result is lazy, with ``X``'s chunks along the samples.
    """
    X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
    probe = np.asarray(method(estimator, np.zeros((1,) + X.shape[1:], dtype=X.dtype)))
    out_ndim = probe.ndim
    chunks = (X.chunks[0],) + tuple((size,) for size in probe.shape[1:])
    extra = {}
    if out_ndim < X.ndim:
        extra["drop_axis"] = list(range(out_ndim, X.ndim))
    elif out_ndim > X.ndim:
        extra["new_axis"] = list(range(X.ndim, out_ndim))

    def block(x):
        return np.asarray(method(estimator, x))

    from dask.base import tokenize

    # the key names the step and hashes the fitted transformer with the input
    name = f"skconv-{type(estimator).__name__.lower()}-{tokenize(block, X)}"
    return X.map_blocks(
        block,
        dtype=probe.dtype,
        chunks=chunks,
        meta=np.empty((0,) * out_ndim, dtype=probe.dtype),
        name=name,
        **extra,
    )


def dask_aware(method):
    """Decorate a ``transform``: a dask array in gives a lazy dask array out."""

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        if is_dask_array(X) and not args and not kwargs:
            return transform_blocks(self, method, X)
        return method(self, X, *args, **kwargs)

    return wrapper


def iter_blocks(X):
    """The blocks of a dask array along the samples, computed one at a time."""
    X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
    for i in range(X.numblocks[0]):
        yield np.asarray(X.blocks[i].compute())
