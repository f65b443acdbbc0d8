"""dask in, dask out, on a real cluster: worker processes on 127.0.0.1.

Skipped where dask or distributed is not installed (``pip install ".[dask]"``).
"""

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from skconv import KMeansConv, PatchConv, PCAConv, Pool, RandomConv, ZCA

from test_common import ND

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10_jpeg_q75.npz"


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=40,
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _card(n_filters=16):
    return Pipeline([
        ("conv", KMeansConv(n_filters, 3, input_shape=(8, 8), n_patches=3000, random_state=0)),
        ("pool", Pool(grid=(2, 2))),
        ("clf", LogisticRegression(max_iter=1000)),
    ])


def test_pipeline_on_a_dask_array_equals_the_in_memory_one(client):
    X, y = load_digits(return_X_y=True)
    Xd = da.from_array(X, chunks=(400, 64))
    memory, lazy = _card().fit(X, y), _card().fit(Xd, y)
    # fitting samples the same patches, chunk by chunk
    np.testing.assert_array_equal(memory["conv"].filters_, lazy["conv"].filters_)
    features = lazy[:-1].transform(Xd)
    assert isinstance(features, da.Array)
    assert features.chunks[0] == Xd.chunks[0] and features.dtype == np.float32
    on_workers = client.compute(features).result()
    np.testing.assert_allclose(on_workers, memory[:-1].transform(X), rtol=1e-6)
    predicted = client.compute(da.from_array(memory.predict(X))).result()
    np.testing.assert_array_equal(lazy.predict(Xd.compute()), predicted)


@pytest.mark.parametrize("estimator, shape", [pytest.param(e, s, id=c.__name__)
                                              for c, (e, s) in ND.items()])
def test_every_transformer_maps_itself_over_the_chunks(estimator, shape, client):
    X = np.random.default_rng(0).random((9,) + shape).astype(np.float32)
    Xd = da.from_array(X, chunks=(4,) + shape)
    fitted = clone(estimator).fit(X)
    out = fitted.transform(Xd)
    assert isinstance(out, da.Array) and out.chunks[0] == (4, 4, 1)
    expected = np.asarray(fitted.transform(X))
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_allclose(client.compute(out).result(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("est", [
    KMeansConv(4, 3, n_patches=300, random_state=0),
    PCAConv(3, 3, n_patches=300, random_state=0),
    PatchConv(4, 3, n_patches=300, whiten=True, random_state=0),
    RandomConv(4, 3, random_state=0),
], ids=lambda e: type(e).__name__)
def test_fitting_on_a_dask_array_equals_fitting_in_memory(est):
    X = np.random.default_rng(1).random((40, 10, 10, 2)).astype(np.float32)
    Xd = da.from_array(X, chunks=(7, 10, 10, 2))
    a, b = clone(est).fit(X), clone(est).fit(Xd)
    np.testing.assert_array_equal(a.filters_, b.filters_)
    zca_a, zca_b = ZCA().fit(X.reshape(40, -1)), ZCA().fit(Xd.reshape(40, -1))
    np.testing.assert_allclose(zca_a.components_, zca_b.components_, rtol=1e-7, atol=1e-9)


def test_nothing_is_computed_before_the_result_is():
    import dask

    calls = []

    def load(i):
        calls.append(i)
        return np.random.default_rng(i).random((10, 12, 12)).astype(np.float32)

    blocks = [da.from_delayed(dask.delayed(load)(i), shape=(10, 12, 12), dtype=np.float32)
              for i in range(4)]
    Xd = da.concatenate(blocks)
    conv = RandomConv(4, 3, random_state=0).fit(Xd)  # RandomConv reads only the shape
    pooled = Pool(grid=2).fit(conv.transform(Xd)).transform(conv.transform(Xd))
    assert calls == [] and pooled.shape == (40, 16)
    # computed here (not on the cluster's workers) so that the calls are seen
    assert pooled.compute(scheduler="sync").shape == (40, 16)
    assert sorted(set(calls)) == [0, 1, 2, 3]


def test_consecutive_steps_are_fused_and_never_build_the_maps():
    import dask

    X = np.random.default_rng(3).random((12, 10, 10)).astype(np.float32)
    Xd = da.from_array(X, chunks=(5, 10, 10))
    conv = RandomConv(6, 3, random_state=0).fit(X)
    pool = Pool(grid=2).fit(conv.transform(X))
    maps = conv.transform(Xd)
    pooled = pool.transform(maps)
    # one skconv task per chunk, mapped from the images: the maps' layer is not in it
    graph = dict(pooled.__dask_graph__())
    assert not any(maps.name in str(key) for key in graph)
    assert sum(str(key).startswith("('skconv-pool") for key in graph) == 3
    chain_source, chain = pooled._skconv_chain
    assert chain_source.name == Xd.name and [e for e, _ in chain] == [conv, pool]
    with dask.config.set(scheduler="sync"):
        np.testing.assert_allclose(pooled.compute(), pool.transform(conv.transform(X)), rtol=1e-6)
        # an array derived from a step's output is an ordinary one, pooled from its blocks
        part = pool.transform(maps[:7])
        assert any(maps.name in str(key) for key in dict(part.__dask_graph__()))
        np.testing.assert_allclose(part.compute(), pool.transform(conv.transform(X[:7])),
                                   rtol=1e-6)


@pytest.mark.skipif(not CIFAR.exists(), reason="needs ../shared/data/cifar10_jpeg_q75.npz")
@pytest.mark.filterwarnings("ignore:Sending large graph")
def test_a_cifar_subset_stays_lazy_and_equals_the_in_memory_result(client):
    with np.load(CIFAR) as data:
        X = data["X_train"][:20_000]
    Xd = da.from_array(X, chunks=(2_500, 32, 32, 3))
    conv = RandomConv(16, 5, encoding="relu", random_state=0).fit(X[:100])
    pool = Pool(grid=(2, 2)).fit(conv.transform(X[:100]))
    lazy = pool.transform(conv.transform(Xd))
    assert isinstance(lazy, da.Array) and lazy.shape == (20_000, 64)
    np.testing.assert_allclose(client.compute(lazy).result(),
                               pool.transform(conv.transform(X)), rtol=1e-5)


def test_minirocket_fits_its_biases_on_a_dask_array_as_in_memory():
    from skconv import MiniRocket

    X = np.random.default_rng(2).standard_normal((30, 60)).astype(np.float32)
    Xd = da.from_array(X, chunks=(8, 60))
    a, b = MiniRocket(84 * 2, random_state=0).fit(X), MiniRocket(84 * 2, random_state=0).fit(Xd)
    for x, y in zip(a.biases_, b.biases_):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(b.transform(Xd).compute(scheduler="sync"), a.transform(X))
