"""KMeansConv.partial_fit: learning from chunks of samples."""

import numpy as np
import pytest

from skconv import KMeansConv

from _reference import all_patches


@pytest.fixture
def images():
    return np.random.default_rng(0).random((40, 10, 10, 3)) * 255


def test_one_partial_fit_equals_fit(images):
    params = dict(n_filters=6, kernel_size=3, n_patches=1000, random_state=0, dtype=np.float64)
    a = KMeansConv(**params).fit(images)
    b = KMeansConv(**params).partial_fit(images)
    np.testing.assert_array_equal(a.filters_, b.filters_)
    np.testing.assert_array_equal(np.asarray(a.transform(images)), np.asarray(b.transform(images)))


def test_partial_fit_streams_chunks_into_a_bounded_sample(images):
    est = KMeansConv(n_filters=6, kernel_size=3, n_patches=1500, random_state=0)
    for start in range(0, 40, 10):
        est.partial_fit(images[start : start + 10])
        assert est.n_patches_ <= 1500
        # usable after every call
        assert np.asarray(est.transform(images[:2])).shape == (2, 8, 8, 6)
    assert est.n_patches_ == 1500
    # the kept sample is uniform over the candidates: about 1/4 from each chunk
    chunk_rows = [
        {tuple(r) for r in _all_patches(images[s : s + 10])} for s in range(0, 40, 10)
    ]
    counts = [sum(tuple(r) in rows for r in est._reservoir) for rows in chunk_rows]
    assert sum(counts) == 1500
    assert all(250 < c < 500 for c in counts), counts


def _all_patches(x):
    # the transformer works in float32, so its patches are the float32 values
    return all_patches(x.astype(np.float32), (3, 3)).astype(np.float64)


def test_partial_fit_checks_shapes_and_fit_restarts(images):
    est = KMeansConv(n_filters=4, kernel_size=3, n_patches=500, random_state=0)
    est.partial_fit(images[:10])
    with pytest.raises(ValueError, match="channels"):
        est.partial_fit(images[:10, ..., :2])
    est.fit(images[:10])
    assert not hasattr(est, "_reservoir")
    fresh = KMeansConv(n_filters=4, kernel_size=3, n_patches=500, random_state=0).fit(images[:10])
    np.testing.assert_array_equal(est.filters_, fresh.filters_)
