"""Conv: convolution with filters the user gives."""

import numpy as np

from ._base import _SHARINGS, BaseConv
from ._docs import fill_doc
from ._validation import check_int_tuple, check_option, check_real_array

__all__ = ["Conv"]


@fill_doc
class Conv(BaseConv):
    """Convolve images (or signals, or volumes) with a given filter bank.

    The convolution is followed by an optional bias and encoding, and returns lazy
    feature maps (:class:`skconv.FeatureMaps`) computed batch by batch by the next
    step, usually :class:`skconv.Pool`. Filter families that learn or draw their
    filters (``RandomConv``, ``KMeansConv``, ...) share all of this behaviour.

    Depthwise separable convolution is the pair of a depthwise ``Conv``
    (``groups=n_channels``) and a pointwise one (1x1 kernels, optionally grouped);
    :class:`skconv.ChannelShuffle` between grouped layers lets the next layer's
    groups see channels of every group of this one.

    Parameters
    ----------
    filters : array-like of shape (n_filters, *kernel, n_channels // groups)
        The filter bank. The number of kernel dimensions (1, 2 or 3) sets whether
        the transformer works on signals, images or volumes. With
        ``sharing="tiled"`` the shape is ``(*tile_shape, n_filters, *kernel,
        n_channels)``, with ``sharing="local"`` ``(*out_spatial, n_filters,
        *kernel, n_channels)``: one bank per tile position or output position.
    bias : array-like of shape (n_filters,), default=None
        Added to each filter's response before the encoding; with tiled or local
        filters also ``(*tile_shape, n_filters)`` or ``(*out_spatial, n_filters)``.
    %(conv_geometry)s
    groups : int, default=1
        Grouped convolution: input channels and filters are split into ``groups``
        groups and filter ``j`` sees only the channels of group
        ``j // (n_filters // groups)``. ``groups == n_channels`` is depthwise.
    %(sharing)s
        With ``"tiled"``, None takes it from the leading axes of ``filters``.
    %(separable)s
    %(flip)s
    %(encoding)s
    %(conv_io)s

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, *kernel, n_channels // groups)
        The filters, in ``dtype`` (with the leading tile or position axes of
        tiled or local filters).
    bias_ : ndarray of shape (n_filters,) or None
        ``(*tile_shape, n_filters)`` or ``(*out_spatial, n_filters)`` for tiled
        or local filters.
    %(separable_attributes)s
    %(conv_attributes)s

    See Also
    --------
    Pool : pooling of the maps into features.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skconv import Conv, Pool
    >>> X = load_digits().data[:10]
    >>> sobel_x = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float)
    >>> conv = Conv(filters=np.stack([sobel_x, sobel_x.T])[..., None],
    ...             input_shape=(8, 8), encoding="abs")
    >>> maps = conv.fit_transform(X)
    >>> maps.shape
    (10, 6, 6, 2)
    >>> Pool(grid=(2, 2)).fit_transform(maps).shape
    (10, 8)

    Sobel kernels are separable: applied as two 1-D passes they give the same
    maps, for fewer multiply-adds.

    >>> sep = Conv(filters=conv.filters, input_shape=(8, 8), encoding="abs",
    ...            separable=1).fit(X)
    >>> bool(np.all(sep.approximation_error_ < 1e-6))
    True
    >>> bool(np.allclose(sep.transform(X), maps, atol=1e-5))
    True
    >>> conv.cost((8, 8))["multiply_adds"], sep.cost((8, 8))["multiply_adds"]
    (648, 504)

    Unshared weights: one 3x3 kernel per output position of 8x8 images.

    >>> local = np.random.RandomState(0).randn(6, 6, 1, 3, 3, 1)
    >>> lc = Conv(filters=local, sharing="local", input_shape=(8, 8)).fit(X)
    >>> lc.transform(X).shape, lc.cost((8, 8))["params"]
    ((10, 6, 6, 1), 324)
    """

    def __init__(
        self,
        filters=None,
        *,
        bias=None,
        stride=1,
        padding="valid",
        dilation=1,
        groups=1,
        sharing="shared",
        tile_shape=None,
        separable=None,
        flip=False,
        encoding=None,
        alpha=0.0,
        input_shape=None,
        channel_axis=-1,
        batch_size="auto",
        n_jobs=None,
        dtype=np.float32,
        verbose=0,
    ):
        self.filters = filters
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.sharing = sharing
        self.tile_shape = tile_shape
        self.separable = separable
        self.flip = flip
        self.encoding = encoding
        self.alpha = alpha
        self.input_shape = input_shape
        self.channel_axis = channel_axis
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.dtype = dtype
        self.verbose = verbose

    def _filters_array(self):
        if self.filters is None:
            raise ValueError(
                "filters must be an array of shape (n_filters, *kernel, n_channels), got None."
            )
        sets = self._sets_of_filters()
        lead = "" if not sets else f"(*{sets}, ...) leading axes, then "
        filters = check_real_array(
            self.filters, "filters", ndims=(3, 4, 5) if not sets else (4, 6, 8),
            what=f"an array of real numbers with {lead}shape (n_filters, *kernel, n_channels) "
            "with 1, 2 or 3 kernel dimensions" + (f" for sharing={self.sharing!r}" if sets else ""),
        )
        return filters

    def _sets_of_filters(self):
        """Name of the leading axes of ``filters`` ("" for shared filters)."""
        sharing = check_option(self.sharing, "sharing", _SHARINGS)
        return {"shared": "", "tiled": "tile_shape", "local": "out_spatial"}[sharing]

    def _spatial_ndim(self):
        filters = self._filters_array()
        return filters.ndim - 2 if not self._sets_of_filters() else (filters.ndim - 2) // 2

    def _check_tile_shape(self, d):
        tile = self._filters_array().shape[:d]
        if self.tile_shape is None:
            return tile
        given = check_int_tuple(self.tile_shape, "tile_shape", d)
        if given != tile:
            raise ValueError(
                f"tile_shape must match the leading axes of filters {tile}, got "
                f"{self.tile_shape!r}."
            )
        return given

    def _planned_bank(self, n_channels):
        filters = self._filters_array()
        m = self._spatial_ndim() if self._sets_of_filters() else 0
        return filters.shape[m], filters.shape[m + 1:-1]

    def _planned_bias(self):
        return self.bias is not None

    def _fit_filters(self, X, y):
        return self._filters_array(), self.bias
