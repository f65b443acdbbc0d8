"""Reference single-layer k-means pipeline (Coates, Lee & Ng, AISTATS 2011).

The published CIFAR-10 pipeline written the straightforward way, with numpy,
scipy and scikit-learn only (no skconv), so skconv's results and speed can be
compared against it:

1. ``n_patches`` random 6x6x3 patches (random training image, random
   position);
2. per-patch contrast normalization ``(p - mean(p)) / sqrt(var(p) + 10)`` on
   the 0..255 pixel scale (``var`` normalized by ``dim - 1``, as MATLAB's
   ``var`` in the authors' code);
3. ZCA whitening ``(p - M) @ W`` with ``W = V diag(1 / sqrt(l + 0.1)) V^T``
   from the eigendecomposition ``C = V diag(l) V^T`` of the patch covariance
   (normalized by ``n - 1``, as MATLAB's ``cov``);
4. k-means with ``K`` centroids: scikit-learn's Lloyd ``KMeans``, one
   initialization, 50 iterations (``tol=0``: no early stop short of exact
   convergence, as the authors' fixed 50 iterations);
5. for every image, the explicit matrix of all 27 x 27 patches (stride 1),
   normalized and whitened as above, Euclidean distances ``z_k`` to the
   centroids and the triangle encoding ``f_k = max(0, mean_k(z) - z_k)``;
6. sum pooling over four quadrants (rows and columns split at
   ``round(27 / 2) = 14``), ``4 K`` features per image, ordered
   (top-left, top-right, bottom-left, bottom-right) x centroid;
7. standardization with the training mean and ``sqrt(var + 0.01)`` (in
   float32, in place), and a bias term, regularized like the weights as the
   authors' constant-1 feature column is;
8. one-vs-rest squared-hinge linear SVM, ``C = 100``, with the objective of
   the authors' code, trained by truncated Newton or, as the authors did, by
   L-BFGS (see :func:`train_l2svm`).

The authors' code takes patches from images in turn (patch ``i`` from image
``i mod n``); here each patch comes from an image drawn at random.

Run ``python benchmarks/coates_reference.py --help`` for the options. It
prints the wall time of each stage, the feature-extraction throughput, the
peak resident memory and the test accuracy. On this repository's data the
accuracy is on CIFAR-10 decoded from JPEG (quality 75), not the original
pixels, so it is not directly comparable to the paper's 77.9 %.

Reference: A. Coates, H. Lee and A. Y. Ng, "An Analysis of Single-Layer
Networks in Unsupervised Feature Learning", AISTATS 2011.
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.optimize
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA_DIR, peak_memory_mib  # noqa: E402

DEFAULT_DATA = DATA_DIR / "cifar10_jpeg_q75.npz"

PATCH_SIZE = 6
NORM_EPS = 10.0  # contrast normalization, on the 0..255 pixel scale
ZCA_EPS = 0.1
FEATURE_VAR_EPS = 0.01
SVM_C = 100.0


# ----------------------------------------------------------------- data


def load_cifar(path=DEFAULT_DATA, n_train=None, n_test=None):
    """First ``n_train`` training and ``n_test`` test images and labels (uint8 NHWC)."""
    with np.load(path) as data:
        X_train, y_train = data["X_train"][:n_train], data["y_train"][:n_train]
        X_test, y_test = data["X_test"][:n_test], data["y_test"][:n_test]
    return X_train, y_train, X_test, y_test


# ----------------------------------------------------------------- patches


def sample_patches(images, n_patches, patch_size=PATCH_SIZE, rng=None):
    """``n_patches`` random patches (random image, random position), flattened (p, p, c)."""
    rng = check_random_state(rng)
    n, height, width, _ = images.shape
    which = rng.randint(n, size=n_patches)
    top = rng.randint(height - patch_size + 1, size=n_patches)
    left = rng.randint(width - patch_size + 1, size=n_patches)
    offsets = np.arange(patch_size)
    rows = top[:, None, None] + offsets[None, :, None]
    cols = left[:, None, None] + offsets[None, None, :]
    patches = images[which[:, None, None], rows, cols]  # (n_patches, p, p, c)
    return patches.reshape(n_patches, -1)


def all_patches(images, patch_size=PATCH_SIZE):
    """Every valid patch of every image, stride 1: (n * rows * cols, p * p * c).

    Rows are ordered by image, then patch row, then patch column; each patch is
    flattened in (p, p, c) order like :func:`sample_patches`.
    """
    n, height, width, channels = images.shape
    rows, cols = height - patch_size + 1, width - patch_size + 1
    out = np.empty((n, rows, cols, patch_size, patch_size, channels), dtype=images.dtype)
    for dy in range(patch_size):
        for dx in range(patch_size):
            out[:, :, :, dy, dx, :] = images[:, dy : dy + rows, dx : dx + cols, :]
    return out.reshape(n * rows * cols, -1)


def contrast_normalize(patches, eps=NORM_EPS):
    """(p - mean(p)) / sqrt(var(p) + eps) per row, var with divisor dim - 1 (float64)."""
    patches = np.asarray(patches, dtype=np.float64)
    mean = patches.mean(axis=1, keepdims=True)
    var = patches.var(axis=1, ddof=1, keepdims=True)
    return (patches - mean) / np.sqrt(var + eps)


def fit_zca(patches, eps=ZCA_EPS):
    """Mean ``M`` and symmetric whitening matrix ``W`` such that whitened = (p - M) @ W."""
    mean = patches.mean(axis=0)
    cov = np.cov(patches, rowvar=False)  # divisor n - 1
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    whiten = eigenvectors @ np.diag(1.0 / np.sqrt(eigenvalues + eps)) @ eigenvectors.T
    return mean, whiten


@dataclass
class Dictionary:
    """What the feature extractor needs: whitening and centroids."""

    mean: np.ndarray  # (dim,) float64
    whiten: np.ndarray  # (dim, dim) float64, symmetric
    centroids: np.ndarray  # (K, dim) float32
    patch_size: int = PATCH_SIZE


def run_kmeans(whitened, n_clusters, max_iter=50, random_state=0):
    """Lloyd k-means, one initialization, at most ``max_iter`` iterations."""
    km = KMeans(
        n_clusters=n_clusters,
        algorithm="lloyd",
        n_init=1,
        max_iter=max_iter,
        tol=0.0,
        random_state=random_state,
    )
    km.fit(whitened)
    return km.cluster_centers_.astype(np.float32)


def learn_dictionary(
    images, n_filters, *, n_patches=400_000, max_iter=50, patch_size=PATCH_SIZE, random_state=0,
    whiten_eps=ZCA_EPS,
):
    """Patches -> contrast normalization -> ZCA -> k-means.

    Returns
    -------
    dictionary : Dictionary
    timings : dict
        Wall seconds of the stages "patches", "whitening" (normalization and
        ZCA) and "kmeans".
    """
    rng = np.random.RandomState(random_state)
    timings = {}
    t0 = time.perf_counter()
    patches = sample_patches(images, n_patches, patch_size, rng)
    timings["patches"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    patches = contrast_normalize(patches)
    mean, whiten = fit_zca(patches, eps=whiten_eps)
    whitened = ((patches - mean) @ whiten).astype(np.float32)
    del patches
    timings["whitening"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    centroids = run_kmeans(whitened, n_filters, max_iter=max_iter, random_state=rng)
    timings["kmeans"] = time.perf_counter() - t0
    return Dictionary(mean, whiten, centroids, patch_size), timings


# ----------------------------------------------------------------- features


def triangle_encode(whitened, centroids):
    """f_k = max(0, mean_k(z) - z_k) with z_k = ||x - c_k||, in place on one float32 block."""
    xx = np.einsum("ij,ij->i", whitened, whitened)
    cc = np.einsum("ij,ij->i", centroids, centroids)
    z = whitened @ centroids.T  # becomes the distances, then the codes
    z *= -2.0
    z += xx[:, None]
    z += cc[None, :]
    np.maximum(z, 0.0, out=z)  # rounding can leave tiny negatives
    np.sqrt(z, out=z)
    mu = z.mean(axis=1, keepdims=True)
    np.subtract(mu, z, out=z)
    np.maximum(z, 0.0, out=z)
    return z


def quadrant_pool(codes, rows, cols):
    """Sum over quadrants split at round(rows / 2), round(cols / 2): (n, 4 K)."""
    n_filters = codes.shape[-1]
    maps = codes.reshape(-1, rows, cols, n_filters)
    half_r, half_c = int(round(rows / 2)), int(round(cols / 2))
    quadrants = [
        maps[:, :half_r, :half_c].sum(axis=(1, 2)),
        maps[:, :half_r, half_c:].sum(axis=(1, 2)),
        maps[:, half_r:, :half_c].sum(axis=(1, 2)),
        maps[:, half_r:, half_c:].sum(axis=(1, 2)),
    ]
    return np.concatenate(quadrants, axis=1)


def extract_features(images, dictionary, batch_size=100):
    """Triangle-encoded, quadrant-pooled features of every image: (n, 4 K) float32.

    Images are processed ``batch_size`` at a time; the largest temporary is
    the ``batch_size * 729 x K`` float32 code block (466 MB for 100 images
    and K = 1600).
    """
    p = dictionary.patch_size
    n, height, width, _ = images.shape
    rows, cols = height - p + 1, width - p + 1
    K = dictionary.centroids.shape[0]
    features = np.empty((n, 4 * K), dtype=np.float32)
    for start in range(0, n, batch_size):
        batch = images[start : start + batch_size]
        patches = contrast_normalize(all_patches(batch, p))
        whitened = ((patches - dictionary.mean) @ dictionary.whiten).astype(np.float32)
        del patches
        codes = triangle_encode(whitened, dictionary.centroids)
        features[start : start + len(batch)] = quadrant_pool(codes, rows, cols)
    return features


def standardize(train_features, *others, var_eps=FEATURE_VAR_EPS, stats=None):
    """Standardize with the training mean and sqrt(var + var_eps), in place.

    The arrays (float32 features) are overwritten and returned: a second copy
    of 50,000 x 6,400 features would be another 1.3 GB. The bias is not a
    column of ones here but a separate term of the classifier (see
    :func:`l2svm_objective`), which is the same model. ``stats``, a
    ``(mean, scale)`` pair from :func:`feature_stats`, replaces the statistics
    of ``train_features``.
    """
    mean, scale = feature_stats(train_features, var_eps) if stats is None else stats
    out = []
    for F in (train_features, *others):
        F -= mean.astype(F.dtype)
        F /= scale.astype(F.dtype)
        out.append(F)
    return out


def feature_stats(train_features, var_eps=FEATURE_VAR_EPS):
    """Per-feature mean and ``sqrt(var + var_eps)`` (float64) of :func:`standardize`."""
    mean = train_features.mean(axis=0, dtype=np.float64)
    # The variance block by block: np.var would hold a float64 copy of all the
    # deviations (2.6 GB for 50,000 x 6,400 features).
    sum_sq = np.zeros_like(mean)
    for start in range(0, len(train_features), 2048):
        dev = train_features[start : start + 2048] - mean
        sum_sq += np.einsum("ij,ij->j", dev, dev)
    scale = np.sqrt(sum_sq / (len(train_features) - 1) + var_eps)
    return mean, scale


# ----------------------------------------------------------------- classifier


@dataclass
class L2SVM:
    """One-vs-rest linear squared-hinge SVM: ``predict = classes[argmax(X @ coef + intercept)]``."""

    coef: np.ndarray  # (n_features, n_classes)
    intercept: np.ndarray  # (n_classes,)
    classes: np.ndarray
    n_iter: int
    converged: bool
    message: str


def l2svm_objective(w, X, Y, C):
    """Objective and gradient of the authors' one-vs-rest L2-SVM.

    ``Y`` is (n, k) with entries +1 (the sample's class) or -1, ``w`` the
    flattened (d + 1, k) weights, the last row being the bias ``b``. Summed
    over the k classes::

        J(W, b) = 0.5 * (||W||_F^2 + ||b||^2)
                  + (C / n) * sum_ik max(0, 1 - Y_ik (X W + b)_ik)^2
        dJ/dW = W - (2 C / n) X^T (margin * Y),  dJ/db = b - (2 C / n) 1^T (margin * Y)

    The squared hinge is averaged over the samples (``C * mean``, as in the
    authors' ``my_l2svmloss``), so their ``C = 100`` is LIBLINEAR's
    ``C = 100 / n``. The bias is regularized like every weight, as the
    authors' weight of a constant-1 feature column is.

    ``X`` stays in its dtype (float32 features): the two products per
    evaluation, which read all of ``X``, run in float32 with the weights cast
    to it, and the margins, loss and gradient are accumulated in float64.
    """
    n, k = Y.shape
    W = w.reshape(X.shape[1] + 1, k)
    scores = (X @ W[:-1].astype(X.dtype)).astype(np.float64)
    scores += W[-1]
    margin = np.maximum(0.0, 1.0 - Y * scores)
    loss = 0.5 * np.sum(W * W) + (C / n) * np.sum(margin * margin)
    G = (2.0 * C / n) * (margin * Y)
    grad = W.copy()
    grad[:-1] -= X.T @ G.astype(X.dtype)
    grad[-1] -= G.sum(axis=0)
    return loss, grad.ravel()


def train_l2svm(X, y, C=SVM_C, max_iter=1000, solver="lbfgs", tol=1e-4, verbose=False,
                rank=1024, sketch=None, init=None):
    """Fit the one-vs-rest L2-SVM of :func:`l2svm_objective`.

    ``solver="lbfgs"`` is the authors' method: L-BFGS (scipy's L-BFGS-B
    defaults), at most ``max_iter`` iterations and ``max_iter`` function
    evaluations, as in their use of minFunc. All classes are optimized jointly
    (their objectives are independent sums), so each evaluation is two GEMMs
    with all k columns.

    ``solver="newton"`` minimizes the same objective with a truncated Newton
    method (:func:`_newton_l2svm`, at most ``max_iter`` Newton steps, stopping
    when every class's gradient norm has fallen by ``tol`` from its value at
    zero). It reaches the optimum in far fewer passes over ``X``, and closer,
    than 1,000 L-BFGS iterations do. ``X`` is used as given (float32 or float64), not copied.
    ``verbose`` prints the progress of each Newton step to stderr; ``rank``
    is the Newton solver's preconditioner rank (more helps large ``C``), and
    ``sketch`` its precomputed :func:`gram_sketch` of ``X``.

    ``init``, an :class:`L2SVM` fitted for the same classes and features (for
    another ``C``, or on a subset of the samples), is the starting point instead
    of zero. The objective is strictly convex, so the start changes the time
    taken, not the optimum; the Newton solver's ``tol`` stays relative to the
    gradient at zero, so a warm start stops at the same precision.
    """
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    classes, y_index = np.unique(y, return_inverse=True)
    Y = -np.ones((len(y), len(classes)))
    Y[np.arange(len(y)), y_index] = 1.0
    W0 = None
    if init is not None:
        if not np.array_equal(init.classes, classes) or init.coef.shape[0] != X.shape[1]:
            raise ValueError("init must be an L2SVM fitted for the same classes and features")
        W0 = np.vstack([init.coef, init.intercept[None, :]]).astype(np.float64)
    if solver == "newton":
        W, n_iter, converged, message = _newton_l2svm(X, Y, C, max_iter, tol, sketch=sketch,
                                                      rank=rank, verbose=verbose, W0=W0)
        return L2SVM(W[:-1], W[-1], classes, n_iter, converged, message)
    if solver != "lbfgs":
        raise ValueError(f"solver must be 'lbfgs' or 'newton', got {solver!r}")
    w0 = np.zeros((X.shape[1] + 1) * len(classes)) if W0 is None else W0.ravel()
    res = scipy.optimize.minimize(
        l2svm_objective,
        w0,
        args=(X, Y, C),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "maxfun": max_iter},
    )
    W = res.x.reshape(X.shape[1] + 1, len(classes))
    return L2SVM(W[:-1], W[-1], classes, int(res.nit), bool(res.success), str(res.message))


def gram_sketch(X, rank=1024, n_sketch=10_000):
    """Top ``rank`` eigenpairs ``(U, eig)`` of ``X^T X``, from a randomized SVD of ``n_sketch`` rows.

    The preconditioner of :func:`_newton_l2svm`. It depends on ``X`` only, so
    fits of several ``C`` on the same features can share it.
    """
    from sklearn.utils.extmath import randomized_svd

    n = len(X)
    rank = min(rank, n, X.shape[1])
    rows = X[np.linspace(0, n - 1, min(n, n_sketch)).astype(int)]
    _, sigma, Vt = randomized_svd(rows, rank, n_iter=2, random_state=0)
    return Vt.T.astype(np.float64), sigma.astype(np.float64) ** 2 * (n / len(rows))


def _newton_l2svm(X, Y, C, max_iter, tol, max_cg=500, sketch=None, rank=1024,
                  n_sketch=10_000, verbose=False, W0=None):
    """Truncated Newton for :func:`l2svm_objective`, all classes at once.

    The objective of class k is ``0.5 ||w||^2 + (C / n) sum_i m_i^2`` with
    margins ``m = max(0, 1 - y (X w + b))``. Its generalized Hessian is
    ``I + (2 C / n) X_A^T X_A`` over the samples ``A`` with ``m > 0`` (the
    method of LIBLINEAR's primal solver). Each step solves the Newton system of
    every class by preconditioned conjugate gradients (the Hessian is block
    diagonal in the classes, so the k systems run side by side and share each
    product with ``X``), to a relative residual ``min(0.1, sqrt(|g| / |g_0|))``,
    and then backtracks along the direction until the objective falls enough
    (Armijo). The scores ``X w`` are linear in the step, so the line search
    needs no further pass over ``X``.

    Correlated features make the Hessian ill-conditioned. The preconditioner
    is ``I + (2 C / n) |A| / n * X^T X`` with ``X^T X`` replaced by its top
    ``rank`` eigenpairs (:func:`gram_sketch`, or ``sketch``), inverted in
    closed form; the bias gets its own diagonal entry ``1 + (2 C / n) |A|``.
    It changes how fast conjugate gradients converge, not what they converge to.

    ``W0`` (``(d + 1, k)``, bias last) is the starting point, zero by default.
    ``tol`` is relative to the gradient norms at zero either way; the forcing
    terms (how exactly each Newton system is solved) are relative to the
    gradient at the starting point, so a warm start's first steps stay cheap.
    """
    start = time.perf_counter()
    n, k = Y.shape
    c = 2.0 * C / n

    def forward(V):  # X~ V for the (d + 1, k) weights with the bias row
        return (X @ V[:-1].astype(X.dtype)).astype(np.float64) + V[-1]

    def backward(R):  # X~^T R
        out = np.empty((X.shape[1] + 1, R.shape[1]))
        out[:-1] = X.T @ R.astype(X.dtype)
        out[-1] = R.sum(axis=0)
        return out

    def objective(W, S):
        M = np.maximum(0.0, 1.0 - Y * S)
        return 0.5 * np.sum(W * W, axis=0) + (C / n) * np.sum(M * M, axis=0)

    if sketch is None:
        sketch = gram_sketch(X, rank, n_sketch)
    U, eig = sketch

    # Gradient at zero (all margins 1): the scale ``tol`` is relative to.
    g0 = np.linalg.norm(c * backward(Y), axis=0)
    if W0 is None:
        W = np.zeros((X.shape[1] + 1, k))
        S = np.zeros((n, k))
    else:
        W = np.array(W0, dtype=np.float64)
        S = forward(W)
    message = f"reached max_iter={max_iter} Newton steps"
    converged = False
    n_cg = 0
    for step in range(max_iter + 1):
        M = np.maximum(0.0, 1.0 - Y * S)
        G = W - c * backward(M * Y)
        gnorm = np.linalg.norm(G, axis=0)
        if step == 0:
            g_start = gnorm  # the forcing terms below are relative to the starting point
        todo = gnorm > tol * g0
        if not todo.any():
            converged, message = True, f"gradient norms fell by {tol:g}"
            break
        if step == max_iter:
            break
        active = (M > 0).astype(np.float64)
        n_active = active.sum(axis=0)
        shrink = 1.0 - 1.0 / (1.0 + c * (n_active / n) * eig[:, None])  # (rank, k)
        bias_scale = 1.0 / (1.0 + c * n_active)

        def precondition(R):
            Z = R.copy()
            Z[:-1] -= U @ (shrink * (U.T @ R[:-1]))
            Z[-1] *= bias_scale
            return Z

        # Preconditioned conjugate gradients on H P = -G, one column per class.
        goal = np.minimum(0.1, np.sqrt(gnorm / np.maximum(g_start, 1e-300))) * gnorm
        P = np.zeros_like(W)
        R = -G
        R[:, ~todo] = 0.0
        Zr = precondition(R)
        D = Zr.copy()
        rz = np.sum(R * Zr, axis=0)
        for _ in range(max_cg):
            live = np.linalg.norm(R, axis=0) > goal
            if not live.any():
                break
            HD = D + c * backward(active * forward(D))
            n_cg += 1
            dHd = np.sum(D * HD, axis=0)
            alpha = np.where(live, rz / np.where(live, dHd, 1.0), 0.0)
            P += alpha * D
            R -= alpha * HD
            Zr = precondition(R)
            rz_new = np.sum(R * Zr, axis=0)
            beta = np.where(live, rz_new / np.where(live, rz, 1.0), 0.0)
            D = Zr + beta * D
            rz = rz_new
        # Backtracking line search, per class, on the exact objective.
        Z = forward(P)
        f0 = objective(W, S)
        slope = np.sum(G * P, axis=0)
        t = np.ones(k)
        for _ in range(30):
            f = objective(W + t * P, S + t * Z)
            bad = f > f0 + 0.01 * t * slope
            if not bad.any():
                break
            t = np.where(bad, 0.5 * t, t)
        else:
            # No decrease along the direction: the float32 products limit
            # the precision of the gradient before ``tol`` is reached.
            t = np.where(bad, 0.0, t)
            if not np.any(t[todo] > 0):
                message = "no further decrease (float precision)"
                break
        W += t * P
        S += t * Z
        if verbose:
            print(f"  Newton step {step + 1}: {n_cg} conjugate-gradient products so far, "
                  f"largest relative gradient {np.max(gnorm / g0):.2e}, "
                  f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return W, step, converged, f"{message} ({n_cg} conjugate-gradient products)"


def choose_C(F_train, y_train, Cs, n_val, in_place=False, **svm_options):
    """The C of ``Cs`` with the best accuracy on the last ``n_val`` training samples.

    The SVM (:func:`train_l2svm` with ``svm_options``) is fitted on the other
    training samples, standardized with their own statistics (on copies, so
    ``F_train`` is left as it is), for each C in increasing order, each fit
    starting from the previous one's solution. Returns the chosen C, the
    validation accuracy of each C, and the chosen C's model (a warm start for
    the final fit on all the training samples); the test samples play no part.

    ``in_place=True`` standardizes ``F_train`` itself instead of a copy and
    undoes it afterwards (``F_train`` comes back equal to float32 rounding):
    for features too large to hold twice.
    """
    n_fit = len(F_train) - n_val
    if not 0 < n_fit < len(F_train):
        raise ValueError(f"n_val must be in (0, {len(F_train)}), got {n_val}")
    if in_place:
        mean, scale = feature_stats(F_train[:n_fit])
        fit, val = standardize(F_train[:n_fit], F_train[n_fit:], stats=(mean, scale))
        try:
            return _sweep_C(fit, val, y_train, n_fit, Cs, svm_options)
        finally:
            F_train *= scale.astype(F_train.dtype)
            F_train += mean.astype(F_train.dtype)
    fit, val = standardize(F_train[:n_fit].copy(), F_train[n_fit:].copy())
    return _sweep_C(fit, val, y_train, n_fit, Cs, svm_options)


def _sweep_C(fit, val, y_train, n_fit, Cs, svm_options):
    if svm_options.get("solver") == "newton" and len(Cs) > 1:
        svm_options = {"sketch": gram_sketch(fit, svm_options.get("rank", 1024)), **svm_options}
    scores, models, model = {}, {}, None
    for C in sorted(Cs):
        model = train_l2svm(fit, y_train[:n_fit], C=C, init=model, **svm_options)
        models[C] = model
        scores[C] = float(np.mean(predict_l2svm(model, val) == y_train[n_fit:]))
        if svm_options.get("verbose"):
            print(f"  C={C:g}: validation accuracy {scores[C]:.4f}", file=sys.stderr, flush=True)
    best = max(scores, key=scores.get)
    return best, scores, models[best]


def decision_l2svm(model, X):
    """Decision values ``X @ coef + intercept``, (n_samples, n_classes) float64."""
    X = np.asarray(X)
    return (X @ model.coef.astype(X.dtype)).astype(np.float64) + model.intercept


def predict_l2svm(model, X, *views):
    """Class of largest decision value ``X @ coef + intercept``.

    ``views``, features of other views of the same samples (for example of the
    mirrored images), add their decision values to ``X``'s before the argmax:
    the prediction of the averaged decision values.
    """
    scores = decision_l2svm(model, X)
    for V in views:
        scores += decision_l2svm(model, V)
    return model.classes[np.argmax(scores, axis=1)]


# ----------------------------------------------------------------- benchmark


def run(
    data=DEFAULT_DATA,
    n_train=50_000,
    n_test=10_000,
    n_filters=1600,
    n_patches=400_000,
    kmeans_iter=50,
    batch_size=100,
    C=SVM_C,
    svm_iter=1000,
    random_state=0,
    solver="newton",
):
    """Run the whole pipeline; returns a dict of timings and results."""
    X_train, y_train, X_test, y_test = load_cifar(data, n_train, n_test)
    dictionary, timings = learn_dictionary(
        X_train, n_filters, n_patches=n_patches, max_iter=kmeans_iter, random_state=random_state
    )

    t0 = time.perf_counter()
    F_train = extract_features(X_train, dictionary, batch_size)
    timings["train features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    F_test = extract_features(X_test, dictionary, batch_size)
    timings["test features"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    S_train, S_test = standardize(F_train, F_test)
    del F_train, F_test
    model = train_l2svm(S_train, y_train, C=C, max_iter=svm_iter, solver=solver)
    train_accuracy = float(np.mean(predict_l2svm(model, S_train) == y_train))
    test_accuracy = float(np.mean(predict_l2svm(model, S_test) == y_test))
    timings["classifier"] = time.perf_counter() - t0

    n_images = len(X_train) + len(X_test)
    feature_seconds = timings["train features"] + timings["test features"]
    return {
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_filters": n_filters,
        "n_patches": n_patches,
        "n_features": S_train.shape[1],
        "timings": timings,
        "images_per_s": n_images / feature_seconds,
        "peak_memory_mib": peak_memory_mib(),
        "svm_iterations": model.n_iter,
        "svm_message": model.message,
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
    }


def format_report(result):
    lines = [
        "Coates, Lee & Ng (2011) single-layer k-means pipeline, reference implementation",
        f"CIFAR-10 (JPEG q75): {result['n_train']} train / {result['n_test']} test images, "
        f"K = {result['n_filters']} centroids, {result['n_patches']} patches, "
        f"{result['n_features']} features",
        "",
        f"{'stage':<16} {'seconds':>10}",
        f"{'-' * 16} {'-' * 10}",
    ]
    for stage, seconds in result["timings"].items():
        lines.append(f"{stage:<16} {seconds:>10.2f}")
    lines.append(f"{'total':<16} {sum(result['timings'].values()):>10.2f}")
    lines += [
        "",
        f"{'feature extraction':<28} {result['images_per_s']:>10.1f} images/s",
        f"{'peak memory (ru_maxrss)':<28} {result['peak_memory_mib']:>10.0f} MiB",
        f"{'SVM iterations':<28} {result['svm_iterations']:>10d}  ({result['svm_message']})",
        f"{'train accuracy':<28} {100 * result['train_accuracy']:>10.2f} %",
        f"{'test accuracy':<28} {100 * result['test_accuracy']:>10.2f} %",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CIFAR-10 .npz file")
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--n-filters", type=int, default=1600, help="k-means centroids K")
    parser.add_argument("--n-patches", type=int, default=400_000)
    parser.add_argument("--kmeans-iter", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=100, help="images per feature batch")
    parser.add_argument("--C", type=float, default=SVM_C, help="SVM C (authors' convention)")
    parser.add_argument("--svm-iter", type=int, default=1000,
                        help="at most this many L-BFGS iterations or Newton steps")
    parser.add_argument("--solver", choices=["newton", "lbfgs"], default="newton",
                        help="'lbfgs' is the authors' method; 'newton' reaches the same "
                        "optimum faster (see train_l2svm)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = run(
        data=args.data,
        n_train=args.n_train,
        n_test=args.n_test,
        n_filters=args.n_filters,
        n_patches=args.n_patches,
        kmeans_iter=args.kmeans_iter,
        batch_size=args.batch_size,
        C=args.C,
        svm_iter=args.svm_iter,
        random_state=args.seed,
        solver=args.solver,
    )
    print(format_report(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
