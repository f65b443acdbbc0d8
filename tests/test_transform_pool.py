"""TransformPool: features pooled over transformed copies of each sample."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skconv import KMeansConv, LayerwiseStack, Pool, RandomConv, ReceptiveFieldConv, TransformPool


def _images(n=6, shape=(8, 8, 3), seed=0):
    return np.random.default_rng(seed).random((n,) + shape).astype(np.float32)


def _features():
    return make_pipeline(RandomConv(4, 3, encoding="relu", random_state=0), Pool(grid=(2, 2)))


@pytest.mark.parametrize("method", ["mean", "max", "sum"])
def test_pooled_features_are_the_reduction_over_the_copies(method):
    X = _images()
    pooled = TransformPool(_features(), method=method).fit(X)
    inner = pooled.estimator_
    a, b = inner.transform(X), inner.transform(X[:, :, ::-1])
    expected = {"mean": (a + b) / 2, "max": np.maximum(a, b), "sum": a + b}[method]
    np.testing.assert_allclose(pooled.transform(X), expected, rtol=1e-6)
    assert pooled.transform(X).shape == (len(X), 16)


def test_exact_invariance_to_the_group_pooled_over():
    X = _images(shape=(9, 9, 2))
    mirror = TransformPool(_features()).fit(X)
    np.testing.assert_array_equal(mirror.transform(X[:, :, ::-1]), mirror.transform(X))
    # the plain features are not invariant: the pooling is what makes them so
    plain = mirror.estimator_
    assert not np.allclose(plain.transform(X[:, :, ::-1]), plain.transform(X))
    rotations = TransformPool(_features(), ("identity", "rot90", "rot180", "rot270"),
                              method="max").fit(X)
    turned = np.rot90(X, axes=(1, 2))
    np.testing.assert_array_equal(rotations.transform(turned), rotations.transform(X))
    # a set that is not a group gives no such guarantee
    half = TransformPool(_features(), ("identity", "rot90")).fit(X)
    assert not np.allclose(half.transform(turned), half.transform(X))


def test_invariance_through_a_two_layer_stack_and_flat_input():
    X = _images(n=5, shape=(10, 10, 3))
    stack = LayerwiseStack(
        [("conv1", KMeansConv(8, 3, n_patches=300)), ("pool1", Pool(size=2, method="max")),
         ("conv2", ReceptiveFieldConv(KMeansConv(3, 2, n_patches=100, encoding="soft_threshold"),
                                      n_groups=2, group_size=4))],
        concat=["conv1", "conv2"], pool=Pool(grid=(2, 2)), random_state=0)
    pooled = TransformPool(stack).fit(X)
    np.testing.assert_allclose(pooled.transform(X[:, :, ::-1]), pooled.transform(X), rtol=1e-6)
    np.testing.assert_array_equal(pooled.get_feature_names_out(),
                                  pooled.estimator_.get_feature_names_out())
    # flat samples keep their layout: the copies are flat too
    flat = TransformPool(make_pipeline(RandomConv(2, 3, random_state=0, input_shape=(10, 10, 3)),
                                       Pool()), input_shape=(10, 10, 3))
    F = flat.fit(X.reshape(5, -1)).transform(X[:, :, ::-1].reshape(5, -1))
    np.testing.assert_allclose(F, flat.transform(X.reshape(5, -1)), rtol=1e-6)


def test_signals_and_pipeline_keep_n_samples():
    rng = np.random.default_rng(1)
    X = rng.random((40, 30))
    y = (X[:, :15].sum(axis=1) > X[:, 15:].sum(axis=1)).astype(int)
    model = make_pipeline(
        TransformPool(make_pipeline(RandomConv(3, (5,), random_state=0), Pool(grid=2))),
        LogisticRegression(),
    ).fit(X, y)
    assert model.predict(X).shape == (40,)
    # time reversal: reversed signals get the same features
    pool = model[0]
    np.testing.assert_allclose(pool.transform(X[:, ::-1]), pool.transform(X), rtol=1e-6)


def test_bad_parameters_name_themselves():
    X = _images()
    with pytest.raises(ValueError, match="transforms must be one of"):
        TransformPool(_features(), ("identity", "mirror")).fit(X)
    with pytest.raises(ValueError, match="transforms must be a non-empty sequence"):
        TransformPool(_features(), ()).fit(X)
    with pytest.raises(TypeError, match="transforms must be a non-empty sequence"):
        TransformPool(_features(), (1,)).fit(X)
    with pytest.raises(ValueError, match="method must be one of"):
        TransformPool(_features(), method="median").fit(X)
    with pytest.raises(ValueError, match="rot90.*rotates the first two spatial axes"):
        TransformPool(make_pipeline(RandomConv(2, (3,)), Pool()), ("identity", "rot90")).fit(
            np.ones((3, 9))).transform(np.ones((3, 9)))
    with pytest.raises(ValueError, match="must keep the shape of the samples"):
        TransformPool(_features(), ("identity", "rot90")).fit(_images(shape=(8, 9, 3))).transform(
            _images(shape=(8, 9, 3)))
    with pytest.raises(TypeError, match="estimator must be a transformer instance"):
        TransformPool(RandomConv).fit(X)


@pytest.mark.parametrize("batch_size", [1, 4, 1024])
def test_batches_give_the_same_features_and_keep_the_input(batch_size):
    X = _images(n=9)
    before = X.copy()
    whole = TransformPool(_features(), batch_size=9).fit(X).transform(X)
    pooled = TransformPool(_features(), batch_size=batch_size).fit(X)
    np.testing.assert_array_equal(pooled.transform(X), whole)
    np.testing.assert_array_equal(X, before)
    # a DataFrame's batches keep its column names for the estimator (no warning)
    flat = pd.DataFrame(X.reshape(9, -1), columns=[f"v{i}" for i in range(8 * 8 * 3)])
    inner = make_pipeline(RandomConv(4, 3, encoding="relu", input_shape=(8, 8, 3), random_state=0),
                          Pool(grid=(2, 2)))
    named = TransformPool(inner, input_shape=(8, 8, 3), batch_size=batch_size).fit(flat)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(named.transform(flat), whole)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), ("auto", TypeError), (2.5, TypeError)])
def test_a_bad_batch_size_is_refused_with_its_name(batch_size, error):
    with pytest.raises(error, match="batch_size"):
        TransformPool(_features(), batch_size=batch_size).fit(_images())
