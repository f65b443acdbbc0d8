"""LayerwiseStack: greedy layer-wise stacking (skconv._stack)."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import (
    FeatureMaps,
    KMeansConv,
    LayerwiseStack,
    Pool,
    RandomConv,
    ReceptiveFieldConv,
)

DIGITS = load_digits().images.astype(np.float32)


def _layers(seed1=1, seed2=2):
    return [
        ("conv1", KMeansConv(8, 3, n_patches=1500, max_iter=10, random_state=seed1)),
        ("pool1", Pool(size=2, method="max")),
        ("conv2", KMeansConv(4, 2, n_patches=800, max_iter=10, random_state=seed2)),
    ]


def _by_hand(X, fit_on=None):
    """The layers of _layers() fitted and chained one by one, without the stack."""
    fit_on = fit_on or {}
    conv1, pool1, conv2 = (est for _, est in _layers())
    conv1.fit(X[fit_on["conv1"]] if "conv1" in fit_on else X)
    m1 = conv1.transform(X)
    pool1.fit(m1)
    p1 = pool1.transform(m1)
    conv2.fit(p1[fit_on["conv2"]] if "conv2" in fit_on else p1)
    return m1, conv2.transform(p1)


# --- the stack against the same steps by hand ---------------------------------------
def test_stack_equals_layers_chained_by_hand():
    X = DIGITS[:120]
    stack = LayerwiseStack(_layers()).fit(X)
    out = stack.transform(X)
    assert isinstance(out, FeatureMaps)
    m1, m3 = _by_hand(X)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(m3))
    np.testing.assert_array_equal(
        stack.named_layers_["conv1"].filters_, KMeansConv(8, 3, n_patches=1500, max_iter=10,
                                                          random_state=1).fit(X).filters_
    )
    # concat: the pooled maps of both layers side by side, pooled by hand
    stack = LayerwiseStack(_layers(), concat=["conv2", "conv1"], pool=Pool(grid=2)).fit(X)
    features = stack.transform(X)
    expected = np.hstack(
        [Pool(grid=2).fit_transform(m3), Pool(grid=2).fit_transform(m1)]
    )
    assert features.shape == (120, 4 * 4 + 8 * 4)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)
    names = stack.get_feature_names_out()
    assert len(names) == features.shape[1]
    assert names[0].startswith("conv2__") and names[-1].startswith("conv1__")
    np.testing.assert_allclose(stack.fit_transform(X), features, rtol=1e-6)


def test_fit_subset_equals_fitting_each_layer_on_its_subset_by_hand():
    X = DIGITS[:150]
    stack = LayerwiseStack(_layers(), fit_subset=40, random_state=0).fit(X)
    idx = stack.subset_indices_
    assert set(idx) == {"conv1", "pool1", "conv2"}
    for name in idx:
        assert len(idx[name]) == 40 and np.all(np.diff(idx[name]) > 0)
        assert idx[name].max() < 150
    assert not np.array_equal(idx["conv1"], idx["conv2"])  # a subset per layer
    _, m3 = _by_hand(X, fit_on=idx)
    np.testing.assert_array_equal(np.asarray(stack.transform(X)), np.asarray(m3))
    # a fraction: ceil(0.1 * 150) samples; 1.0 or more samples than there are: all
    assert len(LayerwiseStack(_layers(), fit_subset=0.1).fit(X).subset_indices_["conv2"]) == 15
    for everything in (1.0, 500):
        assert LayerwiseStack(_layers(), fit_subset=everything).fit(X).subset_indices_[
            "conv2"
        ] is None


class _SpyConv(RandomConv):
    """RandomConv that records the samples whose maps it computes."""

    computed = []

    def _transform_batch(self, x, out=None):
        _SpyConv.computed.append(np.array(x))
        return super()._transform_batch(x, out)


class _SpyKMeans(KMeansConv):
    """KMeansConv that keeps the maps it was fitted on."""

    fitted_on = []

    def fit(self, X, y=None):
        _SpyKMeans.fitted_on.append(np.asarray(X))
        return super().fit(X, y)


def test_fit_subset_fits_on_the_subset_only():
    X = DIGITS[:300]
    _SpyConv.computed.clear()
    _SpyKMeans.fitted_on.clear()
    stack = LayerwiseStack(
        [
            ("conv1", _SpyConv(6, 3, encoding="relu", random_state=0, batch_size=16)),
            ("conv2", _SpyKMeans(4, 2, n_patches=500, max_iter=5, random_state=0)),
        ],
        fit_subset=25,
        random_state=3,
    ).fit(X)
    # the first layer computed maps only of the samples of the second layer's subset
    idx = stack.subset_indices_["conv2"]
    computed = np.concatenate(_SpyConv.computed).reshape(-1, 64)
    flat = X.reshape(len(X), 64)
    which = [np.flatnonzero((flat == row).all(axis=1)) for row in computed]
    assert all(len(w) == 1 and w[0] in idx for w in which)
    (seen,) = _SpyKMeans.fitted_on
    full = np.asarray(stack.named_layers_["conv1"].transform(X))
    np.testing.assert_array_equal(seen, full[idx])


def test_one_seed_makes_the_stack_reproducible_and_layers_are_not_changed():
    X = DIGITS[:100]
    layers = [
        ("conv1", KMeansConv(6, 3, n_patches=1000, max_iter=5)),
        ("conv2", ReceptiveFieldConv(KMeansConv(3, 2, n_patches=500, max_iter=5),
                                     n_groups=2, group_size=3)),
    ]
    a = LayerwiseStack(layers, fit_subset=50, random_state=7).fit(X)
    b = LayerwiseStack(layers, fit_subset=50, random_state=7).fit(X)
    np.testing.assert_array_equal(np.asarray(a.transform(X)), np.asarray(b.transform(X)))
    assert layers[0][1].random_state is None and not hasattr(layers[0][1], "filters_")
    assert isinstance(a.named_layers_["conv1"].random_state, int)
    # a layer's own seed is kept
    c = LayerwiseStack([("conv1", KMeansConv(6, 3, n_patches=1000, max_iter=5,
                                              random_state=11))], random_state=7).fit(X)
    assert c.named_layers_["conv1"].random_state == 11


# --- parameters ----------------------------------------------------------------------
def test_nested_params_clone_and_pickle():
    stack = LayerwiseStack(_layers(), concat=["conv1"], pool=Pool(grid=2))
    params = stack.get_params(deep=True)
    assert params["conv1__n_filters"] == 8
    assert params["pool1__method"] == "max"
    assert params["pool__grid"] == 2
    assert params["conv2"] is stack.layers[2][1]
    assert set(stack.get_params(deep=False)) <= set(params)
    stack.set_params(conv1__n_filters=5, pool__method="max", fit_subset=0.5)
    assert stack.layers[0][1].n_filters == 5 and stack.pool.method == "max"
    new = KMeansConv(2, 2)
    stack.set_params(conv2=new)
    assert stack.layers[2] == ("conv2", new)
    with pytest.raises(ValueError, match="Invalid parameter"):
        stack.set_params(conv3__n_filters=1)
    twin = clone(stack)
    assert twin.layers[0][1] is not stack.layers[0][1]
    assert twin.get_params(deep=True).keys() == stack.get_params(deep=True).keys()
    assert twin.layers[0][1].n_filters == 5

    X = DIGITS[:60]
    fitted = LayerwiseStack(_layers()).fit(X)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(np.asarray(again.transform(X)), np.asarray(fitted.transform(X)))


def test_bare_layers_are_named_by_position():
    stack = LayerwiseStack([RandomConv(4, 3), Pool(size=2), RandomConv(2, 2)], concat=["0", "2"])
    params = stack.get_params()
    assert params["0__n_filters"] == 4 and params["2__kernel_size"] == 2
    stack.set_params(**{"0__n_filters": 3})
    assert stack.layers[0].n_filters == 3
    stack.set_params(**{"1": Pool(size=1)})
    assert isinstance(stack.layers[1], Pool) and stack.layers[1].size == 1  # stays bare
    stack.fit(DIGITS[:10])
    assert list(stack.named_layers_) == ["0", "1", "2"]
    assert stack.transform(DIGITS[:10]).shape == (10, 3 * 4 + 2 * 4)


def test_grid_search_over_a_nested_layer_parameter():
    digits = load_digits()
    X, y = DIGITS[:300], digits.target[:300]
    stack = LayerwiseStack(
        [
            ("conv1", KMeansConv(8, 3, n_patches=1000, max_iter=5, random_state=0)),
            ("conv2", KMeansConv(4, 2, n_patches=500, max_iter=5, random_state=0)),
        ],
        fit_subset=100,
        concat=["conv1", "conv2"],
        pool=Pool(grid=2),
        random_state=0,
    )
    model = Pipeline(
        [("stack", stack), ("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=300))]
    )
    search = GridSearchCV(model, {"stack__conv2__n_filters": [2, 6]}, cv=2).fit(X, y)
    assert search.best_params_["stack__conv2__n_filters"] in (2, 6)
    assert search.cv_results_["mean_test_score"].shape == (2,)
    best = search.best_estimator_.named_steps["stack"]
    assert best.named_layers_["conv2"].n_filters_ == search.best_params_["stack__conv2__n_filters"]
    assert search.best_score_ > 0.7  # conv features of digits are far above chance


def test_set_output_pandas_names_the_columns():
    pd = pytest.importorskip("pandas")
    stack = LayerwiseStack([RandomConv(3, 3, random_state=0)], pool=Pool(grid=2))
    out = stack.set_output(transform="pandas").fit_transform(DIGITS[:5])
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns[:2]) == ["0__ch0_grid0_0", "0__ch1_grid0_0"]
    # without pooling the stack outputs maps: no feature names, and maps stay maps
    maps_stack = LayerwiseStack([RandomConv(3, 3, random_state=0)]).fit(DIGITS[:5])
    assert not hasattr(maps_stack, "get_feature_names_out")
    maps = maps_stack.set_output(transform="pandas").transform(DIGITS[:5])
    assert isinstance(maps, FeatureMaps) and maps.shape == (5, 6, 6, 3)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(layers=[]), ValueError, "at least one layer"),
        (dict(layers="conv"), TypeError, "list of \\(name, transformer\\) pairs"),
        (dict(layers=[("a", Pool()), Pool()]), TypeError, "got a mix"),
        (dict(layers=[("a", Pool()), ("a", Pool())]), ValueError, "unique; repeated: \\['a'\\]"),
        (dict(layers=[("a__b", Pool())]), ValueError, "must not contain '__'"),
        (dict(layers=[("pool", Pool())]), ValueError, "clash with parameters"),
        (dict(layers=[("a", Pool)]), TypeError, "layer 'a' must be a transformer instance, got the class Pool"),
        (dict(layers=[("a", LogisticRegression())]), TypeError, "layer 'a' must be a transformer"),
        (dict(concat="a"), TypeError, "write concat=\\['a'\\]"),
        (dict(concat=["b"]), ValueError, "unknown layers \\['b'\\]; the layers are \\['a'\\]"),
        (dict(concat=[]), ValueError, "at least one layer"),
        (dict(concat=["a", "a"]), ValueError, "more than once"),
        (dict(concat=["a"], pool=Pool(size=2)), ValueError, "pool must turn maps into 2-D"),
        (dict(concat=["a"], pool=Pool(grid=2, flatten=False)), ValueError, "2-D features"),
        (dict(pool=Pool), TypeError, "pool must be a transformer instance, got the class Pool"),
        (dict(fit_subset=0), ValueError, "fit_subset"),
        (dict(fit_subset=1.5), ValueError, "fit_subset"),
        (dict(fit_subset=0.0), ValueError, "fit_subset"),
        (dict(fit_subset=True), TypeError, "fit_subset must be None, an int"),
        (dict(fit_subset="half"), TypeError, "fit_subset must be None, an int"),
    ],
)
def test_parameter_errors_name_the_parameter(params, error, match):
    kwargs = dict(layers=[("a", RandomConv(2, 3))])
    kwargs.update(params)
    with pytest.raises(error, match=match):
        LayerwiseStack(**kwargs).fit(DIGITS[:5])


# --- bounded memory -----------------------------------------------------------------------
def _spy_on(est, seen):
    original = est._transform_batch

    def spy(batch):
        out = original(batch)
        seen.append(out.shape)
        return out

    est._transform_batch = spy


@pytest.mark.parametrize("concat", [None, ["conv1", "conv2"]])
def test_streaming_memory_is_bounded_by_batch_size(concat):
    """No layer ever computes more than batch_size samples at once, and with concat
    every layer computes each sample exactly once."""
    rng = np.random.default_rng(0)
    X = rng.random((400, 12, 12)).astype(np.float32)
    stack = LayerwiseStack(
        [
            ("conv1", RandomConv(16, 3, encoding="relu", random_state=0, batch_size=8)),
            ("pool1", Pool(size=2, method="max")),
            ("conv2", RandomConv(8, 2, encoding="relu", random_state=1, batch_size=8)),
        ],
        concat=concat,
        pool=None if concat is None else Pool(grid=2),
    ).fit(X)
    seen1, seen2 = [], []
    _spy_on(stack.named_layers_["conv1"], seen1)
    _spy_on(stack.named_layers_["conv2"], seen2)
    out = stack.transform(X)
    if concat is None:
        out = Pool().fit_transform(out)
    assert out.shape == (400, 4 * (8 if concat is None else 24))
    assert max(s[0] for s in seen1) <= 8 and max(s[0] for s in seen2) <= 8
    assert sum(s[0] for s in seen2) == 400
    if concat is not None:
        assert sum(s[0] for s in seen1) == 400  # the first layer is not computed twice
