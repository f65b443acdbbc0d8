"""MapUnion: the feature maps of several transformers, side by side along the channels."""

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from ._base import _AUTO_BATCH_BYTES, MapsTransformerMixin
from ._composition import NamedStepsMixin
from ._dask import dask_aware
from ._docs import fill_doc
from ._maps import FeatureMaps, is_variable_size, materialize
from ._validation import check_batch_size, check_n_jobs, check_samples

__all__ = ["MapUnion"]


@fill_doc
class MapUnion(NamedStepsMixin, MapsTransformerMixin, BaseEstimator):
    """The maps of several transformers on the same input, concatenated along the channels.

    The feature-map counterpart of :class:`sklearn.pipeline.FeatureUnion`: every
    transformer is fitted on the input, and ``transform`` gives their maps side by
    side (the channels of the first, then of the second, ...), lazily, batch by
    batch: each batch of the input is read once and given to every transformer.
    Their maps must have the same spatial shape, e.g. convolutions and sliding-window
    pooling with ``padding="same"``, which keep the input's positions.

    That is the way to dense, per-position features (a label per pixel, Goodfellow
    et al. 2016, sec. 9.6): the maps of a bank of filters beside the same maps pooled
    over windows of several sizes (context at several scales), one row per position::

        dense = Pipeline([
            ("filters", EdgeConv(log_sigmas=(1, 2, 4), padding="same", encoding="abs")),
            ("scales", MapUnion([("pixel", Pool(size=1)),
                                 ("5x5", Pool(size=5, stride=1, padding="same", method="mean")),
                                 ("15x15", Pool(size=15, stride=1, padding="same", method="mean"))])),
        ])
        maps = np.asarray(dense.fit_transform(image[np.newaxis]))  # (1, H, W, channels)
        rows = maps.reshape(-1, maps.shape[-1])                    # one row per pixel

    and a classifier's predictions for the rows reshape back into a label image.

    Parameters
    ----------
    transformer_list : list of (str, transformer) pairs, or list of transformers
        The transformers, applied to the same input. Bare transformers are named
        ``"0"``, ``"1"``, ... Their parameters are reachable as ``<name>__<param>``
        by ``get_params``, ``set_params`` and grid searches. They are cloned at
        fit, never changed.
    batch_size : int or "auto", default="auto"
        Samples computed at once when the maps are consumed; ``"auto"`` gives
        batches whose concatenated maps take about 16 MB.
    n_jobs : int, default=None
        Threads over batches when the maps are consumed (``-1``: all cores).

    Attributes
    ----------
    transformers_ : list of (str, transformer)
        The fitted clones, in order.
    n_output_channels_ : int
        Channels of the concatenated maps.
    n_features_in_ : int
        Values per sample seen at fit (fixed-size inputs only).

    See Also
    --------
    sklearn.pipeline.FeatureUnion : the same for 2-D features.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import EdgeConv, MapUnion, Pool
    >>> images = np.random.default_rng(0).random((3, 20, 20))
    >>> union = MapUnion([("edges", EdgeConv("sobel", padding="same", encoding="abs")),
    ...                   ("blur", Pool(size=(5, 5), stride=1, padding="same", method="mean"))])
    >>> union.fit_transform(images).shape
    (3, 20, 20, 3)

    (``size=(5, 5)`` says that Pool's input is 2-D: ``(3, 20, 20)`` are images.)
    """

    _steps_attr = "transformer_list"
    _step_word = "transformer"

    def __init__(self, transformer_list, *, batch_size="auto", n_jobs=None):
        self.transformer_list = transformer_list
        self.batch_size = batch_size
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Fit every transformer on ``X``.

        Parameters
        ----------
        X : array-like, list of array-like or FeatureMaps
            Samples ``(n_samples, *spatial, n_channels)`` (or ``(n_samples,
            *spatial)``, or flat signals), in a layout every transformer accepts.
        y : array-like of shape (n_samples,), default=None
            Passed to every transformer.

        Returns
        -------
        self : object
        """
        named = self._check_steps()
        check_batch_size(self.batch_size)
        check_n_jobs(self.n_jobs)
        # the transformers read the input's layout themselves: it is passed as it is
        Xv = check_samples(X)
        self.transformers_ = [(name, clone(est).fit(Xv, y)) for name, est in named]
        probe = self._transform_batch(self._zeros_like_a_sample(Xv))
        self.n_output_channels_ = int(probe.shape[-1])
        self._out_dtype = probe.dtype
        self._sample_shape = None if is_variable_size(Xv) else tuple(Xv.shape[1:])
        if self._sample_shape is not None:
            self.n_features_in_ = int(np.prod(self._sample_shape))
        return self

    @staticmethod
    def _zeros_like_a_sample(Xv):
        """One sample of zeros shaped like those of ``Xv``: the output's shape and dtype
        come from it, without reading the data."""
        first = Xv[0] if isinstance(Xv, list) else None
        shape = first.shape if first is not None else tuple(Xv.shape[1:])
        return np.zeros((1,) + shape, dtype=(first if first is not None else Xv).dtype)

    def _transform_batch(self, x):
        parts = [materialize(est.transform(x)) for _, est in self.transformers_]
        shapes = {p.shape[:-1] for p in parts}
        if len(shapes) > 1:
            detail = ", ".join(f"{name}: {p.shape[1:-1]}" for (name, _), p in
                               zip(self.transformers_, parts))
            raise ValueError(
                "transformer_list must give maps of one spatial shape to be concatenated, "
                f"got {detail}; give the convolutions and sliding-window pooling "
                "padding='same'."
            )
        return np.concatenate(parts, axis=-1)

    @dask_aware
    def transform(self, X):
        """The transformers' maps, side by side along the channels (lazy).

        Parameters
        ----------
        X : array-like, list of array-like or FeatureMaps
            Samples with the channels seen at fit.

        Returns
        -------
        maps : FeatureMaps of shape (n_samples, *spatial, n_output_channels_)
            Computed batch by batch when consumed.
        """
        check_is_fitted(self, "transformers_")
        Xv = check_samples(X)
        out_spatial = None
        if not is_variable_size(Xv):
            out_spatial = self._transform_batch(self._zeros_like_a_sample(Xv)).shape[1:-1]
        if self.batch_size != "auto":
            batch_size = self.batch_size
        elif out_spatial is None:
            batch_size = 1
        else:
            per_sample = int(np.prod(out_spatial)) * self.n_output_channels_ * 4
            batch_size = int(np.clip(_AUTO_BATCH_BYTES // max(per_sample, 1), 1, 4096))
        return FeatureMaps(
            Xv,
            self._transform_batch,
            out_spatial=out_spatial,
            n_channels=self.n_output_channels_,
            dtype=self._out_dtype,
            batch_size=batch_size,
            n_jobs=self.n_jobs,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
