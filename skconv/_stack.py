"""Greedy layer-wise stacking of convolutional layers, and receptive-field grouping.

``Pipeline`` already fits its steps greedily, one after the other. What it cannot
do, and :class:`LayerwiseStack` adds, is fit each layer on a random subset of the
(lazy) maps below it, so that a deep stack costs little more to fit than its last
layer, and concatenate the pooled features of several layers in one pass over the
data. :class:`ReceptiveFieldConv` connects a layer above the first to groups of
similar channels of the layer below (Coates & Ng, 2011), found by
:func:`group_channels`.
"""

import math
import numbers

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import Bunch, _safe_indexing, check_random_state, get_tags
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.validation import check_is_fitted, validate_data

from ._maps import FeatureMaps, is_variable_size, stack_batches
from ._patch import iter_patches
from ._pool import Pool
from ._validation import check_float, check_int, check_n_jobs, check_option

__all__ = ["LayerwiseStack", "ReceptiveFieldConv", "channel_similarity", "group_channels"]

# Seeds handed to sub-estimators whose random_state is None.
_SEED_MAX = np.iinfo(np.int32).max
_GROUPINGS = ("correlation", "random")


# --- small helpers ---------------------------------------------------------------
def _materialize(maps):
    """The maps as one ndarray, computed serially (callers already run in a worker)."""
    if isinstance(maps, FeatureMaps):
        parts = list(maps.iter_batches())
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.asarray(maps)


def _n_samples(X):
    if isinstance(X, (FeatureMaps, list, tuple)):
        return len(X)
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(X)


def _take(X, idx):
    """Samples ``idx`` of ``X``; lazy maps stay lazy (only those samples are computed)."""
    if isinstance(X, FeatureMaps):
        return X[idx]
    if isinstance(X, (list, tuple)):
        return [X[i] for i in idx]
    return _safe_indexing(X, idx)


def _seed_if_unset(estimator, seed):
    """Give ``estimator`` the seed ``seed`` when its ``random_state`` is None."""
    params = estimator.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        estimator.set_params(random_state=int(seed))


def _check_transformer(est, what):
    if isinstance(est, type):
        raise TypeError(
            f"{what} is the class {est.__name__}; pass an instance, e.g. {est.__name__}()."
        )
    if not (hasattr(est, "fit") and hasattr(est, "transform")):
        raise TypeError(f"{what} must be a transformer with fit and transform, got {est!r}.")


# --- channel grouping --------------------------------------------------------------
def _as_maps(X, name="X"):
    """Check that ``X`` holds channels-last maps: FeatureMaps, an ndarray or a list."""
    if isinstance(X, FeatureMaps):
        if X.spatial_ndim < 1:
            raise ValueError(f"{name} must be feature maps with spatial axes, got {X!r}.")
        return X
    if isinstance(X, (list, tuple)) and len(X) > 0 and all(hasattr(x, "shape") for x in X):
        samples = [np.asarray(x) for x in X]
        ndims = {x.ndim for x in samples}
        channels = {x.shape[-1] for x in samples if x.ndim}
        if len(ndims) > 1 or min(ndims) < 2 or len(channels) > 1:
            raise ValueError(
                f"each sample of a list {name} must be shaped (*spatial, n_channels) with "
                "the same number of dimensions and channels."
            )
        if len({x.shape for x in samples}) == 1:
            return np.stack(samples)
        return samples
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(
            f"{name} has shape {X.shape}; Reshape your data: samples go first, then the "
            "spatial axes, then the channels: (n_samples, *spatial, n_channels)."
        )
    if X.ndim < 3:
        raise ValueError(
            f"{name} must be feature maps with a channel axis, shaped (n_samples, *spatial, "
            f"n_channels), FeatureMaps or a list of (*spatial, n_channels) arrays; got shape "
            f"{X.shape}. A matrix of responses (n_positions, n_channels) can be passed as "
            "X[:, np.newaxis, :]."
        )
    if X.ndim > 5:
        raise ValueError(f"{name} has shape {X.shape}: only 1-D, 2-D and 3-D maps are supported.")
    if X.size == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}).")
    return X


def _maps_channels(X):
    return X[0].shape[-1] if isinstance(X, list) else X.shape[-1]


def _maps_spatial_ndim(X):
    if isinstance(X, FeatureMaps):
        return X.spatial_ndim
    return (X[0].ndim if isinstance(X, list) else X.ndim - 1) - 1


def _sample_responses(X, n_positions, rng):
    """Responses of every channel at ``n_positions`` random (sample, position) pairs."""
    d = _maps_spatial_ndim(X)
    batch_size = X.batch_size if isinstance(X, FeatureMaps) else 256
    # A 1x...x1 patch is the vector of channel values at one position; iter_patches
    # draws positions uniformly and computes only the samples it draws from.
    rows = list(iter_patches(X, (1,) * d, n_positions, rng, batch_size=batch_size))
    return np.concatenate(rows).astype(np.float64)


def _energy_correlation(R):
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
    X = _as_maps(X)
    n_positions = check_int(n_positions, "n_positions", min_val=2)
    rng = check_random_state(random_state)
    return _energy_correlation(_sample_responses(X, n_positions, rng))


def _check_group_params(n_channels, n_groups, group_size, method):
    n_groups = check_int(n_groups, "n_groups", min_val=1)
    group_size = check_int(group_size, "group_size", min_val=1)
    check_option(method, "grouping", _GROUPINGS)
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


def _groups_from_similarity(S, n_groups, group_size, rng):
    seeds = rng.choice(len(S), size=n_groups, replace=False)
    groups = np.empty((n_groups, group_size), dtype=np.intp)
    for g, seed in enumerate(seeds):
        score = S[seed].copy()
        score[seed] = np.inf  # the seed heads its own group
        groups[g] = np.argsort(-score, kind="stable")[:group_size]
    return groups


def _random_groups(n_channels, n_groups, group_size, rng):
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
    X = _as_maps(X)
    n_positions = check_int(n_positions, "n_positions", min_val=2)
    n_groups, group_size = _check_group_params(_maps_channels(X), n_groups, group_size, method)
    rng = check_random_state(random_state)
    if method == "random":
        return _random_groups(_maps_channels(X), n_groups, group_size, rng)
    S = _energy_correlation(_sample_responses(X, n_positions, rng))
    return _groups_from_similarity(S, n_groups, group_size, rng)


def _select_channels(X, channels):
    """Lazy view of the maps ``X`` restricted to ``channels`` (nothing is copied now)."""
    channels = np.asarray(channels, dtype=np.intp)
    if isinstance(X, FeatureMaps):
        out_spatial = None if X.variable_size else X.shape[1:-1]
        dtype, batch_size, n_jobs = X.dtype, X.batch_size, X.n_jobs
    elif isinstance(X, list):
        out_spatial, dtype, batch_size, n_jobs = None, X[0].dtype, 1, None
    else:
        out_spatial, dtype, batch_size, n_jobs = X.shape[1:-1], X.dtype, 256, None
    return FeatureMaps(
        X,
        lambda batch: batch[..., channels],
        out_spatial=out_spatial,
        n_channels=len(channels),
        dtype=dtype,
        batch_size=batch_size,
        n_jobs=n_jobs,
    )


class ReceptiveFieldConv(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """A layer whose filters each see one group of similar input channels.

    Above the first layer, a filter that spans every channel of a wide layer has too
    many inputs for unsupervised learning to work well. Coates & Ng (2011) restrict
    each filter to a small *receptive field*: a group of channels of the layer below
    that respond together. At ``fit``, this transformer finds ``n_groups`` groups of
    ``group_size`` channels (:func:`group_channels`), then fits one clone of
    ``estimator`` (e.g. ``KMeansConv(n_filters=32, kernel_size=3)``) on the maps
    restricted to each group. ``transform`` concatenates the groups' outputs along
    the channels, lazily.

    The cheaper ``grouping="random"`` uses random channel subsets. For fixed groups of
    consecutive channels, the ``groups`` parameter of :class:`skconv.Conv` and
    :class:`skconv.RandomConv` gives plain grouped convolution in one pass.

    Parameters
    ----------
    estimator : transformer, default=None
        The layer fitted on each group: a Conv-family transformer that takes maps
        ``(n, *spatial, group_size)``. ``None`` means
        ``KMeansConv(n_filters=32, kernel_size=3)``. Clones whose ``random_state``
        is None get a seed drawn from ``random_state``.
    n_groups : int, default=8
        Number of groups (receptive fields).
    group_size : int, default=16
        Channels per group.
    grouping : {"correlation", "random"}, default="correlation"
        Similar channels (correlation of squared responses) or random subsets.
    n_positions : int, default=10000
        Positions sampled to estimate the channel similarity.
    random_state : int, RandomState instance or None, default=None
        Seeds the grouping and the clones of ``estimator`` left unseeded.
    batch_size : int or "auto", default="auto"
        Samples computed at once when the maps are consumed. ``"auto"`` divides the
        clones' own batch size by ``n_groups``, so a batch of the concatenated maps
        takes about the memory of one clone's batch.
    n_jobs : int, default=None
        Threads over batches when the maps are consumed.

    Attributes
    ----------
    groups_ : ndarray of shape (n_groups, group_size) of int
        The input channels of each group.
    similarity_ : ndarray of shape (n_channels_in_, n_channels_in_) or None
        Channel similarity used for the grouping (None for random grouping).
    estimators_ : list of transformers
        The fitted clone of ``estimator`` of each group.
    n_channels_in_ : int
        Channels of the input seen at fit.
    n_output_channels_ : int
        Channels of the output: the sum over the groups.
    n_features_in_ : int
        Values per sample seen at fit (fixed-size inputs only).

    Notes
    -----
    Input is feature maps with channels last: ``(n_samples, *spatial, n_channels)``,
    lazy :class:`skconv.FeatureMaps` or a list of ``(*spatial, n_channels)`` arrays.
    A flat 2-D ``(n_samples, L)`` array is read as single-channel signals, as
    :class:`skconv.Pool` does.

    Every clone reads its training data from the input restricted to its group.
    Lazy fixed-size input maps (a lower layer's output) are therefore computed once,
    at the start of ``fit``, and held in memory while the groups are fitted:
    otherwise every group would compute them again (100 groups, 100 times the lower
    layers). ``fit`` then needs the memory of the input maps of the samples it is
    given; inside :class:`LayerwiseStack`, ``fit_subset`` bounds it. ``transform``
    stays lazy and streams batch by batch.

    See Also
    --------
    group_channels : the grouping as a function.
    LayerwiseStack : greedy layer-wise stacking.

    References
    ----------
    A. Coates, A. Y. Ng. Selecting Receptive Fields in Deep Networks. NIPS 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skconv import KMeansConv, ReceptiveFieldConv
    >>> X = load_digits().images[:200]
    >>> maps = KMeansConv(16, 3, n_patches=2000, random_state=0).fit_transform(X)
    >>> layer = ReceptiveFieldConv(KMeansConv(4, 2, n_patches=1000), n_groups=3,
    ...                            group_size=4, random_state=0)
    >>> out = layer.fit_transform(maps)
    >>> layer.groups_.shape, out.shape
    ((3, 4), (200, 5, 5, 12))
    """

    def __init__(
        self,
        estimator=None,
        n_groups=8,
        group_size=16,
        *,
        grouping="correlation",
        n_positions=10000,
        random_state=None,
        batch_size="auto",
        n_jobs=None,
    ):
        self.estimator = estimator
        self.n_groups = n_groups
        self.group_size = group_size
        self.grouping = grouping
        self.n_positions = n_positions
        self.random_state = random_state
        self.batch_size = batch_size
        self.n_jobs = n_jobs

    def _template(self):
        if self.estimator is None:
            from ._kmeans_conv import KMeansConv

            return KMeansConv(n_filters=32, kernel_size=3)
        _check_transformer(self.estimator, "estimator")
        return self.estimator

    def _check_params(self):
        check_int(self.n_groups, "n_groups", min_val=1)
        check_int(self.group_size, "group_size", min_val=1)
        check_option(self.grouping, "grouping", _GROUPINGS)
        check_int(self.n_positions, "n_positions", min_val=2)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_int(self.batch_size, "batch_size", min_val=1)
        check_n_jobs(self.n_jobs)

    def _check_input(self, X, *, reset):
        if isinstance(X, (list, tuple)) and not (
            len(X) > 0 and all(hasattr(x, "shape") for x in X)
        ):
            X = np.asarray(X)  # nested lists: one array
        if not isinstance(X, (FeatureMaps, list, tuple, np.ndarray)) and not (
            hasattr(X, "iloc") or issparse(X)
        ):
            X = np.asarray(X)
        if not isinstance(X, (FeatureMaps, list, tuple)) and (
            hasattr(X, "iloc") or issparse(X) or X.ndim == 2
        ):
            # Flat data: single-channel signals, validated by scikit-learn so that
            # n_features_in_ and feature names behave as usual.
            X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
            X = X[..., np.newaxis]
        Xv = _as_maps(X)
        c = _maps_channels(Xv)
        d = _maps_spatial_ndim(Xv)
        if reset:
            self.n_channels_in_ = int(c)
            self._spatial_ndim = d
            if not is_variable_size(Xv) and not hasattr(self, "n_features_in_"):
                self.n_features_in_ = int(np.prod(Xv.shape[1:]))
        else:
            if d != self._spatial_ndim:
                raise ValueError(
                    f"X holds {d}-D maps, but {type(self).__name__} was fitted on "
                    f"{self._spatial_ndim}-D maps."
                )
            if c != self.n_channels_in_:
                raise ValueError(
                    f"X has {c} channels, but {type(self).__name__} was fitted on "
                    f"{self.n_channels_in_} channels."
                )
        return Xv

    def fit(self, X, y=None):
        """Group the input channels and fit one clone of ``estimator`` per group.

        Parameters
        ----------
        X : array-like, FeatureMaps or list of arrays
            Feature maps ``(n_samples, *spatial, n_channels)``.
        y : ignored
            Passed on to the clones (unsupervised ones ignore it).

        Returns
        -------
        self : object
        """
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)
        self._check_params()
        template = self._template()
        Xv = self._check_input(X, reset=True)
        n_groups, group_size = _check_group_params(
            self.n_channels_in_, self.n_groups, self.group_size, self.grouping
        )
        rng = check_random_state(self.random_state)
        if isinstance(Xv, FeatureMaps) and not Xv.variable_size:
            Xv = Xv.compute()  # once, not once per group (see Notes)
        if self.grouping == "correlation":
            S = _energy_correlation(_sample_responses(Xv, self.n_positions, rng))
            groups = _groups_from_similarity(S, n_groups, group_size, rng)
        else:
            S = None
            groups = _random_groups(self.n_channels_in_, n_groups, group_size, rng)
        estimators = []
        for channels in groups:
            est = clone(template)
            _seed_if_unset(est, rng.randint(_SEED_MAX))
            est.fit(_select_channels(Xv, channels), y)
            estimators.append(est)
        self.groups_ = groups
        self.similarity_ = S
        self.estimators_ = estimators
        self.n_output_channels_ = int(
            sum(o.shape[-1] for o in self._group_outputs(Xv))
        )
        return self

    def _group_outputs(self, Xv):
        # Conv-family transformers return lazy maps: this computes nothing.
        return [
            est.transform(_select_channels(Xv, channels))
            for est, channels in zip(self.estimators_, self.groups_)
        ]

    def transform(self, X):
        """Apply each group's layer to its channels and concatenate the maps.

        Parameters
        ----------
        X : array-like, FeatureMaps or list of arrays
            Feature maps with the channels seen at fit.

        Returns
        -------
        maps : FeatureMaps of shape (n_samples, *out_spatial, n_output_channels_)
            Computed batch by batch when consumed; channels come group by group,
            in the order of ``groups_``.
        """
        check_is_fitted(self, "estimators_")
        self._check_params()
        Xv = self._check_input(X, reset=False)
        outs = self._group_outputs(Xv)
        variable = is_variable_size(Xv) or any(is_variable_size(o) for o in outs)
        out_spatial = None
        if not variable:
            shapes = {tuple(o.shape[1:-1]) for o in outs}
            if len(shapes) > 1:
                raise ValueError(
                    f"the groups' layers give maps of different spatial shapes {sorted(shapes)}; "
                    "use the same kernel, stride and padding for every group."
                )
            out_spatial = shapes.pop()
        if self.batch_size == "auto":
            sizes = [getattr(o, "batch_size", 256) for o in outs]
            batch_size = max(1, min(sizes) // len(outs))
        else:
            batch_size = self.batch_size
        return FeatureMaps(
            Xv,
            self._transform_batch,
            out_spatial=out_spatial,
            n_channels=sum(o.shape[-1] for o in outs),
            dtype=np.result_type(*[o.dtype for o in outs]),
            batch_size=batch_size,
            n_jobs=self.n_jobs,
        )

    def _transform_batch(self, x):
        parts = [
            _materialize(est.transform(x[..., channels]))
            for est, channels in zip(self.estimators_, self.groups_)
        ]
        return np.concatenate(parts, axis=-1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        try:
            preserved = get_tags(self._template()).transformer_tags.preserves_dtype
        except (AttributeError, TypeError, ValueError):
            preserved = ["float32"]
        tags.transformer_tags.preserves_dtype = list(preserved)
        return tags


# --- the stack -----------------------------------------------------------------------
def _split_layers(layers):
    """``layers`` as (name, estimator) pairs, bare estimators named by position.

    Returns None when ``layers`` is not a list of either form (get_params must not
    fail on invalid values; fit says what is wrong).
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, (list, tuple)):
        return None
    is_pair = [
        isinstance(layer, tuple) and len(layer) == 2 and isinstance(layer[0], str)
        for layer in layers
    ]
    if all(is_pair):
        return [(name, est) for name, est in layers]
    if not any(is_pair):
        return [(str(i), est) for i, est in enumerate(layers)]
    return None


class LayerwiseStack(TransformerMixin, BaseEstimator):
    """Greedy layer-wise stacking of convolutional layers and pooling.

    Layer ``k`` is fitted on the output of layers ``1 .. k-1``, which stays lazy:
    maps are computed batch by batch, and only for the samples a layer reads. With
    ``fit_subset``, each layer is fitted on a random subset of the samples, so that
    fitting a deep stack costs little more than fitting its last layer (the layers
    below only run on that subset). ``transform`` chains the layers lazily and
    returns the maps of the last layer, or, with ``concat`` (and ``pool``), the
    pooled features of several layers side by side, computed in one pass in which
    every layer runs once per batch: memory is set by the batch size, never by the
    number of samples.

    Parameters follow :class:`sklearn.pipeline.Pipeline`: the parameters of layer
    ``name`` are reachable as ``<name>__<param>`` (e.g. ``conv2__n_filters``) by
    ``get_params``, ``set_params`` and grid searches, and a whole layer is replaced
    with ``set_params(<name>=...)``.

    Parameters
    ----------
    layers : list of (str, transformer) pairs, or list of transformers
        The layers in order: Conv-family transformers (``KMeansConv``,
        ``RandomConv``, :class:`ReceptiveFieldConv`, ...) and pooling that keeps
        maps (``Pool(size=3, stride=2, method="max")``). Bare transformers are
        named ``"0"``, ``"1"``, ... They are cloned at fit, never changed.
    fit_subset : int, float or None, default=None
        Fit each layer on a random subset of the samples: this many samples (an
        int; all of them if there are fewer) or this fraction of them (a float in
        (0, 1]). A different subset is drawn for each layer. None fits every layer
        on all the samples.
    concat : list of str, default=None
        Names of the layers whose maps are pooled by ``pool`` and concatenated, in
        this order, into the 2-D output. None outputs the last layer's maps (or,
        when ``pool`` is given, the last layer's pooled features).
    pool : transformer, default=None
        Pooling that turns maps into a 2-D feature array, e.g.
        ``Pool(grid=(2, 2))``; one clone is fitted per pooled layer. None means
        ``Pool()`` (sum over quadrants) when ``concat`` is given.
    random_state : int, RandomState instance or None, default=None
        Draws the subsets of ``fit_subset``, and a seed for each layer whose own
        ``random_state`` is None, so that one seed makes the whole stack
        reproducible. Layers with a ``random_state`` of their own keep it.

    Attributes
    ----------
    layers_ : list of (str, transformer)
        The fitted clones of the layers.
    named_layers_ : :class:`~sklearn.utils.Bunch`
        The fitted layers by name.
    pools_ : :class:`~sklearn.utils.Bunch` or None
        The fitted clone of ``pool`` of each pooled layer, by layer name.
    concat_ : list of str or None
        The pooled layers (None when the output is the last layer's maps).
    subset_indices_ : dict of str to ndarray or None
        The sorted sample indices each layer was fitted on (None: all samples).
    n_features_in_ : int
        Number of features seen by the first layer (flat or fixed-size input).
    feature_names_in_ : ndarray of str
        Column names seen by the first layer, when fitted on a DataFrame.

    Notes
    -----
    A ``Pipeline`` of the same layers is also fitted greedily. The stack adds
    fitting on subsets, the concatenation of several layers' pooled features
    without computing the lower layers twice, and one seed for all layers.

    Layers that return lazy :class:`skconv.FeatureMaps` (the Conv family,
    sliding-window ``Pool`` on lazy maps, :class:`ReceptiveFieldConv`) are never
    materialized whole; a layer that returns an ndarray computes its whole output.
    When ``concat`` is given, batches are those of the first layer's maps (its
    ``batch_size`` and ``n_jobs``).

    See Also
    --------
    ReceptiveFieldConv : a layer connected to groups of similar channels.
    sklearn.pipeline.Pipeline : plain chaining of transformers.

    References
    ----------
    A. Coates, A. Y. Ng. Selecting Receptive Fields in Deep Networks. NIPS 2011.

    K. Jarrett, K. Kavukcuoglu, M. Ranzato, Y. LeCun. What is the Best Multi-Stage
    Architecture for Object Recognition? ICCV 2009.

    Y. Bengio, P. Lamblin, D. Popovici, H. Larochelle. Greedy Layer-Wise Training of
    Deep Networks. NIPS 2007.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skconv import KMeansConv, LayerwiseStack, Pool, ReceptiveFieldConv
    >>> X = load_digits().images[:300]
    >>> stack = LayerwiseStack(
    ...     [("conv1", KMeansConv(16, 3, n_patches=2000)),
    ...      ("pool1", Pool(size=2, method="max")),
    ...      ("conv2", ReceptiveFieldConv(KMeansConv(8, 2, n_patches=1000),
    ...                                   n_groups=2, group_size=8))],
    ...     fit_subset=100, concat=["conv1", "conv2"], pool=Pool(grid=(2, 2)),
    ...     random_state=0)
    >>> stack.fit_transform(X).shape
    (300, 128)
    >>> stack.get_params()["conv1__n_filters"]
    16
    """

    def __init__(self, layers, *, fit_subset=None, concat=None, pool=None, random_state=None):
        self.layers = layers
        self.fit_subset = fit_subset
        self.concat = concat
        self.pool = pool
        self.random_state = random_state

    # --- nested parameters, as Pipeline does ---------------------------------------
    def get_params(self, deep=True):
        """Parameters of the stack, and with ``deep`` those of every layer.

        Parameters
        ----------
        deep : bool, default=True
            Also return each layer as ``<name>`` and its parameters as
            ``<name>__<param>``.

        Returns
        -------
        params : dict
        """
        out = super().get_params(deep=deep)
        if not deep:
            return out
        named = _split_layers(self.layers)
        for name, est in named or ():
            out[name] = est
            if hasattr(est, "get_params") and not isinstance(est, type):
                for key, value in est.get_params(deep=True).items():
                    out[f"{name}__{key}"] = value
        return out

    def set_params(self, **params):
        """Set parameters of the stack, of its layers (``<name>__<param>``), or layers.

        Parameters
        ----------
        **params : dict
            ``layers`` is set first, then whole layers by name, then the rest.

        Returns
        -------
        self : object
        """
        if "layers" in params:
            self.layers = params.pop("layers")
        named = _split_layers(self.layers)
        if named:
            names = [name for name, _ in named]
            bare = not isinstance(self.layers[0], tuple)
            for key in list(params):
                if key in names:
                    i = names.index(key)
                    new = list(self.layers)
                    new[i] = params.pop(key) if bare else (key, params.pop(key))
                    self.layers = new
        super().set_params(**params)
        return self

    # --- validation -----------------------------------------------------------------
    def _check_layers(self):
        layers = self.layers
        if isinstance(layers, (str, bytes)) or not isinstance(layers, (list, tuple)):
            raise TypeError(
                "layers must be a list of (name, transformer) pairs or a list of "
                f"transformers, got {layers!r}."
            )
        if len(layers) == 0:
            raise ValueError("layers must hold at least one layer, got an empty list.")
        named = _split_layers(layers)
        if named is None:
            raise TypeError(
                "layers must be all (name, transformer) pairs or all bare transformers; "
                "got a mix (or pairs whose name is not a str)."
            )
        names = [name for name, _ in named]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"layer names must be unique; repeated: {dup}.")
        bad = [n for n in names if "__" in n or not n]
        if bad:
            raise ValueError(f"layer names must be non-empty and must not contain '__'; got {bad}.")
        clash = sorted(set(names) & set(self._get_param_names()))
        if clash:
            raise ValueError(
                f"layer names {clash} clash with parameters of LayerwiseStack; rename the layers."
            )
        for name, est in named:
            _check_transformer(est, f"layer {name!r}")
        return named

    def _check_concat(self, names):
        if self.concat is None:
            return None
        if isinstance(self.concat, str):
            raise TypeError(
                f"concat must be a list of layer names, got the string {self.concat!r}; "
                f"write concat=[{self.concat!r}]."
            )
        try:
            concat = list(self.concat)
        except TypeError:
            raise TypeError(f"concat must be a list of layer names, got {self.concat!r}.") from None
        if not concat:
            raise ValueError("concat must name at least one layer, got an empty list.")
        unknown = [c for c in concat if c not in names]
        if unknown:
            raise ValueError(f"concat names unknown layers {unknown}; the layers are {names}.")
        if len(set(concat)) != len(concat):
            raise ValueError(f"concat names a layer more than once: {concat}.")
        return concat

    def _check_pool(self):
        pool = Pool() if self.pool is None else self.pool
        _check_transformer(pool, "pool")
        if isinstance(pool, Pool) and (
            pool.flatten is False or (pool.size is not None and pool.flatten is not True)
        ):
            raise ValueError(
                "pool must turn maps into 2-D features: use grid or pyramid pooling (e.g. "
                f"Pool(grid=(2, 2))), or flatten=True; got {pool!r}."
            )
        return pool

    def _subset_size(self, n):
        fs = self.fit_subset
        if fs is None:
            return None
        if isinstance(fs, (bool, np.bool_)) or not isinstance(fs, numbers.Real):
            raise TypeError(
                "fit_subset must be None, an int >= 1 (a number of samples) or a float in "
                f"(0, 1] (a fraction of them), got {fs!r}."
            )
        if isinstance(fs, numbers.Integral):
            m = check_int(fs, "fit_subset", min_val=1)
        else:
            f = check_float(fs, "fit_subset", min_val=0, max_val=1, include_boundaries="right")
            m = max(1, math.ceil(f * n))
        return None if m >= n else m

    # --- scikit-learn API -------------------------------------------------------------
    def fit(self, X, y=None):
        """Fit the layers one after the other, each on the output of those below.

        Parameters
        ----------
        X : array-like, list of array-like or FeatureMaps
            Input of the first layer, in any layout it accepts.
        y : array-like of shape (n_samples,), default=None
            Passed to every layer (subset with the samples); unsupervised layers
            ignore it.

        Returns
        -------
        self : object
        """
        named = self._check_layers()
        names = [name for name, _ in named]
        concat = self._check_concat(names)
        if concat is None and self.pool is not None:
            concat = [names[-1]]
        pool = self._check_pool() if concat is not None else None
        if issparse(X):
            raise TypeError(
                "sparse input is not supported: skconv layers take dense images, signals "
                "or maps; convert X with X.toarray()."
            )
        if not isinstance(X, (FeatureMaps, list, tuple)) and not hasattr(X, "shape"):
            X = np.asarray(X)  # any other array-like, so that samples can be indexed
        if y is not None and not isinstance(y, (list, tuple)) and not hasattr(y, "shape"):
            y = np.asarray(y)
        rng = check_random_state(self.random_state)
        n = _n_samples(X)
        m = self._subset_size(n)
        fitted, subsets, pools = [], {}, Bunch()
        Xk = X
        for k, (name, layer) in enumerate(named):
            est = clone(layer)
            _seed_if_unset(est, rng.randint(_SEED_MAX))
            if m is None:
                idx = None
                est.fit(Xk, y)
            else:
                idx = np.sort(sample_without_replacement(n, m, random_state=rng))
                est.fit(_take(Xk, idx), None if y is None else _safe_indexing(y, idx))
            subsets[name] = idx
            fitted.append((name, est))
            if k < len(named) - 1 or (concat is not None and name in concat):
                out = est.transform(Xk)  # lazy for Conv-family layers
                if concat is not None and name in concat:
                    pools[name] = clone(pool).fit(out)
                Xk = out
        self.layers_ = fitted
        self.named_layers_ = Bunch(**dict(fitted))
        self.pools_ = pools if concat is not None else None
        self.concat_ = concat
        self.subset_indices_ = subsets
        return self

    @property
    def n_features_in_(self):
        """Number of features seen by the first layer at fit."""
        return self.layers_[0][1].n_features_in_

    @property
    def feature_names_in_(self):
        """Column names seen by the first layer at fit."""
        return self.layers_[0][1].feature_names_in_

    def transform(self, X):
        """Chain the layers: lazy maps of the last layer, or pooled features.

        Parameters
        ----------
        X : array-like, list of array-like or FeatureMaps
            Input of the first layer.

        Returns
        -------
        maps : FeatureMaps of shape (n_samples, *spatial, n_channels)
            Without ``concat`` and ``pool``: the last layer's output (lazy when the
            layers are).
        features : ndarray of shape (n_samples, n_features)
            With ``concat`` or ``pool``: the pooled features of the ``concat``
            layers side by side, in the order of ``concat``.
        """
        check_is_fitted(self, "layers_")
        if self.concat_ is None:
            Xk = X
            for _, est in self.layers_:
                Xk = est.transform(Xk)
            return Xk
        return self._pooled_features(X)

    def _pooled_features(self, X):
        order = {name: i for i, name in enumerate(self.concat_)}
        names = [name for name, _ in self.layers_]
        last = max(names.index(name) for name in self.concat_)
        chain = self.layers_[: last + 1]
        pools = self.pools_

        def features(maps):
            # maps: one batch of the first layer's output. Every layer up to the
            # last pooled one runs once on it, and its pooled features are kept.
            parts = [None] * len(order)
            x = maps
            for k, (name, est) in enumerate(chain):
                if k > 0:
                    x = _materialize(est.transform(x))
                if name in order:
                    f = pools[name].transform(x)
                    if getattr(f, "ndim", None) != 2:
                        raise ValueError(
                            f"pool must return 2-D features, but gave shape "
                            f"{np.shape(f)} on the maps of layer {name!r}."
                        )
                    parts[order[name]] = f
            return np.hstack(parts)

        first = chain[0][1].transform(X)
        # rows written into one array as the batches finish: the features are
        # held once, not as a list of batches plus their concatenation
        return stack_batches(first, features)

    def get_feature_names_out(self, input_features=None):
        """Names of the pooled features: ``<layer>__<pooled feature>``.

        Parameters
        ----------
        input_features : ignored
            Present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self, "layers_")
        if self.concat_ is None:
            raise ValueError(
                "feature names exist only when the stack outputs 2-D features; give "
                "concat or pool."
            )
        names = []
        for name in self.concat_:
            names.extend(f"{name}__{f}" for f in self.pools_[name].get_feature_names_out())
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        named = _split_layers(self.layers)
        if named:
            try:
                first = get_tags(named[0][1])
                tags.input_tags.three_d_array = first.input_tags.three_d_array
                ests = [est for _, est in named]
                if self.concat is not None or self.pool is not None:
                    ests.append(Pool() if self.pool is None else self.pool)
                preserved = None
                for est in ests:
                    p = get_tags(est).transformer_tags
                    p = ["float64"] if p is None else list(p.preserves_dtype)
                    preserved = p if preserved is None else [d for d in preserved if d in p]
                tags.transformer_tags.preserves_dtype = preserved
            except (AttributeError, TypeError, ValueError):
                pass
        return tags
