"""MiniRocket: the fixed kernels, dilations and quantile biases of Dempster et al. (2021).

The transform is computed in numpy, a whole batch of signals at once, with the
positions first: ``(length, batch)`` arrays whose shifted row slices are the taps
of a dilated kernel. Every kernel has weights -1 and 2 (three 2s among nine
taps), so its output is ``3 * (x_a + x_b + x_c) - (x_0 + ... + x_8)``: for one
signal, the sum ``S`` of the nine taps and ``U_c = 3 x_c - S`` are computed once
per dilation, then ``3 (x_a + x_b)`` once per pair of positions, and each of the
84 outputs is one addition. Multichannel signals sum a random combination of
channels per kernel (one matrix product per dilation). The thresholds are counted
over blocks of at most 255 positions in ``uint8``, with a halving tree of
additions that each run over the whole batch.
"""

from itertools import combinations

import math

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._docs import fill_doc
from ._maps import FeatureMaps, is_variable_size, run_tasks, stack_batches
from ._pool import POSITIVE_METHODS, positive_statistics, positive_sums
from ._validation import (
    check_batch_size,
    check_bool,
    check_dtype,
    check_input,
    check_int,
    check_n_jobs,
    check_options,
    check_random_state,
    effective_n_jobs,
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
_BLOCK = 7  # kernels thresholded together (a pair's kernels; blocks of the GEMM path)
# Positions counted at once in uint8 (the sums must stay below 256). Longer runs
# measured faster, as each numpy call then does more (ACSF1, 1,460 positions:
# 0.99 s with 255, 1.40 s with 128, 2.64 s with 32).
_MAX_RUN = 255
_AUTO_ELEMENTS = 2**15  # positions x signals of one block: 128 kB of float32
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


def _conv_rows(y, lengths, dilation, dtype):
    """Every kernel ``j`` applied at ``dilation`` to row ``j`` of ``y`` (84, L).

    The outputs have the length of the input ("same" zero padding), as MiniRocket
    fits its biases on.
    """
    pad = 4 * dilation
    n, L = y.shape
    yp = np.zeros((n, L + 2 * pad), dtype=dtype)
    for i in range(n):
        yp[i, pad : pad + lengths[i]] = y[i, : lengths[i]]
    out = np.zeros((n, L), dtype=dtype)
    w = _WEIGHTS.astype(dtype)
    for k in range(9):
        out += w[:, k, None] * yp[:, k * dilation : k * dilation + L]
    return out


def _count_tree(mask):
    """Per-signal counts of True in ``mask`` (..., n, B), n <= 255: the rows are
    added pairwise in uint8, halving them until one is left. Every addition runs
    over whole rows of the batch at once (a long vector), which numpy does much
    faster than a reduction along the positions."""
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

    def features(self):
        """(B, n_methods * n_thresholds), statistic-major."""
        rep = self.rep
        out = np.empty((len(self.methods), rep.n_thresholds, self.B), dtype=self.dtype)
        start = 0
        dmax = int(rep.dilations.max())
        self.P = 4 * dmax
        xp = np.zeros((self.c, self.L + 2 * self.P, self.B), dtype=self.dtype)
        xp[:, self.P : self.P + self.L] = self.xt
        self.xp, self.x3 = xp, 3 * xp
        for di, (d, m) in enumerate(zip(rep.dilations, rep.counts)):
            stats = self._dilation(di, int(d), int(m))
            for s, values in enumerate(stats):
                out[s, start : start + 84 * m] = values.reshape(84 * m, self.B)
            start += 84 * m
        return out.reshape(-1, self.B).T

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
    def _dilation(self, di, d, m):
        rep, pad = self.rep, 4 * d
        regions = self._regions(pad)
        bias = rep.biases[di]
        ppv_only = self.methods == ("ppv",)
        sums = None
        if ppv_only:
            counts = np.zeros((84, m, self.B), dtype=np.int32)
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
            taps = self._taps(d, s, e, weights)
            for j0, nc in self._blocks():
                for sel, half_of in self._selection(di, j0, nc, states):
                    C = taps(sel)  # (k, n, B)
                    js = np.arange(84)[sel]
                    for k, h in enumerate(half_of):
                        inside = states[h]
                        if inside is not True:
                            np.copyto(C[k], -np.inf, where=~inside)
                    b = bias[js]
                    if ppv_only:
                        mask = self._buffer("mask", (len(js), m, n, self.B), bool)
                        np.greater(C[:, None], b[:, :, None, None], out=mask)
                        counts[sel] += _count_tree(mask)
                    else:
                        z = C[:, None] - b[:, :, None, None]
                        part = positive_sums(z, (2,), self.methods)
                        for key, value in part.items():
                            sums.setdefault(key, np.zeros((84, m, self.B), value.dtype))
                            sums[key][js] = value
        half = (np.arange(84) + di) % 2  # 0: whole output, 1: its unpadded part
        lo = np.stack([r[0] for r in regions])[half][:, None, :]  # (84, 1, B)
        length = np.stack([r[1] - r[0] for r in regions])[half][:, None, :]
        if ppv_only:
            return [(counts / length).astype(self.dtype)]
        return positive_statistics(sums, self.methods, length, offset=lo, dtype=self.dtype)

    def _blocks(self):
        if self.c == 1:
            return [(j0, nc) for _, _, j0, nc in _PAIRS]
        return [(j0, min(_BLOCK, 84 - j0)) for j0 in range(0, 84, _BLOCK)]

    @staticmethod
    def _selection(di, j0, nc, states):
        """The kernels of ``j0 .. j0+nc-1`` to compute in this chunk, as slices,
        with the half of each: kernel ``j`` uses half ``(di + j) % 2``."""
        need = [states[0] is not None, states[1] is not None]
        if all(need):
            halves = [(di + j) % 2 for j in range(j0, j0 + nc)]
            return [(slice(j0, j0 + nc), halves)]
        h = 0 if need[0] else 1
        first = j0 + ((h - di - j0) % 2)
        if first >= j0 + nc:
            return []
        sel = slice(first, j0 + nc, 2)
        return [(sel, [h] * len(range(first, j0 + nc, 2)))]

    def _weights(self, di):
        # (84, 9 * c): kernel weights on the channels of each kernel's combination
        combo = self.rep.channels[di].astype(self.dtype)  # (84, c)
        return (_WEIGHTS.astype(self.dtype)[:, :, None] * combo[:, None, :]).reshape(84, -1)

    def _taps(self, d, s, e, weights):
        """A function giving the outputs of a slice of kernels on positions s..e-1."""
        P, n, B = self.P, e - s, self.B
        rows = [slice(P + s + (k - 4) * d, P + e + (k - 4) * d) for k in range(9)]
        shape = (n, B)
        if weights is not None:
            G = np.stack([self.xp[:, r] for r in rows]).reshape(9 * self.c, n * B)

            def products(sel):
                w = weights[sel]
                out = self._buffer("outputs", (len(w), n * B), self.dtype)
                return np.matmul(w, G, out=out).reshape((-1,) + shape)

            return products
        V = [self.xp[0][r] for r in rows]
        V3 = [self.x3[0][r] for r in rows]
        S = V[0] + V[1]
        for v in V[2:]:
            S += v
        U = np.stack([v3 - S for v3 in V3])  # (9, *shape): 3 x_c - S
        pairs = {}

        def outputs(sel):
            js = np.arange(84)[sel]
            a, b, c = KERNELS[js[0]]
            if (a, b) not in pairs:
                pairs.clear()
                pairs[(a, b)] = V3[a] + V3[b]
            third = KERNELS[js, 2]
            out = self._buffer("outputs", (len(js),) + shape, self.dtype)
            return np.add(pairs[(a, b)][None], U[third[0] : third[-1] + 1 : sel.step or 1], out=out)

        return outputs


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
        from. The features do not depend on ``n_jobs`` or ``batch_size``.
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

    # --- parameters and input ---------------------------------------------------
    def _check_params(self):
        check_int(self.n_features, "n_features", min_val=1)
        check_int(self.max_dilations_per_kernel, "max_dilations_per_kernel", min_val=1)
        self._methods = check_options(self.method, "method", POSITIVE_METHODS)
        check_bool(self.difference, "difference")
        check_batch_size(self.batch_size)
        check_n_jobs(self.n_jobs)
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
        n_reps = 2 if self.difference else 1
        per_kernel = max(self.n_features // (84 * len(self._methods) * n_reps), 1)
        reps = [self._fit_representation("raw", Xv, lengths, per_kernel, rng)]
        if self.difference:
            reps.append(self._fit_representation("diff", Xv, lengths, per_kernel, rng))
        self._reps = reps
        self.dilations_ = [r.dilations for r in reps]
        self.n_thresholds_per_dilation_ = [r.counts for r in reps]
        self.biases_ = [r.biases for r in reps]
        self.channel_combinations_ = [r.channels for r in reps]
        self.n_features_out_ = sum(r.n_thresholds for r in reps) * len(self._methods)
        return self

    def _fit_representation(self, name, Xv, lengths, per_kernel, rng):
        diff = name == "diff"
        lengths = lengths - 1 if diff else lengths
        dilations, counts = fit_dilations(
            int(lengths.max()), per_kernel, self.max_dilations_per_kernel
        )
        c = self.n_channels_in_
        n_comb = 84 * len(dilations)
        if c == 1:
            channels = np.ones((len(dilations), 84, 1), dtype=bool)
        else:
            # 1 to min(c, 9) channels, exponentially distributed, then a random subset
            top = np.log2(min(c, 9) + 1)
            n_ch = np.floor(2 ** rng.uniform(0, top, n_comb)).astype(int)
            order = np.argsort(rng.random_sample((n_comb, c)), axis=1)
            channels = np.zeros((n_comb, c), dtype=bool)
            np.put_along_axis(channels, order, np.arange(c)[None] < n_ch[:, None], axis=1)
            channels = channels.reshape(len(dilations), 84, c)
        examples = rng.randint(len(lengths), size=(len(dilations), 84))
        levels = quantile_levels(84 * int(counts.sum()))
        samples = _take(Xv, np.unique(examples))
        biases = []
        start = 0
        for di, (d, m) in enumerate(zip(dilations, counts)):
            rows, rows_len = [], []
            for j in range(84):
                s = samples[examples[di, j]]
                if diff:
                    s = np.diff(s, axis=0)
                rows.append(s[:, channels[di, j]].sum(axis=1))
                rows_len.append(s.shape[0])
            y = np.zeros((84, max(rows_len)), dtype=self._dtype)
            for j, r in enumerate(rows):
                y[j, : len(r)] = r
            C = _conv_rows(y, rows_len, int(d), self._dtype)
            b = np.empty((84, m), dtype=self._dtype)
            for j in range(84):
                q = levels[start + j * m : start + (j + 1) * m]
                b[j] = np.quantile(C[j, : rows_len[j]], q)
            biases.append(b)
            start += 84 * m
        return _Representation(name, dilations, counts, biases, channels)

    # --- transform ---------------------------------------------------------------
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
        if isinstance(Xv, FeatureMaps):
            return stack_batches(Xv, self._features)
        return stack_batches(Xv, self._features, batch_size=batch, n_jobs=self.n_jobs)

    def _transform_list(self, Xv, lengths):
        # longest first, so that each batch is sized by its longest signal, and
        # signals of similar lengths go together (little padding)
        order = np.argsort(-lengths, kind="stable")
        out = np.empty((len(Xv), self.n_features_out_), dtype=self._dtype)
        batches = []
        i = 0
        while i < len(order):
            size = self._batch_size(int(lengths[order[i]]))
            batches.append(order[i : i + size])
            i += size

        def task(idx):
            out[idx] = self._features([Xv[k] for k in idx], lengths[idx])

        run_tasks(task, batches, self.n_jobs)
        return out

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

    def _features(self, x, lengths=None):
        """Features of a batch: an array (B, L, c) or a list of (L_i, c) signals."""
        if lengths is not None and (lengths == lengths[0]).all():
            x, lengths = np.stack(x), None
        xt = _pad_positions(x, lengths, self._dtype)
        parts = []
        for rep in self._reps:
            if rep.name == "diff":
                xt = _difference(xt, lengths)
                lengths = None if lengths is None else lengths - 1
            parts.append(_Batch(xt, lengths, rep, self._methods, self._dtype).features())
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

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
    """The samples ``idx`` as a dict ``index -> (L, c) array``."""
    if isinstance(Xv, np.ndarray):
        return {int(i): Xv[i] for i in idx}
    if isinstance(Xv, list):
        return {int(i): Xv[i] for i in idx}
    return {int(i): np.asarray(Xv[int(i)]) for i in idx}
