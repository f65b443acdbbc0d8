"""MiniRocket against a direct, per-signal implementation of the published algorithm."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from skconv import MiniRocket
from skconv._minirocket import KERNELS, fit_dilations, quantile_levels, row_quantiles


def _published_dilations(length, n_features=10_000, max_dilations=32):
    """The dilations of Dempster et al.'s reference code, loop for loop."""
    per_kernel = n_features // 84
    true_max = min(per_kernel, max_dilations)
    multiplier = per_kernel / true_max
    exponent = np.log2((length - 1) / (9 - 1))
    dilations, counts = np.unique(
        np.logspace(0, exponent, true_max, base=2).astype(np.int32), return_counts=True
    )
    counts = (counts * multiplier).astype(np.int32)
    remainder = per_kernel - np.sum(counts)
    i = 0
    while remainder > 0:
        counts[i] += 1
        remainder -= 1
        i = (i + 1) % len(counts)
    return dilations, counts


def _output(y, kernel, dilation):
    """One kernel's output on one signal, position by position ("same" zero padding)."""
    w = -np.ones(9)
    w[list(KERNELS[kernel])] = 2
    out = np.zeros(len(y))
    for t in range(len(y)):
        for k in range(9):
            i = t + (k - 4) * dilation
            if 0 <= i < len(y):
                out[t] += w[k] * y[i]
    return out


def _statistic(z, method):
    n = len(z)
    pos = [i for i in range(n) if z[i] > 0]
    if method == "ppv":
        return len(pos) / n
    if method == "mpv":
        return np.mean(z[pos]) if pos else 0.0
    if method == "mipv":
        return np.mean(pos) / n if pos else -1.0
    best = run = 0
    for v in z:
        run = run + 1 if v > 0 else 0
        best = max(best, run)
    return best / n


def reference_features(rocket, signal):
    """The features of one (length, channels) signal from the fitted parameters."""
    methods = (rocket.method,) if isinstance(rocket.method, str) else rocket.method
    feats = []
    for r, (dilations, biases, combos) in enumerate(
        zip(rocket.dilations_, rocket.biases_, rocket.channel_combinations_)
    ):
        x = np.asarray(signal, dtype=np.float64)
        if r == 1:
            x = np.diff(x, axis=0)
        for method in methods:
            for di, d in enumerate(dilations):
                for j in range(84):
                    y = x[:, combos[di, j]].sum(axis=1)
                    C = _output(y, j, d)
                    if (di + j) % 2 == 1 and len(y) - 8 * d >= 1:
                        C = C[4 * d : len(y) - 4 * d]  # the part the padding does not reach
                    for b in biases[di][j]:
                        feats.append(_statistic(C - b, method))
    return np.array(feats)


def _integer_signals(rng, n, length, channels=1):
    return rng.integers(-4, 5, (n, length, channels)).astype(np.float32)


def test_dilations_are_the_published_ones():
    for length in (9, 10, 24, 57, 150, 427, 1460):
        for got, ref in zip(fit_dilations(length, 119, 32), _published_dilations(length)):
            np.testing.assert_array_equal(got, ref)
    d, c = fit_dilations(500, 10_000 // (84 * 4), 32)
    assert c.sum() == 29 and len(d) == len(c)
    # shorter than a kernel: dilation 1 only
    assert fit_dilations(5, 119, 32)[0].tolist() == [1]


def test_quantile_levels_are_the_golden_ratio_sequence():
    q = quantile_levels(5)
    phi = (1 + 5**0.5) / 2
    np.testing.assert_allclose(q, [(k * phi) % 1 for k in range(1, 6)], rtol=1e-6)
    assert q.dtype == np.float32


def _bias_levels(rocket):
    """(dilation index, dilation, kernel, quantile levels) of each kernel's biases."""
    levels = quantile_levels(rocket.n_features_out_)
    start = 0
    for di, d in enumerate(rocket.dilations_[0]):
        m = rocket.n_thresholds_per_dilation_[0][di]
        for j in range(84):
            yield di, d, j, levels[start + j * m : start + (j + 1) * m]
        start += 84 * m


@pytest.mark.parametrize("channels, length", [(1, 40), (3, 40), (1, 300)])
def test_biases_are_quantiles_of_the_training_outputs(channels, length):
    rng = np.random.default_rng(0)
    x = _integer_signals(rng, 1, length, channels)  # one training signal: no random choice
    rocket = MiniRocket(84 * (5 if length < 100 else 2), random_state=0).fit(x)
    for di, d, j, q in _bias_levels(rocket):
        y = x[0][:, rocket.channel_combinations_[0][di, j]].sum(axis=1)
        C = _output(y, j, d).astype(np.float32)
        np.testing.assert_array_equal(rocket.biases_[0][di][j], np.quantile(C, q))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 5),
    length=st.integers(1, 60),
    m=st.integers(1, 12),
    ties=st.booleans(),
    ragged=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_row_quantiles_equal_numpy_quantile_bit_for_bit(rows, length, m, ties, ragged, dtype,
                                                        seed):
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((rows, length)).astype(dtype)
    if ties:  # repeated values, as where a signal is constant
        C = np.round(C).astype(dtype)
    q = quantile_levels(rows * m).reshape(rows, m)
    q[0, 0] = 1.0  # the last value exactly
    lengths = rng.integers(1, length + 1, rows) if ragged else None
    before = C.copy()
    got = row_quantiles(C, q, lengths)
    n = lengths if ragged else [length] * rows
    expected = np.array([np.quantile(C[j, : n[j]], q[j]) for j in range(rows)])
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(C, before)  # sorted in a copy


def test_biases_come_from_the_training_signals_the_seed_draws():
    # As in the authors' reference code: from the seed, one training signal per
    # kernel and dilation, dilation-major.
    rng = np.random.default_rng(1)
    x = _integer_signals(rng, 5, 30)
    rocket = MiniRocket(84 * 3, random_state=3).fit(x)
    drawn = np.random.RandomState(3).randint(5, size=(len(rocket.dilations_[0]), 84))
    assert len(np.unique(drawn)) > 1
    for di, d, j, q in _bias_levels(rocket):
        C = _output(x[drawn[di, j], :, 0], j, d).astype(np.float32)
        np.testing.assert_array_equal(rocket.biases_[0][di][j], np.quantile(C, q))


def test_channel_combinations_follow_the_published_procedure():
    x = np.random.default_rng(2).standard_normal((4, 30, 12))
    rocket = MiniRocket(84 * 3, random_state=5).fit(x)
    combos = rocket.channel_combinations_[0].reshape(-1, 12)
    rng = np.random.RandomState(5)
    counts = (2 ** rng.uniform(0, np.log2(9 + 1), len(combos))).astype(int)
    for combo, k in zip(combos, counts):
        assert set(np.flatnonzero(combo)) == set(rng.choice(12, k, replace=False))
    assert combos.sum(axis=1).max() <= 9


@settings(max_examples=12, deadline=None)
@given(
    length=st.integers(1, 40),
    channels=st.integers(1, 4),
    n_per_kernel=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_ppv_features_equal_the_published_algorithm(length, channels, n_per_kernel, seed):
    rng = np.random.default_rng(seed)
    x = _integer_signals(rng, 4, length, channels)
    rocket = MiniRocket(84 * n_per_kernel, random_state=seed).fit(x)
    out = rocket.transform(x)
    assert out.shape == (4, rocket.n_features_out_) == (4, 84 * n_per_kernel)
    assert out.dtype == np.float32
    for i in range(4):
        np.testing.assert_array_equal(out[i], reference_features(rocket, x[i]).astype(np.float32))


@pytest.mark.parametrize(
    "method", ["mpv", "mipv", "lspv", ("ppv", "mpv", "mipv", "lspv")]
)
def test_multirocket_statistics_and_differences_equal_the_reference(method):
    rng = np.random.default_rng(2)
    x = _integer_signals(rng, 3, 37, 2)
    rocket = MiniRocket(84 * 2 * 4, method=method, difference=True, random_state=0).fit(x)
    out = rocket.transform(x)
    assert out.shape[1] == len(rocket.get_feature_names_out())
    for i in range(3):
        np.testing.assert_allclose(out[i], reference_features(rocket, x[i]), rtol=1e-5, atol=1e-6)


def test_real_valued_signals_agree_with_the_reference():
    # outputs computed in another order may round differently: at most a few
    # positions on either side of a bias
    x = np.random.default_rng(3).standard_normal((3, 50, 1)).astype(np.float32)
    rocket = MiniRocket(84 * 3, random_state=0).fit(x)
    out = rocket.transform(x)
    for i in range(3):
        assert np.abs(out[i] - reference_features(rocket, x[i])).max() <= 2 / 50 + 1e-6


def test_ppv_in_unit_interval_and_default_size():
    x = np.random.default_rng(4).standard_normal((10, 100))
    out = MiniRocket(random_state=0).fit_transform(x)
    assert out.shape == (10, 9996)
    assert out.min() >= 0 and out.max() <= 1
    # the biases are quantiles: on the training signals the features spread out
    assert 0.2 < out.mean() < 0.8


@pytest.mark.parametrize("channels", [1, 3])
def test_same_features_for_any_n_jobs_and_batch_size(channels):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((13, 70, channels)).astype(np.float32)
    ref = MiniRocket(840, difference=True, random_state=1).fit(x).transform(x)
    for n_jobs, batch_size in ((2, 1), (-1, 4), (1, 13), (2, "auto")):
        rocket = MiniRocket(840, difference=True, random_state=1, n_jobs=n_jobs,
                            batch_size=batch_size)
        np.testing.assert_array_equal(rocket.fit(x).transform(x), ref)


def test_random_state_reproducible_and_seed_dependent():
    x = np.random.default_rng(6).standard_normal((8, 60, 4))
    a = MiniRocket(840, random_state=0).fit(x)
    b = MiniRocket(840, random_state=0).fit(x)
    c = MiniRocket(840, random_state=1).fit(x)
    np.testing.assert_array_equal(a.transform(x), b.transform(x))
    assert not np.array_equal(a.transform(x), c.transform(x))
    for combos in a.channel_combinations_[0].reshape(-1, 4):
        assert 1 <= combos.sum() <= 4
    # a generator instance gives a seed of its own, reproducibly
    d = MiniRocket(840, random_state=np.random.RandomState(0)).fit(x)
    e = MiniRocket(840, random_state=np.random.RandomState(0)).fit(x)
    np.testing.assert_array_equal(d.transform(x), e.transform(x))


def test_signals_of_different_lengths():
    rng = np.random.default_rng(7)
    signals = [rng.integers(-4, 5, (n, 2)).astype(np.float32) for n in (5, 31, 64, 12, 64, 40)]
    rocket = MiniRocket(84 * 4 * 3, method=("ppv", "mipv"), difference=True, random_state=0)
    out = rocket.fit_transform(signals)
    assert out.shape == (6, rocket.n_features_out_)
    # the dilations follow the longest signal
    np.testing.assert_array_equal(rocket.dilations_[0], fit_dilations(64, 3, 32)[0])
    # each signal's features do not depend on the others it is batched with
    for i, s in enumerate(signals):
        np.testing.assert_array_equal(out[i], rocket.transform([s])[0])
        np.testing.assert_allclose(out[i], reference_features(rocket, s), rtol=1e-5, atol=1e-6)
    # and a list of equal lengths is the stacked array
    same = [rng.standard_normal((20, 2)) for _ in range(3)]
    np.testing.assert_array_equal(rocket.transform(same), rocket.transform(np.stack(same)))


def test_feature_names():
    x = np.random.default_rng(8).standard_normal((3, 30))
    rocket = MiniRocket(84 * 4, method=("ppv", "mpv"), difference=True, random_state=0).fit(x)
    names = rocket.get_feature_names_out()
    assert len(names) == rocket.n_features_out_ == rocket.transform(x).shape[1]
    d0 = rocket.dilations_[0][0]
    assert names[0] == f"ppv_d{d0}_k0_b0" and names[1] == f"ppv_d{d0}_k1_b0"
    assert names[len(names) // 4] == f"mpv_d{d0}_k0_b0"
    assert names[len(names) // 2].startswith("ppv_diff_d")


def test_flat_multichannel_input_and_aeon_layout():
    x = np.random.default_rng(9).standard_normal((5, 3, 40))  # (n, channels, length)
    ref = MiniRocket(840, random_state=0, channel_axis=1).fit(x).transform(x)
    flat = MiniRocket(840, random_state=0, input_shape=(40, 3))
    got = flat.fit(np.moveaxis(x, 1, 2).reshape(5, -1)).transform(np.moveaxis(x, 1, 2).reshape(5, -1))
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize(
    "params, X, error, match",
    [
        ({"n_features": 0}, None, ValueError, "n_features must be an int >= 1"),
        ({"n_features": 100.0}, None, TypeError, "n_features must be an int"),
        ({"method": "max"}, None, ValueError, "method must be one of 'ppv', 'mpv'"),
        ({"difference": 1}, None, TypeError, "difference must be a bool"),
        ({"max_dilations_per_kernel": 0}, None, ValueError, "max_dilations_per_kernel"),
        ({"difference": True}, np.zeros((3, 1)), ValueError, "at least 2 values"),
        ({}, np.zeros((3, 4, 5, 2)), ValueError, "X must be shaped"),
    ],
)
def test_errors_name_the_parameter(params, X, error, match):
    X = np.random.default_rng(0).standard_normal((3, 20)) if X is None else X
    with pytest.raises(error, match=match):
        MiniRocket(**params).fit(X)


def test_transform_checks_channels():
    rocket = MiniRocket(84).fit(np.zeros((3, 20, 2)))
    with pytest.raises(ValueError, match="2 channels as at fit"):
        rocket.transform(np.zeros((3, 20, 3)))
