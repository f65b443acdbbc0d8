import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import signal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import Conv, FeatureMaps, Pool


def reference_conv(x, w, flip=False):
    """Valid cross-correlation (or convolution) of (n, *sp, c) with (f, *k, c), by scipy."""
    op = signal.convolve if flip else signal.correlate
    n, f = x.shape[0], w.shape[0]
    out = None
    for i in range(n):
        for j in range(f):
            acc = sum(
                op(x[i, ..., c].astype(np.float64), w[j, ..., c].astype(np.float64), mode="valid")
                for c in range(x.shape[-1])
            )
            if out is None:
                out = np.zeros((n,) + acc.shape + (f,))
            out[i, ..., j] = acc
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@settings(max_examples=25, deadline=None)
@given(
    d=st.integers(1, 3),
    n=st.integers(1, 3),
    c=st.integers(1, 3),
    f=st.integers(1, 4),
    k=st.integers(1, 3),
    extra=st.integers(0, 4),
    flip=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv_matches_scipy(d, n, c, f, k, extra, flip, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + (k + extra,) * d + (c,))
    w = rng.standard_normal((f,) + (k,) * d + (c,))
    maps = Conv(w, flip=flip, dtype=np.float64).fit_transform(x)
    np.testing.assert_allclose(np.asarray(maps), reference_conv(x, w, flip=flip), atol=1e-10)


ENCODING_FORMULAS = {
    None: lambda z, a: z,
    "identity": lambda z, a: z,
    "relu": lambda z, a: np.maximum(z, 0),
    "abs": lambda z, a: np.abs(z),
    "tanh": np.tanh and (lambda z, a: np.tanh(z)),
    "sigmoid": lambda z, a: 1 / (1 + np.exp(-z)),
    "soft_threshold": lambda z, a: np.maximum(z - a, 0),
    "split": lambda z, a: np.concatenate([np.maximum(z - a, 0), np.maximum(-z - a, 0)], -1),
}


def test_every_encoding_has_a_reference_formula():
    from skconv._encoding import ENCODINGS

    assert set(ENCODING_FORMULAS) == set(ENCODINGS)


@pytest.mark.parametrize("encoding", list(ENCODING_FORMULAS))
def test_encodings_and_bias_match_formulas(encoding, rng):
    x = rng.standard_normal((3, 9, 8, 2))
    w = rng.standard_normal((5, 3, 3, 2))
    b = rng.standard_normal(5)
    z = reference_conv(x, w) + b
    maps = Conv(w, bias=b, encoding=encoding, alpha=0.3, dtype=np.float64).fit_transform(x)
    np.testing.assert_allclose(np.asarray(maps), ENCODING_FORMULAS[encoding](z, 0.3), atol=1e-10)
    conv = Conv(w, encoding=encoding).fit(x)
    assert conv.n_output_channels_ == (10 if encoding == "split" else 5)


def test_layouts_agree(rng):
    imgs = rng.random((4, 7, 6))
    w = rng.standard_normal((3, 2, 2, 1))
    ref = np.asarray(Conv(w).fit_transform(imgs[..., None]))
    np.testing.assert_array_equal(np.asarray(Conv(w).fit_transform(imgs)), ref)
    flat = imgs.reshape(4, -1)
    np.testing.assert_array_equal(np.asarray(Conv(w, input_shape=(7, 6)).fit_transform(flat)), ref)
    np.testing.assert_array_equal(
        np.asarray(Conv(w, input_shape=(7, 6, 1)).fit_transform(flat)), ref
    )
    np.testing.assert_array_equal(np.asarray(Conv(w).fit_transform(list(imgs))), ref)


def test_pandas_frame_with_input_shape(rng):
    pd = pytest.importorskip("pandas")
    X = rng.random((5, 12))
    df = pd.DataFrame(X, columns=[f"px{i}" for i in range(12)])
    w = rng.standard_normal((2, 2, 2, 1))
    conv = Conv(w, input_shape=(3, 4)).fit(df)
    assert list(conv.feature_names_in_) == list(df.columns)
    np.testing.assert_array_equal(
        np.asarray(conv.transform(df)), np.asarray(Conv(w, input_shape=(3, 4)).fit_transform(X))
    )


def test_variable_size_list_through_pyramid(rng):
    imgs = [rng.random((9, 11, 3)), rng.random((14, 7, 3))]
    imgs.append(imgs[0].copy())
    w = rng.standard_normal((4, 3, 3, 3))
    conv = Conv(w, encoding="relu", dtype=np.float64).fit(imgs)
    assert conv.input_shape_ == (None, None, 3)
    maps = conv.transform(imgs)
    assert maps.shape == (3, None, None, 4)
    with pytest.raises(ValueError, match="different spatial sizes"):
        np.asarray(maps)
    for i, img in enumerate(imgs):
        np.testing.assert_allclose(maps[i], np.maximum(reference_conv(img[None], w)[0], 0))
    feats = Pool(pyramid=(1, 2)).fit_transform(maps)
    assert feats.shape == (3, 5 * 4)
    np.testing.assert_allclose(feats[0], feats[2])


def test_inverse_transform_is_adjoint(rng):
    x = rng.standard_normal((2, 9, 10, 2))
    w = rng.standard_normal((3, 3, 2, 2))
    conv = Conv(w, stride=2, padding=1, dtype=np.float64).fit(x)
    y = rng.standard_normal(conv.transform(x).shape)
    lhs = np.vdot(np.asarray(conv.transform(x)), y)
    rhs = np.vdot(x, conv.inverse_transform(y))
    assert np.isclose(lhs, rhs, rtol=1e-10)


def test_inverse_transform_keeps_flat_layout(rng):
    X = rng.random((3, 20))
    w = rng.standard_normal((2, 3, 1))
    conv = Conv(w, dtype=np.float64).fit(X)
    back = conv.inverse_transform(np.asarray(conv.transform(X)))
    assert back.shape == X.shape
    with pytest.raises(ValueError, match="encoding='split'"):
        Conv(w, encoding="split").fit(X).inverse_transform(np.zeros((3, 18, 4)))


@pytest.mark.parametrize("n_jobs", [1, 2, -1])
@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_results_do_not_depend_on_batching(n_jobs, batch_size, rng):
    x = rng.random((7, 12, 12, 3)).astype(np.float32)
    w = rng.standard_normal((6, 3, 3, 3))
    ref = np.asarray(Conv(w, encoding="relu").fit_transform(x))
    out = Conv(w, encoding="relu", n_jobs=n_jobs, batch_size=batch_size).fit_transform(x)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-6, atol=1e-6)
    pooled = Pool().fit_transform(out)
    np.testing.assert_allclose(pooled, Pool().fit_transform(ref), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype(dtype, rng):
    x = rng.random((2, 6, 6))
    w = rng.standard_normal((2, 3, 3, 1))
    maps = Conv(w, dtype=dtype).fit_transform(x)
    assert maps.dtype == dtype and np.asarray(maps).dtype == dtype
    assert Conv(w, dtype=dtype).fit(x).filters_.dtype == dtype


def test_inputs_are_not_modified(rng):
    x = rng.random((3, 8, 8, 2)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    x0, w0, b0 = x.copy(), w.copy(), b.copy()
    conv = Conv(w, bias=b, encoding="relu").fit(x)
    np.asarray(conv.transform(x))
    conv.inverse_transform(np.ones((3, 6, 6, 4), np.float32))
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(b, b0)
    assert conv.filters is w


def test_clone_and_pickle_round_trip(rng):
    x = rng.random((3, 8, 8, 2))
    conv = Conv(rng.standard_normal((4, 3, 3, 2)), stride=(1, 2), padding="same", encoding="abs")
    conv.fit(x)
    again = pickle.loads(pickle.dumps(conv))
    np.testing.assert_array_equal(np.asarray(again.transform(x)), np.asarray(conv.transform(x)))
    maps = pickle.loads(pickle.dumps(conv.transform(x)))
    np.testing.assert_array_equal(np.asarray(maps), np.asarray(conv.transform(x)))
    fresh = clone(conv)
    assert not hasattr(fresh, "filters_")
    assert fresh.get_params()["stride"] == (1, 2)
    fresh.set_params(encoding="relu", padding="valid", stride=1)
    assert fresh.fit_transform(x).shape == (3, 6, 6, 4)


@pytest.mark.parametrize(
    "params, X, match",
    [
        ({"stride": 0}, np.zeros((2, 5, 5)), "stride"),
        ({"dilation": -1}, np.zeros((2, 5, 5)), "dilation"),
        ({"stride": (1, 2, 3)}, np.zeros((2, 5, 5)), "stride"),
        ({"groups": 2}, np.zeros((2, 5, 5, 3)), "groups"),
        ({"padding": "middle"}, np.zeros((2, 5, 5)), "padding"),
        ({"encoding": "softmax"}, np.zeros((2, 5, 5)), "encoding"),
        ({"batch_size": 0}, np.zeros((2, 5, 5)), "batch_size"),
        ({"n_jobs": 0}, np.zeros((2, 5, 5)), "n_jobs"),
        ({"dtype": np.int32}, np.zeros((2, 5, 5)), "dtype"),
        ({}, np.zeros((2, 2, 2)), "larger than the padded input"),
        ({}, np.zeros((0, 5, 5)), "at least one sample"),
        ({}, np.full((2, 5, 5), np.nan), "NaN"),
        ({}, np.zeros((2, 5, 5, 2, 2)), r"X must be shaped \(n_samples, H, W\)"),
        ({}, np.zeros((2, 25)), "input_shape"),
        ({"input_shape": (4, 4)}, np.zeros((2, 25)), "input_shape"),
        ({"input_shape": (5, 5)}, np.zeros((2, 5, 5)), "input_shape"),
    ],
)
def test_errors_name_the_parameter(params, X, match):
    w = np.ones((2, 3, 3, 1))
    with pytest.raises((ValueError, TypeError), match=match):
        Conv(w, **params).fit(X)


def test_more_errors(rng):
    w = np.ones((2, 3, 3, 1))
    with pytest.raises(TypeError, match="real numbers"):
        Conv(w).fit(np.array([[["a"] * 4] * 4]))
    with pytest.raises(ValueError, match="filters must be an array of shape"):
        Conv().fit(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="channels"):
        Conv(np.ones((2, 3, 3, 2))).fit(np.zeros((2, 5, 5, 3)))
    with pytest.raises(ValueError, match="bias"):
        Conv(w, bias=np.ones(3)).fit(np.zeros((2, 5, 5)))
    conv = Conv(w).fit(np.zeros((2, 6, 6)))
    with pytest.raises(ValueError, match=r"fitted on \(6, 6\)"):
        conv.transform(np.zeros((2, 7, 6)))
    with pytest.raises(ValueError, match="channels"):
        conv.transform(np.zeros((2, 6, 6, 2)))
    with pytest.raises(ValueError, match="same number of channels"):
        conv.fit([np.zeros((6, 6, 1)), np.zeros((7, 7, 2))])
    with pytest.raises(ValueError, match="groups"):
        Conv(np.ones((3, 3, 3, 1)), groups=2).fit(np.zeros((2, 5, 5, 2)))


def test_grouped_and_depthwise(rng):
    x = rng.standard_normal((2, 7, 7, 4))
    w = rng.standard_normal((4, 3, 3, 1))
    maps = np.asarray(Conv(w, groups=4, dtype=np.float64).fit_transform(x))
    for j in range(4):
        np.testing.assert_allclose(maps[..., j], reference_conv(x[..., j : j + 1], w[j : j + 1])[..., 0])


def test_gridsearch_over_pipeline_with_images():
    digits = load_digits()
    X, y = digits.images[:300], digits.target[:300]
    w = np.random.default_rng(0).standard_normal((8, 3, 3, 1))
    pipe = Pipeline(
        [("conv", Conv(w)), ("pool", Pool()), ("scale", StandardScaler()),
         ("clf", LogisticRegression(C=0.1, max_iter=300))]
    )
    search = GridSearchCV(pipe, {"conv__encoding": ["relu", "abs"], "pool__method": ["sum", "max"]}, cv=3)
    search.fit(X, y)
    assert set(search.best_params_) == {"conv__encoding", "pool__method"}
    assert search.best_score_ > 0.8


def test_digits_accuracy_end_to_end():
    digits = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(digits.data, digits.target, random_state=0)
    w = np.random.default_rng(0).standard_normal((48, 3, 3, 1))
    pipe = Pipeline(
        [
            ("conv", Conv(w, input_shape=(8, 8), padding="same", encoding="relu")),
            ("pool", Pool(grid=(2, 2))),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=0.1, max_iter=1000)),
        ]
    )
    pipe.fit(Xtr, ytr)
    # raw-pixel logistic regression gets about 0.96 on this split
    assert pipe.score(Xte, yte) >= 0.97


def test_transform_is_lazy(rng):
    x = rng.random((5, 6, 6))
    calls = []
    conv = Conv(np.ones((2, 3, 3, 1)), batch_size=2).fit(x)
    original = conv._transform_batch

    def spy(batch):
        calls.append(len(batch))
        return original(batch)

    conv._transform_batch = spy
    maps = conv.transform(x)
    assert isinstance(maps, FeatureMaps) and calls == []
    Pool().fit_transform(maps)
    assert calls == [2, 2, 1]


def test_pipeline_set_output_pandas_passes_maps_and_names_the_features():
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from skconv import KMeansConv, LocalContrastNorm

    digits = load_digits()
    X, y = digits.data[:300], digits.target[:300]
    pipe = Pipeline([
        ("conv", KMeansConv(8, 3, n_patches=500, input_shape=(8, 8), random_state=0)),
        ("lcn", LocalContrastNorm(size=3)),
        ("pool", Pool(grid=(2, 2))),
        ("clf", LogisticRegression(max_iter=500)),
    ]).set_output(transform="pandas")
    pipe.fit(X, y)
    features = pipe[:-1].transform(X)
    assert isinstance(features, pd.DataFrame) and features.shape == (300, 32)
    assert list(features.columns[:2]) == ["ch0_grid0_0", "ch1_grid0_0"]
    plain = Pipeline([(n, clone(s)) for n, s in pipe.steps[:-1]]).fit(X, y)
    np.testing.assert_allclose(features.to_numpy(), plain.transform(X))
    assert pipe.score(X, y) > 0.9
    with pytest.raises(ValueError, match="transform must be one of"):
        KMeansConv().set_output(transform="arrow")


def test_a_memory_mapped_uint8_dataset_streams_without_a_full_copy(tmp_path):
    import tracemalloc

    from skconv import RandomConv

    rng = np.random.default_rng(0)
    path = tmp_path / "images.npy"
    images = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(4000, 64, 64))
    images[:] = rng.integers(0, 256, images.shape, dtype=np.uint8)
    images.flush()
    del images
    X = np.load(path, mmap_mode="r")  # 16 MB of uint8: a float32 copy would take 64 MB
    conv = RandomConv(4, 3, encoding="relu", batch_size=64, random_state=0)
    pool = Pool(grid=(2, 2))
    tracemalloc.start()
    features = pool.fit_transform(conv.fit_transform(X))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert features.shape == (4000, 16)
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MB"
    in_memory = pool.transform(conv.transform(np.asarray(X, dtype=np.float32)[:200]))
    np.testing.assert_array_equal(features[:200], in_memory)
