"""ChannelShuffle: the permutation, its inverse, lazy maps, layouts and errors."""

import numpy as np
import pytest

from skconv import ChannelShuffle, FeatureMaps, Pool, RandomConv


@pytest.mark.parametrize("groups, per", [(1, 5), (2, 3), (4, 2), (3, 1)])
def test_channel_of_group_g_moves_to_ch_times_groups_plus_g(groups, per):
    c = groups * per
    X = np.random.default_rng(0).random((3, 5, 4, c))
    X0 = X.copy()
    est = ChannelShuffle(groups=groups).fit(X)
    out = est.transform(X)
    for g in range(groups):
        for ch in range(per):
            np.testing.assert_array_equal(out[..., ch * groups + g], X[..., g * per + ch])
    np.testing.assert_array_equal(out, X[..., est.permutation_])
    np.testing.assert_array_equal(est.inverse_transform(out), X)
    np.testing.assert_array_equal(X, X0)


def test_lazy_on_feature_maps_and_layouts():
    X = np.random.default_rng(1).random((7, 10, 10)).astype(np.float32)
    conv = RandomConv(6, 3, groups=1, random_state=0).fit(X)
    maps = conv.transform(X)
    out = ChannelShuffle(groups=3).fit(maps).transform(maps)
    assert isinstance(out, FeatureMaps) and out.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(out), np.asarray(maps)[..., [0, 2, 4, 1, 3, 5]])
    # 1-D maps, lists of maps of different sizes, flat input with input_shape
    sig = np.arange(12.0).reshape(1, 3, 4)
    assert ChannelShuffle(2).fit_transform(sig)[0, 0].tolist() == [0, 2, 1, 3]
    parts = ChannelShuffle(2).fit_transform([sig[0], sig[0, :2]])
    assert [p.shape for p in parts] == [(3, 4), (2, 4)]
    flat = ChannelShuffle(2, input_shape=(3, 4)).fit_transform(sig.reshape(1, -1))
    assert flat.shape == (1, 12) and flat[0, :4].tolist() == [0, 2, 1, 3]
    feats = Pool(grid=1).fit_transform(out)
    assert feats.shape == (7, 6)


def test_errors():
    X = np.zeros((2, 4, 4, 6))
    with pytest.raises(ValueError, match=r"groups must divide the number of channels \(6\), got 4"):
        ChannelShuffle(4).fit(X)
    with pytest.raises(TypeError, match="groups must be an int"):
        ChannelShuffle(2.0).fit(X)
    est = ChannelShuffle(2).fit(X)
    with pytest.raises(ValueError, match="6 channels as at fit"):
        est.transform(np.zeros((2, 4, 4, 4)))
