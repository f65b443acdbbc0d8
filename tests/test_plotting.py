import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from skconv.filters import gabor_bank, random_bank  # noqa: E402
from skconv.plotting import plot_feature_maps, plot_filters  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def normalized(a):
    a = np.asarray(a, dtype=np.float64)
    return (a - a.min()) / (a.max() - a.min())


def images_of(fig):
    return [ax.get_images()[0].get_array() for ax in fig.axes]


def test_plot_filters_grayscale_grid(tmp_path):
    bank = gabor_bank((0.1, 0.2), 5)  # 10 filters -> a 4 x 3 grid with 2 empty cells removed
    fig = plot_filters(bank)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 10
    assert all(len(ax.get_images()) == 1 for ax in fig.axes)
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (3, 4)
    for tile, kernel in zip(images_of(fig), bank):
        np.testing.assert_allclose(tile, normalized(kernel[..., 0]))
        assert tile.min() == 0 and tile.max() == 1
    assert fig.axes[0].get_images()[0].get_cmap().name == "gray"
    path = tmp_path / "filters.png"
    fig.savefig(path)
    assert path.stat().st_size > 0
    assert plt.imread(path).ndim == 3


def test_plot_filters_colour_and_max_filters(tmp_path):
    bank = random_bank(80, 5, 3, random_state=0)
    fig = plot_filters(bank, ncols=10)
    assert len(fig.axes) == 64  # max_filters
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (7, 10)
    tiles = images_of(fig)
    assert tiles[0].shape == (5, 5, 3)
    for tile, kernel in zip(tiles, bank):
        np.testing.assert_allclose(tile, normalized(kernel))  # the three channels rescaled jointly
    fig.savefig(tmp_path / "colour.png")
    fig = plot_filters(bank, max_filters=4, channel=2)
    assert len(fig.axes) == 4
    np.testing.assert_allclose(images_of(fig)[1], normalized(bank[1, ..., 2]))


def test_plot_filters_other_channel_counts_show_the_mean():
    bank = random_bank(3, 4, 5, random_state=1)
    fig = plot_filters(bank)
    for tile, kernel in zip(images_of(fig), bank):
        np.testing.assert_allclose(tile, normalized(kernel.mean(axis=-1)))


def test_plot_filters_1d_curves(tmp_path):
    bank = random_bank(6, (9,), 1, random_state=0)
    fig = plot_filters(bank)
    assert len(fig.axes) == 6
    for ax, kernel in zip(fig.axes, bank):
        (line,) = ax.get_lines()
        np.testing.assert_array_equal(line.get_ydata(), kernel[:, 0])
        assert not ax.get_images()
    colour = random_bank(2, (7,), 3, random_state=0)
    fig = plot_filters(colour)
    for ax, kernel in zip(fig.axes, colour):
        lines = ax.get_lines()
        assert len(lines) == 3
        for c, line in enumerate(lines):
            np.testing.assert_array_equal(line.get_ydata(), kernel[:, c])
    fig.savefig(tmp_path / "curves.png")


def test_plot_filters_3d_middle_slice():
    bank = random_bank(4, (5, 4, 3), 1, random_state=0)
    fig = plot_filters(bank)
    for tile, kernel in zip(images_of(fig), bank):
        assert tile.shape == (4, 3)
        np.testing.assert_allclose(tile, normalized(kernel[2, ..., 0]))


def test_plot_filters_constant_and_complex_filters():
    bank = np.zeros((2, 3, 3, 1))
    bank[1, 1, 1, 0] = 2.0
    tiles = images_of(plot_filters(bank))
    np.testing.assert_array_equal(tiles[0], np.full((3, 3), 0.5))
    np.testing.assert_array_equal(tiles[1], bank[1, ..., 0] / 2)
    complex_bank = gabor_bank(0.2, 3, part="complex")
    tiles = images_of(plot_filters(complex_bank))
    np.testing.assert_allclose(tiles[2], normalized(complex_bank[2, ..., 0].real))


class _Fitted(TransformerMixin, BaseEstimator):
    def __init__(self, n_filters=3):
        self.n_filters = n_filters

    def fit(self, X=None, y=None):
        self.filters_ = random_bank(self.n_filters, 3, 1, random_state=0)
        return self

    def transform(self, X):
        return X


def test_plot_filters_accepts_fitted_estimator_and_figure():
    estimator = _Fitted()
    with pytest.raises(NotFittedError):
        plot_filters(estimator)
    estimator.fit()
    fig = plt.figure()
    subfig = fig.subfigures(1, 2)[1]
    returned = plot_filters(estimator, fig=subfig, titles=["a", "b", "c"])
    assert returned is subfig
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    for tile, kernel in zip(images_of(fig), estimator.filters_):
        np.testing.assert_allclose(tile, normalized(kernel[..., 0]))


def test_plot_filters_errors():
    with pytest.raises(ValueError, match="n_filters, \\*kernel, n_channels"):
        plot_filters(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="max_filters"):
        plot_filters(np.zeros((3, 3, 3, 1)), max_filters=0)
    with pytest.raises(ValueError, match="channel"):
        plot_filters(np.zeros((3, 3, 3, 1)), channel=1)
    with pytest.raises(ValueError, match="titles"):
        plot_filters(np.zeros((3, 3, 3, 1)), titles=["only one"])


def test_plot_feature_maps(tmp_path):
    maps = np.random.default_rng(0).random((5, 12, 10, 40))
    fig = plot_feature_maps(maps, index=3)
    assert len(fig.axes) == 32  # max_maps
    for f, tile in enumerate(images_of(fig)):
        np.testing.assert_allclose(tile, normalized(maps[3, ..., f]))
    assert fig.axes[0].get_images()[0].get_cmap().name == "viridis"
    fig.savefig(tmp_path / "maps.png")
    # three maps are three single-channel tiles, never one colour image
    fig = plot_feature_maps(maps[..., :3], index=0)
    assert [t.shape for t in images_of(fig)] == [(12, 10)] * 3
    # 1-D maps are curves
    signals = np.random.default_rng(1).standard_normal((2, 30, 4))
    fig = plot_feature_maps(signals, index=1, max_maps=2)
    assert len(fig.axes) == 2
    np.testing.assert_array_equal(fig.axes[1].get_lines()[0].get_ydata(), signals[1, :, 1])
    # variable-size samples as a list
    fig = plot_feature_maps([np.ones((4, 4, 2)), np.arange(54.0).reshape(3, 6, 3)], index=1)
    np.testing.assert_allclose(images_of(fig)[2], normalized(np.arange(54.0).reshape(3, 6, 3)[..., 2]))
    with pytest.raises(TypeError, match="index"):
        plot_feature_maps(maps, index=slice(0, 2))


class _LazyMaps:
    """Sample-indexable maps that refuse to be materialized as a whole."""

    def __init__(self, data):
        self.data = data
        self.requested = []

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        self.requested.append(index)
        return self.data[index]

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole maps object was materialized")


def test_plot_feature_maps_reads_one_sample_of_lazy_maps():
    lazy = _LazyMaps(np.random.default_rng(0).random((6, 8, 8, 5)))
    fig = plot_feature_maps(lazy, index=4)
    assert lazy.requested == [4]
    for f, tile in enumerate(images_of(fig)):
        np.testing.assert_allclose(tile, normalized(lazy.data[4, ..., f]))


@pytest.mark.parametrize("function", [plot_filters, plot_feature_maps])
def test_missing_matplotlib_raises_helpful_import_error(monkeypatch, function):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "\.\[plot\]"' ):
        function(np.zeros((2, 3, 3, 1)))
