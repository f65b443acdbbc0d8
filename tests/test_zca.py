"""Tests for ZCA whitening against direct numpy / scipy computations."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skconv._zca import ZCA


def _correlated(n=800, d=5, seed=0, offset=0.0):
    rng = np.random.RandomState(seed)
    mixing = rng.randn(d, d) + 2 * np.eye(d)
    return rng.randn(n, d) @ mixing + offset + rng.randn(d)




def test_fitted_statistics_match_numpy():
    X = _correlated()
    eps = 0.3
    zca = ZCA(eps=eps).fit(X)
    C = np.cov(X, rowvar=False)
    np.testing.assert_allclose(zca.mean_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(zca.covariance_, C, rtol=1e-10)
    np.testing.assert_allclose(zca.eigenvalues_, np.linalg.eigvalsh(C)[::-1], rtol=1e-10)
    assert zca.n_samples_seen_ == X.shape[0]
    # W = (C + eps I)^(-1/2), the symmetric inverse square root.
    W_ref = scipy.linalg.fractional_matrix_power(C + eps * np.eye(len(C)), -0.5)
    np.testing.assert_allclose(zca.components_, W_ref.real, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(zca.components_ @ zca.inverse_components_, np.eye(len(C)), atol=1e-10)
    np.testing.assert_allclose(zca.transform(X), (X - X.mean(axis=0)) @ W_ref.real, atol=1e-9)


@pytest.mark.parametrize("eps", [0.0, 0.1, 2.0])
def test_whitened_covariance(eps):
    X = _correlated(seed=1)
    Z = ZCA(eps=eps).fit_transform(X)
    lam, V = np.linalg.eigh(np.cov(X, rowvar=False))
    expected = (V * (lam / (lam + eps))) @ V.T
    np.testing.assert_allclose(np.cov(Z, rowvar=False), expected, atol=1e-10)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-10)
    if eps == 0.0:
        np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(X.shape[1]), atol=1e-10)


def test_components_symmetric():
    zca = ZCA().fit(_correlated(d=9, seed=2))
    assert np.array_equal(zca.components_, zca.components_.T)
    assert np.array_equal(zca.inverse_components_, zca.inverse_components_.T)


def test_zero_phase_is_closest_whitening():
    # ZCA moves samples the least among whitening transforms: any rotation
    # R W of it whitens too, but ends farther from the centred input.
    X = _correlated(seed=3)
    zca = ZCA(eps=0.0).fit(X)
    Xc = X - zca.mean_
    Z = zca.transform(X)
    Q, _ = np.linalg.qr(np.random.RandomState(0).randn(X.shape[1], X.shape[1]))
    assert np.sum((Z - Xc) ** 2) < np.sum((Z @ Q.T - Xc) ** 2)


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_inverse_transform_round_trip(eps):
    X = _correlated(seed=4)
    zca = ZCA(eps=eps).fit(X)
    np.testing.assert_allclose(zca.inverse_transform(zca.transform(X)), X, rtol=1e-10, atol=1e-10)


def test_inverse_round_trip_rank_deficient():
    # With eps > 0 the whitening is invertible even on singular data
    # (contrast-normalized patches have rank dim - 1).
    X = _correlated(d=6, seed=5)
    X -= X.mean(axis=1, keepdims=True)
    zca = ZCA(eps=0.1).fit(X)
    assert zca.eigenvalues_[-1] < 1e-10
    np.testing.assert_allclose(zca.inverse_transform(zca.transform(X)), X, atol=1e-9)


def test_eps_zero_singular_raises():
    X = _correlated(d=6, seed=5)
    X -= X.mean(axis=1, keepdims=True)
    with pytest.raises(ValueError, match="singular"):
        ZCA(eps=0.0).fit(X)


@settings(max_examples=25, deadline=None)
@given(
    n_features=st.integers(1, 6),
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    offset=st.sampled_from([0.0, 1e4]),
    seed=st.integers(0, 2**16),
)
def test_partial_fit_equals_fit(n_features, sizes, offset, seed):
    sizes[0] = max(sizes[0], 2)
    X = _correlated(n=sum(sizes), d=n_features, seed=seed, offset=offset)
    full = ZCA().fit(X)
    part = ZCA()
    for chunk in np.split(X, np.cumsum(sizes)[:-1]):
        part.partial_fit(chunk)
    assert part.n_samples_seen_ == full.n_samples_seen_
    np.testing.assert_allclose(part.mean_, full.mean_, rtol=1e-12, atol=1e-12 * (1 + offset))
    scale = np.abs(full.covariance_).max()
    np.testing.assert_allclose(part.covariance_, full.covariance_, atol=1e-11 * scale * (1 + offset))
    np.testing.assert_allclose(
        part.transform(X), full.transform(X), atol=1e-9 * (1 + offset)
    )


def test_fit_resets_partial_fit_state():
    X = _correlated(seed=6)
    zca = ZCA().partial_fit(X[:100]).partial_fit(X[100:300])
    zca.fit(X[300:])
    ref = ZCA().fit(X[300:])
    assert zca.n_samples_seen_ == X.shape[0] - 300
    np.testing.assert_allclose(zca.components_, ref.components_, rtol=1e-12)


def test_fit_in_blocks_equals_one_block(monkeypatch):
    # Large inputs are accumulated block by block; the result must not change.
    import skconv._stats as stats_module

    X = _correlated(n=500, d=4, seed=7, offset=50.0)
    ref = ZCA().fit(X)
    monkeypatch.setattr(stats_module, "_BLOCK_ELEMENTS", 4 * 37)
    blocked = ZCA().fit(X)
    np.testing.assert_allclose(blocked.covariance_, ref.covariance_, rtol=1e-10)
    np.testing.assert_allclose(blocked.components_, ref.components_, rtol=1e-9)


def test_float32_preserved():
    X = _correlated(seed=8)
    X32 = X.astype(np.float32)
    zca = ZCA().fit(X32)
    Z = zca.transform(X32)
    assert Z.dtype == np.float32
    assert zca.inverse_transform(Z).dtype == np.float32
    Z64 = ZCA().fit(X).transform(X)
    np.testing.assert_allclose(Z, Z64, atol=1e-4)
    assert ZCA().fit(X).transform(X.astype(int)).dtype == np.float64


@pytest.mark.parametrize("copy", [True, False])
def test_input_not_modified_by_fit(copy):
    X = _correlated(seed=9)
    before = X.copy()
    ZCA(copy=copy).fit(X)
    ZCA(copy=copy).partial_fit(X)
    np.testing.assert_array_equal(X, before)


def test_copy_semantics_of_transform():
    X = _correlated(seed=10)
    zca = ZCA().fit(X)
    before = X.copy()
    Z = zca.transform(X)
    np.testing.assert_array_equal(X, before)
    W = zca.inverse_transform(Z)
    np.testing.assert_array_equal(X, before)
    Z_copyless = clone(zca).set_params(copy=False).fit(X).transform(X.copy())
    np.testing.assert_allclose(Z_copyless, Z, rtol=1e-12)
    np.testing.assert_allclose(W, X, atol=1e-10)
    # A read-only array is never written to, whatever copy says.
    ro = before.copy()
    ro.flags.writeable = False
    np.testing.assert_allclose(clone(zca).set_params(copy=False).fit(X).transform(ro), Z)


def test_feature_names_out():
    X = _correlated(d=3, seed=11)
    zca = ZCA().fit(X)
    assert list(zca.get_feature_names_out()) == ["x0", "x1", "x2"]
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["r", "g", "b"])
    zca = ZCA().fit(df)
    assert list(zca.get_feature_names_out()) == ["r", "g", "b"]
    out = ZCA().set_output(transform="pandas").fit(df).transform(df)
    assert list(out.columns) == ["r", "g", "b"]


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"eps": -1.0}, ValueError, "eps must be a finite real number >= 0"),
        ({"eps": np.nan}, ValueError, "eps must be a finite real number >= 0"),
        ({"eps": "0.1"}, TypeError, "eps must be a finite real number >= 0"),
        ({"eps": True}, TypeError, "eps must be a finite real number >= 0"),
        ({"copy": "yes"}, TypeError, "copy must be a bool"),
    ],
)
def test_invalid_params(params, error, match):
    with pytest.raises(error, match=match):
        ZCA(**params).fit(_correlated())


def test_partial_fit_errors():
    X = _correlated(d=4)
    with pytest.raises(ValueError, match="at least 2 samples"):
        ZCA().partial_fit(X[:1])
    zca = ZCA().partial_fit(X[:10])
    zca.partial_fit(X[10:11])  # one more sample is fine once 2 were seen
    assert zca.n_samples_seen_ == 11
    with pytest.raises(ValueError, match="features"):
        zca.partial_fit(X[:, :3])
    with pytest.raises(ValueError, match="expecting 4 features"):
        zca.inverse_transform(X[:, :3])
