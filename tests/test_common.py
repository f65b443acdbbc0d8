"""scikit-learn's estimator checks, and our own checks for N-D input."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skconv import Conv, Pool

_W1 = np.random.default_rng(0).standard_normal((3, 2, 1))

# Configurations that take flat 2-D X, so sklearn's checks really run:
# 1-D kernels read (n_samples, n_features) as single-channel signals.
ESTIMATORS_2D = [
    Conv(_W1),
    Conv(_W1, encoding="relu", padding="same", stride=2),
    Conv(_W1, encoding="split", alpha=0.1, dtype=np.float64),
    Pool(),
    Pool(method="max", pyramid=(1, 2)),
    Pool(method="l2", size=1),
]


@parametrize_with_checks(ESTIMATORS_2D)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _images(seed=0, n=6, shape=(9, 8, 3)):
    return np.random.default_rng(seed).random((n,) + shape).astype(np.float32)


ND_ESTIMATORS = [
    (Conv(np.random.default_rng(1).standard_normal((4, 3, 3, 3)), encoding="relu"), (9, 8, 3)),
    (Conv(np.random.default_rng(1).standard_normal((2, 2, 2, 2, 1))), (5, 5, 5)),
    (Pool(grid=(2, 2)), (9, 8, 3)),
    (Pool(size=(2, 2), method="max"), (9, 8, 3)),
]


@pytest.mark.parametrize("estimator, shape", ND_ESTIMATORS)
def test_nd_clone_params_pickle(estimator, shape):
    X = _images(shape=shape)
    fitted = clone(estimator).fit(X)
    out = np.asarray(fitted.transform(X))
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(np.asarray(again.transform(X)), out)
    params = estimator.get_params()
    twin = type(estimator)(**params)
    np.testing.assert_array_equal(np.asarray(twin.fit(X).transform(X)), out)
    assert clone(estimator).set_params(**params).get_params().keys() == params.keys()


@pytest.mark.parametrize("estimator, shape", ND_ESTIMATORS)
def test_nd_float32_preserved_and_input_untouched(estimator, shape):
    X = _images(shape=shape)
    X0 = X.copy()
    out = np.asarray(clone(estimator).fit_transform(X))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(X, X0)


@pytest.mark.parametrize("estimator, shape", ND_ESTIMATORS)
def test_nd_sample_order_invariance(estimator, shape):
    X = _images(n=7, shape=shape)
    fitted = clone(estimator).fit(X)
    perm = np.random.default_rng(2).permutation(7)
    np.testing.assert_allclose(
        np.asarray(fitted.transform(X[perm])), np.asarray(fitted.transform(X))[perm], rtol=1e-6
    )


def test_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Conv(_W1).transform(np.zeros((2, 5)))
    with pytest.raises(NotFittedError):
        Pool().transform(np.zeros((2, 5)))
