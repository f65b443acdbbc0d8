"""MiniRocket: the fixed kernels, dilations and quantile biases of Dempster et al. (2021).

The transform is computed in numpy, a whole batch of signals at once, with the
positions first: ``(length, batch)`` arrays whose shifted row slices are the taps
of a dilated kernel. Every kernel has weights -1 and 2 (three 2s among nine
taps), so its output is ``3 * (x_a + x_b + x_c) - (x_0 + ... + x_8)``: for one
signal, the sum ``S`` of the nine taps and ``U_c = 3 x_c - S`` are computed once
per dilation, then ``3 (x_a + x_b)`` once per pair of positions, and each of the
84 outputs is one addition. Multichannel signals sum a random combination of
channels per kernel: the weights of a block of kernels on all the channels make
one matrix product with the taps of every channel. The thresholds are counted
over blocks of at most 255 positions in ``uint8``, with a halving tree of
additions that each run over the whole batch.
"""

import math
from itertools import combinations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._dask import dask_aware
from ._docs import fill_doc
from ._maps import FeatureMaps, is_variable_size, run_in_threads, stack_batches
from ._progress import Progress, Timer, say
from ._pool import POSITIVE_METHODS, positive_statistics, positive_sums
from ._validation import (
    check_batch_size,
    check_bool,
    check_dtype,
    check_input,
    check_int,
    check_n_jobs,
    check_verbose,
    check_options,
    check_random_state,
    effective_n_jobs,
    is_int,
)

__all__ = ["MiniRocket", "KERNELS", "fit_dilations", "quantile_levels"]

#: The positions of the three weights 2 of each of the 84 kernels (the other six are -1).
KERNELS = np.array(list(combinations(range(9), 3)), dtype=np.intp)
_WEIGHTS = -np.ones((84, 9))
_WEIGHTS[np.arange(84)[:, None], KERNELS] = 2.0
# Kernels that share their first two positions (a, b) are consecutive:
# (a, b, first kernel, number of kernels); their third positions run b+1 .. 8.
_PAIRS = []
for _a, _b in combinations(range(9), 2):
    if _b < 8:
        _first = _PAIRS[-1][2] + _PAIRS[-1][3] if _PAIRS else 0
        _PAIRS.append((_a, _b, _first, 8 - _b))
del _a, _b, _first
_BLOCK = 7  # kernels per group of the matrix-product path (multichannel signals)
# Positions counted at once in uint8 (the sums must stay below 256). Longer runs
# measured faster, as each numpy call then does more (ACSF1, 1,460 positions,
# fit + transform on one thread: 0.99 s with 255, 1.40 s with 128, 2.64 s with 32).
_MAX_RUN = 255
# Groups of kernels are thresholded together up to this many bytes of 0/1 values
# (fewer, larger numpy calls; 2 MB measured faster than 1 or 8 MB).
_MASK_BYTES = 2**21
# "auto" batches: about this many positions x signals per block, and masks of at
# most _AUTO_MASK_BYTES for a group of _BLOCK kernels.
_AUTO_ELEMENTS = 2**15
_AUTO_MASK_BYTES = 2**23


def fit_dilations(length, n_per_kernel, max_dilations):
    """Dilations and thresholds per dilation of MiniRocket for signals of ``length``.

    ``min(n_per_kernel, max_dilations)`` exponents are spaced evenly in ``[0,
    log2((length - 1) / 8)]`` (so that the dilated kernel spans the signal), the
    dilations are ``floor(2 ** exponent)`` without repeats, and each gets
    thresholds in proportion to how often it came up, the remainder going one by
    one to the smallest dilations. Signals shorter than 9 get dilation 1.

    Returns
    -------
    dilations : ndarray of int
    counts : ndarray of int
        Thresholds per kernel at each dilation; they sum to ``n_per_kernel``.

    Examples
    --------
    >>> dilations, counts = fit_dilations(24, 119, 32)
    >>> dilations.tolist(), counts.tolist()
    ([1, 2], [79, 40])
    """
    n = min(n_per_kernel, max_dilations)
    top = max(np.log2(max(length - 1, 1) / 8), 0.0)
    exponents = np.logspace(0, top, n, base=2)
    dilations, counts = np.unique(exponents.astype(np.int64), return_counts=True)
    counts = (counts * (n_per_kernel / n)).astype(np.int64)
    # each count lost less than one to the rounding: at most one more each
    counts[: n_per_kernel - counts.sum()] += 1
    return dilations, counts


def quantile_levels(n):
    """``frac(k * golden ratio)`` for ``k = 1 .. n``: the low-discrepancy levels of
    MiniRocket's bias quantiles, in float32."""
    phi = (np.sqrt(5) + 1) / 2
    return np.array([(k * phi) % 1 for k in range(1, n + 1)], dtype=np.float32)


def row_quantiles(C, q, lengths=None):
    """``np.quantile(C[j, :lengths[j]], q[j])`` for every row ``j``, bit for bit
    (numpy's "linear" method in the dtype of ``C`` and ``q``), from one sort of
    all the rows: a ``np.quantile`` call per row costs 0.1 ms of overhead, and
    one call with every row's levels selects each level in every row.

    Examples
    --------
    >>> C = np.array([[3.0, 1.0, 2.0], [0.0, 4.0, 8.0]], dtype=np.float32)
    >>> q = np.array([[0.5, 0.25], [0.5, 0.75]], dtype=np.float32)
    >>> row_quantiles(C, q).tolist()
    [[2.0, 1.5], [4.0, 6.0]]
    >>> row_quantiles(C, q, lengths=[3, 2]).tolist()
    [[2.0, 1.5], [2.0, 3.0]]
    """
    C = np.array(C)  # a copy: sorted in place
    R, L = C.shape
    if lengths is not None:
        lengths = np.asarray(lengths, dtype=np.intp)
        C[np.arange(L)[None, :] >= lengths[:, None]] = np.inf  # sorted past the values
    else:
        lengths = np.full(R, L, dtype=np.intp)
    C.sort(axis=1)
    last = (lengths - 1)[:, None]
    # numpy's virtual index (n - 1) * q, with n - 1 a scalar of q's dtype (exact)
    virtual = last.astype(q.dtype) * q
    before = np.floor(virtual)
    gamma = virtual - before
    top = virtual >= last  # the last value itself
    prev = np.where(top, last, before.astype(np.intp))
    nxt = np.where(top, last, prev + 1)
    a = np.take_along_axis(C, prev, axis=1)
    b = np.take_along_axis(C, nxt, axis=1)
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


class _Representation:
    """What fit learned for one representation of the signals (raw or differenced)."""

    def __init__(self, name, dilations, counts, biases, channels):
        self.name = name
        self.dilations = dilations
        self.counts = counts
        self.biases = biases  # per dilation, (84, count)
        self.channels = channels  # (n_dilations, 84, c) bool

    @property
    def n_thresholds(self):
        return 84 * int(self.counts.sum())

    def plan(self, di, mode, kmax, multichannel):
        """The blocks of kernels of one dilation (see :func:`_plan`), built once."""
        plans = self.__dict__.setdefault("_plans", {})
        key = (di, mode, kmax, multichannel)
        if key not in plans:
            plans[key] = _plan(self.biases, di, mode, kmax, multichannel)
        return plans[key]

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_plans", None)  # rebuilt on demand
        return state


def _pad_positions(x, lengths, dtype):
    """``(B, L, c)`` signals (or a list of ``(L_i, c)``) as zero-padded ``(c, Lmax, B)``."""
    if isinstance(x, list):
        out = np.zeros((x[0].shape[-1], int(max(lengths)), len(x)), dtype=dtype)
        for i, s in enumerate(x):
            out[:, : s.shape[0], i] = s.T
        return out
    return np.ascontiguousarray(np.asarray(x, dtype=dtype).transpose(2, 1, 0))


def _difference(xt, lengths):
    """First differences of zero-padded ``(c, Lmax, B)`` signals, zero past each end."""
    d = np.diff(xt, axis=1)
    if lengths is not None:
        tail = np.arange(d.shape[1])[:, None] >= (lengths - 1)[None, :]
        d[:, tail] = 0
    return d


def _conv_rows(y, dilation, dtype):
    """Every kernel ``j`` applied at ``dilation`` to row ``j`` of ``y`` (84, L), rows
    zero past their signal's end.

    The outputs have the length of the input ("same" zero padding), as MiniRocket
    fits its biases on.
    """
    pad = 4 * dilation
    n, L = y.shape
    yp = np.zeros((n, L + 2 * pad), dtype=dtype)
    yp[:, pad : pad + L] = y
    out = np.zeros((n, L), dtype=dtype)
    w = _WEIGHTS.astype(dtype)
    for k in range(9):
        out += w[:, k, None] * yp[:, k * dilation : k * dilation + L]
    return out


def _count_tree(mask):
    """Per-signal counts of True in ``mask`` (..., n, B), n <= 255: the rows are
    added pairwise in uint8, halving them until one is left. Every addition runs
    over whole rows of the batch at once (a long vector), which numpy does faster
    than a reduction along the positions (transform of 100 signals of 1,460 values:
    0.42 s against 0.65 s)."""
    u = mask.view(np.uint8)
    n = u.shape[-2]
    while n > 1:
        h = n // 2
        np.add(u[..., :h, :], u[..., n - h : n, :], out=u[..., :h, :])
        n -= h  # an odd middle row stays where it is, inside the first n - h
    return u[..., 0, :]


class _Batch:
    """The features of one batch of signals for one representation."""

    def __init__(self, xt, lengths, rep, methods, dtype):
        self.xt = xt  # (c, L, B), zero past each signal's end
        self.c, self.L, self.B = xt.shape
        self.lengths = (
            np.full(self.B, self.L) if lengths is None else np.asarray(lengths, dtype=np.intp)
        )
        self.rep = rep
        self.methods = methods
        self.dtype = dtype
        self._buffers = {}

    def _buffer(self, name, shape, dtype):
        """A reused work array of ``shape`` (fresh arrays this size cost page faults)."""
        size = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.size < size:
            buf = self._buffers[name] = np.empty(size, dtype=dtype)
        return buf[:size].reshape(shape)

    def features(self, out):
        """Write the features into ``out`` (n_methods * n_thresholds, B), statistic-major."""
        rep = self.rep
        out = out.reshape(len(self.methods), rep.n_thresholds, self.B)  # a view
        start = 0
        dmax = int(rep.dilations.max())
        self.P = 4 * dmax
        xp = np.zeros((self.c, self.L + 2 * self.P, self.B), dtype=self.dtype)
        xp[:, self.P : self.P + self.L] = self.xt
        self.xp, self.x3 = xp, 3 * xp
        for di, (d, m) in enumerate(zip(rep.dilations, rep.counts)):
            self._dilation(di, int(d), int(m), out[:, start : start + 84 * m])
            start += 84 * m

    # --- regions ---------------------------------------------------------------
    def _regions(self, pad):
        """Per half (0: the whole output, 1: the part not reached by the padding),
        the start, stop and length of each signal's region. MiniRocket alternates
        the two between kernels and dilations; where a signal is too short for the
        second, it falls back to the first."""
        L = self.lengths
        lo_v = np.where(L - 2 * pad >= 1, pad, 0)
        hi_v = np.where(L - 2 * pad >= 1, L - pad, L)
        return (np.zeros_like(L), L), (lo_v, hi_v)

    def _chunks(self, pad, size):
        cuts = sorted({0, self.L, *(c for c in (pad, self.L - pad) if 0 < c < self.L)})
        for a, b in zip(cuts[:-1], cuts[1:]):
            for s in range(a, b, size):
                yield s, min(s + size, b)

    # --- one dilation ------------------------------------------------------------
    def _dilation(self, di, d, m, out):
        """The statistics of dilation ``di`` into ``out`` (n_methods, 84 * m, B)."""
        out = out.reshape(len(self.methods), 84, m, self.B)  # a view
        rep, pad = self.rep, 4 * d
        regions = self._regions(pad)
        ppv_only = self.methods == ("ppv",)
        if ppv_only:
            counts = self._buffer("counts", (84, m, self.B), np.int32)
            counts[...] = 0
            chunks = list(self._chunks(pad, min(self.L, _MAX_RUN)))
        else:
            sums = {}
            chunks = [(0, self.L)]
        weights = None if self.c == 1 else self._weights(di)
        for s, e in chunks:
            n = e - s
            states = []
            for lo, hi in regions:
                if ((hi <= s) | (lo >= e)).all():
                    states.append(None)
                elif (lo <= s).all() and (hi >= e).all():
                    states.append(True)  # every signal's region holds the chunk
                else:
                    t = np.arange(s, e)[:, None]
                    states.append((t >= lo[None]) & (t < hi[None]))  # (n, B)
            if states[0] is None and states[1] is None:
                continue
            mode = 2 if states[0] is None else 1 if states[1] is None else 0
            kmax = int(np.clip(_MASK_BYTES // (m * n * self.B), 1, 84))
            outputs = self._taps(d, s, e, weights)
            for block in rep.plan(di, mode, kmax, self.c > 1):
                js, halves = block.where, block.halves
                C = outputs(block)  # (k, n, B)
                for h in (0, 1):
                    if states[h] is not None and states[h] is not True:
                        for r in np.flatnonzero(halves == h):
                            np.copyto(C[r], -np.inf, where=~states[h])
                if ppv_only:
                    mask = self._buffer("mask", (len(block.kernels), m, n, self.B), bool)
                    np.greater(C[:, None], block.bias, out=mask)
                    counts[js] += _count_tree(mask)
                else:
                    part = positive_sums(C[:, None] - block.bias, (2,), self.methods)
                    for key, value in part.items():
                        sums.setdefault(key, np.zeros((84, m, self.B), value.dtype))
                        sums[key][js] = value
        half = (np.arange(84) + di) % 2  # 0: whole output, 1: its unpadded part
        lo = np.stack([r[0] for r in regions])[half][:, None, :]  # (84, 1, B)
        length = np.stack([r[1] - r[0] for r in regions])[half][:, None, :]
        if ppv_only:
            # Counts and lengths below 2**24 are exact in float32, and their float32
            # quotient is the float64 quotient rounded to float32 (the mean of the
            # 0/1 values): it is never close enough to a float32 midpoint for the
            # double rounding to differ.
            np.copyto(out[0], counts, casting="unsafe")  # faster than a casting divide
            np.divide(out[0], length.astype(self.dtype), out=out[0])
            return
        stats = positive_statistics(sums, self.methods, length, offset=lo, dtype=self.dtype)
        for dst, values in zip(out, stats):
            dst[...] = values

    def _weights(self, di):
        # (84, 9 * c): kernel weights on the channels of each kernel's combination
        combo = self.rep.channels[di].astype(self.dtype)  # (84, c)
        return (_WEIGHTS.astype(self.dtype)[:, :, None] * combo[:, None, :]).reshape(84, -1)

    def _taps(self, d, s, e, weights):
        """A function giving the outputs of a block of kernels on positions s..e-1."""
        P, n, B = self.P, e - s, self.B
        rows = [slice(P + s + (k - 4) * d, P + e + (k - 4) * d) for k in range(9)]
        if weights is not None:
            G = np.stack([self.xp[:, r] for r in rows]).reshape(9 * self.c, n * B)

            def products(block):
                out = self._buffer("outputs", (len(block.kernels), n * B), self.dtype)
                np.matmul(weights[block.kernels], G, out=out)
                return out.reshape(-1, n, B)

            return products
        V = [self.xp[0, r] for r in rows]
        V3 = [self.x3[0, r] for r in rows]
        S = self._buffer("S", (n, B), self.dtype)
        np.add(V[0], V[1], out=S)
        for v in V[2:]:
            S += v
        U = self._buffer("U", (9, n, B), self.dtype)
        for k in range(9):
            np.subtract(V3[k], S, out=U[k])  # 3 x_k - S
        pair = self._buffer("pair", (n, B), self.dtype)

        def outputs(block):
            out = self._buffer("outputs", (len(block.kernels), n, B), self.dtype)
            for a, b, third, start, stop in block.pairs:  # each pair is in one block
                np.add(V3[a], V3[b], out=pair)
                np.add(pair[None], U[third], out=out[start:stop])
            return out

        return outputs


class _Block:
    """Kernels thresholded together: their indices, the half of the output each
    uses, their biases ``(k, m, 1, 1)`` and, for single-channel signals, how their
    outputs come from the pair sums: ``(a, b, positions of the third 2, rows)``."""

    def __init__(self, kernels, halves, bias, pairs):
        self.kernels, self.halves, self.bias, self.pairs = kernels, halves, bias, pairs
        # every other kernel or all of them in a range: a slice (fancy indexing of
        # the per-kernel results would copy them)
        step = int(kernels[1] - kernels[0]) if len(kernels) > 1 else 1
        regular = (np.diff(kernels) == step).all() if len(kernels) > 1 else True
        self.where = slice(int(kernels[0]), int(kernels[-1]) + 1, step) if regular else kernels


def _plan(biases, di, mode, kmax, multichannel):
    """The blocks of kernels of dilation ``di``: all kernels (``mode`` 0), those
    using the whole output (1) or its unpadded part (2), at most ``kmax`` a block
    (whole pairs of positions for single-channel signals)."""
    groups = (
        [(j0, min(_BLOCK, 84 - j0), None) for j0 in range(0, 84, _BLOCK)]
        if multichannel
        else [(j0, nc, (a, b)) for a, b, j0, nc in _PAIRS]
    )
    blocks, current = [], []

    def close():
        if current:
            kernels = np.concatenate([c[0] for c in current])
            pairs, row = [], 0
            for js, ab in current:
                if ab is not None:
                    third = KERNELS[js, 2]
                    step = 2 if len(js) > 1 and js[1] - js[0] == 2 else 1
                    pairs.append((ab[0], ab[1], slice(third[0], third[-1] + 1, step), row,
                                  row + len(js)))
                row += len(js)
            halves = (kernels + di) % 2
            bias = np.ascontiguousarray(biases[di][kernels][:, :, None, None])
            blocks.append(_Block(kernels, halves, bias, pairs))
            current.clear()

    size = 0
    for j0, nc, ab in groups:
        js = np.arange(j0, j0 + nc)
        if mode:
            js = js[(js + di) % 2 == mode - 1]
        if not len(js):
            continue
        if size and size + len(js) > kmax:
            close()
            size = 0
        current.append((js, ab))
        size += len(js)
    close()
    return blocks


@fill_doc
class MiniRocket(TransformerMixin, BaseEstimator):
    """MiniRocket features of signals: 84 fixed kernels, many dilations, quantile biases.

    The transform of Dempster et al. [1]_, computed in numpy for a whole batch of
    signals at once (no compilation step). Each of the 84 kernels of length 9 has
    weights -1 and 2 (three 2s); it is applied at dilations spaced exponentially
    up to the length of the signals, and its output at each dilation is compared
    with several biases: quantiles (at low-discrepancy levels) of the outputs on
    random training signals. Each feature is the proportion of positions where the
    output exceeds its bias (``ppv``), over the whole output or, for every other
    kernel, the part of it that the zero padding does not reach. With ``n_features
    = 10_000`` there are 9,996 features.

    Multichannel signals: each kernel at each dilation sums the outputs of a random
    combination of 1 to 9 channels, as in the paper.

    MultiRocket's extensions [2]_ are options: more statistics of the positive
    values per threshold (``method``) and the first-order differences as a second
    representation (``difference``). ``n_features`` is then shared between them.

    Signals of different lengths are given as a list: the dilations follow the
    longest training signal, a signal too short for the unpadded part of a
    kernel's output uses the whole output, and the features are computed a batch
    at a time (signals of similar lengths together, zero-padded).

    Parameters
    ----------
    n_features : int, default=10000
        About how many features: ``n_features // (84 * len(method) * r)``
        thresholds per kernel (at least 1), with ``r`` 2 with ``difference``
        and 1 without.
    max_dilations_per_kernel : int, default=32
        At most this many dilations.
    method : str or tuple of str, default="ppv"
        Statistics of the thresholded outputs, as in :class:`skconv.Pool`:
        ``"ppv"`` (proportion of positive values), ``"mpv"`` (their mean, 0 when
        there are none), ``"mipv"`` (their mean position as a fraction of the
        length; -1 when none) and ``"lspv"`` (longest stretch of them as a
        fraction of the length).
    difference : bool, default=False
        Also compute the features of the first-order differences of the signals
        (with their own dilations and biases), after those of the signals.
    random_state : int, RandomState instance or None, default=None
        Seeds the channel combinations and the training signals the biases come
        from, drawn as in the authors' reference code: the same integer seed
        gives the same features as that code and as aeon's ``MiniRocket`` (up
        to the rounding of sums in another order). A RandomState gives a seed.
        The features do not depend on ``n_jobs`` or ``batch_size``.
    input_shape : tuple of int, default=None
        ``(length,)`` or ``(length, n_channels)`` when ``X`` is flat
        multichannel data; flat ``X`` without it is single-channel signals.
    %(channel_axis)s
    batch_size : int or "auto", default="auto"
        Signals transformed at once; sets the memory used. ``"auto"`` sizes the
        batches from the length of the signals.
    n_jobs : int, default=None
        Threads over batches (``-1``: all cores).
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        Dtype of the computation and of the features.
    %(verbose)s

    Attributes
    ----------
    dilations_ : list of ndarray of int
        The dilations of each representation (signals, then differences).
    n_thresholds_per_dilation_ : list of ndarray of int
        Thresholds per kernel at each dilation.
    biases_ : list of list of ndarray
        Per representation and dilation, the biases ``(84, n_thresholds)``.
    channel_combinations_ : list of ndarray of bool
        Per representation, ``(n_dilations, 84, n_channels)``: the channels each
        kernel sums at each dilation.
    n_features_out_ : int
        Number of features.
    %(input_attributes)s

    See Also
    --------
    skconv.RandomConv : ROCKET's random kernels (``dilations="random"``).
    skconv.Pool : the same statistics on any maps.

    References
    ----------
    .. [1] %(ref_minirocket)s
    .. [2] %(ref_multirocket)s

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import MiniRocket
    >>> X = np.random.RandomState(0).randn(20, 60)
    >>> rocket = MiniRocket(random_state=0).fit(X)
    >>> rocket.transform(X).shape
    (20, 9996)
    >>> rocket.dilations_[0].tolist()
    [1, 2, 3, 4, 5, 6, 7]

    Signals of different lengths, with MultiRocket's statistics:

    >>> signals = [np.random.RandomState(i).randn(40 + 5 * i) for i in range(6)]
    >>> multi = MiniRocket(1000, method=("ppv", "lspv"), difference=True, random_state=0)
    >>> multi.fit_transform(signals).shape
    (6, 672)
    >>> multi.get_feature_names_out()[[0, -1]].tolist()
    ['ppv_d1_k0_b0', 'lspv_diff_d7_k83_b0']
    """

    def __init__(
        self,
        n_features=10_000,
        *,
        max_dilations_per_kernel=32,
        method="ppv",
        difference=False,
        random_state=None,
        input_shape=None,
        channel_axis=-1,
        batch_size="auto",
        n_jobs=None,
        dtype=np.float32,
        verbose=0,
    ):
        self.n_features = n_features
        self.max_dilations_per_kernel = max_dilations_per_kernel
        self.method = method
        self.difference = difference
        self.random_state = random_state
        self.input_shape = input_shape
        self.channel_axis = channel_axis
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.dtype = dtype
        self.verbose = verbose

    # --- parameters and input ---------------------------------------------------
    def _check_params(self):
        check_int(self.n_features, "n_features", min_val=1)
        check_int(self.max_dilations_per_kernel, "max_dilations_per_kernel", min_val=1)
        self._methods = check_options(self.method, "method", POSITIVE_METHODS)
        check_bool(self.difference, "difference")
        check_batch_size(self.batch_size)
        check_n_jobs(self.n_jobs)
        check_verbose(self.verbose)
        self._dtype = check_dtype(self.dtype)

    def _check_input(self, X, *, reset):
        Xv, _ = check_input(
            self, X, reset=reset, ndim=1, input_shape=self.input_shape, dtype=self._dtype,
            channel_axis=self.channel_axis,
        )
        lengths = _lengths(Xv)
        if self.difference and lengths.min() < 2:
            raise ValueError(
                "difference=True needs signals of at least 2 values, got a signal of 1 "
                "value (1 feature(s) per sample)."
            )
        return Xv, lengths

    # --- fit -------------------------------------------------------------------
    def fit(self, X, y=None):
        """Choose the dilations, channel combinations and biases.

        Parameters
        ----------
        X : array-like, list of array-like or FeatureMaps
            Signals ``(n_samples, length)``, ``(n_samples, length, n_channels)``
            (``channel_axis=1``: ``(n_samples, n_channels, length)``), or a list of
            signals of different lengths.
        y : ignored

        Returns
        -------
        self : object
        """
        self._check_params()
        Xv, lengths = self._check_input(X, reset=True)
        rng = check_random_state(self.random_state)
        # an int is the seed itself; otherwise a seed is drawn from the generator
        seed = int(self.random_state) if is_int(self.random_state) else int(
            rng.randint(np.iinfo(np.int32).max)
        )
        timer = Timer()
        n_reps = 2 if self.difference else 1
        per_kernel = max(self.n_features // (84 * len(self._methods) * n_reps), 1)
        reps = [self._fit_representation("raw", Xv, lengths, per_kernel, seed)]
        if self.difference:
            reps.append(self._fit_representation("diff", Xv, lengths, per_kernel, seed))
        self._reps = reps
        self.dilations_ = [r.dilations for r in reps]
        self.n_thresholds_per_dilation_ = [r.counts for r in reps]
        self.biases_ = [r.biases for r in reps]
        self.channel_combinations_ = [r.channels for r in reps]
        self.n_features_out_ = sum(r.n_thresholds for r in reps) * len(self._methods)
        say(self.verbose, f"MiniRocket fit: {sum(len(r.dilations) for r in reps)} dilations, "
                          f"{self.n_features_out_:,} features from {len(lengths):,} signals in "
                          f"{timer}")
        return self

    def _fit_representation(self, name, Xv, lengths, per_kernel, seed):
        diff = name == "diff"
        lengths = lengths - 1 if diff else lengths
        dilations, counts = fit_dilations(
            int(lengths.max()), per_kernel, self.max_dilations_per_kernel
        )
        c = self.n_channels_in_
        n_comb = 84 * len(dilations)
        # The random draws of the authors' reference code, in its order: from the
        # seed, the channel counts (1 to min(c, 9), exponentially distributed) and
        # a random subset per combination; from the seed again, one training
        # signal per combination. So the same integer seed gives the same
        # features as that code (and as aeon's MiniRocket).
        channels = np.zeros((n_comb, c), dtype=bool)
        if c == 1:
            channels[:] = True
        else:
            rng = np.random.RandomState(seed)
            n_ch = (2 ** rng.uniform(0, np.log2(min(c, 9) + 1), n_comb)).astype(np.int64)
            for i, k in enumerate(n_ch):
                channels[i, rng.choice(c, k, replace=False)] = True
        channels = channels.reshape(len(dilations), 84, c)
        examples = np.random.RandomState(seed).randint(len(lengths), size=(len(dilations), 84))
        levels = quantile_levels(84 * int(counts.sum()))
        used = np.unique(examples)
        samples = _take(Xv, used)
        biases = []
        start = 0
        for di, (d, m) in enumerate(zip(dilations, counts)):
            q = levels[start : start + 84 * m]
            if isinstance(samples, np.ndarray):  # one length: all rows at once
                S = samples[np.searchsorted(used, examples[di])]  # (84, L, c)
                if diff:
                    S = np.diff(S, axis=1)
                y = S[:, :, 0] if c == 1 else (S * channels[di][:, None, :]).sum(axis=2)
                C = _conv_rows(y.astype(self._dtype), int(d), self._dtype)
                biases.append(row_quantiles(C, q.reshape(84, m)))
            else:
                rows = []
                for j in range(84):
                    s = samples[examples[di, j]]
                    s = np.diff(s, axis=0) if diff else s
                    rows.append(s[:, channels[di, j]].sum(axis=1))
                y = np.zeros((84, max(len(r) for r in rows)), dtype=self._dtype)
                for j, r in enumerate(rows):
                    y[j, : len(r)] = r
                C = _conv_rows(y, int(d), self._dtype)
                n = [len(r) for r in rows]
                biases.append(row_quantiles(C, q.reshape(84, m), n))
            start += 84 * m
        return _Representation(name, dilations, counts, biases, channels)

    # --- transform ---------------------------------------------------------------
    @dask_aware
    def transform(self, X):
        """The features of the signals.

        Parameters
        ----------
        X : array-like, list of array-like or FeatureMaps
            Signals with the channels seen at fit; any lengths.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out_)
            Statistic-major within each representation (signals, then
            differences), then dilation, kernel and bias, as
            :meth:`get_feature_names_out` names them.
        """
        check_is_fitted(self, "_reps")
        self._check_params()
        Xv, lengths = self._check_input(X, reset=False)
        if isinstance(Xv, list):
            return self._transform_list(Xv, lengths)
        batch = self._batch_size(int(lengths.max()))
        if self.batch_size == "auto":  # at least one batch per thread
            batch = max(1, min(batch, -(-len(Xv) // effective_n_jobs(self.n_jobs))))
        log = dict(verbose=check_verbose(self.verbose), what="MiniRocket transform")
        # computed feature-major (a batch's features are rows of the batch's
        # signals): the result is the transpose of a (features, signals) array
        columns = np.empty((self.n_features_out_, len(Xv)), dtype=self._dtype)
        if isinstance(Xv, FeatureMaps):
            return stack_batches(Xv, self._features, columns=columns, **log)
        return stack_batches(Xv, self._features, batch_size=batch, n_jobs=self.n_jobs,
                             columns=columns, **log)

    def _transform_list(self, Xv, lengths):
        # longest first, so that each batch is sized by its longest signal, and
        # signals of similar lengths go together (little padding)
        order = np.argsort(-lengths, kind="stable")
        columns = np.empty((self.n_features_out_, len(Xv)), dtype=self._dtype)
        batches = []
        i = 0
        while i < len(order):
            size = self._batch_size(int(lengths[order[i]]))
            batches.append(order[i : i + size])
            i += size

        progress = Progress(self.verbose, "MiniRocket transform", len(Xv),
                            n_steps=len(batches))

        def task(idx):
            part = np.empty((self.n_features_out_, len(idx)), dtype=self._dtype)
            self._features([Xv[k] for k in idx], part, lengths[idx])
            columns[:, idx] = part
            progress.update(len(idx))

        run_in_threads(task, batches, self.n_jobs)
        return columns.T

    def _batch_size(self, length):
        if self.batch_size != "auto":
            return self.batch_size
        m = max(int(c.max()) for c in self.n_thresholds_per_dilation_)
        if self._methods == ("ppv",):
            run = min(length, _MAX_RUN)
            size = min(_AUTO_ELEMENTS // run, _AUTO_MASK_BYTES // (_BLOCK * m * run))
        else:
            size = _AUTO_MASK_BYTES // (_BLOCK * m * length * self._dtype.itemsize)
        return int(np.clip(size, 1, 1024))

    def _features(self, x, out, lengths=None):
        """The features of a batch, an array (B, L, c) or a list of (L_i, c) signals,
        into ``out`` (n_features_out_, B)."""
        if lengths is not None and (lengths == lengths[0]).all():
            x, lengths = np.stack(x), None
        xt = _pad_positions(x, lengths, self._dtype)
        start = 0
        for rep in self._reps:
            if rep.name == "diff":
                xt = _difference(xt, lengths)
                lengths = None if lengths is None else lengths - 1
            stop = start + rep.n_thresholds * len(self._methods)
            _Batch(xt, lengths, rep, self._methods, self._dtype).features(out[start:stop])
            start = stop

    def get_feature_names_out(self, input_features=None):
        """Names of the features: ``{statistic}_{representation}d{dilation}_k{kernel}_b{bias}``.

        The representation is empty for the signals and ``diff_`` for their
        differences, e.g. ``ppv_d4_k12_b0`` or ``mpv_diff_d1_k0_b2``.

        Parameters
        ----------
        input_features : ignored
            The features do not derive from named input columns.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self, "_reps")
        names = []
        for rep in self._reps:
            tag = "" if rep.name == "raw" else "diff_"
            for method in check_options(self.method, "method", POSITIVE_METHODS):
                for d, m in zip(rep.dilations, rep.counts):
                    names.extend(
                        f"{method}_{tag}d{d}_k{j}_b{i}" for j in range(84) for i in range(m)
                    )
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        try:
            tags.transformer_tags.preserves_dtype = [check_dtype(self.dtype).name]
        except (TypeError, ValueError):
            tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _lengths(Xv):
    if isinstance(Xv, list):
        return np.array([x.shape[0] for x in Xv], dtype=np.intp)
    if isinstance(Xv, FeatureMaps) and is_variable_size(Xv):
        return np.array([Xv[i].shape[0] for i in range(len(Xv))], dtype=np.intp)
    return np.full(len(Xv), Xv.shape[1], dtype=np.intp)


def _take(Xv, idx):
    """The samples ``idx`` (sorted): an array ``(len(idx), L, c)`` when they have one
    length, else a dict ``index -> (L_i, c) array``."""
    if isinstance(Xv, list):
        return {int(i): Xv[i] for i in idx}
    if isinstance(Xv, FeatureMaps) and is_variable_size(Xv):
        return {int(i): np.asarray(Xv[int(i)]) for i in idx}
    # arrays, fixed-size maps and dask arrays (only the chunks holding idx are computed)
    return np.asarray(Xv[idx])
