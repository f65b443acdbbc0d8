"""Centroid learning for k-means filter banks.

Private helpers behind k-means-learned convolution filters (Coates, Lee & Ng,
2011; Coates & Ng, 2012): three ways to learn the centroids of a patch matrix.
The patch preprocessing is in ``_patches.py``.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans, MiniBatchKMeans

from ._progress import Progress, Timer, say
from ._validation import (
    check_float,
    check_int,
    check_matrix,
    check_option,
    check_random_state,
    check_verbose,
)

__all__ = ["fit_centroids"]

_ALGORITHMS = ("kmeans", "minibatch", "spherical")
_INITS = ("k-means++", "gaussian")
# Standard deviation of the "gaussian" initial centroids, in units of the
# patches' root-mean-square coordinate deviation (Coates' code: 0.1 for
# whitened patches).
_GAUSSIAN_INIT_SCALE = 0.1
# Spherical k-means seeding looks at a random subset of this many patches.
_SEED_SAMPLES_PER_CLUSTER = 20
_SEED_MIN_SAMPLES = 10_000


def fit_centroids(
    P,
    n_clusters,
    *,
    algorithm="kmeans",
    init="k-means++",
    max_iter=50,
    tol=0.0,
    random_state=None,
    batch_size=4096,
    n_init=1,
    return_n_iter=False,
    verbose=0,
    what="k-means",
):
    """Learn ``n_clusters`` centroids of the rows of a patch matrix.

    Parameters
    ----------
    P : array-like of shape (n_patches, patch_dim)
        Patches (usually normalized and whitened), one per row. Not modified.
    n_clusters : int
        Number of centroids, at most ``n_patches``.
    algorithm : {"kmeans", "minibatch", "spherical"}, default="kmeans"
        - ``"kmeans"``: Lloyd's k-means, :class:`sklearn.cluster.KMeans`
          (``algorithm="lloyd"``, k-means++ seeding on all the patches).
        - ``"minibatch"``: :class:`sklearn.cluster.MiniBatchKMeans`.
        - ``"spherical"``: gain-shape k-means of Coates & Ng (2012), see
          Notes. Centroids have unit norm.
    init : {"k-means++", "gaussian"}, default="k-means++"
        Initial centroids.

        - ``"k-means++"``: greedy k-means++ seeding (Arthur & Vassilvitskii,
          2007) on all the patches; for ``"spherical"``, its variant for the
          spherical loss (see Notes).
        - ``"gaussian"``: small random vectors around the patches' mean, as in
          Coates et al.'s code: each coordinate drawn from
          ``N(mean_j, (0.1 s)^2)`` with ``s`` the root-mean-square deviation
          of the patch coordinates, so the first assignment splits the patches
          by the random direction they project on most. For ``"kmeans"`` the
          Lloyd iterations are then run here (float32 products, float64 sums)
          with an empty cluster's centroid reset to the patches' mean (Coates
          et al. set it to zero, the mean of whitened patches), not moved to a
          distant patch as scikit-learn does; for ``"spherical"`` the Gaussian
          vectors are normalized (Coates & Ng, 2012). With many clusters,
          k-means++ spends more centroids on rare outlying patches (it draws
          seeds in proportion to their squared distance), which leaves more
          clusters of a handful of patches than the Gaussian start does.
    max_iter : int, default=50
        Iterations (full passes over ``P``); Coates et al. (2011) ran 50.
    tol : float, default=0.0
        Convergence tolerance. For ``"kmeans"`` and ``"minibatch"`` it is
        relative to the mean variance of the patch coordinates, as in
        scikit-learn (which runs them, except ``"kmeans"`` with
        ``init="gaussian"``); ``"kmeans"`` stops when the summed squared shift
        of the centroids is at most that, or when the assignments no longer
        change, so with ``tol=0`` it runs ``max_iter`` iterations unless
        exactly converged, as in Coates' reference code;
        ``"minibatch"`` keeps scikit-learn's own early stopping on the
        smoothed inertia (``max_no_improvement``). For ``"spherical"``,
        iterations stop once the summed squared change of the (unit)
        centroids is at most ``tol`` (so ``tol=0`` runs ``max_iter``
        iterations unless the centroids stop changing exactly).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization and the re-seeding of empty clusters (and
        the mini-batches). An int gives reproducible centroids.
    batch_size : int, default=4096
        Mini-batch size for ``"minibatch"``; for ``"spherical"`` and for
        ``"kmeans"`` with ``init="gaussian"``, the number of patches per
        matrix product (bounds the memory of the ``batch_size x n_clusters``
        similarity block). Unused by ``"kmeans"`` with ``init="k-means++"``.
    n_init : int, default=1
        Number of initializations; the best run (lowest inertia, or for
        ``"spherical"`` the highest summed squared projection) is kept.
    return_n_iter : bool, default=False
        Also return the number of iterations the kept run made.
    verbose : int, default=0
        Report the seeding (centres chosen) and the iterations (the time left is
        that of ``max_iter`` iterations, an upper bound) on the ``"skconv"``
        logger; see :mod:`skconv._progress`.
    what : str, default="k-means"
        The head of the reports.

    Returns
    -------
    centroids : ndarray of shape (n_clusters, patch_dim)
        float32 for float32 or integer input, float64 for float64 input.
    n_iter : int
        Only with ``return_n_iter=True``.

    Notes
    -----
    Spherical k-means follows Coates & Ng (2012), Algorithm 1. With unit
    centroids ``d_j``, each patch ``x`` is assigned to the centroid of
    largest **absolute** projection ``j = argmax_j |d_j . x|`` with code
    ``s = d_j . x`` (signed), which minimizes ``||x - s d_j||^2`` over one-hot
    codes; each centroid is then replaced by ``sum_i s_i x_i`` over its
    patches and renormalized. A centroid and its negative are therefore the
    same cluster, and patches contribute in proportion to their projection
    (so low-contrast patches weigh little). A centroid with no patch (or a
    zero update) is re-seeded from a random normalized nonzero patch.

    The paper starts from normalized Gaussian vectors (``init="gaussian"``);
    with ``init="k-means++"`` the centroids are seeded as in k-means++
    (Arthur & Vassilvitskii, 2007) for this loss: each is a normalized patch
    drawn with probability proportional to its residual
    ``||x||^2 - max_j (d_j . x)^2`` under the centroids chosen so far (the
    greedy variant: the best of ``2 + log(n_clusters)`` such draws), over a
    random subset of ``max(10000, 20 * n_clusters)`` patches. Random
    starts often leave two centroids in one cluster and one centroid on two,
    a local optimum Lloyd iterations do not leave. Similarities are float32
    (or float64) matrix products over blocks of ``batch_size`` patches; the
    result is deterministic for a fixed ``random_state``.

    References
    ----------
    .. [1] A. Coates, H. Lee and A. Y. Ng, "An Analysis of Single-Layer
       Networks in Unsupervised Feature Learning", AISTATS 2011.
    .. [2] A. Coates and A. Y. Ng, "Learning Feature Representations with
       K-means", Neural Networks: Tricks of the Trade, 2nd ed., Springer, 2012.
    .. [3] D. Arthur and S. Vassilvitskii, "k-means++: The Advantages of
       Careful Seeding", SODA 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv._kmeans import fit_centroids
    >>> rng = np.random.RandomState(0)
    >>> P = rng.randn(1000, 8).astype(np.float32)
    >>> D = fit_centroids(P, 4, algorithm="spherical", random_state=0)
    >>> D.shape, bool(np.allclose(np.linalg.norm(D, axis=1), 1, atol=1e-6))
    ((4, 8), True)
    """
    P = check_matrix(P, "P")
    check_option(algorithm, "algorithm", _ALGORITHMS)
    n_clusters = check_int(n_clusters, "n_clusters", min_val=1)
    max_iter = check_int(max_iter, "max_iter", min_val=1)
    tol = check_float(tol, "tol", min_val=0.0)
    batch_size = check_int(batch_size, "batch_size", min_val=1)
    n_init = check_int(n_init, "n_init", min_val=1)
    check_option(init, "init", _INITS)
    verbose = check_verbose(verbose)
    if n_clusters > P.shape[0]:
        raise ValueError(
            f"n_clusters must be at most the number of patches ({P.shape[0]}), got "
            f"{n_clusters}."
        )
    dtype = np.float64 if P.dtype == np.float64 else np.float32
    P = np.asarray(P, dtype=dtype)
    rng = check_random_state(random_state)
    name = {"kmeans": "Lloyd", "minibatch": "mini-batch", "spherical": "spherical"}[algorithm]
    say(verbose, f"{what}: {name} k-means of {P.shape[0]:,} patches of {P.shape[1]} "
                 f"values into {n_clusters} centroids, {init} start, at most {max_iter} "
                 f"iterations" + (f", {n_init} starts" if n_init > 1 else ""))
    log = dict(verbose=verbose, what=what)

    if algorithm == "kmeans" and init == "gaussian":
        best, best_inertia = None, np.inf
        for _ in range(n_init):
            C, inertia, n_iter = _lloyd(P, _gaussian_init(P, n_clusters, rng), max_iter, tol,
                                        batch_size, **log)
            if inertia < best_inertia:
                best, best_inertia, best_iter = C, inertia, n_iter
        return (best, best_iter) if return_n_iter else best
    if algorithm == "kmeans":
        best, best_inertia = None, np.inf
        for _ in range(n_init):
            start = _kmeans_plusplus(P, n_clusters, rng, **log)
            timer = Timer()
            km = KMeans(
                n_clusters=n_clusters,
                algorithm="lloyd",
                init=start,
                n_init=1,
                max_iter=max_iter,
                tol=tol,
                random_state=rng,
            ).fit(P)
            say(verbose, f"{what}: {km.n_iter_} Lloyd iterations (scikit-learn's KMeans) in "
                         f"{timer}, inertia {km.inertia_:.6g}")
            if km.inertia_ < best_inertia:
                best, best_inertia, best_iter = km.cluster_centers_, km.inertia_, km.n_iter_
        best = np.asarray(best, dtype=dtype)
        return (best, int(best_iter)) if return_n_iter else best
    if algorithm == "minibatch":
        timer = Timer()
        km = MiniBatchKMeans(
            n_clusters=n_clusters,
            init="k-means++" if init == "k-means++" else _gaussian_init(P, n_clusters, rng),
            # one explicit start would be repeated n_init times
            n_init=n_init if init == "k-means++" else 1,
            max_iter=max_iter,
            tol=tol,
            batch_size=batch_size,
            random_state=rng,
        ).fit(P)
        say(verbose, f"{what}: {km.n_iter_} mini-batch passes (scikit-learn's MiniBatchKMeans) "
                     f"in {timer}")
        best = np.asarray(km.cluster_centers_, dtype=dtype)
        return (best, int(km.n_iter_)) if return_n_iter else best

    best, best_score, best_iter = None, -np.inf, 0
    for _ in range(n_init):
        D, score, n_iter = _spherical_kmeans(P, n_clusters, max_iter, tol, batch_size, rng, init,
                                             **log)
        if score > best_score:
            best, best_score, best_iter = D, score, n_iter
    return (best, best_iter) if return_n_iter else best


def _kmeans_plusplus(P, n_clusters, rng, verbose=0, what="k-means"):
    """Greedy k-means++ seeding (Arthur & Vassilvitskii, 2007) on all rows of ``P``.

    The same procedure as scikit-learn's ``init="k-means++"``: the first centre
    is a random row; each next one is the best, by the total squared distance
    to the nearest centre, of ``2 + log(n_clusters)`` rows drawn with
    probability proportional to that squared distance. The distances are
    computed in the dtype of ``P`` (float32 patches stay float32) from one
    ``(trials, dim) x (dim, n)`` product per centre, which reads ``P`` once per
    centre; scikit-learn computes them in float64, several times slower on
    the hundreds of thousands of patches k-means filters are learned from.
    """
    n = P.shape[0]
    sq = np.einsum("ij,ij->i", P, P)
    n_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, P.shape[1]), dtype=P.dtype)
    first = rng.randint(n)
    centers[0] = P[first]
    closest = _sq_distances(P, sq, P[first : first + 1], sq[first : first + 1])[0]
    progress = Progress(verbose, f"{what}: k-means++ seeding", n_clusters, unit="centres")
    progress.update(1)
    for j in range(1, n_clusters):
        cand = _draw_candidates(closest, n_trials, rng)
        if cand is None:
            # every row coincides with a centre already: any rows will do
            centers[j:] = P[rng.randint(n, size=n_clusters - j)]
            progress.update(n_clusters - j)
            break
        D = _sq_distances(P, sq, P[cand], sq[cand])
        np.minimum(D, closest, out=D)
        best = int(np.argmin(D.sum(axis=1, dtype=np.float64)))
        closest = D[best]
        centers[j] = P[cand[best]]
        progress.update(1)
    return centers


def _gaussian_init(P, n_clusters, rng):
    """Gaussian centroids around the mean of ``P``, of deviation 0.1 times its RMS deviation."""
    mean = P.mean(axis=0, dtype=np.float64)
    spread = np.sqrt(np.mean(P.var(axis=0, dtype=np.float64)))
    G = rng.standard_normal((n_clusters, P.shape[1]))
    return (mean + _GAUSSIAN_INIT_SCALE * spread * G).astype(P.dtype)


def _lloyd(P, C, max_iter, tol, batch_size, verbose=0, what="k-means"):
    """Lloyd iterations from the centroids ``C``; empty clusters restart at the mean of ``P``.

    Returns the centroids, the inertia of the final assignment and the number
    of iterations. Assignments come from float32 (or float64) products over
    blocks of ``batch_size`` rows; the sums are float64.
    """
    mean = P.mean(axis=0, dtype=np.float64)
    threshold = tol * float(np.mean(P.var(axis=0, dtype=np.float64)))
    previous = None
    n_iter = 0
    progress = Progress(verbose, f"{what}: Lloyd", max_iter, unit="iterations")
    for n_iter in range(1, max_iter + 1):
        labels, _, sums, counts = _lloyd_pass(P, C, batch_size)
        progress.update(1)
        empty = counts == 0
        sums[~empty] /= counts[~empty, None]
        sums[empty] = mean
        shift = float(np.sum((sums - C) ** 2))
        C = sums.astype(P.dtype)
        if (previous is not None and np.array_equal(labels, previous)) or shift <= threshold:
            break
        previous = labels
    _, inertia, _, _ = _lloyd_pass(P, C, batch_size, accumulate=False)
    say(verbose and n_iter < max_iter, f"{what}: converged after {n_iter} iterations")
    return C, inertia, n_iter


def _lloyd_pass(P, C, batch_size, accumulate=True):
    """Nearest centroids of the rows of ``P``: labels, inertia and (optionally) float64 sums and counts.

    The nearest centroid maximizes ``x . c - ||c||^2 / 2``, one product per
    block; the inertia ``sum ||x||^2 - 2 max_c (x . c - ||c||^2 / 2)`` is
    accumulated in float64.
    """
    n = P.shape[0]
    half_sq = 0.5 * np.einsum("ij,ij->i", C, C)
    labels = np.empty(n, dtype=np.intp)
    inertia = 0.0
    sums = np.zeros(C.shape, dtype=np.float64) if accumulate else None
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        block = P[start:stop]
        S = block @ C.T
        S -= half_sq
        idx = np.argmax(S, axis=1)
        labels[start:stop] = idx
        best = S[np.arange(stop - start), idx].astype(np.float64)
        sq = np.einsum("ij,ij->i", block, block, dtype=np.float64)
        inertia += float(np.sum(np.maximum(sq - 2.0 * best, 0.0)))
        if accumulate:
            _add_cluster_sums(sums, idx, np.ones(stop - start), block)
    counts = np.bincount(labels, minlength=C.shape[0]) if accumulate else None
    return labels, inertia, sums, counts


def _draw_candidates(loss, n_trials, rng):
    """``n_trials`` row indices drawn with probability proportional to ``loss``.

    The k-means++ draw; ``None`` when every loss is zero.
    """
    cum = np.cumsum(loss, dtype=np.float64)
    if cum[-1] <= 0:
        return None
    draws = rng.uniform(size=n_trials) * cum[-1]
    # side="right": a row of zero loss is never drawn, even by a draw of exactly 0
    return np.minimum(np.searchsorted(cum, draws, side="right"), len(cum) - 1)


def _sq_distances(P, sq, C, sq_c):
    """Squared Euclidean distances ``(len(C), len(P))``, clipped at 0."""
    D = C @ P.T
    D *= -2
    D += sq
    D += sq_c[:, None]
    return np.maximum(D, 0, out=D)


def _spherical_pass(P, D, batch_size, accumulate):
    """One pass of max-|projection| assignment over blocks of rows.

    Returns the labels, the signed codes and, if ``accumulate``, the float64
    sums ``sum_i s_i x_i`` per centroid.
    """
    n = P.shape[0]
    labels = np.empty(n, dtype=np.intp)
    codes = np.empty(n, dtype=P.dtype)
    sums = np.zeros(D.shape, dtype=np.float64) if accumulate else None
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        block = P[start:stop]
        G = block @ D.T
        idx = np.argmax(np.abs(G), axis=1)
        code = G[np.arange(stop - start), idx]
        labels[start:stop] = idx
        codes[start:stop] = code
        if accumulate:
            _add_cluster_sums(sums, idx, code.astype(np.float64), block)
    return labels, codes, sums


def _add_cluster_sums(sums, labels, weights, block):
    """``sums[j] += sum of weights[i] * block[i] over the rows i with labels[i] == j`` (float64).

    ``S^T X`` for the weighted one-hot assignment matrix ``S`` of the block, as a
    sparse product: O(block size x dim) instead of a dense GEMM.
    """
    S = sp.csr_matrix(
        (weights, (labels, np.arange(len(labels)))), shape=(sums.shape[0], len(labels))
    )
    sums += S @ block.astype(np.float64)


def _unit_gaussian(count, dim, dtype, rng):
    """``count`` random unit vectors (normalized Gaussian, in float64), cast to ``dtype``."""
    G = rng.standard_normal((count, dim))
    return (G / np.linalg.norm(G, axis=1, keepdims=True)).astype(dtype)


def _random_patch_directions(P, count, rng, norms):
    """``count`` normalized nonzero rows of P drawn at random (unit Gaussian if none)."""
    nonzero = np.flatnonzero(norms > 0)
    if nonzero.size == 0:
        return _unit_gaussian(count, P.shape[1], P.dtype, rng)
    rows = nonzero[rng.randint(nonzero.size, size=count)]
    return P[rows] / norms[rows, None].astype(P.dtype)


def _seed_sample_size(n_clusters):
    return max(_SEED_MIN_SAMPLES, _SEED_SAMPLES_PER_CLUSTER * n_clusters)


def _spherical_init(P, n_clusters, rng, norms, verbose=0, what="k-means"):
    """Greedy k-means++ seeding for the loss ``||x||^2 - max_j (d_j . x)^2``.

    Each new centroid is a normalized patch. ``2 + log(n_clusters)``
    candidates are drawn with probability proportional to their current loss
    (k-means++ draws with the squared distance to the nearest centre) and
    the one that lowers the total loss most is kept, as scikit-learn's
    greedy k-means++ does.
    """
    if P.shape[0] > _seed_sample_size(n_clusters):
        # Seeding costs n_clusters passes over its sample; a random subset
        # keeps it to a few Lloyd iterations' worth at any n_patches.
        rows = np.sort(rng.choice(P.shape[0], _seed_sample_size(n_clusters), replace=False))
        P, norms = P[rows], norms[rows]
    sq = norms.astype(np.float64) ** 2
    loss = sq.copy()
    n_trials = 2 + int(np.log(n_clusters))
    D = np.empty((n_clusters, P.shape[1]), dtype=P.dtype)
    progress = Progress(verbose, f"{what}: k-means++ seeding", n_clusters, unit="centres")
    for j in range(n_clusters):
        cand = _draw_candidates(loss, n_trials, rng)
        if cand is None:
            # Every patch is already represented exactly (or all are zero).
            D[j:] = _random_patch_directions(P, n_clusters - j, rng, norms)
            progress.update(n_clusters - j)
            break
        directions = P[cand] / norms[cand, None].astype(P.dtype)
        proj = (P @ directions.T).astype(np.float64)
        trial_loss = np.minimum(loss[:, None], np.maximum(sq[:, None] - proj**2, 0.0))
        best = int(np.argmin(trial_loss.sum(axis=0)))
        D[j] = directions[best]
        loss = trial_loss[:, best].copy()
        progress.update(1)
    return D


def _spherical_kmeans(P, n_clusters, max_iter, tol, batch_size, rng, init="k-means++",
                      verbose=0, what="k-means"):
    norms = np.linalg.norm(P, axis=1)
    if init == "gaussian":
        D = _unit_gaussian(n_clusters, P.shape[1], P.dtype, rng)
    else:
        D = _spherical_init(P, n_clusters, rng, norms, verbose, what)
    n_iter = 0
    progress = Progress(verbose, f"{what}: spherical", max_iter, unit="iterations")
    for n_iter in range(1, max_iter + 1):
        # No early stop on unchanged assignments: the codes s_i = d_j . x_i
        # depend on the centroids, so each update still moves d_j (a power
        # iteration towards the top eigenvector of its cluster's scatter).
        _, _, sums = _spherical_pass(P, D, batch_size, accumulate=True)
        lengths = np.linalg.norm(sums, axis=1)
        empty = lengths == 0
        sums[~empty] /= lengths[~empty, None]
        if empty.any():
            sums[empty] = _random_patch_directions(P, int(empty.sum()), rng, norms)
        shift = float(np.sum((sums - D) ** 2))
        D = sums.astype(P.dtype)
        progress.update(1)
        if shift <= tol:
            break
    say(verbose and n_iter < max_iter, f"{what}: converged after {n_iter} iterations")
    _, codes, _ = _spherical_pass(P, D, batch_size, accumulate=False)
    return D, float(np.sum(codes.astype(np.float64) ** 2)), n_iter
