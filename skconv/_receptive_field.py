"""ReceptiveFieldConv: a layer whose filters each see one group of similar channels."""

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from ._dask import dask_aware
from ._base import MapsTransformerMixin
from ._grouping import (
    GROUPINGS,
    check_group_params,
    energy_correlation,
    groups_from_similarity,
    random_groups,
    sample_responses,
)
from ._maps import FeatureMaps, is_variable_size, materialize, run_in_threads
from ._progress import Progress, Timer, say
from ._docs import fill_doc
from ._validation import (
    _check_input_shape,
    check_batch_size,
    check_input,
    check_int,
    check_n_jobs,
    check_verbose,
    check_option,
    check_random_state,
    check_transformer,
    seed_if_unset,
)

__all__ = ["ReceptiveFieldConv"]


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


def _group_input(X, channels):
    """The channels of one group, to fit its clone on: a copy for an array (a
    group's channels are a small part of the maps), else a lazy view."""
    if isinstance(X, np.ndarray):
        return np.take(X, channels, axis=-1)
    return _select_channels(X, channels)


@fill_doc
class ReceptiveFieldConv(MapsTransformerMixin, BaseEstimator):
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
        Threads over the groups at fit, and over batches when the maps are
        consumed. Results do not depend on it.
    %(channel_axis)s
    verbose : int, default=0
        Progress on the ``"skconv"`` logger: 1 reports the grouping, the groups
        fitted (at most every 2 seconds) and, when the maps are consumed, batches
        done, samples per second and time left; 2 reports every group and batch.
        The clones report too when ``estimator`` has its own ``verbose``.

    Attributes
    ----------
    groups_ : ndarray of shape (n_groups, group_size) of int
        The input channels of each group.
    similarity_ : ndarray of shape (n_channels_in_, n_channels_in_) or None
        Channel similarity used for the grouping (None for random grouping).
    estimators_ : list of transformers
        The fitted clone of ``estimator`` of each group.
    %(input_attributes)s
    n_output_channels_ : int
        Channels of the output: the sum over the groups.

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

    When the clones are :class:`KMeansConv` layers of one geometry and encoding,
    all groups are computed together: one copy of every group's patches and one
    batched matrix product per chunk of groups, instead of one transform per
    group and batch; each group's maps equal its clone's to float rounding. The
    soft threshold and ReLU encodings skip the whitened norm of every patch that
    the triangle needs, which is most of the layer's time (a 144 x 144 product
    per patch and group against 144 x 32 for the filters).

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
    >>> layer.cost((6, 6, 16))["output_shape"]
    (5, 5, 12)
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
        channel_axis=-1,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_groups = n_groups
        self.group_size = group_size
        self.grouping = grouping
        self.n_positions = n_positions
        self.random_state = random_state
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.channel_axis = channel_axis
        self.verbose = verbose

    def _template(self):
        if self.estimator is None:
            from ._kmeans_conv import KMeansConv

            return KMeansConv(n_filters=32, kernel_size=3)
        check_transformer(self.estimator, "estimator")
        return self.estimator

    def _check_params(self):
        check_int(self.n_groups, "n_groups", min_val=1)
        check_int(self.group_size, "group_size", min_val=1)
        check_option(self.grouping, "grouping", GROUPINGS)
        check_int(self.n_positions, "n_positions", min_val=2)
        check_batch_size(self.batch_size)
        check_n_jobs(self.n_jobs)
        check_verbose(self.verbose)

    def _check_input(self, X, *, reset):
        # flat 2-D data is single-channel signals, as for Pool
        Xv, _ = check_input(self, X, reset=reset, dtype="float", channel_axis=self.channel_axis)
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
        self._check_params()
        template = self._template()
        Xv = self._check_input(X, reset=True)
        n_groups, group_size = check_group_params(
            self.n_channels_in_, self.n_groups, self.group_size, self.grouping
        )
        rng = check_random_state(self.random_state)
        if isinstance(Xv, FeatureMaps) and not Xv.variable_size:
            timer = Timer()
            Xv = Xv.compute()  # once, not once per group (see Notes)
            say(self.verbose, f"ReceptiveFieldConv fit: input maps {Xv.shape} computed in "
                              f"{timer}")
        timer = Timer()
        if self.grouping == "correlation":
            S = energy_correlation(sample_responses(Xv, self.n_positions, rng))
            groups = groups_from_similarity(S, n_groups, group_size, rng)
        else:
            S = None
            groups = random_groups(self.n_channels_in_, n_groups, group_size, rng)
        say(self.verbose, f"ReceptiveFieldConv fit: {n_groups} groups of {group_size} of the "
                          f"{self.n_channels_in_} channels ({self.grouping}) in {timer}")
        estimators = []
        for _ in groups:  # seeds drawn in order, whatever the threads
            est = clone(template)
            seed_if_unset(est, rng)
            estimators.append(est)

        progress = Progress(self.verbose, "ReceptiveFieldConv fit", n_groups, unit="groups")

        def fit_group(pair):
            est, channels = pair
            est.fit(_group_input(Xv, channels), y)
            progress.update(1)
            return est

        # The groups are fitted in n_jobs threads, each product on one BLAS thread
        # (the products of a group are small), also when serial, so that the
        # filters do not depend on n_jobs.
        run_in_threads(fit_group, zip(estimators, groups), self.n_jobs, single_blas_thread=True)
        self.groups_ = groups
        self.similarity_ = S
        self.estimators_ = estimators
        # One batched computation of all the groups when the clones' class offers
        # it (KMeansConv does); else each batch calls the clones one by one.
        batched = getattr(type(template), "_grouped_transform", None)
        self._batched = None if batched is None else batched(estimators, groups)
        self.n_output_channels_ = int(
            sum(o.shape[-1] for o in self._group_outputs(Xv))
        )
        return self

    def cost(self, input_shape):
        """What the layer costs on one sample, before or after fit: the sum of the
        costs of its groups' layers, each on ``group_size`` channels.

        Parameters
        ----------
        input_shape : tuple of int
            One sample, ``(*spatial, n_channels)``.

        Returns
        -------
        cost : dict
            ``"params"``, ``"multiply_adds"`` and ``"map_bytes"`` summed over the
            groups, and ``"output_shape"`` of the concatenated maps (see
            :meth:`skconv.Conv.cost`).
        """
        self._check_params()
        shape = _check_input_shape(input_shape, None)
        spatial, c = shape[:-1], shape[-1]
        if hasattr(self, "estimators_"):
            if c != self.n_channels_in_:
                raise ValueError(
                    f"input_shape must have {self.n_channels_in_} channels as at fit, got {c}."
                )
            parts = [est.cost(spatial + (len(ch),))
                     for est, ch in zip(self.estimators_, self.groups_)]
        else:
            n_groups, group_size = check_group_params(
                c, self.n_groups, self.group_size, self.grouping
            )
            template = clone(self._template())
            if not hasattr(template, "cost"):
                raise TypeError(
                    f"estimator must have a cost method (a Conv-family transformer) to "
                    f"give the layer's cost, got {type(template).__name__}."
                )
            parts = [template.cost(spatial + (group_size,))] * n_groups
        channels = sum(p["output_shape"][-1] for p in parts)
        return {
            "params": sum(p["params"] for p in parts),
            "multiply_adds": sum(p["multiply_adds"] for p in parts),
            "output_shape": parts[0]["output_shape"][:-1] + (channels,),
            "map_bytes": sum(p["map_bytes"] for p in parts),
        }

    def _group_outputs(self, Xv, n_groups=None):
        # Conv-family transformers return lazy maps: this computes nothing. They
        # check the input of their group (n_groups of them: the first ones).
        pairs = list(zip(self.estimators_, self.groups_))[:n_groups]
        return [est.transform(_select_channels(Xv, channels)) for est, channels in pairs]

    @dask_aware
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
        # Batched clones share one geometry: the first checks the input for all
        # (a hundred transforms per batch of a stack would cost more than the maps).
        outs = self._group_outputs(Xv, 1 if getattr(self, "_batched", None) is not None else None)
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
            batch_size = max(1, min(sizes) // len(self.estimators_))
        else:
            batch_size = self.batch_size
        return FeatureMaps(
            Xv,
            self._transform_batch,
            out_spatial=out_spatial,
            n_channels=self.n_output_channels_,
            dtype=np.result_type(*[o.dtype for o in outs]),
            batch_size=batch_size,
            n_jobs=self.n_jobs,
            verbose=check_verbose(self.verbose),
            what="ReceptiveFieldConv transform",
        )

    def _transform_batch(self, x):
        batched = getattr(self, "_batched", None)  # None also for layers pickled before it
        if batched is not None:
            return batched(x)
        parts = [
            materialize(est.transform(x[..., channels]))
            for est, channels in zip(self.estimators_, self.groups_)
        ]
        return np.concatenate(parts, axis=-1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        try:
            preserved = get_tags(self._template()).transformer_tags.preserves_dtype
        except (AttributeError, TypeError, ValueError):
            preserved = ["float32"]
        tags.transformer_tags.preserves_dtype = list(preserved)
        return tags


