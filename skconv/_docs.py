"""Docstring pieces shared by several estimators and functions, and ``fill_doc``.

A docstring line that holds only ``%(key)s`` is replaced by ``DOCS[key]``, indented
like the placeholder. So the parameters every convolutional transformer shares
are described once, here, and read in full in each class's ``help()``.
"""

import re

__all__ = ["DOCS", "fill_doc"]

DOCS = {
    "conv_geometry": """\
stride : int or tuple of int, default=1
    Step between output positions, per spatial dimension.
padding : {"valid", "same", "full"}, int, tuple of int or tuple of (int, int), default="valid"
    Zero padding: none, enough to keep the size at stride 1 (TensorFlow's rule),
    enough for every partial overlap, or explicit amounts (per dimension, or
    ``(before, after)`` pairs).
dilation : int or tuple of int, default=1
    Spacing between kernel taps (atrous convolution).""",
    "flip": """\
flip : bool, default=False
    False computes cross-correlation (what deep-learning libraries call
    convolution); True flips the kernels for a true convolution.""",
    "sharing": """\
sharing : {"shared", "tiled", "local"}, default="shared"
    How the weights are shared across output positions (Goodfellow et al.,
    *Deep Learning*, sec. 9.5): one kernel set everywhere (convolution),
    ``prod(tile_shape)`` kernel sets cycled over the positions (tiled
    convolution: position ``p`` uses set ``p mod tile_shape``), or one kernel
    set per output position (locally connected, unshared weights; inputs of the
    size seen at fit only). Tiled and local layers cost the multiply-adds of a
    convolution with ``prod(tile_shape)`` or ``prod(out)`` times its parameters;
    they need ``groups=1``, shared kernels for ``separable`` and have no
    ``inverse_transform``.
tile_shape : int or tuple of int, default=None
    Kernel sets along each spatial axis with ``sharing="tiled"``; not used
    otherwise.""",
    "separable": """\
separable : int, default=None
    Apply the bank through its rank-``separable`` separable approximation
    (:func:`skconv.filters.separable_factors`): each filter becomes a sum of
    ``separable`` terms, each one weight per input channel and one 1-D kernel
    per spatial axis, applied as a pointwise channel mix and one 1-D pass per
    axis (for an ``m x m`` kernel on ``N x N`` images, ``(N-m+1) N m +
    (N-m+1)^2 m`` multiply-adds per term instead of ``(N-m+1)^2 m^2``). The
    truncated SVD for greyscale 2-D kernels, exact for separable ones (Sobel,
    Gaussian derivatives, and, at rank 2, oriented first derivatives, the LoG
    and circular Gabor kernels); alternating least squares for colour or 3-D
    kernels. The maps are those of the approximation; ``filters_`` keeps the
    exact bank and ``approximation_error_`` says how far each filter is. None
    applies the full kernels.""",
    "separable_attributes": """\
factors_ : list of ndarray of shape (n_filters_, separable, k_i)
    With ``separable``: the unit-norm 1-D kernels of every term, one array per
    spatial axis.
channel_factors_ : ndarray of shape (n_filters_, separable, n_channels // groups)
    With ``separable``: the channel weights (the scale) of every term.
approximation_error_ : ndarray of shape (n_filters_,)
    With ``separable``: ``||w - approximation|| / ||w||`` of each filter
    (Frobenius norms).""",
    "groups_bank": """\
groups : int, default=1
    Grouped convolution with the bank replicated: the input channels are split
    into ``groups`` groups of ``n_channels // groups`` and every group gets the
    whole bank, so there are ``groups`` times as many filters as in the bank
    (``groups=n_channels`` filters each channel separately, channel-major). This
    differs from :class:`skconv.Conv` and :class:`skconv.RandomConv`, whose
    ``groups`` splits a given number of filters between the groups.""",
    "encoding": """\
encoding : {None, "identity", "relu", "abs", "tanh", "sigmoid", "soft_threshold", "split"}, default=None
    Element-wise detector stage after the convolution (and bias).
    ``"soft_threshold"`` is ``max(0, z - alpha)``; ``"split"`` gives
    ``2 * n_filters`` channels, ``max(0, z - alpha)`` then ``max(0, -z - alpha)``.
alpha : float, default=0.0
    Threshold of the soft-threshold encodings.""",
    "conv_io": """\
input_shape : tuple of int, default=None
    Shape of one sample, ``(*spatial)`` or ``(*spatial, n_channels)``, when ``X``
    is given flat as ``(n_samples, n_features)`` (e.g. ``load_digits().data``).
%(channel_axis)s
batch_size : int or "auto", default="auto"
    Samples convolved at once; sets the memory used when maps stream. ``"auto"``
    picks the number of samples whose maps take about 16 MB; a batch whose maps
    would take more than 1 GiB is cut down to that.
n_jobs : int, default=None
    Threads over batches when the maps are consumed (``-1``: all cores). Results
    do not depend on it.
dtype : {numpy.float32, numpy.float64}, default=numpy.float32
    Dtype of the computation and of the maps.
%(verbose)s""",
    "verbose": """\
verbose : int, default=0
    Progress on the ``"skconv"`` logger (to standard error when logging is not
    configured): 0 says nothing, 1 reports the fit's steps and, when the maps are
    consumed, batches done, samples per second and time left at most every 2
    seconds, 2 reports every batch. It does not change the results.""",
    "input_attributes": """\
input_shape_ : tuple
    Spatial shape and channel count of the input seen at fit (``None`` for spatial
    sizes that vary).
spatial_ndim_ : int
    Spatial dimensions of the input seen at fit (1, 2 or 3).
n_channels_in_ : int
    Channels of the input seen at fit.
n_features_in_ : int
    Values per sample seen at fit (fixed-size inputs only).
feature_names_in_ : ndarray of str
    Column names, when fitted on a DataFrame.""",
    "bank_out": """\
n_channels : int, default=1
    The kernel is replicated in each of ``n_channels`` channels.
dtype : floating dtype, default=np.float64
    Dtype of the returned bank.""",
    "plot_grid": """\
ncols : int, default=None
    Number of columns of the grid; None makes it about square.
fig : matplotlib Figure or SubFigure, default=None
    Where to draw the grid.  None creates a new figure with
    :func:`matplotlib.pyplot.figure`.""",
    "plot_titles": """\
titles : sequence of str, default=None
    One title per drawn tile.
interpolation : str, default="nearest"
    Passed to :meth:`matplotlib.axes.Axes.imshow`.""",
    "ref_marr": """\
D. Marr and E. Hildreth, "Theory of edge detection", Proc. R. Soc. Lond. B 207,
1980.""",
    "ref_freeman": """\
W. T. Freeman and E. H. Adelson, "The design and use of steerable filters", IEEE
Trans. Pattern Analysis and Machine Intelligence 13(9), 1991.""",
    "ref_leung_malik": """\
T. Leung and J. Malik, "Representing and recognizing the visual appearance of
materials using three-dimensional textons", International Journal of Computer
Vision 43(1), 2001.""",
    "ref_rocket": """\
A. Dempster, F. Petitjean and G. I. Webb, "ROCKET: exceptionally fast and
accurate time series classification using random convolutional kernels", Data
Mining and Knowledge Discovery 34, 2020.""",
    "ref_minirocket": """\
A. Dempster, D. F. Schmidt and G. I. Webb, "MINIROCKET: a very fast (almost)
deterministic transform for time series classification", KDD 2021.""",
    "ref_multirocket": """\
C. W. Tan, A. Dempster, C. Bergmeir and G. I. Webb, "MultiRocket: multiple
pooling operators and transformations for fast and effective time series
classification", Data Mining and Knowledge Discovery 36, 2022.""",
    "ref_random_features": """\
K. Jarrett, K. Kavukcuoglu, M. Ranzato and Y. LeCun, "What is the best
multi-stage architecture for object recognition?", ICCV 2009.""",
    "ref_saxe": """\
A. M. Saxe, P. W. Koh, Z. Chen, M. Bhand, B. Suresh and A. Y. Ng, "On random
weights and unsupervised feature learning", ICML 2011.""",
    "ref_sobel": """\
I. Sobel and G. Feldman, "A 3x3 isotropic gradient operator for image
processing", Stanford Artificial Intelligence Project, 1968.""",
    "ref_coates_ng": """\
A. Coates and A. Y. Ng, "Selecting receptive fields in deep networks", NIPS 2011.""",
}

DOCS["channel_axis"] = """\
channel_axis : int, default=-1
    Axis of the channels in ``X``: ``-1`` reads ``(n_samples, *spatial,
    n_channels)``, ``1`` reads ``(n_samples, n_channels, *spatial)``, the layout
    of aeon and sktime for time series (for flat input, the axis in the
    ``(n_samples, *input_shape)`` array; for a list, as if the samples were
    stacked). Input without a channel axis and FeatureMaps ignore it. The output
    is channels-last whatever it is."""
DOCS["conv_io"] = DOCS["conv_io"].replace("%(channel_axis)s", DOCS["channel_axis"])
DOCS["conv_io"] = DOCS["conv_io"].replace("%(verbose)s", DOCS["verbose"])

DOCS["gaussian_bank_out"] = """\
ndim : {1, 2, 3}, default=2
    Signals, images or volumes.
""" + DOCS["bank_out"] + """

Returns
-------
bank : ndarray of shape (len(sigmas), *kernel, n_channels)"""

DOCS["conv_attributes"] = """\
n_filters_ : int
    Filters convolved.
n_output_channels_ : int
    Channels of the maps (twice ``n_filters_`` for ``encoding="split"``).
""" + DOCS["input_attributes"]

# A placeholder line, optionally after a reference marker such as ".. [2] ".
_PLACEHOLDER = re.compile(r"^( *)((?:\.\. \[\d+\] )?)%\((\w+)\)s *$", re.MULTILINE)


def _fill(match):
    indent, marker, key = match.group(1), match.group(2), match.group(3)
    lines = DOCS[key].splitlines()
    # continuation lines of a reference are indented three spaces under its marker
    rest = indent + ("   " if marker else "")
    return "\n".join([indent + marker + lines[0]] + [rest + line if line else "" for line in lines[1:]])


def fill_doc(obj):
    """Replace the ``%(key)s`` lines of ``obj.__doc__`` by the shared pieces; return ``obj``."""
    if obj.__doc__:
        obj.__doc__ = _PLACEHOLDER.sub(_fill, obj.__doc__)
    return obj
