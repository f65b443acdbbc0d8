"""Parameter and input validation: the one layer every skconv estimator and function uses.

Parameters
    One checker per kind of value (int, float, bool, option, tuple of ints, kernel
    size, positive numbers, dtype, ``n_jobs``, ``batch_size``, ``random_state``,
    padding), all with one message style::

        <name> must be <what is expected>, got <what was given>.

    A float where an int is expected, or a bool where a number is expected, is a
    ``TypeError``; a value of the right type out of range is a ``ValueError``.
    scikit-learn's ``_parameter_constraints`` machinery is private and changes
    between releases, so these checkers are our own.

Inputs
    :func:`check_input` brings any accepted input (an array, a flat
    ``(n_samples, n_features)`` array or DataFrame with ``input_shape``, a list of
    samples of different sizes, lazy :class:`skconv.FeatureMaps`) to the internal
    samples-first, channels-last layout ``(n, *spatial, c)``, and records (at fit) or
    checks (afterwards) what the estimator saw. :func:`restore_layout` gives a
    result back in the layout of the input.
"""

import numbers
import os
from dataclasses import dataclass

import numpy as np
from scipy.sparse import issparse
from sklearn.utils import check_random_state as _sklearn_check_random_state
from sklearn.utils.validation import validate_data

from ._dask import is_dask_array

__all__ = [
    "is_int",
    "is_real",
    "check_int",
    "check_float",
    "check_bool",
    "check_option",
    "check_int_tuple",
    "check_float_tuple",
    "check_kernel_size",
    "check_floats",
    "check_options",
    "check_matrix",
    "check_real_array",
    "check_transformer",
    "seed_if_unset",
    "check_dtype",
    "check_n_jobs",
    "check_verbose",
    "effective_n_jobs",
    "check_batch_size",
    "check_random_state",
    "check_padding",
    "check_input",
    "check_samples",
    "check_features",
    "check_channel_axis",
    "implied_ndim",
    "restore_layout",
    "InputLayout",
]


# ---------------------------------------------------------------------------
# one message style
# ---------------------------------------------------------------------------


def _shown(value):
    """``repr`` of a value for a message, short for arrays."""
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _fail(exc, name, expected, value):
    raise exc(f"{name} must be {expected}, got {_shown(value)}.")


def is_int(value):
    """True for Python and numpy integers, False for bools."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def is_real(value):
    """True for Python and numpy real numbers (ints included), False for bools."""
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def _range_text(min_val, max_val, include_boundaries="both"):
    low = include_boundaries in ("both", "left")
    high = include_boundaries in ("both", "right")
    if min_val is not None and max_val is not None:
        return f" in {'[' if low else '('}{min_val:g}, {max_val:g}{']' if high else ')'}"
    if min_val is not None:
        return f" {'>=' if low else '>'} {min_val:g}"
    if max_val is not None:
        return f" {'<=' if high else '<'} {max_val:g}"
    return ""


def _in_range(value, min_val, max_val, include_boundaries):
    low = include_boundaries in ("both", "left")
    high = include_boundaries in ("both", "right")
    if min_val is not None and (value < min_val if low else value <= min_val):
        return False
    if max_val is not None and (value > max_val if high else value >= max_val):
        return False
    return True


# ---------------------------------------------------------------------------
# scalars
# ---------------------------------------------------------------------------


def check_int(value, name, *, min_val=None, max_val=None, allow_none=False):
    """Return ``value`` as a Python int; a float or bool is a TypeError.

    Examples
    --------
    >>> check_int(3, "n_filters", min_val=1)
    3
    >>> check_int(3.0, "n_filters")
    Traceback (most recent call last):
    ...
    TypeError: n_filters must be an int, got 3.0.
    """
    if value is None and allow_none:
        return None
    what = "an int" + _range_text(min_val, max_val) + (" or None" if allow_none else "")
    if not is_int(value):
        _fail(TypeError, name, what, value)
    if not _in_range(value, min_val, max_val, "both"):
        _fail(ValueError, name, what, value)
    return int(value)


def check_float(
    value,
    name,
    *,
    min_val=None,
    max_val=None,
    include_boundaries="both",
    allow_none=False,
    options=(),
):
    """Return ``value`` as a finite Python float; a bool or non-number is a TypeError.

    ``allow_none`` also accepts None, and ``options`` the strings it lists (such as
    ``"auto"``); those are returned as they are.
    """
    if value is None and allow_none:
        return None
    choices = (["None"] if allow_none else []) + [repr(o) for o in options]
    number = "a finite real number" + _range_text(min_val, max_val, include_boundaries)
    what = ", ".join(choices) + " or " + number if choices else number
    if options and isinstance(value, str):
        if value not in options:
            _fail(ValueError, name, what, value)
        return value
    if not is_real(value):
        _fail(TypeError, name, what, value)
    if not np.isfinite(value) or not _in_range(value, min_val, max_val, include_boundaries):
        _fail(ValueError, name, what, value)
    return float(value)


def check_bool(value, name):
    """Return ``value`` as a Python bool; anything but a bool is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        _fail(TypeError, name, "a bool", value)
    return bool(value)


def check_option(value, name, options):
    """Check that ``value`` is one of ``options`` (None matched by identity, a bool only
    by a bool)."""
    for option in options:
        if value is option:
            return value
        if value is None or option is None:
            continue
        if isinstance(value, (bool, np.bool_)) != isinstance(option, (bool, np.bool_)):
            continue
        try:
            if bool(value == option):
                return value
        except (TypeError, ValueError):  # arrays and other values with no plain ==
            continue
    shown = ", ".join(repr(o) for o in options)
    _fail(ValueError, name, f"one of {shown}", value)


def check_options(values, name, options):
    """One of ``options``, or a non-empty sequence of them -> tuple."""
    shown = ", ".join(repr(o) for o in options)
    what = f"one of {shown} or a non-empty sequence of them"
    if isinstance(values, (list, tuple, np.ndarray)):
        values = list(np.ravel(values)) if isinstance(values, np.ndarray) else list(values)
        if not values:
            _fail(ValueError, name, what, values)
    else:
        values = [values]
    for v in values:
        try:
            check_option(v, name, options)
        except ValueError:
            _fail(ValueError, name, what, values if len(values) > 1 else values[0])
    return tuple(values)


def check_floats(values, name, *, min_val=0.0, include_boundaries="neither", allow_empty=False):
    """A number or a sequence of numbers (each in range) -> tuple of floats.

    The default range is positive numbers. An empty sequence is a ValueError unless
    ``allow_empty``.
    """
    kind = "a sequence" if allow_empty else "a non-empty sequence"
    rng = _range_text(min_val, None, include_boundaries)
    what = f"a number{rng} or {kind} of them"
    if is_real(values):
        values = (values,)
    elif isinstance(values, np.ndarray):
        values = tuple(values.ravel().tolist())
    if not isinstance(values, (tuple, list)):
        _fail(TypeError, name, what, values)
    if not allow_empty and len(values) == 0:
        _fail(ValueError, name, what, values)
    out = []
    for v in values:
        if not is_real(v):
            _fail(TypeError, name, what, values)
        if not np.isfinite(v) or not _in_range(v, min_val, None, include_boundaries):
            _fail(ValueError, name, what, values)
        out.append(float(v))
    return tuple(out)


# ---------------------------------------------------------------------------
# tuples
# ---------------------------------------------------------------------------


def _as_sequence(value):
    if isinstance(value, np.ndarray):
        return list(value.ravel()) if value.ndim <= 1 else None
    if isinstance(value, (tuple, list)):
        return list(value)
    return None


def _per_axis(value, name, ndim, what, is_kind, ok):
    """One value (repeated) or ``ndim`` values of a kind, each passing ``ok``."""
    if is_kind(value):
        values = [value] * ndim
    else:
        values = _as_sequence(value)
        if values is None or not all(is_kind(v) for v in values):
            _fail(TypeError, name, what, value)
        if len(values) != ndim:
            _fail(ValueError, name, what, value)
    if not all(ok(v) for v in values):
        _fail(ValueError, name, what, value)
    return values


def check_int_tuple(value, name, ndim, *, min_val=1):
    """An int (repeated) or a sequence of ``ndim`` ints >= ``min_val`` -> tuple of ints.

    Examples
    --------
    >>> check_int_tuple(2, "stride", 3)
    (2, 2, 2)
    >>> check_int_tuple((1, 2), "dilation", 2)
    (1, 2)
    """
    what = f"an int or a tuple of {ndim} ints (one per spatial axis), each >= {min_val}"
    values = _per_axis(value, name, ndim, what, is_int, lambda v: v >= min_val)
    return tuple(int(v) for v in values)


def check_float_tuple(value, name, ndim, *, min_val=0.0, include_boundaries="neither"):
    """A number (repeated) or a sequence of ``ndim`` numbers in range -> tuple of floats."""
    rng = _range_text(min_val, None, include_boundaries)
    what = f"a number or a tuple of {ndim} numbers (one per spatial axis), each{rng}"
    values = _per_axis(
        value, name, ndim, what, is_real,
        lambda v: np.isfinite(v) and _in_range(v, min_val, None, include_boundaries),
    )
    return tuple(float(v) for v in values)


def check_kernel_size(value, name="kernel_size", *, ndims=(1, 2, 3)):
    """Kernel size of a filter family: an int is a square 2-D kernel; a tuple's length
    (in ``ndims``) sets signals (1), images (2) or volumes (3).

    Examples
    --------
    >>> check_kernel_size(5)
    (5, 5)
    >>> check_kernel_size((9,))
    (9,)
    >>> check_kernel_size((3.7, 3.2))
    Traceback (most recent call last):
    ...
    TypeError: kernel_size must be an int (a square 2-D kernel) or a tuple of 1, 2 or 3 ints, each >= 1, got (3.7, 3.2).
    """
    lengths = ", ".join(str(d) for d in ndims[:-1])
    lengths = f"{lengths} or {ndims[-1]}" if len(ndims) > 1 else str(ndims[0])
    square = "an int (a square 2-D kernel) or " if 2 in ndims else ""
    plural = "s" if len(ndims) > 1 or ndims[0] > 1 else ""
    what = f"{square}a tuple of {lengths} int{plural}, each >= 1"
    if is_int(value):
        if 2 not in ndims:
            _fail(TypeError, name, what, value)
        values = [value, value]
    else:
        values = _as_sequence(value)
        if values is None or not all(is_int(v) for v in values):
            _fail(TypeError, name, what, value)
        if len(values) not in ndims:
            _fail(ValueError, name, what, value)
    if any(v < 1 for v in values):
        _fail(ValueError, name, what, value)
    return tuple(int(v) for v in values)


def check_padding(padding, ndim):
    """A padding mode (``"valid"``, ``"same"``, ``"full"``) or explicit amounts.

    Returns the mode string, or one ``(before, after)`` pair of non-negative ints per
    spatial axis, from an int (every side), a tuple of ``ndim`` ints (symmetric per
    axis) or a tuple of ``ndim`` pairs.

    Examples
    --------
    >>> check_padding(1, 2)
    ((1, 1), (1, 1))
    >>> check_padding((1, (0, 2)), 2)
    ((1, 1), (0, 2))
    """
    what = (
        f"'valid', 'same', 'full', an int, a tuple of {ndim} ints or a tuple of {ndim} "
        "(before, after) pairs of ints, all >= 0"
    )
    if isinstance(padding, str):
        return check_option(padding, "padding", ("valid", "same", "full"))
    if is_int(padding):
        pairs = [(padding, padding)] * ndim
    else:
        entries = _as_sequence(padding)
        if entries is None:
            _fail(TypeError, "padding", what, padding)
        if len(entries) != ndim:
            _fail(ValueError, "padding", what, padding)
        pairs = []
        for p in entries:
            if is_int(p):
                pairs.append((p, p))
            else:
                pair = _as_sequence(p)
                if pair is None or len(pair) != 2 or not all(is_int(q) for q in pair):
                    _fail(TypeError, "padding", what, padding)
                pairs.append(tuple(pair))
    if any(q < 0 for pair in pairs for q in pair):
        _fail(ValueError, "padding", what, padding)
    return tuple((int(a), int(b)) for a, b in pairs)


# ---------------------------------------------------------------------------
# dtype, threads, batches, randomness
# ---------------------------------------------------------------------------


def check_dtype(dtype, name="dtype", *, choices=(np.float32, np.float64)):
    """The floating numpy dtype asked for: one of ``choices``, or any float with None."""
    expected = (
        "a floating-point numpy dtype"
        if choices is None
        else " or ".join(f"numpy.{np.dtype(c).name}" for c in choices)
    )
    try:
        dt = np.dtype(dtype)
    except TypeError:
        _fail(TypeError, name, expected, dtype)
    if dtype is None:  # np.dtype(None) is float64: an explicit choice is required
        _fail(TypeError, name, expected, dtype)
    allowed = dt.kind == "f" if choices is None else dt in [np.dtype(c) for c in choices]
    if not allowed:
        _fail(ValueError, name, expected, dtype)
    return dt


def check_n_jobs(n_jobs):
    """``None`` or a non-zero int (negative counts back from the number of cores)."""
    if n_jobs is None:
        return None
    what = "None or a non-zero int (-1: all cores)"
    if not is_int(n_jobs):
        _fail(TypeError, "n_jobs", what, n_jobs)
    if n_jobs == 0:
        _fail(ValueError, "n_jobs", what, n_jobs)
    return int(n_jobs)


def check_verbose(verbose):
    """A bool or a non-negative int: how much progress to report (0 or False: none)."""
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    return check_int(verbose, "verbose", min_val=0)


def effective_n_jobs(n_jobs):
    """Number of worker threads for ``n_jobs`` (None means 1, negative counts back from the cores)."""
    if n_jobs is None:
        return 1
    cpus = os.cpu_count() or 1
    if n_jobs < 0:
        return max(cpus + 1 + n_jobs, 1)
    return n_jobs


def check_batch_size(batch_size, *, allow_auto=True):
    """An int >= 1, or ``"auto"`` where the estimator sizes its batches itself."""
    if allow_auto and isinstance(batch_size, str):
        return check_option(batch_size, "batch_size", ("auto",))
    if allow_auto and not is_int(batch_size):
        _fail(TypeError, "batch_size", "an int >= 1 or 'auto'", batch_size)
    return check_int(batch_size, "batch_size", min_val=1)


def check_random_state(seed, name="random_state"):
    """A ``numpy.random.RandomState`` from None, an int in [0, 2**32) or a RandomState."""
    what = "None, an int in [0, 2**32 - 1] or a numpy.random.RandomState"
    if seed is None or isinstance(seed, np.random.RandomState):
        return _sklearn_check_random_state(seed)
    if not is_int(seed):
        _fail(TypeError, name, what, seed)
    if not 0 <= seed < 2**32:
        _fail(ValueError, name, what, seed)
    return _sklearn_check_random_state(int(seed))


def seed_if_unset(estimator, rng):
    """Give ``estimator`` a seed drawn from ``rng`` when its ``random_state`` is None.

    So that one seed makes a composite (a stack, a layer of groups) reproducible,
    while sub-estimators with a seed of their own keep it.
    """
    seed = rng.randint(np.iinfo(np.int32).max)
    params = estimator.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        estimator.set_params(random_state=int(seed))


def check_transformer(estimator, name):
    """An instance (not a class) with ``fit`` and ``transform``."""
    if isinstance(estimator, type):
        raise TypeError(
            f"{name} must be a transformer instance, got the class {estimator.__name__}; "
            f"pass an instance, e.g. {estimator.__name__}()."
        )
    if not (hasattr(estimator, "fit") and hasattr(estimator, "transform")):
        _fail(TypeError, name, "a transformer with fit and transform", estimator)
    return estimator


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------


def check_real_array(value, name, *, ndims=None, what="an array of finite real numbers"):
    """A parameter given as an array (a filter bank, biases): finite real numbers."""
    A = _as_array(value, name)
    if A.dtype == object or A.dtype.kind not in "biuf":
        _fail(TypeError, name, what, value if A.ndim == 0 else A)
    if (ndims is not None and A.ndim not in ndims) or A.size == 0:
        _fail(ValueError, name, what, A)
    if A.dtype.kind == "f" and not np.isfinite(A).all():
        _fail(ValueError, name, what + " (no NaN or infinity)", A)
    return A


def check_matrix(P, name="P", *, min_rows=1):
    """A finite real 2-D array ``(n_rows, n_columns)``, returned as an ndarray."""
    P = _as_array(P, name)
    if P.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_rows, n_columns), got an array of "
            f"shape {P.shape}."
        )
    _check_numeric(P, name)
    if P.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s), got shape {P.shape}.")
    return P


@dataclass(frozen=True)
class InputLayout:
    """How an input was given, so that results can be given back in the same layout.

    Attributes
    ----------
    spatial_ndim : int
        Number of spatial dimensions.
    n_channels : int
        Channels (1 when the input had no channel axis).
    spatial : tuple of int or None
        Spatial shape of the samples; None when it varies between them.
    flat : bool
        The input was flat ``(n_samples, n_features)``, reshaped by ``input_shape``.
    channel_axis : bool
        The input had a channel axis (False for ``(n, *spatial)`` arrays, flat
        signals and lists of ``(*spatial)`` samples).
    is_list : bool
        The input was a list of samples.
    """

    spatial_ndim: int
    n_channels: int
    spatial: tuple = None
    flat: bool = False
    channel_axis: bool = True
    is_list: bool = False


def _layouts(d):
    if d is None:
        return (
            "(n_samples, *spatial, n_channels) maps, FeatureMaps, a flat (n_samples, "
            "n_features) array (signals, or any shape with input_shape), or a list of "
            "(*spatial, n_channels) arrays"
        )
    spatial = {1: "L", 2: "H, W", 3: "D, H, W"}[d]
    return (
        f"(n_samples, {spatial}), (n_samples, {spatial}, n_channels), a flat "
        f"(n_samples, n_features) array together with input_shape, or a list of arrays "
        f"shaped ({spatial}) or ({spatial}, n_channels)"
    )


def _check_numeric(a, name):
    """Real numbers only; NaN and infinity are refused (checked in bounded memory)."""
    if np.issubdtype(a.dtype, np.complexfloating):
        # scikit-learn's words, which its estimator checks look for
        raise ValueError(
            f"{name} must contain real numbers, got an array of dtype {a.dtype} (Complex data "
            "not supported)."
        )
    if a.dtype == object or not (
        np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must contain real numbers, got an array of dtype {a.dtype}.")
    if np.issubdtype(a.dtype, np.floating) and a.size:
        # isfinite on slices of about 4 M values: a memory-mapped input is read, not copied
        flat = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(1, -1)
        step = max(1, 2**22 // max(flat.shape[1], 1))
        for i in range(0, flat.shape[0], step):
            if not np.isfinite(flat[i:i + step]).all():
                raise ValueError(
                    f"{name} must contain finite numbers, got NaN or infinity."
                )


def _as_array(X, name):
    """Any non-list array-like as an ndarray, with a clear error for ragged nesting.

    An object array of numbers becomes float64 (as scikit-learn treats it); one that
    holds anything else is a TypeError.
    """
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError):
            raise ValueError(
                f"{name} must be an array-like of numbers with one shape, got a ragged nested "
                "sequence; give a list of arrays for samples of different sizes."
            ) from None
    if X.dtype == object:
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must contain real numbers, got an object array holding something "
                f"else ({exc})."
            ) from None
    return X


def _is_sample_list(X):
    return isinstance(X, (list, tuple)) and len(X) > 0 and all(
        hasattr(x, "shape") and hasattr(x, "dtype") for x in X
    )


def _cast(a, dtype):
    """``a`` in ``dtype``: a numpy dtype, ``"float"`` or None (keep the dtype).

    ``"float"`` keeps float32 and float64, computes half precision in float32 (few
    libraries take float16, and its sums lose precision) and other dtypes in float64.
    """
    if dtype is None:
        return a
    if isinstance(dtype, str):  # "float"
        if a.dtype.kind == "f":
            dtype = None if a.dtype.itemsize >= 4 else np.float32
        else:
            dtype = np.float64
    return np.asarray(a, dtype=dtype)


def _check_frame(X, name):
    """A DataFrame of numbers: a non-numeric column is named, not met by a conversion error."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None:
        return
    # numpy and pandas' own (nullable, string, categorical) dtypes alike
    bad = [str(col) for col, dt in zip(X.columns, dtypes) if getattr(dt, "kind", "O") not in "biuf"]
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5]) + (", ..." if len(bad) > 5 else "")
        raise TypeError(
            f"{name} must contain real numbers, got non-numeric column(s) {shown}."
        )


def check_features(estimator, X, *, reset, ensure_min_samples=1, name="X"):
    """A flat ``(n_samples, n_features)`` input (array or DataFrame), for 2-D estimators.

    Our checks and messages first (dimensions, numbers, finiteness, samples), then
    scikit-learn's ``validate_data`` for feature names and ``n_features_in_``.
    """
    is_frame = hasattr(X, "iloc") or hasattr(X, "to_numpy")
    if is_frame:
        _check_frame(X, name)
    elif not issparse(X):
        A = _as_array(X, name)
        if A.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D array of shape (n_samples, n_features), got an array "
                f"of shape {A.shape}. Reshape your data."
            )
        _check_numeric(A, name)
        if A.shape[1] == 0:
            raise ValueError(
                f"{name} must have at least one feature, got 0 feature(s) (shape={A.shape}) "
                "while a minimum of 1 is required."
            )
        if A.shape[0] < ensure_min_samples:
            raise ValueError(
                f"{name} must hold at least {ensure_min_samples} samples, got {A.shape[0]} "
                f"sample{'s' if A.shape[0] != 1 else ''} (shape {A.shape})."
            )
        X = A
    return validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32],
                         ensure_min_samples=ensure_min_samples)


def _check_input_shape(input_shape, d):
    """Spatial sizes of flat samples, optionally followed by the channel count."""
    lengths = f"{d} or {d + 1}" if d is not None else "2 to 4"
    what = (
        f"a tuple of {lengths} ints >= 1 (the spatial sizes, then optionally the channels)"
        if d is not None
        else "a tuple of 2 to 4 ints >= 1 (the spatial sizes, then the channels)"
    )
    values = _as_sequence(input_shape)
    if values is None or not all(is_int(v) for v in values):
        _fail(TypeError, "input_shape", what, input_shape)
    ok = len(values) in ((d, d + 1) if d is not None else (2, 3, 4))
    if not ok or any(v < 1 for v in values):
        _fail(ValueError, "input_shape", what, input_shape)
    return tuple(int(v) for v in values)


def check_channel_axis(channel_axis):
    """The ``channel_axis`` parameter: an int (which axes exist depends on the data)."""
    if not is_int(channel_axis):
        _fail(TypeError, "channel_axis", "an int (-1: channels last)", channel_axis)
    return int(channel_axis)


def _channels_last(a, channel_axis, ndim, name, sample=False):
    """``a`` with its channel axis ``channel_axis`` moved last (a view).

    ``ndim`` is the number of axes of the samples-first array; for one sample of a
    list (``sample=True``) the axes are counted as in that array, samples first.
    """
    axis = channel_axis + ndim if channel_axis < 0 else channel_axis
    if not 1 <= axis <= ndim - 1:
        what = f"an int naming an axis of {name} other than the samples' (0): 1 to {ndim - 1} or -1 to -{ndim - 1}"
        if sample:
            what += " (the axes of a list's samples count from 1)"
        _fail(ValueError, "channel_axis", what, channel_axis)
    if axis == ndim - 1:
        return a
    return np.moveaxis(a, axis - 1 if sample else axis, -1)


def _sample_list(X, d, dtype, name, channel_axis=-1):
    """A list of samples: stacked when they share a shape, else a list of (*spatial, c)."""
    arrays = [_as_array(x, f"{name}[{i}]") for i, x in enumerate(X)]
    if d is None:
        d = arrays[0].ndim - 1
        if d < 1:
            raise ValueError(
                f"each sample of a list {name} must be shaped (*spatial, n_channels), got "
                f"{name}[0] with shape {arrays[0].shape}."
            )
    if d not in (1, 2, 3):
        raise ValueError(
            f"each sample of a list {name} must have 1, 2 or 3 spatial axes and a channel "
            f"axis, got {name}[0] with shape {arrays[0].shape}."
        )
    samples = []
    has_axis = None
    for i, x in enumerate(arrays):
        _check_numeric(x, f"{name}[{i}]")
        if x.ndim not in (d, d + 1):
            spatial = {1: "L", 2: "H, W", 3: "D, H, W"}[d]
            raise ValueError(
                f"{name}[{i}] must be shaped ({spatial}) or ({spatial}, n_channels) like "
                f"the other samples of the list, got shape {x.shape}."
            )
        has_channels = x.ndim == d + 1
        if has_axis is not None and has_channels != has_axis:
            raise ValueError(
                f"the samples of {name} must all have a channel axis or none, got "
                f"{name}[{i}] with shape {x.shape}."
            )
        has_axis = has_channels
        if has_channels:
            x = _channels_last(x, channel_axis, d + 2, name, sample=True)
        else:
            x = x[..., np.newaxis]
        if x.size == 0:
            raise ValueError(f"{name}[{i}] must not be empty, got shape {x.shape}.")
        samples.append(_cast(x, dtype))
    channels = {x.shape[-1] for x in samples}
    if len(channels) > 1:
        raise ValueError(
            f"the samples of {name} must have the same number of channels (only the "
            f"spatial sizes may differ), got channel counts {sorted(channels)}."
        )
    if len({x.shape for x in samples}) == 1:
        stacked = np.stack(samples)
        layout = InputLayout(d, stacked.shape[-1], stacked.shape[1:-1], channel_axis=has_axis,
                             is_list=True)
        return stacked, layout
    layout = InputLayout(d, samples[0].shape[-1], None, channel_axis=has_axis, is_list=True)
    return samples, layout


def _to_internal(estimator, X, *, ndim, input_shape, dtype, reset, allow_flat, name,
                 channel_axis=-1):
    from ._maps import FeatureMaps  # the lazy maps build on this module

    if isinstance(X, FeatureMaps):
        d = X.spatial_ndim
        if ndim is not None and d != ndim:
            raise ValueError(
                f"{name} must hold {ndim}-D maps for this transformer, got FeatureMaps with "
                f"{d} spatial axes."
            )
        spatial = None if X.variable_size else tuple(X.shape[1:-1])
        return X, InputLayout(d, X.shape[-1], spatial)
    if _is_sample_list(X):
        return _sample_list(X, ndim, dtype, name, channel_axis)
    if is_dask_array(X):
        return _dask_to_internal(X, ndim=ndim, input_shape=input_shape, dtype=dtype, name=name,
                                 channel_axis=channel_axis)
    is_frame = hasattr(X, "iloc") or hasattr(X, "to_numpy")
    if not (is_frame or issparse(X)):
        X = _as_array(X, name)
    if is_frame or issparse(X) or X.ndim == 2:
        if not allow_flat:
            raise ValueError(
                f"{name} must be feature maps with a channel axis, shaped (n_samples, "
                f"*spatial, n_channels), FeatureMaps or a list of (*spatial, n_channels) "
                f"arrays, got shape {X.shape}. A matrix of responses (n_positions, "
                "n_channels) can be passed as X[:, np.newaxis, :]."
            )
        if is_frame:
            _check_frame(X, name)
        elif not issparse(X):
            _check_numeric(X, name)
        if estimator is not None:
            # flat data goes through scikit-learn's own validation, so that feature
            # names and n_features_in_ behave as usual
            X = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32])
        elif is_frame:
            X = np.asarray(X.to_numpy())
    _check_numeric(X, name)
    if X.ndim < 2:
        raise ValueError(
            f"{name} must have the samples first, {_layouts(ndim)}; got an array of shape "
            f"{X.shape}. Reshape your data."
        )
    if X.shape[0] == 0:
        raise ValueError(
            f"{name} must hold at least one sample, got an array of shape {X.shape}."
        )
    flat = False
    has_axis = True
    if input_shape is not None:
        shape = _check_input_shape(input_shape, ndim)
        d = ndim if ndim is not None else len(shape) - 1
        if X.ndim != 2:
            raise ValueError(
                f"{name} must be flat (n_samples, n_features) when input_shape is given, "
                f"got an array of shape {X.shape}; drop input_shape for N-D input."
            )
        if X.shape[1] != int(np.prod(shape)):
            raise ValueError(
                f"{name} must have {int(np.prod(shape))} features per sample to be reshaped "
                f"to input_shape={input_shape!r}, got {X.shape[1]}."
            )
        X = X.reshape((X.shape[0],) + shape)
        if len(shape) == d:
            X = X[..., np.newaxis]
            has_axis = False
        else:
            X = _channels_last(X, channel_axis, d + 2, name)
        flat = True
    else:
        if ndim is None:
            d = 1 if X.ndim == 2 else X.ndim - 2
        else:
            d = ndim
        if X.ndim == d + 1:
            X = X[..., np.newaxis]
            has_axis = False
        elif X.ndim == d + 2 and d in (1, 2, 3):
            X = _channels_last(X, channel_axis, d + 2, name)
        else:
            hint = (
                " A flat 2-D array needs input_shape to say the shape of a sample; for "
                "(n_samples, length) signals, give the transformer a 1-D kernel, such as "
                "kernel_size=(9,)."
                if X.ndim == 2
                else ""
            )
            raise ValueError(
                f"{name} must be shaped {_layouts(ndim)}, got an array of shape "
                f"{X.shape}.{hint}"
            )
    if min(X.shape) == 0:
        raise ValueError(f"{name} must not have an empty axis, got shape {X.shape}.")
    X = _cast(X, dtype)
    return X, InputLayout(d, X.shape[-1], tuple(X.shape[1:-1]), flat=flat,
                          channel_axis=has_axis)


def check_samples(X, name="X"):
    """Samples first, in the layout they come in: FeatureMaps and lists of arrays as
    they are, anything else as an ndarray (not copied) of numbers with a sample axis.

    For composites that hand their input to other transformers, which read its layout
    themselves.
    """
    from ._maps import FeatureMaps

    if isinstance(X, FeatureMaps) or _is_sample_list(X) or is_dask_array(X):
        return X
    if issparse(X):
        raise TypeError(
            f"{name} must be dense, got a sparse matrix; sparse input is not supported "
            "(convert it with X.toarray())."
        )
    if hasattr(X, "iloc") or hasattr(X, "to_numpy"):
        _check_frame(X, name)
        X = np.asarray(X.to_numpy())
    X = _as_array(X, name)
    _check_numeric(X, name)
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(
            f"{name} must have the samples first and at least one sample, got an array of "
            f"shape {X.shape}. Reshape your data."
        )
    return X


def implied_ndim(*values, input_shape=None):
    """Spatial dimensions implied by parameters: the length of the first tuple among
    ``values`` (per-axis sizes), else of ``input_shape`` minus its channel entry;
    None when nothing says (the data will)."""
    for value in values:
        if isinstance(value, (tuple, list)):
            return len(value)
    if isinstance(input_shape, (tuple, list)) and len(input_shape) >= 2:
        return len(input_shape) - 1
    return None


def _dask_to_internal(X, *, ndim, input_shape, dtype, name, channel_axis=-1):
    """The checks and layout of :func:`_to_internal` for a dask array, computing nothing.

    NaN and infinity cannot be seen without computing the data: the blocks are
    checked where they are computed, by the transformer's in-memory code.
    """
    if X.dtype == object or X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must contain real numbers, got a dask array of dtype {X.dtype}.")
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(
            f"{name} must have the samples first, {_layouts(ndim)}; got a dask array of shape "
            f"{X.shape}."
        )
    flat, has_axis = False, True
    if input_shape is not None:
        shape = _check_input_shape(input_shape, ndim)
        d = ndim if ndim is not None else len(shape) - 1
        if X.ndim != 2 or X.shape[1] != int(np.prod(shape)):
            raise ValueError(
                f"{name} must be flat (n_samples, {int(np.prod(shape))}) for input_shape="
                f"{input_shape!r}, got a dask array of shape {X.shape}."
            )
        X, flat = X.reshape((X.shape[0],) + shape), True
        if len(shape) == d:
            X, has_axis = X[..., np.newaxis], False
        else:
            X = _channels_last(X, channel_axis, d + 2, name)
    else:
        d = (1 if X.ndim == 2 else X.ndim - 2) if ndim is None else ndim
        if X.ndim == d + 1:
            X, has_axis = X[..., np.newaxis], False
        elif X.ndim == d + 2 and d in (1, 2, 3):
            X = _channels_last(X, channel_axis, d + 2, name)
        else:
            raise ValueError(
                f"{name} must be shaped {_layouts(ndim)}, got a dask array of shape {X.shape}."
            )
    if min(X.shape) == 0:
        raise ValueError(f"{name} must not have an empty axis, got shape {X.shape}.")
    if isinstance(dtype, str):  # "float"
        dtype = None if X.dtype.kind == "f" and X.dtype.itemsize >= 4 else (
            np.float32 if X.dtype.kind == "f" else np.float64)
    if dtype is not None and X.dtype != dtype:
        X = X.astype(dtype)
    return X, InputLayout(d, X.shape[-1], tuple(X.shape[1:-1]), flat=flat,
                          channel_axis=has_axis)


def check_input(
    estimator,
    X,
    *,
    reset,
    ndim=None,
    input_shape=None,
    dtype="float",
    check_spatial=False,
    allow_flat=True,
    name="X",
    channel_axis=-1,
):
    """Validate ``X``, bring it to ``(n, *spatial, c)``, and record or check what fit saw.

    Parameters
    ----------
    estimator : estimator or None
        With ``reset=True`` its ``input_shape_`` (spatial shape, None per axis where
        sizes vary, then channels), ``spatial_ndim_``, ``n_channels_in_``,
        ``n_features_in_`` (fixed-size input) and ``_input_layout`` are set; with
        ``reset=False`` the input must agree with them. Flat 2-D input goes through
        scikit-learn's ``validate_data`` (feature names, ``n_features_in_``). None
        (plain functions): nothing is recorded.
    X : array-like, DataFrame, list of array-like or FeatureMaps
        ``(n, *spatial)`` (one channel implied), ``(n, *spatial, c)``, flat
        ``(n, n_features)`` with ``input_shape`` (or single-channel signals without
        it, when the spatial dimensions are 1 or not fixed), a list of samples whose
        spatial sizes may differ, or lazy maps.
    reset : bool
        True at fit.
    ndim : int or None
        Spatial dimensions, when the estimator fixes them (its kernel); None reads
        them from ``X`` (channels last; flat input is signals).
    input_shape : tuple of int or None
        Shape of one flat sample, ``(*spatial)`` or ``(*spatial, c)`` (with
        ``ndim=None``, the channels must be given).
    dtype : numpy dtype, "float" or None
        Cast arrays to this dtype; ``"float"`` keeps floating dtypes and turns
        others into float64; None keeps the dtype. FeatureMaps are never cast.
    check_spatial : bool
        After fit, also require the spatial shape seen at fit (fixed sizes only).
    allow_flat : bool
        Accept flat 2-D input.
    name : str
        Name of the input in messages.
    channel_axis : int
        Axis of the channels in ``X`` (samples first, so ``1`` reads
        ``(n, c, *spatial)``, the layout of aeon and sktime; counted in the
        ``(n, *input_shape)`` array for flat input, and as in the stacked array
        for the samples of a list). The channels are moved last (a view, nothing
        is copied); input without a channel axis ignores it, and so do
        FeatureMaps, which are channels-last already.

    Returns
    -------
    X : ndarray of shape (n, *spatial, c), list of ndarrays of shape (*spatial, c), or FeatureMaps
        A list only for samples whose spatial sizes differ.
    layout : InputLayout
    """
    if estimator is not None and reset:
        for attr in ("n_features_in_", "feature_names_in_"):
            if attr in vars(estimator):
                delattr(estimator, attr)
    Xv, layout = _to_internal(
        estimator, X, ndim=ndim, input_shape=input_shape, dtype=dtype, reset=reset,
        allow_flat=allow_flat, name=name, channel_axis=check_channel_axis(channel_axis),
    )
    if estimator is None:
        return Xv, layout
    who = type(estimator).__name__
    d, c, spatial = layout.spatial_ndim, layout.n_channels, layout.spatial
    if reset:
        estimator.input_shape_ = ((None,) * d if spatial is None else spatial) + (int(c),)
        estimator.spatial_ndim_ = int(d)
        estimator.n_channels_in_ = int(c)
        estimator._input_layout = layout
        if spatial is not None and not hasattr(estimator, "n_features_in_"):
            estimator.n_features_in_ = int(np.prod(estimator.input_shape_))
        return Xv, layout
    if d != estimator.spatial_ndim_:
        raise ValueError(
            f"{name} must hold {estimator.spatial_ndim_}-D maps as at fit, got {d}-D maps "
            f"({who} was fitted on {estimator.spatial_ndim_}-D maps)."
        )
    if c != estimator.n_channels_in_:
        raise ValueError(
            f"{name} must have {estimator.n_channels_in_} channels as at fit, got {c} "
            f"({who} was fitted on {estimator.n_channels_in_} channels)."
        )
    fitted = estimator.input_shape_[:-1]
    if check_spatial and spatial is not None and None not in fitted and spatial != fitted:
        raise ValueError(
            f"{name} must have samples of spatial shape {fitted} as at fit, got {spatial} "
            f"({who} was fitted on {fitted}). Pass a list of arrays for inputs whose sizes "
            "vary."
        )
    return Xv, layout


def restore_layout(out, layout):
    """Give ``out`` (channels last) back in the layout the input came in.

    Flat input gives flat rows, input without a channel axis loses the (single)
    channel axis again, a list stays a list.
    """
    if isinstance(out, list):
        if layout.channel_axis:
            return out
        return [o[..., 0] if o.shape[-1] == 1 else o for o in out]
    if layout.flat:
        return out.reshape(out.shape[0], -1)
    if not layout.channel_axis and out.shape[-1] == 1:
        return out[..., 0]
    return out
