"""Filters learned without labels from random training patches: PCA and patch dictionaries.

Patches are drawn where the convolution will look (same padding, stride and
dilation), from random samples and positions, and only the sampled images are
ever materialized, so a layer can be fitted on the lazy maps of the previous
one.
"""

import math

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.random import sample_without_replacement

from . import _engine
from ._base import BaseConv
from ._families import _check_bool, _channels_per_group, _replicate_groups, kernel_shape
from ._kmeans import normalize_patches
from ._maps import FeatureMaps, is_variable_size
from ._validation import check_float, check_int
from ._zca import ZCA

__all__ = ["PCAConv", "PatchConv", "iter_patches"]


def _load(X, idx):
    """Materialize the samples ``idx`` (sorted) of an array or FeatureMaps."""
    if isinstance(X, FeatureMaps):
        return np.asarray(X[idx])
    return X[idx]


def _gather(x, kernel, local, out_idx, groups, group_idx, *, stride, padding, dilation):
    """Copy the patches at (sample ``local``, position ``out_idx``) of ``x``, flattened."""
    view = _engine.extract_patches(x, kernel, stride=stride, padding=padding, dilation=dilation)
    patches = view[(local,) + tuple(out_idx)]  # (m, *kernel, c), a copy
    m = patches.shape[0]
    if groups == 1:
        return patches.reshape(m, -1)
    c = x.shape[-1] // groups
    per_group = patches.reshape(m, -1, groups, c)
    return per_group[np.arange(m), :, group_idx, :].reshape(m, -1)


def iter_patches(
    X,
    kernel_size,
    n_patches,
    random_state=None,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups=1,
    batch_size=256,
):
    """Draw random patches of ``X``, yielding them in chunks of flattened rows.

    Positions are those the convolution with the same ``stride``, ``padding``
    and ``dilation`` visits. With ``groups > 1`` every group of
    ``n_channels // groups`` channels of a sample counts as a sample of its own
    (patches of one group's channels). For samples of a fixed size, ``n_patches``
    distinct patches are drawn uniformly without replacement, or all of them
    when there are no more than ``n_patches``; for samples whose sizes vary, a
    random sample and then a random position in it are drawn ``n_patches``
    times (with replacement). Samples are read in index order, ``batch_size``
    at a time, so FeatureMaps only compute the samples drawn.

    Parameters
    ----------
    X : ndarray of shape (n, *spatial, c), list of arrays or FeatureMaps
        Validated input, channels last.
    kernel_size : tuple of int
        Patch spatial shape.
    n_patches : int
        Number of patches to draw.
    random_state : int, RandomState instance or None
        Seed of the draw.
    stride, padding, dilation : see :func:`skconv._engine.conv`
    groups : int, default=1
        Channel groups treated as separate samples.
    batch_size : int, default=256
        Samples materialized at once.

    Yields
    ------
    patches : ndarray of shape (n_chunk, prod(kernel_size) * c // groups)
        Rows in the layout of the filters, ``(*kernel_size, c // groups)``
        flattened.
    """
    rng = check_random_state(random_state)
    kernel = tuple(kernel_size)
    geometry = dict(stride=stride, padding=padding, dilation=dilation)
    n = len(X)
    n_virtual = n * groups
    if not is_variable_size(X):
        out = _engine.output_spatial_shape(X.shape[1:-1], kernel, **geometry)
        per = math.prod(out)
        total = n_virtual * per
        if n_patches >= total:
            flat = np.arange(total)
        else:
            flat = np.sort(sample_without_replacement(total, n_patches, random_state=rng))
        virtual, pos = np.divmod(flat, per)
        sample, group = np.divmod(virtual, groups)
        unique = np.unique(sample)
        for start in range(0, len(unique), batch_size):
            chunk = unique[start : start + batch_size]
            lo = np.searchsorted(sample, chunk[0], side="left")
            hi = np.searchsorted(sample, chunk[-1], side="right")
            local = np.searchsorted(chunk, sample[lo:hi])
            out_idx = np.unravel_index(pos[lo:hi], out)
            yield _gather(
                _load(X, chunk), kernel, local, out_idx, groups, group[lo:hi], **geometry
            )
        return
    virtual = np.sort(rng.randint(n_virtual, size=n_patches))
    u = rng.random_sample(n_patches)
    sample, group = np.divmod(virtual, groups)
    for i in np.unique(sample):
        sel = np.flatnonzero(sample == i)
        x = np.asarray(X[int(i)])[np.newaxis]
        out = _engine.output_spatial_shape(x.shape[1:-1], kernel, **geometry)
        pos = np.minimum((u[sel] * math.prod(out)).astype(np.int64), math.prod(out) - 1)
        yield _gather(
            x, kernel, np.zeros(len(sel), dtype=np.intp), np.unravel_index(pos, out),
            groups, group[sel], **geometry,
        )


def _sampling_batch(X, batch_size):
    # lazy maps of a previous layer are materialized in their own batch size
    if isinstance(X, FeatureMaps):
        return X.batch_size
    return 256 if batch_size == "auto" else batch_size


class _Moments:
    """Mean and covariance of rows streamed in chunks (float64, pairwise merge)."""

    def __init__(self, dim):
        self.n = 0
        self.mean = np.zeros(dim)
        self.scatter = np.zeros((dim, dim))

    def update(self, rows):
        rows = np.asarray(rows, dtype=np.float64)
        m = rows.shape[0]
        if m == 0:
            return
        mean_b = rows.mean(axis=0)
        centred = rows - mean_b
        delta = mean_b - self.mean
        total = self.n + m
        self.scatter += centred.T @ centred + np.outer(delta, delta) * (self.n * m / total)
        self.mean += delta * (m / total)
        self.n = total

    def covariance(self):
        cov = self.scatter / (self.n - 1)
        return 0.5 * (cov + cov.T)


def _sign_flip(components):
    """Make the largest-magnitude entry of each row positive (a deterministic sign)."""
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), idx])
    signs[signs == 0] = 1
    return components * signs[:, np.newaxis]


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
    stride : int or tuple of int, default=1
        Step between output positions, per spatial dimension.
    padding : {"valid", "same", "full"}, int, tuple of int or tuple of (int, int), default="valid"
        Zero padding: none, enough to keep the size at stride 1 (TensorFlow's
        rule), enough for every partial overlap, or explicit amounts.
    dilation : int or tuple of int, default=1
        Spacing between kernel taps (atrous convolution).
    groups : int, default=1
        Channel groups: each is treated as separate samples and filtered by the
        same ``n_filters`` components.
    flip : bool, default=False
        False computes cross-correlation; True flips the kernels.
    encoding : {None, "identity", "relu", "abs", "tanh", "sigmoid", "soft_threshold", "split"}, default=None
        Element-wise detector stage after the convolution.
    alpha : float, default=0.0
        Threshold of the soft-threshold encodings.
    input_shape : tuple of int, default=None
        Shape of one sample, ``(*spatial)`` or ``(*spatial, n_channels)``, when
        ``X`` is given flat as ``(n_samples, n_features)``.
    batch_size : int or "auto", default="auto"
        Samples convolved (and materialized while drawing patches) at once.
    n_jobs : int, default=None
        Threads over batches when the maps are consumed (``-1``: all cores).
        Results do not depend on it.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        Dtype of the computation and of the maps.

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
    n_filters_ : int
    n_output_channels_ : int
        Channels of the maps (twice ``n_filters_`` for ``encoding="split"``).
    input_shape_ : tuple
        Spatial shape and channel count of the samples seen at fit.
    n_features_in_ : int
        Number of values per sample seen at fit (fixed-size inputs only).
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame.

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
        flip=False,
        encoding=None,
        alpha=0.0,
        input_shape=None,
        batch_size="auto",
        n_jobs=None,
        dtype=np.float32,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.n_patches = n_patches
        self.random_state = random_state
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.flip = flip
        self.encoding = encoding
        self.alpha = alpha
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.dtype = dtype

    def _spatial_ndim(self):
        return len(kernel_shape(self.kernel_size))

    def _fit_filters(self, X, y):
        kernel = kernel_shape(self.kernel_size)
        n_filters = check_int(self.n_filters, "n_filters", min_val=1)
        n_patches = check_int(self.n_patches, "n_patches", min_val=2)
        c = _channels_per_group(self)
        dim = math.prod(kernel) * c
        if n_filters > dim - 1:
            raise ValueError(
                f"n_filters={n_filters} is more than mean-removed patches of "
                f"{dim} values span ({dim - 1} dimensions: kernel {kernel} times "
                f"{c} channel(s)); lower n_filters or enlarge kernel_size."
            )
        # Patches are drawn before the filters exist: check the geometry first.
        self._check_kernel_fits(kernel)
        moments = _Moments(dim)
        for rows in iter_patches(
            X, kernel, n_patches, self.random_state, stride=self._stride,
            padding=self.padding, dilation=self._dilation, groups=self._groups,
            batch_size=_sampling_batch(X, self.batch_size),
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
        return _replicate_groups(filters, self._groups), None


class PatchConv(BaseConv):
    """Convolution with a dictionary of random training patches.

    Coates and Ng [1]_ found that a dictionary of randomly chosen training
    patches, contrast-normalized and whitened, followed by a soft-threshold
    encoding and pooling, is a strong single-layer feature extractor.

    Fitting draws ``n_patches`` patches at random (at the positions the
    convolution visits), optionally contrast-normalizes each
    (:func:`skconv._kmeans.normalize_patches`: remove its mean, divide by
    ``sqrt(var + norm_eps)``), optionally ZCA-whitens them
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
    (:class:`skconv.KMeansConv` does that).

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
    stride : int or tuple of int, default=1
        Step between output positions, per spatial dimension.
    padding : {"valid", "same", "full"}, int, tuple of int or tuple of (int, int), default="valid"
        Zero padding: none, enough to keep the size at stride 1 (TensorFlow's
        rule), enough for every partial overlap, or explicit amounts.
    dilation : int or tuple of int, default=1
        Spacing between kernel taps (atrous convolution).
    groups : int, default=1
        Channel groups: each is treated as separate samples and filtered by the
        same dictionary.
    flip : bool, default=False
        False computes cross-correlation; True flips the kernels.
    encoding : {None, "identity", "relu", "abs", "tanh", "sigmoid", "soft_threshold", "split"}, default=None
        Element-wise detector stage after the convolution. Coates and Ng used
        ``"split"`` with ``alpha=0.25`` on whitened patches.
    alpha : float, default=0.0
        Threshold of the soft-threshold encodings.
    input_shape : tuple of int, default=None
        Shape of one sample, ``(*spatial)`` or ``(*spatial, n_channels)``, when
        ``X`` is given flat as ``(n_samples, n_features)``.
    batch_size : int or "auto", default="auto"
        Samples convolved (and materialized while drawing patches) at once.
    n_jobs : int, default=None
        Threads over batches when the maps are consumed (``-1``: all cores).
        Results do not depend on it.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        Dtype of the computation and of the maps.

    Attributes
    ----------
    patches_ : ndarray of shape (n_filters, *kernel_size, n_channels // groups)
        The dictionary: chosen patches, normalized and whitened as asked, unit
        norm (float64).
    filters_ : ndarray of shape (n_filters * groups, *kernel_size, n_channels // groups)
        The filters convolved: ``patches_`` with the whitening folded in
        (``patches_`` itself when ``whiten=False``), ``groups`` copies.
    bias_ : ndarray of shape (n_filters * groups,) or None
        ``-(W d) . mu`` of the folded whitening; None when ``whiten=False``.
    whitening_ : skconv.ZCA or None
        The whitening fitted on the drawn patches (flattened).
    norm_eps_ : float
        The variance regularizer used (``norm_eps`` resolved).
    n_filters_ : int
    n_output_channels_ : int
        Channels of the maps (twice ``n_filters_`` for ``encoding="split"``).
    input_shape_ : tuple
        Spatial shape and channel count of the samples seen at fit.
    n_features_in_ : int
        Number of values per sample seen at fit (fixed-size inputs only).
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame.

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
        flip=False,
        encoding=None,
        alpha=0.0,
        input_shape=None,
        batch_size="auto",
        n_jobs=None,
        dtype=np.float32,
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
        self.flip = flip
        self.encoding = encoding
        self.alpha = alpha
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.dtype = dtype

    def _spatial_ndim(self):
        return len(kernel_shape(self.kernel_size))

    def _fit_filters(self, X, y):
        kernel = kernel_shape(self.kernel_size)
        n_filters = check_int(self.n_filters, "n_filters", min_val=1)
        n_patches = check_int(self.n_patches, "n_patches", min_val=1)
        if n_patches < n_filters:
            raise ValueError(
                f"n_patches={n_patches} must be at least n_filters={n_filters}: the "
                "dictionary is chosen among the drawn patches."
            )
        normalize = _check_bool(self.normalize, "normalize")
        whiten = _check_bool(self.whiten, "whiten")
        auto_eps = isinstance(self.norm_eps, str) and self.norm_eps == "auto"
        if not auto_eps:
            if isinstance(self.norm_eps, str):
                raise ValueError(f"norm_eps must be 'auto' or a number; got {self.norm_eps!r}.")
            check_float(self.norm_eps, "norm_eps", min_val=0.0)
        whiten_eps = check_float(self.whiten_eps, "whiten_eps", min_val=0.0)
        c = _channels_per_group(self)
        self._check_kernel_fits(kernel)
        rng = check_random_state(self.random_state)
        chunks = list(
            iter_patches(
                X, kernel, n_patches, rng, stride=self._stride, padding=self.padding,
                dilation=self._dilation, groups=self._groups,
                batch_size=_sampling_batch(X, self.batch_size),
            )
        )
        P = np.concatenate(chunks).astype(np.float64)
        del chunks
        has_contrast = np.ptp(P, axis=1) > 0
        if auto_eps:
            self.norm_eps_ = 10.0 * (float(P.max() - P.min()) / 255.0) ** 2
        else:
            self.norm_eps_ = float(self.norm_eps)
        if normalize:
            P = normalize_patches(P, eps=self.norm_eps_)
        candidates = np.flatnonzero(has_contrast)
        if len(candidates) < n_filters:
            raise ValueError(
                f"only {len(candidates)} of the {len(P)} drawn patches have any contrast "
                f"(are not constant), fewer than n_filters={n_filters}; draw more "
                "patches (n_patches) or ask for fewer filters."
            )
        chosen = candidates[rng.permutation(len(candidates))[:n_filters]]
        self.whitening_ = None
        if whiten:
            if len(P) < 2:
                raise ValueError("whitening needs at least 2 patches.")
            self.whitening_ = ZCA(eps=whiten_eps).fit(P)
            D = self.whitening_.transform(P[chosen])
        else:
            D = P[chosen]
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        self.patches_ = D.reshape((n_filters,) + kernel + (c,))
        bias = None
        if whiten:
            W = self.whitening_.components_
            folded = D @ W  # rows W d, W symmetric
            bias = -(folded @ self.whitening_.mean_)
            filters = folded.reshape(self.patches_.shape)
        else:
            filters = self.patches_
        if bias is not None and self._groups > 1:
            bias = np.tile(bias, self._groups)
        return _replicate_groups(filters, self._groups), bias
