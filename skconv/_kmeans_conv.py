"""KMeansConv: filters learned by k-means on normalized, whitened patches (Coates et al.)."""

import math

import numpy as np

from . import _engine
from ._base import BaseConv
from ._docs import fill_doc
from ._encoding import encode
from ._kmeans import _ALGORITHMS, _INITS, fit_centroids
from ._patches import fold_whitening, normalize_and_whiten, sample_patches, sampling_batch
from ._progress import Timer, say
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
    whiten_eps : float, default=1.0
        Added to the covariance eigenvalues of the normalized patches. Larger
        values whiten less. The default is the best value measured, not Coates et
        al.'s 0.1 (pass ``whiten_eps=0.1`` for their pipeline): on CIFAR-10 (JPEG
        q75) 1.0 classified better than 0.1 and 3.0 with 1,600 and 4,000 filters,
        and than 0.1 in the first layer of a two-layer stack (on a subset); on
        MNIST better than 0.1 (BENCHMARKS.md). The benchmarks pass their value
        explicitly, so their results do not depend on this default.
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
        whiten_eps=1.0,
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
        verbose=0,
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
        self.verbose = verbose

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
        timer = Timer()
        P = self._sample_patches(X, rng)
        say(self.verbose, f"KMeansConv fit: {P.shape[0]:,} patches of {P.shape[1]} values "
                          f"drawn in {timer}")
        return self._learn(P, rng)

    def _learn(self, P, rng):
        """Normalize, whiten and cluster the raw patch matrix ``P``; return the filters."""
        kernel = check_kernel_size(self.kernel_size)
        if P.shape[0] < self.n_filters:
            raise ValueError(
                f"n_filters={self.n_filters} is more than the {P.shape[0]} patches the "
                "training data holds."
            )
        timer = Timer()
        P, self.norm_eps_, zca = normalize_and_whiten(
            P, normalize=self.normalize, norm_eps=self.norm_eps, whiten=self.whiten,
            whiten_eps=self.whiten_eps,
        )
        if self.normalize or self.whiten:
            done = " and ".join(w for w, on in (("normalized", self.normalize),
                                                 ("whitened", self.whiten)) if on)
            say(self.verbose, f"KMeansConv fit: patches {done} in {timer}")
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
            verbose=self.verbose,
            what="KMeansConv fit",
        )
        centroids = centroids.astype(np.float64)
        n_channels = self.input_shape_[-1]
        shape = (self.n_filters,) + kernel + (n_channels,)
        self.centroids_ = centroids.reshape(shape).astype(self._dtype)
        self.n_patches_ = int(P.shape[0])
        # normalization ignores a constant shift of a patch; the transform shifts
        # patches by the training patches' mean to keep its row variances accurate
        self._patch_shift = float(P.mean())
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
    def _transform_batch(self, x, out=None):
        key = FoldedTransform.key(self)  # the parameters the transform reads
        folded = self._phi.get(key)
        if folded is None:
            folded = self._phi[key] = FoldedTransform([self])
        y = folded(x)
        if out is not None:
            out[...] = y
        return y

    @classmethod
    def _grouped_transform(cls, estimators, groups):
        """One batched transform of fitted clones, clone ``g`` on channels ``groups[g]``.

        The hook :class:`skconv.ReceptiveFieldConv` looks for: it returns a callable
        that maps an input batch to the clones' maps side by side (in the order of
        ``groups``), or None when the clones cannot share one computation (another
        class, or different geometry or encoding), and the layer then calls the
        clones one by one.
        """
        if not estimators or any(type(est) is not cls for est in estimators):
            return None
        keys = {FoldedTransform.key(est) for est in estimators}
        if len(keys) != 1:
            return None
        return FoldedTransform(estimators, groups)

    def inverse_transform(self, X):
        raise NotImplementedError(
            "KMeansConv encodes patches non-linearly (normalization, distances); it "
            "has no transposed convolution. Use Conv(filters=est.filters_) for the "
            "adjoint of its linear part."
        )


# Patch rows of one chunk of groups, in bytes: small enough that the
# normalization, the whitened norms and the products of a chunk read their
# operands back from cache.
_GROUP_CHUNK_BYTES = 2 * 2**20


class FoldedTransform:
    """The folded transform of fitted KMeansConv layers with one geometry, batched.

    Layer ``g`` reads channels ``groups[g]`` of the input (all of them for a
    single layer, ``groups=None``); the output is their maps side by side, layer
    by layer. All layers' patches are gathered by one im2col copy, and each
    layer's product (see ``KMeansConv._prepare_transform``) is one matrix of a
    batched product, chunk of groups by chunk of groups, so that a layer of a
    hundred groups costs a few calls per batch, not a hundred transforms. Each
    layer's result is that of its own transform, to float rounding.

    Where the normalization happens depends on which side of the product is
    narrower. With more filters than patch values (a first layer: 1,600 filters,
    108 values) the patch rows are centred and scaled in place, as the
    transform's definition says. With fewer (a receptive field: 32 filters, 144
    values) the rows are left raw and the normalization is applied to the
    products instead: centring ``p - mean(p)`` is folded into the matrices (the
    filters and the whitening, centred along the patch axis), and the scale
    ``1 / sqrt(var + eps)`` multiplies the few output columns, with the rows'
    constant terms divided by it beforehand. The row means and variances come
    from two passes over the rows, which are first shifted by a constant fixed at
    fit (the training patches' mean; a shift common to a row leaves its
    normalization unchanged) so that the variance loses little to cancellation.
    """

    @staticmethod
    def key(est):
        """What layers must share to be computed together."""
        return (
            est.filters_.shape, est._stride, repr(est.padding), est._dilation, est.encoding,
            float(est.alpha), bool(est.normalize), est.whitening_ is None, est._dtype.str,
        )

    def __init__(self, estimators, groups=None):
        est = estimators[0]
        dt = est._dtype
        self.kernel = tuple(est.filters_.shape[1:-1])
        self.geometry = dict(stride=est._stride, padding=est.padding, dilation=est._dilation)
        self.encoding, self.alpha, self.normalize = est.encoding, est.alpha, est.normalize
        self.dtype = dt
        self.patch_dim = K = est._patch_dim
        self.n_filters = est.n_filters_
        self.channels = None if groups is None else np.asarray(groups, dtype=np.intp).ravel()
        self.norm_eps = np.array([e.norm_eps_ for e in estimators], dtype=dt)
        self.output_side = bool(self.normalize) and self.n_filters < K
        triangle = self.encoding == "triangle"
        whitened = triangle and est.whitening_ is not None
        self.whiten = None
        if not self.output_side:
            # (n_groups, patch_dim + extra, n_filters): each layer's folded matrix
            self.phi = np.stack([e._folded_matrix(self.encoding) for e in estimators])
            if whitened:
                self.whiten = np.stack([e._whiten_t for e in estimators])
                self.whiten_mean = np.stack([e._whiten_mean for e in estimators])[:, None, :]
            return
        self.shift = np.array([getattr(e, "_patch_shift", 0.0) for e in estimators], dtype=dt)
        phis, whitens, offsets = [], [], []
        for e in estimators:
            filters, offset, sqnorms = e._fold
            # q . f = r (p - mean(p)) . f = r p . (f - mean(f)): centred filters
            fc = filters - filters.mean(axis=1, keepdims=True)
            if triangle:
                phi = np.vstack([-2.0 * fc.T, np.ones((1, len(fc))), (sqnorms + 2 * offset)[None]])
            elif self.encoding == "hard":
                phi = np.vstack([2.0 * fc.T, (-2.0 * offset - sqnorms)[None]])
            else:
                phi = np.vstack([fc.T, -offset[None]])
            phis.append(phi)
            if whitened:
                # u = W (q - m) = r (p - mean(p)) W - a with a = W m: the centring
                # folds into W's columns, and u . a comes as one more column
                W = e.whitening_
                a = W @ (np.zeros(K) if e.patch_mean_ is None else e.patch_mean_)
                Wc = W.T - W.T.mean(axis=0, keepdims=True)
                whitens.append(np.hstack([Wc, (Wc @ a)[:, None]]))
                offsets.append(a @ a)
        self.phi = np.ascontiguousarray(np.stack(phis), dtype=dt)
        if whitened:
            self.whiten = np.ascontiguousarray(np.stack(whitens), dtype=dt)
            self.whiten_sq = np.array(offsets, dtype=dt)[:, None]

    def __call__(self, x):
        dt, K = self.dtype, self.patch_dim
        n_groups, F = len(self.phi), self.n_filters
        x = np.asarray(x, dtype=dt)
        if self.channels is not None:
            x = np.take(x, self.channels, axis=-1)  # the groups' channels, one group after another
        cg = x.shape[-1] // n_groups
        if self.output_side:
            if self.channels is None:
                x = x - self.shift[0]  # never in place on the caller's input
            else:
                grouped = x.reshape(x.shape[:-1] + (n_groups, cg))
                grouped -= self.shift[:, None]
        view = _engine.extract_patches(x, self.kernel, **self.geometry)
        d = len(self.kernel)
        out_shape = view.shape[: 1 + d]
        rows = math.prod(out_shape)
        # (n_groups, n, *out, *kernel, cg): the patches of each group
        view = np.moveaxis(view.reshape(view.shape[:-1] + (n_groups, cg)), -2, 0)
        triangle = self.encoding == "triangle"
        extra = 2 if triangle else 1
        codes = np.empty((rows, n_groups, F), dtype=dt)
        step = max(1, _GROUP_CHUNK_BYTES // (rows * (K + extra) * dt.itemsize))
        for g0 in range(0, n_groups, step):
            g1 = min(g0 + step, n_groups)
            buf = np.empty((g1 - g0, rows, K + extra), dtype=dt)
            Q = buf[..., :K]
            # the im2col copy, straight into the product's operand
            np.copyto(np.reshape(Q, view[g0:g1].shape, copy=False), view[g0:g1])
            if self.output_side:
                scale = self._fill_output_side(buf, g0, g1)
            else:
                self._fill_input_side(buf, g0, g1)
            out = codes[:, g0:g1]
            np.matmul(buf, self.phi[g0:g1], out=out.transpose(1, 0, 2))
            del buf
            if self.output_side:
                out *= scale.T[..., None]
            if triangle:
                # squared distances to every centroid, then the triangle activation
                np.maximum(out, 0, out=out)  # rounding can leave tiny negatives
                np.sqrt(out, out=out)
                np.subtract(out.mean(axis=-1, keepdims=True), out, out=out)
                np.maximum(out, 0, out=out)
            elif self.encoding == "hard":
                best = out.argmax(axis=-1)[..., None]
                out[...] = 0
                np.put_along_axis(out, best, 1, axis=-1)
            elif self.encoding != "split":
                encode(out, self.encoding, self.alpha)  # in place
        if self.encoding == "split":
            codes = encode(codes, "split", self.alpha)  # per group: [pos, neg]
        return codes.reshape(out_shape + (n_groups * codes.shape[-1],))

    def _flat_rows(self, Q, norm_eps):
        """Rows that are exactly constant, in the groups without eps (else None).

        Without eps, the rounding left by centring a flat patch would be scaled up
        to O(1): flat patches are found exactly and set to 0.
        """
        exact = norm_eps == 0
        if not exact.any():
            return None
        return (Q.max(axis=-1) == Q.min(axis=-1)) & exact[:, None]

    def _fill_input_side(self, buf, g0, g1):
        """Normalize the rows in place and fill the extra columns."""
        dt, K = self.dtype, self.patch_dim
        Q = buf[..., :K]
        if self.normalize:
            norm_eps = self.norm_eps[g0:g1]
            flat = self._flat_rows(Q, norm_eps)
            Q -= Q.mean(axis=-1, keepdims=True)
            var = np.einsum("...k,...k->...", Q, Q) / dt.type(K - 1)
            denom = np.sqrt(var + norm_eps[:, None])
            np.divide(1, denom, out=denom, where=denom > 0)
            if flat is not None:
                denom[flat] = 0
            Q *= denom[..., None]
        if self.encoding == "triangle":
            if self.whiten is not None:
                V = np.matmul(Q, self.whiten[g0:g1])
                V -= self.whiten_mean[g0:g1]
                buf[..., K] = np.einsum("...k,...k->...", V, V)
            else:
                buf[..., K] = np.einsum("...k,...k->...", Q, Q)
        buf[..., -1] = 1

    def _fill_output_side(self, buf, g0, g1):
        """Fill the extra columns of raw rows; return the scale of each output row."""
        dt, K = self.dtype, self.patch_dim
        P = buf[..., :K]
        norm_eps = self.norm_eps[g0:g1]
        flat = self._flat_rows(P, norm_eps)
        total = np.einsum("...k->...", P)
        centred_sq = np.einsum("...k,...k->...", P, P)
        centred_sq -= total * total / dt.type(K)  # ||p - mean(p)||^2
        np.maximum(centred_sq, 0, out=centred_sq)
        denom = np.sqrt(centred_sq / dt.type(K - 1) + norm_eps[:, None])
        scale = np.divide(1, denom, out=denom, where=denom > 0)
        if flat is not None:
            scale[flat] = 0
        zero = scale == 0
        if zero.any():
            # the normalized patch is 0: only the constant terms are left (with
            # the row zeroed and a scale of 1, the sums below give them exactly)
            P[zero] = 0
            scale[zero] = 1
            centred_sq[zero] = 0
        inv = 1 / scale
        if self.encoding == "triangle":
            if self.whiten is not None:
                V = np.matmul(P, self.whiten[g0:g1])  # (p - mean(p)) W, then (p - mean(p)) W a
                sq = np.einsum("...k,...k->...", V[..., :K], V[..., :K])
                # ||u||^2 = r^2 ||(p - mean(p)) W||^2 - 2 r (p - mean(p)) W a + ||a||^2
                sq *= scale * scale
                sq -= 2 * scale * V[..., K]
                sq += self.whiten_sq[g0:g1]
            else:
                sq = centred_sq * (scale * scale)  # ||q||^2
            buf[..., K] = sq * inv
        buf[..., -1] = inv
        return scale
