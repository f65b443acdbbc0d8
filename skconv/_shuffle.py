"""ChannelShuffle: interleave the channels of grouped layers (ShuffleNet)."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._dask import dask_aware
from . import _engine
from ._base import MapsTransformerMixin
from ._docs import fill_doc
from ._maps import map_like_input
from ._validation import (
    check_batch_size,
    check_input,
    check_int,
    check_n_jobs,
    implied_ndim,
)

__all__ = ["ChannelShuffle"]


@fill_doc
class ChannelShuffle(MapsTransformerMixin, BaseEstimator):
    """Interleave the channels of ``groups`` groups, so that grouped layers mix.

    A grouped convolution (``groups=g``) lets each filter see only the channels
    of its group; two grouped layers in a row then never mix the groups. Zhang
    et al. [1]_ shuffle the channels between them: the ``c`` channels are viewed
    as ``(groups, c // groups)``, transposed and flattened, so that channel
    ``ch`` of group ``g`` moves to position ``ch * groups + g`` and every group
    of the next layer sees channels from every group of this one. The shuffle
    is a permutation: it moves values, costs no multiply-add, and
    ``inverse_transform`` undoes it.

    Lazy :class:`skconv.FeatureMaps` (the output of a Conv transformer) give
    lazy FeatureMaps, shuffled batch by batch when consumed, so the step costs
    no memory in a Pipeline or :class:`skconv.LayerwiseStack`; arrays give
    arrays and lists of maps of different sizes give lists. A flat 2-D ``X`` is
    ``(n_samples, length)`` single-channel signals, or any shape given by
    ``input_shape`` (the output is flat too).

    Parameters
    ----------
    groups : int, default=1
        Number of groups of the layer before; it must divide the number of
        channels. 1 leaves the channels in place.
    input_shape : tuple of int, default=None
        Shape ``(*spatial, n_channels)`` of one sample when ``X`` is flat
        ``(n_samples, n_features)``.
    batch_size : int, default=256
        Samples shuffled at once for array input (FeatureMaps keep their own).
    n_jobs : int, default=None
        Threads over batches for array input (FeatureMaps keep their own).

    Attributes
    ----------
    permutation_ : ndarray of shape (n_channels_in_,)
        Output channel ``i`` is input channel ``permutation_[i]``.
    %(input_attributes)s

    See Also
    --------
    skconv.Conv, skconv.RandomConv : grouped convolution (``groups``).

    References
    ----------
    .. [1] X. Zhang, X. Zhou, M. Lin and J. Sun, "ShuffleNet: an extremely
       efficient convolutional neural network for mobile devices", CVPR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import ChannelShuffle
    >>> maps = np.arange(6.0).reshape(1, 1, 6)
    >>> ChannelShuffle(groups=2).fit_transform(maps)[0, 0]
    array([0., 3., 1., 4., 2., 5.])

    Between two grouped layers, lazily:

    >>> from sklearn.pipeline import make_pipeline
    >>> from skconv import Pool, RandomConv
    >>> X = np.random.RandomState(0).rand(5, 12, 12, 4)
    >>> model = make_pipeline(
    ...     RandomConv(8, 3, groups=2, encoding="relu", random_state=0),
    ...     ChannelShuffle(groups=2),
    ...     RandomConv(8, 1, groups=2, random_state=0),
    ...     Pool(grid=2))
    >>> model.fit_transform(X).shape
    (5, 32)
    """

    def __init__(self, groups=1, *, input_shape=None, batch_size=256, n_jobs=None):
        self.groups = groups
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.n_jobs = n_jobs

    def _check_input(self, X, *, reset):
        return check_input(
            self, X, reset=reset, ndim=implied_ndim(input_shape=self.input_shape),
            input_shape=self.input_shape, dtype="float",
        )

    def _groups(self, n_channels):
        groups = check_int(self.groups, "groups", min_val=1)
        check_batch_size(self.batch_size, allow_auto=False)
        check_n_jobs(self.n_jobs)
        if n_channels % groups:
            raise ValueError(
                f"groups must divide the number of channels ({n_channels}), got {groups}."
            )
        return groups

    def fit(self, X, y=None):
        """Check ``groups`` against the channels of ``X`` (nothing is learned).

        Parameters
        ----------
        X : array-like, FeatureMaps or list of arrays
            Maps ``(n_samples, *spatial, n_channels)``; lazy maps are not computed.
        y : ignored

        Returns
        -------
        self : object
        """
        self._check_input(X, reset=True)
        groups = self._groups(self.n_channels_in_)
        self.permutation_ = _engine.channel_shuffle(np.arange(self.n_channels_in_), groups)
        return self

    @dask_aware
    def transform(self, X):
        """Shuffle the channels.

        Parameters
        ----------
        X : array-like, FeatureMaps or list of arrays
            Maps ``(n_samples, *spatial, n_channels)``, with the channels seen at
            fit.

        Returns
        -------
        X_shuffled : ndarray, FeatureMaps or list
            Same shape and layout as ``X``; FeatureMaps stay lazy.
        """
        return self._apply(X, self._groups(self.n_channels_in_) if self._fitted() else None)

    def inverse_transform(self, X):
        """Undo the shuffle (a shuffle with ``n_channels // groups`` groups).

        Parameters
        ----------
        X : array-like, FeatureMaps or list of arrays
            Shuffled maps.

        Returns
        -------
        X_original : ndarray, FeatureMaps or list
            The maps in their original channel order.
        """
        groups = self._groups(self.n_channels_in_) if self._fitted() else None
        return self._apply(X, self.n_channels_in_ // groups)

    def _fitted(self):
        check_is_fitted(self, "permutation_")
        return True

    def _apply(self, X, groups):
        Xv, layout = self._check_input(X, reset=False)

        def func(batch):
            return _engine.channel_shuffle(batch, groups)

        return map_like_input(
            Xv, layout, func, n_channels=self.n_channels_in_, batch_size=self.batch_size,
            n_jobs=self.n_jobs,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
