"""Patch sampling and preprocessing shared by the patch families (skconv._patches)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skconv import FeatureMaps
from skconv._patches import iter_patches, normalize_patches

from _reference import all_patches, rows_in


# ---------------------------------------------------------------- sampling


def test_iter_patches_takes_every_patch_when_asked_for_more():
    X = np.random.RandomState(0).rand(3, 6, 7, 2)
    rows = np.concatenate(list(iter_patches(X, (3, 2), 10_000, 0, batch_size=2)))
    np.testing.assert_array_equal(rows, all_patches(X, (3, 2)))


@settings(max_examples=20, deadline=None)
@given(
    d=st.integers(1, 3),
    n=st.integers(1, 5),
    c=st.integers(1, 3),
    k=st.integers(1, 3),
    extra=st.integers(0, 4),
    stride=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same", "full"]),
    n_patches=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_sampled_patches_are_distinct_real_patches(d, n, c, k, extra, stride, padding, n_patches, seed):
    X = np.random.RandomState(seed).rand(n, *(k + extra,) * d, c)
    geometry = dict(stride=stride, padding=padding)
    kernel = (k,) * d
    rows = np.concatenate(list(iter_patches(X, kernel, n_patches, seed, batch_size=2, **geometry)))
    reference = all_patches(X, kernel, **geometry)
    assert rows.shape == (min(n_patches, len(reference)), k**d * c)
    idx = rows_in(rows, reference) if len(np.unique(reference, axis=0)) == len(reference) else None
    if idx is not None:
        assert len(np.unique(idx)) == len(idx)  # without replacement
    again = np.concatenate(list(iter_patches(X, kernel, n_patches, seed, batch_size=3, **geometry)))
    np.testing.assert_array_equal(rows, again)


def test_iter_patches_materializes_only_drawn_feature_maps():
    X = np.random.RandomState(0).rand(500, 10, 10, 1)
    computed = []

    def double(batch):
        computed.append(len(batch))
        return 2 * batch

    maps = FeatureMaps(
        X, double, out_spatial=(10, 10), n_channels=1, dtype=X.dtype, batch_size=64, n_jobs=None
    )
    rows = np.concatenate(list(iter_patches(maps, (3, 3), 20, 0, batch_size=8)))
    np.testing.assert_array_equal(
        rows, 2 * np.concatenate(list(iter_patches(X, (3, 3), 20, 0, batch_size=8)))
    )
    assert sum(computed) <= 20


def test_iter_patches_groups_and_variable_sizes():
    rng = np.random.RandomState(0)
    X = rng.rand(2, 5, 5, 4)
    rows = np.concatenate(list(iter_patches(X, (2, 2), 10_000, 0, groups=2)))
    # each group of 2 channels counts as a sample of its own
    assert rows.shape == (2 * 2 * 16, 8)
    as_samples = np.concatenate([X[..., :2], X[..., 2:]])
    assert set(map(bytes, rows)) == set(map(bytes, all_patches(as_samples, (2, 2))))
    imgs = [rng.rand(6, 9, 1), rng.rand(4, 4, 1), rng.rand(8, 5, 1)]
    rows = np.concatenate(list(iter_patches(imgs, (3, 3), 50, 1)))
    assert rows.shape == (50, 9)
    rows_in(rows, np.concatenate([all_patches(x[None], (3, 3)) for x in imgs]))


# ---------------------------------------------------------------------------
# PCAConv
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------- normalize



def _reference_normalize(P, eps, scale, ddof):
    P = np.asarray(P, dtype=np.float64)
    mean = P.mean(axis=1, keepdims=True)
    var = P.var(axis=1, ddof=ddof, keepdims=True)
    return (P - mean) / np.sqrt(var + eps / scale**2)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 30),
    dim=st.integers(2, 40),
    eps=st.sampled_from([0.01, 1.0, 10.0]),
    scale=st.sampled_from([1.0, 255.0]),
    ddof=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**16),
)
def test_normalize_matches_formula(n, dim, eps, scale, ddof, seed):
    rng = np.random.RandomState(seed)
    P = rng.uniform(0, 1, size=(n, dim)) * rng.uniform(0, 2, size=(n, 1))
    out = normalize_patches(P, eps=eps, scale=scale, ddof=ddof)
    np.testing.assert_allclose(out, _reference_normalize(P, eps, scale, ddof), rtol=1e-12, atol=1e-12)
    # Zero mean, and variance var / (var + eps / scale**2) per row.
    var = P.var(axis=1, ddof=ddof)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(
        out.var(axis=1, ddof=ddof), var / (var + eps / scale**2), rtol=1e-10, atol=1e-14
    )


def test_normalize_default_ddof_is_sample_variance():
    P = np.array([[1.0, 2.0, 4.0, 7.0]])
    out = normalize_patches(P, eps=2.0)
    expected = (P - 3.5) / np.sqrt(np.var(P, ddof=1) + 2.0)
    np.testing.assert_allclose(out, expected, rtol=1e-15)


def test_normalize_scale_states_eps_units():
    rng = np.random.RandomState(0)
    P01 = rng.randint(0, 256, size=(50, 108)) / 255.0
    on_255 = normalize_patches(P01 * 255.0, eps=10.0)
    np.testing.assert_allclose(
        normalize_patches(P01, eps=10.0, scale=255.0), on_255, rtol=1e-12, atol=1e-13
    )
    np.testing.assert_allclose(normalize_patches(P01 * 255.0, eps=10.0, scale=1.0), on_255)


def test_normalize_dtypes_and_no_modification():
    rng = np.random.RandomState(1)
    P8 = rng.randint(0, 256, size=(20, 27)).astype(np.uint8)
    before = P8.copy()
    out = normalize_patches(P8, eps=10.0)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(P8, before)
    P32 = P8.astype(np.float32)
    out32 = normalize_patches(P32, eps=10.0)
    assert out32.dtype == np.float32 and out32 is not P32
    np.testing.assert_allclose(out32, out, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(P32, P8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_constant_rows(dtype):
    # 0.2 three times has a float mean that is not exactly 0.2: without care,
    # eps=0 would turn the rounding error into entries of size ~1.
    P = np.array([[0.2, 0.2, 0.2], [1.0, 2.0, 3.0], [3.0, 3.0, 3.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = normalize_patches(P, eps=0.0)
    np.testing.assert_array_equal(out[[0, 2]], 0.0)
    np.testing.assert_allclose(out[1], [-1.0, 0.0, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(normalize_patches(P, eps=10.0)[[0, 2]], 0.0)


@pytest.mark.parametrize(
    "P, kwargs, error, match",
    [
        (np.ones(5), {"eps": 1.0}, ValueError, "2-D array"),
        (np.ones((2, 3)), {"eps": -1.0}, ValueError, "eps must be a finite real number >= 0"),
        (np.ones((2, 3)), {"eps": "10"}, TypeError, "eps must be a finite real number"),
        (np.ones((2, 3)), {"eps": 1.0, "scale": 0.0}, ValueError, "scale must be a finite real number > 0"),
        (np.ones((2, 1)), {"eps": 1.0}, ValueError, "ddof must be less than the patch dimension 1"),
        (np.ones((2, 3)), {"eps": 1.0, "ddof": -1}, ValueError, "ddof must be an int >= 0"),
        (np.array([[1.0, np.nan]]), {"eps": 1.0}, ValueError, "NaN"),
        (np.array([["a", "b"]]), {"eps": 1.0}, TypeError, "real numbers"),
    ],
)
def test_normalize_errors(P, kwargs, error, match):
    with pytest.raises(error, match=match):
        normalize_patches(P, **kwargs)


# ---------------------------------------------------------------- centroids
