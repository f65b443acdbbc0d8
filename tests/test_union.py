"""MapUnion: the maps of several transformers side by side."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skconv import EdgeConv, FeatureMaps, MapUnion, Pool, RandomConv


def _images(n=4, shape=(12, 11)):
    return np.random.default_rng(0).random((n,) + shape).astype(np.float32)


def test_the_union_is_its_parts_side_by_side_and_lazy():
    X = _images()
    parts = [("edges", EdgeConv("sobel", padding="same", encoding="abs")),
             ("random", RandomConv(3, 3, padding="same", random_state=0)),
             ("blur", Pool(size=(3, 3), stride=1, padding="same", method="mean"))]
    union = MapUnion(parts).fit(X)
    out = union.transform(X)
    assert isinstance(out, FeatureMaps) and out.shape == (4, 12, 11, 6)
    expected = np.concatenate(
        [np.asarray(est.fit(X).transform(X)).reshape(4, 12, 11, -1) for _, est in parts], axis=-1
    )
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-6)
    assert union.n_output_channels_ == 6


def test_each_batch_of_the_input_is_read_once():
    X = _images(n=6)
    conv = RandomConv(2, 3, padding="same", random_state=0, batch_size=2).fit(X)
    seen = []
    original = conv._transform_batch

    def counting(x):
        seen.append(len(x))
        return original(x)

    conv._transform_batch = counting
    maps = conv.transform(X)
    union = MapUnion([Pool(size=1), Pool(size=3, stride=1, padding="same", method="max")],
                     batch_size=3).fit(maps)
    seen.clear()
    np.asarray(union.transform(maps))
    assert sum(seen) == 6  # the lower layer computed once per sample, not once per part


def test_nested_parameters_reach_the_parts():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    pipe = Pipeline([
        ("conv", RandomConv(4, 3, padding="same", input_shape=(8, 8), random_state=0)),
        ("union", MapUnion([("a", Pool(size=1)), ("b", Pool(size=3, stride=1, padding="same"))])),
        ("pool", Pool(grid=2)),
        ("clf", LogisticRegression(max_iter=3000)),
    ])
    assert pipe.get_params()["union__b__method"] == "sum"
    search = GridSearchCV(pipe, {"union__b__method": ["sum", "max"]}, cv=2).fit(X[:200], y[:200])
    assert search.best_params_["union__b__method"] in ("sum", "max")


def test_maps_of_different_sizes_are_refused_with_the_fix():
    X = _images()
    union = MapUnion([RandomConv(2, 3, random_state=0), RandomConv(2, 3, padding="same",
                                                                   random_state=0)])
    with pytest.raises(ValueError, match="padding='same'"):
        union.fit(X)
    with pytest.raises(ValueError, match="at least one transformer"):
        MapUnion([]).fit(X)
    with pytest.raises(TypeError, match="transformer '0' must be a transformer instance"):
        MapUnion([Pool]).fit(X)
