"""The convolution variants every family shares (skconv._base): parameter sharing
(shared, tiled, locally connected) and separable kernels, against naive loops, on
1-D, 2-D and 3-D inputs, in stacks of lazy maps, and their errors."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from _reference import naive_conv, naive_local
from skconv import (
    ChannelShuffle,
    Conv,
    EdgeConv,
    GaborConv,
    LayerwiseStack,
    PatchConv,
    PCAConv,
    Pool,
    RandomConv,
)
from skconv._engine import resolve_padding


@st.composite
def geometries(draw):
    d = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d))
    padding = draw(st.sampled_from(["valid", "same", 1]))
    spatial = tuple(
        draw(st.integers(dl * (k - 1) + 1, dl * (k - 1) + 4)) for k, dl in zip(kernel, dilation)
    )
    c = draw(st.integers(1, 3))
    f = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    return dict(d=d, kernel=kernel, stride=stride, dilation=dilation, padding=padding,
                spatial=spatial, c=c, f=f, seed=seed, flip=draw(st.booleans()))


def _setup(g):
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((2,) + g["spatial"] + (g["c"],))
    pads = resolve_padding(g["padding"], g["kernel"], stride=g["stride"],
                           dilation=g["dilation"], input_spatial=g["spatial"])
    geo = dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"], flip=g["flip"])
    return rng, x, pads, geo


def _flipped(w, d):
    return w[(Ellipsis,) + (slice(None, None, -1),) * d + (slice(None),)]


@settings(max_examples=30, deadline=None)
@given(g=geometries(), tile_seed=st.integers(0, 100))
def test_local_and_tiled_match_naive_loops(g, tile_seed):
    rng, x, pads, geo = _setup(g)
    d = g["d"]
    shape = (g["f"],) + g["kernel"] + (g["c"],)
    out = RandomConv(1, g["kernel"], **{k: v for k, v in geo.items() if k != "flip"}).fit(
        x).transform(x).shape[1:-1]
    # locally connected: one bank per output position
    w = rng.standard_normal(out + shape)
    b = rng.standard_normal(out + (g["f"],))
    lc = Conv(w, bias=b, sharing="local", dtype=np.float64, **geo).fit(x)
    expected = naive_local(x, _flipped(w, d) if g["flip"] else w, g["stride"], pads,
                           g["dilation"]) + b
    np.testing.assert_allclose(np.asarray(lc.transform(x)), expected, atol=1e-10)
    # tiled: position p uses the bank p mod tile
    tile = tuple(int(t) for t in np.random.default_rng(tile_seed).integers(1, 4, size=d))
    wt = rng.standard_normal(tile + shape)
    bt = rng.standard_normal(tile + (g["f"],))
    tc = Conv(wt, bias=bt, sharing="tiled", dtype=np.float64, **geo).fit(x)
    assert tc._tile == tile
    per_pos = np.empty(out + shape)
    bias_pos = np.empty(out + (g["f"],))
    for pos in itertools.product(*[range(o) for o in out]):
        per_pos[pos] = wt[tuple(p % t for p, t in zip(pos, tile))]
        bias_pos[pos] = bt[tuple(p % t for p, t in zip(pos, tile))]
    expected = naive_local(x, _flipped(per_pos, d) if g["flip"] else per_pos, g["stride"],
                           pads, g["dilation"]) + bias_pos
    np.testing.assert_allclose(np.asarray(tc.transform(x)), expected, atol=1e-10)
    # RandomConv draws what Conv applies
    rc = RandomConv(g["f"], g["kernel"], sharing="tiled", tile_shape=tile, bias="uniform",
                    dtype=np.float64, random_state=g["seed"], **geo).fit(x)
    assert rc.filters_.shape == tile + shape and rc.bias_.shape == tile + (g["f"],)
    twin = Conv(rc.filters_, bias=rc.bias_, sharing="tiled", dtype=np.float64, **geo).fit(x)
    np.testing.assert_allclose(np.asarray(rc.transform(x)), np.asarray(twin.transform(x)))


@settings(max_examples=30, deadline=None)
@given(g=geometries(), rank=st.integers(1, 3), depthwise=st.booleans())
def test_separable_is_the_convolution_with_the_approximated_bank(g, rank, depthwise):
    rng, x, pads, geo = _setup(g)
    d, c = g["d"], g["c"]
    groups = c if depthwise else 1
    w = rng.standard_normal((g["f"] * groups,) + g["kernel"] + (c // groups,))
    sep = Conv(w, separable=rank, groups=groups, dtype=np.float64, **geo).fit(x)
    # the approximation, rebuilt by explicit outer products of the fitted factors
    approx = 0
    for s in range(rank):
        term = sep.channel_factors_[:, s]
        for a in reversed(sep.factors_):
            term = a[:, s].reshape((len(w), -1) + (1,) * (term.ndim - 1)) * term[:, None]
        approx = approx + term
    err = np.linalg.norm((approx - w).reshape(len(w), -1), axis=1) / np.linalg.norm(
        w.reshape(len(w), -1), axis=1)
    np.testing.assert_allclose(sep.approximation_error_, err, atol=1e-9)
    kernels = _flipped(approx, d) if g["flip"] else approx
    expected = naive_conv(x, kernels, g["stride"], pads, g["dilation"], groups)
    np.testing.assert_allclose(np.asarray(sep.transform(x)), expected, atol=1e-9)
    # filters_ keeps the exact bank
    np.testing.assert_array_equal(sep.filters_, w)


@pytest.mark.parametrize(
    "est, rank",
    [
        (EdgeConv(("sobel", "prewitt"), derivative_sigmas=1.0, derivative_orders=1,
                  n_orientations=2), 1),
        (EdgeConv(log_sigmas=(1.0, 1.5), derivative_sigmas=1.0, n_orientations=4), 3),
        (GaborConv((0.15, 0.3), 6, part="magnitude", padding="same"), 2),
        (EdgeConv(("sobel",), log_sigmas=1.0, groups=3), 2),
    ],
)
def test_separable_banks_give_the_full_maps(est, rank):
    X = np.random.default_rng(0).random((4, 24, 22, 3)).astype(np.float32)
    full = clone(est).fit(X)
    sep = clone(est).set_params(separable=rank).fit(X)
    np.testing.assert_array_less(sep.approximation_error_, 1e-5)
    a, b = np.asarray(full.transform(X)), np.asarray(sep.transform(X))
    np.testing.assert_allclose(b, a, atol=1e-4 * np.abs(a).max())
    assert sep.cost(X.shape[1:])["multiply_adds"] < full.cost(X.shape[1:])["multiply_adds"]


def test_separable_inverse_transform_is_the_adjoint():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 9, 10, 2))
    sep = RandomConv(4, 3, separable=1, stride=2, padding="same", dtype=np.float64,
                     random_state=0).fit(X)
    Y = rng.standard_normal(sep.transform(X).shape)
    np.testing.assert_allclose(
        np.vdot(np.asarray(sep.transform(X)), Y), np.vdot(X, sep.inverse_transform(Y)),
        rtol=1e-10,
    )


def test_refit_without_separable_forgets_the_factors():
    X = np.random.default_rng(2).random((3, 8, 8))
    est = RandomConv(4, 3, separable=1, random_state=0).fit(X)
    assert hasattr(est, "approximation_error_")
    est.set_params(separable=None).fit(X)
    assert not hasattr(est, "approximation_error_") and not hasattr(est, "factors_")
    np.testing.assert_allclose(
        np.asarray(est.transform(X)), np.asarray(Conv(est.filters_).fit(X).transform(X)),
        atol=1e-6,
    )


def test_variants_in_stacks_of_lazy_maps():
    rng = np.random.default_rng(3)
    X = rng.random((12, 16, 16, 3)).astype(np.float32)
    layers = [
        ("tiled", RandomConv(8, 3, sharing="tiled", tile_shape=2, encoding="relu",
                             random_state=0)),
        ("shuffle", ChannelShuffle(groups=2)),
        ("dw", RandomConv(8, 3, groups=8, separable=1, encoding="relu", random_state=1)),
        ("local", PatchConv(4, 3, sharing="local", n_patches=12, random_state=0)),
        ("quadrants", Pool(grid=2)),
    ]
    stack = LayerwiseStack(layers, random_state=0).fit(X)
    feats = stack.transform(X)
    assert feats.shape == (12, 4 * 4 * 1)
    # the same layers applied to materialized maps, one at a time
    Z = X
    for _, layer in stack.layers_[:-1]:
        maps = layer.transform(Z)
        Z = np.asarray(maps)
    np.testing.assert_allclose(feats, stack.layers_[-1][1].transform(Z), rtol=1e-5, atol=1e-6)
    # and in a Pipeline
    pipe = Pipeline([(n, clone(e)) for n, e in layers])
    assert pipe.fit_transform(X).shape == feats.shape


def test_results_do_not_depend_on_batches_or_threads():
    X = np.random.default_rng(4).random((9, 11, 10))
    ref = None
    for batch_size, n_jobs in [(1, None), (4, 2), ("auto", None)]:
        est = RandomConv(3, 3, sharing="tiled", tile_shape=(2, 3), bias="uniform",
                         batch_size=batch_size, n_jobs=n_jobs, random_state=0).fit(X)
        out = np.asarray(est.transform(X))
        ref = out if ref is None else ref
        np.testing.assert_array_equal(out, ref)


def test_local_on_one_size_only_and_tiled_on_any():
    X = np.random.default_rng(5).random((3, 9, 9))
    tiled = RandomConv(2, 3, sharing="tiled", tile_shape=2, random_state=0).fit(X)
    maps = tiled.transform([X[0], X[1, :7, :8]])
    assert Pool(pyramid=(1,)).fit_transform(maps).shape == (2, 2)
    with pytest.raises(ValueError, match="sharing='local' needs inputs of one spatial size"):
        RandomConv(2, 3, sharing="local").fit([X[0], X[1, :7, :8]])
    local = RandomConv(2, 3, sharing="local", random_state=0).fit(X)
    with pytest.raises(ValueError, match="spatial shape"):
        local.transform(X[:, :8])


@pytest.mark.parametrize(
    "est, match",
    [
        (RandomConv(4, 3, sharing="local", groups=2), "groups must be 1 with sharing='local'"),
        (RandomConv(4, 3, sharing="tiled", tile_shape=2, separable=1),
         "separable must be None with sharing='tiled'"),
        (RandomConv(4, 3, sharing="tiled"), "tile_shape must be given"),
        (RandomConv(4, 3, sharing="tiled", tile_shape=(2, 0)), "tile_shape must be"),
        (RandomConv(4, 3, sharing="unshared"), "sharing must be one of"),
        (RandomConv(4, 3, separable=0), "separable must be an int >= 1"),
        (Conv(np.ones((2, 2, 1, 3, 3, 1)), sharing="tiled", tile_shape=3), "tile_shape must match"),
        (Conv(np.ones((5, 5, 1, 3, 3, 1)), sharing="local"), "one kernel set per position"),
        (Conv(np.ones((1, 3, 3, 3, 1)), sharing="local"), "leading axes"),
        (RandomConv(4, (3,), sharing="local", dilations="random", padding="same"),
         "dilations='random' applies full, shared kernels"),
    ],
)
def test_variant_errors(est, match):
    X = np.random.default_rng(6).random((3, 8, 8, 2)) if "groups=2" in repr(est) else (
        np.random.default_rng(6).random((3, 8, 8)) if "(3,)" not in repr(est) else
        np.random.default_rng(6).random((3, 20))
    )
    with pytest.raises((ValueError, TypeError), match=match):
        est.fit(X)


def test_no_inverse_for_unshared_weights():
    X = np.random.default_rng(7).random((3, 8, 8))
    est = RandomConv(2, 3, sharing="local", random_state=0).fit(X)
    with pytest.raises(ValueError, match="inverse_transform is undefined for sharing='local'"):
        est.inverse_transform(np.asarray(est.transform(X)))


def test_pca_separable_on_colour_is_flattened_convolution():
    X = np.random.default_rng(8).random((20, 12, 12, 3)).astype(np.float32)
    pca = PCAConv(4, 3, separable=1, random_state=0).fit(X)
    assert [a.shape for a in pca.factors_] == [(4, 1, 3), (4, 1, 3)]
    assert pca.channel_factors_.shape == (4, 1, 3)
    assert np.all((pca.approximation_error_ >= 0) & (pca.approximation_error_ <= 1))
