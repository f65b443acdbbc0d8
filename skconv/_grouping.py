"""Groups of similar channels: the receptive fields of a layer above the first.

Coates & Ng (2011) connect each filter of a higher layer to a small group of
channels of the layer below that respond together, found from the correlation of
their squared responses over random positions.
"""

import numpy as np

from ._maps import FeatureMaps
from ._patches import iter_patches
from ._validation import check_input, check_int, check_option, check_random_state

__all__ = [
    "channel_similarity",
    "group_channels",
    "check_group_params",
    "energy_correlation",
    "groups_from_similarity",
    "random_groups",
    "sample_responses",
    "GROUPINGS",
]

GROUPINGS = ("correlation", "random")


def check_maps(X, name="X"):
    """``X`` as channels-last maps: FeatureMaps, an ndarray or a list (never flat)."""
    return check_input(None, X, reset=True, dtype=None, allow_flat=False, name=name)


def sample_responses(X, n_positions, rng):
    """Responses of every channel at ``n_positions`` random (sample, position) pairs."""
    d = X.spatial_ndim if isinstance(X, FeatureMaps) else (
        X[0].ndim - 1 if isinstance(X, list) else X.ndim - 2
    )
    batch_size = X.batch_size if isinstance(X, FeatureMaps) else 256
    # A 1x...x1 patch is the vector of channel values at one position; iter_patches
    # draws positions uniformly and computes only the samples it draws from.
    rows = list(iter_patches(X, (1,) * d, n_positions, rng, batch_size=batch_size))
    return np.concatenate(rows).astype(np.float64)


def energy_correlation(R):
    """corr(z_j^2, z_k^2) of the standardized responses (columns of ``R``)."""
    mean = R.mean(axis=0)
    std = R.std(axis=0)
    live = std > 0
    Z = np.zeros_like(R)
    Z[:, live] = (R[:, live] - mean[live]) / std[live]
    E = np.square(Z)
    E -= E.mean(axis=0)
    cov = E.T @ E / E.shape[0]
    scale = np.sqrt(np.diag(cov))
    # Constant channels (dead filters) have no energy to correlate: similarity 0.
    ok = scale > 1e-12 * max(scale.max(initial=0.0), 1.0)
    S = np.zeros_like(cov)
    S[np.ix_(ok, ok)] = cov[np.ix_(ok, ok)] / np.outer(scale[ok], scale[ok])
    np.clip(S, -1.0, 1.0, out=S)
    np.fill_diagonal(S, 1.0)
    return S


def channel_similarity(X, *, n_positions=10000, random_state=None):
    """Similarity of channels: the correlation of their squared standardized responses.

    Each channel's responses over a random sample of positions are brought to zero
    mean and unit variance (``z``), then the similarity of channels ``j`` and ``k``
    is the correlation of their energies, as in Coates & Ng (2011):

    ``S[j, k] = E[z_j^2 z_k^2 - 1] / sqrt(E[z_j^4 - 1] E[z_k^4 - 1])``.

    Channels that respond together (strongly at the same places) are similar even
    when their signed responses are uncorrelated, which is what pooling over them
    needs.

    Parameters
    ----------
    X : ndarray of shape (n_samples, *spatial, n_channels), FeatureMaps or list
        Feature maps, channels last. Lazy maps are computed only for the samples
        the drawn positions fall in, batch by batch.
    n_positions : int, default=10000
        Positions (sample, location pairs) drawn uniformly without replacement;
        all of them when the maps have fewer.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of positions.

    Returns
    -------
    similarity : ndarray of shape (n_channels, n_channels)
        Symmetric, ones on the diagonal, in ``[-1, 1]``; 0 between a constant
        channel and any other.

    See Also
    --------
    group_channels : groups of similar channels.

    References
    ----------
    A. Coates, A. Y. Ng. Selecting Receptive Fields in Deep Networks. NIPS 2011.
    """
    X, _ = check_maps(X)
    n_positions = check_int(n_positions, "n_positions", min_val=2)
    rng = check_random_state(random_state)
    return energy_correlation(sample_responses(X, n_positions, rng))


def check_group_params(n_channels, n_groups, group_size, method):
    n_groups = check_int(n_groups, "n_groups", min_val=1)
    group_size = check_int(group_size, "group_size", min_val=1)
    check_option(method, "grouping", GROUPINGS)
    if group_size > n_channels:
        raise ValueError(
            f"group_size={group_size} is more than the {n_channels} channels of the input."
        )
    if method == "correlation" and n_groups > n_channels:
        raise ValueError(
            f"n_groups={n_groups} is more than the {n_channels} channels of the input: "
            "correlation grouping seeds every group at a different channel."
        )
    return n_groups, group_size


def groups_from_similarity(S, n_groups, group_size, rng):
    seeds = rng.choice(len(S), size=n_groups, replace=False)
    groups = np.empty((n_groups, group_size), dtype=np.intp)
    for g, seed in enumerate(seeds):
        score = S[seed].copy()
        score[seed] = np.inf  # the seed heads its own group
        groups[g] = np.argsort(-score, kind="stable")[:group_size]
    return groups


def random_groups(n_channels, n_groups, group_size, rng):
    return np.array(
        [rng.choice(n_channels, size=group_size, replace=False) for _ in range(n_groups)],
        dtype=np.intp,
    ).reshape(n_groups, group_size)


def group_channels(
    X, n_groups, group_size, *, method="correlation", n_positions=10000, random_state=None
):
    """Groups of channels for the receptive fields of the next layer (Coates & Ng, 2011).

    With ``method="correlation"``, the similarity of the channels is estimated by
    :func:`channel_similarity` (the correlation of their squared, standardized
    responses over random positions); then ``n_groups`` times a random seed channel
    is picked (a different one each time) and grouped with the ``group_size - 1``
    channels most similar to it. A channel may belong to several groups. With
    ``method="random"``, each group is a random subset of the channels (no
    similarity is computed, and ``X`` is only read for its number of channels).

    Parameters
    ----------
    X : ndarray of shape (n_samples, *spatial, n_channels), FeatureMaps or list
        Feature maps, channels last.
    n_groups : int
        Number of groups; at most ``n_channels`` for correlation grouping.
    group_size : int
        Channels per group, at most ``n_channels``.
    method : {"correlation", "random"}, default="correlation"
        How the groups are formed.
    n_positions : int, default=10000
        Positions sampled to estimate the similarity.
    random_state : int, RandomState instance or None, default=None
        Seeds the positions and the seed channels (or the random groups).

    Returns
    -------
    groups : ndarray of shape (n_groups, group_size) of int
        Channel indices; for correlation grouping each row starts with its seed
        channel, followed by the others from the most similar down.

    See Also
    --------
    ReceptiveFieldConv : a layer that learns filters on each group.

    References
    ----------
    A. Coates, A. Y. Ng. Selecting Receptive Fields in Deep Networks. NIPS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import group_channels
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.standard_normal((50, 8, 8, 2))
    >>> noise = 0.1 * rng.standard_normal((50, 8, 8, 6))
    >>> maps = latent[..., [0, 0, 0, 1, 1, 1]] * [1, 2, 3, 1, 2, 3] + noise
    >>> groups = group_channels(maps, n_groups=2, group_size=3, random_state=0)
    >>> sorted(sorted(int(c) for c in g) for g in groups)
    [[0, 1, 2], [3, 4, 5]]
    """
    X, layout = check_maps(X)
    n_positions = check_int(n_positions, "n_positions", min_val=2)
    n_groups, group_size = check_group_params(layout.n_channels, n_groups, group_size, method)
    rng = check_random_state(random_state)
    if method == "random":
        return random_groups(layout.n_channels, n_groups, group_size, rng)
    S = energy_correlation(sample_responses(X, n_positions, rng))
    return groups_from_similarity(S, n_groups, group_size, rng)


