"""dask in, dask out: fitted transformers map themselves over the sample chunks of a dask array.

Feature extraction is independent from sample to sample, so a fitted transformer
given a dask array chunked along the samples returns a lazy dask array with one
block per chunk of samples, computed where the chunks live (on the workers of a
``distributed`` cluster) by the transformer's own in-memory ``transform``. The
shape of each output sample comes from the transformer applied to one sample of
zeros, so that nothing of the data is computed before the result is. Fitting on a
dask array reads only what fit needs: the filter families sample their patches
from the samples they draw, chunk by chunk (``skconv._patches``).

Consecutive skconv steps are fused: the lazy array a step returns remembers the
array it was made from and the steps that made it, so that the next step maps the
whole chain over the original chunks (``pool.transform(conv.transform(X))`` on a
dask array runs, per chunk, exactly the in-memory ``pool.transform(conv.transform(x))``,
whose feature maps stream through the pooling batch by batch). Without this, each
chunk's full stack of feature maps, often a hundred times the size of its images,
would be built in the worker's memory before it is pooled.

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


def _apply_chain(chain, x):
    """The steps of ``chain`` applied in turn, as in memory; the last output as an array."""
    for estimator, method in chain:
        x = method(estimator, x)
    return np.asarray(x)


def transform_blocks(estimator, method, X):
    """``method(estimator, block)`` mapped over the sample chunks of the dask array ``X``.

    Every non-sample axis is brought to one chunk first, so that each block holds
    whole samples. The result is lazy, with ``X``'s chunks along the samples. When
    ``X`` is itself the output of skconv steps, the steps are fused: the result is
    mapped from the array those steps started from (see the module docstring).
    """
    source, chain = getattr(X, "_skconv_chain", (None, ()))
    if source is None:
        source = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
    chain = chain + ((estimator, method),)
    probe = _apply_chain(chain, np.zeros((1,) + source.shape[1:], dtype=source.dtype))
    out_ndim = probe.ndim
    chunks = (source.chunks[0],) + tuple((size,) for size in probe.shape[1:])
    extra = {}
    if out_ndim < source.ndim:
        extra["drop_axis"] = list(range(out_ndim, source.ndim))
    elif out_ndim > source.ndim:
        extra["new_axis"] = list(range(source.ndim, out_ndim))

    def block(x):
        return _apply_chain(chain, x)

    from dask.base import tokenize

    # the key names the step and hashes the fitted transformers with the input
    name = f"skconv-{type(estimator).__name__.lower()}-{tokenize(block, source)}"
    out = source.map_blocks(
        block,
        dtype=probe.dtype,
        chunks=chunks,
        meta=np.empty((0,) * out_ndim, dtype=probe.dtype),
        name=name,
        **extra,
    )
    # only this very array carries the chain: anything derived from it (a slice, a
    # sum) is an ordinary dask array, mapped from its own computed blocks
    out._skconv_chain = (source, chain)
    return out


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
