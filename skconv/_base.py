"""The machinery every convolutional transformer shares.

A filter family only says how it obtains its filters (``_fit_filters``) and how
many spatial dimensions it works in (``_spatial_ndim``); input layouts,
validation, batching, threads, the convolution itself, the encoding and the
transpose live here.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _engine
from ._encoding import ENCODINGS, encode, n_encoded_channels
from ._maps import FeatureMaps, is_variable_size
from ._validation import (
    check_batch_size,
    check_bool,
    check_dtype,
    check_float,
    check_input,
    check_int,
    check_int_tuple,
    check_n_jobs,
    check_option,
    check_padding,
    restore_layout,
)

__all__ = ["BaseConv", "MapsTransformerMixin"]

_AUTO_BATCH_BYTES = 16 * 2**20


class MapsTransformerMixin(TransformerMixin):
    """Mixin of the transformers whose output is feature maps (N-D, usually lazy).

    scikit-learn's ``set_output`` wraps 2-D output in DataFrames; it cannot wrap
    maps, but ``Pipeline.set_output`` asks every step. So these transformers opt out
    of the automatic wrapping (every subclass too) and accept the request, leaving
    their maps untouched; the 2-D step after them (``Pool``) wraps its features.
    """

    def __init_subclass__(cls, **kwargs):
        kwargs.setdefault("auto_wrap_output_keys", None)
        super().__init_subclass__(**kwargs)

    def set_output(self, *, transform=None):
        """Accept an output container request; feature maps are returned untouched.

        This lets ``Pipeline(...).set_output(transform="pandas")`` configure a
        pipeline with this step: the pooled features of a later step come out as a
        DataFrame, the maps of this one stay maps.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container asked for; it has no effect on feature maps.

        Returns
        -------
        self : object
        """
        check_option(transform, "transform", (None, "default", "pandas", "polars"))
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        return tags


class BaseConv(MapsTransformerMixin, BaseEstimator):
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
    ``encoding``, ``alpha``, ``input_shape``, ``channel_axis``, ``batch_size``,
    ``n_jobs``, ``dtype``.
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
        self._stride = check_int_tuple(self.stride, "stride", d)
        self._dilation = check_int_tuple(self.dilation, "dilation", d)
        self._groups = check_int(self.groups, "groups", min_val=1)
        check_bool(self.flip, "flip")
        check_option(self.encoding, "encoding", ENCODINGS + tuple(self._extra_encodings))
        check_float(self.alpha, "alpha")
        check_batch_size(self.batch_size)
        check_n_jobs(self.n_jobs)
        self._dtype = check_dtype(self.dtype)
        check_padding(self.padding, d)
        return d

    def _check_input(self, X, *, reset):
        """Validate ``X`` and bring it to ``(n, *spatial, c)`` (or a list, or FeatureMaps)."""
        Xv, _ = check_input(
            self, X, reset=reset, ndim=self._spatial_ndim(), input_shape=self.input_shape,
            dtype=self._dtype, check_spatial=True, channel_axis=self.channel_axis,
        )
        return Xv

    def _channels_per_group(self):
        """Input channels each filter sees: the fitted channels over ``groups``."""
        n_in = self.input_shape_[-1]
        if n_in % self._groups:
            raise ValueError(
                f"groups must divide the number of input channels ({n_in}), got "
                f"{self._groups}."
            )
        return n_in // self._groups

    def _replicate_for_groups(self, bank):
        """Give every group of input channels the whole bank (per-group responses)."""
        return np.concatenate([bank] * self._groups, axis=0) if self._groups > 1 else bank

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
                f"groups must divide both the input channels ({n_in}) and the number of "
                f"filters ({n_filters}), got {self._groups}."
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
        reason = self._no_inverse_reason()
        if reason:
            raise ValueError(f"inverse_transform is undefined for {reason}.")
        spatial = self.input_shape_[:-1]
        if None in spatial:
            raise ValueError(
                "inverse_transform needs the input spatial shape, which varies for this "
                "transformer (it was fitted on variable-size samples)."
            )
        Y = np.asarray(X, dtype=self._dtype)
        d = len(spatial)
        layout = self._input_layout
        if Y.ndim == 2 and (layout.flat or not layout.channel_axis):
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
        return restore_layout(self._conv_transpose(Y, spatial), layout)

    def _no_inverse_reason(self):
        """Why the maps have no transposed convolution (None when they have one)."""
        if self.n_output_channels_ != self.n_filters_:
            return f"encoding={self.encoding!r}, which changes the number of channels"
        return None

    def _conv_transpose(self, Y, spatial):
        """The adjoint of :meth:`_conv` applied to maps ``Y``, for inputs of ``spatial`` shape."""
        return _engine.conv_transpose(
            Y,
            self.filters_,
            spatial,
            stride=self._stride,
            padding=self.padding,
            dilation=self._dilation,
            groups=self._groups,
            flip=self.flip,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            dtype = check_dtype(self.dtype).name
        except (TypeError, ValueError):
            dtype = "float32"
        tags.transformer_tags.preserves_dtype = [dtype]
        return tags
