"""KMeansConv: filters learned by k-means on normalized, whitened patches (Coates et al.)."""

import math

import numpy as np

from . import _engine
from ._base import BaseConv
from ._docs import fill_doc
from ._encoding import encode
from ._kmeans import _ALGORITHMS, _INITS, fit_centroids
from ._patches import fold_whitening, normalize_and_whiten, sample_patches, sampling_batch
from ._validation import (
    check_bool,
    check_float,
    check_int,
    check_kernel_size,
    check_option,
    check_random_state,
)

__all__ = ["KMeansConv"]


@fill_doc
class KMeansConv(BaseConv):
    """Convolution with filters learned by k-means on whitened patches.

    The single-layer pipeline of Coates, Lee & Ng (2011): random training patches
    are contrast-normalized (each patch minus its mean, divided by
    ``sqrt(var + norm_eps)``), ZCA-whitened, and clustered by k-means; each image
    position is then encoded by its relation to the centroids, by default the
    "triangle" activation ``f_k = max(0, mean_j(z_j) - z_k)`` with ``z_k`` the
    distance from the normalized, whitened patch to centroid ``k``.

    Patches are never whitened at transform time: whitening is linear, so it is
    folded into the filters (``filters_`` holds ``W c_k``). Each patch is only
    contrast-normalized (its mean and norm, ``patch_dim`` numbers), and the
    squared distances to every centroid, ``||u||^2 - 2 u.c_k + ||c_k||^2``, come
    out of one matrix product whose two extra inner rows carry ``||u||^2`` and the
    per-centroid constants. The cost of ``transform`` is that one product (a
    convolution) and the few element-wise passes of the encoding.

    Unlike the other families, KMeansConv takes no ``groups`` and no ``flip``: the
    patch statistics (normalization, whitening, centroids) span every input
    channel, and the filters are applied by correlation, as they were learned.

    Parameters
    ----------
    n_filters : int, default=1600
        Number of centroids (filters).
    kernel_size : int or tuple of int, default=6
        Patch size; an int means a square 2-D patch, a tuple's length (1, 2 or 3)
        sets signals, images or volumes.
    n_patches : int, default=400000
        Training patches drawn at random positions of random samples (all of them
        when there are fewer). Large dictionaries want more: on CIFAR-10 (JPEG
        q75) 4,000 filters classified better from 1,000,000 patches than from
        400,000, 1,600 filters equally well from either (BENCHMARKS.md).
    algorithm : {"kmeans", "minibatch", "spherical"}, default="kmeans"
        Lloyd's k-means (scikit-learn's from k-means++, skconv's own iterations from
        the Gaussian start), mini-batch k-means, or spherical (gain-shape) k-means
        with unit-norm centroids (Coates & Ng, 2012).
    init : {"gaussian", "k-means++"}, default="gaussian"
        How k-means starts: ``"gaussian"``, small random vectors around the
        patches' mean as in Coates et al.'s code (for ``"spherical"``, random unit
        vectors, as in Coates & Ng 2012), or ``"k-means++"`` seeding. With many
        filters k-means++ spends centroids on rare outlying patches: on CIFAR-10
        (JPEG q75) 4,000 filters from the Gaussian start classify better than from
        k-means++, 1,600 equally well, and the dictionary is learned in half the
        time (BENCHMARKS.md).
    max_iter : int, default=50
        k-means iterations (Coates et al. ran 50).
    normalize : bool, default=True
        Contrast-normalize every patch.
    norm_eps : float or "auto", default="auto"
        Added to each patch's variance before dividing by its square root, in the
        squared units of ``X``. Coates et al. used 10 for pixels in 0..255;
        ``"auto"`` uses ``10 * (R / 255) ** 2`` with ``R`` the value range of the
        training patches (10 for 0..255 images, about 1.5e-4 for images in [0, 1]).
    whiten : bool, default=True
        ZCA-whiten the (normalized) patches.
    whiten_eps : float, default=0.1
        Added to the covariance eigenvalues of the normalized patches (Coates et
        al.'s 0.1). Larger values whiten less: on JPEG-compressed CIFAR-10 images
        1.0 classified better than both 0.1 and 3.0 (BENCHMARKS.md).
    encoding : {"triangle", "hard", "soft_threshold", "relu", "split", "identity", None}, default="triangle"
        ``"triangle"``: ``max(0, mean(z) - z_k)`` on distances ``z``; ``"hard"``: 1
        for the nearest centroid, 0 elsewhere; ``"soft_threshold"``:
        ``max(0, c_k . u - alpha)`` (Coates & Ng 2011); ``"relu"``:
        ``max(0, c_k . u)``; ``"split"``: both polarities of the soft threshold;
        ``"identity"``/``None``: ``c_k . u``. Here ``u`` is the normalized, whitened
        patch. The other encodings of :class:`Conv` apply to ``c_k . u`` as well.
    alpha : float, default=0.25
        Threshold of the soft-threshold encodings (Coates & Ng used 0.25 for
        whitened patches).
    random_state : int, RandomState instance or None, default=None
        Seeds the patch draw and k-means.
    %(conv_geometry)s
    %(conv_io)s

    Attributes
    ----------
    centroids_ : ndarray of shape (n_filters, *kernel_size, n_channels)
        The k-means centroids, in the whitened patch space (the familiar picture
        of edge and colour detectors: plot them with
        ``skconv.plotting.plot_filters(est.centroids_)``).
    filters_ : ndarray of shape (n_filters, *kernel_size, n_channels)
        The linear filters the convolution applies: the centroids with the
        whitening folded in.
    bias_ : None
    whitening_ : ndarray of shape (patch_dim, patch_dim) or None
        The symmetric ZCA matrix of the normalized patches.
    patch_mean_ : ndarray of shape (patch_dim,) or None
        The mean of the normalized patches removed before whitening.
    norm_eps_ : float
        The variance regularizer used (resolved from ``"auto"``).
    n_patches_ : int
        Number of training patches used.
    n_iter_ : int
        Iterations k-means ran.
    %(conv_attributes)s

    References
    ----------
    A. Coates, H. Lee, A. Y. Ng. An Analysis of Single-Layer Networks in
    Unsupervised Feature Learning. AISTATS 2011.

    A. Coates, A. Y. Ng. The Importance of Encoding Versus Training with Sparse
    Coding and Vector Quantization. ICML 2011.

    A. Coates, A. Y. Ng. Learning Feature Representations with K-means. Neural
    Networks: Tricks of the Trade, 2nd ed., Springer, 2012.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skconv import KMeansConv, Pool
    >>> X = load_digits().images
    >>> conv = KMeansConv(n_filters=16, kernel_size=3, n_patches=2000, random_state=0)
    >>> maps = conv.fit_transform(X)
    >>> maps.shape
    (1797, 6, 6, 16)
    >>> Pool(grid=(2, 2)).fit_transform(maps).shape
    (1797, 64)
    """

    _extra_encodings = ("triangle", "hard")
    # Patch statistics span all input channels, so k-means filters are dense
    # and correlate (no grouping, no flip).
    groups = 1
    flip = False

    def __init__(
        self,
        n_filters=1600,
        kernel_size=6,
        *,
        n_patches=400000,
        algorithm="kmeans",
        init="gaussian",
        max_iter=50,
        normalize=True,
        norm_eps="auto",
        whiten=True,
        whiten_eps=0.1,
        encoding="triangle",
        alpha=0.25,
        random_state=None,
        stride=1,
        padding="valid",
        dilation=1,
        input_shape=None,
        channel_axis=-1,
        batch_size="auto",
        n_jobs=None,
        dtype=np.float32,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.n_patches = n_patches
        self.algorithm = algorithm
        self.init = init
        self.max_iter = max_iter
        self.normalize = normalize
        self.norm_eps = norm_eps
        self.whiten = whiten
        self.whiten_eps = whiten_eps
        self.encoding = encoding
        self.alpha = alpha
        self.random_state = random_state
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.input_shape = input_shape
        self.channel_axis = channel_axis
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.dtype = dtype

    def _spatial_ndim(self):
        return len(check_kernel_size(self.kernel_size))

    def _planned_bank(self, n_channels):
        return check_int(self.n_filters, "n_filters", min_val=1), check_kernel_size(
            self.kernel_size
        )

    def _cost_dict(self, spatial, out, kernel, cg, n_filters, n_sets, has_bias, rank):
        """The products of the fused transform: each patch row, with one or two extra
        entries, times the folded matrix, and for the triangle encoding with
        whitening the whitened norm of the patch (``patch_dim**2``)."""
        cost = super()._cost_dict(spatial, out, kernel, cg, n_filters, n_sets, has_bias, rank)
        K = math.prod(kernel) * cg
        extra = 2 if self.encoding == "triangle" else 1
        norm = K * K if self.encoding == "triangle" and self.whiten else 0
        cost["params"] = (K + extra) * n_filters + norm
        cost["multiply_adds"] = math.prod(out) * ((K + extra) * n_filters + norm)
        return cost

    # --- fit --------------------------------------------------------------------
    def _check_family_params(self):
        check_int(self.n_filters, "n_filters", min_val=1)
        check_int(self.n_patches, "n_patches", min_val=2)
        check_int(self.max_iter, "max_iter", min_val=1)
        check_option(self.algorithm, "algorithm", _ALGORITHMS)
        check_option(self.init, "init", _INITS)
        check_bool(self.normalize, "normalize")
        check_bool(self.whiten, "whiten")
        check_float(self.norm_eps, "norm_eps", min_val=0.0, options=("auto",))
        check_float(self.whiten_eps, "whiten_eps", min_val=0.0)

    def _sample_patches(self, X, rng):
        return sample_patches(
            X, check_kernel_size(self.kernel_size), self.n_patches, rng, stride=self._stride,
            padding=self.padding, dilation=self._dilation,
            batch_size=sampling_batch(X, self.batch_size), dtype=self._dtype,
        )

    def _fit_filters(self, X, y):
        if hasattr(self, "_reservoir"):
            del self._reservoir  # fit starts over; partial_fit resumes from here
        self._check_family_params()
        rng = check_random_state(self.random_state)
        kernel = check_kernel_size(self.kernel_size)
        # Patches are drawn before the filters exist: check the geometry first.
        self._check_kernel_fits(kernel)
        P = self._sample_patches(X, rng)
        return self._learn(P, rng)

    def _learn(self, P, rng):
        """Normalize, whiten and cluster the raw patch matrix ``P``; return the filters."""
        kernel = check_kernel_size(self.kernel_size)
        if P.shape[0] < self.n_filters:
            raise ValueError(
                f"n_filters={self.n_filters} is more than the {P.shape[0]} patches the "
                "training data holds."
            )
        P, self.norm_eps_, zca = normalize_and_whiten(
            P, normalize=self.normalize, norm_eps=self.norm_eps, whiten=self.whiten,
            whiten_eps=self.whiten_eps,
        )
        self.patch_mean_ = None if zca is None else zca.mean_
        self.whitening_ = None if zca is None else zca.components_
        U = P if zca is None else zca.transform(P)
        centroids, self.n_iter_ = fit_centroids(
            U.astype(np.float32),
            self.n_filters,
            algorithm=self.algorithm,
            init=self.init,
            max_iter=self.max_iter,
            random_state=rng,
            return_n_iter=True,
        )
        centroids = centroids.astype(np.float64)
        n_channels = self.input_shape_[-1]
        shape = (self.n_filters,) + kernel + (n_channels,)
        self.centroids_ = centroids.reshape(shape).astype(self._dtype)
        self.n_patches_ = int(P.shape[0])
        # Fold the whitening into the filters: c . W(p - m) = (W c) . p - (W c) . m
        filters, offset = fold_whitening(centroids, zca)
        self._prepare_transform(centroids, filters, offset)
        return filters.reshape(shape), None

    def partial_fit(self, X, y=None):
        """Learn from one more chunk of samples (for data that does not fit in memory).

        Every call draws up to ``n_patches`` random patches from ``X`` and merges them
        into a uniform random sample (a reservoir) of at most ``n_patches`` patches of
        all the chunks seen, then relearns the normalization, whitening and centroids
        from that sample, so the transformer is usable after every call. Chunks with
        more than ``n_patches`` positions contribute ``n_patches`` candidates, so give
        chunks of similar sizes. Memory is set by ``n_patches``, not by the data.

        Parameters
        ----------
        X : array-like, list of array-like or FeatureMaps
            A chunk of samples, in any layout :meth:`fit` accepts; the spatial shape
            and channels must match the first chunk's.
        y : ignored

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "_reservoir")
        self._check_params()
        self._check_family_params()
        Xv = self._check_input(X, reset=first)
        if first:
            self._partial_rng = check_random_state(self.random_state)
            self._reservoir = None
            self._n_candidates = 0
        rng = self._partial_rng
        new = self._sample_patches(Xv, rng)
        self._reservoir = self._merge_reservoir(self._reservoir, new, rng)
        filters, bias = self._learn(self._reservoir, rng)
        self._set_filters(filters, bias)
        return self

    def _merge_reservoir(self, reservoir, new, rng):
        """Reservoir sampling (Vitter's algorithm R) over the stream of candidate patches."""
        cap = self.n_patches
        if reservoir is None:
            reservoir = np.empty((0, new.shape[1]))
        seen = self._n_candidates
        fill = min(cap - len(reservoir), len(new))
        reservoir = np.concatenate([reservoir, new[:fill]])
        for i in range(fill, len(new)):
            # candidate number seen + i replaces a random slot with probability cap / (seen + i + 1)
            j = rng.randint(seen + i + 1)
            if j < cap:
                reservoir[j] = new[i]
        self._n_candidates = seen + len(new)
        return reservoir

    def _prepare_transform(self, centroids, filters, offset):
        """Matrices of the folded transform, built in float64, kept in the work dtype.

        At transform time each patch ``p`` (a row of the patch matrix) is only
        contrast-normalized, ``q = (p - mean(p)) / sqrt(var(p) + eps)`` (``q = p``
        without ``normalize``); the whitened patch ``u = W (q - m)`` is never formed.
        With ``f_k = W c_k`` (``filters_``) the quantities the encodings need are
        affine in ``q`` or in ``||u||^2``, so one matrix product with a few extra
        rows gives them directly, without passes over the ``n_filters``-wide result:

        - ``u . c_k = q . f_k - f_k . m``: rows ``[q, 1]`` times ``[f; -f m]``;
        - ``||u - c_k||^2 = ||u||^2 - 2 q . f_k + (||c_k||^2 + 2 f_k . m)``: rows
          ``[q, ||u||^2, 1]`` times ``[-2 f; 1; ||c||^2 + 2 f m]``.

        ``||u||^2`` itself comes from the ``patch_dim`` rows of ``W`` (a product
        ``patch_dim`` wide, not ``n_filters``).
        """
        dt = self._dtype
        K = filters.shape[1]
        self._patch_dim = K
        mean = np.zeros(K) if self.patch_mean_ is None else self.patch_mean_
        # float64 parts; the matrix for an encoding is built on first use
        self._fold = (filters, offset, (centroids**2).sum(axis=1))
        self._phi = {}
        if self.whitening_ is not None:
            self._whiten_t = np.ascontiguousarray(self.whitening_.T, dtype=dt)
            self._whiten_mean = (self.whitening_ @ mean).astype(dt)

    def _folded_matrix(self, encoding):
        """``(patch_dim + extra, n_filters)`` matrix of ``encoding``, see ``_prepare_transform``."""
        phi = self._phi.get(encoding)
        if phi is None:
            filters, offset, sqnorms = self._fold
            if encoding == "triangle":
                phi = np.vstack([-2.0 * filters.T, np.ones((1, len(filters))),
                                 (sqnorms + 2 * offset)[None]])
            elif encoding == "hard":
                # the largest 2 u.c_k - ||c_k||^2 is the nearest centroid
                phi = np.vstack([2.0 * filters.T, (-2.0 * offset - sqnorms)[None]])
            else:
                phi = np.vstack([filters.T, -offset[None]])
            phi = np.ascontiguousarray(phi, dtype=self._dtype)
            self._phi[encoding] = phi
        return phi

    # --- transform ----------------------------------------------------------------
    def _patch_rows(self, x, extra):
        """Normalized patch matrix ``(rows, patch_dim + extra)``: q in the first columns."""
        dt = self._dtype
        view = _engine.extract_patches(
            x, self.filters_.shape[1:-1], stride=self._stride, padding=self.padding,
            dilation=self._dilation,
        )
        out_shape = view.shape[: 1 + len(self._stride)]
        rows = math.prod(out_shape)
        K = self._patch_dim
        G = np.empty((rows, K + extra), dtype=dt)
        Q = G[:, :K]
        np.copyto(Q.reshape(view.shape), view)  # the im2col copy, straight into G
        if self.normalize:
            # Without eps, the rounding left by centring a flat patch would be
            # scaled up to O(1): flat patches are found exactly and set to 0.
            flat = Q.max(axis=1) == Q.min(axis=1) if self.norm_eps_ == 0 else None
            Q -= Q.mean(axis=1, keepdims=True)
            var = np.einsum("ij,ij->i", Q, Q) / dt.type(K - 1)
            denom = np.sqrt(var + dt.type(self.norm_eps_))
            np.divide(1, denom, out=denom, where=denom > 0)
            if flat is not None:
                denom[flat] = 0
            Q *= denom[:, None]
        return G, out_shape

    def _transform_batch(self, x):
        x = np.asarray(x, dtype=self._dtype)
        K = self._patch_dim
        phi = self._folded_matrix(self.encoding)
        if self.encoding == "triangle":
            G, out_shape = self._patch_rows(x, 2)
            Q = G[:, :K]
            if self.whitening_ is not None:
                V = Q @ self._whiten_t
                V -= self._whiten_mean
                G[:, K] = np.einsum("ij,ij->i", V, V)
            else:
                G[:, K] = np.einsum("ij,ij->i", Q, Q)
            G[:, K + 1] = 1
            # squared distances to every centroid, then the triangle activation
            d = G @ phi
            del G
            np.maximum(d, 0, out=d)  # rounding can leave tiny negatives
            np.sqrt(d, out=d)
            mean_dist = d.mean(axis=1, keepdims=True)
            np.subtract(mean_dist, d, out=d)
            np.maximum(d, 0, out=d)
            return d.reshape(out_shape + (self.n_filters_,))
        G, out_shape = self._patch_rows(x, 1)
        G[:, K] = 1
        scores = G @ phi
        del G
        if self.encoding == "hard":
            best = scores.argmax(axis=1)
            scores[:] = 0
            scores[np.arange(len(best)), best] = 1
            return scores.reshape(out_shape + (self.n_filters_,))
        codes = encode(scores, self.encoding, self.alpha)
        return codes.reshape(out_shape + (codes.shape[-1],))

    def inverse_transform(self, X):
        raise NotImplementedError(
            "KMeansConv encodes patches non-linearly (normalization, distances); it "
            "has no transposed convolution. Use Conv(filters=est.filters_) for the "
            "adjoint of its linear part."
        )
