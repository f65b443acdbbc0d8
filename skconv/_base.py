"""The machinery every convolutional transformer shares.

A filter family only says how it obtains its filters (``_fit_filters``) and how
many spatial dimensions it works in (``_spatial_ndim``); input layouts,
validation, batching, threads, the convolution itself, the encoding and the
transpose live here.
"""

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _engine
from ._encoding import ENCODINGS, encode, n_encoded_channels
from ._maps import FeatureMaps, is_variable_size
from ._validation import (
    as_image_batch,
    check_dtype,
    check_float,
    check_int,
    check_int_tuple,
    check_n_jobs,
    check_option,
)

__all__ = ["BaseConv"]

_AUTO_BATCH_BYTES = 16 * 2**20


class BaseConv(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Base class of the convolutional transformers (not for direct use).

    Subclasses define ``__init__`` with their own parameters plus the shared ones
    below, and implement

    - ``_spatial_ndim(self) -> int``: 1, 2 or 3, from the family's parameters;
    - ``_fit_filters(self, X, y) -> (filters, bias)``: ``X`` is the validated input
      (an ndarray ``(n, *spatial, c)``, a list of ``(*spatial, c)`` arrays for
      variable sizes, or :class:`FeatureMaps` from a previous layer), ``filters``
      has shape ``(n_filters, *kernel, c // groups)`` and ``bias`` is None or of
      shape ``(n_filters,)``.

    They may extend ``_extra_encodings`` and override ``_encode`` for encodings
    that need more than the convolution output (k-means' triangle encoding).

    Shared parameters: ``stride``, ``padding``, ``dilation``, ``groups``, ``flip``,
    ``encoding``, ``alpha``, ``input_shape``, ``batch_size``, ``n_jobs``, ``dtype``.
    """

    _extra_encodings = ()

    # --- hooks for the families ---------------------------------------------
    def _spatial_ndim(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_filters(self, X, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode(self, z, x_batch):
        """Encode the convolution output ``z`` of the input batch ``x_batch``."""
        return encode(z, self.encoding, self.alpha)

    def _n_output_channels(self, n_filters):
        return n_encoded_channels(self.encoding, n_filters)

    # --- validation -----------------------------------------------------------
    def _check_params(self):
        d = self._spatial_ndim()
        if d not in (1, 2, 3):
            raise ValueError(f"only 1-D, 2-D and 3-D kernels are supported, got {d}-D.")
        self._stride = check_int_tuple(self.stride, "stride", d)
        self._dilation = check_int_tuple(self.dilation, "dilation", d)
        self._groups = check_int(self.groups, "groups", min_val=1)
        if not isinstance(self.flip, (bool, np.bool_)):
            raise TypeError(f"flip must be a bool, got {self.flip!r}.")
        check_option(self.encoding, "encoding", ENCODINGS + tuple(self._extra_encodings))
        check_float(self.alpha, "alpha")
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_int(self.batch_size, "batch_size", min_val=1)
        check_n_jobs(self.n_jobs)
        self._dtype = check_dtype(self.dtype)
        if isinstance(self.padding, str):
            check_option(self.padding, "padding", ("valid", "same", "full"))
        return d

    def _check_input(self, X, *, reset):
        """Validate ``X`` and bring it to ``(n, *spatial, c)`` (or a list, or FeatureMaps)."""
        d = self._spatial_ndim()
        name = "X"
        if isinstance(X, FeatureMaps):
            if X.spatial_ndim != d:
                raise ValueError(
                    f"X holds {X.spatial_ndim}-D feature maps but this transformer has "
                    f"{d}-D kernels."
                )
            Xv = X
            layout = "nd"
        elif isinstance(X, (list, tuple)) and len(X) > 0 and all(
            hasattr(x, "shape") for x in X
        ):
            Xv = as_image_batch(X, ndim=d, dtype=self._dtype, name=name)
            layout = "list"
        else:
            if not (hasattr(X, "iloc") or issparse(X) or isinstance(X, np.ndarray)):
                X = np.asarray(X)
            ndim = X.ndim
            if ndim == 2:
                # Flat (n_samples, n_features) data goes through scikit-learn's own
                # validation, so feature names and n_features_in_ behave as usual.
                X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
                layout = "flat" if self.input_shape is not None else "nochannel"
            else:
                layout = "nochannel" if ndim == d + 1 else "nd"
            Xv = as_image_batch(
                X, ndim=d, input_shape=self.input_shape, dtype=self._dtype, name=name
            )
        variable = is_variable_size(Xv)
        n_channels = Xv.shape[-1] if not isinstance(Xv, list) else Xv[0].shape[-1]
        spatial = None if variable else tuple(Xv.shape[1:-1])
        if reset:
            self.input_shape_ = (
                ((None,) * d if spatial is None else spatial) + (int(n_channels),)
            )
            self._input_layout = layout
            if spatial is not None and not hasattr(self, "n_features_in_"):
                self.n_features_in_ = int(np.prod(self.input_shape_))
        else:
            if n_channels != self.input_shape_[-1]:
                raise ValueError(
                    f"X has {n_channels} channels, but {type(self).__name__} was fitted on "
                    f"{self.input_shape_[-1]} channels."
                )
            fitted_spatial = self.input_shape_[:-1]
            if spatial is not None and None not in fitted_spatial and spatial != fitted_spatial:
                raise ValueError(
                    f"X has samples of spatial shape {spatial}, but {type(self).__name__} was "
                    f"fitted on {fitted_spatial}. Pass a list of arrays for inputs whose "
                    "sizes vary."
                )
        return Xv

    # --- scikit-learn API -------------------------------------------------------
    def fit(self, X, y=None):
        """Obtain the filters (how depends on the family).

        Parameters
        ----------
        X : array-like or list of array-like
            Images or signals, samples first and channels last: ``(n, *spatial)``,
            ``(n, *spatial, c)``, flat ``(n, n_features)`` with ``input_shape``, or a
            list of arrays of different spatial sizes.
        y : ignored
            Present for Pipeline compatibility; unsupervised.

        Returns
        -------
        self : object
        """
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)
        self._check_params()
        Xv = self._check_input(X, reset=True)
        filters, bias = self._fit_filters(Xv, y)
        self._set_filters(filters, bias)
        return self

    def _check_kernel_fits(self, kernel):
        """Fail at fit, not at transform, when the kernel cannot fit the fitted input."""
        spatial = self.input_shape_[:-1]
        if None in spatial:
            return
        try:
            _engine.output_spatial_shape(
                spatial, kernel, stride=self._stride, padding=self.padding,
                dilation=self._dilation,
            )
        except ValueError as exc:
            raise ValueError(
                f"{exc} (X has samples of shape {self.input_shape_}, "
                f"{self.n_features_in_} feature(s) each)."
            ) from None

    def _set_filters(self, filters, bias):
        """Check the family's filters against the fitted input and store them."""
        d = self._spatial_ndim()
        filters = np.array(filters, dtype=self._dtype)
        n_in = self.input_shape_[-1]
        if filters.ndim != d + 2:
            raise ValueError(
                f"filters must have shape (n_filters, *kernel, channels) with {d} kernel "
                f"dimensions, got shape {filters.shape}."
            )
        n_filters = filters.shape[0]
        if n_in % self._groups or n_filters % self._groups:
            raise ValueError(
                f"groups={self._groups} must divide both the input channels ({n_in}) and "
                f"the number of filters ({n_filters})."
            )
        if filters.shape[-1] * self._groups != n_in:
            raise ValueError(
                f"filters have {filters.shape[-1]} channels, but the input has {n_in} "
                f"channels and groups={self._groups}: expected {n_in // self._groups}."
            )
        if bias is not None:
            bias = np.array(bias, dtype=self._dtype).reshape(-1)
            if bias.shape != (n_filters,):
                raise ValueError(
                    f"bias must have one value per filter ({n_filters}), got shape {bias.shape}."
                )
        self._check_kernel_fits(filters.shape[1:-1])
        self.filters_ = filters
        self.bias_ = bias
        self.n_filters_ = n_filters
        self.n_output_channels_ = self._n_output_channels(n_filters)

    def transform(self, X):
        """Convolve, add the bias and encode: lazy feature maps.

        Parameters
        ----------
        X : array-like, list of array-like or FeatureMaps
            Same layouts as in :meth:`fit`; the spatial shape must match the one seen
            at fit unless a list of variable-size samples is given.

        Returns
        -------
        maps : FeatureMaps of shape (n_samples, *out_spatial, n_output_channels_)
            Computed batch by batch when consumed (``np.asarray(maps)``
            materializes them).
        """
        check_is_fitted(self, "filters_")
        self._check_params()
        Xv = self._check_input(X, reset=False)
        if is_variable_size(Xv):
            out_spatial = None
        else:
            out_spatial = _engine.output_spatial_shape(
                Xv.shape[1:-1],
                self.filters_.shape[1:-1],
                stride=self._stride,
                padding=self.padding,
                dilation=self._dilation,
            )
        return FeatureMaps(
            Xv,
            self._transform_batch,
            out_spatial=out_spatial,
            n_channels=self.n_output_channels_,
            dtype=self._dtype,
            batch_size=self._batch_size(out_spatial),
            n_jobs=self.n_jobs,
        )

    def _batch_size(self, out_spatial):
        if self.batch_size != "auto":
            return self.batch_size
        if out_spatial is None:
            return 1
        # Maps of one batch of about _AUTO_BATCH_BYTES: large enough for an
        # efficient GEMM, small enough that the encoding and pooling that follow
        # read them back from cache rather than from main memory.
        per_sample = (
            int(np.prod(out_spatial)) * self.n_output_channels_ * self._dtype.itemsize
        )
        return int(np.clip(_AUTO_BATCH_BYTES // max(per_sample, 1), 1, 4096))

    def _conv(self, x):
        return _engine.conv(
            x,
            self.filters_,
            stride=self._stride,
            padding=self.padding,
            dilation=self._dilation,
            groups=self._groups,
            flip=self.flip,
        )

    def _transform_batch(self, x):
        x = np.asarray(x, dtype=self.filters_.dtype)
        z = self._conv(x)
        if self.bias_ is not None:
            z += self.bias_
        return self._encode(z, x)

    def inverse_transform(self, X):
        """Transposed convolution: map feature maps back to the input space.

        This is the adjoint of the linear convolution (the bias and the encoding are
        not inverted), used for reconstruction and learned upsampling. The result has
        the layout of the data given to :meth:`fit`.

        Parameters
        ----------
        X : array-like or FeatureMaps of shape (n_samples, *out_spatial, n_filters_)

        Returns
        -------
        X_input : ndarray of shape (n_samples, *input_spatial, n_channels)
        """
        check_is_fitted(self, "filters_")
        self._check_params()
        if self.n_output_channels_ != self.n_filters_:
            raise ValueError(
                f"inverse_transform is undefined for encoding={self.encoding!r}, which "
                "changes the number of channels."
            )
        spatial = self.input_shape_[:-1]
        if None in spatial:
            raise ValueError(
                "inverse_transform needs the input spatial shape, which varies for this "
                "transformer (it was fitted on variable-size samples)."
            )
        Y = np.asarray(X, dtype=self._dtype)
        d = len(spatial)
        if Y.ndim == 2 and self._input_layout in ("flat", "nochannel"):
            out = _engine.output_spatial_shape(
                spatial, self.filters_.shape[1:-1], stride=self._stride,
                padding=self.padding, dilation=self._dilation,
            )
            Y = Y.reshape((Y.shape[0],) + tuple(out) + (self.n_filters_,))
        if Y.ndim != d + 2 or Y.shape[-1] != self.n_filters_:
            raise ValueError(
                f"X must be feature maps of shape (n_samples, *spatial, {self.n_filters_}), "
                f"got shape {Y.shape}."
            )
        Xr = _engine.conv_transpose(
            Y,
            self.filters_,
            spatial,
            stride=self._stride,
            padding=self.padding,
            dilation=self._dilation,
            groups=self._groups,
            flip=self.flip,
        )
        if self._input_layout == "flat":
            return Xr.reshape(Xr.shape[0], -1)
        if self._input_layout == "nochannel" and Xr.shape[-1] == 1:
            return Xr[..., 0]
        return Xr

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        try:
            dtype = check_dtype(self.dtype).name
        except (TypeError, ValueError):
            dtype = "float32"
        tags.transformer_tags.preserves_dtype = [dtype]
        return tags
