"""Parameter and input validation shared by every skconv estimator.

scikit-learn's ``_parameter_constraints`` machinery is private and changes between
releases, so parameters are checked here with the public ``check_scalar`` and
small helpers of our own.
"""

import numbers

import numpy as np
from sklearn.utils import check_scalar

__all__ = [
    "check_int",
    "check_float",
    "check_option",
    "check_int_tuple",
    "check_dtype",
    "check_n_jobs",
    "effective_n_jobs",
    "as_image_batch",
]


def check_int(value, name, *, min_val=None, max_val=None, allow_none=False):
    """Return ``value`` as a Python int, or raise naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int, got {value!r}.")
    check_scalar(value, name, numbers.Integral, min_val=min_val, max_val=max_val)
    return int(value)


def check_float(value, name, *, min_val=None, max_val=None, include_boundaries="both"):
    """Return ``value`` as a Python float, or raise naming ``name``."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    check_scalar(
        value,
        name,
        numbers.Real,
        min_val=min_val,
        max_val=max_val,
        include_boundaries=include_boundaries,
    )
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return float(value)


def check_option(value, name, options):
    """Check that ``value`` is one of ``options`` (compared with ``==``)."""
    for option in options:
        if (value is None and option is None) or (
            value is not None and option is not None and value == option
        ):
            return value
    shown = ", ".join(repr(o) for o in options)
    raise ValueError(f"{name} must be one of {shown}; got {value!r}.")


def check_int_tuple(value, name, ndim, *, min_val=1):
    """Turn an int or a sequence of ``ndim`` ints into a tuple of ints >= ``min_val``."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    ):
        values = (int(value),) * ndim
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise TypeError(
                f"{name} must be an int or a tuple of {ndim} ints, got {value!r}."
            ) from None
        if len(values) != ndim:
            raise ValueError(
                f"{name} must be an int or a tuple of {ndim} ints (one per spatial "
                f"dimension), got {value!r}."
            )
        for v in values:
            if not isinstance(v, (numbers.Integral, np.integer)) or isinstance(
                v, (bool, np.bool_)
            ):
                raise TypeError(
                    f"{name} must be an int or a tuple of {ndim} ints, got {value!r}."
                )
        values = tuple(int(v) for v in values)
    for v in values:
        if v < min_val:
            raise ValueError(f"{name} must be >= {min_val} in every dimension, got {value!r}.")
    return values


def check_dtype(dtype, name="dtype"):
    """Return the floating numpy dtype asked for (float32 or float64)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be numpy.float32 or numpy.float64, got {dtype!r}.") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{name} must be numpy.float32 or numpy.float64, got {dtype!r}.")
    return dt


def check_n_jobs(n_jobs):
    if n_jobs is None:
        return None
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0:
        raise ValueError("n_jobs must be a non-zero int or None, got 0.")
    return n_jobs


def effective_n_jobs(n_jobs):
    """Number of worker threads for ``n_jobs`` (None means 1, negative counts back from the cores)."""
    import os

    if n_jobs is None:
        return 1
    cpus = os.cpu_count() or 1
    if n_jobs < 0:
        return max(cpus + 1 + n_jobs, 1)
    return n_jobs


def _check_numeric_finite(a, name):
    if a.dtype == object or not (
        np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.bool_)
    ):
        raise TypeError(
            f"{name} must contain real numbers; got an array of dtype {a.dtype}."
        )
    if np.issubdtype(a.dtype, np.complexfloating):
        raise TypeError(f"{name} must contain real numbers; got complex dtype {a.dtype}.")
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity; skconv needs finite values.")


def _layouts(d):
    spatial = {1: "L", 2: "H, W", 3: "D, H, W"}[d]
    return (
        f"(n_samples, {spatial}), (n_samples, {spatial}, n_channels), a flat "
        f"(n_samples, n_features) array together with input_shape, or a list of arrays "
        f"shaped ({spatial}) or ({spatial}, n_channels)"
    )


def as_image_batch(X, *, ndim, input_shape=None, dtype=np.float32, name="X"):
    """Bring ``X`` to the samples-first, channels-last layout ``(n, *spatial, c)``.

    Parameters
    ----------
    X : array-like or list of array-like
        See the accepted layouts in DESIGN (and in the error message below).
    ndim : int
        Number of spatial dimensions, given by the transformer (1, 2 or 3).
    input_shape : tuple or None
        Spatial shape (optionally followed by the channel count) of the samples of
        a flat 2-D ``X``.
    dtype : numpy dtype
        Floating dtype of the result.

    Returns
    -------
    X : ndarray of shape (n, *spatial, c) or list of ndarrays of shape (*spatial, c)
        A list is returned for a list of samples whose spatial sizes differ.
    """
    d = ndim
    if isinstance(X, (list, tuple)) and len(X) > 0 and all(
        hasattr(x, "shape") and hasattr(x, "dtype") for x in X
    ):
        return _as_sample_list(X, d=d, dtype=dtype, name=name)
    if hasattr(X, "iloc") or hasattr(X, "to_numpy"):
        X = X.to_numpy()
    X = np.asarray(X)
    _check_numeric_finite(X, name)
    if X.ndim == 1:
        raise ValueError(
            f"{name} is 1-D (shape {X.shape}); Reshape your data: samples go first. "
            f"Accepted layouts: {_layouts(d)}."
        )
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(
            f"{name} is empty (shape {X.shape}); at least one sample is needed. "
            f"Accepted layouts: {_layouts(d)}."
        )
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if len(shape) not in (d, d + 1) or any(s < 1 for s in shape):
            raise ValueError(
                f"input_shape must give the {d} spatial sizes, optionally followed by the "
                f"number of channels, got {input_shape!r}."
            )
        if X.ndim != 2:
            raise ValueError(
                f"input_shape={input_shape!r} is for a flat 2-D {name} of shape "
                f"(n_samples, n_features); got {name} with shape {X.shape}. Accepted "
                f"layouts: {_layouts(d)}."
            )
        if X.shape[1] != int(np.prod(shape)):
            raise ValueError(
                f"{name} has {X.shape[1]} features per sample, but input_shape="
                f"{input_shape!r} needs {int(np.prod(shape))}."
            )
        if len(shape) == d:
            shape = shape + (1,)
        X = X.reshape((X.shape[0],) + shape)
    elif X.ndim == d + 1:
        X = X[..., np.newaxis]
    elif X.ndim != d + 2:
        hint = ""
        if X.ndim == 2:
            hint = " A flat 2-D array needs input_shape to say the image shape."
        raise ValueError(
            f"{name} has shape {X.shape}, which does not fit a {d}-D transformer.{hint} "
            f"Accepted layouts: {_layouts(d)}."
        )
    if min(X.shape) == 0:
        raise ValueError(f"{name} has an empty dimension: shape {X.shape}.")
    return np.asarray(X, dtype=dtype)


def _as_sample_list(X, *, d, dtype, name):
    samples = []
    for i, x in enumerate(X):
        x = np.asarray(x)
        _check_numeric_finite(x, f"{name}[{i}]")
        if x.ndim == d:
            x = x[..., np.newaxis]
        elif x.ndim != d + 1:
            raise ValueError(
                f"{name}[{i}] has shape {x.shape}; each sample of a list must be shaped "
                f"like ({'L' if d == 1 else 'H, W' if d == 2 else 'D, H, W'}) or with a "
                f"trailing channel axis. Accepted layouts: {_layouts(d)}."
            )
        if x.size == 0:
            raise ValueError(f"{name}[{i}] is empty (shape {x.shape}).")
        samples.append(np.asarray(x, dtype=dtype))
    channels = {x.shape[-1] for x in samples}
    if len(channels) > 1:
        raise ValueError(
            f"the samples of {name} have different channel counts {sorted(channels)}; "
            "only the spatial sizes may differ."
        )
    if len({x.shape for x in samples}) == 1:
        return np.stack(samples)
    return samples
