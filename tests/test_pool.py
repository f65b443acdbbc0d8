"""Pool: pooling over grids, pyramids, sliding windows and channel groups."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from skconv import Conv, FeatureMaps, Pool
from skconv._pool import _region_bounds

REDUCE = {
    "sum": lambda r: r.sum(axis=tuple(range(r.ndim - 1))),
    "mean": lambda r: r.mean(axis=tuple(range(r.ndim - 1))),
    "max": lambda r: r.max(axis=tuple(range(r.ndim - 1))),
    "l2": lambda r: np.sqrt((r**2).sum(axis=tuple(range(r.ndim - 1)))),
    "ppv": lambda r: (r > 0).mean(axis=tuple(range(r.ndim - 1))),
}


POSITIVE = ("ppv", "mpv", "mipv", "lspv")  # 1-D statistics, see _positive_reference


def test_every_pooling_method_has_a_reference():
    from skconv._pool import METHODS

    assert set(REDUCE) | set(POSITIVE) == set(METHODS)


def test_region_bounds_match_coates_quadrants():
    assert _region_bounds(27, 2) == [(0, 14), (14, 27)]
    assert _region_bounds(8, 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]
    # fewer positions than regions: every region keeps one position
    assert _region_bounds(1, 3) == [(0, 1), (0, 1), (0, 1)]


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(1, 30),
    n=st.integers(1, 6),
)
def test_region_bounds_cover_the_axis(size, n):
    bounds = _region_bounds(size, n)
    assert len(bounds) == n
    assert all(0 <= a < b <= size for a, b in bounds)
    if size >= n:  # a partition: contiguous, non-overlapping
        assert bounds[0][0] == 0 and bounds[-1][1] == size
        assert all(bounds[i][1] == bounds[i + 1][0] for i in range(n - 1))


@pytest.mark.parametrize("method", list(REDUCE))
def test_grid_pooling_matches_direct_reduction(method):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 9, 4))
    out = Pool(method=method, grid=(2, 3)).fit_transform(x)
    assert out.shape == (3, 6 * 4)
    rb, cb = _region_bounds(7, 2), _region_bounds(9, 3)
    expected = []
    for i in range(3):
        feats = [REDUCE[method](x[i, slice(*r), slice(*c)]) for r in rb for c in cb]
        expected.append(np.concatenate(feats))
    np.testing.assert_allclose(out, np.array(expected), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    d=st.integers(1, 3),
    size=st.integers(1, 3),
    stride=st.integers(1, 3),
    extra=st.integers(0, 3),
    method=st.sampled_from(list(REDUCE)),
    seed=st.integers(0, 1000),
)
def test_sliding_windows_match_naive_loop(d, size, stride, extra, method, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2,) + (size + extra,) * d + (3,))
    out = Pool(method=method, size=(size,) * d, stride=(stride,) * d).fit_transform(x)
    n_out = (extra // stride) + 1
    assert out.shape == (2,) + (n_out,) * d + (3,)
    for pos in np.ndindex(*(n_out,) * d):
        idx = (slice(None),) + tuple(slice(p * stride, p * stride + size) for p in pos)
        window = x[idx]
        ref = np.stack([REDUCE[method](window[i]) for i in range(2)])
        np.testing.assert_allclose(out[(slice(None),) + pos], ref, rtol=1e-12)


def test_pyramid_fixed_length_for_any_size():
    rng = np.random.default_rng(1)
    pool = Pool(pyramid=(1, 2, 4), method="max")
    sizes = [(16, 16), (9, 23), (4, 4)]
    maps = [rng.random(s + (5,)) for s in sizes]
    out = pool.fit_transform(maps)
    assert out.shape == (3, 21 * 5)
    # the first level is the global max
    for i, m in enumerate(maps):
        np.testing.assert_allclose(out[i, :5], m.max(axis=(0, 1)))
    names = pool.get_feature_names_out()
    assert len(names) == 105 and names[0] == "ch0_pyr0_0_0" and names[-1] == "ch4_pyr2_3_3"


def test_channel_groups_maxout():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 4, 6))
    out = Pool(size=1, channel_groups=3).fit_transform(x)
    np.testing.assert_allclose(out, x.reshape(2, 4, 4, 2, 3).max(-1))
    feats = Pool(grid=1, channel_groups=2, channel_method="sum").fit_transform(x)
    np.testing.assert_allclose(feats, x.reshape(2, 4, 4, 3, 2).sum(-1).sum((1, 2)))
    with pytest.raises(ValueError, match="channel_groups"):
        Pool(channel_groups=4).fit(x)


def test_feature_names_follow_columns():
    x = np.zeros((1, 4, 4, 2))
    x[0, 0, 3, 1] = 1.0  # top-right quadrant, channel 1
    pool = Pool(grid=(2, 2)).fit(x)
    names = pool.get_feature_names_out()
    assert names[np.argmax(pool.transform(x)[0])] == "ch1_grid0_1"
    assert list(pool.get_feature_names_out(["a", "b"])[:2]) == ["a_grid0_0", "b_grid0_0"]
    with pytest.raises(ValueError, match="flattened"):
        Pool(size=2).fit(x).get_feature_names_out()


def test_flatten_false_keeps_structure():
    x = np.random.default_rng(3).random((2, 6, 6, 3))
    assert Pool(grid=(2, 3), flatten=False).fit_transform(x).shape == (2, 2, 3, 3)
    assert Pool(pyramid=(1, 2), flatten=False).fit_transform(x).shape == (2, 5, 3)
    assert Pool(size=2, flatten=True).fit_transform(x).shape == (2, 27)


def test_sliding_pool_on_lazy_maps_stays_lazy():
    rng = np.random.default_rng(4)
    x = rng.random((4, 10, 10, 1))
    maps = Conv(rng.standard_normal((3, 3, 3, 1)), encoding="relu").fit_transform(x)
    pooled = Pool(size=2, method="max").fit_transform(maps)
    assert isinstance(pooled, FeatureMaps) and pooled.shape == (4, 4, 4, 3)
    ref = Pool(size=2, method="max").fit_transform(np.asarray(maps))
    np.testing.assert_array_equal(np.asarray(pooled), ref)
    # and a second conv stacks on it, batch by batch
    w2 = rng.standard_normal((2, 2, 2, 3))
    maps2 = Conv(w2).fit_transform(pooled)
    np.testing.assert_allclose(
        np.asarray(maps2), np.asarray(Conv(w2).fit_transform(ref)), rtol=1e-6
    )


def test_signals_as_2d_input():
    x = np.arange(12, dtype=float).reshape(2, 6)
    out = Pool(grid=3).fit_transform(x)
    np.testing.assert_allclose(out, x.reshape(2, 3, 2).sum(-1))


def test_pool_does_not_modify_input():
    x = np.random.default_rng(5).standard_normal((2, 5, 5, 2))
    x0 = x.copy()
    for method in REDUCE:
        Pool(method=method).fit_transform(x)
        Pool(method=method, size=2, channel_groups=2).fit_transform(x)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"method": "median"}, "method"),
        ({"grid": 2, "pyramid": (1, 2)}, "at most one"),
        ({"stride": 2}, "stride needs size"),
        ({"grid": 0}, "grid"),
        ({"grid": (2, 2, 2, 2)}, "1-D, 2-D or 3-D maps"),
        ({"size": 9}, "larger"),
        ({"flatten": "yes"}, "flatten"),
        ({"pyramid": ()}, "pyramid"),
    ],
)
def test_errors(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Pool(**params).fit(np.zeros((2, 5, 5, 2)))


def test_dimension_mismatch_with_lazy_maps():
    maps = Conv(np.ones((1, 2, 2, 1))).fit_transform(np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match="X must hold 3-D maps for this transformer, got FeatureMaps with 2"):
        Pool(grid=(2, 2, 2)).fit(maps)


def test_transform_checks_channels():
    pool = Pool().fit(np.zeros((2, 5, 5, 2)))
    with pytest.raises(ValueError, match="channels"):
        pool.transform(np.zeros((2, 5, 5, 3)))


def _positive_reference(region, method):
    """The positive statistics of one 1-D region, by a plain loop."""
    n = len(region)
    pos = [i for i, v in enumerate(region) if v > 0]
    if method == "ppv":
        return len(pos) / n
    if method == "mpv":
        return float(np.mean(region[pos])) if pos else 0.0
    if method == "mipv":
        return float(np.mean(pos)) / n if pos else -1.0
    longest = run = 0
    for v in region:
        run = run + 1 if v > 0 else 0
        longest = max(longest, run)
    return longest / n


@settings(max_examples=40, deadline=None)
@given(
    length=st.integers(4, 30),
    grid=st.integers(1, 4),
    method=st.sampled_from(POSITIVE),
    seed=st.integers(0, 1000),
)
def test_positive_statistics_match_naive_loop(length, grid, method, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, length, 2)) - rng.uniform(-1, 1)
    x[x > 1.5] = 0.0  # zeros are not positive
    out = Pool(method=method, grid=grid).fit_transform(x).reshape(3, grid, 2)
    for i in range(3):
        for r, (a, b) in enumerate(_region_bounds(length, grid)):
            for ch in range(2):
                ref = _positive_reference(x[i, a:b, ch], method)
                np.testing.assert_allclose(out[i, r, ch], ref, rtol=1e-12, atol=1e-12)


def test_statistics_in_range():
    x = np.random.default_rng(1).standard_normal((20, 40, 3))
    out = Pool(method=("ppv", "mipv", "lspv"), grid=2).fit_transform(x).reshape(20, 2, 3, 3)
    ppv, mipv, lspv = out[:, :, 0], out[:, :, 1], out[:, :, 2]
    assert ppv.min() >= 0 and ppv.max() <= 1
    assert lspv.min() >= 0 and lspv.max() <= 1 and (lspv <= ppv + 1e-12).all()
    assert ((mipv >= 0) & (mipv < 1) | (mipv == -1)).all()


def test_several_statistics_equal_separate_pooling():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 30, 3))
    methods = ("ppv", "max", "mean", "mpv", "mipv", "lspv")
    for params in ({"grid": 3}, {"pyramid": (1, 2)}, {"size": 4, "stride": 2}):
        both = Pool(method=methods, **params).fit_transform(x)
        alone = [Pool(method=m, **params).fit_transform(x) for m in methods]
        if "size" in params:  # statistic-major channels of the window maps
            np.testing.assert_allclose(both, np.concatenate(alone, axis=-1))
        else:
            regions = both.shape[1] // (3 * len(methods))
            parts = both.reshape(4, regions, len(methods), 3)
            for k, ref in enumerate(alone):
                np.testing.assert_allclose(parts[:, :, k], ref.reshape(4, regions, 3))


def test_several_statistics_feature_names():
    x = np.random.default_rng(7).standard_normal((2, 12, 2))
    pool = Pool(method=("ppv", "max"), grid=2).fit(x)
    names = pool.get_feature_names_out()
    assert len(names) == pool.transform(x).shape[1] == 8
    assert list(names[:4]) == ["ch0_grid0_ppv", "ch1_grid0_ppv", "ch0_grid0_max", "ch1_grid0_max"]
    assert Pool(method=("ppv",), grid=2).fit(x).get_feature_names_out()[0] == "ch0_grid0_ppv"
    assert Pool(method="ppv", grid=2).fit(x).get_feature_names_out()[0] == "ch0_grid0"


def test_sequence_statistics_need_signals():
    with pytest.raises(ValueError, match="method 'lspv' is defined along one axis"):
        Pool(method=("ppv", "lspv")).fit(np.zeros((2, 5, 5, 1)))
    with pytest.raises(ValueError, match="method must be one of"):
        Pool(method=("ppv", "median")).fit(np.zeros((2, 5, 1)))
    # ppv and mpv are defined on any region
    assert Pool(method=("ppv", "mpv")).fit_transform(np.ones((2, 4, 4, 1))).shape == (2, 8)


def test_octant_pooling_of_volumes_matches_direct_sums():
    x = np.random.default_rng(8).standard_normal((2, 5, 6, 7, 3))
    out = Pool(grid=(2, 2, 2), method=("sum", "max")).fit_transform(x).reshape(2, 8, 2, 3)
    bounds = [_region_bounds(s, 2) for s in (5, 6, 7)]
    for r, (i, j, k) in enumerate(np.ndindex(2, 2, 2)):
        region = x[:, slice(*bounds[0][i]), slice(*bounds[1][j]), slice(*bounds[2][k])]
        np.testing.assert_allclose(out[:, r, 0], region.sum(axis=(1, 2, 3)))
        np.testing.assert_allclose(out[:, r, 1], region.max(axis=(1, 2, 3)))


@settings(max_examples=30, deadline=None)
@given(
    d=st.integers(1, 3),
    size=st.integers(1, 4),
    stride=st.integers(1, 2),
    extra=st.integers(0, 4),
    method=st.sampled_from(["sum", "mean", "max", "l2", "ppv", "mpv"]),
    seed=st.integers(0, 1000),
)
def test_same_padding_windows_reduce_over_the_positions_inside(d, size, stride, extra, method,
                                                               seed):
    from skconv._engine import resolve_padding

    rng = np.random.default_rng(seed)
    spatial = tuple(int(s) for s in rng.integers(1, 3 + extra, d))
    x = rng.standard_normal((2,) + spatial + (2,))
    out = Pool(method=method, size=size, stride=stride, padding="same").fit_transform(x)
    pads = resolve_padding("same", (size,) * d, stride=stride, input_spatial=spatial)
    expected_shape = tuple(-(-s // stride) for s in spatial)
    assert out.shape == (2,) + expected_shape + (2,)
    for pos in np.ndindex(*expected_shape):
        region = tuple(
            slice(max(p * stride - before, 0), max(p * stride - before + size, 0))
            for p, (before, _) in zip(pos, pads)
        )
        inside = x[(slice(None),) + region]
        flat = inside.reshape(2, -1, 2)
        if method == "mpv":
            ref = np.array([[_positive_reference(flat[i, :, c], "mpv") for c in range(2)]
                            for i in range(2)])
        else:
            ref = np.stack([REDUCE[method](flat[i]) for i in range(2)])  # (positions, c) each
        np.testing.assert_allclose(out[(slice(None),) + pos], ref, rtol=1e-10, atol=1e-12)


def test_same_padding_keeps_the_maps_aligned_and_refuses_sequence_statistics():
    x = np.random.default_rng(0).random((2, 9, 7, 3))
    assert Pool(size=5, stride=1, padding="same", method="mean").fit_transform(x).shape == x.shape
    with pytest.raises(ValueError, match="padding must be 'valid' for method 'lspv'"):
        Pool(size=3, padding="same", method="lspv").fit(np.ones((2, 10)))
    with pytest.raises(ValueError, match="padding must be one of"):
        Pool(size=3, padding="full").fit(x)
