"""Malformed input and parameters for every public estimator: a clear error, or a right answer.

Every estimator of the registry in ``test_common.py`` (so every estimator in
``skconv.__all__``) gets malformed samples (wrong dimensions, NaN and infinity,
empty arrays, object and string data, ragged lists), other dtypes, a sample shape
at transform that differs from fit, and a value of the wrong type for each of its
parameters. Each must raise ``ValueError`` or ``TypeError`` with a message that
names what was wrong and what was expected, or, for valid input of another dtype,
give the same result as float64; no input is ever modified.
"""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skconv import Conv, KMeansConv, LocalContrastNorm, PatchConv, Pool, RandomConv, ZCA

from test_common import ND

CASES = [pytest.param(est, shape, id=cls.__name__) for cls, (est, shape) in ND.items()]
ERRORS = (ValueError, TypeError)


def _data(shape, n=5, seed=0):
    return np.random.default_rng(seed).random((n,) + shape)


def _with_a_dict(X):
    X = X.astype(object)
    X.flat[0] = {"a": 1}
    return X


def _malformed(shape):
    """(label, X) pairs every estimator must refuse, with what the message must say."""
    good = _data(shape)
    nan = good.copy()
    nan[0].flat[0] = np.nan
    inf = good.copy()
    inf[-1].flat[-1] = np.inf
    return [
        ("0-d", np.float64(1.0), "X must"),
        ("1-d", np.ones(7), "X must"),
        ("too many dims", np.ones((3,) + shape + (2, 2, 2, 2)), "X must"),
        ("nan", nan, "finite"),
        ("inf", inf, "finite"),
        ("no sample", np.ones((0,) + shape), "at least one sample"),
        ("empty axis", np.ones((3, 0) + shape[1:]), "X must"),
        ("object holding a dict", _with_a_dict(good), "real numbers"),
        ("strings", good.astype(str), "real numbers"),
        ("ragged", [[1.0, 2.0], [3.0]], "ragged"),
        ("nested empty", [], "X must"),
    ]


@pytest.mark.parametrize("estimator, shape", CASES)
def test_malformed_inputs_are_refused_clearly(estimator, shape):
    for label, X, words in _malformed(shape):
        before = X.copy() if isinstance(X, np.ndarray) else None
        with pytest.raises(ERRORS) as info:
            clone(estimator).fit(X)
        message = str(info.value)
        if "X" not in message and "samples" not in message:
            raise AssertionError(f"{label}: the message does not name X: {message}")
        if words.lower() not in message.lower() and "must" not in message:
            raise AssertionError(f"{label}: the message does not say what is expected: {message}")
        if before is not None and before.dtype != object:
            np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int16, np.int64, np.bool_, np.float16, np.float32, object]
)
@pytest.mark.parametrize("estimator, shape", CASES)
def test_other_dtypes_give_the_float64_result(estimator, shape, dtype):
    X64 = np.round(_data(shape) * 5) if dtype != np.bool_ else _data(shape) > 0.5
    X = X64.astype(dtype)
    X0 = X.copy()
    reference = np.asarray(clone(estimator).fit_transform(X64.astype(np.float64)))
    out = np.asarray(clone(estimator).fit_transform(X))
    np.testing.assert_array_equal(X, X0)
    assert out.shape == reference.shape and out.dtype.kind == "f"  # object arrays of numbers too
    np.testing.assert_allclose(out, reference, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("estimator, shape", CASES)
def test_a_sample_shape_at_transform_that_differs_from_fit(estimator, shape):
    fitted = clone(estimator).fit(_data(shape).astype(np.float32))
    if hasattr(fitted, "input_shape_"):
        *spatial, channels = fitted.input_shape_
        other = _data(tuple(spatial) + (channels + 1,))
    else:  # 2-D estimators: one more feature
        other = _data((shape[0] + 1,))
    with pytest.raises(ERRORS, match="channels|features"):
        fitted.transform(other)


def _wrong_values(value):
    """Values a parameter must refuse: another type than its default's."""
    out = [object()]
    if isinstance(value, bool):
        out += ["yes"]
    elif isinstance(value, int):
        out += ["3"]
    elif isinstance(value, float):
        out += ["0.5"]
    elif isinstance(value, str):
        out += ["no such option"]
    return out


@pytest.mark.parametrize("estimator, shape", CASES)
def test_every_parameter_of_the_wrong_type_is_named(estimator, shape):
    X = _data(shape).astype(np.float32)
    for name, value in estimator.get_params(deep=False).items():
        for wrong in _wrong_values(value):
            bad = clone(estimator).set_params(**{name: wrong})
            with pytest.raises(ERRORS) as info:
                bad.fit(X)
            assert re.search(rf"\b{name}\b", str(info.value)), (
                f"{type(estimator).__name__}({name}={wrong!r}): {info.value}"
            )


def test_kernels_larger_than_the_input_are_refused_at_fit():
    X = _data((8, 8))
    with pytest.raises(ValueError, match="larger than the padded input"):
        RandomConv(2, 9).fit(X)
    with pytest.raises(ValueError, match="larger than the padded input"):
        KMeansConv(2, 9, n_patches=10).fit(X)


def test_zero_variance_samples_give_finite_features_or_a_clear_error():
    flat = np.full((6, 9, 9), 3.0)
    for est in (KMeansConv(2, 3, n_patches=100, random_state=0), LocalContrastNorm(size=3)):
        out = np.asarray(clone(est).fit_transform(flat))
        assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="contrast"):
        PatchConv(2, 3, random_state=0).fit(flat)
    with pytest.raises(ValueError, match="singular"):
        ZCA(eps=0.0).fit(np.full((5, 3), 1.0))


def test_a_dataframe_with_a_string_column_is_named():
    df = pd.DataFrame({"a": np.arange(4.0), "b": list("wxyz"), "c": np.arange(4.0)})
    with pytest.raises(ERRORS, match="X"):
        Pool(input_shape=(3, 1)).fit(df)


@settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 4),
    spatial=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    channels=st.integers(1, 3),
    kernel=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same", "full", 1]),
)
def test_conv_gives_the_right_shape_or_refuses(n, spatial, channels, kernel, stride, padding):
    """Never a silently wrong shape: the maps have the shape the geometry says, or fit refuses."""
    d = len(spatial)
    X = _data(tuple(spatial) + (channels,), n=n)
    w = np.ones((2,) + (kernel,) * d + (channels,))
    conv = Conv(w, stride=stride, padding=padding)
    pads = {"valid": 0, "same": None, "full": kernel - 1, 1: 1}[padding]
    try:
        maps = np.asarray(conv.fit_transform(X))
    except ValueError as exc:
        assert "larger than the padded input" in str(exc) or "padding" in str(exc)
        assert pads is not None and any(s + 2 * pads < kernel for s in spatial)
        return
    if pads is None:  # same padding: ceil(size / stride)
        expected = tuple(-(-s // stride) for s in spatial)
    else:
        expected = tuple((s + 2 * pads - kernel) // stride + 1 for s in spatial)
    assert maps.shape == (n,) + expected + (2,)


# ------------------------------------------------ the rough edges a new user met


def test_a_grid_larger_than_the_map_is_refused():
    maps = _data((10, 10, 2))
    with pytest.raises(ValueError, match=r"grid must have at most as many regions .*\(10, 10\)"):
        Pool(grid=(20, 20)).fit(maps)
    pool = Pool(grid=(4, 4)).fit(maps)
    with pytest.raises(ValueError, match="grid must have at most"):
        pool.transform([np.ones((12, 12, 2)), np.ones((3, 9, 2))])
    # pyramid pooling exists for maps of every size: small maps repeat positions
    assert Pool(pyramid=(1, 4)).fit_transform([np.ones((3, 3, 2))]).shape == (1, 34)


def test_a_sample_too_small_for_the_kernel_is_named():
    samples = [_data((12, 12))[0], _data((4, 5))[0], _data((9, 9))[0]]
    for est in (RandomConv(2, 5, random_state=0), KMeansConv(2, 5, n_patches=50, random_state=0)):
        with pytest.raises(ValueError, match=r"X\[1\] must be large enough for the kernel"):
            clone(est).fit(samples)
    fitted = RandomConv(2, 5, random_state=0).fit(samples[:1])
    with pytest.raises(ValueError, match=r"X\[1\] must be large enough"):
        fitted.transform(samples)


def test_signals_given_to_a_2d_kernel_get_the_hint():
    with pytest.raises(ValueError, match=r"kernel_size=\(9,\)"):
        RandomConv(10, 9).fit(_data((50,)))


def test_gabor_defaults_run_on_mnist_sized_images_and_say_the_fix_on_digits():
    from skconv import GaborConv

    maps = GaborConv().fit_transform(_data((28, 28), n=2))
    assert maps.shape == (2, 10, 10, 24)
    with pytest.raises(ValueError, match="give a kernel_size that fits the input"):
        GaborConv().fit(_data((8, 8), n=2))


def test_a_layer_of_a_stack_that_cannot_fit_is_named():
    from skconv import LayerwiseStack

    stack = LayerwiseStack([("conv1", RandomConv(4, 3, random_state=0)),
                            ("conv2", RandomConv(2, 9, random_state=0))])
    with pytest.raises(ValueError, match=r"layer 'conv2' must fit the maps it is given"):
        stack.fit(_data((10, 10)))


def test_a_huge_batch_size_is_cut_to_a_sane_memory_size():
    from skconv._maps import MAX_BATCH_BYTES

    X = _data((32, 32, 3), n=3).astype(np.float32)
    conv = RandomConv(512, 3, padding="same", batch_size=10**9, random_state=0).fit(X)
    maps = conv.transform(X)
    per_sample = 32 * 32 * 512 * 4
    assert maps.batch_size == MAX_BATCH_BYTES // per_sample
    small = RandomConv(512, 3, padding="same", batch_size=1, random_state=0).fit(X)
    np.testing.assert_array_equal(np.asarray(maps[:2]), np.asarray(small.transform(X[:2])))
