"""LocalContrastNorm: subtractive and divisive local normalization of feature maps."""

import numpy as np
from scipy import ndimage
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._maps import FeatureMaps, is_variable_size, map_batches, stack_batches
from ._validation import (
    as_image_batch,
    check_float,
    check_int,
    check_n_jobs,
    check_option,
)

__all__ = ["LocalContrastNorm"]

_MODES = ("reflect", "constant", "nearest", "mirror", "wrap")


def gaussian_window(size, sigma):
    """1-D Gaussian weights on ``size`` (odd) taps centred on the middle, summing to 1."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    w = np.exp(-(r**2) / (2.0 * sigma**2))
    return w / w.sum()


class LocalContrastNorm(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
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
    batch_size : int, default=256
        Samples normalized at once for array input (FeatureMaps keep their own).
    n_jobs : int, default=None
        Threads over batches for array input (FeatureMaps keep their own).

    Attributes
    ----------
    spatial_ndim_ : int
        Number of spatial dimensions of the maps seen at fit.
    n_channels_in_ : int
        Channels of the maps seen at fit.
    n_features_in_ : int
        Values per sample seen at fit (2-D input only).
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame.

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
        self.batch_size = batch_size
        self.n_jobs = n_jobs

    # --- parameters -------------------------------------------------------------
    def _explicit_ndim(self):
        for value in (self.size, self.sigma):
            if isinstance(value, (tuple, list)):
                return len(value)
        if self.input_shape is not None:
            # (*spatial, n_channels), as Pool takes it
            return len(self.input_shape) - 1
        return None

    def _per_axis(self, value, name, d, check):
        if isinstance(value, (tuple, list)):
            if len(value) != d:
                raise ValueError(
                    f"{name} must be a number or a tuple of {d} (one per spatial axis), "
                    f"got {value!r}."
                )
            return tuple(check(v) for v in value)
        return (check(value),) * d

    def _windows(self, d):
        """Check the parameters; return the 1-D weights of each spatial axis."""
        for name in ("subtractive", "divisive", "across_channels"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")
        check_float(self.eps, "eps", min_val=0.0, include_boundaries="neither")
        check_option(self.mode, "mode", _MODES)
        check_int(self.batch_size, "batch_size", min_val=1)
        check_n_jobs(self.n_jobs)

        def odd(v):
            v = check_int(v, "size", min_val=1)
            if v % 2 == 0:
                raise ValueError(f"size must be odd (a window centred on each pixel), got {v}.")
            return v

        sizes = self._per_axis(self.size, "size", d, odd)
        if self.sigma is None:
            sigmas = tuple(s / 4 for s in sizes)
        else:
            sigmas = self._per_axis(
                self.sigma, "sigma", d,
                lambda v: check_float(v, "sigma", min_val=0.0, include_boundaries="neither"),
            )
        return [gaussian_window(s, g) for s, g in zip(sizes, sigmas)]

    # --- input ------------------------------------------------------------------
    def _check_input(self, X, *, reset):
        """Return (maps in (n, *spatial, c) layout, d, how to give the result back)."""
        explicit = self._explicit_ndim()
        if explicit is not None and explicit not in (1, 2, 3):
            raise ValueError(
                f"size / sigma / input_shape describe {explicit}-D maps; only 1-D, 2-D "
                "and 3-D maps are supported."
            )
        layout = "nd"
        if isinstance(X, FeatureMaps):
            d = X.spatial_ndim
            if explicit is not None and explicit != d:
                raise ValueError(f"the window is {explicit}-D but X holds {d}-D maps.")
            Xv = X
        elif isinstance(X, (list, tuple)) and len(X) > 0 and all(hasattr(x, "shape") for x in X):
            first = np.asarray(X[0])
            d = explicit if explicit is not None else first.ndim - 1
            if d < 1:
                raise ValueError(
                    "each sample of a list must be shaped (*spatial, n_channels); got "
                    f"X[0] with shape {first.shape}."
                )
            if first.ndim == d:
                layout = "nochannel"
            Xv = as_image_batch(X, ndim=d, dtype=None if first.dtype.kind == "f" else np.float64)
        else:
            if not (hasattr(X, "iloc") or issparse(X) or isinstance(X, np.ndarray)):
                X = np.asarray(X)
            if X.ndim == 1:
                raise ValueError(
                    f"X is 1-D (shape {np.shape(X)}); Reshape your data: samples go first, "
                    "as (n_samples, *spatial, n_channels)."
                )
            if X.ndim == 2:
                X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
                d = explicit if explicit is not None else 1
                layout = "flat" if self.input_shape is not None else "nochannel"
            else:
                d = explicit if explicit is not None else X.ndim - 2
                if X.ndim == d + 1:
                    layout = "nochannel"
            dtype = X.dtype if np.dtype(X.dtype).kind == "f" else np.float64
            Xv = as_image_batch(X, ndim=d, input_shape=self.input_shape, dtype=dtype)
        n_channels = Xv[0].shape[-1] if isinstance(Xv, list) else Xv.shape[-1]
        if reset:
            self.spatial_ndim_ = d
            self.n_channels_in_ = int(n_channels)
        else:
            if d != self.spatial_ndim_:
                raise ValueError(
                    f"X holds {d}-D maps, but LocalContrastNorm was fitted on "
                    f"{self.spatial_ndim_}-D maps."
                )
            if n_channels != self.n_channels_in_:
                raise ValueError(
                    f"X has {n_channels} channels, but LocalContrastNorm was fitted on "
                    f"{self.n_channels_in_} channels."
                )
        return Xv, d, layout

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
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)
        _, d, _ = self._check_input(X, reset=True)
        self._windows(d)
        return self

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
        Xv, d, layout = self._check_input(X, reset=False)
        func = self._batch_func(self._windows(d))
        if isinstance(Xv, FeatureMaps):
            return FeatureMaps(
                Xv,
                func,
                out_spatial=None if Xv.variable_size else Xv.shape[1:-1],
                n_channels=self.n_channels_in_,
                dtype=Xv.dtype,
                batch_size=Xv.batch_size,
                n_jobs=Xv.n_jobs,
            )
        if is_variable_size(Xv):
            parts = map_batches(Xv, func, batch_size=self.batch_size, n_jobs=self.n_jobs)
            out = [p[0] for p in parts]
            return [o[..., 0] for o in out] if layout == "nochannel" else out
        # batches written into one array: the output is held once, not twice
        out = stack_batches(Xv, func, batch_size=self.batch_size, n_jobs=self.n_jobs)
        if layout == "flat":
            return out.reshape(out.shape[0], -1)
        if layout == "nochannel":
            return out[..., 0]
        return out

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
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
