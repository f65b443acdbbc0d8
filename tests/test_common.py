"""Checks every public estimator passes, from one registry.

``CHECKED`` holds, for every estimator class in ``skconv.__all__``, the
configurations that go through scikit-learn's own estimator checks. They take
flat 2-D ``X`` (1-D kernels read ``(n_samples, n_features)`` as single-channel
signals), so that the checks really run. ``ND`` holds a configuration of each on
N-D input, for the properties scikit-learn's checks cannot see there. A new
estimator in ``skconv.__all__`` without an entry in both fails
``test_every_public_estimator_is_registered``.
"""

import inspect
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

import skconv
from skconv import (
    ZCA,
    ChannelShuffle,
    Conv,
    EdgeConv,
    GaborConv,
    KMeansConv,
    LayerwiseStack,
    LocalContrastNorm,
    MapUnion,
    MiniRocket,
    PatchConv,
    PCAConv,
    Pool,
    RandomConv,
    ReceptiveFieldConv,
    TransformPool,
)
from sklearn.pipeline import make_pipeline

_W1 = np.random.default_rng(0).standard_normal((3, 2, 1))

CHECKED = {
    Conv: [
        Conv(_W1),
        Conv(_W1, encoding="relu", padding="same", stride=2),
        Conv(_W1, encoding="split", alpha=0.1, dtype=np.float64),
        Conv(_W1, separable=1, padding="same"),
    ],
    RandomConv: [
        RandomConv(n_filters=4, kernel_size=(3,), padding="same", random_state=0),
        RandomConv(n_filters=3, kernel_size=(3,), padding="same", sharing="tiled", tile_shape=2,
                   bias="uniform", random_state=0),
        RandomConv(n_filters=2, kernel_size=(2,), sharing="local", random_state=0),
        RandomConv(
            n_filters=4, kernel_size=(3,), padding="same", dilations="random",
            bias="uniform", encoding="split", random_state=0,
        ),
    ],
    GaborConv: [GaborConv(frequencies=(0.25,), kernel_size=(3,), part="magnitude", padding="same")],
    EdgeConv: [EdgeConv(kernel_size=(3,), padding="same", encoding="abs")],
    PCAConv: [PCAConv(n_filters=2, kernel_size=(3,), padding="same", random_state=0)],
    PatchConv: [
        PatchConv(n_filters=3, kernel_size=(3,), padding="same", random_state=0),
        PatchConv(n_filters=2, kernel_size=(3,), padding="same", whiten=True, random_state=0),
    ],
    KMeansConv: [
        KMeansConv(n_filters=3, kernel_size=(3,), padding="same", n_patches=200, random_state=0),
        KMeansConv(n_filters=3, kernel_size=(2,), n_patches=200, random_state=0),
        KMeansConv(
            n_filters=3, kernel_size=(3,), padding="same", n_patches=200, algorithm="spherical",
            encoding="split", dtype=np.float64, random_state=0,
        ),
    ],
    Pool: [Pool(), Pool(method="max", pyramid=(1, 2)), Pool(method="l2", size=1)],
    LocalContrastNorm: [
        LocalContrastNorm(size=3),
        LocalContrastNorm(size=5, across_channels=False, mode="constant"),
    ],
    ZCA: [ZCA(), ZCA(eps=0.0)],
    MapUnion: [
        MapUnion([("conv", RandomConv(3, (3,), padding="same", random_state=0)),
                  ("smooth", Pool(size=3, stride=1, padding="same", method="mean"))]),
    ],
    ChannelShuffle: [ChannelShuffle()],
    MiniRocket: [
        MiniRocket(84 * 2, random_state=0),
        MiniRocket(84 * 4, method=("ppv", "mpv"), difference=True, random_state=0,
                   dtype=np.float64),
    ],
    ReceptiveFieldConv: [
        ReceptiveFieldConv(RandomConv(3, (3,), padding="same", random_state=0), n_groups=1,
                           group_size=1),
    ],
    LayerwiseStack: [
        LayerwiseStack(
            [
                ("conv1", RandomConv(4, (3,), padding="same", encoding="relu", random_state=0)),
                ("maxout", Pool(size=1, channel_groups=2)),
                ("conv2", ReceptiveFieldConv(RandomConv(2, (3,), padding="same", encoding="abs"),
                                             n_groups=2, group_size=1)),
            ],
            fit_subset=0.5,
            concat=["conv1", "conv2"],
            pool=Pool(grid=2, method="max"),
            random_state=0,
        ),
        LayerwiseStack([RandomConv(3, (2,), random_state=0), Pool(size=1, method="max")]),
    ],
    TransformPool: [
        TransformPool(make_pipeline(RandomConv(3, (2,), random_state=0), Pool(("max", "mean"), grid=1))),
        TransformPool(LayerwiseStack([RandomConv(2, (3,), padding="same", random_state=0)],
                                     pool=Pool(method="max")), method="max"),
    ],
}

# One configuration of each on N-D input: (estimator, shape of one sample).
ND = {
    Conv: (Conv(np.random.default_rng(1).standard_normal((4, 3, 3, 3)), encoding="relu"), (9, 8, 3)),
    RandomConv: (RandomConv(4, (2, 2, 2), random_state=0), (5, 5, 5)),
    GaborConv: (GaborConv((0.3,), 2, kernel_size=3, part="magnitude"), (9, 8, 3)),
    EdgeConv: (EdgeConv("sobel", groups=3, encoding="abs"), (9, 8, 3)),
    PCAConv: (PCAConv(3, 3, random_state=0), (9, 8, 3)),
    PatchConv: (PatchConv(4, 3, whiten=True, random_state=0), (9, 8, 3)),
    KMeansConv: (KMeansConv(4, 3, n_patches=200, random_state=0), (9, 8, 3)),
    Pool: (Pool(size=(2, 2), method="max"), (9, 8, 3)),
    LocalContrastNorm: (LocalContrastNorm(size=3), (9, 8, 3)),
    ZCA: (ZCA(eps=0.1), (6,)),
    MapUnion: (
        MapUnion([RandomConv(2, 3, padding="same", random_state=0),
                  Pool(size=3, stride=1, padding="same", method="max")]),
        (9, 8, 3),
    ),
    ChannelShuffle: (ChannelShuffle(groups=3), (9, 8, 3)),
    MiniRocket: (MiniRocket(84 * 2, method=("ppv", "lspv"), random_state=0), (30, 3)),
    ReceptiveFieldConv: (
        ReceptiveFieldConv(RandomConv(2, 2, random_state=0), n_groups=2, group_size=2,
                           random_state=0),
        (9, 8, 3),
    ),
    LayerwiseStack: (
        LayerwiseStack([RandomConv(4, 3, encoding="relu"), Pool(size=2, method="max")],
                       random_state=0),
        (9, 8, 3),
    ),
    TransformPool: (
        TransformPool(make_pipeline(RandomConv(4, 3, random_state=0), Pool()),
                      ("identity", "fliplr", "flipud", "rot180")),
        (9, 8, 3),
    ),
}


def _public_estimators():
    return {
        obj
        for obj in (getattr(skconv, name) for name in skconv.__all__)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator)
    }


def test_every_public_estimator_is_registered():
    public = _public_estimators()
    assert public, "skconv exports no estimator"
    assert set(CHECKED) == public, f"register {public ^ set(CHECKED)} in CHECKED"
    assert set(ND) == public, f"register {public ^ set(ND)} in ND"


@parametrize_with_checks([est for ests in CHECKED.values() for est in ests])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _data(shape, seed=0, n=6):
    return np.random.default_rng(seed).random((n,) + shape).astype(np.float32)


ND_CASES = [pytest.param(est, shape, id=cls.__name__) for cls, (est, shape) in ND.items()]


@pytest.mark.parametrize("estimator, shape", ND_CASES)
def test_nd_clone_params_pickle(estimator, shape):
    X = _data(shape)
    fitted = clone(estimator).fit(X)
    out = np.asarray(fitted.transform(X))
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(np.asarray(again.transform(X)), out)
    params = estimator.get_params()
    twin = type(estimator)(**estimator.get_params(deep=False))
    np.testing.assert_array_equal(np.asarray(twin.fit(X).transform(X)), out)
    assert clone(estimator).set_params(**params).get_params().keys() == params.keys()


@pytest.mark.parametrize("estimator, shape", ND_CASES)
def test_nd_float32_preserved_and_input_untouched(estimator, shape):
    X = _data(shape)
    X0 = X.copy()
    out = np.asarray(clone(estimator).fit_transform(X))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(X, X0)


@pytest.mark.parametrize("estimator, shape", ND_CASES)
def test_nd_sample_order_invariance(estimator, shape):
    X = _data(shape, n=7)
    fitted = clone(estimator).fit(X)
    perm = np.random.default_rng(2).permutation(7)
    np.testing.assert_allclose(
        np.asarray(fitted.transform(X[perm])), np.asarray(fitted.transform(X))[perm],
        rtol=1e-5, atol=1e-6,
    )


@pytest.mark.parametrize("estimator, shape", ND_CASES)
def test_unfitted_raises(estimator, shape):
    with pytest.raises(NotFittedError):
        clone(estimator).transform(_data(shape))


# ND shapes whose last axis is spatial, given a channel axis for the layout test
_WITH_CHANNELS = {RandomConv: (5, 5, 5, 2)}


def _layout_cases():
    for cls, (est, shape) in ND.items():
        if "channel_axis" in est.get_params(deep=False):
            yield pytest.param(est, _WITH_CHANNELS.get(cls, shape), id=cls.__name__)
    # 1-D signals with channels, read as (n, channels, length)
    yield pytest.param(RandomConv(3, (3,), padding="same", random_state=0), (12, 3), id="signals")
    yield pytest.param(Pool(method=("ppv", "lspv"), grid=2), (12, 3), id="Pool-signals")


@pytest.mark.parametrize("estimator, shape", list(_layout_cases()))
def test_channel_axis_reads_the_transposed_layout(estimator, shape):
    X = _data(shape)
    first = np.moveaxis(X, -1, 1)  # (n, channels, *spatial)
    ref = np.asarray(clone(estimator).fit(X).transform(X))
    moved = clone(estimator).set_params(channel_axis=1)
    np.testing.assert_allclose(np.asarray(moved.fit(first).transform(first)), ref, rtol=1e-6)
    # a list of (channels, *spatial) samples reads the same way
    listed = clone(estimator).set_params(channel_axis=1).fit(list(first))
    np.testing.assert_allclose(np.asarray(listed.transform(list(first))), ref, rtol=1e-6)
    np.testing.assert_array_equal(first, np.moveaxis(X, -1, 1))  # input untouched


def test_channel_axis_errors_name_the_parameter():
    X = _data((12, 3))
    with pytest.raises(TypeError, match=r"channel_axis must be an int \(-1: channels last\), got 1.0"):
        Pool(channel_axis=1.0).fit(X)
    with pytest.raises(ValueError, match=r"channel_axis must be an int naming an axis of X other than the samples' \(0\): 1 to 2"):
        RandomConv(2, (3,), channel_axis=0).fit(X)
