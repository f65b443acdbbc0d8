"""TransformPool: features pooled over transformed copies of each sample."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._dask import dask_aware
from ._maps import FeatureMaps
from ._validation import check_input, check_option, check_transformer, restore_layout

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
                 input_shape=None):
        self.estimator = estimator
        self.transforms = transforms
        self.method = method
        self.input_shape = input_shape

    def _check_params(self):
        check_transformer(self.estimator, "estimator")
        check_option(self.method, "method", tuple(_REDUCE))
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

    def _copies(self, X, reset):
        """The transformed copies of ``X``, each in the layout of ``X``."""
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
            if t == "identity":
                yield X
                continue
            if isinstance(t, str) and t.startswith("rot") and layout.spatial_ndim < 2:
                raise ValueError(
                    f"transforms[{i}]={t!r} rotates the first two spatial axes, but X holds "
                    f"{layout.spatial_ndim}-D samples."
                )
            copy = np.ascontiguousarray((TRANSFORMS[t] if isinstance(t, str) else t)(Xv))
            if copy.shape != Xv.shape:
                raise ValueError(
                    f"transforms[{i}] must keep the shape of the samples {Xv.shape[1:]} (a "
                    f"rotation needs square samples), got {copy.shape[1:]}."
                )
            yield restore_layout(copy, layout)

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
        out, count = None, 0
        for copy in self._copies(X, reset=False):
            part = np.asarray(self.estimator_.transform(copy))
            if out is None:
                out = np.array(part, dtype=np.result_type(part.dtype, np.float32))
            else:
                if part.shape != out.shape:
                    raise ValueError(
                        f"the estimator's output for the transformed copies must have one "
                        f"shape, got {out.shape} and {part.shape}."
                    )
                reduce(out, part, out=out)
            count += 1
        if self.method == "mean":
            out /= out.dtype.type(count)
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
