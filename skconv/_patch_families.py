"""Filters learned without labels from random training patches: PCA and patch dictionaries.

The patches come from :mod:`skconv._patches` (drawn where the convolution will
look, so a layer can be fitted on the lazy maps of the previous one), which also
holds the normalize-whiten-fold step PatchConv shares with KMeansConv.
"""

import math

import numpy as np

from ._base import BaseConv
from ._docs import fill_doc
from ._maps import is_variable_size
from ._patches import (
    fold_whitening,
    iter_patches,
    normalize_and_whiten,
    resolve_norm_eps,
    sample_patches,
    sample_patches_by_set,
    sampling_batch,
)
from ._stats import RunningMoments
from ._validation import check_bool, check_float, check_int, check_kernel_size, check_random_state

__all__ = ["PCAConv", "PatchConv"]


def _sign_flip(components):
    """Make the largest-magnitude entry of each row positive (a deterministic sign)."""
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), idx])
    signs[signs == 0] = 1
    return components * signs[:, np.newaxis]


@fill_doc
class PCAConv(BaseConv):
    """Convolution with the principal components of training patches (PCANet).

    PCANet [1]_ learns its filters as the leading principal components of
    mean-removed image patches: draw patches, remove from each its own mean
    (over the kernel and the channels), and keep the ``n_filters`` directions of
    largest variance, ordered by explained variance. The filters are
    orthonormal and each sums to zero, so the responses ignore the local mean
    brightness (the per-patch mean removal needs no step at transform time).

    The components are those of :class:`sklearn.decomposition.PCA` on the
    mean-removed patches (computed from their covariance, accumulated in chunks
    in float64, so memory does not grow with ``n_patches``). PCANet takes the
    eigenvectors of the uncentred second moment of the same patches; their
    average is close to zero, so the two differ little. Signs are fixed so
    that the largest-magnitude weight of each filter is positive.

    Patches are drawn at the positions the convolution visits (same padding,
    stride and dilation) from random samples. With ``groups > 1`` each group of
    ``n_channels // groups`` channels counts as a separate sample and every
    group gets the same filters: ``PCAConv(8, 7, groups=8)`` on the 8 maps of a
    first ``PCAConv(8, 7)`` is PCANet's second stage.

    Parameters
    ----------
    n_filters : int, default=8
        Number of principal components kept, at most ``patch_dim - 1`` with
        ``patch_dim = prod(kernel_size) * n_channels // groups``.
    kernel_size : int or tuple of int, default=7
        An int is a square 2-D kernel; a tuple of length 1, 2 or 3 gives
        kernels for signals, images or volumes.
    n_patches : int, default=100000
        Patches drawn (all of them when the input has fewer).
    random_state : int, RandomState instance or None, default=None
        Seed of the patch draw.
    %(conv_geometry)s
    %(groups_bank)s
    %(separable)s
    %(flip)s
    %(encoding)s
    %(conv_io)s

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters * groups, *kernel_size, n_channels // groups)
        The principal components, ``groups`` copies.
    bias_ : None
    explained_variance_ : ndarray of shape (n_filters,)
        Variance of the mean-removed patches along each filter, decreasing.
    explained_variance_ratio_ : ndarray of shape (n_filters,)
        The same as a fraction of the total variance.
    mean_ : ndarray of shape (*kernel_size, n_channels // groups)
        Average of the mean-removed patches.
    n_patches_ : int
        Patches the components were computed from.
    %(separable_attributes)s
    %(conv_attributes)s

    See Also
    --------
    PatchConv : training patches themselves as filters.
    sklearn.decomposition.PCA

    References
    ----------
    .. [1] T.-H. Chan, K. Jia, S. Gao, J. Lu, Z. Zeng and Y. Ma, "PCANet: A
       simple deep learning baseline for image classification?", IEEE
       Transactions on Image Processing 24(12), 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skconv import PCAConv
    >>> X = load_digits().images
    >>> pca = PCAConv(4, 3, n_patches=5000, random_state=0).fit(X)
    >>> pca.filters_.shape
    (4, 3, 3, 1)
    >>> W = pca.filters_.reshape(4, -1)
    >>> bool(np.allclose(W @ W.T, np.eye(4), atol=1e-6))
    True
    >>> bool(np.all(np.diff(pca.explained_variance_) <= 0))
    True
    """

    def __init__(
        self,
        n_filters=8,
        kernel_size=7,
        *,
        n_patches=100_000,
        random_state=None,
        stride=1,
        padding="valid",
        dilation=1,
        groups=1,
        separable=None,
        flip=False,
        encoding=None,
        alpha=0.0,
        input_shape=None,
        channel_axis=-1,
        batch_size="auto",
        n_jobs=None,
        dtype=np.float32,
        verbose=0,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.n_patches = n_patches
        self.random_state = random_state
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.separable = separable
        self.flip = flip
        self.encoding = encoding
        self.alpha = alpha
        self.input_shape = input_shape
        self.channel_axis = channel_axis
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.dtype = dtype
        self.verbose = verbose

    def _spatial_ndim(self):
        return len(check_kernel_size(self.kernel_size))

    def _planned_bank(self, n_channels):
        n_filters = check_int(self.n_filters, "n_filters", min_val=1)
        return n_filters * self._groups, check_kernel_size(self.kernel_size)

    def _fit_filters(self, X, y):
        kernel = check_kernel_size(self.kernel_size)
        n_filters = check_int(self.n_filters, "n_filters", min_val=1)
        n_patches = check_int(self.n_patches, "n_patches", min_val=2)
        c = self._channels_per_group()
        dim = math.prod(kernel) * c
        if n_filters > dim - 1:
            raise ValueError(
                f"n_filters={n_filters} is more than mean-removed patches of "
                f"{dim} values span ({dim - 1} dimensions: kernel {kernel} times "
                f"{c} channel(s)); lower n_filters or enlarge kernel_size."
            )
        # Patches are drawn before the filters exist: check the geometry first.
        self._check_kernel_fits(kernel)
        moments = RunningMoments(dim)
        for rows in iter_patches(
            X, kernel, n_patches, check_random_state(self.random_state), stride=self._stride,
            padding=self.padding, dilation=self._dilation, groups=self._groups,
            batch_size=sampling_batch(X, self.batch_size), dtype=self._dtype,
        ):
            rows = rows.astype(np.float64)
            rows -= rows.mean(axis=1, keepdims=True)
            moments.update(rows)
        if moments.n < 2:
            raise ValueError(
                f"PCAConv needs at least 2 patches, but the input holds {moments.n}."
            )
        evals, evecs = np.linalg.eigh(moments.covariance())
        order = np.argsort(evals)[::-1]
        evals = np.clip(evals[order], 0.0, None)
        components = _sign_flip(evecs[:, order[:n_filters]].T)
        total = evals.sum()
        self.explained_variance_ = evals[:n_filters]
        self.explained_variance_ratio_ = (
            evals[:n_filters] / total if total > 0 else np.zeros(n_filters)
        )
        self.mean_ = moments.mean.reshape(kernel + (c,))
        self.n_patches_ = int(moments.n)
        filters = components.reshape((n_filters,) + kernel + (c,))
        return self._replicate_for_groups(filters), None


@fill_doc
class PatchConv(BaseConv):
    """Convolution with a dictionary of random training patches.

    Coates and Ng [1]_ found that a dictionary of randomly chosen training
    patches, contrast-normalized and whitened, followed by a soft-threshold
    encoding and pooling, is a strong single-layer feature extractor.

    With ``sharing="local"`` (or ``"tiled"``) every output position (or tile
    position) learns its own dictionary, from the patches at its own positions
    only: for aligned images (centred digits, cropped faces) the filters of the
    eye region are drawn from eyes. Each kernel set is then learned as a shared
    PatchConv would learn it from ``n_patches`` patches of its positions (all of
    them when there are fewer: at most ``n_samples`` per position for local
    weights), normalized with one ``norm_eps`` and whitened on its own; a set
    whose patches hold fewer than ``n_filters`` with contrast (a corner of blank
    background) keeps zero filters for the rest.

    Fitting draws ``n_patches`` patches at random (at the positions the
    convolution visits), optionally contrast-normalizes each (remove its
    mean, divide by ``sqrt(var + norm_eps)``), optionally ZCA-whitens them
    (:class:`skconv.ZCA`, fitted on the drawn patches), and keeps
    ``n_filters`` of them chosen at random, each scaled to unit norm: this is
    ``patches_``. Constant patches (no contrast, e.g. empty background) are
    never chosen.

    Whitening is linear, so the whitened response ``d . W (p - mu)`` of a raw
    patch ``p`` to a dictionary element ``d`` is the response of the filter
    ``W d`` (``W`` is symmetric) plus the bias ``-(W d) . mu``: ``filters_`` and
    ``bias_`` fold the whitening in, and the convolution needs no whitening
    step. Per-patch contrast normalization is not applied at transform time:
    the filters sum to zero when ``normalize=True`` (the local mean is
    ignored), but responses are not divided by the local contrast
    (:class:`skconv.KMeansConv` does that). Coates and Ng used
    ``encoding="split"`` with ``alpha=0.25`` on whitened patches.

    Parameters
    ----------
    n_filters : int, default=64
        Number of dictionary patches.
    kernel_size : int or tuple of int, default=5
        An int is a square 2-D kernel; a tuple of length 1, 2 or 3 gives
        kernels for signals, images or volumes.
    n_patches : int, default=10000
        Patches drawn; the whitening is estimated from all of them and the
        dictionary chosen among them. At least ``n_filters``.
    normalize : bool, default=True
        Contrast-normalize every patch (brightness and contrast invariance).
    norm_eps : float or "auto", default="auto"
        Added to each patch's variance before dividing by its square root, in
        the squared units of ``X``; it keeps low-contrast patches from having
        their noise amplified. Coates et al. used 10 for pixels in 0..255;
        ``"auto"`` uses ``10 * (R / 255) ** 2`` with ``R`` the value range of
        the drawn patches (10 for 0..255 images, about 1.5e-4 for images in
        [0, 1]), as :class:`skconv.KMeansConv` does.
    whiten : bool, default=False
        ZCA-whiten the normalized patches before choosing the dictionary.
    whiten_eps : float, default=0.1
        Regularizer added to the covariance eigenvalues of the whitening
        (Coates' 0.1 for normalized patches).
    random_state : int, RandomState instance or None, default=None
        Seed of the patch draw and of the choice of the dictionary.
    %(conv_geometry)s
    %(groups_bank)s
    %(sharing)s
    %(separable)s
    %(flip)s
    %(encoding)s
    %(conv_io)s

    Attributes
    ----------
    patches_ : ndarray of shape (n_filters, *kernel_size, n_channels // groups)
        The dictionary: chosen patches, normalized and whitened as asked, unit
        norm (float64); with tiled or local weights one dictionary per kernel
        set, ``(*sets, n_filters, *kernel_size, n_channels)``.
    filters_ : ndarray of shape (n_filters * groups, *kernel_size, n_channels // groups)
        The filters convolved: ``patches_`` with the whitening folded in
        (``patches_`` itself when ``whiten=False``), ``groups`` copies.
    bias_ : ndarray of shape (n_filters * groups,) or None
        ``-(W d) . mu`` of the folded whitening; None when ``whiten=False``.
    whitening_ : ndarray of shape (patch_dim, patch_dim) or None
        The symmetric ZCA matrix fitted on the normalized patches (flattened);
        None when ``whiten=False``, as for :class:`skconv.KMeansConv`. With tiled
        or local weights ``(*sets, patch_dim, patch_dim)``.
    patch_mean_ : ndarray of shape (patch_dim,) or None
        The mean of the normalized patches removed before whitening
        (``(*sets, patch_dim)`` with tiled or local weights).
    norm_eps_ : float
        The variance regularizer used (``norm_eps`` resolved).
    %(separable_attributes)s
    %(conv_attributes)s

    See Also
    --------
    PCAConv : principal components of the patches.

    References
    ----------
    .. [1] A. Coates and A. Y. Ng, "The importance of encoding versus training
       with sparse coding and vector quantization", ICML 2011.
    .. [2] A. Coates, H. Lee and A. Y. Ng, "An analysis of single-layer
       networks in unsupervised feature learning", AISTATS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skconv import PatchConv
    >>> X = load_digits().images
    >>> conv = PatchConv(16, 3, whiten=True, encoding="split", alpha=0.25,
    ...                  random_state=0).fit(X)
    >>> conv.filters_.shape, conv.n_output_channels_
    ((16, 3, 3, 1), 32)
    >>> norms = np.linalg.norm(conv.patches_.reshape(16, -1), axis=1)
    >>> bool(np.allclose(norms, 1))
    True

    One dictionary of 4 patches per output position of the 8x8 digits:

    >>> local = PatchConv(4, 3, sharing="local", n_patches=500, random_state=0).fit(X)
    >>> local.patches_.shape
    (6, 6, 4, 3, 3, 1)
    >>> local.transform(X).shape
    (1797, 6, 6, 4)
    """

    def __init__(
        self,
        n_filters=64,
        kernel_size=5,
        *,
        n_patches=10_000,
        normalize=True,
        norm_eps="auto",
        whiten=False,
        whiten_eps=0.1,
        random_state=None,
        stride=1,
        padding="valid",
        dilation=1,
        groups=1,
        sharing="shared",
        tile_shape=None,
        separable=None,
        flip=False,
        encoding=None,
        alpha=0.0,
        input_shape=None,
        channel_axis=-1,
        batch_size="auto",
        n_jobs=None,
        dtype=np.float32,
        verbose=0,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.n_patches = n_patches
        self.normalize = normalize
        self.norm_eps = norm_eps
        self.whiten = whiten
        self.whiten_eps = whiten_eps
        self.random_state = random_state
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.sharing = sharing
        self.tile_shape = tile_shape
        self.separable = separable
        self.flip = flip
        self.encoding = encoding
        self.alpha = alpha
        self.input_shape = input_shape
        self.channel_axis = channel_axis
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.dtype = dtype
        self.verbose = verbose

    def _spatial_ndim(self):
        return len(check_kernel_size(self.kernel_size))

    def _planned_bank(self, n_channels):
        n_filters = check_int(self.n_filters, "n_filters", min_val=1)
        return n_filters * self._groups, check_kernel_size(self.kernel_size)

    def _planned_bias(self):
        return check_bool(self.whiten, "whiten")

    def _fit_filters(self, X, y):
        kernel = check_kernel_size(self.kernel_size)
        n_filters = check_int(self.n_filters, "n_filters", min_val=1)
        n_patches = check_int(self.n_patches, "n_patches", min_val=1)
        if n_patches < n_filters:
            raise ValueError(
                f"n_patches={n_patches} must be at least n_filters={n_filters}: the "
                "dictionary is chosen among the drawn patches."
            )
        check_bool(self.normalize, "normalize")
        check_bool(self.whiten, "whiten")
        check_float(self.norm_eps, "norm_eps", min_val=0.0, options=("auto",))
        check_float(self.whiten_eps, "whiten_eps", min_val=0.0)
        c = self._channels_per_group()
        self._check_kernel_fits(kernel)
        sets = self._kernel_sets(kernel)
        rng = check_random_state(self.random_state)
        geometry = dict(stride=self._stride, padding=self.padding, dilation=self._dilation)
        if not sets:
            P = sample_patches(
                X, kernel, n_patches, rng, groups=self._groups,
                batch_size=sampling_batch(X, self.batch_size), dtype=self._dtype,
                **geometry,
            )
            D, zca, self.norm_eps_ = self._dictionary(P, self.norm_eps, n_filters, rng)
            self.patches_ = D.reshape((n_filters,) + kernel + (c,))
            self.whitening_ = None if zca is None else zca.components_
            self.patch_mean_ = None if zca is None else zca.mean_
            filters, offset = fold_whitening(D, zca)
            bias = None if zca is None else np.tile(-offset, self._groups)
            return self._replicate_for_groups(filters.reshape(self.patches_.shape)), bias
        if is_variable_size(X):
            raise ValueError(
                f"PatchConv with sharing={self.sharing!r} learns a dictionary per position "
                "and needs samples of one spatial size, got samples of different sizes."
            )
        parts = sample_patches_by_set(
            X, kernel, n_patches, rng, sets=sets,
            batch_size=sampling_batch(X, self.batch_size), dtype=self._dtype,
            **geometry,
        )
        # one norm_eps for every set: "auto" from the range of all the patches
        drawn = [p for p in parts if len(p)]
        bounds = np.array([min(p.min() for p in drawn), max(p.max() for p in drawn)])
        norm_eps = resolve_norm_eps(self.norm_eps, bounds)
        learned = [self._dictionary(P, norm_eps, n_filters, rng, strict=False) for P in parts]
        K = math.prod(kernel) * c
        self.norm_eps_ = norm_eps
        self.patches_ = np.stack([D for D, _, _ in learned]).reshape(
            sets + (n_filters,) + kernel + (c,)
        )
        folded = [fold_whitening(D, zca) for D, zca, _ in learned]
        filters = np.stack([f for f, _ in folded]).reshape(self.patches_.shape)
        if not self.whiten:
            self.whitening_ = self.patch_mean_ = None
            return filters, None
        self.whitening_ = np.stack([z.components_ for _, z, _ in learned]).reshape(sets + (K, K))
        self.patch_mean_ = np.stack([z.mean_ for _, z, _ in learned]).reshape(sets + (K,))
        return filters, -np.stack([o for _, o in folded]).reshape(sets + (n_filters,))

    def _dictionary(self, P, norm_eps, n_filters, rng, *, strict=True):
        """Normalize and whiten the patches ``P``; choose ``n_filters`` with contrast.

        Returns the unit-norm dictionary ``(n_filters, patch_dim)``, the fitted ZCA
        (or None) and the resolved ``norm_eps``. With ``strict=False`` too few patches
        with contrast leave zero rows instead of raising.
        """
        K = P.shape[1]
        candidates = np.flatnonzero(np.ptp(P, axis=1) > 0) if len(P) else np.zeros(0, int)
        if strict and len(candidates) < n_filters:
            raise ValueError(
                f"only {len(candidates)} of the {len(P)} drawn patches have any contrast "
                f"(are not constant), fewer than n_filters={n_filters}; draw more "
                "patches (n_patches) or ask for fewer filters."
            )
        if self.whiten and len(P) < 2:
            if strict:
                raise ValueError(
                    f"n_patches must be at least 2 to whiten, got {len(P)} patch."
                )
            # too few patches at this position to estimate a whitening: identity
            P = np.concatenate([P, np.zeros((2 - len(P), K))])
        P, norm_eps, zca = normalize_and_whiten(
            P, normalize=self.normalize, norm_eps=norm_eps, whiten=self.whiten,
            whiten_eps=self.whiten_eps,
        )
        chosen = candidates[rng.permutation(len(candidates))[:n_filters]]
        D = np.zeros((n_filters, K))
        if len(chosen):
            rows = P[chosen] if zca is None else zca.transform(P[chosen])
            D[: len(chosen)] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return D, zca, norm_eps
