"""Tests of the convolution engine against direct references.

The reference for every variant is ``scipy.signal.correlate`` applied per
(sample, filter, channel) and summed over channels, on an explicitly
zero-padded input and an explicitly dilated kernel, then subsampled by the
stride; or a naive loop over output positions.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from _reference import naive_local
from skconv import _engine
from skconv._engine import (
    channel_shuffle,
    conv,
    conv_local,
    conv_separable,
    conv_tiled,
    conv_transpose,
    extract_patches,
    output_spatial_shape,
    resolve_padding,
)

# the compiled path is tested wherever the package was built with it
METHODS = ("gemm", "fft", "direct", "auto") + (("compiled",) if _engine.NATIVE else ())


# --------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------


def _dilate_kernel(k, dilation):
    """(*kernel) -> (*effective kernel) with zeros between the taps."""
    eff = tuple(dl * (s - 1) + 1 for s, dl in zip(k.shape, dilation))
    out = np.zeros(eff, dtype=k.dtype)
    out[tuple(slice(None, None, dl) for dl in dilation)] = k
    return out


def ref_conv(x, w, stride, pads, dilation, groups=1, flip=False):
    """Convolution by scipy.signal.correlate per (sample, filter, channel)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    d = x.ndim - 2
    f, c = w.shape[0], x.shape[-1]
    cg, fg = c // groups, f // groups
    xp = np.pad(x, ((0, 0),) + tuple(pads) + ((0, 0),))
    sub = tuple(slice(None, None, s) for s in stride)
    results = []
    for i in range(x.shape[0]):
        maps = []
        for j in range(f):
            g = j // fg
            acc = 0.0
            for ch in range(cg):
                k = w[j, ..., ch]
                if flip:
                    k = k[(slice(None, None, -1),) * d]
                k = _dilate_kernel(k, dilation)
                acc = acc + signal.correlate(
                    xp[i, ..., g * cg + ch], k, mode="valid", method="direct"
                )
            maps.append(acc[sub])
        results.append(np.stack(maps, axis=-1))
    return np.stack(results)


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def assert_close(actual, expected, dtype):
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    t = tol(dtype)
    np.testing.assert_allclose(actual, expected, rtol=t["rtol"], atol=t["atol"] * scale)


# --------------------------------------------------------------------------
# Random cases
# --------------------------------------------------------------------------

MAX_IN = {1: 16, 2: 9, 3: 6}
MAX_K = {1: 5, 2: 4, 3: 3}


@st.composite
def conv_cases(draw, d=None, groups=None, depthwise=False):
    d = draw(st.integers(1, 3)) if d is None else d
    if depthwise:
        c = draw(st.integers(1, 4))
        groups = c
        f = c * draw(st.integers(1, 2))
    else:
        groups = draw(st.integers(1, 3)) if groups is None else groups
        c = groups * draw(st.integers(1, 3))
        f = groups * draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, MAX_K[d])) for _ in range(d))
    stride = tuple(draw(st.integers(1, 4)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(d))
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same", "full"]),
            st.integers(0, 2),
            st.tuples(*[st.tuples(st.integers(0, 3), st.integers(0, 3)) for _ in range(d)]),
        )
    )
    spatial = []
    for i in range(d):
        eff = dilation[i] * (kernel[i] - 1) + 1
        if isinstance(padding, str):
            low = 1 if padding in ("same", "full") else eff
        elif isinstance(padding, int):
            low = max(1, eff - 2 * padding)
        else:
            low = max(1, eff - sum(padding[i]))
        spatial.append(draw(st.integers(low, max(low, MAX_IN[d]))))
    n = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *spatial, c))
    w = rng.standard_normal((f, *kernel, c // groups))
    return dict(
        x=x, w=w, stride=stride, padding=padding, dilation=dilation, groups=groups,
        flip=draw(st.booleans()),
    )


def _pads_of(case):
    return resolve_padding(
        case["padding"],
        case["w"].shape[1:-1],
        stride=case["stride"],
        dilation=case["dilation"],
        input_spatial=case["x"].shape[1:-1],
    )


def _run_and_check(case, method, dtype=np.float64):
    x = case["x"].astype(dtype)
    w = case["w"].astype(dtype)
    x0, w0 = x.copy(), w.copy()
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups", "flip")}
    y = conv(x, w, method=method, **kw)
    expected = ref_conv(
        x, w, case["stride"], _pads_of(case), case["dilation"], case["groups"], case["flip"]
    )
    assert y.dtype == dtype
    assert y.shape == expected.shape
    assert_close(y, expected, dtype)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    return y


# --------------------------------------------------------------------------
# resolve_padding / output_spatial_shape
# --------------------------------------------------------------------------


def test_resolve_padding_values():
    assert resolve_padding("valid", (3, 3)) == ((0, 0), (0, 0))
    assert resolve_padding("same", (3, 4)) == ((1, 1), (1, 2))
    assert resolve_padding("same", (3,), dilation=2) == ((2, 2),)
    assert resolve_padding("full", (3, 2), dilation=(2, 1)) == ((4, 4), (1, 1))
    assert resolve_padding(2, (3, 3, 3)) == ((2, 2),) * 3
    assert resolve_padding((1, 2), (3, 3)) == ((1, 1), (2, 2))
    assert resolve_padding(((0, 3), (2, 1)), (3, 3)) == ((0, 3), (2, 1))
    # TensorFlow "same" with stride 2: in=10, k=3 -> out=5, total pad 1 (0 before).
    assert resolve_padding("same", (3,), stride=2, input_spatial=(10,)) == ((0, 1),)
    # in=11, k=3, s=2 -> out=6, total = 5*2+3-11 = 2.
    assert resolve_padding("same", (3,), stride=2, input_spatial=(11,)) == ((1, 1),)
    # in=7, k=1, s=3 -> out=3, total = max(2*3+1-7, 0) = 0.
    assert resolve_padding("same", (1,), stride=3, input_spatial=(7,)) == ((0, 0),)


@settings(max_examples=60, deadline=None)
@given(
    n_in=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 5), dl=st.integers(1, 3)
)
def test_same_padding_output_size(n_in, k, s, dl):
    (pads,) = resolve_padding("same", (k,), stride=s, dilation=dl, input_spatial=(n_in,))
    assert pads[1] - pads[0] in (0, 1)
    (out,) = output_spatial_shape((n_in,), (k,), stride=s, padding="same", dilation=dl)
    assert out == math.ceil(n_in / s)


def test_resolve_padding_errors():
    with pytest.raises(ValueError, match="padding"):
        resolve_padding(-1, (3,))
    with pytest.raises(ValueError, match="padding"):
        resolve_padding(((1, -2),), (3,))
    with pytest.raises(ValueError, match="padding"):
        resolve_padding((1, 2, 3), (3, 3))
    with pytest.raises(ValueError, match="padding"):
        resolve_padding("circular", (3,))
    with pytest.raises(TypeError, match="padding"):
        resolve_padding(1.5, (3,))
    with pytest.raises(ValueError, match="input_spatial"):
        resolve_padding("same", (3,), stride=2)
    with pytest.raises(ValueError, match="dilation"):
        resolve_padding("same", (3,), dilation=0)


def test_output_spatial_shape():
    assert output_spatial_shape((28, 28), (5, 5)) == (24, 24)
    assert output_spatial_shape((28, 27), (3, 3), stride=2, padding="same") == (14, 14)
    assert output_spatial_shape((10,), (3,), padding="full", dilation=2) == (14,)
    assert output_spatial_shape((7, 7, 7), (3, 3, 3), stride=(1, 2, 3)) == (5, 3, 2)
    assert output_spatial_shape((5,), (3,), stride=4, padding=((0, 2),)) == (2,)
    with pytest.raises(ValueError, match="kernel .effective size 5.*larger than the padded input"):
        output_spatial_shape((4,), (3,), dilation=2)
    with pytest.raises(ValueError, match="stride"):
        output_spatial_shape((4,), (3,), stride=0)


# --------------------------------------------------------------------------
# extract_patches
# --------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(case=conv_cases())
def test_extract_patches_naive(case):
    x = case["x"]
    x0 = x.copy()
    kernel = case["w"].shape[1:-1]
    d = len(kernel)
    pads = _pads_of(case)
    p = extract_patches(
        x, kernel, stride=case["stride"], padding=case["padding"], dilation=case["dilation"]
    )
    out = output_spatial_shape(
        x.shape[1:-1], kernel, stride=case["stride"], padding=case["padding"],
        dilation=case["dilation"],
    )
    assert p.shape == (x.shape[0], *out, *kernel, x.shape[-1])
    assert not p.flags.writeable
    xp = np.pad(x, ((0, 0),) + pads + ((0, 0),))
    for pos in itertools.product(*[range(o) for o in out]):
        for off in itertools.product(*[range(k) for k in kernel]):
            idx = tuple(
                pos[i] * case["stride"][i] + off[i] * case["dilation"][i] for i in range(d)
            )
            np.testing.assert_array_equal(p[(slice(None),) + pos + off], xp[(slice(None),) + idx])
    np.testing.assert_array_equal(x, x0)


def test_extract_patches_is_view_without_padding():
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype(np.float32)
    p = extract_patches(x, (3, 3), stride=2)
    assert np.shares_memory(p, x)
    assert p.dtype == np.float32
    assert p.shape == (2, 3, 3, 3, 3, 3)


# --------------------------------------------------------------------------
# conv
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=40, deadline=None)
@given(case=conv_cases())
def test_conv_random_float64(method, case):
    _run_and_check(case, method, np.float64)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=20, deadline=None)
@given(case=conv_cases())
def test_conv_random_float32(method, case):
    _run_and_check(case, method, np.float32)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=20, deadline=None)
@given(case=conv_cases(depthwise=True))
def test_conv_depthwise(method, case):
    _run_and_check(case, method, np.float64)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_conv_fixed_hard_cases(method, d):
    rng = np.random.default_rng(d)
    cases = [
        # stride larger than the kernel, odd sizes
        dict(spatial=(7,) * d, c=1, f=2, kernel=(2,) * d, stride=3, padding="valid",
             dilation=1, groups=1),
        # dilation with padding
        dict(spatial=(5,) * d, c=2, f=3, kernel=(3,) * d, stride=1, padding=2,
             dilation=2, groups=1),
        # explicit asymmetric padding
        dict(spatial=(5,) * d, c=3, f=2, kernel=(2,) * d, stride=2,
             padding=((0, 3),) * d, dilation=1, groups=1),
        # "same" with stride > 1
        dict(spatial=(6,) * d, c=2, f=4, kernel=(3,) * d, stride=2, padding="same",
             dilation=1, groups=2),
        # "full"
        dict(spatial=(4,) * d, c=1, f=1, kernel=(3,) * d, stride=1, padding="full",
             dilation=1, groups=1),
    ]
    for cfg in cases:
        x = rng.standard_normal((2, *cfg["spatial"], cfg["c"]))
        w = rng.standard_normal((cfg["f"], *cfg["kernel"], cfg["c"] // cfg["groups"]))
        for flip in (False, True):
            case = dict(x=x, w=w, stride=(cfg["stride"],) * d, padding=cfg["padding"],
                        dilation=(cfg["dilation"],) * d, groups=cfg["groups"], flip=flip)
            _run_and_check(case, method, np.float64)


def test_conv_flip_is_true_convolution():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 8, 1))
    w = rng.standard_normal((1, 3, 4, 1))
    y = conv(x, w, flip=True)
    for i in range(2):
        np.testing.assert_allclose(
            y[i, ..., 0], signal.convolve(x[i, ..., 0], w[0, ..., 0], mode="valid"), atol=1e-12
        )


def test_conv_pointwise_matches_reference():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 6, 4)).astype(np.float32)
    w = rng.standard_normal((7, 1, 1, 4)).astype(np.float32)
    y = conv(x, w)
    np.testing.assert_allclose(y, x @ w[:, 0, 0, :].T, rtol=1e-5, atol=1e-5)
    ys = conv(x, w, stride=2)
    np.testing.assert_allclose(ys, x[:, ::2, ::2] @ w[:, 0, 0, :].T, rtol=1e-5, atol=1e-5)
    wg = rng.standard_normal((6, 1, 1, 2)).astype(np.float32)
    yg = conv(x, wg, groups=2)
    case = dict(x=x, w=wg, stride=(1, 1), padding="valid", dilation=(1, 1), groups=2, flip=False)
    assert_close(yg, ref_conv(x, wg, (1, 1), _pads_of(case), (1, 1), 2), np.float32)


def test_conv_dtypes():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(2, 6, 6, 1)).astype(np.uint8)
    w = rng.standard_normal((2, 3, 3, 1))
    y = conv(x, w)
    assert y.dtype == np.float32
    assert_close(y, ref_conv(x, w, (1, 1), ((0, 0), (0, 0)), (1, 1)), np.float32)
    assert conv(x.astype(np.float64), w.astype(np.float32)).dtype == np.float64
    assert conv(x.astype(np.float16), w).dtype == np.float32
    assert conv(x.astype(np.int64), w).dtype == np.float64


@pytest.mark.parametrize("budget", [1, 4096, 20000])
@pytest.mark.parametrize("method", ["gemm", "fft", "direct"])
def test_conv_chunking(monkeypatch, method, budget):
    """Small memory budgets: samples in chunks (20000), single samples split
    along the first output axis (4096: 4 rows, 1: one row), same results."""
    rng = np.random.default_rng(4)
    monkeypatch.setattr(_engine, "_IM2COL_BYTES", budget)
    monkeypatch.setattr(_engine, "_FFT_BYTES", budget)
    monkeypatch.setattr(_engine, "_DIRECT_BYTES", budget)
    x = rng.standard_normal((7, 8, 8, 3))
    w = rng.standard_normal((4, 3, 3, 3))
    y = conv(x, w, padding=1, stride=(1, 2), method=method)
    assert_close(y, ref_conv(x, w, (1, 2), ((1, 1), (1, 1)), (1, 1)), np.float64)
    wg = rng.standard_normal((3, 2, 2, 1))
    y = conv(x, wg, groups=3, method=method)
    assert_close(y, ref_conv(x, wg, (1, 1), ((0, 0), (0, 0)), (1, 1), 3), np.float64)
    # One channel: the (K, rows) column layout of the GEMM path.
    x1 = rng.standard_normal((5, 9, 10, 1)).astype(np.float32)
    w1 = rng.standard_normal((6, 4, 3, 1))
    y = conv(x1, w1, padding="same", method=method)
    assert y.dtype == np.float32
    assert_close(y, ref_conv(x1, w1, (1, 1), ((1, 2), (1, 1)), (1, 1)), np.float32)
    wp = rng.standard_normal((5, 1, 1, 3))
    y = conv(x[:, ::2], wp, method=method)  # non-contiguous pointwise input
    np.testing.assert_allclose(y, x[:, ::2] @ wp[:, 0, 0].T, atol=1e-12)


@pytest.mark.parametrize("budget", [1, 2000, 20000])
def test_chunking_other_variants(monkeypatch, budget):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 7, 6, 2))
    w = rng.standard_normal((3, 3, 2, 2))
    y = rng.standard_normal((5, 4, 6, 3))
    kw = dict(stride=(2, 1), padding="same")
    xt_ref = conv_transpose(y, w, (7, 6), **kw)
    wl = rng.standard_normal((5, 4, 3, 3, 3, 2))
    wt = rng.standard_normal((2, 2, 3, 3, 3, 2))
    local_ref = conv_local(x, wl)
    tiled_ref = conv_tiled(x, wt)
    monkeypatch.setattr(_engine, "_IM2COL_BYTES", budget)
    np.testing.assert_allclose(conv_transpose(y, w, (7, 6), **kw), xt_ref, atol=1e-12)
    np.testing.assert_allclose(conv_local(x, wl), local_ref, atol=1e-12)
    np.testing.assert_allclose(conv_tiled(x, wt), tiled_ref, atol=1e-12)


def _choice(xs, ws, groups=1, stride=1, padding="valid"):
    args = _engine._prepare(np.zeros(xs, np.float32), np.zeros(ws, np.float32), groups,
                            False, stride, padding, 1)
    x, w, _, groups, kernel, stride, dilation, pads, out_sp = args
    return _engine._choose_method(x, w, groups, kernel, stride, dilation, pads, out_sp)


def test_auto_rule_clear_cases(monkeypatch):
    """The cost model picks the obvious path where one path is far ahead (numpy
    paths only: an installation without the compiled module)."""
    monkeypatch.setattr(_engine, "NATIVE", None)
    choice = _choice
    assert choice((200, 16, 16, 64), (128, 1, 1, 64)) == "gemm"  # pointwise
    assert choice((200, 28, 28, 1), (64, 3, 3, 1)) == "gemm"  # many small filters
    assert choice((500, 32, 32, 3), (64, 5, 5, 3)) == "gemm"
    assert choice((1000, 28, 28, 1), (16, 11, 11, 1)) == "gemm"  # the small bank case
    assert choice((50, 64, 64, 1), (4, 21, 21, 1)) == "fft"  # huge kernel, few filters
    assert choice((10, 24, 24, 24, 1), (8, 7, 7, 7, 1)) == "fft"
    assert choice((50, 28, 28, 32), (32, 7, 7, 1), groups=32) == "fft"  # depthwise
    assert choice((50, 28, 28, 32), (32, 3, 3, 1), groups=32) in ("direct", "fft")


@pytest.mark.skipif(_engine.NATIVE is None, reason="built without the compiled module")
def test_auto_rule_with_the_compiled_path():
    assert _choice((200, 16, 16, 64), (128, 1, 1, 64)) == "gemm"  # pointwise
    assert _choice((1000, 28, 28, 1), (16, 11, 11, 1)) == "compiled"  # the small bank
    assert _choice((100, 32, 32, 3), (16, 5, 5, 3)) == "compiled"
    assert _choice((256, 32, 32, 3), (1600, 6, 6, 3)) == "gemm"  # the Coates layer
    assert _choice((50, 64, 64, 1), (4, 21, 21, 1)) == "fft"  # huge kernel, few filters
    # depthwise: vectors of channels (1.9 ms against the FFT's 9.2 on one thread)
    assert _choice((50, 28, 28, 32), (32, 7, 7, 1), groups=32) == "compiled"


def test_compiled_method_without_the_module(monkeypatch):
    monkeypatch.setattr(_engine, "NATIVE", None)
    x, w = np.zeros((2, 6, 6, 1)), np.zeros((3, 3, 3, 1))
    with pytest.raises(ValueError, match="method='compiled' needs skconv's compiled module"):
        conv(x, w, method="compiled")
    assert conv(x, w).shape == (2, 4, 4, 3)  # "auto" works without it


def _instances():
    """The instruction sets of the compiled module this processor can run."""
    if _engine.NATIVE is None:
        return []
    found = []
    for isa in ("generic", "avx2", "avx512f"):
        previous = None
        try:
            previous = _engine.NATIVE.set_isa(isa)
            found.append(isa)
        except ValueError:
            pass
        finally:
            if previous is not None:
                _engine.NATIVE.set_isa(previous)
    return found


@pytest.mark.parametrize("isa", _instances())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_compiled_instance_matches_the_reference(isa, dtype):
    # the module picks one instance at load (the widest vectors the processor
    # has): the others are checked here by switching to them
    rng = np.random.default_rng(9)
    cases = [  # (x shape, w shape, groups, stride, dilation, padding)
        ((3, 30, 1), (5, 4, 1), 1, 1, 1, "valid"),  # 1-D, filters < one vector
        ((2, 28, 28, 1), (16, 11, 11, 1), 1, 1, 1, "valid"),  # the small bank
        ((2, 13, 40, 1), (21, 3, 3, 1), 1, 1, 1, "valid"),  # rows of 38: blocks of 19
        ((2, 12, 11, 6), (34, 3, 2, 3), 2, (2, 3), (1, 2), 1),  # groups, stride, dilation
        ((2, 9, 10, 3), (9, 3, 3, 1), 3, 1, 2, "same"),  # depthwise, 3 per channel, padded
        ((2, 11, 12, 5), (5, 3, 3, 1), 5, (1, 2), 1, "same"),  # depthwise, channels padded to 16
        ((2, 9, 30, 37), (37, 3, 2, 1), 37, 1, (2, 1), "valid"),  # depthwise, 3 vectors, a tail
        ((2, 6, 7, 8, 16), (16, 2, 3, 2, 1), 16, 1, 1, "valid"),  # depthwise 3-D
        ((2, 7, 8, 9, 2), (17, 3, 2, 3, 2), 1, (1, 2, 1), 1, "valid"),  # 3-D
    ]
    previous = _engine.NATIVE.set_isa(isa)
    try:
        for xs, ws, groups, stride, dilation, padding in cases:
            x = rng.standard_normal(xs).astype(dtype)
            w = rng.standard_normal(ws).astype(dtype)
            y = conv(x, w, groups=groups, stride=stride, dilation=dilation, padding=padding,
                     method="compiled")
            d = len(xs) - 2
            pads = resolve_padding(padding, ws[1:-1], stride=stride, dilation=dilation,
                                   input_spatial=xs[1:-1])
            expected = ref_conv(x, w, (stride,) * d if isinstance(stride, int) else stride, pads,
                                (dilation,) * d if isinstance(dilation, int) else dilation, groups)
            assert y.dtype == dtype
            assert_close(y, expected, dtype)
    finally:
        _engine.NATIVE.set_isa(previous)


@pytest.mark.parametrize("isa", _instances())
def test_compiled_blocks_of_every_width(isa):
    # rows of 1 to 50 outputs are cut into blocks of every size the kernels have
    # (one instance each): any size without its instance would leave zeros
    rng = np.random.default_rng(10)
    previous = _engine.NATIVE.set_isa(isa)
    try:
        for f in (5, 16, 33, 70):  # 70: blocks of 4 vectors, then one of 6 filters
            for c, sw in ((1, 1), (1, 2), (3, 1)):
                for ow in list(range(1, 27)) + [37, 49, 50]:
                    x = rng.standard_normal((1, 2, (ow - 1) * sw + 2, c)).astype(np.float32)
                    w = rng.standard_normal((f, 2, 2, c)).astype(np.float32)
                    y = conv(x, w, stride=(1, sw), method="compiled")
                    assert_close(y, ref_conv(x, w, (1, sw), ((0, 0), (0, 0)), (1, 1)), np.float32)
            x = rng.standard_normal((1, 2, 52, f)).astype(np.float32)  # depthwise rows
            w = rng.standard_normal((f, 2, 3, 1)).astype(np.float32)
            for stop in range(3, 53, 7):
                y = conv(x[:, :, :stop], w, groups=f, method="compiled")
                assert_close(y, ref_conv(x[:, :, :stop], w, (1, 1), ((0, 0), (0, 0)), (1, 1), f),
                             np.float32)
    finally:
        _engine.NATIVE.set_isa(previous)


@pytest.mark.skipif(_engine.NATIVE is None, reason="built without the compiled module")
def test_compiled_module_checks_its_buffers():
    native = _engine.NATIVE
    x = np.zeros((2, 1, 6, 6, 1), np.float32)
    w = np.zeros((1, 1, 3, 3, 1, 16), np.float32)
    out = np.zeros((2, 1, 4, 4, 3), np.float32)
    geometry = [2, 1, 6, 6, 1, 1, 1, 3, 16, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 4, 4, 4]
    native.conv(x, w, out, geometry, 0, 2)
    bad = list(geometry)
    bad[19] = 5  # five output rows need a seventh input row
    with pytest.raises(ValueError, match="buffer sizes"):
        native.conv(x, w, np.zeros((2, 1, 5, 4, 3), np.float32), bad, 0, 2)
    with pytest.raises(ValueError, match="sample range"):
        native.conv(x, w, out, geometry, 0, 3)
    with pytest.raises(ValueError, match="22 integers"):
        native.conv(x, w, out, geometry[:-1], 0, 2)
    with pytest.raises(TypeError, match="read-write bytes-like"):
        native.conv(x, w, out[:, :, ::2], geometry, 0, 2)  # not contiguous
    with pytest.raises(TypeError):
        native.conv(x, w, out.tobytes(), geometry, 0, 2)  # read-only output


@pytest.mark.skipif(_engine.NATIVE is None, reason="built without the compiled module")
def test_compiled_path_in_threads_matches_one_call():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 20, 20, 1)).astype(np.float32)
    w = rng.standard_normal((16, 5, 5, 1)).astype(np.float32)
    whole = conv(x, w, method="compiled")
    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(lambda i: conv(x[i:i + 8], w, method="compiled"), range(0, 64, 8)))
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_conv_empty_batch():
    y = conv(np.zeros((0, 5, 5, 2)), np.zeros((3, 2, 2, 2)))
    assert y.shape == (0, 4, 4, 3)


@pytest.mark.parametrize("method", METHODS)
def test_conv_writes_into_out(method):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 9, 8, 2)).astype(np.float32)
    w = rng.standard_normal((5, 3, 2, 2)).astype(np.float32)
    expected = conv(x, w, padding=1, method=method)
    out = np.full(expected.shape, np.nan, dtype=np.float32)
    assert conv(x, w, padding=1, method=method, out=out) is out
    np.testing.assert_array_equal(out, expected)
    for bad in (np.zeros(expected.shape), np.zeros(expected.shape[:-1] + (4,), np.float32),
                np.zeros(expected.shape[::-1], np.float32).T, expected.tolist()):
        with pytest.raises(ValueError, match="out must be a writeable C-contiguous float32"):
            conv(x, w, padding=1, method=method, out=bad)


def test_conv_errors():
    x = np.zeros((2, 6, 6, 4))
    w = np.zeros((4, 3, 3, 4))
    with pytest.raises(ValueError, match="stride"):
        conv(x, w, stride=0)
    with pytest.raises(ValueError, match="dilation"):
        conv(x, w, dilation=(1, -2))
    with pytest.raises(ValueError, match="groups.*c=4"):
        conv(x, np.zeros((3, 3, 3, 4)), groups=3)
    with pytest.raises(ValueError, match="groups.*f=6"):
        conv(x, np.zeros((6, 3, 3, 1)), groups=4)
    with pytest.raises(ValueError, match="groups"):
        conv(x, w, groups=0)
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv(x, np.zeros((4, 7, 3, 4)))
    with pytest.raises(ValueError, match="channels"):
        conv(x, np.zeros((4, 3, 3, 2)))
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        conv(np.zeros((6, 6, 4)), w)
    with pytest.raises(ValueError, match="w must have shape"):
        conv(x, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="method"):
        conv(x, w, method="winograd")
    with pytest.raises(ValueError, match="padding"):
        conv(x, w, padding="circular")



# --------------------------------------------------------------------------
# conv_transpose
# --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(case=conv_cases())
def test_conv_transpose_adjoint(case):
    x, w = case["x"], case["w"]
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups", "flip")}
    y = np.random.default_rng(0).standard_normal(conv(x, w, **kw).shape)
    y0, w0 = y.copy(), w.copy()
    xt = conv_transpose(y, w, x.shape[1:-1], **kw)
    assert xt.shape == x.shape and xt.dtype == np.float64
    lhs = np.vdot(conv(x, w, **kw), y)
    rhs = np.vdot(x, xt)
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, np.abs(x).sum() * np.abs(xt).max())
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize(
    "kw",
    [
        dict(stride=2, padding="valid"),
        dict(stride=(1, 3), padding="same", dilation=(2, 1)),
        dict(stride=1, padding="full", groups=2, flip=True),
        dict(stride=3, padding=((0, 2), (1, 0))),  # stride > kernel: some inputs unused
    ],
)
def test_conv_transpose_explicit_matrix(kw):
    """Build conv as a dense matrix column by column; its transpose must agree."""
    rng = np.random.default_rng(5)
    shape = (1, 5, 4, 2)
    w = rng.standard_normal((4, 2, 2, 2 // kw.get("groups", 1)))
    cols = []
    for i in range(math.prod(shape)):
        e = np.zeros(math.prod(shape))
        e[i] = 1.0
        cols.append(conv(e.reshape(shape), w, **kw).ravel())
    A = np.stack(cols, axis=1)
    out_shape = conv(np.zeros(shape), w, **kw).shape
    y = rng.standard_normal(out_shape)
    xt = conv_transpose(y, w, shape[1:-1], **kw)
    np.testing.assert_allclose(xt.ravel(), A.T @ y.ravel(), atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_transpose_pointwise(stride):
    rng = np.random.default_rng(12)
    w = rng.standard_normal((5, 1, 1, 3))
    y = rng.standard_normal((2, 4 // stride, 6 // stride, 5)).astype(np.float32)
    xt = conv_transpose(y, w, (4, 6), stride=stride)
    expected = np.zeros((2, 4, 6, 3))
    expected[:, ::stride, ::stride] = y @ w[:, 0, 0]
    assert xt.dtype == np.float32
    np.testing.assert_allclose(xt, expected, rtol=1e-5, atol=1e-5)


def test_conv_transpose_float32_and_errors():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((3, 3, 3, 2))
    y = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    xt = conv_transpose(y, w, (9, 9), stride=2)
    assert xt.dtype == np.float32 and xt.shape == (2, 9, 9, 2)
    np.testing.assert_allclose(xt, conv_transpose(y.astype(np.float64), w, (9, 9), stride=2),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="spatial shape"):
        conv_transpose(y, w, (10, 12), stride=2)
    with pytest.raises(ValueError, match="f=3"):
        conv_transpose(y[..., :2], w, (9, 9), stride=2)
    with pytest.raises(ValueError, match="y must have 4 dimensions"):
        conv_transpose(y[0], w, (9, 9), stride=2)
    with pytest.raises(ValueError, match="groups"):
        conv_transpose(y, w, (9, 9), stride=2, groups=2)
    with pytest.raises(ValueError, match="stride"):
        conv_transpose(y, w, (9, 9), stride=0)


# --------------------------------------------------------------------------
# channel_shuffle
# --------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(groups=st.integers(1, 4), per=st.integers(1, 4), lead=st.integers(0, 2))
def test_channel_shuffle_permutation(groups, per, lead):
    c = groups * per
    x = np.random.default_rng(c).standard_normal((2,) * lead + (c,))
    x0 = x.copy()
    s = channel_shuffle(x, groups)
    perm = channel_shuffle(np.arange(c), groups)
    np.testing.assert_array_equal(np.sort(perm), np.arange(c))
    np.testing.assert_array_equal(s, x[..., perm])
    # Channel ch of group g lands at position ch * groups + g.
    for g in range(groups):
        for ch in range(per):
            assert perm[ch * groups + g] == g * per + ch
    np.testing.assert_array_equal(channel_shuffle(s, per), x)
    np.testing.assert_array_equal(x, x0)


def test_channel_shuffle_errors():
    with pytest.raises(ValueError, match=r"groups must divide the number of channels c=6, got 4"):
        channel_shuffle(np.zeros((2, 6)), 4)
    with pytest.raises(ValueError, match="groups"):
        channel_shuffle(np.zeros((2, 6)), 0)


# --------------------------------------------------------------------------
# Separable, locally connected and tiled convolution
# --------------------------------------------------------------------------


def _outer_kernels(factors):
    """(f, *kernel) outer products of the factors of each filter."""
    full = factors[0]
    for fa in factors[1:]:
        full = full[..., None] * fa.reshape((fa.shape[0],) + (1,) * (full.ndim - 1) + (-1,))
    return full


def _full_kernels(factors, cw):
    """(f, *kernel, cg) kernels of rank-r factors (f, r, k_i) and channel weights (f, r, cg)."""
    f, r = factors[0].shape[:2]
    terms = _outer_kernels([fa.reshape(f * r, -1) for fa in factors] + [cw.reshape(f * r, -1)])
    return terms.reshape((f, r) + terms.shape[1:]).sum(axis=1)


@settings(max_examples=40, deadline=None)
@given(case=conv_cases(), rank=st.integers(1, 3), ones=st.booleans())
def test_conv_separable_equals_full_kernel(case, rank, ones):
    x, groups = case["x"], case["groups"]
    f, c = case["w"].shape[0], x.shape[-1]
    cg = c // groups
    rng = np.random.default_rng(7)
    kernel = case["w"].shape[1:-1]
    factors = [rng.standard_normal((f, rank, k)) for k in kernel]
    cw = rng.standard_normal((f, rank, cg))
    if ones and cg == 1:
        cw = np.ones_like(cw)
    geo = {k: case[k] for k in ("stride", "padding", "dilation")}
    x0, factors0, cw0 = x.copy(), [fa.copy() for fa in factors], cw.copy()
    y = conv_separable(x, factors, None if ones and cg == 1 else cw, groups=groups, **geo)
    full = _full_kernels(factors, cw)
    expected = ref_conv(x, full, case["stride"], _pads_of(case), case["dilation"], groups)
    assert y.shape == expected.shape
    assert y.flags.c_contiguous
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(cw, cw0)
    for fa, fa0 in zip(factors, factors0):
        np.testing.assert_array_equal(fa, fa0)


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("kw", [dict(), dict(stride=3, padding="same", dilation=2)])
def test_conv_separable_long_axes(kw, groups):
    # axes longer than 4 kernels take im2col (one-channel terms) or tap-by-tap
    # passes instead of band matrices
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 120, 40, 2))
    factors = [rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 2))]
    cw = rng.standard_normal((4, 2, 2 // groups))
    y = conv_separable(x, factors, cw, groups=groups, **kw)
    pads = resolve_padding(kw.get("padding", "valid"), (3, 2), stride=kw.get("stride", 1),
                           dilation=kw.get("dilation", 1), input_spatial=(120, 40))
    stride = (kw.get("stride", 1),) * 2
    dilation = (kw.get("dilation", 1),) * 2
    expected = ref_conv(x, _full_kernels(factors, cw), stride, pads, dilation, groups)
    np.testing.assert_allclose(y, expected, atol=1e-10)


def test_conv_separable_float32_chunks_and_errors(monkeypatch):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 9, 8, 1)).astype(np.float32)
    factors = [rng.standard_normal((3, 3)), rng.standard_normal((3, 2))]
    y = conv_separable(x, factors, padding="same")
    assert y.dtype == np.float32
    expected = conv(x.astype(np.float64), _outer_kernels(factors)[..., None], padding="same")
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    # chunks of samples give the same result
    monkeypatch.setattr(_engine, "_SEPARABLE_BYTES", 1)
    np.testing.assert_array_equal(conv_separable(x, factors, padding="same"), y)
    with pytest.raises(ValueError, match="factors"):
        conv_separable(x, [rng.standard_normal((3, 3)), rng.standard_normal((2, 2))])
    with pytest.raises(ValueError, match="factors"):
        conv_separable(x, rng.standard_normal((3, 3)))
    with pytest.raises(ValueError, match="channel_weights"):
        conv_separable(x, factors, np.ones((3, 2)))
    with pytest.raises(ValueError, match="channel_weights must be given"):
        conv_separable(np.zeros((1, 5, 5, 2)), factors)
    with pytest.raises(ValueError, match="1 term"):
        conv_separable(x, factors, np.ones((3, 2, 1)))
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        conv_separable(x, factors[:1])


@settings(max_examples=30, deadline=None)
@given(case=conv_cases(groups=1))
def test_conv_local(case):
    x, w = case["x"], case["w"]
    d = x.ndim - 2
    geo = {k: case[k] for k in ("stride", "padding", "dilation")}
    y = conv(x, w, **geo)
    out_sp = y.shape[1:-1]
    # Same weights everywhere: an ordinary convolution.
    shared = np.broadcast_to(w, out_sp + w.shape).copy()
    s0 = shared.copy()
    np.testing.assert_allclose(conv_local(x, shared, **geo), y, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(shared, s0)
    # Different weights per position: a naive loop.
    wl = np.random.default_rng(9).standard_normal(out_sp + w.shape)
    np.testing.assert_allclose(
        conv_local(x, wl, **geo),
        naive_local(x, wl, case["stride"], _pads_of(case), case["dilation"]),
        rtol=1e-10, atol=1e-10,
    )
    assert d == len(out_sp)


@settings(max_examples=30, deadline=None)
@given(case=conv_cases(groups=1), tile_seed=st.integers(0, 1000))
def test_conv_tiled(case, tile_seed):
    x, w = case["x"], case["w"]
    d = x.ndim - 2
    geo = {k: case[k] for k in ("stride", "padding", "dilation")}
    y = conv(x, w, **geo)
    out_sp = y.shape[1:-1]
    x0 = x.copy()
    # tile = (1, ..., 1): one shared bank, an ordinary convolution.
    np.testing.assert_allclose(conv_tiled(x, w.reshape((1,) * d + w.shape), **geo), y,
                               rtol=1e-10, atol=1e-10)
    rng = np.random.default_rng(tile_seed)
    tile = tuple(int(t) for t in rng.integers(1, 4, size=d))
    wt = rng.standard_normal(tile + w.shape)
    wt0 = wt.copy()
    # Position p uses w[p mod tile]: the same as locally connected weights.
    wl = np.empty(out_sp + w.shape)
    for pos in itertools.product(*[range(o) for o in out_sp]):
        wl[pos] = wt[tuple(p % t for p, t in zip(pos, tile))]
    np.testing.assert_allclose(conv_tiled(x, wt, **geo), conv_local(x, wl, **geo),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(wt, wt0)


def test_local_tiled_float32_and_errors():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((3, 6, 5, 2)).astype(np.float32)
    wl = rng.standard_normal((5, 2, 2, 3, 3, 2))
    y = conv_local(x, wl, padding=((0, 1), (1, 0)), stride=(1, 2))
    assert y.dtype == np.float32 and y.shape == (3, 5, 2, 2)
    np.testing.assert_allclose(
        y, naive_local(x.astype(np.float64), wl, (1, 2), ((0, 1), (1, 0)), (1, 1)),
        rtol=1e-4, atol=1e-4)
    assert conv_tiled(x, rng.standard_normal((2, 2, 2, 3, 3, 2))).dtype == np.float32
    with pytest.raises(ValueError, match="one filter bank per output position"):
        conv_local(x, rng.standard_normal((3, 3, 2, 3, 3, 2)))
    with pytest.raises(ValueError, match="input channels"):
        conv_local(x, rng.standard_normal((4, 3, 2, 3, 3, 1)))
    with pytest.raises(ValueError, match="w must be a real array"):
        conv_tiled(x, rng.standard_normal((2, 2, 3, 3, 2)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv_tiled(x, rng.standard_normal((1, 1, 2, 7, 3, 2)))


def test_conv_transpose_pointwise_with_stride_and_padding():
    # Stride 2 and padding 1 keep a length of 2 with a 1-wide kernel: the output
    # has the input's shape, but the map is not the pointwise identity layout.
    x = np.array([0.12573022, -0.13210486]).reshape(1, 2, 1)
    w = np.array([0.64042265]).reshape(1, 1, 1)
    y = np.array([0.3, -0.7]).reshape(1, 2, 1)
    kw = dict(stride=2, padding=1)
    np.testing.assert_allclose(conv(x, w, **kw)[0, :, 0], [0.0, -0.13210486 * 0.64042265])
    xt = conv_transpose(y, w, (2,), **kw)
    np.testing.assert_allclose(xt[0, :, 0], [0.0, -0.7 * 0.64042265])
    np.testing.assert_allclose(np.vdot(conv(x, w, **kw), y), np.vdot(x, xt))
