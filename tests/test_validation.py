"""The one validation and input layer (skconv._validation), and its use by every estimator."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from hypothesis import given, settings
from hypothesis import strategies as st

from skconv import (
    Conv,
    EdgeConv,
    FeatureMaps,
    GaborConv,
    KMeansConv,
    LocalContrastNorm,
    PatchConv,
    PCAConv,
    Pool,
    RandomConv,
    ReceptiveFieldConv,
)
from skconv._engine import channel_shuffle, conv, conv_transpose
from skconv._validation import (
    check_batch_size,
    check_bool,
    check_dtype,
    check_float,
    check_float_tuple,
    check_input,
    check_int,
    check_int_tuple,
    check_kernel_size,
    check_n_jobs,
    check_option,
    check_options,
    check_padding,
    check_random_state,
    restore_layout,
)


def _style(name):
    """The one message style: ``<name> must be <what>, got <value>.``"""
    return re.compile(rf"^{re.escape(name)} must be .+, got .+\.$", re.DOTALL)


# --------------------------------------------------------------------------- scalars


def test_check_int():
    assert check_int(3, "n") == 3 and type(check_int(np.int64(3), "n")) is int
    assert check_int(None, "n", allow_none=True) is None
    for bad in (3.0, np.float64(3), True, "3", None):
        with pytest.raises(TypeError, match=_style("n")):
            check_int(bad, "n")
    with pytest.raises(ValueError, match=r"^n must be an int >= 1, got 0\.$"):
        check_int(0, "n", min_val=1)
    with pytest.raises(ValueError, match=r"in \[1, 3\]"):
        check_int(4, "n", min_val=1, max_val=3)


def test_check_float():
    assert check_float(1, "eps") == 1.0 and check_float(np.float32(0.5), "eps") == 0.5
    assert check_float("auto", "eps", options=("auto",)) == "auto"
    for bad in (True, "0.1", [1.0], None):
        with pytest.raises(TypeError, match=_style("eps")):
            check_float(bad, "eps")
    for bad in (np.nan, np.inf, -1.0):
        with pytest.raises(ValueError, match=_style("eps")):
            check_float(bad, "eps", min_val=0.0)
    with pytest.raises(ValueError, match="> 0"):
        check_float(0.0, "eps", min_val=0.0, include_boundaries="neither")
    with pytest.raises(ValueError, match=r"^eps must be 'auto' or a finite real number >= 0"):
        check_float("big", "eps", min_val=0.0, options=("auto",))


def test_check_bool_and_options():
    assert check_bool(np.bool_(True), "flip") is True
    with pytest.raises(TypeError, match=_style("flip")):
        check_bool(1, "flip")
    assert check_option(np.str_("relu"), "encoding", ("relu", None)) == "relu"
    assert check_option(None, "encoding", ("relu", None)) is None
    with pytest.raises(ValueError, match=r"^encoding must be one of 'relu', None, got 'tanh'\.$"):
        check_option("tanh", "encoding", ("relu", None))
    # a bool is not the int it equals, and an array compares to nothing
    with pytest.raises(ValueError):
        check_option(True, "order", (1, 2))
    with pytest.raises(ValueError):
        check_option(np.ones(2), "order", (1, 2))
    assert check_options(1, "orders", (1, 2)) == (1,)
    assert check_options([2, 1], "orders", (1, 2)) == (2, 1)
    for bad in ((), (1, 3)):
        with pytest.raises(ValueError, match=_style("orders")):
            check_options(bad, "orders", (1, 2))


# --------------------------------------------------------------------------- tuples


def test_check_int_tuple():
    assert check_int_tuple(2, "stride", 3) == (2, 2, 2)
    assert check_int_tuple([np.int64(1), 2], "stride", 2) == (1, 2)
    assert check_int_tuple(np.array([1, 2]), "stride", 2) == (1, 2)
    with pytest.raises(ValueError, match=_style("stride")):
        check_int_tuple((1, 2, 3), "stride", 2)
    with pytest.raises(ValueError, match=_style("dilation")):
        check_int_tuple((1, 0), "dilation", 2)
    for bad in (1.5, (1, 2.0), True, "2", None):
        with pytest.raises(TypeError, match=_style("stride")):
            check_int_tuple(bad, "stride", 2)


def test_check_float_tuple():
    assert check_float_tuple(1, "sigma", 2) == (1.0, 1.0)
    assert check_float_tuple((1, 2.5), "sigma", 2) == (1.0, 2.5)
    with pytest.raises(ValueError, match=_style("sigma")):
        check_float_tuple((1.0, 0.0), "sigma", 2)
    with pytest.raises(TypeError, match=_style("sigma")):
        check_float_tuple((1.0, "2"), "sigma", 2)


def test_check_kernel_size():
    assert check_kernel_size(5) == (5, 5)
    assert check_kernel_size((9,)) == (9,)
    assert check_kernel_size((2, 3, 4)) == (2, 3, 4)
    with pytest.raises(TypeError, match=_style("kernel_size")):
        check_kernel_size((3.7, 3.2))
    with pytest.raises(ValueError, match=_style("kernel_size")):
        check_kernel_size((3, 3, 3, 3))
    with pytest.raises(TypeError, match="tuple of 1 or 2 ints"):
        check_kernel_size((5.0,), ndims=(1, 2))
    with pytest.raises(TypeError, match="^kernel_size must be a tuple of 1 int, each >= 1, got 5"):
        check_kernel_size(5, ndims=(1,))  # an int is a square 2-D kernel


def test_check_padding():
    assert check_padding("same", 2) == "same"
    assert check_padding(1, 2) == ((1, 1), (1, 1))
    assert check_padding((1, (0, 2)), 2) == ((1, 1), (0, 2))
    with pytest.raises(ValueError, match=_style("padding")):
        check_padding("middle", 2)
    with pytest.raises(ValueError, match=_style("padding")):
        check_padding((1, 2, 3), 2)
    with pytest.raises(ValueError, match=_style("padding")):
        check_padding(-1, 1)
    for bad in (1.5, ((1, 2.0),), None):
        with pytest.raises(TypeError, match=_style("padding")):
            check_padding(bad, 1)


def test_dtype_threads_batches_randomness():
    assert check_dtype(np.float32) == np.float32 and check_dtype("float64") == np.float64
    assert check_dtype(np.float16, choices=None) == np.float16
    with pytest.raises(ValueError, match=_style("dtype")):
        check_dtype(np.int32)
    with pytest.raises(TypeError, match=_style("dtype")):
        check_dtype(None)
    assert check_n_jobs(None) is None and check_n_jobs(-1) == -1
    with pytest.raises(ValueError, match=_style("n_jobs")):
        check_n_jobs(0)
    with pytest.raises(TypeError, match=_style("n_jobs")):
        check_n_jobs(2.0)
    assert check_batch_size("auto") == "auto" and check_batch_size(8) == 8
    with pytest.raises(ValueError, match=_style("batch_size")):
        check_batch_size("big")
    with pytest.raises(TypeError, match=_style("batch_size")):
        check_batch_size(8.0)
    with pytest.raises(TypeError, match=_style("batch_size")):
        check_batch_size("auto", allow_auto=False)
    rng = np.random.RandomState(0)
    assert check_random_state(rng) is rng
    assert check_random_state(3).randint(100) == np.random.RandomState(3).randint(100)
    with pytest.raises(TypeError, match=_style("random_state")):
        check_random_state(1.5)
    with pytest.raises(ValueError, match=_style("random_state")):
        check_random_state(-1)


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.floats(allow_nan=True), st.booleans(), st.text(max_size=4), st.none(),
        st.lists(st.integers(-3, 3), max_size=4), st.integers(-5, 5),
    )
)
def test_every_checker_fails_in_one_style(value):
    checkers = [
        lambda v: check_int(v, "p", min_val=1),
        lambda v: check_float(v, "p", min_val=0.0),
        lambda v: check_bool(v, "p"),
        lambda v: check_option(v, "p", ("a", "b")),
        lambda v: check_int_tuple(v, "p", 2),
        lambda v: check_kernel_size(v, "p"),
        lambda v: check_padding(v, 2),
    ]
    for check in checkers:
        try:
            check(value)
        except (TypeError, ValueError) as exc:
            name = "padding" if "padding" in str(exc)[:7] else "p"
            assert _style(name).match(str(exc)), str(exc)


# ------------------------------------------------------- the same rule in every place


@pytest.mark.parametrize(
    "make",
    [
        lambda ks: RandomConv(4, ks),
        lambda ks: KMeansConv(4, ks, n_patches=50),
        lambda ks: PCAConv(2, ks),
        lambda ks: PatchConv(2, ks),
        lambda ks: GaborConv(kernel_size=ks),
        lambda ks: EdgeConv(kernel_size=ks),
    ],
    ids=["RandomConv", "KMeansConv", "PCAConv", "PatchConv", "GaborConv", "EdgeConv"],
)
def test_float_kernel_sizes_are_refused_by_every_family(make):
    # KMeansConv used to truncate (3.7, 3.2) to 3x3 silently
    with pytest.raises(TypeError, match=_style("kernel_size")):
        make((3.7, 3.2)).fit(np.random.RandomState(0).rand(3, 9, 9))


@pytest.mark.parametrize("param, value", [("groups", 1.5), ("stride", 1.0), ("dilation", (1, 2.0))])
def test_float_geometry_is_a_type_error_for_estimators_and_engine(param, value):
    x = np.random.RandomState(0).rand(2, 6, 6, 2)
    w = np.ones((2, 3, 3, 1 if param == "groups" else 2))
    with pytest.raises(TypeError, match=_style(param)):
        Conv(w, **{param: value}).fit(x)
    with pytest.raises(TypeError, match=_style(param)):
        conv(x, w, **{param: value})
    # conv_transpose used to raise ValueError for groups=1.5 where conv raised TypeError
    with pytest.raises(TypeError, match=_style(param)):
        conv_transpose(np.zeros((2, 4, 4, 2)), w, (6, 6), **{param: value})
    if param == "groups":
        with pytest.raises(TypeError, match=_style("groups")):
            channel_shuffle(x, value)


@pytest.mark.parametrize(
    "est",
    [Conv(np.ones((2, 3, 1))), RandomConv(2, (3,)), Pool(), LocalContrastNorm(size=3),
     ReceptiveFieldConv(RandomConv(2, (2,)), n_groups=1, group_size=1)],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.parametrize("param, value", [("n_jobs", 0), ("batch_size", 0), ("n_jobs", 1.0)])
def test_shared_parameters_fail_alike_everywhere(est, param, value):
    est = clone(est).set_params(**{param: value})
    with pytest.raises((TypeError, ValueError), match=_style(param)):
        est.fit(np.random.RandomState(0).rand(4, 12))


# --------------------------------------------------------------------------- inputs


class _Recorder:
    """The attributes check_input records, on a plain object."""


def test_check_input_layouts():
    rng = np.random.RandomState(0)
    X, layout = check_input(None, rng.rand(5, 6, 7), reset=True, ndim=2)
    assert X.shape == (5, 6, 7, 1) and not layout.channel_axis and layout.spatial == (6, 7)
    X, layout = check_input(None, rng.rand(5, 6, 7, 3), reset=True, ndim=2)
    assert X.shape == (5, 6, 7, 3) and layout.channel_axis
    X, layout = check_input(None, rng.rand(5, 42), reset=True, ndim=2, input_shape=(6, 7))
    assert X.shape == (5, 6, 7, 1) and layout.flat
    X, layout = check_input(None, rng.rand(5, 84), reset=True, ndim=2, input_shape=(6, 7, 2))
    assert X.shape == (5, 6, 7, 2)
    X, layout = check_input(None, rng.rand(5, 30), reset=True)  # signals
    assert X.shape == (5, 30, 1) and layout.spatial_ndim == 1
    X, layout = check_input(None, pd.DataFrame(rng.rand(5, 42)), reset=True, ndim=2,
                            input_shape=(6, 7))
    assert X.shape == (5, 6, 7, 1)
    same = [rng.rand(6, 7) for _ in range(3)]
    X, layout = check_input(None, same, reset=True, ndim=2)
    assert isinstance(X, np.ndarray) and X.shape == (3, 6, 7, 1) and layout.is_list
    varied = [rng.rand(6, 7), rng.rand(8, 5)]
    X, layout = check_input(None, varied, reset=True, ndim=2)
    assert isinstance(X, list) and [x.shape for x in X] == [(6, 7, 1), (8, 5, 1)]
    assert layout.spatial is None
    maps = RandomConv(2, 3, random_state=0).fit_transform(rng.rand(4, 8, 8))
    X, layout = check_input(None, maps, reset=True)
    assert X is maps and layout.spatial == (6, 6) and layout.n_channels == 2


@pytest.mark.parametrize(
    "X, kwargs, error, match",
    [
        ([[1.0, 2.0], [3.0]], {}, ValueError, "ragged nested sequence"),
        (np.array([["a", "b"], ["c", "d"]]), {}, TypeError, "real numbers"),
        (np.array([[1.0, np.nan]]), {}, ValueError, "finite numbers"),
        (np.zeros((0, 4)), {}, ValueError, "at least one sample"),
        (np.zeros(4), {}, ValueError, "samples first"),
        (np.zeros((2, 4, 4)), {"input_shape": (4, 4)}, ValueError, "must be flat"),
        (np.zeros((2, 16)), {"input_shape": (4.0, 4.0)}, TypeError, _style("input_shape")),
        (np.zeros((2, 16)), {"input_shape": (5, 4)}, ValueError, "20 features per sample"),
        (np.zeros((2, 16)), {"ndim": 2}, ValueError, "needs input_shape"),
        ([np.zeros((3, 3)), np.zeros((3, 3, 1))], {"ndim": 2}, ValueError, "a channel axis or none"),
        ([np.zeros((3, 3, 1)), np.zeros((4, 4, 2))], {"ndim": 2}, ValueError, "same number of channels"),
    ],
)
def test_check_input_errors(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_input(None, X, reset=True, **kwargs)


def test_check_input_records_then_checks_what_fit_saw():
    est = _Recorder()
    rng = np.random.RandomState(0)
    check_input(est, rng.rand(4, 6, 7, 3), reset=True, ndim=2)
    assert est.input_shape_ == (6, 7, 3) and est.spatial_ndim_ == 2 and est.n_channels_in_ == 3
    assert est.n_features_in_ == 126
    with pytest.raises(ValueError, match="must have 3 channels as at fit, got 2"):
        check_input(est, rng.rand(4, 6, 7, 2), reset=False, ndim=2)
    with pytest.raises(ValueError, match=r"spatial shape \(6, 7\) as at fit"):
        check_input(est, rng.rand(4, 6, 8, 3), reset=False, ndim=2, check_spatial=True)
    check_input(est, rng.rand(4, 6, 8, 3), reset=False, ndim=2)  # sizes may vary otherwise


def test_inputs_are_never_copied_or_modified_needlessly(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.rand(4, 6, 7, 3).astype(np.float32)
    X0 = X.copy()
    out, _ = check_input(None, X, reset=True, ndim=2, dtype=np.float32)
    assert np.shares_memory(out, X)
    np.testing.assert_array_equal(X, X0)
    # a read-only memory map is read in place, not loaded into memory
    path = tmp_path / "x.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    out, _ = check_input(None, mm, reset=True, ndim=2, dtype=np.float32)
    assert np.shares_memory(out, mm)


def test_restore_layout_round_trips():
    rng = np.random.RandomState(0)
    for X, kwargs in [
        (rng.rand(3, 42), {"input_shape": (6, 7), "ndim": 2}),
        (rng.rand(3, 6, 7), {"ndim": 2}),
        (rng.rand(3, 6, 7, 2), {"ndim": 2}),
        (rng.rand(3, 30), {}),
    ]:
        internal, layout = check_input(None, X, reset=True, **kwargs)
        np.testing.assert_array_equal(restore_layout(internal, layout), X)
    varied = [rng.rand(5, 4), rng.rand(6, 3)]
    internal, layout = check_input(None, varied, reset=True, ndim=2)
    for a, b in zip(restore_layout(internal, layout), varied):
        np.testing.assert_array_equal(a, b)


def test_feature_maps_pass_through_unchanged_and_checked():
    maps = RandomConv(2, (3,), random_state=0).fit_transform(np.random.RandomState(0).rand(4, 20))
    assert isinstance(maps, FeatureMaps)
    with pytest.raises(ValueError, match="must hold 2-D maps for this transformer, got FeatureMaps"):
        check_input(None, maps, reset=True, ndim=2)
