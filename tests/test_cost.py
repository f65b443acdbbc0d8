"""cost(): the closed forms of every convolution variant, for fitted and unfitted
transformers, and against the work the engine really does."""

import math

import numpy as np
import pytest

from skconv import (
    Conv,
    EdgeConv,
    GaborConv,
    KMeansConv,
    PatchConv,
    PCAConv,
    RandomConv,
    ReceptiveFieldConv,
    _engine,
)


def _out(n, m, s=1, p=0, dl=1):
    return (n + 2 * p - dl * (m - 1) - 1) // s + 1


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("N, m, c, f", [(12, 3, 1, 4), (9, 5, 3, 6), (7, 1, 4, 8)])
def test_standard_strided_padded_dilated_grouped(d, N, m, c, f):
    shape = (N,) * d + (c,)
    k = (m,) * d
    base = RandomConv(f, k).cost(shape)
    o = _out(N, m)
    assert base["multiply_adds"] == o**d * m**d * c * f
    assert base["params"] == m**d * c * f
    assert base["output_shape"] == (o,) * d + (f,)
    assert base["map_bytes"] == o**d * f * 4
    # stride and padding only change the output size
    cost = RandomConv(f, k, stride=2, padding=1).cost(shape)
    assert cost["multiply_adds"] == _out(N, m, 2, 1) ** d * m**d * c * f
    assert cost["params"] == base["params"]
    # dilation: the multiply-adds of the undilated kernel at the (smaller) output size
    if m > 1:
        cost = RandomConv(f, k, dilation=2, padding="same").cost(shape)
        assert cost["multiply_adds"] == N**d * m**d * c * f
    # groups divide the channels each filter sees
    g = math.gcd(c, f)
    cost = RandomConv(f, k, groups=g).cost(shape)
    assert cost["multiply_adds"] * g == base["multiply_adds"]
    assert cost["params"] * g == base["params"]
    # float64 maps take twice the bytes
    assert RandomConv(f, k, dtype=np.float64).cost(shape)["map_bytes"] == 2 * base["map_bytes"]


@pytest.mark.parametrize("h, Nc", [(3, 16), (5, 32), (7, 8)])
def test_depthwise_separable_pair_costs_one_over_n_plus_one_over_h_squared(h, Nc):
    N, c = 20, 8
    dense = RandomConv(Nc, h).cost((N, N, c))
    dw = RandomConv(c, h, groups=c).cost((N, N, c))
    pw = RandomConv(Nc, 1).cost(dw["output_shape"])
    o = N - h + 1
    assert dw["multiply_adds"] == o * o * c * h * h
    assert pw["multiply_adds"] == o * o * c * Nc
    ratio = (dw["multiply_adds"] + pw["multiply_adds"]) / dense["multiply_adds"]
    assert ratio == pytest.approx(1 / Nc + 1 / h**2)
    # a grouped pointwise stage divides its part by the groups
    assert RandomConv(Nc, 1, groups=4).cost(dw["output_shape"])["multiply_adds"] * 4 == (
        pw["multiply_adds"]
    )


@pytest.mark.parametrize("N, m", [(28, 3), (28, 7), (16, 9)])
def test_spatially_separable_closed_form(N, m):
    f = 5
    full = RandomConv(f, m).cost((N, N))
    sep = RandomConv(f, m, separable=1).cost((N, N))
    o = N - m + 1
    assert full["multiply_adds"] == o * o * m * m * f
    assert sep["multiply_adds"] == (o * N * m + o * o * m) * f
    assert sep["params"] == 2 * m * f
    assert RandomConv(f, m, separable=3).cost((N, N))["multiply_adds"] == 3 * sep[
        "multiply_adds"]
    assert sep["output_shape"] == full["output_shape"]


def test_flattened_and_3d_separable_closed_forms():
    N, m, c, f = 12, 3, 3, 4
    o = N - m + 1
    # flattened (Jin et al.): a channel mix per input position, then 1-D passes
    cost = RandomConv(f, m, separable=1).cost((N, N, c))
    assert cost["multiply_adds"] == N * N * c * f + (o * N * m + o * o * m) * f
    assert cost["params"] == f * (c + 2 * m)
    # 3-D volumes: three passes
    cost = RandomConv(f, (m, m, m), separable=2).cost((N, N, N))
    assert cost["multiply_adds"] == 2 * f * (o * N * N * m + o * o * N * m + o**3 * m)
    # padding: each axis is padded by its own pass
    cost = RandomConv(f, m, separable=1, padding="same").cost((N, N))
    assert cost["multiply_adds"] == (N * N * m + N * N * m) * f


def test_tiled_and_local_have_standard_multiply_adds_and_more_params():
    N, m, c, f = 10, 3, 2, 4
    o = N - m + 1
    base = RandomConv(f, m).cost((N, N, c))
    tiled = RandomConv(f, m, sharing="tiled", tile_shape=(2, 3)).cost((N, N, c))
    local = RandomConv(f, m, sharing="local").cost((N, N, c))
    assert tiled["multiply_adds"] == local["multiply_adds"] == base["multiply_adds"]
    assert tiled["params"] == 6 * base["params"]
    assert local["params"] == o * o * base["params"]
    # with biases, one per filter of every kernel set
    local_b = RandomConv(f, m, sharing="local", bias=0.5).cost((N, N, c))
    assert local_b["params"] == o * o * (base["params"] + f)
    # 1-D and 3-D
    assert RandomConv(f, (m,), sharing="local").cost((N, c))["params"] == o * m * c * f
    assert RandomConv(f, (m,) * 3, sharing="tiled", tile_shape=2).cost((N,) * 3)[
        "params"] == 8 * m**3 * f


@pytest.mark.parametrize(
    "est",
    [
        RandomConv(6, 3, groups=3, bias="uniform", random_state=0),
        RandomConv(4, 3, sharing="local", random_state=0),
        RandomConv(4, 3, sharing="tiled", tile_shape=2, separable=None, random_state=0),
        RandomConv(4, 3, separable=2, random_state=0),
        GaborConv((0.2, 0.3), 4, kernel_size=5, part="magnitude"),
        EdgeConv(("sobel", "laplace"), log_sigmas=1.0, padding="same", separable=2),
        PCAConv(4, 3, groups=3, random_state=0),
        PatchConv(4, 3, whiten=True, sharing="local", n_patches=20, random_state=0),
        KMeansConv(8, 3, n_patches=300, random_state=0),
        KMeansConv(8, 3, n_patches=300, encoding="relu", whiten=False, random_state=0),
        Conv(np.ones((2, 2, 3, 3, 3, 3)), bias=np.ones(3), sharing="tiled"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_cost_before_fit_equals_after_and_matches_the_maps(est):
    X = np.random.default_rng(0).random((6, 12, 11, 3)).astype(np.float32)
    before = est.cost((12, 11, 3))
    est.fit(X)
    after = est.cost((12, 11))  # the channels seen at fit
    assert before == after
    maps = est.transform(X)
    assert maps.shape[1:] == after["output_shape"]
    assert maps.nbytes == len(X) * after["map_bytes"]
    if not isinstance(est, KMeansConv):
        n = math.prod(est.filters_.shape) + (0 if est.bias_ is None else est.bias_.size)
        if est.separable is None:
            assert after["params"] == n


def test_kmeans_counts_its_fused_product():
    est = KMeansConv(16, 3, n_patches=300, random_state=0)
    K, o = 9 * 2, 6 * 6
    # triangle: rows [q, ||u||^2, 1] times (K + 2, f), and ||u||^2 from the whitening
    assert est.cost((8, 8, 2)) == {
        "params": (K + 2) * 16 + K * K,
        "multiply_adds": o * ((K + 2) * 16 + K * K),
        "output_shape": (6, 6, 16),
        "map_bytes": o * 16 * 4,
    }
    assert est.set_params(encoding="soft_threshold").cost((8, 8, 2))["multiply_adds"] == (
        o * (K + 1) * 16
    )


def test_separable_count_is_the_work_of_the_engine(monkeypatch):
    """Count the multiplications of the 1-D passes as they run."""
    counted = []

    def counting(real):
        def run(z, taps, *args):
            acc = real(z, taps, *args)
            counted.append(acc.size * taps.shape[1])  # k taps per output of every term
            return acc
        return run

    real_conv = _engine.conv

    def counting_conv(x, w, **kw):  # the first pass of one-channel terms, by im2col
        y = real_conv(x, w, **kw)
        counted.append(y.size * np.prod(w.shape[1:]))
        return y

    monkeypatch.setattr(_engine, "_pass_1d", counting(_engine._pass_1d))
    monkeypatch.setattr(_engine, "conv", counting_conv)
    for shape in [(15, 13), (70, 3), (9, 70)]:  # band matrices, or im2col / taps along 70
        X = np.random.default_rng(1).random((2,) + shape)
        for kw in [dict(), dict(stride=2), dict(padding="same"), dict(dilation=(2, 1))]:
            counted.clear()
            est = RandomConv(3, (4, 2), separable=2, random_state=0, **kw).fit(X)
            np.asarray(est.transform(X))
            assert sum(counted) == len(X) * est.cost(shape)["multiply_adds"]


def test_receptive_field_layer_sums_its_groups():
    layer = ReceptiveFieldConv(RandomConv(4, 3, separable=1), n_groups=3, group_size=2,
                               grouping="random", random_state=0)
    one = RandomConv(4, 3, separable=1).cost((10, 10, 2))
    before = layer.cost((10, 10, 8))
    assert before == {
        "params": 3 * one["params"], "multiply_adds": 3 * one["multiply_adds"],
        "output_shape": (8, 8, 12), "map_bytes": 3 * one["map_bytes"],
    }
    X = np.random.default_rng(2).random((4, 10, 10, 8)).astype(np.float32)
    layer.fit(X)
    assert layer.cost((10, 10, 8)) == before
    assert layer.transform(X).shape[1:] == before["output_shape"]
    with pytest.raises(ValueError, match="8 channels as at fit"):
        layer.cost((10, 10, 6))


def test_cost_errors():
    est = RandomConv(4, 3)
    with pytest.raises(TypeError, match="input_shape must be"):
        est.cost((8.0, 8))
    with pytest.raises(ValueError, match="input_shape must be"):
        est.cost((8,))
    with pytest.raises(ValueError, match="larger than the padded input"):
        est.cost((2, 2))
    with pytest.raises(ValueError, match="groups must divide"):
        RandomConv(4, 3, groups=2).cost((8, 8, 3))
    fitted = RandomConv(4, 3, sharing="local").fit(np.zeros((2, 8, 8, 2)))
    with pytest.raises(ValueError, match="2 channels as at fit"):
        fitted.cost((8, 8, 3))
    with pytest.raises(ValueError, match="spatial shape seen at fit"):
        fitted.cost((9, 9))
