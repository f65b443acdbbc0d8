import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from skconv import Conv, FeatureMaps, Pool
from skconv._maps import map_batches, stack_batches


@pytest.fixture
def maps_and_ref():
    rng = np.random.default_rng(0)
    x = rng.random((10, 8, 8, 2)).astype(np.float32)
    conv = Conv(rng.standard_normal((3, 3, 3, 2)), encoding="relu", batch_size=4).fit(x)
    return conv.transform(x), np.asarray(conv.transform(x))


def test_array_like_interface(maps_and_ref):
    maps, ref = maps_and_ref
    assert isinstance(maps, FeatureMaps)
    assert len(maps) == 10 and maps.shape == (10, 6, 6, 3) and maps.ndim == 4
    assert maps.dtype == np.float32 and maps.nbytes == ref.nbytes
    assert "lazy" in repr(maps)
    np.testing.assert_array_equal(maps[3], ref[3])
    np.testing.assert_array_equal(maps[-1], ref[-1])
    np.testing.assert_array_equal(maps[2, 1:3, :, 0], ref[2, 1:3, :, 0])
    np.testing.assert_array_equal(maps[:, 0, 0], ref[:, 0, 0])
    with pytest.raises(IndexError):
        maps[10]


@settings(max_examples=30, deadline=None)
@given(
    start=st.integers(-12, 12),
    stop=st.integers(-12, 12),
    step=st.sampled_from([1, 2, 3, -1]),
    mask_seed=st.integers(0, 100),
)
def test_subsets_stay_lazy_and_agree(start, stop, step, mask_seed):
    rng = np.random.default_rng(1)
    x = rng.random((10, 6, 6, 1))
    maps = Conv(np.ones((2, 2, 2, 1)), batch_size=3, dtype=np.float64).fit_transform(x)
    ref = np.asarray(maps)
    sub = maps[start:stop:step]
    assert isinstance(sub, FeatureMaps)
    np.testing.assert_array_equal(np.asarray(sub), ref[start:stop:step]) if len(sub) else None
    assert len(sub) == len(ref[start:stop:step])
    mask = np.random.default_rng(mask_seed).random(10) > 0.5
    idx = np.flatnonzero(mask)
    if idx.size:
        np.testing.assert_array_equal(np.asarray(maps[mask]), ref[mask])
        np.testing.assert_array_equal(np.asarray(maps[idx[::-1]]), ref[idx[::-1]])
        np.testing.assert_array_equal(np.asarray(maps[list(idx)]), ref[idx])


def test_iteration_and_batches(maps_and_ref):
    maps, ref = maps_and_ref
    np.testing.assert_array_equal(np.stack(list(maps)), ref)
    assert [len(b) for b in maps.iter_batches()] == [4, 4, 2]
    sums = maps.map_batches(lambda b: b.sum(axis=(1, 2)))
    np.testing.assert_allclose(np.concatenate(sums), ref.sum(axis=(1, 2)), rtol=1e-5)


def test_asarray_dtype_and_copy(maps_and_ref):
    maps, ref = maps_and_ref
    assert np.asarray(maps, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="copy"):
        maps.__array__(copy=False)


def test_streaming_memory_is_bounded_by_batch_size():
    """Pooling lazy maps never computes more than batch_size samples at once."""
    rng = np.random.default_rng(2)
    x = rng.random((50, 12, 12, 1)).astype(np.float32)
    conv = Conv(rng.standard_normal((64, 3, 3, 1)), batch_size=8, n_jobs=2).fit(x)
    seen = []
    original = conv._transform_batch

    def spy(batch):
        out = original(batch)
        seen.append(out.nbytes)
        return out

    conv._transform_batch = spy
    Pool().fit_transform(conv.transform(x))
    assert max(seen) <= 8 * 10 * 10 * 64 * 4
    assert sum(seen) == 50 * 10 * 10 * 64 * 4


def test_nested_maps_compose():
    rng = np.random.default_rng(3)
    x = rng.random((5, 10, 10))
    w1, w2 = rng.standard_normal((4, 3, 3, 1)), rng.standard_normal((2, 3, 3, 4))
    lazy = Conv(w2, dtype=np.float64).fit_transform(Conv(w1, dtype=np.float64).fit_transform(x))
    eager = Conv(w2, dtype=np.float64).fit_transform(
        np.asarray(Conv(w1, dtype=np.float64).fit_transform(x))
    )
    np.testing.assert_allclose(np.asarray(lazy), np.asarray(eager), rtol=1e-12)
    np.testing.assert_allclose(lazy[4], np.asarray(eager)[4], rtol=1e-12)


def test_map_batches_on_plain_inputs():
    x = np.arange(24.0).reshape(4, 3, 2, 1)
    parts = map_batches(x, lambda b: b.sum(axis=(1, 2, 3)), batch_size=3)
    np.testing.assert_array_equal(np.concatenate(parts), x.sum(axis=(1, 2, 3)))
    samples = [np.ones((2, 2, 1)), np.ones((3, 3, 1))]
    parts = map_batches(samples, lambda b: b.shape)
    assert parts == [(1, 2, 2, 1), (1, 3, 3, 1)]


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_stack_batches_equals_concatenated_map_batches(n_jobs):
    rng = np.random.RandomState(0)
    X = rng.rand(23, 5, 4, 3).astype(np.float32)
    maps = FeatureMaps(X, lambda b: 2 * b, out_spatial=(5, 4), n_channels=3,
                       dtype=np.float32, batch_size=4, n_jobs=n_jobs)

    def rows(b):
        return b.reshape(len(b), -1)[:, ::3]

    expected = np.concatenate(map_batches(maps, rows), axis=0)
    got = stack_batches(maps, rows)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    # plain arrays and lists of variable-size samples (one per batch)
    np.testing.assert_array_equal(
        stack_batches(X, rows, batch_size=5, n_jobs=n_jobs),
        np.concatenate(map_batches(X, rows, batch_size=5, n_jobs=n_jobs)),
    )
    samples = [rng.rand(3 + i, 4, 2) for i in range(6)]
    np.testing.assert_array_equal(
        stack_batches(samples, lambda b: b.sum(axis=(1, 2)), n_jobs=n_jobs),
        np.array([s.sum(axis=(0, 1)) for s in samples]),
    )


@pytest.mark.parametrize("encoding", [None, "relu", "split", "abs"])
def test_materialized_maps_written_in_place_equal_the_batches(encoding):
    # np.asarray(maps) has each batch's maps written into the result (the linear
    # maps directly, then encoded in place; "split" doubles the channels and is
    # copied): the same values as the batches computed one by one.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((23, 9, 9, 2)).astype(np.float32)
    conv = Conv(rng.standard_normal((5, 3, 3, 2)), bias=rng.standard_normal(5),
                encoding=encoding, batch_size=4, n_jobs=2).fit(X)
    maps = conv.transform(X)
    expected = np.concatenate(list(maps.iter_batches()))
    np.testing.assert_array_equal(np.asarray(maps), expected)
    np.testing.assert_array_equal(np.asarray(maps[3:17]), expected[3:17])
