"""Filter families that need no training: random, Gabor and edge filter banks.

Each family only says how it obtains its filters; convolution, encoding,
input layouts and batching come from :class:`skconv._base.BaseConv`.
"""

import math

import numpy as np

from . import _engine
from ._base import BaseConv
from ._docs import fill_doc
from ._encoding import encode, n_encoded_channels
from ._maps import FeatureMaps, is_variable_size
from ._validation import (
    check_bool,
    check_float,
    check_floats,
    check_int,
    check_kernel_size,
    check_option,
    check_options,
    check_random_state,
)
from .filters import (
    _expand_edge_names,
    concatenate_banks,
    dog_bank,
    edge_bank,
    gabor_bank,
    gaussian_derivative_bank,
    leung_malik_bank,
    log_bank,
    random_bank,
    random_dilations,
)

__all__ = ["RandomConv", "GaborConv", "EdgeConv"]


# ---------------------------------------------------------------------------
# RandomConv
# ---------------------------------------------------------------------------


@fill_doc
class RandomConv(BaseConv):
    """Convolution with random filters.

    Random, untrained filters followed by a nonlinearity and pooling already give
    good features: the architecture matters more than the weights [1]_, [2]_.
    With 1-D kernels, zero-mean Gaussian weights, random biases
    (``bias="uniform"``), per-filter random dilations (``dilations="random"``)
    and proportion-of-positive-values pooling (``Pool(method="ppv")``), this is
    the transform of ROCKET for time series [3]_.

    The filters are drawn by :func:`skconv.filters.random_bank` from
    ``random_state`` only, so they do not depend on ``n_jobs``, and the same
    ``random_state`` on inputs with the same number of channels gives the same
    filters.

    Parameters
    ----------
    n_filters : int, default=64
        Number of filters; a multiple of ``groups``.
    kernel_size : int or tuple of int, default=5
        An int is a square 2-D kernel; a tuple of length 1, 2 or 3 gives
        kernels for signals, images or volumes.
    distribution : {"gaussian", "uniform", "orthogonal", "binary"}, default="gaussian"
        How the weights are drawn: standard normal, uniform in ``[-1, 1]``, rows
        of a random orthogonal matrix (orthonormal filters, in blocks of the
        filter dimension when there are more filters than dimensions) or
        ``+-1``. See :func:`skconv.filters.random_bank`.
    zero_mean : bool, default=False
        Make every filter sum to zero (insensitive to the local mean), as
        ROCKET does.
    unit_norm : bool, default=True
        Scale every filter to unit Euclidean norm, so that all filters respond
        on the same scale whatever their size.
    bias : None, "uniform" or float, default=None
        Bias added to each response before the encoding: none, drawn uniformly
        in ``[-1, 1]`` per filter (ROCKET), or the same constant for every
        filter.
    dilations : None or "random", default=None
        ``"random"`` draws one dilation per filter as ROCKET does
        (:func:`skconv.filters.random_dilations`: ``floor(2 ** u)`` with ``u``
        uniform so that the dilated kernel fits in the shortest input). Only
        for 1-D kernels, and it requires ``padding="same"``: every dilation then
        gives maps of the same length (``ceil(length / stride)``), which are
        concatenated along the channels in filter order. The shared
        ``dilation`` must be 1 and ``groups`` 1. ``None`` applies the shared
        ``dilation`` to every filter.
    random_state : int, RandomState instance or None, default=None
        Seed of the filters, dilations and biases.
    %(conv_geometry)s
    groups : int, default=1
        Grouped convolution: filter ``j`` sees only the input channels of group
        ``j // (n_filters // groups)``. ``groups=n_channels`` is depthwise; with
        ``kernel_size=1`` after it, the pair is a depthwise separable layer.
    %(sharing)s
    %(separable)s
    %(flip)s
    %(encoding)s
    %(conv_io)s

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, *kernel_size, n_channels // groups)
        The random filters; ``(*tile_shape, n_filters, *kernel_size,
        n_channels)`` or ``(*out_spatial, ...)`` with tiled or local weights
        (every kernel set drawn independently).
    bias_ : ndarray of shape (n_filters,) or None
        The biases (one per filter of every kernel set with tiled or local
        weights).
    dilations_ : ndarray of shape (n_filters,) of int, or None
        Per-filter dilations with ``dilations="random"``, else None.
    %(separable_attributes)s
    %(conv_attributes)s

    See Also
    --------
    skconv.filters.random_bank : the filters as a plain function.
    GaborConv, EdgeConv : hand-designed filters.

    References
    ----------
    .. [1] %(ref_random_features)s
    .. [2] %(ref_saxe)s
    .. [3] %(ref_rocket)s

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skconv import Pool, RandomConv
    >>> X = load_digits().images[:20]
    >>> conv = RandomConv(16, 3, encoding="relu", random_state=0).fit(X)
    >>> conv.filters_.shape
    (16, 3, 3, 1)
    >>> Pool(grid=2).fit_transform(conv.transform(X)).shape
    (20, 64)

    ROCKET-style features of 1-D signals:

    >>> import numpy as np
    >>> signals = np.random.RandomState(0).randn(10, 100)
    >>> rocket = RandomConv(50, (9,), zero_mean=True, unit_norm=False,
    ...                     bias="uniform", dilations="random", padding="same",
    ...                     random_state=0).fit(signals)
    >>> rocket.dilations_.shape
    (50,)
    >>> Pool(method="ppv", grid=1).fit_transform(rocket.transform(signals)).shape
    (10, 50)

    A depthwise separable layer: a 3x3 filter per channel (``groups`` = channels),
    then 1x1 filters that mix the channels; its cost is about ``1/16 + 1/9`` of a
    dense layer of 16 3x3 filters.

    >>> rgb = np.random.RandomState(0).rand(4, 16, 16, 8)
    >>> dw = RandomConv(8, 3, groups=8, random_state=0).fit(rgb)
    >>> pw = RandomConv(16, 1, random_state=0).fit(dw.transform(rgb))
    >>> pw.transform(dw.transform(rgb)).shape
    (4, 14, 14, 16)
    >>> dense = RandomConv(16, 3).cost((16, 16, 8))["multiply_adds"]
    >>> pair = (dw.cost((16, 16, 8))["multiply_adds"]
    ...         + pw.cost((14, 14, 8))["multiply_adds"])
    >>> round(pair / dense, 4), round(1 / 16 + 1 / 9, 4)
    (0.1736, 0.1736)

    Tiled weights: 2x2 kernel sets cycled over the positions.

    >>> tiled = RandomConv(4, 3, sharing="tiled", tile_shape=2, random_state=0).fit(X)
    >>> tiled.filters_.shape
    (2, 2, 4, 3, 3, 1)
    >>> tiled.transform(X).shape
    (20, 6, 6, 4)
    """

    def __init__(
        self,
        n_filters=64,
        kernel_size=5,
        *,
        distribution="gaussian",
        zero_mean=False,
        unit_norm=True,
        bias=None,
        dilations=None,
        random_state=None,
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
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.distribution = distribution
        self.zero_mean = zero_mean
        self.unit_norm = unit_norm
        self.bias = bias
        self.dilations = dilations
        self.random_state = random_state
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

    def _spatial_ndim(self):
        return len(check_kernel_size(self.kernel_size))

    def _check_bias(self):
        return check_float(self.bias, "bias", allow_none=True, options=("uniform",))

    def _planned_bank(self, n_channels):
        return check_int(self.n_filters, "n_filters", min_val=1), check_kernel_size(
            self.kernel_size
        )

    def _planned_bias(self):
        return self._check_bias() is not None

    def _fit_filters(self, X, y):
        n_filters = check_int(self.n_filters, "n_filters", min_val=1)
        kernel = check_kernel_size(self.kernel_size)
        check_option(
            self.distribution, "distribution", ("gaussian", "uniform", "orthogonal", "binary")
        )
        zero_mean = check_bool(self.zero_mean, "zero_mean")
        unit_norm = check_bool(self.unit_norm, "unit_norm")
        bias = self._check_bias()
        check_option(self.dilations, "dilations", (None, "random"))
        c = self._channels_per_group()
        if n_filters % self._groups:
            raise ValueError(
                f"groups must divide n_filters ({n_filters}), got {self._groups}."
            )
        if self.dilations == "random":
            length = self._check_random_dilations(X, kernel)
        sets = self._kernel_sets(kernel)
        rng = check_random_state(self.random_state)
        # every kernel set (one when shared) drawn on its own, in order
        banks = [
            random_bank(
                n_filters,
                kernel,
                c,
                distribution=self.distribution,
                zero_mean=zero_mean,
                unit_norm=unit_norm,
                random_state=rng,
            )
            for _ in range(math.prod(sets))
        ]
        filters = np.stack(banks).reshape(sets + banks[0].shape)
        self.dilations_ = None
        if self.dilations == "random":
            self.dilations_ = random_dilations(n_filters, kernel[0], length, random_state=rng)
        if bias == "uniform":
            bias = rng.uniform(-1.0, 1.0, size=sets + (n_filters,))
        elif bias is not None:
            bias = np.full(sets + (n_filters,), bias)
        return filters, bias

    def _check_random_dilations(self, X, kernel):
        """Check the settings per-filter dilations need; return the input length."""
        if len(kernel) != 1:
            raise ValueError(
                "dilations='random' is for 1-D kernels (signals), got kernel_size="
                f"{self.kernel_size!r}; use the shared dilation parameter for images."
            )
        if self.padding != "same":
            raise ValueError(
                "dilations='random' requires padding='same', so that the maps of "
                f"every dilation have the same length; got padding={self.padding!r}."
            )
        if self._dilation != (1,):
            raise ValueError(
                "dilations='random' draws the dilation of each filter; the shared "
                f"dilation must stay 1, got dilation={self.dilation!r}."
            )
        if self._groups != 1:
            raise ValueError(f"dilations='random' requires groups=1, got groups={self.groups!r}.")
        if self._sharing != "shared" or self._separable is not None:
            raise ValueError(
                "dilations='random' applies full, shared kernels: it requires "
                f"sharing='shared' and separable=None, got sharing={self.sharing!r} and "
                f"separable={self.separable!r}."
            )
        if isinstance(X, list):
            return min(x.shape[0] for x in X)
        if isinstance(X, FeatureMaps) and is_variable_size(X):
            raise ValueError(
                "dilations='random' needs the signal length, which varies within "
                "these feature maps; pass the signals themselves or fixed-size maps."
            )
        return int(X.shape[1])

    def _conv(self, x, out=None):
        dilations = getattr(self, "dilations_", None)
        if dilations is None:
            return super()._conv(x, out)
        out = None
        # One engine call per distinct dilation; "same" padding makes every
        # group's maps the same length, so they interleave back in filter order.
        for d in np.unique(dilations):
            idx = np.flatnonzero(dilations == d)
            z = _engine.conv(
                x,
                self.filters_[idx],
                stride=self._stride,
                padding=self.padding,
                dilation=(int(d),),
                flip=self.flip,
            )
            if out is None:
                out = np.empty(z.shape[:-1] + (self.n_filters_,), dtype=z.dtype)
            out[..., idx] = z
        return out

    def _conv_transpose(self, Y, spatial):
        # With per-filter dilations the adjoint is the sum, over the dilations, of
        # the transposed convolutions of their filters.
        dilations = getattr(self, "dilations_", None)
        if dilations is None:
            return super()._conv_transpose(Y, spatial)
        Xr = None
        for d in np.unique(dilations):
            idx = np.flatnonzero(dilations == d)
            part = _engine.conv_transpose(
                np.ascontiguousarray(Y[..., idx]),
                self.filters_[idx],
                spatial,
                stride=self._stride,
                padding=self.padding,
                dilation=(int(d),),
                flip=self.flip,
            )
            Xr = part if Xr is None else Xr + part
        return Xr


# ---------------------------------------------------------------------------
# GaborConv
# ---------------------------------------------------------------------------


class _HandDesignedBank:
    """``kernel_size`` of the hand-designed banks: None (the natural support of a
    2-D bank), an int or pair (2-D), or a 1-tuple (signals)."""

    def _kernel(self):
        if self.kernel_size is None:
            return None
        return check_kernel_size(self.kernel_size, ndims=(1, 2))

    def _kernel_fix(self):
        if self.kernel_size is None:
            return (
                "The bank's kernels have their natural support here (kernel_size=None): give "
                "a kernel_size that fits the input, which crops them, or padding='same'."
            )
        return super()._kernel_fix()

    def _spatial_ndim(self):
        kernel = self._kernel()
        return 2 if kernel is None else len(kernel)


@fill_doc
class GaborConv(_HandDesignedBank, BaseConv):
    """Convolution with a bank of Gabor filters.

    Gabor filters (a Gaussian envelope times a sinusoid) at several frequencies
    and orientations model the simple cells of the visual cortex [1]_ and are
    classic texture features [2]_. The filters are those of
    :func:`skconv.filters.gabor_bank` (built on
    :func:`skimage.filters.gabor_kernel`), ordered frequency-major,
    orientation-minor.

    ``part="magnitude"`` gives the energy of complex cells [3]_,
    ``sqrt(re**2 + im**2)`` of the responses to the real (even) and imaginary
    (odd) filters of each pair, which is insensitive to the phase of the
    pattern. Both banks go through one convolution with ``2 * F`` filters:
    ``filters_`` holds the ``F`` real filters followed by the ``F`` imaginary
    ones (with ``groups``, that block of ``2 * F`` per group), and the maps
    have ``F`` channels (per group) before the encoding, which is applied to
    the magnitude.

    Colour (multichannel) input: with ``groups=1`` every filter spans all the
    channels with the same kernel, so it responds to the sum of the channels;
    ``groups=n_channels`` gives each channel its own copy of the bank
    (per-channel responses, channel-major). In general each group of input
    channels gets the whole bank.

    With a 1-tuple ``kernel_size`` the filters are 1-D Gabor atoms for signals
    (the central row of the orientation-0 kernel, one filter per frequency).

    Parameters
    ----------
    frequencies : float or sequence of float, default=(0.2, 0.3, 0.4)
        Spatial frequencies of the sinusoid, in cycles per pixel. The default
        bank's largest kernel (frequency 0.2, bandwidth 1) is 19x19, so it fits
        28x28 images such as MNIST; lower frequencies need larger kernels (0.1:
        35x35).
    n_orientations : int, default=8
        Orientations ``theta = k * pi / n_orientations``. Not used for 1-D
        kernels.
    sigmas : float or sequence of float, default=None
        Standard deviation of the Gaussian envelope, one for all frequencies or
        one per frequency. None derives it from ``bandwidth``.
    bandwidth : float, default=1
        Bandwidth in octaves, used when ``sigmas`` is None.
    n_stds : float, default=3
        The natural support of each kernel extends ``n_stds`` standard
        deviations.
    kernel_size : None, int or tuple of int, default=None
        None keeps each kernel's natural support, zero-padded (centred) to the
        largest of the bank. An int (square) or a pair centre-crops or zero-pads
        every kernel to that size; a 1-tuple gives 1-D filters of that length.
    part : {"real", "imag", "both", "magnitude"}, default="real"
        The even filters, the odd filters, both (real then imaginary filter for
        each frequency and orientation, ``2 * F`` channels), or the
        complex-cell magnitude (``F`` channels).
    %(conv_geometry)s
    %(groups_bank)s
    %(separable)s
        Gabor kernels with a circular envelope (``sigmas`` one number per
        frequency, the default) are exactly of rank 2.
    %(flip)s
    %(encoding)s
    %(conv_io)s

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters_, *kernel, n_channels // groups)
        The filters: ``groups`` copies of the bank; for ``part="magnitude"``
        each copy is the real bank followed by the imaginary bank.
    bias_ : None
    n_filters_ : int
        Filters convolved (``2 * F * groups`` for ``"both"`` and
        ``"magnitude"``, else ``F * groups``, with ``F = len(frequencies) *
        n_orientations``).
    n_output_channels_ : int
        Channels of the maps (``F * groups`` for ``"magnitude"``, doubled by
        ``encoding="split"``).
    %(separable_attributes)s
    %(input_attributes)s

    See Also
    --------
    skconv.filters.gabor_bank : the filters as a plain function.

    References
    ----------
    .. [1] J. G. Daugman, "Uncertainty relation for resolution in space,
       spatial frequency, and orientation optimized by two-dimensional visual
       cortical filters", J. Opt. Soc. Am. A 2(7), 1985.
    .. [2] A. K. Jain and F. Farrokhnia, "Unsupervised texture segmentation
       using Gabor filters", Pattern Recognition 24(12), 1991.
    .. [3] E. H. Adelson and J. R. Bergen, "Spatiotemporal energy models for
       the perception of motion", J. Opt. Soc. Am. A 2(2), 1985.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skconv import GaborConv
    >>> X = load_digits().images[:5]
    >>> gabor = GaborConv((0.25, 0.4), 4, kernel_size=5, part="magnitude").fit(X)
    >>> gabor.filters_.shape, gabor.n_output_channels_
    ((16, 5, 5, 1), 8)
    >>> gabor.transform(X).shape
    (5, 4, 4, 8)

    Applied through two separable terms per filter, the maps are the same:

    >>> sep = GaborConv((0.25, 0.4), 4, kernel_size=5, part="magnitude",
    ...                 separable=2).fit(X)
    >>> float(sep.approximation_error_.max()) < 1e-6
    True
    """

    def __init__(
        self,
        frequencies=(0.2, 0.3, 0.4),
        n_orientations=8,
        *,
        sigmas=None,
        bandwidth=1,
        n_stds=3,
        kernel_size=None,
        part="real",
        stride=1,
        padding="valid",
        dilation=1,
        groups=1,
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
        self.frequencies = frequencies
        self.n_orientations = n_orientations
        self.sigmas = sigmas
        self.bandwidth = bandwidth
        self.n_stds = n_stds
        self.kernel_size = kernel_size
        self.part = part
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
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


    def _fit_filters(self, X, y):
        return self._bank(self._channels_per_group()), None

    def _planned_bank(self, n_channels):
        bank = self._bank(1)
        return bank.shape[0], bank.shape[1:-1]

    def _bank(self, n_channels):
        """The filters (``groups`` copies) for ``n_channels`` channels per group."""
        part = check_option(self.part, "part", ("real", "imag", "both", "magnitude"))
        kernel = self._kernel()
        # the bank function checks the other parameters, which share its names
        common = dict(
            sigmas=self.sigmas, bandwidth=self.bandwidth, n_stds=self.n_stds,
            kernel_size=kernel, ndim=2 if kernel is None else len(kernel),
            n_channels=n_channels,
        )
        if part == "magnitude":
            re = gabor_bank(self.frequencies, self.n_orientations, part="real", **common)
            im = gabor_bank(self.frequencies, self.n_orientations, part="imag", **common)
            bank = np.concatenate([re, im])
        else:
            bank = gabor_bank(self.frequencies, self.n_orientations, part=part, **common)
        return self._replicate_for_groups(bank)

    def _n_output_channels(self, n_filters):
        if self.part == "magnitude":
            n_filters //= 2
        return n_encoded_channels(self.encoding, n_filters)

    def _encode(self, z, x_batch):
        if self.part == "magnitude":
            # Per group: F real responses then F imaginary ones.
            f = z.shape[-1] // (2 * self._groups)
            pairs = z.reshape(z.shape[:-1] + (self._groups, 2, f))
            re, im = pairs[..., 0, :], pairs[..., 1, :]
            z = np.sqrt(re * re + im * im).reshape(z.shape[:-1] + (self._groups * f,))
        return encode(z, self.encoding, self.alpha)

    def _no_inverse_reason(self):
        if self.part == "magnitude":
            return "part='magnitude': the magnitude discards the phase of the responses"
        return super()._no_inverse_reason()


# ---------------------------------------------------------------------------
# EdgeConv
# ---------------------------------------------------------------------------

# The default operators of EdgeConv, per kernel dimension.
_DEFAULT_EDGES = {1: ("diff", "laplace"), 2: ("sobel", "prewitt", "scharr", "roberts", "laplace")}


@fill_doc
class EdgeConv(_HandDesignedBank, BaseConv):
    """Convolution with classic edge, blob and derivative filters.

    One bank made of any of:

    - ``filters``: the 3x3 operators of :func:`skconv.filters.edge_bank` —
      ``"sobel"``, ``"prewitt"``, ``"scharr"`` (their ``x`` then ``y`` kernels),
      ``"roberts"`` (both diagonals), ``"laplace"`` (4-neighbour; also
      ``"laplace4"``, ``"laplace8"``) or any single kernel name of
      :data:`skconv.filters.EDGE_FILTERS` (``"sobel_x"``, ...);
    - ``log_sigmas``: Laplacians of Gaussian at those scales
      (:func:`skconv.filters.log_bank`);
    - ``dog_sigmas``: differences of Gaussians ``G_s - G_{dog_ratio s}``
      (:func:`skconv.filters.dog_bank`);
    - ``derivative_sigmas``: oriented first and second Gaussian derivatives
      (``derivative_orders``) at ``n_orientations`` angles
      (:func:`skconv.filters.gaussian_derivative_bank`);
    - ``bank="leung_malik"`` (or ``"leung_malik_small"``): the 48-filter
      Leung-Malik texture bank on a 49x49 support
      (:func:`skconv.filters.leung_malik_bank`).

    The filters come in that order. Kernels of different sizes are zero-padded,
    centred, to the largest size (or centre-cropped / padded to
    ``kernel_size``), so that they stack into one bank; with ``padding="valid"``
    the maps therefore lose the border of the largest kernel. All kernels are
    written for cross-correlation (``flip=False``): ``sobel_x`` responds like
    ``scipy.ndimage.sobel(image, axis=1)``.

    With a 1-tuple ``kernel_size`` the bank is 1-D, for signals: ``filters``
    may then be ``"diff"`` (``[-1, 0, 1]``, the central difference that
    ``scipy.ndimage.sobel`` computes on a signal) and ``"laplace"``
    (``[1, -2, 1]``); ``log_sigmas``, ``dog_sigmas`` and ``derivative_sigmas``
    give their 1-D Gaussian versions (the second derivative of a Gaussian for
    the LoG), and ``n_orientations`` is not used.

    Colour input: each group of input channels gets the whole bank, the kernel
    replicated in its channels (``groups=n_channels``: per-channel responses).
    ``encoding="abs"`` gives the edge strength regardless of its polarity.

    Parameters
    ----------
    filters : None, str or sequence of str, default=None
        Classic operators. None means ``("sobel", "prewitt", "scharr",
        "roberts", "laplace")`` for images and ``("diff", "laplace")`` for
        signals; ``()`` uses none.
    log_sigmas : float or sequence of float, default=()
        Scales of Laplacian-of-Gaussian filters.
    dog_sigmas : float or sequence of float, default=()
        Centre scales of difference-of-Gaussians filters.
    dog_ratio : float, default=1.6
        Surround-to-centre scale ratio of the DoG filters, > 1.
    derivative_sigmas : float or sequence of float, default=()
        Scales of oriented Gaussian derivative filters.
    derivative_orders : int or sequence of {1, 2}, default=(1, 2)
        Orders of the Gaussian derivative filters.
    n_orientations : int, default=6
        Angles ``k * pi / n_orientations`` of the 2-D derivative filters.
    bank : {None, "leung_malik", "leung_malik_small"}, default=None
        Append the Leung-Malik bank (large or small scales), 2-D only.
    kernel_size : None, int or tuple of int, default=None
        Common kernel size: None pads to the largest kernel; an int (square) or
        a pair crops or pads every kernel (cropping truncates large Gaussian
        kernels); a 1-tuple makes the bank 1-D with that length.
    truncate : float, default=4.0
        Natural support of the Gaussian kernels, in standard deviations.
    %(conv_geometry)s
    %(groups_bank)s
    %(separable)s
    flip : bool, default=False
        False computes cross-correlation (the convention of the kernels); True
        flips them (derivative filters then change sign).
    %(encoding)s
    %(conv_io)s

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters_, *kernel, n_channels // groups)
        The bank (``groups`` copies of it).
    filter_names_ : ndarray of str of shape (n_filters_,)
        A name for each filter, e.g. ``"sobel_x"``, ``"log_s2"``,
        ``"d1_s1_a30"`` (order 1, sigma 1, 30 degrees), ``"lm_12"``; with
        ``groups > 1`` prefixed by ``"g{group}_"``.
    bias_ : None
    %(separable_attributes)s
    %(conv_attributes)s

    See Also
    --------
    skconv.filters.edge_bank, skconv.filters.log_bank, skconv.filters.dog_bank,
    skconv.filters.gaussian_derivative_bank, skconv.filters.leung_malik_bank

    References
    ----------
    .. [1] %(ref_sobel)s
    .. [2] %(ref_marr)s
    .. [3] %(ref_freeman)s
    .. [4] %(ref_leung_malik)s

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skconv import EdgeConv
    >>> X = load_digits().images[:5]
    >>> edges = EdgeConv(("sobel", "laplace"), log_sigmas=1.0, padding="same",
    ...                  encoding="abs").fit(X)
    >>> list(edges.filter_names_)
    ['sobel_x', 'sobel_y', 'laplace4', 'log_s1']
    >>> edges.filters_.shape
    (4, 9, 9, 1)
    >>> edges.transform(X).shape
    (5, 8, 8, 4)
    >>> edges.cost((8, 8))["multiply_adds"]
    20736
    >>> EdgeConv(("sobel", "laplace"), log_sigmas=1.0, padding="same",
    ...          separable=2).cost((8, 8))["multiply_adds"]
    9216
    """

    def __init__(
        self,
        filters=None,
        *,
        log_sigmas=(),
        dog_sigmas=(),
        dog_ratio=1.6,
        derivative_sigmas=(),
        derivative_orders=(1, 2),
        n_orientations=6,
        bank=None,
        kernel_size=None,
        truncate=4.0,
        stride=1,
        padding="valid",
        dilation=1,
        groups=1,
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
        self.log_sigmas = log_sigmas
        self.dog_sigmas = dog_sigmas
        self.dog_ratio = dog_ratio
        self.derivative_sigmas = derivative_sigmas
        self.derivative_orders = derivative_orders
        self.n_orientations = n_orientations
        self.bank = bank
        self.kernel_size = kernel_size
        self.truncate = truncate
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
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


    def _fit_filters(self, X, y):
        bank, labels = self._bank(self._channels_per_group())
        self.filter_names_ = np.asarray(labels, dtype=object)
        return bank, None

    def _planned_bank(self, n_channels):
        bank = self._bank(1)[0]
        return bank.shape[0], bank.shape[1:-1]

    def _bank(self, n_channels):
        """The filters (``groups`` copies) for ``n_channels`` channels per group, and
        their names."""
        kernel = self._kernel()
        d = 2 if kernel is None else len(kernel)
        names = _expand_edge_names(
            _DEFAULT_EDGES[d] if self.filters is None else self.filters, d, "filters"
        )
        log_s = check_floats(self.log_sigmas, "log_sigmas", allow_empty=True)
        dog_s = check_floats(self.dog_sigmas, "dog_sigmas", allow_empty=True)
        der_s = check_floats(self.derivative_sigmas, "derivative_sigmas", allow_empty=True)
        check_option(self.bank, "bank", (None, "leung_malik", "leung_malik_small"))
        if self.bank is not None and d == 1:
            raise ValueError(
                f"bank must be None for 1-D kernels (the Leung-Malik bank is 2-D), got "
                f"{self.bank!r}."
            )
        truncate = check_float(self.truncate, "truncate", min_val=0.0, include_boundaries="neither")
        ratio = check_float(self.dog_ratio, "dog_ratio", min_val=1.0, include_boundaries="neither")
        orders = check_options(self.derivative_orders, "derivative_orders", (1, 2))
        n_orient = check_int(self.n_orientations, "n_orientations", min_val=1)
        common = dict(truncate=truncate, ndim=d, n_channels=n_channels)
        banks, labels = [], []
        if names:
            banks.append(edge_bank(names, ndim=d, n_channels=common["n_channels"]))
            labels.extend(names)
        if log_s:
            banks.append(log_bank(log_s, **common))
            labels.extend(f"log_s{s:g}" for s in log_s)
        if dog_s:
            banks.append(dog_bank(dog_s, ratio, **common))
            labels.extend(f"dog_s{s:g}" for s in dog_s)
        if der_s:
            banks.append(gaussian_derivative_bank(der_s, n_orient, orders, **common))
            if d == 1:
                labels.extend(f"d{o}_s{s:g}" for o in orders for s in der_s)
            else:
                labels.extend(
                    f"d{o}_s{s:g}_a{180 * k / n_orient:g}"
                    for o in orders
                    for s in der_s
                    for k in range(n_orient)
                )
        if self.bank is not None:
            variant = "large" if self.bank == "leung_malik" else "small"
            banks.append(leung_malik_bank(variant=variant, n_channels=common["n_channels"]))
            labels.extend(f"lm_{i}" for i in range(48))
        if not banks:
            raise ValueError(
                "EdgeConv has no filters: give filters, log_sigmas, dog_sigmas, "
                "derivative_sigmas or bank."
            )
        if self._groups > 1:
            labels = [f"g{g}_{name}" for g in range(self._groups) for name in labels]
        return self._replicate_for_groups(concatenate_banks(banks, kernel_size=kernel)), labels
