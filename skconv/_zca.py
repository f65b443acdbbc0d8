"""ZCA (zero-phase component analysis) whitening as a scikit-learn transformer."""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._dask import dask_aware, is_dask_array, iter_blocks
from ._stats import RunningMoments
from ._validation import check_bool, check_features, check_float

__all__ = ["ZCA"]


class ZCA(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """ZCA whitening: decorrelate features while staying close to the input.

    With the covariance ``C = V diag(l) V^T`` of the training data, the
    whitening matrix is the symmetric ``W = V diag(1 / sqrt(l + eps)) V^T`` and
    ``transform(X) = (X - mean_) @ W.T``. Among all whitening matrices, the
    symmetric one (zero-phase) moves each sample the least, so output column
    ``j`` is the whitened version of input column ``j`` (whitened image patches
    still look like patches). That is why the output features keep the input
    feature names.

    The regularizer ``eps`` is added to every eigenvalue: directions of
    variance much larger than ``eps`` get unit variance, those with much
    smaller variance are left damped rather than amplified. The covariance of
    whitened training data is ``V diag(l / (l + eps)) V^T``.

    Statistics are accumulated in float64 (also by :meth:`partial_fit`, so
    fitting on chunks equals fitting on all the data up to rounding);
    float32 input gives float32 output.

    Parameters
    ----------
    eps : float, default=0.1
        Non-negative number added to the covariance eigenvalues before the
        inverse square root. ``eps=0`` is exact whitening and requires a
        full-rank covariance. Coates et al. (2011) used 0.1 on
        contrast-normalized 0-255 scale patches.
    copy : bool, default=True
        If False, :meth:`transform` and :meth:`inverse_transform` may
        center a writeable float32 / float64 input in place instead of
        allocating a centred copy. :meth:`fit` never modifies its input.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,), float64
        Per-feature mean of the training data.
    covariance_ : ndarray of shape (n_features, n_features), float64
        Sample covariance of the training data (normalized by
        ``n_samples - 1``).
    eigenvalues_ : ndarray of shape (n_features,), float64
        Eigenvalues ``l`` of ``covariance_`` in decreasing order, with
        rounding-level negative values clipped to 0.
    components_ : ndarray of shape (n_features, n_features), float64
        Symmetric whitening matrix ``W``.
    inverse_components_ : ndarray of shape (n_features, n_features), float64
        Symmetric inverse ``V diag(sqrt(l + eps)) V^T`` of ``W``, used by
        :meth:`inverse_transform`.
    n_samples_seen_ : int
        Number of samples the statistics were computed from.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, defined only when ``X`` has
        feature names that are all strings.

    See Also
    --------
    sklearn.decomposition.PCA : with ``whiten=True``, PCA whitening (rotated
        into the eigenbasis, optionally truncated).

    References
    ----------
    .. [1] A. J. Bell and T. J. Sejnowski, "The 'independent components' of
       natural scenes are edge filters", Vision Research 37(23), 1997.
    .. [2] A. Coates, H. Lee and A. Y. Ng, "An Analysis of Single-Layer
       Networks in Unsupervised Feature Learning", AISTATS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv._zca import ZCA
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(500, 3) @ np.array([[2.0, 0.5, 0.0],
    ...                                   [0.0, 1.0, 0.3],
    ...                                   [0.0, 0.0, 0.2]])
    >>> Z = ZCA(eps=0.0).fit_transform(X)
    >>> np.allclose(np.cov(Z, rowvar=False), np.eye(3))
    True
    """

    def __init__(self, eps=0.1, copy=True):
        self.eps = eps
        self.copy = copy

    def _check_params(self):
        check_float(self.eps, "eps", min_val=0.0)
        check_bool(self.copy, "copy")

    def fit(self, X, y=None):
        """Compute the mean and whitening matrix of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, at least 2 samples.
        y : None
            Ignored.

        Returns
        -------
        self : ZCA
            The fitted transformer.
        """
        self._check_params()
        if is_dask_array(X):
            # the statistics stream: one block of samples in memory at a time
            for i, block in enumerate(iter_blocks(X)):
                block = check_features(self, block, reset=i == 0)
                if i == 0:
                    self._reset_statistics(block.shape[1])
                self._accumulate(block)
            if self.n_samples_seen_ < 2:
                raise ValueError(
                    f"X must hold at least 2 samples, got {X.shape[0]} (shape {X.shape})."
                )
            self._update_components()
            return self
        X = check_features(self, X, reset=True, ensure_min_samples=2)
        self._reset_statistics(X.shape[1])
        self._accumulate(X)
        self._update_components()
        return self

    def partial_fit(self, X, y=None):
        """Add a chunk of samples to the statistics and refit the whitening.

        Calling ``partial_fit`` on consecutive chunks gives the same result
        as ``fit`` on their concatenation, up to rounding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data. The chunks together must hold at least
            2 samples when the whitening is computed, so the first call
            needs 2 samples.
        y : None
            Ignored.

        Returns
        -------
        self : ZCA
            The updated transformer.
        """
        self._check_params()
        first_call = not hasattr(self, "n_samples_seen_")
        X = check_features(self, X, reset=first_call)
        seen = 0 if first_call else self.n_samples_seen_
        if seen + X.shape[0] < 2:
            raise ValueError(
                "ZCA needs at least 2 samples in total to estimate a covariance, "
                f"got {seen + X.shape[0]} sample."
            )
        if first_call:
            self._reset_statistics(X.shape[1])
        self._accumulate(X)
        self._update_components()
        return self

    def _reset_statistics(self, n_features):
        self._moments = RunningMoments(n_features)
        self.n_samples_seen_ = 0
        self.mean_ = self._moments.mean

    def _accumulate(self, X):
        self._moments.update(X)
        self.n_samples_seen_ = self._moments.n
        self.mean_ = self._moments.mean

    def _update_components(self):
        cov = self._moments.covariance()
        evals, evecs = np.linalg.eigh(cov)
        # eigh returns ascending values; negative ones are rounding noise.
        evals = np.clip(evals, 0.0, None)
        eps = float(self.eps)
        if eps == 0.0:
            tol = evals[-1] * cov.shape[0] * np.finfo(np.float64).eps
            if evals[0] <= tol:
                raise ValueError(
                    "The covariance of X is singular (rank-deficient data), so "
                    "exact whitening (eps=0) does not exist; use eps > 0."
                )
        scale = np.sqrt(evals + eps)
        W = (evecs / scale) @ evecs.T
        W_inv = (evecs * scale) @ evecs.T
        self.covariance_ = cov
        self.eigenvalues_ = evals[::-1].copy()
        # Symmetric by construction; averaging removes the rounding asymmetry.
        self.components_ = 0.5 * (W + W.T)
        self.inverse_components_ = 0.5 * (W_inv + W_inv.T)

    def _centred(self, X, shift):
        if not self.copy and X.flags.writeable:
            X -= shift
            return X
        return X - shift

    @dask_aware
    def transform(self, X):
        """Whiten ``X``: ``(X - mean_) @ components_.T``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to whiten.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Whitened data, float32 for float32 input, else float64.
        """
        check_is_fitted(self)
        X = check_features(self, X, reset=False)
        Xc = self._centred(X, self.mean_.astype(X.dtype, copy=False))
        return Xc @ self.components_.T.astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Undo the whitening: ``X @ inverse_components_.T + mean_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Whitened data.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Data in the original space, float32 for float32 input, else
            float64.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=[np.float64, np.float32])
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but ZCA is expecting "
                f"{self.n_features_in_} features as input."
            )
        out = X @ self.inverse_components_.T.astype(X.dtype, copy=False)
        out += self.mean_.astype(X.dtype, copy=False)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
