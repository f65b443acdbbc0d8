"""Filter banks as plain functions.

Every bank function returns an ndarray of shape
``(n_filters, *kernel, n_channels)``, the layout the convolution takes.
Filters are applied by **cross-correlation**::

    out[p] = sum_q x[p + q] * w[q]

where ``q`` runs over the kernel offsets relative to its centre (index
``(size - 1) // 2`` along each axis) and over the channels.  Hand-designed
kernels below are written in that convention, so for instance the Sobel ``x``
filter responds positively where the intensity increases along the columns
(axis 1) and the ``y`` filter where it increases down the rows (axis 0),
exactly as :func:`scipy.ndimage.sobel` does.  2-D orientations ``theta`` are
measured from the column axis towards the row axis: the direction of angle
``theta`` is ``(cos theta, sin theta)`` in ``(column, row)`` coordinates, the
convention of :func:`skimage.filters.gabor_kernel`.

The banks are plain arrays, usable without any estimator: correlate them with
an image with :func:`scipy.signal.correlate` or hand them to the convolution
estimators of this package.  Hand-designed 2-D banks given ``n_channels > 1``
replicate the same kernel in every channel, so their response to a
multichannel image is the response to the sum of its channels.

Signals (1-D) and volumes (3-D) have banks too: ``ndim=1`` gives the 1-D
Gabor atoms, derivative operators and Gaussian derivatives that
:class:`skconv.GaborConv` and :class:`skconv.EdgeConv` apply to signals, and
:func:`log_bank` and :func:`dog_bank` take ``ndim=3``; :func:`random_bank` draws
kernels of any of the three.

Random banks
    :func:`random_bank`, :func:`random_dilations`.
Gabor filters
    :func:`gabor_bank`.
Edge, blob and derivative filters
    :func:`edge_bank`, :func:`log_bank`, :func:`dog_bank`,
    :func:`gaussian_derivative_bank`, :func:`leung_malik_bank`.
Combining banks
    :func:`concatenate_banks`.
Separable (low-rank) approximation
    :func:`separable_factors`.
"""

import math

import numpy as np

from ._docs import fill_doc
from ._lowrank import separable_factors
from ._validation import (
    check_bool,
    check_dtype,
    check_float,
    check_floats,
    check_int,
    check_int_tuple,
    check_kernel_size,
    check_option,
    check_options,
    check_random_state,
    is_int,
)

__all__ = [
    "random_bank",
    "random_dilations",
    "gabor_bank",
    "edge_bank",
    "log_bank",
    "dog_bank",
    "gaussian_derivative_bank",
    "leung_malik_bank",
    "concatenate_banks",
    "separable_factors",
    "EDGE_FILTERS",
    "EDGE_FILTERS_1D",
]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _positive(value, name):
    return check_float(value, name, min_val=0.0, include_boundaries="neither")


def _fit_to_size(kernel, size):
    """Centre-crop or zero-pad a kernel so that its shape is ``size``.

    The centre index ``(s - 1) // 2`` of each axis lands on ``(t - 1) // 2``, so
    odd-sized kernels stay centred and the correlation keeps its alignment.
    """
    out = np.zeros(size, dtype=kernel.dtype)
    src, dst = [], []
    for s, t in zip(kernel.shape, size):
        offset = (t - 1) // 2 - (s - 1) // 2
        lo, hi = max(0, -offset), min(s, t - offset)
        src.append(slice(lo, hi))
        dst.append(slice(lo + offset, hi + offset))
    out[tuple(dst)] = kernel[tuple(src)]
    return out


def _stack(kernels, kernel_size, n_channels, dtype):
    """Bring kernels (all of one ndim) to one size, stack them and replicate across channels."""
    ndim = kernels[0].ndim
    if kernel_size is None:
        size = tuple(max(k.shape[a] for k in kernels) for a in range(ndim))
    else:
        size = check_int_tuple(kernel_size, "kernel_size", ndim)
    bank = np.stack([_fit_to_size(k, size) for k in kernels])
    bank = np.repeat(bank[..., np.newaxis], n_channels, axis=-1)
    return bank.astype(dtype, copy=False)


def concatenate_banks(banks, *, kernel_size=None):
    """Concatenate filter banks whose kernels differ in size into one bank.

    Every kernel is zero-padded, centred, to the largest size of all the banks
    along each axis (or centre-cropped / padded to ``kernel_size``): the centre
    index ``(s - 1) // 2`` of each axis stays the centre, so correlating with the
    padded kernel gives the same response as with the original one.

    Parameters
    ----------
    banks : sequence of ndarray of shape (n_filters_i, *kernel_i, n_channels)
        Banks with the same number of kernel dimensions and channels.
    kernel_size : int or tuple of int, default=None
        Common kernel size; None pads to the largest one.

    Returns
    -------
    bank : ndarray of shape (sum of n_filters_i, *kernel, n_channels)

    Examples
    --------
    >>> from skconv.filters import concatenate_banks, edge_bank, log_bank
    >>> concatenate_banks([edge_bank("sobel"), log_bank(1.0)]).shape
    (3, 9, 9, 1)
    """
    if isinstance(banks, np.ndarray) or not isinstance(banks, (list, tuple)) or not banks:
        raise TypeError(
            f"banks must be a non-empty list of filter banks, got {type(banks).__name__}."
        )
    banks = [np.asarray(b) for b in banks]
    first = banks[0]
    for i, b in enumerate(banks):
        if b.ndim not in (3, 4, 5) or b.ndim != first.ndim or b.shape[-1] != first.shape[-1]:
            raise ValueError(
                "banks must all have shape (n_filters, *kernel, n_channels) with the same "
                f"kernel dimensions and channels as banks[0] {first.shape}, got banks[{i}] "
                f"with shape {b.shape}."
            )
    ndim, c = first.ndim - 2, first.shape[-1]
    if kernel_size is None:
        size = tuple(max(b.shape[1 + a] for b in banks) for a in range(ndim))
    else:
        size = check_int_tuple(kernel_size, "kernel_size", ndim)
    return np.concatenate(
        [np.stack([_fit_to_size(k, size + (c,)) for k in b]) for b in banks if len(b)]
    )


# ---------------------------------------------------------------------------
# random banks
# ---------------------------------------------------------------------------


def _orthonormal_rows(rng, n_rows, dim, zero_mean):
    """``n_rows`` rows, orthonormal in blocks of at most the available dimension.

    The QR factor of a Gaussian matrix, with the signs of R's diagonal moved
    into Q, is distributed uniformly (Haar) over orthonormal frames.
    """
    # Centring the Gaussian draws keeps every column in the zero-mean subspace,
    # whose dimension is dim - 1, so rows stay orthonormal *and* zero-mean.
    block = dim - 1 if zero_mean else dim
    rows = []
    remaining = n_rows
    while remaining > 0:
        m = min(block, remaining)
        a = rng.standard_normal(size=(dim, m))
        if zero_mean:
            a -= a.mean(axis=0, keepdims=True)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        rows.append(q.T)
        remaining -= m
    return np.concatenate(rows, axis=0)


@fill_doc
def random_bank(
    n_filters,
    kernel_size,
    n_channels=1,
    *,
    distribution="gaussian",
    zero_mean=False,
    unit_norm=False,
    random_state=None,
    dtype=np.float64,
):
    """Draw a bank of random filters.

    Random, untrained filters followed by a nonlinearity and pooling already
    give features of surprising quality [1]_, [2]_; they are also the kernels of
    ROCKET for time series [3]_.

    Parameters
    ----------
    n_filters : int
        Number of filters.
    kernel_size : int or tuple of int
        Spatial size of each filter.  An int means a square 2-D kernel; a tuple
        of length 1, 2 or 3 gives a 1-D, 2-D or 3-D kernel.
    n_channels : int, default=1
        Number of input channels each filter spans.
    distribution : {"gaussian", "uniform", "orthogonal", "binary"}, default="gaussian"
        How the weights are drawn:

        - ``"gaussian"``: independent standard normal weights;
        - ``"uniform"``: independent weights uniform in ``[-1, 1]``;
        - ``"orthogonal"``: each filter, flattened to a vector of length
          ``dim = prod(kernel_size) * n_channels``, is a row of a random
          orthogonal matrix (Haar distributed, from the QR decomposition of a
          Gaussian matrix [4]_, [5]_).  When ``n_filters <= dim`` all rows are
          orthonormal.  A space of dimension ``dim`` holds at most ``dim``
          orthonormal vectors, so for ``n_filters > dim`` the bank is made of
          consecutive blocks of ``dim`` rows (the last one possibly shorter),
          each block orthonormal and drawn independently;
        - ``"binary"``: weights ``-1`` or ``+1`` with equal probability.
    zero_mean : bool, default=False
        Subtract from each filter its mean over kernel and channels.  With
        ``distribution="orthogonal"`` the rows are instead drawn inside the
        zero-mean subspace, so they are both zero-mean and orthonormal (in
        blocks of ``dim - 1`` rows).
    unit_norm : bool, default=False
        Scale each filter to unit Euclidean norm (after ``zero_mean``).
    random_state : int, RandomState instance or None, default=None
        Seed or generator, passed to :func:`sklearn.utils.check_random_state`.
    dtype : floating dtype, default=np.float64
        Dtype of the returned bank.

    Returns
    -------
    bank : ndarray of shape (n_filters, *kernel_size, n_channels)
        The filters, in the cross-correlation convention described in the
        module docstring.

    See Also
    --------
    random_dilations : ROCKET-style random dilations for 1-D random kernels.

    References
    ----------
    .. [1] %(ref_random_features)s
    .. [2] %(ref_saxe)s
    .. [3] %(ref_rocket)s
    .. [4] A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the
       nonlinear dynamics of learning in deep linear neural networks",
       ICLR 2014.
    .. [5] D. Mishkin and J. Matas, "All you need is a good init", ICLR 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv.filters import random_bank
    >>> bank = random_bank(16, 5, 3, distribution="orthogonal", random_state=0)
    >>> bank.shape
    (16, 5, 5, 3)
    >>> flat = bank.reshape(16, -1)
    >>> bool(np.allclose(flat @ flat.T, np.eye(16)))
    True
    """
    n_filters = check_int(n_filters, "n_filters", min_val=1)
    kernel = check_kernel_size(kernel_size)
    n_channels = check_int(n_channels, "n_channels", min_val=1)
    check_option(distribution, "distribution", ("gaussian", "uniform", "orthogonal", "binary"))
    zero_mean = check_bool(zero_mean, "zero_mean")
    unit_norm = check_bool(unit_norm, "unit_norm")
    dtype = check_dtype(dtype, choices=None)
    rng = check_random_state(random_state)
    shape = (n_filters, *kernel, n_channels)
    dim = math.prod(kernel) * n_channels
    if zero_mean and dim < 2:
        raise ValueError(
            "zero_mean=True needs at least 2 weights per filter (prod(kernel_size) * n_channels >= 2); "
            f"got kernel_size={kernel_size!r}, n_channels={n_channels}."
        )

    if distribution == "gaussian":
        bank = rng.standard_normal(size=shape)
    elif distribution == "uniform":
        bank = rng.uniform(-1.0, 1.0, size=shape)
    elif distribution == "binary":
        bank = 2.0 * rng.randint(0, 2, size=shape) - 1.0
    else:
        bank = _orthonormal_rows(rng, n_filters, dim, zero_mean).reshape(shape)

    flat = bank.reshape(n_filters, -1)
    if zero_mean and distribution != "orthogonal":
        flat -= flat.mean(axis=1, keepdims=True)
    if unit_norm:
        norms = np.linalg.norm(flat, axis=1, keepdims=True)
        # a filter of all zeros has no direction: leave it as it is
        flat /= np.where(norms > 0, norms, 1.0)
    return flat.reshape(shape).astype(dtype, copy=False)


@fill_doc
def random_dilations(n_filters, kernel_length, input_length, *, random_state=None):
    """Draw ROCKET-style random dilations for 1-D kernels.

    Each dilation is ``floor(2 ** u)`` with ``u`` uniform in
    ``[0, log2((input_length - 1) / (kernel_length - 1))]``, as in ROCKET [1]_:
    exponentially distributed dilations, so that the dilated kernel, which
    spans ``(kernel_length - 1) * dilation + 1`` samples, never exceeds the
    input.  When the kernel is at least as long as the input, or has a single
    tap (dilation is then meaningless), the dilation is 1.

    Parameters
    ----------
    n_filters : int
        Number of dilations to draw.
    kernel_length : int or array-like of int of shape (n_filters,)
        Length of each kernel (one for all, or one per kernel as ROCKET draws
        lengths 7, 9 or 11).
    input_length : int
        Length of the input series.
    random_state : int, RandomState instance or None, default=None
        Seed or generator, passed to :func:`sklearn.utils.check_random_state`.

    Returns
    -------
    dilations : ndarray of shape (n_filters,), dtype int64
        Dilations, each ``>= 1``.

    References
    ----------
    .. [1] %(ref_rocket)s

    Examples
    --------
    >>> from skconv.filters import random_dilations
    >>> d = random_dilations(1000, 9, 500, random_state=0)
    >>> int(d.min()) >= 1 and int((9 - 1) * d.max() + 1) <= 500
    True
    """
    n_filters = check_int(n_filters, "n_filters", min_val=1)
    input_length = check_int(input_length, "input_length", min_val=1)
    if is_int(kernel_length):
        length = check_int(kernel_length, "kernel_length", min_val=1)
        lengths = np.full(n_filters, length, dtype=np.int64)
    else:
        lengths = np.asarray(kernel_length)
        if lengths.shape != (n_filters,) or lengths.dtype.kind not in "iu" or lengths.min() < 1:
            raise ValueError(
                f"kernel_length must be an int >= 1 or an integer array of shape "
                f"(n_filters,) = ({n_filters},) of values >= 1, got {kernel_length!r}."
            )
        lengths = lengths.astype(np.int64)
    rng = check_random_state(random_state)
    exponent = np.zeros(n_filters)
    long = (lengths > 1) & (input_length > lengths)
    exponent[long] = np.log2((input_length - 1) / (lengths[long] - 1))
    u = rng.uniform(0.0, 1.0, size=n_filters) * exponent
    return np.floor(2.0**u).astype(np.int64)


# ---------------------------------------------------------------------------
# Gabor filters
# ---------------------------------------------------------------------------


def gabor_bank(
    frequencies=(0.1, 0.2, 0.3),
    n_orientations=8,
    *,
    sigmas=None,
    bandwidth=1,
    n_stds=3,
    kernel_size=None,
    part="real",
    ndim=2,
    n_channels=1,
    dtype=np.float64,
):
    """Build a bank of Gabor filters (2-D, or 1-D for signals).

    A Gabor filter is a Gaussian envelope times a complex sinusoid; banks of
    them at several frequencies and orientations model simple cells of the
    visual cortex [1]_, [2]_ and are classic texture features [3]_.  Each 2-D
    filter is :func:`skimage.filters.gabor_kernel` ``(frequency, theta,
    bandwidth, sigma_x=sigma, sigma_y=sigma, n_stds=n_stds)``.

    With ``ndim=1`` each filter is the 1-D atom
    ``exp(-x**2 / (2 sigma**2)) / (sqrt(2 pi) sigma) * exp(2j pi f x)`` on the
    support of radius ``ceil(max(n_stds * sigma, 1))``, with ``sigma`` from the
    bandwidth by the same rule: the central row of the orientation-0 kernel,
    rescaled to a 1-D Gaussian's normalization. There is one filter per
    frequency (``n_orientations`` is not used).

    Parameters
    ----------
    frequencies : float or sequence of float, default=(0.1, 0.2, 0.3)
        Spatial frequencies of the sinusoid, in cycles per pixel.
    n_orientations : int, default=8
        Number of orientations ``theta = k * pi / n_orientations`` for
        ``k = 0, ..., n_orientations - 1``.  ``theta`` is the direction of the
        wave vector, measured from the column axis towards the row axis.
    sigmas : float or sequence of float, default=None
        Standard deviation of the (isotropic) Gaussian envelope, one for all
        frequencies or one per frequency.  None derives it from ``bandwidth``
        and the frequency, as :func:`skimage.filters.gabor_kernel` does.
    bandwidth : float, default=1
        Bandwidth in octaves, used when ``sigmas`` is None.
    n_stds : float, default=3
        The natural support of each kernel extends ``n_stds`` standard
        deviations.
    kernel_size : int or tuple of ndim ints, default=None
        None keeps each kernel's natural support, zero-padded (centred) to the
        largest in the bank so that they stack.  An int (square) or a tuple
        centre-crops or zero-pads every kernel to that size.
    part : {"real", "imag", "both", "complex"}, default="real"
        Which filters to return: the real (even, cosine) part, the imaginary
        (odd, sine) part, both as consecutive filters (real then imaginary for
        each frequency and orientation), or the complex kernels themselves, from
        whose responses one computes magnitude or energy.
    ndim : {1, 2}, default=2
        Images (2) or signals (1).
    n_channels : int, default=1
        The kernel is replicated in each of ``n_channels`` channels, so its
        response to a multichannel image is the response to the sum of the
        channels.
    dtype : floating dtype, default=np.float64
        Real dtype of the returned bank; with ``part="complex"`` the complex
        dtype of the same precision.

    Returns
    -------
    bank : ndarray of shape (n_filters, *kernel, n_channels)
        ``n_filters = len(frequencies) * n_orientations`` (``len(frequencies)``
        in 1-D; twice that for ``part="both"``), ordered frequency-major,
        orientation-minor: filter ``i * n_orientations + k`` has frequency
        ``frequencies[i]`` and orientation ``k * pi / n_orientations``.

    References
    ----------
    .. [1] J. G. Daugman, "Uncertainty relation for resolution in space,
       spatial frequency, and orientation optimized by two-dimensional visual
       cortical filters", J. Opt. Soc. Am. A 2(7), 1985.
    .. [2] J. P. Jones and L. A. Palmer, "An evaluation of the two-dimensional
       Gabor filter model of simple receptive fields in cat striate cortex",
       J. Neurophysiology 58(6), 1987.
    .. [3] A. K. Jain and F. Farrokhnia, "Unsupervised texture segmentation
       using Gabor filters", Pattern Recognition 24(12), 1991.

    Examples
    --------
    >>> from skconv.filters import gabor_bank
    >>> gabor_bank((0.1, 0.25), 4, kernel_size=15).shape
    (8, 15, 15, 1)
    >>> gabor_bank(0.2, 6, part="both", n_channels=3).shape[0]
    12
    >>> gabor_bank((0.1, 0.25), ndim=1).shape
    (2, 35, 1)
    """
    from skimage.filters import gabor_kernel

    frequencies = list(check_floats(frequencies, "frequencies"))
    n_orientations = check_int(n_orientations, "n_orientations", min_val=1)
    if sigmas is None:
        sigma_list = [None] * len(frequencies)
    else:
        sigma_list = list(check_floats(sigmas, "sigmas"))
        if len(sigma_list) == 1:
            sigma_list = sigma_list * len(frequencies)
        elif len(sigma_list) != len(frequencies):
            raise ValueError(
                f"sigmas must be one number or one per frequency ({len(frequencies)}), got "
                f"{len(sigma_list)} numbers."
            )
    bandwidth = _positive(bandwidth, "bandwidth")
    n_stds = _positive(n_stds, "n_stds")
    check_option(part, "part", ("real", "imag", "both", "complex"))
    ndim = check_option(ndim, "ndim", (1, 2))
    n_channels = check_int(n_channels, "n_channels", min_val=1)
    dtype = check_dtype(dtype, choices=None)

    kernels = []
    for frequency, sigma in zip(frequencies, sigma_list):
        for k in range(n_orientations if ndim == 2 else 1):
            if ndim == 1:
                g = _gabor_1d(frequency, sigma, bandwidth, n_stds)
            else:
                g = gabor_kernel(
                    frequency,
                    theta=k * np.pi / n_orientations,
                    bandwidth=bandwidth,
                    sigma_x=sigma,
                    sigma_y=sigma,
                    n_stds=n_stds,
                )
            if part == "real":
                kernels.append(g.real)
            elif part == "imag":
                kernels.append(g.imag)
            elif part == "both":
                kernels.extend([g.real, g.imag])
            else:
                kernels.append(g)
    out_dtype = np.result_type(dtype, np.complex64) if part == "complex" else dtype
    return _stack(kernels, kernel_size, n_channels, out_dtype)


def _gabor_1d(frequency, sigma, bandwidth, n_stds):
    """Complex 1-D Gabor atom; ``sigma=None`` derives the width from the bandwidth."""
    if sigma is None:
        # the width whose frequency response spans ``bandwidth`` octaves at half
        # amplitude: the rule of skimage.filters.gabor_kernel
        b = 2.0**bandwidth
        sigma = math.sqrt(math.log(2) / 2) / math.pi * (b + 1) / (b - 1) / frequency
    r = int(math.ceil(max(n_stds * sigma, 1.0)))
    x = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-(x**2) / (2 * sigma**2)) / (math.sqrt(2 * math.pi) * sigma)
    return g * np.exp(2j * math.pi * frequency * x)


# ---------------------------------------------------------------------------
# edge filters
# ---------------------------------------------------------------------------

_DIFF = np.array([-1.0, 0.0, 1.0])


def _edge_pair(smooth):
    smooth = np.asarray(smooth, dtype=np.float64)
    x = np.outer(smooth, _DIFF)  # derivative along columns, smoothing along rows
    return x, x.T


_SOBEL_X, _SOBEL_Y = _edge_pair([1, 2, 1])
_PREWITT_X, _PREWITT_Y = _edge_pair([1, 1, 1])
_SCHARR_X, _SCHARR_Y = _edge_pair([3, 10, 3])

#: The single 3x3 kernels :func:`edge_bank` knows, in the correlation convention.
EDGE_FILTERS = {
    "sobel_x": _SOBEL_X,
    "sobel_y": _SOBEL_Y,
    "prewitt_x": _PREWITT_X,
    "prewitt_y": _PREWITT_Y,
    "scharr_x": _SCHARR_X,
    "scharr_y": _SCHARR_Y,
    # the 2x2 Roberts cross placed so that its first tap is the centre pixel
    "roberts_pos_diag": np.array([[0.0, 0, 0], [0, -1, 0], [0, 0, 1]]),
    "roberts_neg_diag": np.array([[0.0, 0, 0], [0, 0, -1], [0, 1, 0]]),
    "laplace4": np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "laplace8": np.array([[1.0, 1, 1], [1, -8, 1], [1, 1, 1]]),
}
for _kernel in EDGE_FILTERS.values():
    _kernel.flags.writeable = False

_EDGE_GROUPS = {
    "sobel": ("sobel_x", "sobel_y"),
    "prewitt": ("prewitt_x", "prewitt_y"),
    "scharr": ("scharr_x", "scharr_y"),
    "roberts": ("roberts_pos_diag", "roberts_neg_diag"),
    "laplace": ("laplace4",),
}

#: The 1-D derivative kernels :func:`edge_bank` knows with ``ndim=1``.
EDGE_FILTERS_1D = {
    "diff": np.array([-1.0, 0.0, 1.0]),
    "laplace": np.array([1.0, -2.0, 1.0]),
}
for _kernel in EDGE_FILTERS_1D.values():
    _kernel.flags.writeable = False

_DEFAULT_EDGES = {
    1: ("diff", "laplace"),
    2: ("sobel", "prewitt", "scharr", "roberts", "laplace4", "laplace8"),
}


@fill_doc
def edge_bank(names=None, *, ndim=2, return_names=False, n_channels=1, dtype=np.float64):
    """Build a bank of classic 3x3 edge and Laplacian filters (or their 1-D forms).

    All kernels are unnormalized integer kernels written for
    cross-correlation (see the module docstring): ``x`` filters respond
    positively where intensity increases along the columns, ``y`` filters
    where it increases down the rows.

    - ``sobel_x`` [1]_: ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``;
    - ``prewitt_x`` [2]_: ``[[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]``;
    - ``scharr_x`` [3]_: ``[[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]``;
    - ``roberts_pos_diag`` [4]_: ``[[-1, 0], [0, 1]]`` in rows and columns 1:3;
    - ``roberts_neg_diag`` [4]_: ``[[0, -1], [1, 0]]`` in rows and columns 1:3;
    - ``laplace4``: ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``;
    - ``laplace8``: ``[[1, 1, 1], [1, -8, 1], [1, 1, 1]]``.

    The ``_y`` kernels are the transposes of the ``_x`` ones, and ``laplace``
    is ``laplace4``.  Their responses
    equal :func:`scipy.ndimage.sobel`, :func:`scipy.ndimage.prewitt` and
    :func:`scipy.ndimage.laplace` (``axis=1`` for ``x``, ``axis=0`` for
    ``y``), 16 times :func:`skimage.filters.scharr` and exactly
    :func:`skimage.filters.roberts_pos_diag` / ``roberts_neg_diag``.  The
    2x2 Roberts cross is embedded in a 3x3 kernel so that it stacks with the
    others; its upper-left tap sits on the centre pixel.

    With ``ndim=1`` the operators are those of signals (:data:`EDGE_FILTERS_1D`):
    ``"diff"``, the central difference ``[-1, 0, 1]`` that
    :func:`scipy.ndimage.sobel` and :func:`scipy.ndimage.prewitt` compute on a
    signal, and ``"laplace"``, ``[1, -2, 1]`` as :func:`scipy.ndimage.laplace`.

    Parameters
    ----------
    names : str or sequence of str, default=None
        Filters to include, in order.  Single kernels are named as in
        :data:`EDGE_FILTERS`; the families ``"sobel"``, ``"prewitt"``,
        ``"scharr"`` expand to their ``x`` and ``y`` kernels and
        ``"roberts"`` to its two diagonals.  None means ``("sobel", "prewitt",
        "scharr", "roberts", "laplace4", "laplace8")`` in 2-D and ``("diff",
        "laplace")`` in 1-D.
    ndim : {1, 2}, default=2
        Images (2) or signals (1).
    return_names : bool, default=False
        Also return the name of each filter (the families expanded).
    %(bank_out)s

    Returns
    -------
    bank : ndarray of shape (n_filters, 3, 3, n_channels) or (n_filters, 3, n_channels)
        The 2-D default gives 10 filters.
    names : list of str
        With ``return_names=True``: the single kernel names, in order.

    References
    ----------
    .. [1] %(ref_sobel)s
    .. [2] J. M. S. Prewitt, "Object enhancement and extraction", in Picture
       Processing and Psychopictorics, Academic Press, 1970.
    .. [3] H. Scharr, "Optimal operators in digital image processing", PhD
       thesis, University of Heidelberg, 2000.
    .. [4] L. G. Roberts, "Machine perception of three-dimensional solids",
       PhD thesis, MIT, 1963.

    Examples
    --------
    >>> from skconv.filters import edge_bank
    >>> edge_bank(("sobel", "laplace4")).shape
    (3, 3, 3, 1)
    >>> edge_bank("sobel_x")[0, ..., 0]
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    >>> bank, names = edge_bank(ndim=1, return_names=True)
    >>> names, bank[:, :, 0]
    (['diff', 'laplace'], array([[-1.,  0.,  1.],
           [ 1., -2.,  1.]]))
    """
    ndim = check_option(ndim, "ndim", (1, 2))
    singles = _expand_edge_names(_DEFAULT_EDGES[ndim] if names is None else names, ndim)
    if not singles:
        raise ValueError("names must name at least one filter, got an empty sequence.")
    return_names = check_bool(return_names, "return_names")
    n_channels = check_int(n_channels, "n_channels", min_val=1)
    dtype = check_dtype(dtype, choices=None)
    known = EDGE_FILTERS if ndim == 2 else EDGE_FILTERS_1D
    bank = _stack([known[n] for n in singles], None, n_channels, dtype)
    return (bank, singles) if return_names else bank


def _expand_edge_names(names, ndim, param="names"):
    """Single kernel names of ``names`` (families such as ``"sobel"`` expanded)."""
    if isinstance(names, str):
        names = (names,)
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise TypeError(
            f"{param} must be a filter name or a sequence of names, got {names!r}."
        )
    known = EDGE_FILTERS if ndim == 2 else EDGE_FILTERS_1D
    groups = _EDGE_GROUPS if ndim == 2 else {}
    singles = []
    for name in names:
        if name in groups:
            singles.extend(groups[name])
        elif name in known:
            singles.append(name)
        else:
            raise ValueError(
                f"{param} must hold {ndim}-D edge filter names, each one of "
                f"{sorted(groups) + sorted(known)}, got {name!r}."
            )
    return singles


# ---------------------------------------------------------------------------
# Gaussian families
# ---------------------------------------------------------------------------


def _radius(sigma, truncate):
    # scipy.ndimage's rule, so that the kernels match its filters exactly
    return int(truncate * sigma + 0.5)


def _grid(radius):
    """(x, y) = (column, row) offsets of a (2r+1) x (2r+1) kernel."""
    r = np.arange(-radius, radius + 1, dtype=np.float64)
    return r[np.newaxis, :], r[:, np.newaxis]


def _squared_radius(radius, ndim):
    """Squared distance to the centre on a (2r+1)^ndim support."""
    r = np.arange(-radius, radius + 1, dtype=np.float64)
    sq = 0.0
    for axis in range(ndim):
        sq = sq + r.reshape((-1,) + (1,) * (ndim - 1 - axis)) ** 2
    return sq


def _gaussian(sigma, truncate, ndim=2):
    """Isotropic Gaussian normalized to sum 1 on its truncated square support.

    On a square support this is the outer product of 1-D Gaussians that each
    sum to 1, i.e. the kernel of :func:`scipy.ndimage.gaussian_filter`.
    """
    g = np.exp(-_squared_radius(_radius(sigma, truncate), ndim) / (2 * sigma**2))
    return g / g.sum()


def _gaussian_derivative_1d(sigma, truncate, order):
    """Sampled 1-D Gaussian derivative of ``order`` 1 or 2, for correlation.

    Order 1 is ``x / sigma**2 * g`` (correlating with it differentiates the
    smoothed signal), order 2 ``(x**2 / sigma**4 - 1 / sigma**2) * g``, with ``g``
    summing to 1: the kernels of :func:`scipy.ndimage.gaussian_filter1d` in the
    correlation convention.
    """
    x = np.arange(-_radius(sigma, truncate), _radius(sigma, truncate) + 1, dtype=np.float64)
    g = np.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    if order == 1:
        return x / sigma**2 * g
    return (x**2 / sigma**4 - 1 / sigma**2) * g


@fill_doc
def log_bank(
    sigmas=(1.0, 2.0, 4.0),
    *,
    kernel_size=None,
    truncate=4.0,
    scale_normalized=False,
    ndim=2,
    n_channels=1,
    dtype=np.float64,
):
    """Build a bank of Laplacian-of-Gaussian (LoG) filters, in 1-D, 2-D or 3-D.

    The LoG ``(x**2 + y**2 - 2 sigma**2) / sigma**4 * G_sigma(x, y)`` is the
    blob / zero-crossing edge detector of Marr and Hildreth [1]_.  ``G_sigma``
    is sampled on a square of radius ``int(truncate * sigma + 0.5)`` and
    normalized to sum 1 there, which makes each filter's response equal to
    :func:`scipy.ndimage.gaussian_laplace` with the same ``truncate`` away from
    the image border.  The centre is negative: bright blobs give negative
    responses.  In ``ndim`` dimensions the filter is ``(r**2 - ndim sigma**2) /
    sigma**4 * G_sigma``; in 1-D, the second derivative of the Gaussian.

    Parameters
    ----------
    sigmas : float or sequence of float, default=(1.0, 2.0, 4.0)
        Scales (standard deviations of the Gaussian), one filter each.
    kernel_size : int or tuple of ndim ints, default=None
        None zero-pads every kernel (centred) to the largest natural support in
        the bank; an int (square) or a pair centre-crops or pads each kernel to
        that size (cropping truncates the kernel further).
    truncate : float, default=4.0
        The natural support extends this many standard deviations.
    scale_normalized : bool, default=False
        Multiply each filter by ``sigma**2``, Lindeberg's scale normalization
        [2]_, so that responses at different scales are comparable.
    %(gaussian_bank_out)s

    References
    ----------
    .. [1] %(ref_marr)s
    .. [2] T. Lindeberg, "Feature detection with automatic scale selection",
       International Journal of Computer Vision 30(2), 1998.

    Examples
    --------
    >>> from skconv.filters import log_bank
    >>> log_bank((1, 2)).shape
    (2, 17, 17, 1)
    >>> log_bank(1.0, ndim=3).shape
    (1, 9, 9, 9, 1)
    """
    sigmas = check_floats(sigmas, "sigmas")
    truncate = _positive(truncate, "truncate")
    scale_normalized = check_bool(scale_normalized, "scale_normalized")
    ndim = check_option(ndim, "ndim", (1, 2, 3))
    n_channels = check_int(n_channels, "n_channels", min_val=1)
    dtype = check_dtype(dtype, choices=None)
    kernels = []
    for sigma in sigmas:
        if ndim == 1:
            log = _gaussian_derivative_1d(sigma, truncate, 2)
        else:
            sq = _squared_radius(_radius(sigma, truncate), ndim)
            log = (sq - ndim * sigma**2) / sigma**4 * _gaussian(sigma, truncate, ndim)
        kernels.append(log * sigma**2 if scale_normalized else log)
    return _stack(kernels, kernel_size, n_channels, dtype)


@fill_doc
def dog_bank(
    sigmas=(1.0, 2.0, 4.0),
    k=1.6,
    *,
    kernel_size=None,
    truncate=4.0,
    ndim=2,
    n_channels=1,
    dtype=np.float64,
):
    """Build a bank of difference-of-Gaussians (DoG) filters, in 1-D, 2-D or 3-D.

    Each filter is ``G_sigma - G_{k sigma}``, both Gaussians normalized to sum 1
    on their truncated supports (radius ``int(truncate * s + 0.5)``), so every
    filter sums to zero and its response equals
    ``gaussian_filter(x, sigma) - gaussian_filter(x, k * sigma)`` of
    :mod:`scipy.ndimage` away from the border.  The centre is positive (an
    on-centre, off-surround cell).  With ``k = 1.6`` the DoG closely
    approximates ``-(k - 1) sigma**2`` times the Laplacian of Gaussian [1]_; it
    is also the scale-space operator of SIFT [2]_.

    Parameters
    ----------
    sigmas : float or sequence of float, default=(1.0, 2.0, 4.0)
        Scale of the centre Gaussian, one filter each.
    k : float, default=1.6
        Ratio of the surround to the centre scale, ``> 1``.
    kernel_size : int or tuple of ndim ints, default=None
        None zero-pads every kernel (centred) to the largest natural support in
        the bank (that of the largest surround); an int or a tuple
        centre-crops or pads each kernel to that size.
    truncate : float, default=4.0
        The natural supports extend this many standard deviations.
    %(gaussian_bank_out)s

    References
    ----------
    .. [1] %(ref_marr)s
    .. [2] D. G. Lowe, "Distinctive image features from scale-invariant
       keypoints", International Journal of Computer Vision 60(2), 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv.filters import dog_bank
    >>> bank = dog_bank((1, 2))
    >>> bank.shape
    (2, 27, 27, 1)
    >>> bool(np.allclose(bank.sum(axis=(1, 2, 3)), 0))
    True
    """
    sigmas = check_floats(sigmas, "sigmas")
    # the surround is wider than the centre
    k = check_float(k, "k", min_val=1.0, include_boundaries="neither")
    truncate = _positive(truncate, "truncate")
    ndim = check_option(ndim, "ndim", (1, 2, 3))
    n_channels = check_int(n_channels, "n_channels", min_val=1)
    dtype = check_dtype(dtype, choices=None)
    kernels = []
    for sigma in sigmas:
        surround = _gaussian(k * sigma, truncate, ndim)
        centre = _fit_to_size(_gaussian(sigma, truncate, ndim), surround.shape)
        kernels.append(centre - surround)
    return _stack(kernels, kernel_size, n_channels, dtype)


@fill_doc
def gaussian_derivative_bank(
    sigmas=(1.0, 2.0, 4.0),
    n_orientations=6,
    orders=(1, 2),
    *,
    elongation=1.0,
    kernel_size=None,
    truncate=4.0,
    ndim=2,
    n_channels=1,
    dtype=np.float64,
):
    """Build a bank of oriented first and second Gaussian derivative filters.

    For orientation ``theta`` let ``u = x cos(theta) + y sin(theta)`` be the
    coordinate along the direction ``(cos theta, sin theta)`` (``x`` the
    column, ``y`` the row offset) and ``v`` the one across it.  With
    ``G(u, v) ∝ exp(-u**2 / (2 sigma**2) - v**2 / (2 (elongation sigma)**2))``
    normalized to sum 1 on its square support, the filters are::

        order 1:  w = u / sigma**2 * G                  (= -dG/du)
        order 2:  w = (u**2 / sigma**4 - 1 / sigma**2) * G   (= d2G/du2)

    The sign of the first derivative is chosen for cross-correlation:
    correlating an image with ``w`` gives the directional derivative of the
    Gaussian-smoothed image along ``theta`` [1]_.  For ``elongation=1`` and
    ``theta = 0`` (``pi / 2``) the response equals
    ``scipy.ndimage.gaussian_filter(x, sigma, order=(0, n))``
    (``order=(n, 0)``) away from the border.  ``elongation > 1`` stretches the
    Gaussian across the derivative direction, giving the edge and bar filters
    of Leung and Malik [2]_ (``elongation=3``).

    With ``ndim=1`` the filters are the 1-D derivatives ``x / sigma**2 g`` and
    ``(x**2 / sigma**4 - 1 / sigma**2) g`` (``n_orientations`` and
    ``elongation`` are not used): their responses equal
    ``scipy.ndimage.gaussian_filter1d(x, sigma, order=n)`` away from the border.

    Parameters
    ----------
    sigmas : float or sequence of float, default=(1.0, 2.0, 4.0)
        Scale along the derivative direction.
    n_orientations : int, default=6
        Orientations ``theta = k * pi / n_orientations``.
    orders : int or sequence of {1, 2}, default=(1, 2)
        Derivative orders to include.
    elongation : float, default=1.0
        Ratio of the scale across the derivative direction to ``sigma``.
    kernel_size : int or tuple of 2 ints, default=None
        None uses the square support of radius
        ``int(truncate * sigma * max(1, elongation) + 0.5)`` of the largest
        scale for every kernel (each is computed on its own support and
        zero-padded, centred); an int or a pair centre-crops or pads each
        kernel to that size.
    truncate : float, default=4.0
        The natural support extends this many (largest) standard deviations.
    ndim : {1, 2}, default=2
        Images (2) or signals (1).
    %(bank_out)s

    Returns
    -------
    bank : ndarray of shape (len(orders) * len(sigmas) * n_orientations, *kernel, n_channels)
        Ordered order-major, then scale, then orientation: filter
        ``(i * len(sigmas) + j) * n_orientations + k`` has order
        ``orders[i]``, scale ``sigmas[j]`` and angle ``k * pi / n_orientations``
        (in 1-D, ``len(orders) * len(sigmas)`` filters, order-major).

    References
    ----------
    .. [1] %(ref_freeman)s
    .. [2] %(ref_leung_malik)s

    Examples
    --------
    >>> from skconv.filters import gaussian_derivative_bank
    >>> gaussian_derivative_bank((1, 2), 4).shape
    (16, 17, 17, 1)
    >>> gaussian_derivative_bank(1.0, orders=1, ndim=1)[0, 3:6, 0].round(3)
    array([-0.242,  0.   ,  0.242])
    """
    sigmas = check_floats(sigmas, "sigmas")
    n_orientations = check_int(n_orientations, "n_orientations", min_val=1)
    orders = check_options(orders, "orders", (1, 2))
    elongation = _positive(elongation, "elongation")
    truncate = _positive(truncate, "truncate")
    ndim = check_option(ndim, "ndim", (1, 2))
    n_channels = check_int(n_channels, "n_channels", min_val=1)
    dtype = check_dtype(dtype, choices=None)
    kernels = []
    if ndim == 1:
        kernels = [
            _gaussian_derivative_1d(sigma, truncate, order) for order in orders for sigma in sigmas
        ]
        return _stack(kernels, kernel_size, n_channels, dtype)
    for order in orders:
        for sigma in sigmas:
            sigma_v = elongation * sigma
            x, y = _grid(_radius(max(sigma, sigma_v), truncate))
            for k in range(n_orientations):
                theta = k * np.pi / n_orientations
                c, s = math.cos(theta), math.sin(theta)
                u = x * c + y * s
                v = -x * s + y * c
                g = np.exp(-(u**2) / (2 * sigma**2) - v**2 / (2 * sigma_v**2))
                g /= g.sum()
                if order == 1:
                    kernels.append(u / sigma**2 * g)
                else:
                    kernels.append((u**2 / sigma**4 - 1 / sigma**2) * g)
    return _stack(kernels, kernel_size, n_channels, dtype)


def _lm_normalise(f):
    # zero mean, unit L1 norm: the normalisation of the reference implementation
    f = f - f.mean()
    return f / np.abs(f).sum()


def _gauss1d(sigma, x, order):
    """Sampled 1-D Gaussian (unit area) or its first / second derivative."""
    g = np.exp(-(x**2) / (2 * sigma**2)) / math.sqrt(2 * np.pi * sigma**2)
    if order == 1:
        return -g * x / sigma**2
    if order == 2:
        return g * (x**2 - sigma**2) / sigma**4
    return g


@fill_doc
def leung_malik_bank(*, variant="large", n_channels=1, dtype=np.float64):
    """Build the 48-filter Leung-Malik (LM) filter bank.

    The LM bank [1]_ is a multi-scale, multi-orientation texture bank on a
    49x49 support, built here as in the reference implementation of the
    Oxford Visual Geometry Group [2]_.  With basic scales ``s1 < s2 < s3 < s4``
    (``sqrt(2), 2, 2 sqrt(2), 4`` for the large variant LML, ``1, sqrt(2), 2,
    2 sqrt(2)`` for the small variant LMS), in this order:

    - filters 0-17: first derivatives of an elongated Gaussian (edges) at
      scales ``s1, s2, s3`` (scale-major) and 6 orientations
      ``a = k * pi / 6`` (minor);
    - filters 18-35: the second derivatives (bars), same scales and
      orientations;
    - filters 36-47: for each basic scale ``s``, a Gaussian of scale ``s``, a
      Laplacian of Gaussian of scale ``s`` and one of scale ``3 s``.

    The oriented filters are ``g(u; 3 s) * g^(n)(v; s)``: a Gaussian of
    standard deviation ``3 s`` along ``u`` (elongation 3) times the ``n``-th
    derivative of one of standard deviation ``s`` along ``v``, where, with
    ``x`` the column and ``y`` the *upward* row offset from the centre,
    ``u = x cos(a) - y sin(a)`` and ``v = x sin(a) + y cos(a)``.  For ``a = 0``
    the filter differentiates vertically and is elongated horizontally; in the
    (column, row) convention of this module the elongated axis points along
    angle ``a`` and the derivative is taken across it, so as displayed (row 0
    on top) each step rotates the filter 30 degrees clockwise and filter
    ``i + 3`` is filter ``i`` rotated by 90 degrees.  Derivative filters and
    LoGs are made zero-mean and scaled to unit L1 norm, as in [2]_.  The
    Gaussians are low-pass filters scaled to sum 1, as the paper describes
    them; the reference code passes them through the same zero-mean
    normalization, which would turn them into centre-surround filters, and
    this is the one place where this bank departs from it.

    Parameters
    ----------
    variant : {"large", "small"}, default="large"
        ``"large"`` (LML, the scales of the reference code) or ``"small"``
        (LMS).
    %(bank_out)s

    Returns
    -------
    bank : ndarray of shape (48, 49, 49, n_channels)

    References
    ----------
    .. [1] %(ref_leung_malik)s
    .. [2] M. Varma and A. Zisserman, "A statistical approach to texture
       classification from single images", International Journal of Computer
       Vision 62(1-2), 2005; filter banks at
       https://www.robots.ox.ac.uk/~vgg/research/texclass/filters.html

    Examples
    --------
    >>> from skconv.filters import leung_malik_bank
    >>> bank = leung_malik_bank()
    >>> bank.shape
    (48, 49, 49, 1)
    >>> round(float(bank[36].sum()), 6)
    1.0
    """
    check_option(variant, "variant", ("large", "small"))
    n_channels = check_int(n_channels, "n_channels", min_val=1)
    dtype = check_dtype(dtype, choices=None)
    support, n_orientations = 49, 6
    half = (support - 1) // 2
    root2 = math.sqrt(2.0)
    if variant == "large":
        scales = [root2, 2.0, 2 * root2, 4.0]
    else:
        scales = [1.0, root2, 2.0, 2 * root2]
    cols, rows = np.meshgrid(np.arange(support, dtype=np.float64), np.arange(support, dtype=np.float64))
    x, y = cols - half, half - rows  # y points up, as in the reference code

    edges, bars = [], []
    for s in scales[:3]:
        for k in range(n_orientations):
            a = np.pi * k / n_orientations
            c, sn = math.cos(a), math.sin(a)
            u, v = c * x - sn * y, sn * x + c * y
            along = _gauss1d(3 * s, u, 0)
            edges.append(_lm_normalise(along * _gauss1d(s, v, 1)))
            bars.append(_lm_normalise(along * _gauss1d(s, v, 2)))

    r2 = x**2 + y**2
    isotropic = []
    for s in scales:
        g = np.exp(-r2 / (2 * s**2))
        isotropic.append(g / g.sum())
        for t in (s, 3 * s):
            h = np.exp(-r2 / (2 * t**2))
            h /= h.sum()
            isotropic.append(_lm_normalise(h * (r2 - 2 * t**2) / t**4))
    return _stack(edges + bars + isotropic, None, n_channels, dtype)
