"""TransformPool: features pooled over transformed copies of each sample."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._dask import dask_aware
from ._maps import FeatureMaps
from ._validation import (
    check_batch_size,
    check_input,
    check_option,
    check_transformer,
    restore_layout,
)

__all__ = ["TransformPool"]


#: The named transformations, on samples in the internal layout ``(n, *spatial, c)``.
TRANSFORMS = {
    "identity": lambda x: x,
    "fliplr": lambda x: np.flip(x, axis=x.ndim - 2),  # the last spatial axis
    "flipud": lambda x: np.flip(x, axis=1),  # the first spatial axis
    "rot90": lambda x: np.rot90(x, k=1, axes=(1, 2)),
    "rot180": lambda x: np.rot90(x, k=2, axes=(1, 2)),
    "rot270": lambda x: np.rot90(x, k=3, axes=(1, 2)),
}

_REDUCE = {"mean": np.add, "sum": np.add, "max": np.maximum}


def _rows(X, rows, n_samples):
    """The samples ``rows`` of ``X`` as given: ``X`` itself when they are all of it."""
    if rows.start == 0 and rows.stop >= n_samples:
        return X
    return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]


class TransformPool(TransformerMixin, BaseEstimator):
    """Features pooled over transformed copies of each sample: invariance by pooling.

    Pooling over the outputs of several detectors makes a representation
    invariant to what tells those detectors apart (Goodfellow, Bengio & Courville
    2016, sec. 9.3). Here the detectors are one fitted transformer applied to
    transformed copies of each sample (the sample and its mirror image, its
    rotations, ...), and its outputs are pooled element-wise across the copies.
    Each sample stays one row, so the transformer works inside a ``Pipeline``.
    When the transformations form a group (every composition of two of them is
    among them, the identity included, e.g. ``("identity", "fliplr")`` or the
    four rotations), the pooled features of a transformed sample equal those of
    the sample, exactly.

    With ``method="sum"`` and a linear classifier after it, the decision values
    are those of the features' classifier summed over the copies: test-time
    augmentation, but with a classifier trained on the pooled features.

    Parameters
    ----------
    estimator : transformer
        Fitted (a clone) on the samples as given; its output for each copy is
        pooled. Usually a feature pipeline ending in 2-D features, e.g.
        ``make_pipeline(KMeansConv(...), Pool())`` or a :class:`LayerwiseStack`
        with ``concat``; lazy maps are computed.
    transforms : sequence of str or callable, default=("identity", "fliplr")
        The copies: ``"identity"``, ``"fliplr"`` (mirror along the last spatial
        axis: left-right for images, time reversal for signals), ``"flipud"``
        (along the first spatial axis), ``"rot90"``, ``"rot180"``, ``"rot270"``
        (rotations of the first two spatial axes; 2-D and 3-D samples), or a
        function mapping samples ``(n, *spatial, n_channels)`` to samples of
        the same layout.
    method : {"mean", "max", "sum"}, default="mean"
        Element-wise pooling across the copies.
    input_shape : tuple of int, default=None
        Shape ``(*spatial)`` or ``(*spatial, n_channels)`` of one sample when ``X``
        is flat ``(n_samples, n_features)``; flat samples without it are 1-D
        signals. The copies are given to ``estimator`` in the layout of ``X``.
    batch_size : int, default=1024
        Samples transformed at a time: the copies of one batch are made, given to
        ``estimator`` and pooled before the next, so that besides the output only
        one batch's copies and features are in memory. The features do not depend
        on it.

    Notes
    -----
    The transformations act on the spatial axes of ``X`` read as
    :class:`skconv.Pool` reads it: channels last, ``(n_samples, *spatial,
    n_channels)``, so a 3-D array is signals with channels; give greyscale
    images a channel axis (``X[..., None]``) or ``input_shape``.

    Attributes
    ----------
    estimator_ : transformer
        The fitted clone of ``estimator``.
    input_shape_ : tuple
        Spatial shape and channel count of the samples seen at fit.
    n_features_in_ : int
        Values per sample seen at fit.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame.

    References
    ----------
    I. Goodfellow, Y. Bengio and A. Courville. Deep Learning. MIT Press, 2016,
    section 9.3 and figure 9.9.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from skconv import Pool, RandomConv, TransformPool
    >>> X = np.random.default_rng(0).random((4, 8, 8, 3))
    >>> features = make_pipeline(RandomConv(3, 3, random_state=0), Pool(grid=(1, 2)))
    >>> pooled = TransformPool(features).fit(X)
    >>> pooled.transform(X).shape
    (4, 6)
    >>> mirrored = X[:, :, ::-1]
    >>> bool(np.allclose(pooled.transform(mirrored), pooled.transform(X)))
    True
    """

    def __init__(self, estimator, transforms=("identity", "fliplr"), *, method="mean",
                 input_shape=None, batch_size=1024):
        self.estimator = estimator
        self.transforms = transforms
        self.method = method
        self.input_shape = input_shape
        self.batch_size = batch_size

    def _check_params(self):
        check_transformer(self.estimator, "estimator")
        check_option(self.method, "method", tuple(_REDUCE))
        check_batch_size(self.batch_size, allow_auto=False)
        transforms = self.transforms
        what = (
            f"a non-empty sequence of callables or of {', '.join(map(repr, TRANSFORMS))}"
        )
        if isinstance(transforms, str) or callable(transforms):
            transforms = (transforms,)
        try:
            transforms = list(transforms)
        except TypeError:
            raise TypeError(f"transforms must be {what}, got {self.transforms!r}.") from None
        if not transforms:
            raise ValueError(f"transforms must be {what}, got {self.transforms!r}.")
        for t in transforms:
            if isinstance(t, str):
                check_option(t, "transforms", tuple(TRANSFORMS))
            elif not callable(t):
                raise TypeError(f"transforms must be {what}, got {self.transforms!r}.")
        return transforms

    def _batches(self, X, reset):
        """Per batch of samples: its rows, its transformed copies in the layout of ``X``, and ``n``."""
        transforms = self._check_params()
        if isinstance(X, FeatureMaps):
            X = X.compute()
        Xv, layout = check_input(self, X, reset=reset, input_shape=self.input_shape)
        if isinstance(Xv, list):
            raise ValueError(
                "X must hold samples of one shape: the copies of samples of different "
                "sizes cannot be pooled element-wise."
            )
        for i, t in enumerate(transforms):
            if isinstance(t, str) and t.startswith("rot") and layout.spatial_ndim < 2:
                raise ValueError(
                    f"transforms[{i}]={t!r} rotates the first two spatial axes, but X holds "
                    f"{layout.spatial_ndim}-D samples."
                )
        for start in range(0, len(Xv), self.batch_size):
            rows = slice(start, start + self.batch_size)
            batch = Xv[rows]
            copies = []
            for i, t in enumerate(transforms):
                if t == "identity":  # the samples as given (a DataFrame keeps its names)
                    copies.append(_rows(X, rows, len(Xv)) if not isinstance(X, list) else
                                  restore_layout(batch, layout))
                    continue
                copy = np.ascontiguousarray((TRANSFORMS[t] if isinstance(t, str) else t)(batch))
                if copy.shape != batch.shape:
                    raise ValueError(
                        f"transforms[{i}] must keep the shape of the samples {Xv.shape[1:]} (a "
                        f"rotation needs square samples), got {copy.shape[1:]}."
                    )
                copy = restore_layout(copy, layout)
                if hasattr(X, "columns") and copy.ndim == 2:  # a DataFrame's copies keep its names
                    copy = type(X)(copy, columns=X.columns)
                copies.append(copy)
            yield rows, copies, len(Xv)

    def fit(self, X, y=None):
        """Fit a clone of ``estimator`` on the samples as given.

        Parameters
        ----------
        X : array-like
            Samples ``(n, *spatial)``, ``(n, *spatial, c)`` or flat with
            ``input_shape``.
        y : array-like, default=None
            Passed to ``estimator``.

        Returns
        -------
        self : object
        """
        self._check_params()
        check_input(self, X, reset=True, input_shape=self.input_shape)
        self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    @dask_aware
    def transform(self, X):
        """Pool the fitted estimator's output over the transformed copies of ``X``.

        Parameters
        ----------
        X : array-like
            Samples in the layout seen at fit.

        Returns
        -------
        features : ndarray of shape (n_samples, ...)
            The estimator's output (made an array), pooled element-wise.
        """
        check_is_fitted(self, "estimator_")
        reduce = _REDUCE[self.method]
        out = None
        for rows, copies, n_samples in self._batches(X, reset=False):
            pooled = None
            for copy in copies:
                part = np.asarray(self.estimator_.transform(copy))
                if pooled is None:
                    pooled = np.array(part, dtype=np.result_type(part.dtype, np.float32))
                elif part.shape != pooled.shape:
                    raise ValueError(
                        f"the estimator's output for the transformed copies must have one "
                        f"shape, got {pooled.shape} and {part.shape}."
                    )
                else:
                    reduce(pooled, part, out=pooled)
            if self.method == "mean":
                pooled /= pooled.dtype.type(len(copies))
            if out is None:
                out = np.empty((n_samples,) + pooled.shape[1:], pooled.dtype)
            out[rows] = pooled
        return out

    def _has_names(self):
        est = getattr(self, "estimator_", self.estimator)
        return hasattr(est, "get_feature_names_out")

    @available_if(_has_names)
    def get_feature_names_out(self, input_features=None):
        """Names of the pooled features: the estimator's.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Passed to the estimator.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        try:
            tags.input_tags.three_d_array = get_tags(self.estimator).input_tags.three_d_array
            # a Pipeline's tags are its last step's: every step must preserve a dtype
            steps = [s for _, s in getattr(self.estimator, "steps", [(None, self.estimator)])]
            preserved = None
            for step in steps:
                p = list(get_tags(step).transformer_tags.preserves_dtype)
                preserved = p if preserved is None else [d for d in preserved if d in p]
            tags.transformer_tags.preserves_dtype = preserved
        except (AttributeError, TypeError, ValueError):
            pass
        return tags
