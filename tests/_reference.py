"""Plain reference computations and test data shared by the tests (not part of the package)."""

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


def latent_family_maps(seed=0, n=60, families=3, per_family=4, noise=0.05):
    """Channels built as noisy, rescaled copies of a few independent latent maps."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 10, 10, families))
    family = rng.permutation(np.repeat(np.arange(families), per_family))
    scale = rng.uniform(0.5, 3.0, family.size)
    maps = latent[..., family] * scale + noise * rng.standard_normal((n, 10, 10, family.size))
    return maps.astype(np.float32), family
