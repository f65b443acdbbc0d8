"""Conv: convolution with filters the user gives."""

import numpy as np

from ._base import BaseConv
from ._docs import fill_doc

__all__ = ["Conv"]


@fill_doc
class Conv(BaseConv):
    """Convolve images (or signals, or volumes) with a given filter bank.

    The convolution is followed by an optional bias and encoding, and returns lazy
    feature maps (:class:`skconv.FeatureMaps`) computed batch by batch by the next
    step, usually :class:`skconv.Pool`. Filter families that learn or draw their
    filters (``RandomConv``, ``KMeansConv``, ...) share all of this behaviour.

    Parameters
    ----------
    filters : array-like of shape (n_filters, *kernel, n_channels // groups)
        The filter bank. The number of kernel dimensions (1, 2 or 3) sets whether
        the transformer works on signals, images or volumes.
    bias : array-like of shape (n_filters,), default=None
        Added to each filter's response before the encoding.
    %(conv_geometry)s
    groups : int, default=1
        Grouped convolution: input channels and filters are split into ``groups``
        groups and filter ``j`` sees only the channels of group
        ``j // (n_filters // groups)``. ``groups == n_channels`` is depthwise.
    %(flip)s
    %(encoding)s
    %(conv_io)s

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, *kernel, n_channels // groups)
        The filters, in ``dtype``.
    bias_ : ndarray of shape (n_filters,) or None
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
        flip=False,
        encoding=None,
        alpha=0.0,
        input_shape=None,
        channel_axis=-1,
        batch_size="auto",
        n_jobs=None,
        dtype=np.float32,
    ):
        self.filters = filters
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.flip = flip
        self.encoding = encoding
        self.alpha = alpha
        self.input_shape = input_shape
        self.channel_axis = channel_axis
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.dtype = dtype

    def _filters_array(self):
        if self.filters is None:
            raise ValueError(
                "filters must be given: an array of shape (n_filters, *kernel, n_channels)."
            )
        filters = np.asarray(self.filters)
        if filters.dtype == object or not np.issubdtype(filters.dtype, np.number):
            raise TypeError(f"filters must be a numeric array, got dtype {filters.dtype}.")
        if np.issubdtype(filters.dtype, np.complexfloating):
            raise TypeError("filters must be real; take the real/imaginary parts yourself.")
        if filters.ndim not in (3, 4, 5):
            raise ValueError(
                "filters must have shape (n_filters, *kernel, n_channels) with 1, 2 or 3 "
                f"kernel dimensions, got shape {filters.shape}."
            )
        if filters.size == 0:
            raise ValueError(f"filters is empty (shape {filters.shape}).")
        if not np.isfinite(filters).all():
            raise ValueError("filters contain NaN or infinity.")
        return filters

    def _spatial_ndim(self):
        return self._filters_array().ndim - 2

    def _fit_filters(self, X, y):
        return self._filters_array(), self.bias
