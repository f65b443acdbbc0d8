"""PCAConv and PatchConv: filters learned from random training patches."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import PatchConv, PCAConv, Pool, RandomConv
from skconv._patches import normalize_patches

from _reference import all_patches, rows_in


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return train_test_split(
        data.images / 16, data.target, test_size=0.3, random_state=0, stratify=data.target
    )


def test_pca_filters_match_sklearn_pca():
    X = load_digits().images[:200]
    conv = PCAConv(6, 4, n_patches=10**6, dtype=np.float64).fit(X)
    P = all_patches(X[..., None], (4, 4)).astype(np.float64)
    assert conv.n_patches_ == len(P)
    P -= P.mean(axis=1, keepdims=True)
    pca = PCA(6, svd_solver="full").fit(P)
    flat = conv.filters_.reshape(6, -1)
    signs = np.sign(np.sum(flat * pca.components_, axis=1))
    np.testing.assert_allclose(flat, signs[:, None] * pca.components_, atol=1e-8)
    np.testing.assert_allclose(conv.explained_variance_, pca.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(
        conv.explained_variance_ratio_, pca.explained_variance_ratio_, rtol=1e-8
    )
    np.testing.assert_allclose(conv.mean_.ravel(), pca.mean_, atol=1e-10)


@pytest.mark.parametrize("kernel_size, shape", [(5, (30, 12, 12, 3)), ((11,), (20, 40))])
def test_pca_filters_orthonormal_zero_sum_ordered(kernel_size, shape):
    X = np.random.RandomState(0).rand(*shape)
    X = X + np.linspace(0, 3, X.shape[1]).reshape((1, -1) + (1,) * (X.ndim - 2))
    conv = PCAConv(8, kernel_size, n_patches=500, random_state=0).fit(X)
    flat = conv.filters_.reshape(8, -1).astype(np.float64)
    np.testing.assert_allclose(flat @ flat.T, np.eye(8), atol=1e-5)
    np.testing.assert_allclose(flat.sum(axis=1), 0, atol=1e-5)
    assert np.all(np.diff(conv.explained_variance_) <= 0)
    assert 0 < conv.explained_variance_ratio_.sum() <= 1
    # a different patch draw gives other (though similar) components
    other = PCAConv(8, kernel_size, n_patches=500, random_state=1).fit(X)
    assert not np.array_equal(other.filters_, conv.filters_)
    np.testing.assert_array_equal(clone(conv).fit(X).filters_, conv.filters_)


def test_pcanet_second_stage_on_lazy_maps():
    X = load_digits().images[:100]
    first = PCAConv(4, 3, dtype=np.float64).fit(X)
    maps = first.transform(X)
    second = PCAConv(3, 3, groups=4, n_patches=2000, random_state=0, dtype=np.float64).fit(maps)
    dense = PCAConv(3, 3, groups=4, n_patches=2000, random_state=0, dtype=np.float64)
    dense.fit(np.asarray(maps))
    np.testing.assert_allclose(second.filters_, dense.filters_, atol=1e-12)
    # each group (channel) gets the same components, learned from every channel
    assert second.filters_.shape == (12, 3, 3, 1)
    np.testing.assert_array_equal(second.filters_[:3], second.filters_[9:])
    m = np.asarray(maps)
    as_samples = np.concatenate([m[..., j] for j in range(4)])
    alone = PCAConv(3, 3, n_patches=10**6, dtype=np.float64).fit(as_samples)
    full = PCAConv(3, 3, groups=4, n_patches=10**6, dtype=np.float64).fit(maps)
    np.testing.assert_allclose(full.filters_[:3], alone.filters_, atol=1e-8)
    assert second.transform(maps).shape == (100, 4, 4, 12)


def test_pca_errors():
    X = np.random.RandomState(0).rand(3, 8, 8)
    with pytest.raises(ValueError, match="n_filters=9 is more than mean-removed patches"):
        PCAConv(9, 3).fit(X)
    with pytest.raises(ValueError, match="n_patches"):
        PCAConv(2, 3, n_patches=1).fit(X)
    with pytest.raises(ValueError, match="at least 2 patches"):
        PCAConv(2, 3).fit(X[:1, :3, :3])
    # the geometry is checked before any patch is drawn
    for conv in (PCAConv(2, 9), PatchConv(2, 9)):
        with pytest.raises(ValueError, match=r"larger than the padded input.*shape \(8, 8, 1\)"):
            conv.fit(X)


# ---------------------------------------------------------------------------
# PatchConv
# ---------------------------------------------------------------------------


def test_patch_filters_are_normalized_training_patches():
    X = load_digits().images[:60]
    conv = PatchConv(20, 3, n_patches=500, random_state=0, dtype=np.float64).fit(X)
    # "auto": Coates' 10 on 0..255 pixels, rescaled to the 0..16 range of the digits
    assert conv.norm_eps_ == pytest.approx(10 * (16 / 255) ** 2)
    P = normalize_patches(all_patches(X[..., None], (3, 3)), eps=conv.norm_eps_)
    P = P[np.ptp(all_patches(X[..., None], (3, 3)), axis=1) > 0]
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    flat = conv.filters_.reshape(20, -1)
    # each filter is one of them (up to rounding of the normalization)
    dist = ((flat[:, None, :] - P[None, :, :]) ** 2).sum(-1).min(axis=1)
    np.testing.assert_allclose(dist, 0, atol=1e-20)
    np.testing.assert_allclose(np.linalg.norm(flat, axis=1), 1)
    np.testing.assert_allclose(flat.sum(axis=1), 0, atol=1e-12)
    assert conv.bias_ is None and conv.whitening_ is None
    np.testing.assert_array_equal(conv.patches_, conv.filters_)
    again = clone(conv).fit(X)
    np.testing.assert_array_equal(again.filters_, conv.filters_)
    assert not np.array_equal(clone(conv).set_params(random_state=1).fit(X).filters_, conv.filters_)


def test_patch_without_normalization_is_raw_patches():
    X = np.random.RandomState(0).rand(4, 7, 7, 2)
    conv = PatchConv(5, 3, normalize=False, n_patches=10**6, random_state=0,
                     dtype=np.float64).fit(X)
    P = all_patches(X, (3, 3))
    P = P / np.linalg.norm(P, axis=1, keepdims=True)
    rows_in(np.round(conv.filters_.reshape(5, -1), 12), np.round(P, 12))


def test_whitening_folded_into_filters_and_bias():
    X = load_digits().images[:80] / 16
    conv = PatchConv(10, 3, n_patches=2000, whiten=True, whiten_eps=0.05, random_state=0,
                     dtype=np.float64).fit(X)
    W, mu = conv.whitening_, conv.patch_mean_
    assert W.shape == (9, 9) and mu.shape == (9,)
    np.testing.assert_allclose(W, W.T)  # the symmetric (ZCA) whitening, as KMeansConv's

    def whiten(P):
        return (P - mu) @ W

    D = conv.patches_.reshape(10, -1)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1)
    # the dictionary holds whitened normalized training patches
    P = normalize_patches(all_patches(X[..., None], (3, 3)), eps=conv.norm_eps_)
    Pw = whiten(P)
    Pw /= np.maximum(np.linalg.norm(Pw, axis=1, keepdims=True), 1e-300)
    cos = np.abs(D @ Pw.T).max(axis=1)
    np.testing.assert_allclose(cos, 1, atol=1e-10)
    # response of a raw patch p = d . W (p - mu), at every position
    maps = np.asarray(conv.transform(X))
    raw = all_patches(X[..., None], (3, 3))
    expected = whiten(raw) @ D.T
    np.testing.assert_allclose(maps.reshape(-1, 10), expected, atol=1e-10)


def test_constant_patches_are_never_chosen():
    X = np.zeros((5, 10, 10))
    X[:, 4:6, 4:6] = 1.0  # almost everything is flat background
    conv = PatchConv(8, 3, n_patches=10**6, random_state=0).fit(X)
    assert np.all(np.ptp(conv.filters_.reshape(8, -1), axis=1) > 0)
    with pytest.raises(ValueError, match="have any contrast"):
        PatchConv(81, 3, n_patches=10**6).fit(X)
    with pytest.raises(ValueError, match="n_patches=4 must be at least n_filters=8"):
        PatchConv(8, 3, n_patches=4).fit(X)
    with pytest.raises(TypeError, match="whiten must be a bool"):
        PatchConv(8, 3, whiten="zca").fit(X)
    with pytest.raises(ValueError, match="norm_eps must be 'auto' or a finite real number >= 0"):
        PatchConv(8, 3, norm_eps="coates").fit(X)
    assert PatchConv(8, 3, norm_eps=0.5).fit(X).norm_eps_ == 0.5


# ---------------------------------------------------------------------------
# In a pipeline on digits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "conv",
    [
        PCAConv(8, 3, encoding="abs", random_state=0),
        PatchConv(32, 3, whiten=True, encoding="split", alpha=0.25, random_state=0),
    ],
    ids=["pca", "patches-whitened"],
)
def test_family_in_pipeline_on_digits(conv, digits):
    X_train, X_test, y_train, y_test = digits
    pipe = Pipeline(
        [
            ("conv", conv),
            ("pool", Pool(grid=(3, 3))),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=0.1, max_iter=2000)),
        ]
    )
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) >= 0.96


def test_pca_after_random_layer_in_pipeline(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = Pipeline(
        [
            ("conv1", RandomConv(8, 3, padding="same", encoding="relu", random_state=0)),
            ("conv2", PCAConv(8, 3, n_patches=5000, random_state=0, encoding="abs")),
            ("pool", Pool(grid=(2, 2))),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=0.1, max_iter=2000)),
        ]
    )
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) >= 0.93


# ---------------------------------------------------------------------------
# scikit-learn's common checks on 2-D input (signals with 1-D kernels)
# ---------------------------------------------------------------------------




@pytest.mark.parametrize("sharing, extra", [("local", {}), ("tiled", {"tile_shape": (2, 3)})])
def test_patch_dictionaries_per_position_come_from_their_positions(sharing, extra, digits):
    X = digits[0][:300]
    est = PatchConv(5, 3, normalize=False, sharing=sharing, n_patches=40, random_state=0,
                    **extra).fit(X)
    out = (6, 6)
    sets = out if sharing == "local" else extra["tile_shape"]
    assert est.patches_.shape == sets + (5, 3, 3, 1)
    assert est.filters_.shape == sets + (5, 3, 3, 1) and est.bias_ is None
    view = np.lib.stride_tricks.sliding_window_view(X, (3, 3), axis=(1, 2))  # (n, 6, 6, 3, 3)
    for t in np.ndindex(*sets):
        # the patches at the positions of this kernel set, unit norm
        rows = view[(slice(None),) + tuple(slice(ti, None, s) for ti, s in zip(t, sets))]
        rows = rows.reshape(-1, 9)
        rows = rows[np.ptp(rows, axis=1) > 0]
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        D = est.patches_[t].reshape(5, -1)
        kept = np.linalg.norm(D, axis=1) > 0
        rows_in(np.round(D[kept], 10), np.round(rows, 10))
    # positions of blank background keep zero filters rather than failing
    assert np.all(np.isfinite(np.asarray(est.transform(X[:5]))))


def test_local_patch_dictionaries_classify_aligned_digits(digits):
    X_train, X_test, y_train, y_test = digits
    model = Pipeline([
        ("conv", PatchConv(8, 3, whiten=True, sharing="local", encoding="split", alpha=0.25,
                           n_patches=1000, random_state=0)),
        ("pool", Pool(grid=2)),
        ("clf", LogisticRegression(max_iter=2000)),
    ])
    assert model.fit(X_train, y_train).score(X_test, y_test) > 0.9
