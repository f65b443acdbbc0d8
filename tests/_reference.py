"""Plain reference computations shared by the tests (not part of the package)."""

import numpy as np

from skconv._engine import extract_patches


def all_patches(X, kernel, **geometry):
    """Every patch of every sample, flattened, in sample then position order."""
    view = extract_patches(X, kernel, **geometry)
    return view.reshape(-1, int(np.prod(view.shape[1 + len(kernel) :])))


def rows_in(rows, reference):
    """Index in ``reference`` of each row of ``rows`` (asserting it is there)."""
    ref = {r.tobytes(): i for i, r in enumerate(np.ascontiguousarray(reference))}
    idx = [ref.get(np.ascontiguousarray(r).tobytes()) for r in rows]
    assert None not in idx, "a row is not among the reference rows"
    return np.array(idx)
