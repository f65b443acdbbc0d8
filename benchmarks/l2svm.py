"""The linear classifier of every k-means benchmark: standardization and an L2-SVM.

The classifier head of Coates, Lee & Ng (2011), shared by the reference
pipeline (``coates_reference.py``), the skconv CIFAR-10 benchmarks
(``cifar10_coates.py``, ``cifar10_stack.py``) and the MNIST k-means benchmark
(``mnist_kmeans.py``), so their accuracies compare directly:

- :func:`standardize`: the training mean and ``sqrt(var + 0.01)``, in place
  on float32 features (:func:`feature_stats` computes the statistics);
- :func:`train_l2svm`: the one-vs-rest squared-hinge linear SVM with the
  objective of the authors' code (:func:`l2svm_objective`; ``C = 100`` in
  their convention by default), a bias term regularized like the weights,
  trained by truncated Newton (:func:`_newton_l2svm`) or, as the authors did,
  by L-BFGS;
- :func:`choose_C`: the C with the best accuracy on held-out training
  samples, each fit warm-started from the previous one;
- :func:`fit_l2svm`: the benchmarks' protocol in one call (choice of C when
  several are given, standardization, final fit on all training samples);
- :func:`decision_l2svm`, :func:`predict_l2svm`, :func:`accuracy_l2svm`:
  decision values, and predictions from the decision values summed over
  several views of the same samples (test-time mirroring).

Reference: A. Coates, H. Lee and A. Y. Ng, "An Analysis of Single-Layer
Networks in Unsupervised Feature Learning", AISTATS 2011.
"""

import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy.optimize

FEATURE_VAR_EPS = 0.01
SVM_C = 100.0


# ----------------------------------------------------------------- standardization


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


def fit_l2svm(F_train, y_train, Cs, n_val, *others, in_place=False, **svm_options):
    """The benchmarks' protocol: choose C, standardize in place, fit on all training samples.

    With several ``Cs``, C is chosen on the last ``n_val`` training samples
    (:func:`choose_C`, with ``in_place``), and the final fit starts from the
    chosen C's model; with one, that C is used. ``F_train`` and ``others``
    (test features, features of other views of the test samples) are then
    standardized in place with the statistics of ``F_train``
    (:func:`standardize`), and the SVM (:func:`train_l2svm` with
    ``svm_options``) is fitted on all of ``F_train``. Returns the model, the C
    and the validation accuracy of each C (empty with one C).
    """
    if len(Cs) > 1:
        C, scores, init = choose_C(F_train, y_train, Cs, n_val, in_place=in_place, **svm_options)
    else:
        C, scores, init = Cs[0], {}, None
    standardize(F_train, *others)
    model = train_l2svm(F_train, y_train, C=C, init=init, **svm_options)
    return model, C, scores


# ----------------------------------------------------------------- prediction


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


def accuracy_l2svm(model, X, y, *views):
    """Fraction of the samples :func:`predict_l2svm` (with ``views``) classifies as ``y``."""
    return float(np.mean(predict_l2svm(model, X, *views) == y))
