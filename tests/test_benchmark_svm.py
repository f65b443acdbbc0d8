"""The benchmarks' L2-SVM solves LIBLINEAR's problem, by either solver.

``benchmarks/l2svm.py`` is not part of the package, but every k-means accuracy
in BENCHMARKS.md and its run log, ``benchmarks/LOG.md`` (the reference
pipeline, skconv's single layer and stack on CIFAR-10, ``KMeansConv`` on
MNIST), goes through it, so it is checked here against scikit-learn's
``LinearSVC`` (squared hinge, one-vs-rest, bias as a regularized constant
feature), which minimizes the same objective with the authors' ``C`` divided
by the number of samples.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
l2svm = pytest.importorskip("l2svm")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:600]).astype(np.float32)
    return X, y[:600]


def objective(model, X, y, C):
    classes, index = np.unique(y, return_inverse=True)
    Y = -np.ones((len(y), len(classes)))
    Y[np.arange(len(y)), index] = 1.0
    w = np.vstack([model.coef, model.intercept]).ravel()
    return l2svm.l2svm_objective(w, X, Y, C)[0]


@pytest.mark.parametrize("C", [1.0, 100.0])
def test_newton_matches_liblinear(digits, C):
    X, y = digits
    model = l2svm.train_l2svm(X, y, C=C, solver="newton", tol=1e-6)
    assert model.converged
    svc = LinearSVC(C=C / len(y), loss="squared_hinge", dual=False, tol=1e-10,
                    max_iter=100_000).fit(X.astype(np.float64), y)
    np.testing.assert_allclose(model.coef, svc.coef_.T, atol=2e-4)
    np.testing.assert_allclose(model.intercept, svc.intercept_, atol=2e-4)
    np.testing.assert_array_equal(l2svm.predict_l2svm(model, X), svc.predict(X))


def test_predict_with_views_averages_decision_values(digits):
    X, y = digits
    model = l2svm.train_l2svm(X, y, C=1.0, solver="newton")
    mirrored = X[:, ::-1].copy()
    scores = (X @ model.coef + model.intercept) + (mirrored @ model.coef + model.intercept)
    expected = model.classes[np.argmax(scores, axis=1)]
    np.testing.assert_array_equal(l2svm.predict_l2svm(model, X, mirrored), expected)
    np.testing.assert_array_equal(l2svm.predict_l2svm(model, X, X), l2svm.predict_l2svm(model, X))


def test_newton_and_lbfgs_reach_the_same_optimum(digits):
    X, y = digits
    newton = l2svm.train_l2svm(X, y, C=10.0, solver="newton", tol=1e-6)
    lbfgs = l2svm.train_l2svm(X, y, C=10.0, solver="lbfgs", max_iter=5000)
    f_newton, f_lbfgs = objective(newton, X, y, 10.0), objective(lbfgs, X, y, 10.0)
    assert f_newton <= f_lbfgs * (1 + 1e-6)
    np.testing.assert_allclose(f_newton, f_lbfgs, rtol=1e-5)


def test_unknown_solver(digits):
    X, y = digits
    with pytest.raises(ValueError, match="solver"):
        l2svm.train_l2svm(X, y, solver="sgd")


def test_choose_C_uses_held_out_samples_only(digits):
    X, y = digits
    before = X.copy()
    C, scores, model = l2svm.choose_C(X, y, [10.0, 0.01], n_val=200, solver="newton")
    assert set(scores) == {0.01, 10.0}
    assert C == max(scores, key=scores.get)
    assert model.coef.shape == (X.shape[1], 10)
    np.testing.assert_array_equal(X, before)
    with pytest.raises(ValueError, match="n_val"):
        l2svm.choose_C(X, y, [1.0], n_val=len(y))


def test_newton_warm_start_reaches_the_same_optimum(digits):
    X, y = digits
    cold = l2svm.train_l2svm(X, y, C=10.0, solver="newton", tol=1e-6)
    start = l2svm.train_l2svm(X, y, C=0.1, solver="newton")
    warm = l2svm.train_l2svm(X, y, C=10.0, solver="newton", tol=1e-6, init=start)
    np.testing.assert_allclose(warm.coef, cold.coef, atol=1e-4 * np.abs(cold.coef).max())
    np.testing.assert_allclose(warm.intercept, cold.intercept, atol=1e-3)
    lbfgs = l2svm.train_l2svm(X, y, C=1.0, max_iter=50, init=start)
    assert lbfgs.coef.shape == start.coef.shape
    with pytest.raises(ValueError, match="init"):
        l2svm.train_l2svm(X[:, :-1], y, C=1.0, solver="newton", init=start)


def test_choose_C_in_place_gives_the_same_choice_and_restores_its_input(digits):
    X, y = digits
    copied = l2svm.choose_C(X, y, [0.01, 10.0], n_val=200, solver="newton")
    X2 = X.copy()
    inplace = l2svm.choose_C(X2, y, [0.01, 10.0], n_val=200, solver="newton", in_place=True)
    assert inplace[:2] == copied[:2]
    np.testing.assert_allclose(inplace[2].coef, copied[2].coef, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(X2, X, rtol=1e-5, atol=1e-5)


def test_fit_l2svm_is_choose_C_then_standardize_then_fit(digits):
    X, y = digits
    n_fit = 400
    F_train, F_test = X[:n_fit].copy(), X[n_fit:].copy()
    C, scores, init = l2svm.choose_C(F_train, y[:n_fit], [0.01, 10.0], n_val=100, solver="newton")
    S_train, S_test = l2svm.standardize(F_train.copy(), F_test.copy())
    expected = l2svm.train_l2svm(S_train, y[:n_fit], C=C, solver="newton", init=init)

    G_train, G_test = F_train.copy(), F_test.copy()
    model, C2, scores2 = l2svm.fit_l2svm(G_train, y[:n_fit], [0.01, 10.0], 100, G_test,
                                         solver="newton")
    assert (C2, scores2) == (C, scores)
    np.testing.assert_allclose(model.coef, expected.coef, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(G_test, S_test)  # standardized in place
    assert l2svm.accuracy_l2svm(model, G_test, y[n_fit:]) == np.mean(
        l2svm.predict_l2svm(expected, S_test) == y[n_fit:])

    single, C1, none = l2svm.fit_l2svm(F_train.copy(), y[:n_fit], [1.0], 100, solver="newton")
    assert (C1, none) == (1.0, {})
    np.testing.assert_allclose(
        single.coef, l2svm.train_l2svm(S_train, y[:n_fit], C=1.0, solver="newton").coef)
