import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import ndimage, signal
from skimage.filters import gabor_kernel
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import _engine
from skconv import EdgeConv, GaborConv, RandomConv
from skconv.filters import gabor_bank
from skconv._pool import Pool
from skconv.filters import (
    dog_bank,
    gaussian_derivative_bank,
    leung_malik_bank,
    log_bank,
    random_bank,
    random_dilations,
)


def correlate_valid(x, w):
    """Valid cross-correlation of (n, *sp, c) with (f, *k, c), by scipy, in float64."""
    out = []
    for i in range(x.shape[0]):
        maps = [
            sum(
                signal.correlate(x[i, ..., c], w[j, ..., c], mode="valid")
                for c in range(x.shape[-1])
            )
            for j in range(w.shape[0])
        ]
        out.append(np.stack(maps, axis=-1))
    return np.stack(out)


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return train_test_split(
        data.images, data.target, test_size=0.3, random_state=0, stratify=data.target
    )


# ---------------------------------------------------------------------------
# RandomConv
# ---------------------------------------------------------------------------


def test_random_filters_come_from_random_bank():
    X = np.random.RandomState(0).rand(3, 10, 10, 2)
    conv = RandomConv(6, 3, distribution="uniform", zero_mean=True, random_state=7).fit(X)
    expected = random_bank(
        6, (3, 3), 2, distribution="uniform", zero_mean=True, unit_norm=True, random_state=7
    )
    np.testing.assert_array_equal(conv.filters_, expected.astype(np.float32))
    assert conv.filters_.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(conv.filters_.reshape(6, -1), axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(conv.filters_.reshape(6, -1).sum(axis=1), 0, atol=1e-6)
    assert conv.bias_ is None and conv.dilations_ is None


@pytest.mark.parametrize("distribution", ["gaussian", "uniform", "orthogonal", "binary"])
def test_random_state_reproducible_and_distinct(distribution):
    X = np.random.RandomState(1).rand(2, 9, 9)
    a = RandomConv(5, 3, distribution=distribution, bias="uniform", random_state=0).fit(X)
    b = RandomConv(5, 3, distribution=distribution, bias="uniform", random_state=0).fit(X)
    c = RandomConv(5, 3, distribution=distribution, bias="uniform", random_state=1).fit(X)
    np.testing.assert_array_equal(a.filters_, b.filters_)
    np.testing.assert_array_equal(a.bias_, b.bias_)
    assert not np.array_equal(a.filters_, c.filters_)
    assert np.all(np.abs(a.bias_) <= 1)
    # a fitted clone draws the same filters again
    np.testing.assert_array_equal(clone(a).fit(X).filters_, a.filters_)


def test_orthogonal_rows_are_orthonormal():
    X = np.random.RandomState(0).rand(2, 12, 12, 3)
    conv = RandomConv(20, 3, distribution="orthogonal", random_state=0).fit(X)
    flat = conv.filters_.reshape(20, -1).astype(np.float64)
    np.testing.assert_allclose(flat @ flat.T, np.eye(20), atol=1e-6)


def test_binary_filters_are_signs():
    conv = RandomConv(4, (5,), distribution="binary", unit_norm=False, random_state=0)
    conv.fit(np.zeros((2, 30)))
    assert set(np.unique(conv.filters_)) == {-1.0, 1.0}


@pytest.mark.parametrize(
    "kernel_size, shape",
    [(3, (2, 10, 10)), ((3,), (2, 10)), ((3, 5), (2, 10, 10)), ((2, 3, 3), (2, 6, 7, 8))],
)
def test_kernel_size_sets_dimensionality(kernel_size, shape):
    X = np.random.RandomState(0).rand(*shape)
    conv = RandomConv(4, kernel_size, random_state=0, dtype=np.float64).fit(X)
    k = (kernel_size,) * 2 if isinstance(kernel_size, int) else kernel_size
    assert conv.filters_.shape == (4,) + k + (1,)
    maps = np.asarray(conv.transform(X))
    np.testing.assert_allclose(maps, correlate_valid(X[..., None], conv.filters_), atol=1e-10)


def test_constant_bias_and_results_independent_of_n_jobs():
    X = np.random.RandomState(0).rand(50, 12, 12, 2)
    conv = RandomConv(8, 3, bias=-0.25, encoding="relu", batch_size=7, random_state=3)
    one = np.asarray(conv.fit_transform(X))
    many = np.asarray(clone(conv).set_params(n_jobs=2).fit_transform(X))
    np.testing.assert_array_equal(one, many)
    np.testing.assert_array_equal(conv.bias_, np.full(8, -0.25, dtype=np.float32))
    ref = np.maximum(correlate_valid(X, conv.filters_.astype(np.float64)) - 0.25, 0)
    np.testing.assert_allclose(one, ref, atol=1e-5)


def test_random_filters_per_group():
    X = np.random.RandomState(0).rand(2, 8, 8, 4)
    conv = RandomConv(6, 3, groups=2, random_state=0).fit(X)
    assert conv.filters_.shape == (6, 3, 3, 2)
    with pytest.raises(ValueError, match=r"groups must divide n_filters \(6\), got 4"):
        RandomConv(6, 3, groups=4).fit(X)


def reference_same_dilated(x, w, dilation, stride):
    """'same' (TensorFlow rule) strided dilated 1-D correlation of (n, L, c) with (k, c)."""
    n, length, _ = x.shape
    k = w.shape[0]
    eff = (k - 1) * dilation + 1
    out_len = -(-length // stride)
    total = max((out_len - 1) * stride + eff - length, 0)
    xp = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    out = np.zeros((n, out_len))
    for o in range(out_len):
        for t in range(k):
            out[:, o] += xp[:, o * stride + t * dilation, :] @ w[t]
    return out


@settings(max_examples=20, deadline=None)
@given(
    length=st.integers(5, 60),
    k=st.integers(2, 9),
    stride=st.integers(1, 3),
    c=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_random_dilations_match_reference(length, k, stride, c, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(3, length, c)
    conv = RandomConv(
        6, (k,), dilations="random", padding="same", stride=stride, zero_mean=True,
        bias="uniform", random_state=seed, dtype=np.float64,
    ).fit(X)
    d = conv.dilations_
    assert d.shape == (6,) and d.min() >= 1
    assert np.all((k - 1) * d + 1 <= max(length, k))
    maps = np.asarray(conv.transform(X))
    assert maps.shape == (3, -(-length // stride), 6)
    for j in range(6):
        ref = reference_same_dilated(X, conv.filters_[j], int(d[j]), stride) + conv.bias_[j]
        np.testing.assert_allclose(maps[..., j], ref, atol=1e-10)


def test_random_dilations_reproducible_and_rocket_like():
    X = np.random.RandomState(0).randn(4, 500)
    a = RandomConv(200, (9,), dilations="random", padding="same", random_state=5).fit(X)
    b = RandomConv(200, (9,), dilations="random", padding="same", random_state=5).fit(X)
    c = RandomConv(200, (9,), dilations="random", padding="same", random_state=6).fit(X)
    np.testing.assert_array_equal(a.dilations_, b.dilations_)
    assert not np.array_equal(a.dilations_, c.dilations_)
    # exponential spread up to the longest dilation that fits: (9 - 1) * 62 + 1 = 497
    assert a.dilations_.min() == 1 and 32 <= a.dilations_.max() <= 62
    assert len(np.unique(a.dilations_)) > 10
    # the dilations are ROCKET's rule applied to the fitted signal length
    ref = random_dilations(10_000, 9, 500, random_state=0)
    assert a.dilations_.max() <= ref.max()


def test_random_dilations_variable_length_list_uses_shortest():
    rng = np.random.RandomState(0)
    X = [rng.randn(40), rng.randn(25), rng.randn(60)]
    conv = RandomConv(50, (5,), dilations="random", padding="same", random_state=0).fit(X)
    assert (5 - 1) * conv.dilations_.max() + 1 <= 25
    maps = conv.transform(X)
    assert [maps[i].shape for i in range(3)] == [(40, 50), (25, 50), (60, 50)]


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(kernel_size=3, padding="same"), "1-D kernels"),
        (dict(kernel_size=(3,)), "requires padding='same'"),
        (dict(kernel_size=(3,), padding="same", dilation=2), "shared dilation must stay 1"),
        (dict(kernel_size=(3,), padding="same", groups=2), "requires groups=1"),
    ],
)
def test_random_dilations_errors(params, match):
    X = np.random.RandomState(0).rand(3, 20, 20, 2)
    if isinstance(params["kernel_size"], tuple):
        X = X[:, 0]
    with pytest.raises(ValueError, match=match):
        RandomConv(4, dilations="random", **params).fit(X)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(distribution="cauchy"), ValueError, "distribution must be one of"),
        (dict(bias="normal"), ValueError, "bias must be None, 'uniform' or a finite real number"),
        (dict(bias=[1.0]), TypeError, "bias must be None, 'uniform' or a finite real number"),
        (dict(dilations="rocket"), ValueError, "dilations must be one of"),
        (dict(n_filters=0), ValueError, "n_filters"),
        (dict(kernel_size=(3, 3, 3, 3)), ValueError, "kernel_size must be an int"),
        (dict(kernel_size=(3.7, 3.2)), TypeError, "kernel_size must be an int"),
        (dict(unit_norm=1), TypeError, "unit_norm must be a bool"),
    ],
)
def test_random_param_errors(params, error, match):
    with pytest.raises(error, match=match):
        RandomConv(**params).fit(np.random.RandomState(0).rand(2, 9, 9))


def test_random_dilations_inverse_transform_is_adjoint():
    if not hasattr(_engine, "conv_transpose"):
        pytest.skip("the engine has no conv_transpose")
    rng = np.random.RandomState(0)
    X = rng.randn(2, 40, 2)
    conv = RandomConv(
        8, (3,), dilations="random", padding="same", stride=2, random_state=0,
        dtype=np.float64,
    ).fit(X)
    Y = rng.randn(*conv.transform(X).shape)
    lhs = np.sum(np.asarray(conv.transform(X)) * Y)
    rhs = np.sum(X * conv.inverse_transform(Y))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


# ---------------------------------------------------------------------------
# GaborConv
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("part", ["real", "imag", "both"])
def test_gabor_filters_equal_gabor_bank(part):
    X = np.random.RandomState(0).rand(2, 40, 40, 3)
    conv = GaborConv((0.15, 0.3), 4, sigmas=(3.0, 2.0), part=part, dtype=np.float64).fit(X)
    expected = gabor_bank((0.15, 0.3), 4, sigmas=(3.0, 2.0), part=part, n_channels=3)
    np.testing.assert_array_equal(conv.filters_, expected)
    assert conv.n_output_channels_ == expected.shape[0]
    np.testing.assert_allclose(
        np.asarray(conv.transform(X)), correlate_valid(X, expected), atol=1e-10
    )


def test_gabor_magnitude_is_complex_cell_energy():
    X = np.random.RandomState(0).rand(3, 30, 30)
    conv = GaborConv((0.2, 0.35), 6, kernel_size=11, part="magnitude", dtype=np.float64).fit(X)
    re = gabor_bank((0.2, 0.35), 6, kernel_size=11, part="real")
    im = gabor_bank((0.2, 0.35), 6, kernel_size=11, part="imag")
    np.testing.assert_array_equal(conv.filters_, np.concatenate([re, im]))
    assert conv.n_filters_ == 24 and conv.n_output_channels_ == 12
    expected = np.hypot(correlate_valid(X[..., None], re), correlate_valid(X[..., None], im))
    maps = np.asarray(conv.transform(X))
    np.testing.assert_allclose(maps, expected, atol=1e-10)
    split = clone(conv).set_params(encoding="soft_threshold", alpha=0.1).fit(X)
    np.testing.assert_allclose(
        np.asarray(split.transform(X)), np.maximum(expected - 0.1, 0), atol=1e-10
    )
    with pytest.raises(ValueError, match="discards the phase"):
        conv.inverse_transform(maps)


def test_gabor_magnitude_per_channel_with_groups():
    X = np.random.RandomState(0).rand(2, 25, 25, 3)
    kw = dict(frequencies=0.25, n_orientations=4, kernel_size=9, part="magnitude")
    conv = GaborConv(groups=3, dtype=np.float64, **kw).fit(X)
    assert conv.filters_.shape == (3 * 8, 9, 9, 1)
    assert conv.n_output_channels_ == 12
    maps = np.asarray(conv.transform(X))
    for ch in range(3):
        alone = np.asarray(GaborConv(dtype=np.float64, **kw).fit_transform(X[..., ch]))
        np.testing.assert_allclose(maps[..., 4 * ch : 4 * ch + 4], alone, atol=1e-10)
    # with groups=1 a colour filter responds to the sum of the channels
    summed = np.asarray(GaborConv(dtype=np.float64, **kw).fit_transform(X.sum(-1)))
    np.testing.assert_allclose(
        np.asarray(GaborConv(dtype=np.float64, **kw).fit_transform(X)), summed, atol=1e-10
    )


def test_gabor_1d_is_central_row_of_2d_kernel():
    bank = gabor_bank((0.1, 0.3), part="both", ndim=1)
    for i, f in enumerate((0.1, 0.3)):
        g = gabor_kernel(f, theta=0)
        sigma = math.sqrt(math.log(2) / 2) / math.pi * 3 / f  # bandwidth 1
        row = g[g.shape[0] // 2] * math.sqrt(2 * math.pi) * sigma
        pad = (bank.shape[1] - row.size) // 2
        np.testing.assert_allclose(bank[2 * i, pad : pad + row.size, 0], row.real, atol=1e-12)
        np.testing.assert_allclose(bank[2 * i + 1, pad : pad + row.size, 0], row.imag, atol=1e-12)
    conv = GaborConv((0.1, 0.3), kernel_size=(21,), part="magnitude").fit(np.zeros((2, 50)))
    assert conv.filters_.shape == (4, 21, 1) and conv.n_output_channels_ == 2


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(part="complex"), ValueError, "part must be one of"),
        (dict(frequencies=()), ValueError, "frequencies must be a number > 0 or a non-empty"),
        (dict(frequencies="high"), TypeError, "frequencies must be a number > 0"),
        (dict(frequencies=(0.1, -0.2)), ValueError, "frequencies"),
        (dict(sigmas=(1.0, 2.0)), ValueError, "sigmas must be one number or one per"),
        (dict(kernel_size=(3, 3, 3)), ValueError, "tuple of 1 or 2 ints"),
        (dict(kernel_size=(3, 3.0)), TypeError, "tuple of 1 or 2 ints"),
        (dict(n_orientations=0), ValueError, "n_orientations"),
    ],
)
def test_gabor_param_errors(params, error, match):
    with pytest.raises(error, match=match):
        GaborConv(**params).fit(np.zeros((2, 60, 60)))


# ---------------------------------------------------------------------------
# EdgeConv
# ---------------------------------------------------------------------------


def test_sobel_equals_scipy_in_the_interior():
    X = np.random.RandomState(0).rand(2, 20, 17)
    maps = np.asarray(EdgeConv("sobel", dtype=np.float64).fit_transform(X))
    for i in range(2):
        np.testing.assert_allclose(maps[i, ..., 0], ndimage.sobel(X[i], axis=1)[1:-1, 1:-1])
        np.testing.assert_allclose(maps[i, ..., 1], ndimage.sobel(X[i], axis=0)[1:-1, 1:-1])
    # true convolution flips the antisymmetric kernels: the sign changes
    flipped = np.asarray(EdgeConv("sobel", flip=True, dtype=np.float64).fit_transform(X))
    np.testing.assert_allclose(flipped, -maps)


def test_default_bank_and_scipy_equivalents():
    X = np.random.RandomState(0).rand(2, 15, 15)
    conv = EdgeConv(dtype=np.float64).fit(X)
    assert list(conv.filter_names_) == [
        "sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x", "scharr_y",
        "roberts_pos_diag", "roberts_neg_diag", "laplace4",
    ]
    maps = np.asarray(conv.transform(X))
    inner = (slice(1, -1), slice(1, -1))
    for i in range(2):
        np.testing.assert_allclose(maps[i, ..., 3], ndimage.prewitt(X[i], axis=0)[inner])
        np.testing.assert_allclose(maps[i, ..., 8], ndimage.laplace(X[i])[inner], atol=1e-12)


def test_gaussian_filters_match_scipy_and_pad_to_common_size():
    X = np.random.RandomState(0).rand(2, 40, 40)
    conv = EdgeConv(
        "sobel", log_sigmas=(1.0, 2.0), dog_sigmas=1.5, derivative_sigmas=1.0,
        n_orientations=4, dtype=np.float64,
    ).fit(X)
    # the DoG surround (sigma 1.5 * 1.6) has the largest support: radius
    # int(4 * 2.4 + 0.5) = 10
    assert conv.filters_.shape == (2 + 2 + 1 + 8, 21, 21, 1)
    maps = np.asarray(conv.transform(X))
    assert maps.shape == (2, 20, 20, 13)
    inner = (slice(10, -10), slice(10, -10))
    for i in range(2):
        x = X[i]
        # the 3x3 Sobel kernel sits, zero-padded, at the centre of 17x17
        np.testing.assert_allclose(maps[i, ..., 0], ndimage.sobel(x, axis=1)[inner])
        for j, s in enumerate((1.0, 2.0)):
            np.testing.assert_allclose(
                maps[i, ..., 2 + j], ndimage.gaussian_laplace(x, s)[inner], atol=1e-12
            )
        dog = ndimage.gaussian_filter(x, 1.5) - ndimage.gaussian_filter(x, 1.5 * 1.6)
        np.testing.assert_allclose(maps[i, ..., 4], dog[inner], atol=1e-12)
        # orientation 0 differentiates along the columns, orientation pi/2 down the rows
        np.testing.assert_allclose(
            maps[i, ..., 5], ndimage.gaussian_filter(x, 1.0, order=(0, 1))[inner], atol=1e-12
        )
        np.testing.assert_allclose(
            maps[i, ..., 11], ndimage.gaussian_filter(x, 1.0, order=(2, 0))[inner], atol=1e-12
        )
    np.testing.assert_allclose(
        conv.filters_[2:4, 2:-2, 2:-2, 0], log_bank((1.0, 2.0))[..., 0], atol=1e-15
    )
    ref = gaussian_derivative_bank(1.0, 4, (1, 2))[..., 0]
    np.testing.assert_allclose(conv.filters_[5:, 6:-6, 6:-6, 0], ref)
    assert conv.filter_names_[5] == "d1_s1_a0" and conv.filter_names_[12] == "d2_s1_a135"
    np.testing.assert_allclose(
        conv.filters_[4, ..., 0], dog_bank(1.5)[0, ..., 0], atol=1e-15
    )


def test_leung_malik_bank_and_colour_replication():
    X = np.random.RandomState(0).rand(2, 55, 55, 3)
    conv = EdgeConv(filters=(), bank="leung_malik", padding="same", encoding="abs").fit(X)
    np.testing.assert_allclose(
        conv.filters_, leung_malik_bank(n_channels=3).astype(np.float32), atol=0
    )
    assert conv.transform(X).shape == (2, 55, 55, 48)
    small = EdgeConv("sobel_x", bank="leung_malik_small", groups=3).fit(X)
    assert small.filters_.shape == (3 * 49, 49, 49, 1)
    assert small.filter_names_[0] == "g0_sobel_x" and small.filter_names_[49] == "g1_sobel_x"
    np.testing.assert_allclose(
        small.filters_[1:49, ..., 0], leung_malik_bank(variant="small")[..., 0].astype(np.float32)
    )


def test_edge_1d_filters_match_scipy():
    X = np.random.RandomState(0).randn(3, 80)
    conv = EdgeConv(
        kernel_size=(21,), log_sigmas=2.0, dog_sigmas=1.0, derivative_sigmas=1.5,
        dtype=np.float64,
    ).fit(X)
    assert list(conv.filter_names_) == [
        "diff", "laplace", "log_s2", "dog_s1", "d1_s1.5", "d2_s1.5",
    ]
    maps = np.asarray(conv.transform(X))
    inner = slice(10, -10)
    for i in range(3):
        x = X[i]
        np.testing.assert_allclose(maps[i, :, 0], ndimage.sobel(x)[inner])
        np.testing.assert_allclose(maps[i, :, 1], ndimage.laplace(x)[inner])
        np.testing.assert_allclose(maps[i, :, 2], ndimage.gaussian_laplace(x, 2.0)[inner], atol=1e-12)
        dog = ndimage.gaussian_filter1d(x, 1.0) - ndimage.gaussian_filter1d(x, 1.6)
        np.testing.assert_allclose(maps[i, :, 3], dog[inner], atol=1e-12)
        for j, order in ((4, 1), (5, 2)):
            np.testing.assert_allclose(
                maps[i, :, j], ndimage.gaussian_filter1d(x, 1.5, order=order)[inner], atol=1e-12
            )


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(filters="canny"), "filters must hold 2-D edge filter names.*got 'canny'"),
        (dict(filters="sobel", kernel_size=(3,)), "filters must hold 1-D edge filter names.*got 'sobel'"),
        (dict(filters=(), bank="leung_malik", kernel_size=(3,)), "bank must be None for 1-D"),
        (dict(filters=()), "has no filters"),
        (dict(bank="lm"), "bank must be one of"),
        (dict(derivative_sigmas=1.0, derivative_orders=3), "derivative_orders"),
        (dict(dog_sigmas=1.0, dog_ratio=0.5), "dog_ratio"),
    ],
)
def test_edge_param_errors(params, match):
    X = np.random.RandomState(0).rand(2, 60, 60)
    if params.get("kernel_size") == (3,):
        X = X[:, 0]
    with pytest.raises(ValueError, match=match):
        EdgeConv(**params).fit(X)


# ---------------------------------------------------------------------------
# In a pipeline on digits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "conv, min_accuracy",
    [
        (RandomConv(32, 3, encoding="relu", random_state=0), 0.96),
        (RandomConv(16, 3, encoding="split", zero_mean=True, random_state=0), 0.96),
        (GaborConv((0.25, 0.4), 6, kernel_size=5, part="magnitude", padding="same"), 0.96),
        (EdgeConv(log_sigmas=1.0, padding="same", encoding="abs"), 0.96),
    ],
    ids=["random-relu", "random-split", "gabor-magnitude", "edge-abs"],
)
def test_family_in_pipeline_on_digits(conv, min_accuracy, digits):
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
    assert pipe.score(X_test, y_test) >= min_accuracy


# ---------------------------------------------------------------------------
# scikit-learn's common checks on 2-D input (signals with 1-D kernels)
# ---------------------------------------------------------------------------


