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
    check_verbose,
    check_option,
    check_options,
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


#: The statistics of the positive values (Dempster et al.'s ROCKET and MiniRocket;
#: Tan et al.'s MultiRocket), computed together from one mask of ``x > 0``.
POSITIVE_METHODS = ("ppv", "mpv", "mipv", "lspv")
#: Those defined along one axis only (positions in a sequence): signals.
SEQUENCE_METHODS = ("mipv", "lspv")


def _longest_run(positive, axis):
    """Length of the longest stretch of True along ``axis``."""
    # Running count of Trues, minus its value at the last False so far: the
    # length of the stretch ending at each position. In int16 where the counts
    # fit, in place: 2.3 times faster than int32 with temporaries (28 x 4 x
    # 1,460 x 100 values: 0.11 s against 0.25 s).
    dtype = np.int16 if positive.shape[axis] < 2**15 else np.int64
    count = np.cumsum(positive, axis=axis, dtype=dtype)
    last_false = count * ~positive  # the count at each False, 0 at the Trues
    np.maximum.accumulate(last_false, axis=axis, out=last_false)
    np.subtract(count, last_false, out=count)
    return count.max(axis=axis)


def positive_sums(x, axes, methods):
    """The sums the positive statistics ``methods`` need, in one pass over ``x > 0``.

    Returns a dict with ``"count"`` (positive values), and as asked ``"total"``
    (their sum), ``"index"`` (the sum of their positions along the single axis
    of ``axes``) and ``"longest"`` (the longest stretch of them). ``x`` is not
    modified; values that must not count (outside a region) can be ``-inf``.
    """
    positive = x > 0
    sums = {"count": positive.sum(axis=axes)}
    if "mpv" in methods:
        # max(x, 0) is x where positive and 0 elsewhere (-inf included): the same
        # sums as a masked copy, in a quarter of the time
        sums["total"] = np.maximum(x, 0).sum(axis=axes)
    if "mipv" in methods or "lspv" in methods:
        (axis,) = axes
        if "mipv" in methods:
            shape = [1] * x.ndim
            shape[axis] = x.shape[axis]
            index = np.arange(x.shape[axis], dtype=x.dtype).reshape(shape)
            sums["index"] = np.multiply(positive, index).sum(axis=axis)  # 0 or the index
        if "lspv" in methods:
            sums["longest"] = _longest_run(positive, axis)
    return sums


def positive_statistics(sums, methods, length, offset=0, dtype=np.float64):
    """The positive statistics from :func:`positive_sums`, in the order of ``methods``.

    ``length`` is the number of values of each region (an array broadcasts: one
    per sample) and ``offset`` the position its first value had in the sums.
    With ``count`` positive values:

    - ``ppv``: ``count / length``, the proportion of positive values;
    - ``mpv``: the mean of the positive values, 0 where there are none;
    - ``mipv``: the mean position of the positive values as a fraction of the
      length, ``mean(i) / length`` in ``[0, 1)``, -1 where there are none;
    - ``lspv``: the longest stretch of positive values as a fraction of the
      length, in ``[0, 1]``.
    """
    count = sums["count"]
    some = count > 0
    per = np.where(some, count, 1).astype(dtype)
    length = np.asarray(length, dtype=dtype)
    out = []
    for method in methods:
        if method == "ppv":
            value = count / length
        elif method == "mpv":
            value = np.where(some, sums["total"] / per, 0)
        elif method == "mipv":
            value = np.where(some, (sums["index"] / per - offset) / length, -1)
        else:
            value = sums["longest"] / length
        out.append(np.asarray(value, dtype=dtype))
    return out


def _reduce_all(x, axes, methods):
    """Reduce ``x`` over ``axes`` with every method of ``methods`` (x is not modified).

    The positive statistics share one mask, so asking for several of them costs
    little more than one.
    """
    positive = [m for m in methods if m in POSITIVE_METHODS]
    results = {}
    if positive:
        length = int(np.prod([x.shape[a] for a in axes]))
        values = positive_statistics(
            positive_sums(x, axes, positive), positive, length, dtype=x.dtype
        )
        results.update(zip(positive, values))
    for method in methods:
        if method not in results:
            results[method] = REDUCTIONS[method](x, axes)
    return [results[m] for m in methods]


def _window_pass(x, axis, k, s, op):
    """``op``-reduce windows of ``k`` positions, every ``s``-th, along ``axis`` of ``x``:
    ``k`` vectorized passes over shifted slices (windows are separable)."""
    n_out = (x.shape[axis] - k) // s + 1

    def shifted(j):
        index = [slice(None)] * x.ndim
        index[axis] = slice(j, j + (n_out - 1) * s + 1, s)
        return x[tuple(index)]

    acc = shifted(0).copy()
    for j in range(1, k):
        op(acc, shifted(j), out=acc)
    return acc


def _reduce_same(x, size, stride, methods):
    """Centred windows ("same" padding), reduced over the positions inside the maps.

    Box sums and maxima are separable: one pass of ``size[a]`` shifted slices per
    axis (``sum(size)`` operations per value, not ``prod(size)``), over the maps
    padded with the identity of the reduction (0, or ``-inf`` for max). Means and
    proportions divide by the number of positions inside each window.
    """
    spatial = x.shape[1:-1]
    axes = range(1, len(spatial) + 1)
    pads = _engine.resolve_padding("same", size, stride=stride, input_spatial=spatial)

    def windows(values, fill, op):
        values = np.pad(values, ((0, 0),) + pads + ((0, 0),), constant_values=fill)
        for axis, k, s in zip(axes, size, stride):
            values = _window_pass(values, axis, k, s, op)
        return values

    inside = None
    if {"mean", "ppv"} & set(methods):
        ones = np.ones((1,) + spatial + (1,), dtype=x.dtype)
        inside = windows(ones, 0, np.add)
    out = {}
    for method in methods:
        if method == "max":
            out[method] = windows(x, -np.inf, np.maximum)
        elif method in ("sum", "mean"):
            total = windows(x, 0, np.add)
            out[method] = total if method == "sum" else total / inside
        elif method == "l2":
            out[method] = np.sqrt(windows(np.square(x), 0, np.add))
        elif method == "ppv":
            out[method] = windows((x > 0).astype(x.dtype), 0, np.add) / inside
        else:  # mpv: the mean of the positive values, 0 where there are none
            count = windows((x > 0).astype(x.dtype), 0, np.add)
            total = windows(np.maximum(x, 0), 0, np.add)
            out[method] = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return [out[m] for m in methods]


def _positive(method):
    def reduce(x, axes):
        return _reduce_all(x, axes, (method,))[0]

    reduce.__name__ = f"_{method}"
    return reduce


#: The reductions of ``Pool(method=...)``: ``name -> f(x, axes)``; ``x`` is never
#: modified. ``mipv`` and ``lspv`` take one axis (signals).
REDUCTIONS = {"sum": _sum, "mean": _mean, "max": _max, "l2": _l2}
REDUCTIONS.update({m: _positive(m) for m in POSITIVE_METHODS})
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

    Input is ``(n_samples, *spatial, n_channels)`` (channels last, as Conv outputs;
    ``channel_axis`` reads other layouts),
    lazy :class:`skconv.FeatureMaps` (consumed batch by batch in bounded memory),
    a list of ``(*spatial, n_channels)`` arrays of different sizes, or a flat 2-D
    array: ``(n_samples, L)`` signals, or any shape with ``input_shape``.

    Parameters
    ----------
    method : str or tuple of str, default="sum"
        Spatial reduction: ``"sum"``, ``"mean"``, ``"max"``, ``"l2"`` (square
        root of the sum of squares), or a statistic of the positive values
        [4]_, [5]_: ``"ppv"`` (their proportion), ``"mpv"`` (their mean, 0
        when there are none), ``"mipv"`` (their mean position as a fraction
        of the region's length, in ``[0, 1)``; -1 when there are none) and
        ``"lspv"`` (the longest stretch of them as a fraction of the length).
        ``"mipv"`` and ``"lspv"`` are for 1-D maps (signals); with fractions
        of the length they compare across inputs of different lengths
        (MultiRocket counts positions instead). A tuple computes several
        statistics from one pass over the maps, e.g. ``("ppv", "max")``:
        the output channels are then statistic-major (all the channels of
        the first statistic, then of the next), and the feature names end
        with the statistic.
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
    padding : {"valid", "same"}, default="valid"
        Sliding windows only: ``"valid"`` keeps the windows inside the maps;
        ``"same"`` centres them on the positions (``ceil(size / stride)`` of them
        per axis, as the convolution's ``"same"``) and reduces only over the
        positions inside the maps, so that ``Pool(size=5, stride=1,
        padding="same")`` keeps the maps aligned with their input: the local
        context of every position, for dense (per-pixel) prediction. Not for
        ``"mipv"`` and ``"lspv"``, which are fractions of a window's length.
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
    %(channel_axis)s
    batch_size : int, default=256
        Samples pooled at once when ``X`` is an array (FeatureMaps bring their own).
    n_jobs : int, default=None
        Threads over batches when ``X`` is an array (FeatureMaps bring their own).
    verbose : int, default=0
        Progress of the pooling on the ``"skconv"`` logger: 1 reports batches
        done, samples per second and time left at most every 2 seconds, 2 every
        batch. Maps from a transformer with its own ``verbose`` report under its
        name instead.

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

    Several statistics of the same maps, in one pass:

    >>> signals = np.random.RandomState(0).randn(4, 50, 3)
    >>> pool = Pool(method=("ppv", "max", "lspv"), grid=1).fit(signals)
    >>> pool.transform(signals).shape
    (4, 9)
    >>> list(pool.get_feature_names_out()[[0, 3, 6]])
    ['ch0_grid0_ppv', 'ch0_grid0_max', 'ch0_grid0_lspv']

    References
    ----------
    .. [1] A. Coates, H. Lee, A. Y. Ng. An Analysis of Single-Layer Networks in
       Unsupervised Feature Learning. AISTATS 2011.
    .. [2] K. He, X. Zhang, S. Ren, J. Sun. Spatial Pyramid Pooling in Deep
       Convolutional Networks for Visual Recognition. ECCV 2014.
    .. [3] I. Goodfellow, D. Warde-Farley, M. Mirza, A. Courville, Y. Bengio.
       Maxout Networks. ICML 2013.
    .. [4] %(ref_rocket)s
    .. [5] %(ref_multirocket)s
    """

    def __init__(
        self,
        method="sum",
        *,
        grid=None,
        pyramid=None,
        size=None,
        stride=None,
        padding="valid",
        channel_groups=None,
        channel_method="max",
        flatten=None,
        input_shape=None,
        channel_axis=-1,
        batch_size=256,
        n_jobs=None,
        verbose=0,
    ):
        self.method = method
        self.grid = grid
        self.pyramid = pyramid
        self.size = size
        self.stride = stride
        self.padding = padding
        self.channel_groups = channel_groups
        self.channel_method = channel_method
        self.flatten = flatten
        self.input_shape = input_shape
        self.channel_axis = channel_axis
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.verbose = verbose

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

    def _methods(self):
        """The statistics asked for, as a tuple."""
        return check_options(self.method, "method", METHODS)

    def _check_params(self, d):
        methods = self._methods()
        sequence = [m for m in methods if m in SEQUENCE_METHODS]
        if sequence and d != 1:
            raise ValueError(
                f"method {sequence[0]!r} is defined along one axis: it needs 1-D maps "
                f"(signals), got {d}-D maps."
            )
        check_option(self.channel_method, "channel_method", CHANNEL_METHODS)
        check_option(self.padding, "padding", ("valid", "same"))
        if self.padding == "same" and sequence:
            raise ValueError(
                f"padding must be 'valid' for method {sequence[0]!r} (a fraction of the "
                "window's length), got 'same'."
            )
        check_int(self.channel_groups, "channel_groups", min_val=1, allow_none=True)
        check_batch_size(self.batch_size, allow_auto=False)
        check_n_jobs(self.n_jobs)
        check_verbose(self.verbose)
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
            self, X, reset=reset, ndim=explicit, input_shape=self.input_shape, dtype="float",
            channel_axis=self.channel_axis,
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
        self.n_channels_out_ = self.n_channels_in_ // (self.channel_groups or 1) * len(
            self._methods()
        )
        return self

    def _window(self, d):
        size = check_int_tuple(self.size, "size", d)
        stride = size if self.stride is None else check_int_tuple(self.stride, "stride", d)
        return size, stride

    def _window_output_shape(self, spatial, d):
        size, stride = self._window(d)
        return _engine.output_spatial_shape(spatial, size, stride=stride, padding=self.padding)

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
                verbose=self.verbose,
                what="Pool transform",
            )
        batches = dict(batch_size=self.batch_size, n_jobs=self.n_jobs, verbose=self.verbose,
                       what="Pool transform")
        if not (is_variable_size(Xv) and mode == "size"):
            # every batch gives rows of the same width: write them into one array
            return stack_batches(Xv, func, **batches)
        parts = map_batches(Xv, func, **batches)
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
        methods = self._methods()
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
                window_axes = tuple(range(d + 1, 2 * d + 1))
                if self.padding == "valid":
                    # (n, *out, c, *window) strided view; reduce over the window axes
                    patches = _engine.extract_patches(x, size, stride=stride)
                    out = _reduce_all(patches, window_axes, methods)
                else:
                    out = _reduce_same(x, size, stride, methods)
                out = np.concatenate(out, axis=-1)  # statistic-major channels
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
                    pooled.append(np.concatenate(_reduce_all(x[idx], axes, methods), axis=-1))
            out = np.stack(pooled, axis=1)  # (n, n_regions, n_statistics * c)
            if flatten:
                return out.reshape(n, -1)
            if mode == "grid":
                return out.reshape((n,) + tuple(grids[0]) + (out.shape[-1],))
            return out

        return pool

    def get_feature_names_out(self, input_features=None):
        """Names of the pooled features: channel, then region.

        Grid features are named ``ch{j}_grid{i}_{k}`` (region index per axis) and
        pyramid features ``ch{j}_pyr{level}_{i}_{k}``; the order matches the columns
        of :meth:`transform` (region-major, channel-minor). When ``method`` is a
        tuple, each name ends with its statistic (``ch0_grid0_1_ppv``), and within
        a region the statistics come in the order of ``method``.

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
        methods = self._methods()
        c = self.n_channels_out_ // len(methods)
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
                if isinstance(self.method, str):
                    names.extend(f"{ch}_{tag}{where}" for ch in channels)
                    continue
                for method in methods:
                    names.extend(f"{ch}_{tag}{where}_{method}" for ch in channels)
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
