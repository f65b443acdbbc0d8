"""Separable (low-rank) approximation of filter banks.

A filter of a bank ``(n_filters, *kernel, n_channels)`` is a tensor with one mode
per spatial axis and one for the channels. Its rank-r separable approximation is
a sum of r outer products of one vector per mode: 1-D kernels along the spatial
axes and weights over the channels, which the engine applies as a pointwise
channel mix followed by one 1-D pass per axis (:func:`skconv._engine.conv_separable`).

When at most two modes have more than one entry (a greyscale 2-D kernel, or a 1-D
kernel over several channels) the best approximation of every rank is the
truncated SVD (Eckart-Young). With three or four such modes (colour images,
volumes) it is a canonical polyadic (CP) decomposition, computed by alternating
least squares from the leading singular vectors of each mode: exact for kernels
that are exactly of that rank in practice, a local optimum in general.
"""

import numpy as np

from ._validation import check_int

__all__ = ["separable_factors"]

_LETTERS = "abcdefgh"


def _svd_terms(X, rank):
    """Best rank-``rank`` terms of matrices X (f, m1, m2): (f, m1, r), (f, m2, r)."""
    U, S, Vt = np.linalg.svd(X, full_matrices=False)
    r = min(rank, S.shape[1])
    A = U[:, :, :r] * S[:, np.newaxis, :r]
    B = np.swapaxes(Vt[:, :r], 1, 2)
    return [A, B]


def _initial(X, mode, rank):
    """Leading left singular vectors of the mode unfolding; cosines where there are
    fewer singular vectors with a non-zero singular value than terms (a vector
    orthogonal to the data would stay a zero term)."""
    f, n = X.shape[0], X.shape[1 + mode]
    unfold = np.moveaxis(X, 1 + mode, 1).reshape(f, n, -1)
    U, S, _ = np.linalg.svd(unfold, full_matrices=False)
    s = np.arange(rank)
    i = np.arange(n)[:, np.newaxis]
    cosines = np.broadcast_to(np.cos(np.pi * (i + 0.5) * (s + 1) / (n + 1) + s), (f, n, rank))
    out = cosines.copy()
    r = min(rank, U.shape[2])
    useful = S[:, :r] > 1e-10 * S[:, :1]
    out[:, :, :r] = np.where(useful[:, np.newaxis], U[:, :, :r], cosines[:, :, :r])
    return out


def _norms(X):
    """Frobenius norm of each X[j]."""
    return np.linalg.norm(X.reshape(X.shape[0], -1), axis=1)


def _reconstruct(factors):
    """Sum over terms of the outer products: factors (f, n_m, r) -> (f, *n)."""
    M = len(factors)
    subs = ",".join(f"z{_LETTERS[m]}r" for m in range(M))
    return np.einsum(f"{subs}->z{_LETTERS[:M]}", *factors)


def _cp_als(X, rank, max_iter, tol):
    """CP decomposition of every tensor X[j] by alternating least squares."""
    M = X.ndim - 1
    A = [_initial(X, m, rank) for m in range(M)]
    norm = _norms(X)
    letters = _LETTERS[:M]
    previous = None
    for _ in range(max_iter):
        for m in range(M):
            others = [k for k in range(M) if k != m]
            subs = ",".join(f"z{letters[k]}r" for k in others)
            mttkrp = np.einsum(f"z{letters},{subs}->z{letters[m]}r", X, *[A[k] for k in others])
            gram = np.ones((X.shape[0], rank, rank))
            for k in others:
                gram *= np.swapaxes(A[k], 1, 2) @ A[k]
            A[m] = mttkrp @ np.linalg.pinv(gram, rcond=1e-12, hermitian=True)
        err = _norms(X - _reconstruct(A))
        rel = np.divide(err, norm, out=np.zeros_like(err), where=norm > 0)
        if previous is not None and np.all(np.abs(previous - rel) <= tol):
            break
        previous = rel
    return A


def _normalized(terms):
    """Unit 1-D kernels with their largest entry positive, the scale in the last mode;
    terms ordered by decreasing scale."""
    f, rank = terms[0].shape[0], terms[0].shape[2]
    scale = np.ones((f, rank))
    out = []
    for A in terms[:-1]:
        norms = np.linalg.norm(A, axis=1)
        peak = np.take_along_axis(A, np.abs(A).argmax(axis=1)[:, np.newaxis], axis=1)[:, 0]
        sign = np.where(peak < 0, -1.0, 1.0)
        safe = np.where(norms > 0, norms, 1.0)
        out.append(A * (sign / safe)[:, np.newaxis])
        scale *= norms * sign
    last = terms[-1] * scale[:, np.newaxis]
    order = np.argsort(-np.linalg.norm(last, axis=1), axis=1, kind="stable")
    out.append(last)
    return [np.take_along_axis(A, order[:, np.newaxis], axis=2) for A in out]


def separable_factors(bank, rank=1, *, max_iter=200, tol=1e-12):
    """Rank-``rank`` separable approximation of every filter of a bank.

    Filter ``j`` of ``bank`` is approximated by ``sum_s a_0[j, s] ⊗ ... ⊗
    a_{d-1}[j, s] ⊗ w[j, s]``: one 1-D kernel per spatial axis and one weight per
    channel for each of the ``rank`` terms. For greyscale 2-D kernels this is the
    truncated SVD, the best approximation of that rank; it is exact for separable
    kernels (Sobel, Gaussians and their axis-aligned derivatives: rank 1;
    oriented first Gaussian derivatives, the Laplacian of Gaussian and Gabor
    kernels with a circular envelope: rank 2). For kernels with more than two
    modes of size > 1 (colour, volumes), alternating least squares from the
    leading singular vectors of each mode (a canonical polyadic decomposition).

    Parameters
    ----------
    bank : array-like of shape (n_filters, *kernel, n_channels)
        The filters, with 1, 2 or 3 spatial axes.
    rank : int, default=1
        Terms per filter.
    max_iter : int, default=200
        Sweeps of alternating least squares (used with more than two modes).
    tol : float, default=1e-12
        The sweeps stop when no filter's relative error changes by more.

    Returns
    -------
    factors : list of ndarray of shape (n_filters, rank, k_i)
        Unit-norm 1-D kernels, one array per spatial axis, terms ordered by
        decreasing weight.
    channel_weights : ndarray of shape (n_filters, rank, n_channels)
        The weight of each term on each channel (its scale).
    errors : ndarray of shape (n_filters,)
        ``||w_j - approximation_j|| / ||w_j||`` (Frobenius norms; 0 for zero
        filters).

    Examples
    --------
    >>> import numpy as np
    >>> from skconv.filters import edge_bank, log_bank, separable_factors
    >>> factors, weights, errors = separable_factors(edge_bank(["sobel_x"]))
    >>> [a.shape for a in factors], weights.shape
    ([(1, 1, 3), (1, 1, 3)], (1, 1, 1))
    >>> bool(errors[0] < 1e-12)
    True
    >>> _, _, errors = separable_factors(log_bank([1.0, 2.0]), rank=2)
    >>> bool(np.all(errors < 1e-12))
    True
    """
    W = np.asarray(bank, dtype=np.float64)
    if W.ndim not in (3, 4, 5) or W.shape[0] == 0:
        raise ValueError(
            "bank must have shape (n_filters, *kernel, n_channels) with 1 to 3 spatial "
            f"axes and at least one filter, got shape {W.shape}."
        )
    rank = check_int(rank, "rank", min_val=1)
    max_iter = check_int(max_iter, "max_iter", min_val=1)
    f, modes = W.shape[0], W.shape[1:]
    big = [m for m, n in enumerate(modes) if n > 1]
    X = W.reshape((f,) + tuple(modes[m] for m in big))
    if len(big) == 0:
        terms = [X.reshape(f, 1, 1)]
    elif len(big) == 1:
        terms = [X[:, :, np.newaxis]]
    elif len(big) == 2:
        terms = _svd_terms(X, rank)
    else:
        terms = _cp_als(X, rank, max_iter, tol)
    # zero terms beyond what the decomposition has (rank > the matrix rank)
    r = terms[0].shape[2]
    if r < rank:
        terms = [np.concatenate([A, np.zeros(A.shape[:2] + (rank - r,))], axis=2) for A in terms]
    # every mode of size 1 gets the factor 1; the scale goes to the channel mode
    full = []
    it = iter(terms)
    for m, n in enumerate(modes):
        full.append(next(it) if m in big else np.ones((f, 1, rank)))
    if not big:
        full[-1] = terms[0] * np.ones((f, 1, rank)) * (np.arange(rank) == 0)
    full = _normalized(full)
    approx = _reconstruct(full)
    err, norm = _norms(W - approx), _norms(W)
    errors = np.divide(err, norm, out=np.zeros_like(err), where=norm > 0)
    factors = [np.ascontiguousarray(np.swapaxes(A, 1, 2)) for A in full[:-1]]
    return factors, np.ascontiguousarray(np.swapaxes(full[-1], 1, 2)), errors
