"""The detector stage: element-wise encodings applied to convolution outputs.

Every function works in place on the float array it is given (the convolution's
fresh output), so the encoding costs one pass over memory and no allocation,
except ``"split"`` which doubles the channels.
"""

import numpy as np

__all__ = ["ENCODINGS", "encode", "n_encoded_channels"]


def _relu(z, alpha):
    return np.maximum(z, 0, out=z)


def _abs(z, alpha):
    return np.abs(z, out=z)


def _tanh(z, alpha):
    return np.tanh(z, out=z)


def _sigmoid(z, alpha):
    # 1 / (1 + exp(-z)), written to stay in place and in the array's dtype
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    return np.reciprocal(z, out=z)


def _soft_threshold(z, alpha):
    # Coates & Ng (2011): f = max(0, z - alpha)
    if alpha:
        z -= z.dtype.type(alpha)
    return np.maximum(z, 0, out=z)


def _split(z, alpha):
    # Polarity split (Coates & Ng 2011): [max(0, z - alpha), max(0, -z - alpha)]
    out = np.empty(z.shape[:-1] + (2 * z.shape[-1],), dtype=z.dtype)
    k = z.shape[-1]
    a = z.dtype.type(alpha)
    pos, neg = out[..., :k], out[..., k:]
    np.subtract(z, a, out=pos)
    np.maximum(pos, 0, out=pos)
    np.negative(z, out=neg)
    neg -= a
    np.maximum(neg, 0, out=neg)
    return out


_FUNCS = {
    None: lambda z, alpha: z,
    "identity": lambda z, alpha: z,
    "relu": _relu,
    "abs": _abs,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "soft_threshold": _soft_threshold,
    "split": _split,
}

#: Encodings every Conv transformer accepts (some families add their own).
ENCODINGS = tuple(_FUNCS)


def encode(z, encoding, alpha=0.0):
    """Apply ``encoding`` to ``z`` (in place where the shape allows) and return the result."""
    return _FUNCS[encoding](z, alpha)


def n_encoded_channels(encoding, n_filters):
    """Number of output channels of ``n_filters`` filters after ``encoding``."""
    return 2 * n_filters if encoding == "split" else n_filters
