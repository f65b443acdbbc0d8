"""Greedy layer-wise stacking of convolutional layers.

``Pipeline`` already fits its steps greedily, one after the other. What it cannot
do, and :class:`LayerwiseStack` adds, is fit each layer on a random subset of the
(lazy) maps below it, so that a deep stack costs little more to fit than its last
layer, and concatenate the pooled features of several layers in one pass over the
data. Layers above the first are often :class:`skconv.ReceptiveFieldConv`.
"""

import math
import numbers
from contextlib import contextmanager

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import Bunch, _safe_indexing, get_tags
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._composition import NamedStepsMixin, split_steps
from ._dask import dask_aware
from ._maps import FeatureMaps, materialize, stack_batches
from ._pool import Pool
from ._progress import Timer, say
from ._validation import (
    check_float,
    check_int,
    check_option,
    check_random_state,
    check_transformer,
    check_verbose,
    seed_if_unset,
)

__all__ = ["LayerwiseStack"]


def _n_samples(X):
    if isinstance(X, (FeatureMaps, list, tuple)):
        return len(X)
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 0:
        raise ValueError(f"X must have the samples first, got a 0-d array {X!r}.")
    return int(shape[0]) if shape is not None else len(X)


@contextmanager
def _naming_the_layer(name, X, k):
    """Say which layer could not be fitted, and on what input, when one fails."""
    try:
        yield
    except ValueError as exc:
        if k == 0:
            raise  # the first layer's own message is about X already
        shape = getattr(X, "shape", None)
        given = (
            f"X has {shape[1]} feature(s) per sample"
            if shape is not None and len(shape) == 2
            else f"X has shape {shape}" if shape is not None else f"X holds {len(X)} samples"
        )
        what = name if k is None else f"layer {name!r}"
        raise ValueError(f"{what} must fit the maps it is given ({given}): {exc}") from exc


def _take(X, idx):
    """Samples ``idx`` of ``X``; lazy maps stay lazy (only those samples are computed)."""
    if isinstance(X, FeatureMaps):
        return X[idx]
    if isinstance(X, (list, tuple)):
        return [X[i] for i in idx]
    return _safe_indexing(X, idx)


# --- the stack -----------------------------------------------------------------------
class LayerwiseStack(NamedStepsMixin, TransformerMixin, BaseEstimator):
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
    verbose : int, default=0
        Progress on the ``"skconv"`` logger: 1 reports each layer fitted (on how
        many samples, in how long) and, when the pooled features are computed,
        batches done, samples per second and time left at most every 2 seconds;
        2 reports every batch. The layers' own ``verbose`` (e.g.
        ``conv1__verbose=1``) reports inside them: the k-means iterations.

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

    _steps_attr = "layers"
    _step_word = "layer"

    def __init__(self, layers, *, fit_subset=None, concat=None, pool=None, random_state=None,
                 verbose=0):
        self.layers = layers
        self.fit_subset = fit_subset
        self.concat = concat
        self.pool = pool
        self.random_state = random_state
        self.verbose = verbose

    # --- validation -----------------------------------------------------------------
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
        check_transformer(pool, "pool")
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
        named = self._check_steps()
        verbose = check_verbose(self.verbose)
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
            seed_if_unset(est, rng)
            timer = Timer()
            with _naming_the_layer(name, X, k):
                if m is None:
                    idx = None
                    est.fit(Xk, y)
                else:
                    idx = np.sort(sample_without_replacement(n, m, random_state=rng))
                    est.fit(_take(Xk, idx), None if y is None else _safe_indexing(y, idx))
                subsets[name] = idx
                fitted.append((name, est))
            say(verbose, f"LayerwiseStack fit: layer {k + 1}/{len(named)} {name!r} "
                         f"({type(est).__name__}) fitted on {n if m is None else m:,} samples "
                         f"in {timer}")
            if k < len(named) - 1 or (concat is not None and name in concat):
                out = est.transform(Xk)  # lazy for Conv-family layers
                if concat is not None and name in concat:
                    with _naming_the_layer(f"the pool of layer {name!r}", X, None):
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

    @dask_aware
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
                    x = materialize(est.transform(x))
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
        return stack_batches(first, features, verbose=check_verbose(self.verbose),
                             what="LayerwiseStack transform")

    def _outputs_features(self):
        return self.concat is not None or self.pool is not None

    def set_output(self, *, transform=None):
        """Set the output container of the pooled features; maps stay maps.

        With ``concat`` or ``pool`` the stack outputs 2-D features, wrapped as
        scikit-learn's ``set_output`` does (e.g. a DataFrame with named columns);
        without, its output is the last layer's maps, returned untouched, so that
        ``Pipeline.set_output`` works either way.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container of ``transform`` and ``fit_transform``.

        Returns
        -------
        self : object
        """
        if self._outputs_features():
            return super().set_output(transform=transform)
        check_option(transform, "transform", (None, "default", "pandas", "polars"))
        return self

    @available_if(_outputs_features)
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
        named = split_steps(self.layers)
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
