"""Convolution engine: every variant of the operation as pure array functions.

Data are samples-first, channels-last: ``x`` has shape ``(n, *spatial, c)``
with ``d = len(spatial)`` in 1, 2 or 3, and filter banks have shape
``(f, *kernel, c // groups)``. Nothing here knows about estimators; the
transformers build on these functions.

The default operation is cross-correlation (as ``torch.nn.functional.conv*d``
and ``scipy.signal.correlate``); ``flip=True`` gives true convolution.
"""

import math

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import as_strided

from ._cost import path_times
from ._threads import blas_threads, native_pool
from ._validation import check_int, check_int_tuple, check_option, check_padding, is_int

try:  # the compiled direct convolution, built at install where a C compiler is found
    from . import _native as NATIVE
except ImportError:  # pragma: no cover - exercised only on installs without it
    NATIVE = None

__all__ = [
    "resolve_padding",
    "output_spatial_shape",
    "extract_patches",
    "conv",
    "conv_transpose",
    "channel_shuffle",
    "conv_separable",
    "conv_local",
    "conv_tiled",
]

# Size, in bytes, of the im2col buffer built inside one call: the samples are
# processed in chunks so that the buffer stays below it (and never above
# 64 MB). 8 MB chunks measured fastest: the GEMM reads the columns back while
# they are still in cache (16 11x11 filters on 1,000 28x28 images: 37 ms with
# 8 MB chunks, 52 ms with 64 MB, 41 ms with 1 MB).
_IM2COL_BYTES = 8 * 2**20
# Same bound for the spectra of one chunk in the FFT path.
_FFT_BYTES = 32 * 2**20
# The direct path keeps its accumulator in cache across the kernel taps.
_DIRECT_BYTES = 2**20
# Vector multiply-adds (of 16 lanes) below which the compiled path stays on one
# thread (about 0.4 ms of work on one core of a 2-core EPYC).
_NATIVE_WORK = 2**20


# --------------------------------------------------------------------------
# Argument normalisation
# --------------------------------------------------------------------------


def _kernel_tuple(kernel_size):
    """Kernel sizes as a tuple of 1 to 3 ints; a lone int is a 1-D kernel here."""
    try:
        d = 1 if is_int(kernel_size) else len(kernel_size)
    except TypeError:
        d = 1  # not a sequence: check_int_tuple says what is expected
    return check_int_tuple(kernel_size, "kernel_size", min(max(d, 1), 3))


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
    dilation = check_int_tuple(dilation, "dilation", d)
    eff = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    padding = check_padding(padding, d)
    if padding == "valid":
        return ((0, 0),) * d
    if padding == "full":
        return tuple((e - 1, e - 1) for e in eff)
    if padding == "same":
        stride = check_int_tuple(stride, "stride", d)
        if all(s == 1 for s in stride):
            totals = [e - 1 for e in eff]
        else:
            if input_spatial is None:
                raise ValueError(
                    "input_spatial must be given for padding='same' with stride > 1 (the "
                    "total padding depends on the input size), got None."
                )
            input_spatial = check_int_tuple(input_spatial, "input_spatial", d, min_val=0)
            totals = []
            for n_in, s, e in zip(input_spatial, stride, eff):
                n_out = -(-n_in // s)
                totals.append(max((n_out - 1) * s + e - n_in, 0))
        return tuple((t // 2, t - t // 2) for t in totals)
    return padding


def _geometry(input_spatial, kernel_size, stride, padding, dilation):
    """Normalise the geometry; return (kernel, stride, dilation, pads, out)."""
    kernel = _kernel_tuple(kernel_size)
    d = len(kernel)
    input_spatial = check_int_tuple(input_spatial, "input_spatial", d, min_val=0)
    stride = check_int_tuple(stride, "stride", d)
    dilation = check_int_tuple(dilation, "dilation", d)
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
    groups = check_int(groups, "groups", min_val=1)
    if c % groups:
        raise ValueError(
            f"groups must divide the number of input channels c={c}, got {groups}."
        )
    if f % groups:
        raise ValueError(
            f"groups must divide the number of filters f={f}, got {groups}."
        )
    return groups


def _check_bank(w):
    """A filter bank ``(n_filters, *kernel, c // groups)`` of real numbers."""
    w = np.asarray(w)
    if w.ndim not in (3, 4, 5):
        raise ValueError(
            "w must have shape (n_filters, *kernel, c // groups) with 1 to 3 "
            f"spatial dimensions, got shape {w.shape}."
        )
    if w.dtype.kind not in "biuf":
        raise TypeError(f"w must have a real numeric dtype, got {w.dtype}.")
    return w


def _prepare(x, w, groups, flip, stride, padding, dilation):
    """Validate a (x, w) pair; return everything the conv paths need."""
    w = _check_bank(w)
    d = w.ndim - 2
    x = _check_x(x, d)
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


def _blocks(n, out_sp, k, itemsize):
    """Blocks of work ``(i0, i1, a, b)``: samples i0:i1, first output axis a:b.

    Several whole samples per block when they fit the im2col budget; when one
    sample alone does not (large volumes), single samples split along the
    first output axis, so the buffer stays bounded whatever the input size.
    Each block's outputs ``out[i0:i1, a:b]`` are contiguous.
    """
    P = math.prod(out_sp)
    per_sample = P * k * itemsize
    if per_sample <= _IM2COL_BYTES or out_sp[0] == 1:
        step = _chunk_size(P, k, itemsize)
        return [(i0, min(i0 + step, n), 0, out_sp[0]) for i0 in range(0, n, step)]
    rows = max(1, _IM2COL_BYTES // (per_sample // out_sp[0]))
    return [
        (i, i + 1, a, min(a + rows, out_sp[0]))
        for i in range(n)
        for a in range(0, out_sp[0], rows)
    ]


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
    blocks = _blocks(n, out_sp, K, dtype.itemsize)
    # Column layout. The copy into the im2col buffer moves runs of contiguous
    # elements: kernel[-1] * c long when the buffer is (rows, K), out[-1] long
    # when it is (K, rows) and c == 1 with unit stride. Longer runs copy
    # faster (1 thread, 16 5x5 filters on 28x28 greyscale: 6.9 ms -> 3.0 ms
    # per 8 MB chunk; 11x11: 3.6 -> 2.9 ms; 21x21 on 64x64: 2.0 -> 2.2 ms);
    # BLAS takes the (K, rows) buffer as a transposed operand, so the product
    # still lands directly in the output.
    k_major = _k_major(c, kernel, stride, out_sp)
    flat = np.empty(max((i1 - i0) * (b - a) for i0, i1, a, b in blocks) * (P // out_sp[0]) * K,
                    dtype=dtype)
    xp, padded_for = None, None
    for i0, i1, a, b in blocks:
        if padded_for != (i0, i1):
            xp, padded_for = _pad(x[i0:i1], pads), (i0, i1)
        view = _patch_view(xp, kernel, stride, dilation, out_sp)[:, a:b]
        bshape = view.shape[:d + 1]
        rows = math.prod(bshape)
        # Rows of the output for this block: contiguous, written by the GEMM.
        out_rows = out[i0:i1, a:b].reshape(rows, f)
        if k_major:
            cols = flat[:rows * K].reshape(kernel + (1,) + bshape)
            # The only copy of the input, cast to the computation dtype.
            np.copyto(cols, np.moveaxis(view, tuple(range(d + 1)), tuple(range(d + 1, 2 * d + 2))),
                      casting="unsafe")
            np.matmul(cols.reshape(K, rows).T, wmat.T, out=out_rows)
            continue
        cols = flat[:rows * K].reshape(bshape + kernel + (cg,))
        for g in range(groups):
            # The only copy of the input: strided patches -> contiguous rows
            # (casting to the computation dtype on the way).
            np.copyto(cols, view[..., g * cg:(g + 1) * cg], casting="unsafe")
            np.matmul(
                cols.reshape(rows, K),
                wmat[g * fg:(g + 1) * fg].T,
                out=out_rows[:, g * fg:(g + 1) * fg],
            )
    return out


def _tap_view(xp, tap, stride, dilation, out_sp):
    """Strided view of the padded input seen by one kernel tap: (n, *out, c)."""
    return xp[
        (slice(None),)
        + tuple(
            slice(t * dl, t * dl + (o - 1) * s + 1, s)
            for t, s, dl, o in zip(tap, stride, dilation, out_sp)
        )
    ]


def _conv_direct(x, w, groups, kernel, stride, dilation, pads, out_sp, dtype):
    """One multiply-add (or small GEMM) per kernel tap; no im2col buffer.

    Samples are processed in chunks small enough for the accumulator to stay
    in cache across the taps.
    """
    n, c = x.shape[0], x.shape[-1]
    f = w.shape[0]
    cg, fg = c // groups, f // groups
    P = math.prod(out_sp)
    out = np.empty((n,) + out_sp + (f,), dtype=dtype)
    if n == 0:
        return out
    taps = list(np.ndindex(*kernel))
    step = max(1, _DIRECT_BYTES // max(P * (f + c) * dtype.itemsize, 1))
    for i0 in range(0, n, step):
        i1 = min(i0 + step, n)
        m = i1 - i0
        xp = _pad(x[i0:i1], pads)
        acc = out[i0:i1]
        if cg == 1:
            # Each filter sees one channel (depthwise, or c == 1): a broadcast
            # multiply-add over (channel, multiplier) per tap.
            acc5 = acc.reshape((m,) + out_sp + (c, fg))
            acc5.fill(0)
            tmp = np.empty_like(acc5)
            for tap in taps:
                xv = _tap_view(xp, tap, stride, dilation, out_sp)[..., None]
                np.multiply(xv, w[(slice(None),) + tap + (0,)].reshape(c, fg), out=tmp)
                acc5 += tmp
        else:
            acc2 = acc.reshape(m * P, f)
            acc2.fill(0)
            cols = np.empty((m,) + out_sp + (c,), dtype=dtype)
            tmp = np.empty((m * P, fg), dtype=dtype)
            for tap in taps:
                np.copyto(cols, _tap_view(xp, tap, stride, dilation, out_sp), casting="unsafe")
                cols2 = cols.reshape(m * P, c)
                wt = w[(slice(None),) + tap]  # (f, cg)
                for g in range(groups):
                    np.matmul(cols2[:, g * cg:(g + 1) * cg], wt[g * fg:(g + 1) * fg].T, out=tmp)
                    acc2[:, g * fg:(g + 1) * fg] += tmp
    return out


def _conv_fft(x, w, groups, kernel, stride, dilation, pads, out_sp, dtype):
    """Products of spectra: circular correlation on a padded FFT grid.

    The FFT grid is at least the padded input, so the circular wrap-around
    never reaches the valid outputs; the stride subsamples the result and the
    dilation is applied by spreading the kernel taps with zeros. The spectra
    are laid out (sample, channel or filter, *frequencies) so that every
    transform runs over contiguous trailing axes.
    """
    n, c = x.shape[0], x.shape[-1]
    f = w.shape[0]
    d = len(kernel)
    cg, fg = c // groups, f // groups
    out = np.empty((n,) + out_sp + (f,), dtype=dtype)
    if n == 0:
        return out
    padded = tuple(s + pb + pa for s, (pb, pa) in zip(x.shape[1:-1], pads))
    fshape = tuple(scipy.fft.next_fast_len(s, real=True) for s in padded)
    axes = tuple(range(-d, 0))
    eff = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    wd = np.zeros((f, cg) + eff, dtype=dtype)
    wd[(slice(None), slice(None)) + tuple(slice(None, None, dl) for dl in dilation)] = (
        np.moveaxis(w, -1, 1)
    )
    # conj(W) turns the product of spectra into a correlation.
    W = np.conj(scipy.fft.rfftn(wd, s=fshape, axes=axes))  # (f, cg, *F)
    F = W.shape[2:]
    crop = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out_sp, stride))
    # Bound the spectra and the inverse transforms held per chunk.
    per_sample = (math.prod(F) * 2 * (f + c) + math.prod(fshape) * f) * dtype.itemsize
    step = max(1, _FFT_BYTES // max(per_sample, 1))
    for i0 in range(0, n, step):
        i1 = min(i0 + step, n)
        m = i1 - i0
        # rfftn zero-fills up to fshape at the end of each axis, so only the
        # leading padding needs an explicit copy (as a shift of the input).
        xp = np.moveaxis(x[i0:i1], -1, 1).astype(dtype, copy=False)
        if any(pb for pb, _ in pads):
            xp = np.pad(xp, ((0, 0), (0, 0)) + tuple((pb, 0) for pb, _ in pads))
        X = scipy.fft.rfftn(xp, s=fshape, axes=axes)  # (m, c, *F)
        if cg == 1:
            # Every filter sees one channel (depthwise, c == 1): one broadcast
            # product for all groups, one batch of inverse transforms.
            Y = (X[:, :, None] * W[:, 0].reshape((c, fg) + F)).reshape((m, f) + F)
            y = scipy.fft.irfftn(Y, s=fshape, axes=axes)  # (m, f, *fshape)
            out[i0:i1] = np.moveaxis(y[(slice(None), slice(None)) + crop], 1, -1)
            continue
        for g in range(groups):
            Xg = X[:, g * cg:(g + 1) * cg]
            Wg = W[g * fg:(g + 1) * fg]
            # Per frequency, an (m, cg) @ (cg, fg) complex product.
            Xf = np.moveaxis(Xg.reshape(m, cg, -1), -1, 0)  # (Fp, m, cg)
            Wf = np.moveaxis(Wg.reshape(fg, cg, -1), -1, 0)  # (Fp, fg, cg)
            Yf = np.matmul(Xf, np.swapaxes(Wf, 1, 2))  # (Fp, m, fg)
            Y = np.moveaxis(Yf, 0, -1).reshape((m, fg) + F)
            y = scipy.fft.irfftn(Y, s=fshape, axes=axes)  # (m, fg, *fshape)
            out[i0:i1, ..., g * fg:(g + 1) * fg] = np.moveaxis(
                y[(slice(None), slice(None)) + crop], 1, -1
            )
    return out


def _conv_compiled(x, w, groups, kernel, stride, dilation, pads, out_sp, dtype, out=None):
    """The compiled direct convolution (``skconv._native``): vectors of filters
    (of channels for depthwise banks with one filter per channel), a block of
    output positions in registers through all the kernel taps; no im2col buffer
    and no multiplications by zero.

    1-D and 2-D data run as 3-D data with leading axes of size 1. The input is
    padded (a copy) only when ``pads`` asks for it (depthwise: also when its
    channels are not a multiple of 16); the bank is laid out filters-last, each
    group's filters padded with zeros to a multiple of 16.
    """
    n, c = x.shape[0], x.shape[-1]
    f = w.shape[0]
    d = len(kernel)
    cg, fg = c // groups, f // groups
    if out is None:
        out = np.empty((n,) + out_sp + (f,), dtype=dtype)
    if out.size == 0:
        return out
    one = (1,) * (3 - d)
    if cg == 1 and fg == 1:
        # depthwise, one filter per channel: vectors of channels instead, the
        # input's and the bank's channels padded to a multiple of 16
        fp = -(-c // 16) * 16
        xp = x
        if fp != c or any(p for pair in pads for p in pair):
            xp = np.pad(x, ((0, 0),) + tuple(pads) + ((0, fp - c),))
        xp = np.ascontiguousarray(xp, dtype=dtype)
        wt = np.zeros(kernel + (fp,), dtype=dtype)
        wt[..., :c] = np.moveaxis(w[..., 0], 0, -1)
        run, channels, vectors = NATIVE.conv_depthwise, (fp, c, 1, 1, fp), fp // 16
    else:
        xp = np.ascontiguousarray(_pad(x, pads), dtype=dtype)
        fp = -(-fg // 16) * 16
        wt = np.zeros((groups,) + kernel + (cg, fp), dtype=dtype)
        wt[..., :fg] = np.moveaxis(w.reshape((groups, fg) + kernel + (cg,)), 1, -1)
        run, channels, vectors = NATIVE.conv, (c, groups, cg, fg, fp), groups * (fp // 16) * cg
    geometry = (
        (n,) + one + xp.shape[1:-1] + channels + one + kernel
        + one + stride + one + dilation + one + out_sp + (dtype.itemsize,)
    )
    # As many threads as BLAS may use (1 inside skconv's own workers, or under a
    # user's threadpool_limits), each on a range of samples, none with less
    # than _NATIVE_WORK vector multiply-adds; a sample's values do not depend
    # on the split.
    work = math.prod(out.shape[:-1]) * math.prod(kernel) * vectors  # vector multiply-adds
    threads = min(blas_threads(), n, max(1, work // _NATIVE_WORK))
    if threads == 1:
        run(xp, wt, out, geometry, 0, n)
        return out
    cuts = [n * i // threads for i in range(threads + 1)]
    list(native_pool().map(lambda i: run(xp, wt, out, geometry, cuts[i], cuts[i + 1]),
                           range(threads)))
    return out


_METHODS = ("auto", "gemm", "fft", "direct", "compiled")


def _k_major(c, kernel, stride, out_sp):
    return c == 1 and stride[-1] == 1 and out_sp[-1] >= kernel[-1]


def _copy_run(c, groups, kernel, stride, dilation, out_sp):
    """Length of the contiguous runs the im2col copy of ``_conv_gemm`` moves."""
    if _k_major(c, kernel, stride, out_sp):
        return out_sp[-1]
    if groups == 1 and dilation[-1] == 1:
        return kernel[-1] * c
    return c // groups


def _choose_method(x, w, groups, kernel, stride, dilation, pads, out_sp):
    """The path with the smallest predicted time (:func:`skconv._cost.path_times`).

    Pointwise kernels always go through GEMM (a plain matrix product, no copy).
    """
    if all(k == 1 for k in kernel):
        return "gemm"
    c = x.shape[-1]
    lanes = None
    if NATIVE is not None:  # vectors of 16 float32 (AVX-512) hold 8 float64
        lanes = NATIVE.lanes_float32 * 4 // _float_dtype(x.dtype).itemsize
    times = path_times(
        x.shape[0], x.shape[1:-1], pads, out_sp, kernel, c, w.shape[0], groups,
        _copy_run(c, groups, kernel, stride, dilation, out_sp),
        lanes=lanes, unit_step=stride[-1] * c == 1,
    )
    return min(times, key=times.get)


def conv(x, w, *, stride=1, padding="valid", dilation=1, groups=1, flip=False, method="auto",
         out=None):
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
    method : {"auto", "gemm", "fft", "direct", "compiled"}, default="auto"
        ``"gemm"``: batched im2col and one BLAS matrix product per chunk of
        samples; ``"fft"``: products in the Fourier domain (large kernels, few
        filters); ``"direct"``: one multiply-add per kernel tap, no im2col
        buffer (depthwise); ``"compiled"``: skconv's compiled direct
        convolution (small and depthwise banks; only where the package was built
        with a C compiler, see ``skconv._engine.NATIVE``). ``"auto"`` chooses by shape.
    out : ndarray of shape (n, *out, f), optional
        C-contiguous, of the computation dtype: the result is written there
        (directly by the compiled path, copied by the others) and returned.

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
    check_option(method, "method", _METHODS)
    x, w, dtype, groups, kernel, stride, dilation, pads, out_sp = _prepare(
        x, w, groups, flip, stride, padding, dilation
    )
    if method == "auto":
        method = _choose_method(x, w, groups, kernel, stride, dilation, pads, out_sp)
    if method == "compiled" and NATIVE is None:
        raise ValueError(
            "method='compiled' needs skconv's compiled module (skconv._native), which "
            "this installation lacks (it was built without a C compiler); use 'auto', "
            "'gemm', 'fft' or 'direct'."
        )
    shape = (x.shape[0],) + out_sp + (w.shape[0],)
    if out is not None and not (
        isinstance(out, np.ndarray) and out.shape == shape and out.dtype == dtype
        and out.flags.c_contiguous and out.flags.writeable
    ):
        raise ValueError(
            f"out must be a writeable C-contiguous {dtype} array of shape {shape}; got "
            f"{type(out).__name__}"
            + (f" {out.dtype} of shape {out.shape}" if isinstance(out, np.ndarray) else "")
            + "."
        )
    if method == "compiled":
        return _conv_compiled(x, w, groups, kernel, stride, dilation, pads, out_sp, dtype, out)
    impl = {"gemm": _conv_gemm, "fft": _conv_fft, "direct": _conv_direct}[method]
    y = impl(x, w, groups, kernel, stride, dilation, pads, out_sp, dtype)
    if out is None:
        return y
    np.copyto(out, y)
    return out


# --------------------------------------------------------------------------
# Transpose (adjoint) of conv
# --------------------------------------------------------------------------


def conv_transpose(y, w, input_spatial, *, stride=1, padding="valid", dilation=1, groups=1,
                   flip=False):
    """Adjoint of :func:`conv` with respect to its input.

    ``<conv(x, w, ...), y> == <x, conv_transpose(y, w, x.shape[1:-1], ...)>``
    for every ``x`` and ``y``: the transposed ("fractionally strided")
    convolution used for reconstruction and upsampling.

    Parameters
    ----------
    y : ndarray of shape (n, *out, f)
        Maps in the output space of ``conv``.
    w : ndarray of shape (f, *kernel, c // groups)
        The filter bank given to ``conv``.
    input_spatial : tuple of int
        Spatial shape of the input of ``conv``; needed because strides lose
        sizes (several input sizes give the same output size).
    stride, padding, dilation, groups, flip
        The parameters given to ``conv``.

    Returns
    -------
    x : ndarray of shape (n, *input_spatial, c)
        ``c = groups * w.shape[-1]``; float32 or float64 as in ``conv``.

    Examples
    --------
    >>> y = np.ones((1, 3, 1))
    >>> w = np.array([1.0, 2.0]).reshape(1, 2, 1)
    >>> conv_transpose(y, w, (4,))[0, :, 0]
    array([1., 3., 3., 2.])
    """
    w = _check_bank(w)
    d = w.ndim - 2
    y = _check_x(y, d, name="y")
    dtype = _float_dtype(y.dtype)
    f, cg = w.shape[0], w.shape[-1]
    groups = check_int(groups, "groups", min_val=1)
    if f % groups:
        raise ValueError(f"groups must divide the number of filters f={f}, got {groups}.")
    if y.shape[-1] != f:
        raise ValueError(
            f"y has {y.shape[-1]} channels but w has f={f} filters; y must have "
            "shape (n, *out, f)."
        )
    c = cg * groups
    input_spatial = check_int_tuple(input_spatial, "input_spatial", d, min_val=0)
    kernel, stride, dilation, pads, out_sp = _geometry(
        input_spatial, w.shape[1:-1], stride, padding, dilation
    )
    if tuple(y.shape[1:-1]) != out_sp:
        raise ValueError(
            f"y has spatial shape {tuple(y.shape[1:-1])} but conv of an input of "
            f"spatial shape {input_spatial} gives {out_sp} with these parameters."
        )
    if flip:
        w = w[(slice(None),) + (slice(None, None, -1),) * d]
    w = w.astype(dtype, copy=False)
    n = y.shape[0]
    fg = f // groups
    K = math.prod(kernel) * cg
    wmat = w.reshape(f, K)
    padded = tuple(s + pb + pa for s, (pb, pa) in zip(input_spatial, pads))
    inner = (slice(None),) + tuple(slice(pb, pb + s) for s, (pb, _) in zip(input_spatial, pads))
    x = np.empty((n,) + input_spatial + (c,), dtype=dtype)
    if n == 0:
        return x
    unit = all(s == 1 for s in stride) and not any(p for pair in pads for p in pair)
    if groups == 1 and K == c and unit:
        # Pointwise, unit stride, no padding: a plain GEMM into the result. (Equal
        # input and output shapes are not enough: stride 2 with padding 1 keeps a
        # length of 2.)
        np.matmul(y.reshape(-1, f).astype(dtype, copy=False), wmat,
                  out=x.reshape(-1, c))
        return x
    taps = list(np.ndindex(*kernel))
    xp, padded_for = None, None
    for i0, i1, a, b in _blocks(n, out_sp, K, dtype.itemsize):
        if padded_for != (i0, i1):
            if xp is not None:
                x[padded_for[0]:padded_for[1]] = xp[inner]
            xp, padded_for = np.zeros((i1 - i0,) + padded + (c,), dtype=dtype), (i0, i1)
        yb = y[i0:i1, a:b]
        bshape = yb.shape[:-1]
        y2 = yb.reshape(-1, f)
        if y2.dtype != dtype:
            y2 = y2.astype(dtype)
        # The block's output rows a:b start a * stride[0] further into the input.
        xb = xp[:, a * stride[0]:]
        for g in range(groups):
            # Columns of the adjoint: one GEMM, then scattered back (col2im).
            cols = np.matmul(y2[:, g * fg:(g + 1) * fg], wmat[g * fg:(g + 1) * fg])
            cols = cols.reshape(bshape + kernel + (cg,))
            xg = xb[..., g * cg:(g + 1) * cg]
            for tap in taps:
                _tap_view(xg, tap, stride, dilation, bshape[1:])[...] += cols[
                    (slice(None),) * (d + 1) + tap
                ]
    x[padded_for[0]:padded_for[1]] = xp[inner]
    return x


# --------------------------------------------------------------------------
# Channel shuffle
# --------------------------------------------------------------------------


def channel_shuffle(x, groups):
    """Interleave the channels of ``groups`` groups (ShuffleNet).

    The last axis is viewed as ``(groups, c // groups)``, transposed and
    flattened, so that the next grouped convolution sees channels from every
    group of the previous one.

    Parameters
    ----------
    x : ndarray of shape (..., c)
        Channels last.
    groups : int
        Must divide ``c``. ``channel_shuffle(., c // groups)`` is the inverse.

    Returns
    -------
    ndarray of shape (..., c)
        A new array.

    References
    ----------
    Zhang, Zhou, Lin and Sun (2018). ShuffleNet: An extremely efficient
    convolutional neural network for mobile devices. CVPR.

    Examples
    --------
    >>> channel_shuffle(np.arange(6), 2)
    array([0, 3, 1, 4, 2, 5])
    """
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError("x must have at least one (channel) dimension.")
    c = x.shape[-1]
    groups = check_int(groups, "groups", min_val=1)
    if c % groups:
        raise ValueError(f"groups must divide the number of channels c={c}, got {groups}.")
    lead = x.shape[:-1]
    return np.swapaxes(x.reshape(lead + (int(groups), c // int(groups))), -1, -2).reshape(
        lead + (c,)
    )


# --------------------------------------------------------------------------
# Separable (low-rank) kernels
# --------------------------------------------------------------------------

# Bound of the intermediate maps of one chunk of samples in conv_separable (as for
# the im2col buffer of the dense path).
_SEPARABLE_BYTES = 8 * 2**20


def _banded(length, k):
    """Whether a 1-D pass along an axis of ``length`` is one banded matrix product:
    when the band holds at most 16 times the useful multiply-adds."""
    return length <= 16 * k


def _band(taps, length, stride, pad_before, dilation, n_out, dtype):
    """Banded matrices (t, length, n_out): column p holds the taps of output p at the
    input positions it reads (positions in the padding are left out)."""
    band = np.zeros((taps.shape[0], length, n_out), dtype=dtype)
    p = np.arange(n_out)
    for i in range(taps.shape[1]):
        src = p * stride - pad_before + i * dilation
        ok = (src >= 0) & (src < length)
        band[:, src[ok], p[ok]] += taps[:, i:i + 1]
    return band


def _axis_kernels(taps, axis, d):
    """1-D kernels (t, k) as a bank (t, 1, .., k, .., 1, 1) along ``axis``."""
    shape = [1] * d
    shape[axis] = taps.shape[1]
    return taps.reshape((taps.shape[0],) + tuple(shape) + (1,))


def _on_axis(value, axis, d, rest):
    """A per-axis parameter that keeps ``value`` on ``axis`` and ``rest`` elsewhere."""
    out = [rest] * d
    out[axis] = value
    return tuple(out)


def _pass_1d(z, taps, axis, stride, pads, dilation, n_out, band=None):
    """Depthwise 1-D correlation along ``axis`` of z (n, *spatial, t).

    ``taps`` has shape (t, k): tap ``i`` of term ``j`` multiplies the last axis j.
    Along an axis no longer than 16 kernels, each term's pass is one matrix product
    with its banded (Toeplitz) matrix, padding, stride and dilation built in: more
    arithmetic than the ``k`` taps, but at matrix-product speed (1 thread, 20
    samples of 28x28 with 96 terms of 49 taps: 8 ms against 80-119 ms tap by tap).
    Along longer axes, one broadcast multiply-add per tap. ``band`` is the
    :func:`_band` matrices of the axis, when already built.
    """
    t, k = taps.shape
    length = z.shape[axis]
    if _banded(length, k):
        if band is None:
            band = _band(taps, length, stride, pads[0], dilation, n_out, z.dtype)
        last = z.ndim - 1
        zt = np.moveaxis(z, (last, axis), (0, last))  # (t, ..., length)
        y = np.matmul(zt.reshape(t, -1, length), band).reshape(zt.shape[:-1] + (n_out,))
        return np.moveaxis(y, (0, last), (last, axis))
    if pads != (0, 0):
        widths = [(0, 0)] * z.ndim
        widths[axis] = pads
        z = np.pad(z, widths)
    index = [slice(None)] * z.ndim

    def tap(i):
        index[axis] = slice(i * dilation, i * dilation + (n_out - 1) * stride + 1, stride)
        return z[tuple(index)]

    acc = tap(0) * taps[:, 0]
    tmp = np.empty_like(acc)
    for i in range(1, k):
        np.multiply(tap(i), taps[:, i], out=tmp)
        acc += tmp
    return acc


def _as_terms(a, name, f, last):
    """(f, last) or (f, rank, last) -> (f, rank, last)."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, np.newaxis]
    if a.ndim != 3 or a.shape[0] != f or a.dtype.kind not in "biuf" or (
        last is not None and a.shape[2] != last
    ):
        want = f"({f}, k) or ({f}, rank, k)" if last is None else f"({f}, {last}) or ({f}, rank, {last})"
        raise ValueError(
            f"{name} must be a real array of shape {want}, got shape {a.shape} and dtype "
            f"{a.dtype}."
        )
    return a


def conv_separable(x, factors, channel_weights=None, *, stride=1, padding="valid", dilation=1,
                   groups=1):
    """Convolution with separable (low-rank) kernels, as sequences of 1-D passes.

    The kernel of filter ``j`` is a sum of ``rank`` terms, each the outer product
    of one 1-D kernel per spatial axis and one weight per input channel it sees::

        w[j] = sum_s factors[0][j, s] ⊗ ... ⊗ factors[d-1][j, s] ⊗ channel_weights[j, s]

    Each term mixes the channels first (a pointwise product; nothing when the
    filter sees one channel), then runs one 1-D pass per spatial axis: ``sum(k_i)``
    taps per term instead of ``prod(k_i)``. Rank 1 with a spatial kernel is a
    spatially separable convolution; rank 1 with channel weights is a flattened
    convolution (Jin et al., 2014). The result equals
    ``conv(x, w, groups=groups)`` with the full kernels ``w``; the cost is
    :func:`skconv._cost.separable_multiply_adds`.

    Parameters
    ----------
    x : ndarray of shape (n, *spatial, c)
        Input batch with ``d = len(factors)`` spatial dimensions.
    factors : sequence of d ndarrays of shape (f, k_i) or (f, rank, k_i)
        The 1-D kernels of every term of every filter along each spatial axis.
    channel_weights : ndarray of shape (f, c // groups) or (f, rank, c // groups), optional
        The channel weights of every term. None is weights of 1, allowed when each
        filter sees one channel (``c == groups``: depthwise, or ``c == 1``).
    stride, padding, dilation, groups
        As in :func:`conv`: filter ``j`` sees the channels of group
        ``j // (f // groups)``.

    Returns
    -------
    ndarray of shape (n, *out, f)
        float32 or float64 as in :func:`conv`.

    References
    ----------
    Jin, Dundar and Culurciello (2014). Flattened convolutional neural
    networks for feedforward acceleration. arXiv:1412.5474.

    Examples
    --------
    >>> x = np.ones((1, 4, 4, 1))
    >>> fac = [np.array([[1.0, 2.0]]), np.array([[1.0, -1.0, 3.0]])]
    >>> conv_separable(x, fac)[0, :, :, 0]
    array([[9., 9.],
           [9., 9.],
           [9., 9.]])
    """
    if not isinstance(factors, (list, tuple)) or not 1 <= len(factors) <= 3:
        raise ValueError(
            "factors must be a list of 1 to 3 arrays of shape (n_filters, k_i) or "
            f"(n_filters, rank, k_i), one per spatial axis, got {type(factors).__name__}."
        )
    d = len(factors)
    f = np.shape(factors[0])[0] if np.ndim(factors[0]) else 0
    factors = [_as_terms(fa, f"factors[{i}]", f, None) for i, fa in enumerate(factors)]
    rank = factors[0].shape[1]
    if f == 0 or any(fa.shape[1] != rank for fa in factors):
        raise ValueError(
            "factors must all have the same (positive) number of filters and terms, got "
            f"shapes {[fa.shape for fa in factors]}."
        )
    x = _check_x(x, d)
    dtype = _float_dtype(x.dtype)
    n, c = x.shape[0], x.shape[-1]
    groups = _check_groups(groups, c, f)
    cg, fg = c // groups, f // groups
    if channel_weights is None:
        if cg != 1:
            raise ValueError(
                f"channel_weights must be given when filters see more than one channel "
                f"(c // groups = {cg}), got None."
            )
        cw = np.ones((f, rank, 1))
    else:
        cw = _as_terms(channel_weights, "channel_weights", f, cg)
        if cw.shape[1] != rank:
            raise ValueError(
                f"channel_weights must have {rank} term(s) per filter like factors, got "
                f"shape {cw.shape}."
            )
    kernel, stride, dilation, pads, out_sp = _geometry(
        x.shape[1:-1], tuple(fa.shape[2] for fa in factors), stride, padding, dilation
    )
    T = f * rank  # term j * rank + s of filter j
    taps = [fa.reshape(T, -1).astype(dtype) for fa in factors]
    cw = cw.reshape(T, cg).astype(dtype)
    if cg == 1:
        # One channel per filter: its weight scales the first 1-D kernel.
        taps[0] *= cw
    out = np.empty((n,) + out_sp + (f,), dtype=dtype)
    if n == 0:
        return out
    padded = math.prod(s + pb + pa for s, (pb, pa) in zip(x.shape[1:-1], pads))
    step = max(1, _SEPARABLE_BYTES // max(padded * T * dtype.itemsize, 1))
    first = dict(
        w=_axis_kernels(taps[0], 0, d),
        stride=_on_axis(stride[0], 0, d, 1),
        padding=_on_axis(pads[0], 0, d, (0, 0)),
        dilation=_on_axis(dilation[0], 0, d, 1),
    )
    # the band matrices of the axes short enough for them, built once
    bands = [
        _band(taps[i], length, stride[i], pads[i][0], dilation[i], out_sp[i], dtype)
        if _banded(length, kernel[i]) and (i > 0 or cg > 1) else None
        for i, length in enumerate(x.shape[1:-1])
    ]
    for i0 in range(0, n, step):
        xb = x[i0:i0 + step].astype(dtype, copy=False)
        if cg == 1:
            # Each term sees one channel: the first pass is a grouped convolution
            # of the input with T / groups 1-D kernels per channel, through the
            # engine's own path (1 thread, 200 samples of 28x28, 48 terms of 15 to
            # 49 taps: im2col 10-25 ms, band products 27-31 ms).
            z = conv(xb, groups=groups, **first)
        else:
            # Mixing the channels first leaves one map per term for the passes.
            z = np.empty(xb.shape[:-1] + (T,), dtype=dtype)
            xg = xb.reshape(-1, c)
            z2 = z.reshape(-1, T)
            for g in range(groups):
                terms = slice(g * fg * rank, (g + 1) * fg * rank)
                np.matmul(xg[:, g * cg:(g + 1) * cg], cw[terms].T, out=z2[:, terms])
            z = _pass_1d(z, taps[0], 1, stride[0], pads[0], dilation[0], out_sp[0], bands[0])
        for i in range(1, d):
            z = _pass_1d(z, taps[i], 1 + i, stride[i], pads[i], dilation[i], out_sp[i],
                         bands[i])
        if rank > 1:
            z = z.reshape(z.shape[:-1] + (f, rank)).sum(axis=-1)
        out[i0:i0 + step] = z
    return out


# --------------------------------------------------------------------------
# Locally connected and tiled convolution
# --------------------------------------------------------------------------


def _unshared_geometry(x, w, name, lead_name):
    w = np.asarray(w)
    if w.ndim not in (4, 6, 8) or w.dtype.kind not in "biuf":
        raise ValueError(
            f"w must be a real array of shape (*{lead_name}, n_filters, *kernel, c) "
            f"with 1 to 3 spatial dimensions, got shape {w.shape}."
        )
    d = (w.ndim - 2) // 2
    x = _check_x(x, d)
    if w.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"w has {w.shape[-1]} input channels but x has c={x.shape[-1]}: w must have "
            f"shape (*{lead_name}, n_filters, *kernel, c)."
        )
    return x, w, d


def conv_local(x, w, *, stride=1, padding="valid", dilation=1):
    """Locally connected layer: a convolution whose weights are not shared.

    Parameters
    ----------
    x : ndarray of shape (n, *spatial, c)
    w : ndarray of shape (*out, f, *kernel, c)
        One filter bank per output position; ``out`` must be the output
        spatial shape of the geometry.
    stride, padding, dilation
        As in :func:`conv`.

    Returns
    -------
    ndarray of shape (n, *out, f)
        ``y[:, p, j] = sum(patch(p) * w[p, j])``.

    Examples
    --------
    >>> x = np.arange(4.0).reshape(1, 4, 1)
    >>> w = np.array([[1.0, 0.0], [0.0, 10.0], [100.0, 100.0]]).reshape(3, 1, 2, 1)
    >>> conv_local(x, w)[0, :, 0]
    array([  0.,  20., 500.])
    """
    x, w, d = _unshared_geometry(x, w, "w", "out")
    dtype = _float_dtype(x.dtype)
    kernel, stride, dilation, pads, out_sp = _geometry(
        x.shape[1:-1], w.shape[d + 1:2 * d + 1], stride, padding, dilation
    )
    if tuple(w.shape[:d]) != out_sp:
        raise ValueError(
            f"w must have one filter bank per output position: leading shape {out_sp}, "
            f"got {tuple(w.shape[:d])}."
        )
    n, c, f = x.shape[0], x.shape[-1], w.shape[d]
    P = math.prod(out_sp)
    K = math.prod(kernel) * c
    # (P, K, f): a transposed view of the per-position banks.
    wmat = np.swapaxes(w.astype(dtype, copy=False).reshape(P, f, K), 1, 2)
    out = np.empty((n,) + out_sp + (f,), dtype=dtype)
    if n == 0:
        return out
    step = _chunk_size(P, K, dtype.itemsize)
    for i0 in range(0, n, step):
        i1 = min(i0 + step, n)
        m = i1 - i0
        view = _patch_view(_pad(x[i0:i1], pads), kernel, stride, dilation, out_sp)
        # Position-major columns (P, m, K), then one GEMM per position.
        cols = np.empty(out_sp + (m,) + kernel + (c,), dtype=dtype)
        np.copyto(cols, np.moveaxis(view, 0, d), casting="unsafe")
        res = np.matmul(cols.reshape(P, m, K), wmat)  # (P, m, f)
        out[i0:i1] = np.moveaxis(res, 0, 1).reshape((m,) + out_sp + (f,))
    return out


def conv_tiled(x, w, *, stride=1, padding="valid", dilation=1):
    """Tiled convolution: weights shared between positions a tile apart.

    Output position ``p`` uses the bank ``w[p mod tile]`` (Le et al., 2010);
    ``tile = (1, ..., 1)`` is ordinary convolution and ``tile = out`` the
    locally connected layer.

    Parameters
    ----------
    x : ndarray of shape (n, *spatial, c)
    w : ndarray of shape (*tile, f, *kernel, c)
    stride, padding, dilation
        As in :func:`conv`.

    Returns
    -------
    ndarray of shape (n, *out, f)

    References
    ----------
    Le, Ngiam, Chen, Chia, Koh and Ng (2010). Tiled convolutional neural
    networks. NIPS.

    Examples
    --------
    >>> x = np.arange(4.0).reshape(1, 4, 1)
    >>> w = np.array([1.0, -1.0]).reshape(2, 1, 1, 1)
    >>> conv_tiled(x, w)[0, :, 0]
    array([ 0., -1.,  2., -3.])
    """
    x, w, d = _unshared_geometry(x, w, "w", "tile")
    dtype = _float_dtype(x.dtype)
    kernel, stride, dilation, pads, out_sp = _geometry(
        x.shape[1:-1], w.shape[d + 1:2 * d + 1], stride, padding, dilation
    )
    tile = tuple(w.shape[:d])
    if any(t < 1 for t in tile):
        raise ValueError(f"w must have a positive tile shape, got {tile}.")
    n, c, f = x.shape[0], x.shape[-1], w.shape[d]
    K = math.prod(kernel) * c
    w = w.astype(dtype, copy=False)
    out = np.empty((n,) + out_sp + (f,), dtype=dtype)
    if n == 0:
        return out
    step = _chunk_size(math.prod(out_sp), K, dtype.itemsize)
    for i0 in range(0, n, step):
        i1 = min(i0 + step, n)
        view = _patch_view(_pad(x[i0:i1], pads), kernel, stride, dilation, out_sp)
        for t in np.ndindex(*tile):
            if any(ti >= o for ti, o in zip(t, out_sp)):
                continue  # this tile offset has no output position
            sub = (slice(None),) + tuple(slice(ti, None, T) for ti, T in zip(t, tile))
            v = view[sub]
            cols = np.empty(v.shape, dtype=dtype)
            np.copyto(cols, v, casting="unsafe")
            res = np.matmul(cols.reshape(-1, K), w[t].reshape(f, K).T)
            out[i0:i1][sub] = res.reshape(v.shape[:d + 1] + (f,))
    return out
