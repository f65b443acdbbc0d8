"""ReceptiveFieldConv: one layer per group of similar channels."""


import numpy as np
import pytest
from sklearn.base import clone

from skconv import (
    FeatureMaps,
    KMeansConv,
    Pool,
    RandomConv,
    ReceptiveFieldConv,
)

from _reference import latent_family_maps


def test_receptive_field_conv_equals_groups_fitted_by_hand():
    maps, family = latent_family_maps(n=40)
    inner = KMeansConv(3, 2, n_patches=600, max_iter=5, random_state=5)
    layer = ReceptiveFieldConv(inner, n_groups=3, group_size=4, random_state=0).fit(maps)
    assert layer.groups_.shape == (3, 4) and layer.similarity_.shape == (12, 12)
    for group in layer.groups_:
        assert set(group) == set(np.flatnonzero(family == family[group[0]]))
    out = layer.transform(maps)
    assert isinstance(out, FeatureMaps) and out.shape == (40, 9, 9, 9)
    assert layer.n_output_channels_ == 9
    expected = np.concatenate(
        [np.asarray(clone(inner).fit(maps[..., g]).transform(maps[..., g]))
         for g in layer.groups_],
        axis=-1,
    )
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[7], expected[7], rtol=1e-5, atol=1e-6)
    # random grouping: same machinery, random channel subsets
    rand = ReceptiveFieldConv(inner, n_groups=5, group_size=2, grouping="random",
                              random_state=0).fit(maps)
    assert rand.similarity_ is None and rand.transform(maps).shape == (40, 9, 9, 15)


def test_receptive_field_conv_seeds_its_clones_and_checks_input():
    maps, _ = latent_family_maps(n=20)
    layer = ReceptiveFieldConv(RandomConv(2, 3), n_groups=2, group_size=3, random_state=1)
    a = np.asarray(layer.fit_transform(maps))
    b = np.asarray(clone(layer).fit_transform(maps))
    np.testing.assert_array_equal(a, b)
    seeds = [est.random_state for est in layer.estimators_]
    assert len(set(seeds)) == 2 and layer.estimator.random_state is None
    with pytest.raises(ValueError, match=r"X must have 12 channels as at fit, got 5 \(ReceptiveFieldConv was fitted on"):
        layer.transform(maps[..., :5])
    with pytest.raises(ValueError, match="group_size=13 is more than the 12 channels"):
        ReceptiveFieldConv(RandomConv(2, 3), n_groups=1, group_size=13).fit(maps)
    with pytest.raises(ValueError, match="n_groups=13 is more than the 12 channels"):
        ReceptiveFieldConv(RandomConv(2, 3), n_groups=13, group_size=1).fit(maps)
    with pytest.raises(TypeError, match="estimator must be a transformer instance, got the class RandomConv"):
        ReceptiveFieldConv(RandomConv).fit(maps)
    with pytest.raises(ValueError, match="grouping must be one of"):
        ReceptiveFieldConv(RandomConv(2, 3), grouping="kmeans").fit(maps)


def test_receptive_field_conv_on_variable_size_maps():
    rng = np.random.default_rng(3)
    samples = [rng.random((h, 9, 6)).astype(np.float32) for h in (7, 9, 8)]
    layer = ReceptiveFieldConv(RandomConv(2, 3, random_state=0), n_groups=2, group_size=3,
                               random_state=0).fit(samples)
    out = layer.transform(samples)
    assert out.shape == (3, None, None, 4)
    for i, x in enumerate(samples):
        expected = np.concatenate(
            [np.asarray(est.transform(x[None, ..., g]))[0]
             for est, g in zip(layer.estimators_, layer.groups_)],
            axis=-1,
        )
        np.testing.assert_allclose(out[i], expected, rtol=1e-6)
    pooled = Pool(pyramid=(1, 2)).fit_transform(out)
    assert pooled.shape == (3, 5 * 4)


def test_receptive_field_conv_computes_lazy_input_once_at_fit():
    # With lazy input (a lower layer's output), every group's clone draws its
    # patches from the input: fit must compute the lower layer once, not once per
    # group, and learn exactly what it learns from the same maps as an array.
    maps, _ = latent_family_maps(n=30)
    computed = []

    def lower_layer(batch):
        computed.append(len(batch))
        return batch * 2.0

    lazy = FeatureMaps(maps, lower_layer, out_spatial=maps.shape[1:-1],
                       n_channels=maps.shape[-1], dtype=maps.dtype, batch_size=7, n_jobs=None)
    inner = KMeansConv(3, 2, n_patches=300, max_iter=5, random_state=5)
    layer = ReceptiveFieldConv(inner, n_groups=3, group_size=4, random_state=0).fit(lazy)
    assert sum(computed) == len(maps)
    direct = ReceptiveFieldConv(inner, n_groups=3, group_size=4, random_state=0).fit(maps * 2.0)
    np.testing.assert_array_equal(layer.groups_, direct.groups_)
    for a, b in zip(layer.estimators_, direct.estimators_):
        np.testing.assert_array_equal(a.filters_, b.filters_)
    # transform stays lazy
    computed.clear()
    out = layer.transform(lazy)
    assert computed == [] and isinstance(out, FeatureMaps)


@pytest.mark.parametrize("encoding", ["triangle", "soft_threshold", "relu", "hard", "split", None])
def test_receptive_field_conv_batched_groups_equal_clones_one_by_one(encoding):
    # KMeansConv clones are computed together (one patch copy, one batched product
    # per chunk of groups): each group's maps must be those of its own clone.
    maps, _ = latent_family_maps(n=25)
    inner = KMeansConv(5, 3, n_patches=500, max_iter=5, encoding=encoding, padding="same")
    layer = ReceptiveFieldConv(inner, n_groups=6, group_size=3, grouping="random",
                               random_state=0).fit(maps)
    assert layer._batched is not None
    expected = np.concatenate(
        [np.asarray(est.transform(maps[..., g])) for est, g in zip(layer.estimators_,
                                                                      layer.groups_)],
        axis=-1,
    )
    got = np.asarray(layer.transform(maps))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # neither the batch size nor the threads change the maps
    for params in ({"batch_size": 1}, {"batch_size": 7, "n_jobs": 2}):
        again = clone(layer).set_params(**params).fit(maps)
        np.testing.assert_array_equal(np.asarray(again.transform(maps)), got)


def test_receptive_field_conv_falls_back_to_clones_when_they_differ():
    # clones of another class, or whose geometry differs, are called one by one
    maps, _ = latent_family_maps(n=12)
    layer = ReceptiveFieldConv(RandomConv(2, 3, random_state=0), n_groups=2, group_size=3,
                               random_state=0).fit(maps)
    assert layer._batched is None
    from skconv._kmeans_conv import FoldedTransform
    a = KMeansConv(3, 2, n_patches=200, random_state=0).fit(maps[..., :3])
    b = KMeansConv(3, 2, n_patches=200, stride=2, random_state=0).fit(maps[..., :3])
    assert KMeansConv._grouped_transform([a, b], [[0, 1, 2], [3, 4, 5]]) is None
    assert FoldedTransform.key(a) != FoldedTransform.key(b)
