"""LocalContrastNorm: subtractive and divisive local normalization of feature maps."""

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._dask import dask_aware
from ._base import MapsTransformerMixin
from ._maps import map_like_input
from ._docs import fill_doc
from ._validation import (
    check_batch_size,
    check_bool,
    check_float,
    check_float_tuple,
    check_input,
    check_int_tuple,
    check_n_jobs,
    check_option,
    implied_ndim,
)

__all__ = ["LocalContrastNorm"]

_MODES = ("reflect", "constant", "nearest", "mirror", "wrap")


def gaussian_window(size, sigma):
    """1-D Gaussian weights on ``size`` (odd) taps centred on the middle, summing to 1."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    w = np.exp(-(r**2) / (2.0 * sigma**2))
    return w / w.sum()


@fill_doc
class LocalContrastNorm(MapsTransformerMixin, BaseEstimator):
    """Local contrast normalization of feature maps (Jarrett et al., 2009).

    For maps ``x`` with channels ``i`` and positions ``p``, with Gaussian
    weights ``w`` over a ``size`` window that sum to 1 over the window and the
    channels:

    - subtractive: ``v[i, p] = x[i, p] - sum_{j, q} w[q] x[j, p + q]``, the
      local weighted mean over the window and all channels is removed;
    - divisive: ``y[i, p] = v[i, p] / max(c, sigma[p])`` with the local
      weighted standard deviation ``sigma[p] = sqrt(sum_{j, q} w[q] v[j, p +
      q]**2)`` and ``c`` the mean of ``sigma`` over the positions of the
      sample, so that only regions of above-average contrast are scaled down
      [1]_.

    With ``across_channels=False`` each channel is normalized on its own (the
    weights sum to 1 over the window, ``sigma`` and ``c`` are per channel). The
    Gaussian filtering is separable, one :func:`scipy.ndimage.correlate1d` pass
    per spatial axis; beyond the border the maps are extended by ``mode``
    (``"reflect"``, the default, repeats the edge values mirrored, so borders
    are normalized like the interior; ``"constant"`` treats the outside as
    zeros, which biases the local mean towards zero near the border, as plain
    zero-padded convolution does).

    Input and output are maps ``(n_samples, *spatial, n_channels)``, channels
    last. Lazy :class:`skconv.FeatureMaps` (the output of a Conv transformer)
    give lazy FeatureMaps, normalized batch by batch when consumed (e.g. by
    :class:`skconv.Pool`); arrays give arrays and lists of maps of different
    sizes give lists. A flat 2-D ``X`` is ``(n_samples, length)`` single-channel
    signals, or any shape given by ``input_shape`` (the output is flat too).

    Parameters
    ----------
    size : int or tuple of int, default=9
        Odd window size, one for every spatial axis or one per axis (a tuple
        also fixes the number of spatial dimensions; otherwise it is
        ``X.ndim - 2``).
    sigma : float or tuple of float, default=None
        Standard deviation of the Gaussian weights, in pixels; None uses
        ``size / 4`` (the default window of Torch's ``image.gaussian``).
    subtractive : bool, default=True
        Remove the local mean.
    divisive : bool, default=True
        Divide by the local standard deviation (of the subtractively
        normalized maps when ``subtractive=True``, else of the input).
    across_channels : bool, default=True
        Pool the local statistics over all channels (Jarrett et al.), or
        normalize each channel separately.
    eps : float, default=1e-6
        Lower bound of the divisor, so that flat samples (``c = 0``) give zeros
        instead of dividing by zero.
    mode : {"reflect", "constant", "nearest", "mirror", "wrap"}, default="reflect"
        How maps are extended beyond the border (:mod:`scipy.ndimage` modes;
        ``"constant"`` pads with zeros).
    input_shape : tuple of int, default=None
        Shape ``(*spatial, n_channels)`` of one sample when ``X`` is flat
        ``(n_samples, n_features)`` (the channel count included, as for
        :class:`skconv.Pool`).
    %(channel_axis)s
    batch_size : int, default=256
        Samples normalized at once for array input (FeatureMaps keep their own).
    n_jobs : int, default=None
        Threads over batches for array input (FeatureMaps keep their own).

    Attributes
    ----------
    %(input_attributes)s

    See Also
    --------
    skconv.Pool : pooling of the normalized maps.

    References
    ----------
    .. [1] K. Jarrett, K. Kavukcuoglu, M. Ranzato and Y. LeCun, "What is the
       best multi-stage architecture for object recognition?", ICCV 2009.
    .. [2] N. Pinto, D. D. Cox and J. J. DiCarlo, "Why is real-world visual
       object recognition hard?", PLoS Computational Biology 4(1), 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import LocalContrastNorm
    >>> maps = np.random.RandomState(0).rand(2, 16, 16, 4)
    >>> out = LocalContrastNorm(size=5).fit_transform(maps)
    >>> out.shape
    (2, 16, 16, 4)
    """

    def __init__(
        self,
        size=9,
        *,
        sigma=None,
        subtractive=True,
        divisive=True,
        across_channels=True,
        eps=1e-6,
        mode="reflect",
        input_shape=None,
        channel_axis=-1,
        batch_size=256,
        n_jobs=None,
    ):
        self.size = size
        self.sigma = sigma
        self.subtractive = subtractive
        self.divisive = divisive
        self.across_channels = across_channels
        self.eps = eps
        self.mode = mode
        self.input_shape = input_shape
        self.channel_axis = channel_axis
        self.batch_size = batch_size
        self.n_jobs = n_jobs

    # --- parameters -------------------------------------------------------------
    def _explicit_ndim(self):
        return implied_ndim(self.size, self.sigma, input_shape=self.input_shape)

    def _windows(self, d):
        """Check the parameters; return the 1-D weights of each spatial axis."""
        for name in ("subtractive", "divisive", "across_channels"):
            check_bool(getattr(self, name), name)
        check_float(self.eps, "eps", min_val=0.0, include_boundaries="neither")
        check_option(self.mode, "mode", _MODES)
        check_batch_size(self.batch_size, allow_auto=False)
        check_n_jobs(self.n_jobs)
        sizes = check_int_tuple(self.size, "size", d)
        if any(s % 2 == 0 for s in sizes):
            raise ValueError(
                f"size must be odd (a window centred on each pixel) along every axis, got "
                f"{self.size!r}."
            )
        if self.sigma is None:
            sigmas = tuple(s / 4 for s in sizes)
        else:
            sigmas = check_float_tuple(self.sigma, "sigma", d)
        return [gaussian_window(s, g) for s, g in zip(sizes, sigmas)]

    # --- input ------------------------------------------------------------------
    def _check_input(self, X, *, reset):
        """Return (maps in (n, *spatial, c) layout, their layout)."""
        explicit = self._explicit_ndim()
        if explicit is not None and explicit not in (1, 2, 3):
            raise ValueError(
                f"size, sigma and input_shape must describe 1-D, 2-D or 3-D maps, got "
                f"{explicit}-D."
            )
        return check_input(
            self, X, reset=reset, ndim=explicit, input_shape=self.input_shape, dtype="float",
            channel_axis=self.channel_axis,
        )

    # --- scikit-learn API ---------------------------------------------------------
    def fit(self, X, y=None):
        """Check the parameters and record the layout of the maps (nothing is learned).

        Parameters
        ----------
        X : array-like, FeatureMaps or list of arrays
            Maps ``(n_samples, *spatial, n_channels)``; lazy maps are not computed.
        y : ignored

        Returns
        -------
        self : object
        """
        _, layout = self._check_input(X, reset=True)
        self._windows(layout.spatial_ndim)
        return self

    @dask_aware
    def transform(self, X):
        """Normalize the maps.

        Parameters
        ----------
        X : array-like, FeatureMaps or list of arrays
            Maps ``(n_samples, *spatial, n_channels)``, in the layout seen at fit.

        Returns
        -------
        X_norm : ndarray, FeatureMaps or list
            Same shape and layout as ``X``; FeatureMaps stay lazy. Float input
            keeps its dtype; other input gives float64.
        """
        check_is_fitted(self, "n_channels_in_")
        Xv, layout = self._check_input(X, reset=False)
        func = self._batch_func(self._windows(layout.spatial_ndim))
        return map_like_input(
            Xv, layout, func, n_channels=self.n_channels_in_, batch_size=self.batch_size,
            n_jobs=self.n_jobs,
        )

    def _batch_func(self, windows):
        subtractive, divisive = self.subtractive, self.divisive
        across = self.across_channels
        mode, eps = self.mode, self.eps

        def smooth(a, axes):
            for w, axis in zip(windows, axes):
                a = ndimage.correlate1d(a, w.astype(a.dtype), axis=axis, mode=mode, cval=0.0)
            return a

        def normalize(x):
            x = np.asarray(x)
            if x.dtype.kind != "f":
                x = x.astype(np.float64)
            d = x.ndim - 2
            if across:
                # Equal weights for every channel: smoothing the channel mean once
                # is the weighted sum over window and channels.
                axes = tuple(range(1, d + 1))
                stat = lambda a: smooth(a.mean(axis=-1), axes)[..., np.newaxis]  # noqa: E731
            else:
                axes = tuple(range(1, d + 1))
                stat = lambda a: smooth(a, axes)  # noqa: E731
            v = x - stat(x) if subtractive else x.copy()
            if divisive:
                sigma = np.sqrt(np.maximum(stat(v * v), 0))
                c = sigma.mean(axis=axes, keepdims=True)
                v /= np.maximum(np.maximum(sigma, c), x.dtype.type(eps))
            return v

        return normalize

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
