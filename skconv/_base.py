"""The machinery every convolutional transformer shares.

A filter family only says how it obtains its filters (``_fit_filters``) and how
many spatial dimensions it works in (``_spatial_ndim``); input layouts,
validation, batching, threads, the convolution itself (shared, tiled or locally
connected weights, full or separable kernels), the encoding, the transpose and
the cost model live here.
"""

import math

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _cost, _engine
from ._dask import dask_aware
from ._encoding import ENCODINGS, encode, n_encoded_channels
from ._lowrank import separable_factors
from ._maps import FeatureMaps, is_variable_size, n_samples
from ._progress import Timer, say
from ._validation import (
    _check_input_shape,
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
    check_real_array,
    check_verbose,
    restore_layout,
)

__all__ = ["BaseConv", "MapsTransformerMixin"]

_AUTO_BATCH_BYTES = 16 * 2**20
_SHARINGS = ("shared", "tiled", "local")


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
      has shape ``(*sets, n_filters, *kernel, c // groups)`` and ``bias`` is None or
      of shape ``(*sets, n_filters)``; ``sets`` is ``self._kernel_sets(kernel)``:
      ``()`` for shared weights, ``tile_shape`` for tiled ones and the output
      spatial shape for locally connected ones;
    - ``_planned_bank(self, n_channels) -> (n_filters, kernel)``: what ``fit``
      will produce for that many input channels, without data (for ``cost``).

    They may extend ``_extra_encodings`` and override ``_encode`` for encodings
    that need more than the convolution output (k-means' triangle encoding).

    Shared parameters: ``stride``, ``padding``, ``dilation``, ``groups``, ``flip``,
    ``encoding``, ``alpha``, ``input_shape``, ``channel_axis``, ``batch_size``,
    ``n_jobs``, ``dtype``, ``verbose``. Families that offer them also take ``sharing``
    and ``tile_shape`` (weights shared, tiled or local) and ``separable`` (rank of the
    separable approximation); the class attributes below are their values elsewhere.
    """

    _extra_encodings = ()
    sharing = "shared"
    tile_shape = None
    separable = None

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

    def _planned_bank(self, n_channels):  # pragma: no cover - abstract
        raise NotImplementedError

    def _planned_bias(self):
        """Whether ``fit`` will give a bias (for ``cost`` before fit)."""
        return False

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
        check_verbose(self.verbose)
        self._dtype = check_dtype(self.dtype)
        check_padding(self.padding, d)
        self._sharing = check_option(self.sharing, "sharing", _SHARINGS)
        self._separable = check_int(self.separable, "separable", min_val=1, allow_none=True)
        self._tile = self._check_tile_shape(d) if self._sharing == "tiled" else None
        if self.tile_shape is not None and self._tile is None:
            check_int_tuple(self.tile_shape, "tile_shape", d)  # checked even when unused
        if self._sharing != "shared":
            if self._groups != 1:
                raise ValueError(
                    f"groups must be 1 with sharing={self.sharing!r} (tiled and locally "
                    f"connected filters see every channel), got {self.groups!r}."
                )
            if self._separable is not None:
                raise ValueError(
                    f"separable must be None with sharing={self.sharing!r} (separable "
                    f"kernels are applied to shared filters), got {self.separable!r}."
                )
        return d

    def _check_tile_shape(self, d):
        if self.tile_shape is None:
            raise ValueError(
                "tile_shape must be given with sharing='tiled': the number of distinct "
                f"kernel sets along each of the {d} spatial axes, got None."
            )
        return check_int_tuple(self.tile_shape, "tile_shape", d)

    def _check_input(self, X, *, reset):
        """Validate ``X`` and bring it to ``(n, *spatial, c)`` (or a list, or FeatureMaps)."""
        # arrays keep their dtype: every batch is cast as it is convolved (and every
        # patch as it is drawn), so a memory-mapped uint8 dataset is never copied whole
        Xv, _ = check_input(
            self, X, reset=reset, ndim=self._spatial_ndim(), input_shape=self.input_shape,
            dtype=None, check_spatial=True, channel_axis=self.channel_axis,
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

    def _kernel_sets(self, kernel):
        """Shape of the grid of kernel sets of the fitted input: ``()`` for shared
        weights, the tile for tiled ones, the output shape for local ones."""
        if self._sharing == "shared":
            return ()
        if self._sharing == "tiled":
            return self._tile
        spatial = self.input_shape_[:-1]
        if None in spatial:
            raise ValueError(
                "sharing='local' needs inputs of one spatial size (one kernel set per "
                "output position), got samples of different sizes."
            )
        self._check_kernel_fits(kernel)
        return _engine.output_spatial_shape(
            spatial, kernel, stride=self._stride, padding=self.padding, dilation=self._dilation
        )

    def _sets_ndim(self):
        """Leading kernel-set axes of the fitted ``filters_`` (0 for shared weights)."""
        return self.filters_.ndim - self.spatial_ndim_ - 2

    def _kernel_shape(self):
        """Spatial shape of the fitted kernels."""
        return self.filters_.shape[self._sets_ndim() + 1:-1]

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
        timer = Timer()
        filters, bias = self._fit_filters(Xv, y)
        self._set_filters(filters, bias)
        self._check_samples_fit(Xv)
        say(self.verbose, f"{type(self).__name__} fit: {self.n_filters_} filters of shape "
                          f"{self.filters_.shape[self._sets_ndim() + 1:]} from "
                          f"{n_samples(Xv):,} samples in {timer}")
        return self

    def _kernel_fix(self):
        """What to change when the kernel does not fit the input (said in the error)."""
        return "Use a smaller kernel_size, a smaller dilation or padding='same'."

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
                f"{self.n_features_in_} feature(s) each). {self._kernel_fix()}"
            ) from None

    def _check_samples_fit(self, Xv):
        """Name the sample of a variable-size list that the kernel does not fit."""
        if not isinstance(Xv, list):
            return
        for i, x in enumerate(Xv):
            try:
                _engine.output_spatial_shape(
                    x.shape[:-1], self._kernel_shape(), stride=self._stride,
                    padding=self.padding, dilation=self._dilation,
                )
            except ValueError as exc:
                raise ValueError(
                    f"X[{i}] must be large enough for the kernel, got spatial shape "
                    f"{x.shape[:-1]}: {exc} {self._kernel_fix()}"
                ) from None

    def _set_filters(self, filters, bias):
        """Check the family's filters against the fitted input and store them."""
        d = self._spatial_ndim()
        filters = np.array(filters, dtype=self._dtype)
        n_in = self.input_shape_[-1]
        m = 0 if self._sharing == "shared" else d
        if filters.ndim != m + d + 2:
            lead = "" if m == 0 else f"{d} leading kernel-set axes ({self.sharing}), then "
            raise ValueError(
                f"filters must have {lead}shape (n_filters, *kernel, channels) with {d} "
                f"kernel dimensions, got shape {filters.shape}."
            )
        sets, n_filters, kernel = filters.shape[:m], filters.shape[m], filters.shape[m + 1:-1]
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
            bias = np.array(check_real_array(bias, "bias"), dtype=self._dtype)
            if bias.shape not in (sets + (n_filters,), (n_filters,)):
                raise ValueError(
                    f"bias must have one value per filter, shape {sets + (n_filters,)}"
                    f"{'' if m == 0 else f' or ({n_filters},)'}, got shape {bias.shape}."
                )
            bias = np.ascontiguousarray(np.broadcast_to(bias, sets + (n_filters,)))
        self._check_kernel_fits(kernel)
        if m:
            expected = self._kernel_sets(kernel)
            if tuple(sets) != tuple(expected):
                what = "tile_shape" if self._sharing == "tiled" else "the output shape"
                raise ValueError(
                    f"filters must have one kernel set per position of {what} with "
                    f"sharing={self.sharing!r}: leading shape {tuple(expected)}, got "
                    f"{tuple(sets)}."
                )
        self.filters_ = filters
        self.bias_ = bias
        self.n_filters_ = n_filters
        self.n_output_channels_ = self._n_output_channels(n_filters)
        self._fit_sharing = self._sharing
        self._fit_separable = self._separable
        for attr in ("factors_", "channel_factors_", "approximation_error_"):
            if attr in vars(self):
                delattr(self, attr)
        if self._separable is not None:
            factors, weights, errors = separable_factors(filters, self._separable)
            self.factors_ = [a.astype(self._dtype) for a in factors]
            self.channel_factors_ = weights.astype(self._dtype)
            self.approximation_error_ = errors

    @dask_aware
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
        self._check_samples_fit(Xv)
        if is_variable_size(Xv):
            if self._fit_sharing == "local":
                raise ValueError(
                    "X must hold samples of the spatial size seen at fit for sharing="
                    "'local' (one kernel set per output position), got samples of "
                    "different sizes."
                )
            out_spatial = None
        else:
            out_spatial = _engine.output_spatial_shape(
                Xv.shape[1:-1],
                self._kernel_shape(),
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
            verbose=check_verbose(self.verbose),
            what=f"{type(self).__name__} transform",
            into=self._transform_batch,
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

    def _conv(self, x, out=None):
        """The linear maps of ``x`` (written into ``out`` where the engine can)."""
        sharing = self._fit_sharing
        geometry = dict(stride=self._stride, padding=self.padding, dilation=self._dilation)
        if sharing == "shared" and self._fit_separable is not None:
            factors = self.factors_
            if self.flip:
                factors = [a[..., ::-1] for a in factors]
            return _engine.conv_separable(
                x, factors, self.channel_factors_, groups=self._groups, **geometry
            )
        if sharing == "shared":
            return _engine.conv(x, self.filters_, groups=self._groups, flip=self.flip, out=out,
                                **geometry)
        w = self.filters_
        if self.flip:
            d = self.spatial_ndim_
            w = w[(slice(None),) * (d + 1) + (slice(None, None, -1),) * d]
        if sharing == "local":
            return _engine.conv_local(x, w, **geometry)
        return _engine.conv_tiled(x, w, **geometry)

    def _bias_for(self, out_spatial):
        """The bias of every output position (tiled biases repeat with the tile)."""
        if self._fit_sharing != "tiled":
            return self.bias_
        tile = self.bias_.shape[:-1]
        return self.bias_[np.ix_(*[np.arange(o) % t for o, t in zip(out_spatial, tile)])]

    def _transform_batch(self, x, out=None):
        """The maps of a batch; with ``out``, written into it (the linear maps go
        there directly when they have its shape, and are encoded in place)."""
        x = np.asarray(x, dtype=self.filters_.dtype)
        direct = (out is not None and out.shape[-1] == self.filters_.shape[0]
                  and out.dtype == self.filters_.dtype)
        z = self._conv(x, out if direct else None)
        if self.bias_ is not None:
            z += self._bias_for(z.shape[1:-1])
        y = self._encode(z, x)
        if out is not None and y is not out:
            out[...] = y
        return y

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
                spatial, self._kernel_shape(), stride=self._stride,
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
        if self._fit_sharing != "shared":
            return (
                f"sharing={self._fit_sharing!r}: the transposed convolution is implemented "
                "for shared weights"
            )
        return None

    def _applied_bank(self):
        """The kernels the maps are computed with: ``filters_``, or their separable
        approximation."""
        if self._fit_separable is None:
            return self.filters_
        f, rank = self.channel_factors_.shape[:2]
        terms = [a.astype(np.float64) for a in self.factors_]
        terms.append(self.channel_factors_.astype(np.float64))
        letters = "abcd"[: len(terms)]
        subs = ",".join(f"fr{c}" for c in letters)
        return np.einsum(f"{subs}->f{letters}", *terms).astype(self._dtype)

    def _conv_transpose(self, Y, spatial):
        """The adjoint of :meth:`_conv` applied to maps ``Y``, for inputs of ``spatial`` shape."""
        return _engine.conv_transpose(
            Y,
            self._applied_bank(),
            spatial,
            stride=self._stride,
            padding=self.padding,
            dilation=self._dilation,
            groups=self._groups,
            flip=self.flip,
        )

    # --- cost model -----------------------------------------------------------------
    def cost(self, input_shape):
        """What transforming one sample of ``input_shape`` costs, before anything runs.

        From the closed forms of :mod:`skconv._cost`, for the filters the fitted
        transformer holds or, before ``fit``, the ones its parameters determine.
        Standard, strided, padded and dilated convolutions all cost
        ``prod(out) * prod(kernel) * c / groups`` multiply-adds per filter;
        separable kernels ``rank`` times a channel mix and one 1-D pass per axis;
        tiled and locally connected weights the standard count, with
        ``prod(tile_shape)`` or ``prod(out)`` times the parameters.

        Parameters
        ----------
        input_shape : tuple of int
            One sample, ``(*spatial)`` or ``(*spatial, n_channels)``; without the
            channels, those seen at fit (1 before fit).

        Returns
        -------
        cost : dict
            ``"params"``: weights and biases the transform applies;
            ``"multiply_adds"``: multiplications (each with an addition) of the
            linear filtering, without the bias, the encoding or pooling;
            ``"output_shape"``: ``(*out_spatial, n_output_channels)`` of the maps;
            ``"map_bytes"``: bytes of those maps in ``dtype``.
        """
        d = self._check_params()
        shape = _check_input_shape(input_shape, d)
        spatial = shape[:d]
        fitted = hasattr(self, "filters_")
        c = shape[d] if len(shape) > d else (self.n_channels_in_ if fitted else 1)
        if fitted and c != self.n_channels_in_:
            raise ValueError(
                f"input_shape must have {self.n_channels_in_} channels as at fit, got {c}."
            )
        if c % self._groups:
            raise ValueError(
                f"groups must divide the number of input channels ({c}), got {self._groups}."
            )
        if fitted:
            n_filters, kernel = self.n_filters_, self._kernel_shape()
            has_bias, rank = self.bias_ is not None, self._fit_separable
            sharing, sets = self._fit_sharing, self.filters_.shape[: self._sets_ndim()]
        else:
            n_filters, kernel = self._planned_bank(c)
            has_bias, rank, sharing = self._planned_bias(), self._separable, self._sharing
            sets = self._tile if sharing == "tiled" else ()
        out = _engine.output_spatial_shape(
            spatial, kernel, stride=self._stride, padding=self.padding, dilation=self._dilation
        )
        if sharing == "local":
            if fitted and tuple(out) != tuple(sets):
                raise ValueError(
                    f"input_shape must have the spatial shape seen at fit "
                    f"{self.input_shape_[:-1]} for sharing='local', got {tuple(spatial)}."
                )
            sets = out
        n_sets = math.prod(sets)
        cg = c // self._groups
        return self._cost_dict(spatial, out, kernel, cg, n_filters, n_sets, has_bias, rank)

    def _cost_dict(self, spatial, out, kernel, cg, n_filters, n_sets, has_bias, rank):
        if rank is None:
            params = _cost.dense_params(kernel, cg, n_filters) * n_sets
            macs = _cost.dense_multiply_adds(out, kernel, cg, n_filters)
        else:
            params = _cost.separable_params(kernel, cg, n_filters, rank)
            macs = _cost.separable_multiply_adds(spatial, out, kernel, cg, n_filters, rank)
        if has_bias:
            params += n_filters * n_sets
        output_shape = tuple(int(o) for o in out) + (int(self._n_output_channels(n_filters)),)
        return {
            "params": int(params),
            "multiply_adds": int(macs),
            "output_shape": output_shape,
            "map_bytes": int(math.prod(output_shape) * self._dtype.itemsize),
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            dtype = check_dtype(self.dtype).name
        except (TypeError, ValueError):
            dtype = "float32"
        tags.transformer_tags.preserves_dtype = [dtype]
        return tags
