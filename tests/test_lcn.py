import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import GaborConv, RandomConv
from skconv._lcn import LocalContrastNorm
from skconv._maps import FeatureMaps
from skconv._pool import Pool

# scipy.ndimage mode -> numpy.pad mode
NP_MODE = {
    "reflect": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
    "constant": "constant",
}


def reference_lcn(x, size, sigma, *, subtractive=True, divisive=True, across=True,
                  eps=1e-6, mode="reflect"):
    """Jarrett et al.'s formulas with an explicit window of weights, in float64."""
    x = np.asarray(x, dtype=np.float64)
    d = x.ndim - 2
    r = size // 2
    g = np.exp(-((np.arange(size) - r) ** 2) / (2 * sigma**2))
    g /= g.sum()
    W = g
    for _ in range(d - 1):
        W = np.multiply.outer(W, g)
    if across:
        W = W / x.shape[-1]  # the weights sum to 1 over the window and the channels

    def local_sum(a):
        pad = ((0, 0),) + ((r, r),) * d + ((0, 0),)
        ap = np.pad(a, pad, mode=NP_MODE[mode])
        out = np.zeros_like(a)
        for offset in np.ndindex(*(size,) * d):
            window = tuple(slice(o, o + n) for o, n in zip(offset, a.shape[1:-1]))
            out += W[offset] * ap[(slice(None),) + window]
        return out.sum(axis=-1, keepdims=True) if across else out

    v = x - local_sum(x) if subtractive else x
    if divisive:
        sigma_map = np.sqrt(local_sum(v**2))
        c = sigma_map.mean(axis=tuple(range(1, d + 1)), keepdims=True)
        v = v / np.maximum(np.maximum(sigma_map, c), eps)
    return v


@settings(max_examples=30, deadline=None)
@given(
    d=st.integers(1, 3),
    n=st.integers(1, 3),
    c=st.integers(1, 3),
    side=st.integers(2, 7),
    half=st.integers(0, 2),
    sigma=st.floats(0.5, 3.0),
    subtractive=st.booleans(),
    divisive=st.booleans(),
    across=st.booleans(),
    mode=st.sampled_from(sorted(NP_MODE)),
    seed=st.integers(0, 2**16),
)
def test_matches_reference(d, n, c, side, half, sigma, subtractive, divisive, across, mode, seed):
    size = 2 * half + 1
    x = np.random.RandomState(seed).rand(n, *(side,) * d, c)
    lcn = LocalContrastNorm(
        size, sigma=sigma, subtractive=subtractive, divisive=divisive,
        across_channels=across, mode=mode,
    )
    out = lcn.fit_transform(x)
    ref = reference_lcn(
        x, size, sigma, subtractive=subtractive, divisive=divisive, across=across, mode=mode
    )
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-12)


def test_default_sigma_and_float32():
    x = np.random.RandomState(0).rand(2, 12, 10, 3).astype(np.float32)
    out = LocalContrastNorm().fit_transform(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, reference_lcn(x, 9, 9 / 4), rtol=1e-4, atol=1e-5)


def test_brightness_and_contrast_invariance():
    x = np.random.RandomState(0).rand(3, 16, 16, 2)
    lcn = LocalContrastNorm(7).fit(x)
    out = lcn.transform(x)
    np.testing.assert_allclose(lcn.transform(x + 5.0), out, atol=1e-10)
    np.testing.assert_allclose(lcn.transform(3.0 * x), out, atol=1e-10)
    # flat samples become zeros, not NaN
    np.testing.assert_array_equal(lcn.transform(np.full_like(x, 2.0)), 0)


def test_lazy_feature_maps_in_and_out():
    X = load_digits().images[:40]
    conv = RandomConv(6, 3, padding="same", encoding="relu", random_state=0, batch_size=16)
    maps = conv.fit_transform(X)
    lcn = LocalContrastNorm(5, sigma=1.0).fit(maps)
    out = lcn.transform(maps)
    assert isinstance(out, FeatureMaps) and out.shape == maps.shape and out.dtype == np.float32
    dense = lcn.transform(np.asarray(maps))
    np.testing.assert_allclose(np.asarray(out), dense, rtol=1e-6)
    np.testing.assert_allclose(out[3], dense[3], rtol=1e-6)
    np.testing.assert_allclose(
        dense, reference_lcn(np.asarray(maps), 5, 1.0), rtol=1e-4, atol=1e-5
    )


def test_layouts():
    rng = np.random.RandomState(0)
    imgs = rng.rand(4, 9, 11)
    ref = LocalContrastNorm(5).fit_transform(imgs[..., None])[..., 0]
    # (n, H, W) with a 2-D window: the channel axis is implied and dropped again
    np.testing.assert_allclose(LocalContrastNorm((5, 5)).fit_transform(imgs), ref)
    flat = LocalContrastNorm(5, input_shape=(9, 11, 1)).fit_transform(imgs.reshape(4, -1))
    np.testing.assert_allclose(flat, ref.reshape(4, -1))
    # 2-D input without input_shape: single-channel signals
    signals = rng.rand(3, 30)
    np.testing.assert_allclose(
        LocalContrastNorm(5).fit_transform(signals),
        reference_lcn(signals[..., None], 5, 5 / 4)[..., 0],
    )
    # samples of different sizes: each normalized with its own statistics
    varied = [rng.rand(8, 8, 2), rng.rand(12, 6, 2)]
    out = LocalContrastNorm(3).fit_transform(varied)
    assert isinstance(out, list)
    for o, v in zip(out, varied):
        np.testing.assert_allclose(o, reference_lcn(v[None], 3, 0.75)[0])


def test_errors():
    x = np.random.RandomState(0).rand(2, 8, 8, 3)
    with pytest.raises(ValueError, match="size must be odd"):
        LocalContrastNorm(4).fit(x)
    with pytest.raises(ValueError, match="mode must be one of"):
        LocalContrastNorm(mode="zero").fit(x)
    with pytest.raises(TypeError, match="divisive must be a bool"):
        LocalContrastNorm(divisive="yes").fit(x)
    with pytest.raises(ValueError, match="sigma must be a number or a tuple of 2"):
        LocalContrastNorm((3, 3), sigma=(1.0, 1.0, 1.0)).fit(x)
    lcn = LocalContrastNorm(3).fit(x)
    with pytest.raises(ValueError, match="fitted on 3 channels"):
        lcn.transform(x[..., :2])
    with pytest.raises(ValueError, match="fitted on 2-D maps"):
        lcn.transform(x[:, 0])


def test_in_pipeline_on_digits():
    data = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        data.images, data.target, test_size=0.3, random_state=0, stratify=data.target
    )
    pipe = Pipeline(
        [
            ("conv", GaborConv((0.25, 0.4), 6, kernel_size=5, padding="same", part="magnitude")),
            ("lcn", LocalContrastNorm(5, sigma=1.0)),
            ("pool", Pool(grid=(3, 3))),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=0.1, max_iter=2000)),
        ]
    )
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) >= 0.95


