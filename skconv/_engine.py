"""Convolution engine: every variant of the operation as pure array functions.

Data are samples-first, channels-last: ``x`` has shape ``(n, *spatial, c)``
with ``d = len(spatial)`` in 1, 2 or 3, and filter banks have shape
``(f, *kernel, c // groups)``. Nothing here knows about estimators; the
transformers build on these functions.

The default operation is cross-correlation (as ``torch.nn.functional.conv*d``
and ``scipy.signal.correlate``); ``flip=True`` gives true convolution.
"""

import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "normalize_tuple",
    "resolve_padding",
    "output_spatial_shape",
    "extract_patches",
    "conv",
]

# Upper bound, in bytes, of the im2col buffer built inside one call: the
# samples are processed in chunks so that the buffer stays below it.
_IM2COL_BYTES = 64 * 2**20


# --------------------------------------------------------------------------
# Argument normalisation
# --------------------------------------------------------------------------


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def normalize_tuple(value, d, name):
    """Turn an int or a sequence of ints into a ``d``-tuple of positive ints.

    Parameters
    ----------
    value : int or sequence of int
        One integer (repeated ``d`` times) or exactly ``d`` integers.
    d : int
        Number of spatial dimensions.
    name : str
        Name of the parameter, used in error messages.

    Returns
    -------
    tuple of int
        ``d`` positive Python ints.

    Raises
    ------
    TypeError
        If ``value`` is neither an int nor a sequence of ints.
    ValueError
        If the sequence does not have ``d`` entries or an entry is not
        positive.

    Examples
    --------
    >>> normalize_tuple(2, 3, "stride")
    (2, 2, 2)
    >>> normalize_tuple((1, 2), 2, "dilation")
    (1, 2)
    """
    if _is_int(value):
        values = (int(value),) * d
    elif isinstance(value, (tuple, list, np.ndarray)):
        seq = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        if not all(_is_int(v) for v in seq):
            raise TypeError(
                f"{name} must be an int or a tuple of {d} ints, got {value!r}."
            )
        if len(seq) != d:
            raise ValueError(
                f"{name} must be an int or a tuple of {d} ints (one per spatial "
                f"dimension), got {len(seq)} values: {value!r}."
            )
        values = tuple(int(v) for v in seq)
    else:
        raise TypeError(
            f"{name} must be an int or a tuple of {d} ints, got "
            f"{type(value).__name__} {value!r}."
        )
    if any(v < 1 for v in values):
        raise ValueError(f"{name} must contain positive integers, got {value!r}.")
    return values


def _kernel_tuple(kernel_size):
    if _is_int(kernel_size):
        kernel_size = (kernel_size,)
    return normalize_tuple(tuple(kernel_size), len(tuple(kernel_size)), "kernel_size")


def resolve_padding(padding, kernel_size, *, stride=1, dilation=1, input_spatial=None):
    """Resolve a padding specification into explicit (before, after) amounts.

    Parameters
    ----------
    padding : {"valid", "same", "full"}, int, tuple of int or tuple of pairs
        - ``"valid"``: no padding.
        - ``"same"``: as TensorFlow. With stride 1 the output has the input's
          size: the total padding is ``effective_kernel - 1``, ``total // 2``
          before and the rest after. With stride ``s > 1`` the output has
          ``ceil(input / s)`` entries and the total padding is
          ``max((out - 1) * s + effective_kernel - input, 0)``, split the
          same way (this needs ``input_spatial``).
        - ``"full"``: ``effective_kernel - 1`` on each side.
        - an int ``p``: ``p`` on both sides of every axis.
        - a tuple of ``d`` ints: symmetric padding per axis.
        - a tuple of ``d`` ``(before, after)`` pairs: explicit padding.
    kernel_size : tuple of int
        Kernel size; its length is the number of spatial dimensions ``d``.
    stride : int or tuple of int, default=1
        Only used by ``"same"``.
    dilation : int or tuple of int, default=1
        The effective kernel size is ``dilation * (kernel_size - 1) + 1``.
    input_spatial : tuple of int, optional
        Input spatial shape; required by ``"same"`` when a stride exceeds 1.

    Returns
    -------
    tuple of (int, int)
        One ``(before, after)`` pair per spatial axis.

    Examples
    --------
    >>> resolve_padding("same", (3, 4))
    ((1, 1), (1, 2))
    >>> resolve_padding("same", (3,), stride=2, input_spatial=(10,))
    ((0, 1),)
    >>> resolve_padding("full", (3,), dilation=2)
    ((4, 4),)
    """
    kernel = _kernel_tuple(kernel_size)
    d = len(kernel)
    dilation = normalize_tuple(dilation, d, "dilation")
    eff = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))

    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * d
        if mode == "full":
            return tuple((e - 1, e - 1) for e in eff)
        if mode == "same":
            stride = normalize_tuple(stride, d, "stride")
            if all(s == 1 for s in stride):
                totals = [e - 1 for e in eff]
            else:
                if input_spatial is None:
                    raise ValueError(
                        "padding='same' with stride > 1 needs input_spatial (the "
                        "total padding depends on the input size)."
                    )
                input_spatial = _spatial_tuple(input_spatial, d)
                totals = []
                for n_in, s, e in zip(input_spatial, stride, eff):
                    n_out = -(-n_in // s)
                    totals.append(max((n_out - 1) * s + e - n_in, 0))
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(
            f"padding must be 'valid', 'same', 'full', an int, a tuple of {d} ints "
            f"or a tuple of {d} (before, after) pairs, got {padding!r}."
        )

    if _is_int(padding):
        pairs = [(int(padding), int(padding))] * d
    elif isinstance(padding, (tuple, list)):
        if len(padding) != d:
            raise ValueError(
                f"padding must have one entry per spatial dimension ({d}), got "
                f"{padding!r}."
            )
        pairs = []
        for p in padding:
            if _is_int(p):
                pairs.append((int(p), int(p)))
            elif (
                isinstance(p, (tuple, list))
                and len(p) == 2
                and all(_is_int(q) for q in p)
            ):
                pairs.append((int(p[0]), int(p[1])))
            else:
                raise ValueError(
                    "padding entries must be ints or (before, after) pairs of ints, "
                    f"got {p!r} in {padding!r}."
                )
    else:
        raise TypeError(
            f"padding must be 'valid', 'same', 'full', an int or a tuple, got "
            f"{type(padding).__name__} {padding!r}."
        )
    if any(p < 0 for pair in pairs for p in pair):
        raise ValueError(f"padding amounts must be non-negative, got {padding!r}.")
    return tuple(pairs)


def _spatial_tuple(input_spatial, d):
    if _is_int(input_spatial):
        input_spatial = (input_spatial,)
    input_spatial = tuple(input_spatial)
    if len(input_spatial) != d or not all(_is_int(v) and v >= 0 for v in input_spatial):
        raise ValueError(
            f"input_spatial must be {d} non-negative ints, got {input_spatial!r}."
        )
    return tuple(int(v) for v in input_spatial)


def _geometry(input_spatial, kernel_size, stride, padding, dilation):
    """Normalise the geometry; return (kernel, stride, dilation, pads, out)."""
    kernel = _kernel_tuple(kernel_size)
    d = len(kernel)
    input_spatial = _spatial_tuple(input_spatial, d)
    stride = normalize_tuple(stride, d, "stride")
    dilation = normalize_tuple(dilation, d, "dilation")
    pads = resolve_padding(
        padding, kernel, stride=stride, dilation=dilation, input_spatial=input_spatial
    )
    out = []
    for n_in, k, s, dl, (pb, pa) in zip(input_spatial, kernel, stride, dilation, pads):
        eff = dl * (k - 1) + 1
        padded = n_in + pb + pa
        if padded < eff:
            raise ValueError(
                f"kernel (effective size {eff} = dilation {dl} * (kernel_size {k} - 1)"
                f" + 1) is larger than the padded input ({padded} = {n_in} + padding "
                f"{pb} + {pa}); the output would be empty."
            )
        out.append((padded - eff) // s + 1)
    return kernel, stride, dilation, pads, tuple(out)


def output_spatial_shape(input_spatial, kernel_size, *, stride=1, padding="valid", dilation=1):
    """Spatial shape of the output of a convolution.

    Parameters
    ----------
    input_spatial : tuple of int
        Input spatial shape (without samples and channels).
    kernel_size : tuple of int
        Kernel spatial shape.
    stride, dilation : int or tuple of int, default=1
        Step between output positions and spacing of the kernel taps.
    padding : str, int or tuple, default="valid"
        See :func:`resolve_padding`.

    Returns
    -------
    tuple of int
        ``(padded - effective_kernel) // stride + 1`` per axis.

    Raises
    ------
    ValueError
        If the effective kernel is larger than the padded input.

    Examples
    --------
    >>> output_spatial_shape((28, 28), (5, 5))
    (24, 24)
    >>> output_spatial_shape((28, 27), (3, 3), stride=2, padding="same")
    (14, 14)
    """
    return _geometry(input_spatial, kernel_size, stride, padding, dilation)[4]


# --------------------------------------------------------------------------
# Patches (im2col)
# --------------------------------------------------------------------------


def _pad(x, pads):
    if any(p for pair in pads for p in pair):
        return np.pad(x, ((0, 0),) + tuple(pads) + ((0, 0),))
    return x


def _patch_view(xp, kernel, stride, dilation, out):
    """Read-only strided view (n, *out, *kernel, c) over an already padded array."""
    st = xp.strides
    d = len(kernel)
    shape = (xp.shape[0],) + tuple(out) + tuple(kernel) + (xp.shape[-1],)
    strides = (
        (st[0],)
        + tuple(st[1 + i] * stride[i] for i in range(d))
        + tuple(st[1 + i] * dilation[i] for i in range(d))
        + (st[-1],)
    )
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def _check_x(x, d, name="x"):
    x = np.asarray(x)
    if x.ndim != d + 2:
        raise ValueError(
            f"{name} must have {d + 2} dimensions (n_samples, *{d} spatial, "
            f"n_channels), got shape {x.shape}."
        )
    if x.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got dtype {x.dtype}.")
    return x


def extract_patches(x, kernel_size, *, stride=1, padding="valid", dilation=1):
    """All kernel-sized patches of a batch, as an array ``(n, *out, *kernel, c)``.

    Parameters
    ----------
    x : ndarray of shape (n, *spatial, c)
        Input batch; ``d = len(kernel_size)`` spatial dimensions.
    kernel_size : tuple of int
        Patch spatial shape.
    stride, dilation : int or tuple of int, default=1
        Step between patches and spacing of the taps inside a patch.
    padding : str, int or tuple, default="valid"
        See :func:`resolve_padding`.

    Returns
    -------
    patches : ndarray of shape (n, *out, *kernel_size, c)
        A read-only strided view of ``x`` when there is no padding (no copy),
        otherwise a read-only view of a zero-padded copy. ``x`` keeps its dtype.

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 4, 2)
    >>> extract_patches(x, (2,), stride=2)[0, :, :, 0]
    array([[0., 2.],
           [4., 6.]])
    """
    kernel = _kernel_tuple(kernel_size)
    x = _check_x(x, len(kernel))
    kernel, stride, dilation, pads, out = _geometry(
        x.shape[1:-1], kernel, stride, padding, dilation
    )
    return _patch_view(_pad(x, pads), kernel, stride, dilation, out)


# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------


def _float_dtype(dtype):
    """Computation dtype: float32 stays float32, float64 stays float64.

    Half precision is computed in float32 (BLAS has no float16). Integers up to
    16 bits are exact in float32 (uint8 images); wider integers go to float64.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.dtype(np.float32) if dtype.itemsize <= 4 else np.dtype(np.float64)
    if dtype.kind in "biu":
        return np.dtype(np.float32) if dtype.itemsize <= 2 else np.dtype(np.float64)
    raise TypeError(f"x must have a real numeric dtype, got {dtype}.")


def _check_groups(groups, c, f):
    if not _is_int(groups):
        raise TypeError(f"groups must be an int, got {groups!r}.")
    groups = int(groups)
    if groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups}.")
    if c % groups:
        raise ValueError(
            f"groups={groups} must divide the number of input channels c={c}."
        )
    if f % groups:
        raise ValueError(
            f"groups={groups} must divide the number of filters f={f}."
        )
    return groups


def _prepare(x, w, groups, flip, stride, padding, dilation):
    """Validate a (x, w) pair; return everything the conv paths need."""
    w = np.asarray(w)
    if w.ndim not in (3, 4, 5):
        raise ValueError(
            "w must have shape (n_filters, *kernel, c // groups) with 1 to 3 "
            f"spatial dimensions, got shape {w.shape}."
        )
    d = w.ndim - 2
    x = _check_x(x, d)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"w must have a real numeric dtype, got {w.dtype}.")
    dtype = _float_dtype(x.dtype)
    f, c = w.shape[0], x.shape[-1]
    if f == 0:
        raise ValueError("w must contain at least one filter.")
    groups = _check_groups(groups, c, f)
    if w.shape[-1] != c // groups:
        raise ValueError(
            f"w has {w.shape[-1]} input channels but x has c={c} channels and "
            f"groups={groups}: w must have shape (n_filters, *kernel, c // groups "
            f"= {c // groups})."
        )
    kernel, stride, dilation, pads, out = _geometry(
        x.shape[1:-1], w.shape[1:-1], stride, padding, dilation
    )
    if flip:
        w = w[(slice(None),) + (slice(None, None, -1),) * d]
    w = w.astype(dtype, copy=False)
    return x, w, dtype, groups, kernel, stride, dilation, pads, out


def _chunk_size(rows_per_sample, k, itemsize):
    """Samples per chunk so that the im2col buffer stays under the byte limit."""
    per_sample = max(rows_per_sample * k * itemsize, 1)
    return max(1, _IM2COL_BYTES // per_sample)


def _conv_gemm(x, w, groups, kernel, stride, dilation, pads, out_sp, dtype):
    n, c = x.shape[0], x.shape[-1]
    f = w.shape[0]
    d = len(kernel)
    P = math.prod(out_sp)
    out = np.empty((n,) + out_sp + (f,), dtype=dtype)
    if n == 0:
        return out
    out2d = out.reshape(n * P, f)
    cg, fg = c // groups, f // groups

    # Pointwise: a plain reshape + GEMM, no im2col copy.
    if all(k == 1 for k in kernel) and not any(p for pair in pads for p in pair):
        xs = x[(slice(None),) + tuple(slice(0, o * s, s) for o, s in zip(out_sp, stride))]
        wmat = w.reshape(f, cg)
        if groups == 1 and xs.dtype == dtype and xs.flags.c_contiguous:
            np.matmul(xs.reshape(n * P, c), wmat.T, out=out2d)
            return out
        step = _chunk_size(P, c, dtype.itemsize)
        for i0 in range(0, n, step):
            i1 = min(i0 + step, n)
            cols = np.empty((i1 - i0,) + out_sp + (c,), dtype=dtype)
            np.copyto(cols, xs[i0:i1], casting="unsafe")
            cols = cols.reshape(-1, c)
            rows = slice(i0 * P, i1 * P)
            for g in range(groups):
                np.matmul(
                    cols[:, g * cg:(g + 1) * cg],
                    wmat[g * fg:(g + 1) * fg].T,
                    out=out2d[rows, g * fg:(g + 1) * fg],
                )
        return out

    K = math.prod(kernel) * cg
    # W as (K, f) is a transposed view of the C-ordered bank: BLAS reads it with
    # the transpose flag, no copy.
    wmat = w.reshape(f, K)
    step = _chunk_size(P, K, dtype.itemsize)
    buf = np.empty((min(step, n),) + out_sp + kernel + (cg,), dtype=dtype)
    for i0 in range(0, n, step):
        i1 = min(i0 + step, n)
        m = i1 - i0
        view = _patch_view(_pad(x[i0:i1], pads), kernel, stride, dilation, out_sp)
        rows = slice(i0 * P, i1 * P)
        cols = buf[:m]
        for g in range(groups):
            # The only copy of the input: strided patches -> contiguous rows
            # (casting to the computation dtype on the way).
            np.copyto(cols, view[..., g * cg:(g + 1) * cg], casting="unsafe")
            np.matmul(
                cols.reshape(m * P, K),
                wmat[g * fg:(g + 1) * fg].T,
                out=out2d[rows, g * fg:(g + 1) * fg],
            )
    return out


_METHODS = ("auto", "gemm", "fft", "direct")


def _choose_method(x, w, groups, kernel, out_sp):
    return "gemm"


def conv(x, w, *, stride=1, padding="valid", dilation=1, groups=1, flip=False, method="auto"):
    """N-D convolution of a batch with a filter bank (1, 2 or 3 spatial dims).

    Parameters
    ----------
    x : ndarray of shape (n, *spatial, c)
        Input batch, samples first, channels last. Never modified.
    w : ndarray of shape (f, *kernel, c // groups)
        Filter bank. Cast to the computation dtype of ``x``.
    stride : int or tuple of int, default=1
        Step between output positions.
    padding : {"valid", "same", "full"}, int or tuple, default="valid"
        Zero padding, see :func:`resolve_padding`.
    dilation : int or tuple of int, default=1
        Spacing between kernel taps (atrous convolution).
    groups : int, default=1
        As PyTorch: ``c`` and ``f`` must be divisible by ``groups`` and filter
        ``j`` sees the input channels of group ``j // (f // groups)``.
        ``groups == c`` is depthwise convolution.
    flip : bool, default=False
        False computes cross-correlation (as ``scipy.signal.correlate``); True
        flips the kernels along the spatial axes (true convolution).
    method : {"auto", "gemm", "fft", "direct"}, default="auto"
        ``"gemm"``: batched im2col and one BLAS matrix product per chunk of
        samples; ``"fft"``: products in the Fourier domain (large kernels, few
        filters); ``"direct"``: one small product per kernel tap, no im2col
        buffer (small banks, depthwise). ``"auto"`` chooses by shape.

    Returns
    -------
    y : ndarray of shape (n, *out, f)
        float32 when ``x`` is float32 (or half, or an integer of at most 16
        bits), float64 otherwise.

    Examples
    --------
    >>> x = np.arange(5.0).reshape(1, 5, 1)
    >>> w = np.array([1.0, -1.0]).reshape(1, 2, 1)
    >>> conv(x, w)[0, :, 0]
    array([-1., -1., -1., -1.])
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    x, w, dtype, groups, kernel, stride, dilation, pads, out_sp = _prepare(
        x, w, groups, flip, stride, padding, dilation
    )
    if method == "auto":
        method = _choose_method(x, w, groups, kernel, out_sp)
    return _conv_gemm(x, w, groups, kernel, stride, dilation, pads, out_sp, dtype)
