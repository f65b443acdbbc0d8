"""Plots of filter banks and feature maps.

matplotlib is an optional dependency (the plot extra: ``pip install ".[plot]"``
in a checkout of skconv); it is imported only when a function here is called.
"""

import math

import numpy as np

from ._docs import fill_doc
from ._validation import check_int

__all__ = ["plot_filters", "plot_feature_maps"]

# line colours of the three channels of a colour 1-D filter
_RGB_COLOURS = ("tab:red", "tab:green", "tab:blue")


def _import_pyplot(caller):
    try:
        import matplotlib  # noqa: F401
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, which is not installed. Install skconv's plot "
            'extra (pip install ".[plot]" in a checkout of skconv) or matplotlib itself.'
        ) from exc
    return plt


def _normalize(tile):
    """Rescale to [0, 1] by the tile's own range; a constant tile becomes 0.5."""
    tile = np.asarray(tile, dtype=np.float64)
    low, high = tile.min(), tile.max()
    if high > low:
        return (tile - low) / (high - low)
    return np.full_like(tile, 0.5)


def _select_channels(tile, channel):
    """``(*spatial, c)`` -> ``(*spatial, 3)`` colour, or ``(*spatial,)`` single channel."""
    n_channels = tile.shape[-1]
    if channel is not None:
        if not -n_channels <= channel < n_channels:
            raise ValueError(
                f"channel must be None or an int in [{-n_channels}, {n_channels}) for "
                f"{n_channels} channels, got {channel}."
            )
        return tile[..., channel]
    if n_channels == 1:
        return tile[..., 0]
    if n_channels == 3:
        return tile
    return tile.mean(axis=-1)


def _draw_grid(plt, tiles, *, spatial_ndim, colour, ncols, fig, cmap, tile_size, titles, interpolation):
    """One tile per axes, in a grid; the axes beyond the last tile are removed.

    ``tiles`` are normalized 2-D images (``(h, w)`` or ``(h, w, 3)`` when
    ``colour``) or raw 1-D curves (``(length,)`` or ``(length, 3)``).
    """
    n_tiles = len(tiles)
    if titles is not None and len(titles) < n_tiles:
        raise ValueError(
            f"titles must have one entry per drawn tile ({n_tiles}), got {len(titles)}."
        )
    if ncols is None:
        ncols = math.ceil(math.sqrt(n_tiles))
    ncols = min(check_int(ncols, "ncols", min_val=1), n_tiles)
    nrows = math.ceil(n_tiles / ncols)
    if fig is None:
        fig = plt.figure(figsize=(ncols * tile_size, nrows * tile_size))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_tiles:]:
        ax.remove()
    for i, (ax, tile) in enumerate(zip(axes, tiles)):
        if spatial_ndim == 1:
            if colour:
                for values, c in zip(tile.T, _RGB_COLOURS):
                    ax.plot(values, color=c, linewidth=1)
            else:
                ax.plot(tile, color="black", linewidth=1)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            ax.imshow(tile, cmap=None if colour else cmap, vmin=0.0, vmax=1.0, interpolation=interpolation)
            ax.set_axis_off()
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize="small")
    return fig


def _to_tiles(stack, spatial_ndim, channel, *, normalize_images):
    """Turn ``(n, *spatial, c)`` into drawable tiles; 3-D inputs give their middle slice."""
    if spatial_ndim == 3:
        stack = stack[:, stack.shape[1] // 2]
        spatial_ndim = 2
    tiles = [_select_channels(t, channel) for t in stack]
    colour = tiles[0].ndim == spatial_ndim + 1
    if spatial_ndim == 2 and normalize_images:
        tiles = [_normalize(t) for t in tiles]
    return tiles, spatial_ndim, colour


@fill_doc
def plot_filters(
    filters,
    *,
    max_filters=64,
    ncols=None,
    fig=None,
    cmap="gray",
    channel=None,
    tile_size=1.0,
    titles=None,
    interpolation="nearest",
):
    """Draw a filter bank as a grid of tiles.

    Each 2-D filter is shown as an image rescaled to its own range (its
    minimum black, its maximum white), so that filters of very different
    magnitudes are all visible.  Filters with 3 channels are shown in colour
    (the three channels rescaled jointly), 1-D filters as curves (3-channel
    ones as red, green and blue curves), and 3-D filters by their middle slice
    along the first kernel axis.  Complex filters (e.g. from
    ``gabor_bank(part="complex")``) are shown by their real part.

    Parameters
    ----------
    filters : ndarray of shape (n_filters, *kernel, n_channels) or fitted estimator
        The bank, or an estimator with a ``filters_`` attribute in that layout.
    max_filters : int, default=64
        Draw only the first ``max_filters`` filters.
    %(plot_grid)s
    cmap : str or Colormap, default="gray"
        Colour map of single-channel tiles.
    channel : int, default=None
        Show only this input channel of each filter.  None shows 1-channel
        filters as they are, 3-channel filters in colour and filters with any
        other number of channels by their mean over channels.
    tile_size : float, default=1.0
        Size of one tile in inches, used when a new figure is created.
    %(plot_titles)s

    Returns
    -------
    fig : matplotlib Figure
        The figure (or the given ``fig``), with one axes per drawn filter.

    Examples
    --------
    >>> from skconv.filters import gabor_bank
    >>> from skconv.plotting import plot_filters
    >>> fig = plot_filters(gabor_bank((0.1, 0.2), 8))  # doctest: +SKIP
    """
    plt = _import_pyplot("plot_filters")
    if hasattr(filters, "filters_"):
        bank = filters.filters_
    elif hasattr(filters, "fit") and hasattr(filters, "get_params"):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(filters, "filters_")  # raises NotFittedError
    else:
        bank = filters
    bank = np.asarray(bank)
    if np.iscomplexobj(bank):
        bank = bank.real
    if bank.ndim not in (3, 4, 5) or bank.size == 0:
        raise ValueError(
            "filters must have shape (n_filters, *kernel, n_channels) with a 1-D, 2-D or 3-D kernel "
            f"(3 to 5 dimensions), got shape {bank.shape}."
        )
    max_filters = check_int(max_filters, "max_filters", min_val=1)
    check_int(channel, "channel", allow_none=True)
    bank = bank[:max_filters]
    tiles, spatial_ndim, colour = _to_tiles(bank, bank.ndim - 2, channel, normalize_images=True)
    return _draw_grid(
        plt,
        tiles,
        spatial_ndim=spatial_ndim,
        colour=colour,
        ncols=ncols,
        fig=fig,
        cmap=cmap,
        tile_size=tile_size,
        titles=titles,
        interpolation=interpolation,
    )


@fill_doc
def plot_feature_maps(
    maps,
    *,
    index=0,
    max_maps=32,
    ncols=None,
    fig=None,
    cmap="viridis",
    tile_size=1.5,
    titles=None,
    interpolation="nearest",
):
    """Draw the feature maps of one sample as a grid of tiles.

    Each map is shown rescaled to its own range; 1-D maps are drawn as curves
    and 3-D maps by their middle slice along the first spatial axis.  Complex
    maps are shown by their magnitude.

    Parameters
    ----------
    maps : array-like of shape (n_samples, *spatial, n_maps)
        Feature maps, e.g. the output of a convolution transformer.  Only
        ``maps[index]`` is read, so a lazy maps object computes a single
        sample; a list of arrays of different spatial sizes works too.
    index : int, default=0
        Which sample to show.
    max_maps : int, default=32
        Draw only the first ``max_maps`` maps.
    %(plot_grid)s
    cmap : str or Colormap, default="viridis"
        Colour map of the tiles.
    tile_size : float, default=1.5
        Size of one tile in inches, used when a new figure is created.
    %(plot_titles)s

    Returns
    -------
    fig : matplotlib Figure
        The figure (or the given ``fig``), with one axes per drawn map.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv.plotting import plot_feature_maps
    >>> maps = np.random.default_rng(0).random((10, 28, 28, 16))
    >>> fig = plot_feature_maps(maps, index=3)  # doctest: +SKIP
    """
    plt = _import_pyplot("plot_feature_maps")
    index = check_int(index, "index")
    sample = np.asarray(maps[index])  # one sample only: lazy maps compute just this one
    if np.iscomplexobj(sample):
        sample = np.abs(sample)
    if sample.ndim not in (2, 3, 4) or sample.size == 0:
        raise ValueError(
            "maps[index] must have shape (*spatial, n_maps) with 1 to 3 spatial dimensions, "
            f"got shape {sample.shape}."
        )
    max_maps = check_int(max_maps, "max_maps", min_val=1)
    # maps last -> one entry per map, each with a single channel
    stack = np.moveaxis(sample, -1, 0)[:max_maps, ..., np.newaxis]
    tiles, spatial_ndim, _ = _to_tiles(stack, sample.ndim - 1, None, normalize_images=True)
    return _draw_grid(
        plt,
        tiles,
        spatial_ndim=spatial_ndim,
        colour=False,
        ncols=ncols,
        fig=fig,
        cmap=cmap,
        tile_size=tile_size,
        titles=titles,
        interpolation=interpolation,
    )
