"""Training patches: where the families learned from patches get their data.

Patches are drawn where the convolution will look (same padding, stride and
dilation), from random samples and positions, and only the samples drawn from
are ever materialized, so a layer can be fitted on the lazy maps of the previous
one. The preprocessing that PatchConv and KMeansConv share lives here too:
per-patch contrast normalization with its ``norm_eps="auto"`` rule, ZCA
whitening (Coates, Lee & Ng 2011), and folding the whitening into the filters.
"""

import math

import numpy as np
from sklearn.utils.random import sample_without_replacement

from . import _engine
from ._maps import FeatureMaps, is_variable_size
from ._validation import check_float, check_int, check_matrix, check_random_state
from ._zca import ZCA

__all__ = [
    "iter_patches",
    "sample_patches",
    "sample_patches_by_set",
    "sampling_batch",
    "normalize_patches",
    "resolve_norm_eps",
    "normalize_and_whiten",
    "fold_whitening",
]


# ---------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------


def _load(X, idx, dtype=None):
    """Materialize the samples ``idx`` (sorted) of an array, FeatureMaps or a dask array
    (only the chunks that hold them are computed), in ``dtype`` when given: the
    patches are the values the convolution will see."""
    return np.asarray(X[idx], dtype=dtype)


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
    dtype=None,
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
    dtype : numpy dtype, default=None
        Dtype the samples are read in (that of the convolution); None keeps theirs.

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
        yield from _gather_sorted(
            X, kernel, sample, pos, out, groups, group, batch_size, geometry, dtype
        )
        return
    virtual = np.sort(rng.randint(n_virtual, size=n_patches))
    u = rng.random_sample(n_patches)
    sample, group = np.divmod(virtual, groups)
    for i in np.unique(sample):
        sel = np.flatnonzero(sample == i)
        x = np.asarray(X[int(i)], dtype=dtype)[np.newaxis]
        try:
            out = _engine.output_spatial_shape(x.shape[1:-1], kernel, **geometry)
        except ValueError as exc:
            raise ValueError(
                f"X[{int(i)}] must be large enough for the kernel, got spatial shape "
                f"{x.shape[1:-1]}: {exc}"
            ) from None
        pos = np.minimum((u[sel] * math.prod(out)).astype(np.int64), math.prod(out) - 1)
        yield _gather(
            x, kernel, np.zeros(len(sel), dtype=np.intp), np.unravel_index(pos, out),
            groups, group[sel], **geometry,
        )


def _gather_sorted(X, kernel, sample, pos, out, groups, group, batch_size, geometry,
                   dtype=None):
    """Patches at (``sample``, flat output position ``pos``) of fixed-size samples,
    ``sample`` sorted, in chunks of ``batch_size`` samples materialized at once (in
    ``dtype`` when given)."""
    unique = np.unique(sample)
    for start in range(0, len(unique), batch_size):
        chunk = unique[start : start + batch_size]
        lo = np.searchsorted(sample, chunk[0], side="left")
        hi = np.searchsorted(sample, chunk[-1], side="right")
        local = np.searchsorted(chunk, sample[lo:hi])
        out_idx = np.unravel_index(pos[lo:hi], out)
        yield _gather(
            _load(X, chunk, dtype), kernel, local, out_idx, groups, group[lo:hi], **geometry
        )


def sample_patches_by_set(X, kernel_size, n_patches, random_state, *, sets, batch_size=256,
                          dtype=None, **geometry):
    """Random patches for each kernel set of a tiled or locally connected layer.

    Kernel set ``t`` (an index of the grid ``sets``) serves the output positions
    ``p`` with ``p mod sets == t``; ``sets`` equal to the output shape gives one
    position per set (locally connected). For every set, ``n_patches`` distinct
    patches are drawn uniformly among those at its positions in all samples (all
    of them when there are no more). Samples are read once, in index order,
    ``batch_size`` at a time, so FeatureMaps only compute the samples drawn.

    Parameters
    ----------
    X : ndarray of shape (n, *spatial, c) or FeatureMaps
        Validated fixed-size input, channels last.
    kernel_size : tuple of int
        Patch spatial shape.
    n_patches : int
        Patches per kernel set.
    random_state : int, RandomState instance or None
        Seed of the draw.
    sets : tuple of int
        Grid of kernel sets, one entry per spatial axis.
    batch_size : int, default=256
        Samples materialized at once.
    dtype : numpy dtype, default=None
        Dtype the samples are read in (that of the convolution); None keeps theirs.
    stride, padding, dilation : see :func:`skconv._engine.conv`

    Returns
    -------
    list of ndarray of shape (n_t, patch_dim)
        The float64 patches of every set, sets in C order of the grid.
    """
    rng = check_random_state(random_state)
    kernel = tuple(kernel_size)
    out = _engine.output_spatial_shape(X.shape[1:-1], kernel, **geometry)
    n = len(X)
    grid = np.indices(out).reshape(len(out), -1)
    set_of = np.ravel_multi_index(tuple(g % t for g, t in zip(grid, sets)), sets)
    samples, positions, labels = [], [], []
    for t in range(math.prod(sets)):
        pos_t = np.flatnonzero(set_of == t)
        total = n * len(pos_t)
        m = min(n_patches, total)
        flat = np.arange(total) if m == total else sample_without_replacement(
            total, m, random_state=rng
        )
        i, k = np.divmod(flat, max(len(pos_t), 1))
        samples.append(i)
        positions.append(pos_t[k])
        labels.append(np.full(m, t))
    sample, pos, label = (np.concatenate(a) for a in (samples, positions, labels))
    order = np.argsort(sample, kind="stable")
    sample, pos, label = sample[order], pos[order], label[order]
    rows = np.concatenate(list(_gather_sorted(
        X, kernel, sample, pos, out, 1, np.zeros_like(sample), batch_size, geometry, dtype
    ))).astype(np.float64)
    return [rows[label == t] for t in range(math.prod(sets))]


def sampling_batch(X, batch_size):
    """Samples materialized at once while drawing patches from ``X``.

    Lazy maps of a previous layer are computed in their own batch size; arrays
    in the estimator's ``batch_size`` (256 for ``"auto"``).
    """
    if isinstance(X, FeatureMaps):
        return X.batch_size
    return 256 if batch_size == "auto" else batch_size


def sample_patches(X, kernel_size, n_patches, random_state, *, batch_size=256, dtype=None,
                   **geometry):
    """The patches of :func:`iter_patches` as one float64 matrix ``(n, patch_dim)``."""
    chunks = list(iter_patches(X, kernel_size, n_patches, random_state,
                               batch_size=batch_size, dtype=dtype, **geometry))
    return np.concatenate(chunks).astype(np.float64)



# ---------------------------------------------------------------------------
# preprocessing
# ---------------------------------------------------------------------------


def normalize_patches(P, *, eps, scale=1.0, ddof=1):
    """Contrast-normalize each patch (row): remove its mean, divide by its std.

    Row ``p`` becomes ``(p - mean(p)) / sqrt(var(p) + eps / scale**2)``, which
    is exactly the result of normalizing ``scale * p`` with ``eps``::

        (s p - s m) / sqrt(s**2 var(p) + eps) = (p - m) / sqrt(var(p) + eps / s**2)

    So ``eps`` is stated on the pixel scale ``scale * P``: Coates et al. (2011)
    used ``eps=10`` for pixels in 0..255; for images stored in [0, 1] pass
    ``eps=10, scale=255`` to get the same normalized patches. The output is
    dimensionless, the same whatever scale the input was given in.

    Each output row has mean 0 and variance ``var / (var + eps / scale**2)``
    (``var`` with the same ``ddof``): close to 1 for high-contrast patches,
    close to 0 for nearly flat ones, whose noise ``eps`` keeps from being
    amplified.

    Parameters
    ----------
    P : array-like of shape (n_patches, patch_dim)
        Flattened patches, one per row. Not modified.
    eps : float
        Non-negative variance regularizer on the ``scale * P`` scale.
        Constant rows become exact zeros (whatever ``eps``, so ``eps=0`` is
        allowed).
    scale : float, default=1.0
        Positive factor that brings ``P`` to the scale ``eps`` is stated on
        (255 for data in [0, 1] with an ``eps`` stated for 0..255 pixels).
    ddof : int, default=1
        Delta degrees of freedom of the per-row variance: the divisor is
        ``patch_dim - ddof``. The default 1 matches Coates' reference code
        (MATLAB ``var``); use 0 for the population variance. Needs
        ``patch_dim > ddof``.

    Returns
    -------
    P_norm : ndarray of shape (n_patches, patch_dim)
        New array; float32 input stays float32, other input gives float64.

    References
    ----------
    .. [1] A. Coates, H. Lee and A. Y. Ng, "An Analysis of Single-Layer
       Networks in Unsupervised Feature Learning", AISTATS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv._patches import normalize_patches
    >>> P = np.array([[0.0, 0.5, 1.0], [0.2, 0.2, 0.2]])
    >>> np.round(normalize_patches(P, eps=0.0), 6)
    array([[-1.,  0.,  1.],
           [ 0.,  0.,  0.]])
    """
    P = check_matrix(P, "P", min_rows=0)
    eps = check_float(eps, "eps", min_val=0.0)
    scale = check_float(scale, "scale", min_val=0.0, include_boundaries="neither")
    ddof = check_int(ddof, "ddof", min_val=0)
    if P.shape[1] <= ddof:
        raise ValueError(
            f"ddof must be less than the patch dimension {P.shape[1]}, got {ddof}."
        )
    out_dtype = np.float32 if P.dtype == np.float32 else np.float64
    # Row statistics in float64 whatever the input, for accuracy.
    mean = P.mean(axis=1, dtype=np.float64, keepdims=True)
    var = P.var(axis=1, dtype=np.float64, ddof=ddof, keepdims=True)
    denom = np.sqrt(var + eps / scale**2)
    # A constant row maps to exact zeros: its float mean may differ from its
    # value by rounding, which eps=0 would blow up into +-1 entries.
    constant = (P.max(axis=1) == P.min(axis=1))[:, None]
    denom[constant] = 1.0
    mean[constant] = 0.0
    out = P.astype(out_dtype, copy=True)
    out -= mean.astype(out_dtype)
    out /= denom.astype(out_dtype)
    out[constant[:, 0]] = 0
    return out


def resolve_norm_eps(norm_eps, P):
    """The variance regularizer of contrast normalization, ``"auto"`` resolved.

    ``"auto"`` is ``10 * (R / 255) ** 2`` with ``R`` the value range of the patches
    ``P``: Coates et al.'s 10 for pixels in 0..255, scaled to the data's range
    (about 1.5e-4 for images in [0, 1]).
    """
    if isinstance(norm_eps, str):  # "auto", checked by the estimator
        return 10.0 * (float(P.max() - P.min()) / 255.0) ** 2
    return float(norm_eps)


def normalize_and_whiten(P, *, normalize, norm_eps, whiten, whiten_eps):
    """Contrast-normalize the raw patch matrix ``P`` and fit a ZCA whitening on it.

    Returns
    -------
    Q : ndarray of shape (n_patches, patch_dim)
        The normalized patches (``P`` itself without ``normalize``).
    norm_eps : float
        The regularizer used (``"auto"`` resolved on ``P``).
    zca : ZCA or None
        Fitted on ``Q`` when ``whiten``; apply it with ``zca.transform``.
    """
    norm_eps = resolve_norm_eps(norm_eps, P)
    if normalize:
        P = normalize_patches(P, eps=norm_eps, ddof=1)
    zca = ZCA(eps=whiten_eps).fit(P) if whiten else None
    return P, norm_eps, zca


def fold_whitening(D, zca):
    """Filters ``W d`` and offsets ``(W d) . m`` of dictionary rows ``d``.

    A dictionary element ``d`` in the whitened space responds to a patch ``q``
    with ``d . W (q - m) = (W d) . q - (W d) . m`` (``W`` is symmetric): the
    whitening folds into the filters and a per-filter offset, so no patch is ever
    whitened at transform time. Without whitening the filters are ``D`` and the
    offsets 0.
    """
    if zca is None:
        return D, np.zeros(len(D))
    filters = D @ zca.components_
    return filters, filters @ zca.mean_
