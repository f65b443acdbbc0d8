"""Centroid learning for k-means filter banks (skconv._kmeans)."""


import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from skconv._kmeans import (
    _gaussian_init,
    _kmeans_plusplus,
    _lloyd,
    _spherical_init,
    _spherical_kmeans,
    _spherical_pass,
    fit_centroids,
)

def _blobs(n=3000, k=5, dim=12, seed=0):
    rng = np.random.RandomState(seed)
    centers = 10 * rng.randn(k, dim)
    labels = rng.randint(k, size=n)
    X = centers[labels] + 0.3 * rng.randn(n, dim)
    return X.astype(np.float32), centers


def _directions(n=3000, k=5, dim=12, noise=0.02, seed=0):
    # Points along k unit directions, either sign, with random gains.
    rng = np.random.RandomState(seed)
    centers = rng.randn(k, dim)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    labels = rng.randint(k, size=n)
    gains = rng.uniform(0.5, 2.0, size=n) * rng.choice([-1.0, 1.0], size=n)
    X = gains[:, None] * (centers[labels] + noise * rng.randn(n, dim))
    return X.astype(np.float32), centers


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch"])
@pytest.mark.parametrize("seed", [0, 1])
def test_euclidean_algorithms_recover_centers(algorithm, seed):
    X, centers = _blobs(seed=seed)
    D = fit_centroids(X, len(centers), algorithm=algorithm, random_state=seed, batch_size=256)
    assert D.shape == centers.shape and D.dtype == np.float32
    dist = np.linalg.norm(D[:, None] - centers[None], axis=-1)
    rows, cols = linear_sum_assignment(dist)
    # The noise is 0.3 per coordinate; the centres are about 14 apart.
    assert dist[rows, cols].max() < 0.1


@pytest.mark.parametrize("seed", range(5))
def test_kmeans_plusplus_puts_one_seed_in_each_blob(seed):
    # Blobs about 14 apart with noise 0.3: k-means++ draws far points, so each
    # of the k seeds lands in a different blob.
    X, centers = _blobs(seed=seed)
    C = _kmeans_plusplus(X, len(centers), np.random.RandomState(seed))
    assert C.shape == centers.shape and C.dtype == X.dtype
    # every seed is a data row
    assert all(np.any(np.all(X == c, axis=1)) for c in C)
    nearest = np.argmin(np.linalg.norm(C[:, None] - centers[None], axis=-1), axis=1)
    assert sorted(nearest) == list(range(len(centers)))


def test_kmeans_plusplus_matches_scikit_learn_quality():
    # Same greedy procedure as scikit-learn's seeding: on heavy-tailed data the
    # potential of the seeds is within a few percent of scikit-learn's.
    from sklearn.cluster import kmeans_plusplus

    X = np.random.RandomState(0).standard_t(4, size=(3000, 10)).astype(np.float32)

    def potential(C):
        return np.min(((X[:, None] - C[None]) ** 2).sum(-1), axis=1).sum()

    ours = np.median([potential(_kmeans_plusplus(X, 40, np.random.RandomState(s))) for s in range(5)])
    theirs = np.median([potential(kmeans_plusplus(X, 40, random_state=s)[0]) for s in range(5)])
    assert abs(ours - theirs) / theirs < 0.05


def test_kmeans_plusplus_with_fewer_distinct_rows_than_clusters():
    X = np.repeat(np.eye(3, dtype=np.float32), 10, axis=0)
    C = _kmeans_plusplus(X, 5, np.random.RandomState(0))
    # the three distinct rows come first, then any rows
    assert sorted(map(tuple, C[:3])) == sorted(map(tuple, np.eye(3)))
    assert C.shape == (5, 3)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_spherical_recovers_directions_up_to_sign(seed):
    X, centers = _directions(seed=seed)
    D = fit_centroids(X, len(centers), algorithm="spherical", random_state=seed)
    sim = np.abs(D.astype(np.float64) @ centers.T)
    rows, cols = linear_sum_assignment(-sim)
    assert sim[rows, cols].min() > 0.999


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spherical_unit_norm(dtype):
    X = np.random.RandomState(0).randn(2000, 10).astype(dtype)
    D = fit_centroids(X, 16, algorithm="spherical", random_state=0, max_iter=10)
    assert D.dtype == dtype
    np.testing.assert_allclose(np.linalg.norm(D.astype(np.float64), axis=1), 1.0, rtol=1e-6)


def _naive_spherical_update(P, D):
    P = P.astype(np.float64)
    G = P @ D.astype(np.float64).T
    labels = np.argmax(np.abs(G), axis=1)
    new = np.zeros_like(D, dtype=np.float64)
    for i, j in enumerate(labels):
        new[j] += G[i, j] * P[i]
    return labels, new


def test_spherical_pass_matches_naive_loop():
    rng = np.random.RandomState(3)
    P = rng.randn(500, 7).astype(np.float32)
    D = rng.randn(9, 7).astype(np.float32)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    labels, codes, sums = _spherical_pass(P, D, batch_size=64, accumulate=True)
    ref_labels, ref_sums = _naive_spherical_update(P, D)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(codes, (P @ D.T)[np.arange(len(P)), labels], rtol=1e-6)
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-5, atol=1e-5)


def test_spherical_converges_to_fixed_point():
    X, _ = _directions(n=1500, k=4, dim=8, noise=0.2, seed=5)
    D = fit_centroids(X, 4, algorithm="spherical", random_state=0, max_iter=500, tol=1e-14)
    _, new = _naive_spherical_update(X, D)
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    np.testing.assert_allclose(new, D, atol=1e-5)


def test_spherical_batch_size_does_not_change_result():
    X = np.random.RandomState(4).randn(1000, 6).astype(np.float32)
    a = fit_centroids(X, 5, algorithm="spherical", random_state=0, batch_size=1000)
    b = fit_centroids(X, 5, algorithm="spherical", random_state=0, batch_size=37)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_spherical_reseeds_empty_clusters():
    # Two directions (and zero rows) for six centroids: some clusters stay
    # empty and must be re-seeded from patches, never left as zero or NaN.
    rng = np.random.RandomState(6)
    X = np.zeros((300, 5), dtype=np.float32)
    X[:100, 0] = rng.uniform(1, 2, 100)
    X[100:200, 1] = rng.uniform(1, 2, 100)
    D = fit_centroids(X, 6, algorithm="spherical", random_state=0)
    assert np.all(np.isfinite(D))
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-6)
    sim = np.abs(D)
    assert sim[:, 0].max() > 0.999 and sim[:, 1].max() > 0.999


def test_spherical_init_draws_distinct_clusters():
    X, centers = _directions(n=2000, k=6, dim=10, seed=7)
    D = _spherical_init(X, 6, np.random.RandomState(0), np.linalg.norm(X, axis=1))
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-6)
    best = np.argmax(np.abs(D @ centers.T), axis=1)
    assert len(set(best)) == 6


@pytest.mark.parametrize("init", ["k-means++", "gaussian"])
@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "spherical"])
def test_reproducible(algorithm, init):
    X = np.random.RandomState(8).randn(800, 6).astype(np.float32)
    kw = dict(algorithm=algorithm, init=init, random_state=3, max_iter=5, batch_size=128)
    a = fit_centroids(X, 7, **kw)
    b = fit_centroids(X, 7, **kw)
    np.testing.assert_array_equal(a, b)
    c = fit_centroids(X, 7, **{**kw, "random_state": np.random.RandomState(3)})
    np.testing.assert_array_equal(a, c)


def test_n_init_keeps_best_spherical_run():
    X = np.random.RandomState(9).randn(600, 5).astype(np.float32)
    # The n_init runs draw one after another from the same generator.
    rng = np.random.RandomState(0)
    runs = [_spherical_kmeans(X, 6, 50, 0.0, 4096, rng) for _ in range(4)]
    scores = [score for _, score, _ in runs]
    assert len(set(scores)) > 1  # the runs differ, so the choice matters
    best = fit_centroids(X, 6, algorithm="spherical", random_state=0, n_init=4)
    np.testing.assert_array_equal(best, runs[int(np.argmax(scores))][0])
    D = runs[0][0].astype(np.float64)
    proj = np.max(np.abs(X.astype(np.float64) @ D.T), axis=1)
    np.testing.assert_allclose(scores[0], np.sum(proj**2), rtol=1e-5)


def test_fit_centroids_does_not_modify_input():
    X = np.random.RandomState(10).randn(300, 4)
    before = X.copy()
    for algorithm in ["kmeans", "minibatch", "spherical"]:
        D = fit_centroids(X, 3, algorithm=algorithm, random_state=0, max_iter=3)
        assert D.dtype == np.float64
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_clusters": 3, "algorithm": "elkan"}, ValueError, "algorithm must be one of"),
        ({"n_clusters": 0}, ValueError, "n_clusters must be an int >= 1, got 0"),
        ({"n_clusters": 2.5}, TypeError, "n_clusters must be an int >= 1, got 2.5"),
        ({"n_clusters": 11}, ValueError, "number of patches"),
        ({"n_clusters": 2, "max_iter": 0}, ValueError, "max_iter must be an int >= 1"),
        ({"n_clusters": 2, "tol": -1.0}, ValueError, "tol must be"),
        ({"n_clusters": 2, "batch_size": 0}, ValueError, "batch_size must be an int >= 1"),
        ({"n_clusters": 2, "n_init": 0}, ValueError, "n_init must be an int >= 1"),
        ({"n_clusters": 2, "init": "random"}, ValueError, "init must be one of"),
        ({"n_clusters": 2, "init": None}, ValueError, "init must be one of"),
    ],
)
def test_fit_centroids_errors(kwargs, error, match):
    X = np.random.RandomState(0).randn(10, 3)
    with pytest.raises(error, match=match):
        fit_centroids(X, **kwargs)


@pytest.mark.parametrize("init", ["k-means++", "gaussian"])
@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "spherical"])
def test_return_n_iter(algorithm, init):
    X = np.random.RandomState(11).randn(400, 4).astype(np.float32)
    kw = dict(algorithm=algorithm, init=init, max_iter=7, random_state=0)
    centroids, n_iter = fit_centroids(X, 5, return_n_iter=True, **kw)
    assert 1 <= n_iter <= 7
    np.testing.assert_array_equal(centroids, fit_centroids(X, 5, **kw))


# ------------------------------------------------------------ gaussian init


@pytest.mark.parametrize("seed", [0, 1])
def test_gaussian_init_kmeans_recovers_centers(seed):
    X, centers = _blobs(k=4, seed=seed)
    D = fit_centroids(X, 4, init="gaussian", n_init=5, random_state=seed, batch_size=256)
    assert D.shape == centers.shape and D.dtype == np.float32
    dist = np.linalg.norm(D[:, None] - centers[None], axis=-1)
    rows, cols = linear_sum_assignment(dist)
    assert dist[rows, cols].max() < 0.1


def test_gaussian_init_statistics():
    rng = np.random.RandomState(0)
    X = (5.0 + 3.0 * rng.randn(20_000, 4)).astype(np.float32)
    C = _gaussian_init(X, 20_000, np.random.RandomState(1))
    assert C.dtype == np.float32
    C = C.astype(np.float64)
    # around the data mean (5), deviation 0.1 x the data's RMS deviation (3)
    spread = np.sqrt(X.astype(np.float64).var(axis=0).mean())
    np.testing.assert_allclose(C.mean(axis=0), X.mean(axis=0, dtype=np.float64), atol=0.01)
    np.testing.assert_allclose(C.std(axis=0), 0.1 * spread, rtol=0.03)


@pytest.mark.parametrize("batch_size", [7, 4096])
def test_lloyd_matches_scikit_learn_from_same_start(batch_size):
    # Both run plain Lloyd iterations from the same centroids; with no empty
    # cluster they must agree (float64 input, so to rounding).
    from sklearn.cluster import KMeans

    X, centers = _blobs(n=600, k=5, dim=3, seed=4)
    X = X.astype(np.float64) + np.random.RandomState(5).randn(600, 3) * 4.0
    C0 = X[[0, 50, 100, 150, 200]].copy()
    ours, inertia, n_iter = _lloyd(X, C0, 4, 0.0, batch_size)
    km = KMeans(5, init=C0, n_init=1, max_iter=4, tol=0.0, algorithm="lloyd").fit(X)
    np.testing.assert_allclose(ours, km.cluster_centers_, rtol=1e-10, atol=1e-10)
    nearest = ((X[:, None] - ours[None]) ** 2).sum(-1).min(axis=1).sum()
    np.testing.assert_allclose(inertia, nearest, rtol=1e-10)
    assert 1 <= n_iter <= 4


def test_lloyd_restarts_empty_cluster_at_mean():
    X = np.random.RandomState(6).randn(500, 3)
    C0 = np.array([[0.5, 0.0, 0.0], [-0.5, 0.0, 0.0], [1e3, 1e3, 1e3]])  # the last one wins nothing
    C, _, _ = _lloyd(X, C0, 1, 0.0, 64)
    np.testing.assert_allclose(C[2], X.mean(axis=0), rtol=1e-12)
    left = X[:, 0] >= 0
    np.testing.assert_allclose(C[0], X[left].mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(C[1], X[~left].mean(axis=0), rtol=1e-10)


def test_lloyd_stops_when_assignments_repeat():
    X, _ = _blobs(n=400, k=3, dim=2, seed=7)
    _, _, n_iter = _lloyd(X, X[[0, 1, 2]].copy(), 100, 0.0, 128)
    assert n_iter < 100


def test_gaussian_init_spherical_unit_norm():
    X, centers = _directions(seed=3)
    D = fit_centroids(X, 5, algorithm="spherical", init="gaussian", n_init=3, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-6)
