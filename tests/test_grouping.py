"""Channel similarity and grouping (skconv._grouping)."""


import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from skconv import (
    Conv,
    channel_similarity,
    group_channels,
)

from _reference import latent_family_maps


def test_similarity_is_the_correlation_of_squared_standardized_responses():
    rng = np.random.default_rng(1)
    maps = rng.standard_normal((6, 5, 4, 5)) ** 3
    maps[..., 4] = 2.0  # a constant channel
    S = channel_similarity(maps, n_positions=10**6)  # every position is used
    R = maps.reshape(-1, 5)
    expected = np.eye(5)
    for j in range(4):
        for k in range(4):
            zj = (R[:, j] - R[:, j].mean()) / R[:, j].std()
            zk = (R[:, k] - R[:, k].mean()) / R[:, k].std()
            expected[j, k] = np.mean(zj**2 * zk**2 - 1) / np.sqrt(
                np.mean(zj**4 - 1) * np.mean(zk**4 - 1)
            )
    np.testing.assert_allclose(S, expected, rtol=1e-10, atol=1e-12)


def test_correlation_grouping_recovers_the_latent_families():
    maps, family = latent_family_maps()
    for seed in range(5):
        groups = group_channels(maps, n_groups=3, group_size=4, random_state=seed)
        for group in groups:
            # the seed channel first, then exactly the other members of its family
            assert set(group) == set(np.flatnonzero(family == family[group[0]]))
    S = channel_similarity(maps, n_positions=3000, random_state=0)
    same = family[:, None] == family[None, :]
    assert S[same].min() > 0.8 and np.abs(S[~same]).max() < 0.2


def test_grouping_of_lazy_maps_equals_grouping_of_the_array():
    maps, _ = latent_family_maps(seed=2, n=30)
    lazy = Conv(np.eye(12).reshape(12, 1, 1, 12), batch_size=7).fit_transform(maps)
    for method in ("correlation", "random"):
        a = group_channels(lazy, 4, 3, method=method, n_positions=500, random_state=4)
        b = group_channels(maps, 4, 3, method=method, n_positions=500, random_state=4)
        np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(
    n_channels=st.integers(1, 12),
    n_groups=st.integers(1, 12),
    size=st.integers(1, 12),
    seed=st.integers(0, 1000),
    method=st.sampled_from(["correlation", "random"]),
)
def test_groups_are_valid_channel_sets(n_channels, n_groups, size, seed, method):
    maps = np.random.default_rng(seed).random((3, 4, 4, n_channels))
    if size > n_channels or (method == "correlation" and n_groups > n_channels):
        with pytest.raises(ValueError, match="n_groups|group_size"):
            group_channels(maps, n_groups, size, method=method, random_state=seed)
        return
    groups = group_channels(maps, n_groups, size, method=method, random_state=seed)
    assert groups.shape == (n_groups, size)
    assert all(len(set(g)) == size for g in groups)  # no channel twice in a group
    assert groups.min() >= 0 and groups.max() < n_channels
    if method == "correlation":
        assert len(set(groups[:, 0])) == n_groups  # distinct seed channels
    again = group_channels(maps, n_groups, size, method=method, random_state=seed)
    np.testing.assert_array_equal(groups, again)


def test_group_channels_errors():
    with pytest.raises(ValueError, match="channel axis"):
        group_channels(np.zeros((5, 4)), 1, 1)
    with pytest.raises(ValueError, match="grouping must be one of"):
        group_channels(np.zeros((5, 4, 2)), 1, 1, method="nearest")
    with pytest.raises(TypeError, match="n_groups"):
        group_channels(np.zeros((5, 4, 2)), 1.5, 1)
