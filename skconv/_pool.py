"""Pool: pooling of feature maps over regions, windows or channel groups."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._dask import dask_aware
from . import _engine
from ._maps import FeatureMaps, is_variable_size, map_batches, stack_batches
from ._docs import fill_doc
from ._validation import (
    check_batch_size,
    check_bool,
    check_input,
    check_int,
    check_int_tuple,
    check_n_jobs,
    check_option,
    implied_ndim,
)

__all__ = ["Pool"]

def _region_bounds(size, n):
    """Split ``size`` positions into ``n`` regions proportional to the size.

    Boundaries are rounded half up (for 27 positions in 2 regions: 14 + 13, as in
    Coates et al.'s quadrants). When ``size < n`` regions would be empty, so each
    region keeps at least the one position it falls on.
    """
    bounds = []
    for i in range(n):
        start = (2 * i * size + n) // (2 * n)
        stop = (2 * (i + 1) * size + n) // (2 * n)
        start = min(start, size - 1)
        stop = min(max(stop, start + 1), size)
        bounds.append((start, stop))
    return bounds


def _sum(x, axes):
    return x.sum(axis=axes)


def _mean(x, axes):
    return x.mean(axis=axes)


def _max(x, axes):
    return x.max(axis=axes)


def _l2(x, axes):
    return np.sqrt(np.square(x).sum(axis=axes))


def _ppv(x, axes):
    # proportion of positive values (Dempster et al., ROCKET)
    count = int(np.prod([x.shape[a] for a in axes]))
    return (x > 0).sum(axis=axes).astype(x.dtype) / x.dtype.type(count)


#: The reductions of ``Pool(method=...)``: ``name -> f(x, axes)``; ``x`` is never modified.
REDUCTIONS = {"sum": _sum, "mean": _mean, "max": _max, "l2": _l2, "ppv": _ppv}
METHODS = tuple(REDUCTIONS)
#: The reductions that pool across groups of channels (``channel_method``).
CHANNEL_METHODS = ("max", "sum", "mean", "l2")


def _check_grid_fits(grid, spatial, n_features=None):
    """A fixed grid must not have more regions than positions along an axis."""
    if any(g > s for g, s in zip(grid, spatial)):
        size = "" if n_features is None else f" (X has {n_features} feature(s) per sample)"
        raise ValueError(
            f"grid must have at most as many regions as the maps have positions along each "
            f"axis {tuple(spatial)}{size}, got {tuple(grid)}; regions would repeat positions. "
            "Use a smaller grid, or pyramid pooling for maps of different sizes."
        )


def _reduce(x, axes, method):
    """Reduce ``x`` over ``axes`` with a pooling ``method`` (x is not modified)."""
    return REDUCTIONS[method](x, axes)


@fill_doc
class Pool(TransformerMixin, BaseEstimator):
    """Pool feature maps over spatial regions, sliding windows or channel groups.

    One of three spatial modes, chosen by the parameter given:

    - ``grid`` (the default, 2 per spatial axis: Coates et al.'s quadrants): the
      maps are cut into a fixed grid of regions proportional to the input size;
    - ``pyramid``: several grids at once (spatial pyramid pooling, He et al. 2014),
      so inputs of different sizes give the same number of features;
    - ``size`` (and ``stride``): sliding windows that keep a map for the next layer.

    Pooling across groups of consecutive channels (``channel_groups``, maxout-style
    learned invariance) is applied first, and may be used alone with ``size=1``.

    Input is ``(n_samples, *spatial, n_channels)`` (channels last, as Conv outputs),
    lazy :class:`skconv.FeatureMaps` (consumed batch by batch in bounded memory),
    a list of ``(*spatial, n_channels)`` arrays of different sizes, or a flat 2-D
    array: ``(n_samples, L)`` signals, or any shape with ``input_shape``.

    Parameters
    ----------
    method : {"sum", "mean", "max", "l2", "ppv"}, default="sum"
        Spatial reduction: sum, mean, max, L2 norm (square root of the sum of
        squares) or proportion of positive values.
    grid : int or tuple of int, default=None
        Regions per spatial axis. ``None`` (with no ``pyramid`` nor ``size``) means 2
        per axis.
    pyramid : tuple of (int or tuple of int), default=None
        Grid levels, e.g. ``(1, 2, 4)`` for 1 + 4 + 16 regions on images. So that
        inputs of every size give the same features, a map with fewer positions
        than a level's regions along an axis gives each region the position it
        falls on (positions repeat); a plain ``grid`` refuses such maps.
    size : int or tuple of int, default=None
        Sliding-window size; the output keeps a spatial map.
    stride : int or tuple of int, default=None
        Sliding-window step (defaults to ``size``: non-overlapping windows).
    channel_groups : int, default=None
        Pool across groups of this many consecutive channels first.
    channel_method : {"max", "sum", "mean", "l2"}, default="max"
        Reduction across a channel group.
    flatten : bool, default=None
        Return ``(n_samples, n_features)``. Default: True for ``grid`` and
        ``pyramid``, False for ``size``. For ``grid`` with ``flatten=False`` the
        output is ``(n_samples, *grid, n_channels)``; for ``pyramid``,
        ``(n_samples, n_regions, n_channels)``.
    input_shape : tuple of int, default=None
        Shape ``(*spatial, n_channels)`` of one sample when ``X`` is flat.
    batch_size : int, default=256
        Samples pooled at once when ``X`` is an array (FeatureMaps bring their own).
    n_jobs : int, default=None
        Threads over batches when ``X`` is an array (FeatureMaps bring their own).

    Attributes
    ----------
    %(input_attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import Pool
    >>> maps = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    >>> Pool(grid=(2, 2), method="max").fit_transform(maps).shape
    (2, 12)
    >>> Pool(pyramid=(1, 2)).fit_transform(maps).shape
    (2, 15)
    >>> Pool(size=2, method="mean").fit_transform(maps).shape
    (2, 2, 2, 3)

    References
    ----------
    A. Coates, H. Lee, A. Y. Ng. An Analysis of Single-Layer Networks in Unsupervised
    Feature Learning. AISTATS 2011.

    K. He, X. Zhang, S. Ren, J. Sun. Spatial Pyramid Pooling in Deep Convolutional
    Networks for Visual Recognition. ECCV 2014.

    I. Goodfellow, D. Warde-Farley, M. Mirza, A. Courville, Y. Bengio. Maxout
    Networks. ICML 2013.
    """

    def __init__(
        self,
        method="sum",
        *,
        grid=None,
        pyramid=None,
        size=None,
        stride=None,
        channel_groups=None,
        channel_method="max",
        flatten=None,
        input_shape=None,
        batch_size=256,
        n_jobs=None,
    ):
        self.method = method
        self.grid = grid
        self.pyramid = pyramid
        self.size = size
        self.stride = stride
        self.channel_groups = channel_groups
        self.channel_method = channel_method
        self.flatten = flatten
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.n_jobs = n_jobs

    # --- parameters -----------------------------------------------------------
    def _mode(self):
        given = [n for n in ("grid", "pyramid", "size") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(
                f"give at most one of grid, pyramid and size; got {', '.join(given)}."
            )
        if self.stride is not None and self.size is None:
            raise ValueError("stride needs size (sliding windows).")
        return given[0] if given else "grid"

    def _explicit_ndim(self):
        """Spatial dimensions implied by tuple-valued parameters, if any."""
        levels = ()
        if self.pyramid is not None:
            try:
                levels = tuple(self.pyramid)
            except TypeError:
                raise TypeError(
                    f"pyramid must be a sequence of grid levels, got {self.pyramid!r}."
                ) from None
        return implied_ndim(
            self.grid, self.size, self.stride, *levels, input_shape=self.input_shape
        )

    def _check_params(self, d):
        check_option(self.method, "method", METHODS)
        check_option(self.channel_method, "channel_method", CHANNEL_METHODS)
        check_int(self.channel_groups, "channel_groups", min_val=1, allow_none=True)
        check_batch_size(self.batch_size, allow_auto=False)
        check_n_jobs(self.n_jobs)
        if self.flatten is not None:
            check_bool(self.flatten, "flatten")
        mode = self._mode()
        if mode == "grid":
            grids = [check_int_tuple(2 if self.grid is None else self.grid, "grid", d)]
        elif mode == "pyramid":
            if len(self.pyramid) == 0:
                raise ValueError("pyramid must have at least one level, got ().")
            grids = [check_int_tuple(level, "pyramid level", d) for level in self.pyramid]
        else:
            grids = None
        return mode, grids

    # --- input ------------------------------------------------------------------
    def _check_input(self, X, *, reset):
        explicit = self._explicit_ndim()
        if explicit is not None and explicit not in (1, 2, 3):
            raise ValueError(
                f"the pooling parameters must describe 1-D, 2-D or 3-D maps, got "
                f"{explicit}-D."
            )
        Xv, layout = check_input(
            self, X, reset=reset, ndim=explicit, input_shape=self.input_shape, dtype="float"
        )
        return Xv, layout.spatial_ndim

    # --- scikit-learn API -------------------------------------------------------
    def fit(self, X, y=None):
        """Check the parameters and record the number of channels (nothing is learned).

        Parameters
        ----------
        X : array-like, FeatureMaps or list of arrays
            Feature maps ``(n_samples, *spatial, n_channels)``; lazy maps are not
            computed by ``fit``.
        y : ignored

        Returns
        -------
        self : object
        """
        Xv, d = self._check_input(X, reset=True)
        mode, grids = self._check_params(d)
        if self.channel_groups is not None and self.n_channels_in_ % self.channel_groups:
            raise ValueError(
                f"channel_groups must divide the number of channels ({self.n_channels_in_}), "
                f"got {self.channel_groups}."
            )
        if mode == "size" and not is_variable_size(Xv):
            self._window_output_shape(Xv.shape[1:-1], d)
        if mode == "grid" and not is_variable_size(Xv):
            _check_grid_fits(grids[0], Xv.shape[1:-1], getattr(self, "n_features_in_", None))
        self.n_channels_out_ = self.n_channels_in_ // (self.channel_groups or 1)
        return self

    def _window(self, d):
        size = check_int_tuple(self.size, "size", d)
        stride = size if self.stride is None else check_int_tuple(self.stride, "stride", d)
        return size, stride

    def _window_output_shape(self, spatial, d):
        size, stride = self._window(d)
        return _engine.output_spatial_shape(spatial, size, stride=stride)

    def _flatten(self, mode):
        return (mode != "size") if self.flatten is None else bool(self.flatten)

    @dask_aware
    def transform(self, X):
        """Pool the maps.

        Parameters
        ----------
        X : array-like, FeatureMaps or list of arrays
            Feature maps ``(n_samples, *spatial, n_channels)``.

        Returns
        -------
        X_pooled : ndarray, FeatureMaps or list
            ``(n_samples, n_features)`` when flattened. Sliding windows keep maps:
            FeatureMaps stay lazy, arrays give an array and lists a list.
        """
        check_is_fitted(self, "n_channels_in_")
        Xv, d = self._check_input(X, reset=False)
        mode, grids = self._check_params(d)
        flatten = self._flatten(mode)
        func = self._pool_batch_func(mode, grids, d, flatten)
        if mode == "size" and isinstance(Xv, FeatureMaps) and not flatten:
            out_spatial = (
                None if Xv.variable_size else self._window_output_shape(Xv.shape[1:-1], d)
            )
            return FeatureMaps(
                Xv,
                func,
                out_spatial=out_spatial,
                n_channels=self.n_channels_out_,
                dtype=Xv.dtype,
                batch_size=Xv.batch_size,
                n_jobs=Xv.n_jobs,
            )
        if not (is_variable_size(Xv) and mode == "size"):
            # every batch gives rows of the same width: write them into one array
            return stack_batches(Xv, func, batch_size=self.batch_size, n_jobs=self.n_jobs)
        parts = map_batches(Xv, func, batch_size=self.batch_size, n_jobs=self.n_jobs)
        if not flatten:
            return [p[0] for p in parts]
        shapes = {p.shape[1:] for p in parts}
        if len(shapes) > 1:
            raise ValueError(
                "flattened sliding-window pooling of variable-size inputs gives "
                "features of different lengths; use grid or pyramid instead."
            )
        return np.concatenate(parts, axis=0)

    def _pool_batch_func(self, mode, grids, d, flatten):
        method = self.method
        groups = self.channel_groups
        channel_method = self.channel_method

        def pool(x):
            x = np.asarray(x)
            if groups is not None and groups > 1:
                c = x.shape[-1]
                x = _reduce(x.reshape(x.shape[:-1] + (c // groups, groups)), (-1,), channel_method)
            n, c = x.shape[0], x.shape[-1]
            axes = tuple(range(1, d + 1))
            if mode == "size":
                size, stride = self._window(d)
                # (n, *out, c, *window) strided view; reduce over the window axes
                patches = _engine.extract_patches(x, size, stride=stride)
                out = _reduce(patches, tuple(range(d + 1, 2 * d + 1)), method)
                return out.reshape(n, -1) if flatten else out
            spatial = x.shape[1:-1]
            if mode == "grid":
                _check_grid_fits(grids[0], spatial)
            pooled = []
            for grid in grids:
                bounds = [_region_bounds(s, g) for s, g in zip(spatial, grid)]
                for region in np.ndindex(*grid):
                    idx = (slice(None),) + tuple(
                        slice(*bounds[a][region[a]]) for a in range(d)
                    )
                    pooled.append(_reduce(x[idx], axes, method))
            out = np.stack(pooled, axis=1)  # (n, n_regions, c)
            if flatten:
                return out.reshape(n, -1)
            if mode == "grid":
                return out.reshape((n,) + tuple(grids[0]) + (c,))
            return out

        return pool

    def get_feature_names_out(self, input_features=None):
        """Names of the pooled features: channel, then region.

        Grid features are named ``ch{j}_grid{i}_{k}`` (region index per axis) and
        pyramid features ``ch{j}_pyr{level}_{i}_{k}``; the order matches the columns
        of :meth:`transform` (region-major, channel-minor).

        Parameters
        ----------
        input_features : array-like of str, default=None
            Channel names; defaults to ``ch0``, ``ch1``, ...

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self, "n_channels_in_")
        mode, grids = self._check_params(self.spatial_ndim_)
        if not self._flatten(mode) or mode == "size":
            raise ValueError(
                "feature names are defined for flattened grid or pyramid pooling only."
            )
        c = self.n_channels_out_
        if input_features is None:
            channels = [f"ch{j}" for j in range(c)]
        else:
            channels = [str(f) for f in input_features]
            if len(channels) != c:
                raise ValueError(
                    f"input_features must have {c} names (one per pooled channel), "
                    f"got {len(channels)}."
                )
        names = []
        for level, grid in enumerate(grids):
            tag = "grid" if mode == "grid" else f"pyr{level}_"
            for region in np.ndindex(*grid):
                where = "_".join(str(i) for i in region)
                for ch in channels:
                    names.append(f"{ch}_{tag}{where}")
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
