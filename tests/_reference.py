"""Plain reference computations and test data shared by the tests (not part of the package)."""

import itertools

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


def naive_local(x, w, stride, pads, dilation):
    """Locally connected layer by a loop over output positions: w is (*out, f, *kernel, c)."""
    d = x.ndim - 2
    out_sp = w.shape[:d]
    kernel = w.shape[d + 1:2 * d + 1]
    xp = np.pad(x, ((0, 0),) + tuple(pads) + ((0, 0),))
    y = np.zeros((x.shape[0],) + out_sp + (w.shape[d],))
    for pos in itertools.product(*[range(o) for o in out_sp]):
        idx = tuple(
            slice(pos[i] * stride[i], pos[i] * stride[i] + (kernel[i] - 1) * dilation[i] + 1,
                  dilation[i])
            for i in range(d)
        )
        patch = xp[(slice(None),) + idx]  # (n, *kernel, c)
        y[(slice(None),) + pos] = np.tensordot(patch, w[pos], axes=(
            list(range(1, d + 2)), list(range(1, d + 2))))
    return y


def naive_conv(x, w, stride, pads, dilation, groups=1):
    """Convolution by a loop over output positions (the same weights everywhere)."""
    c, f = x.shape[-1], w.shape[0]
    cg, fg = c // groups, f // groups
    out = []
    for g in range(groups):
        xg = x[..., g * cg:(g + 1) * cg]
        wg = w[g * fg:(g + 1) * fg]
        xp_shape = [s + a + b for s, (a, b) in zip(x.shape[1:-1], pads)]
        out_sp = tuple(
            (n - dl * (k - 1) - 1) // s + 1
            for n, k, s, dl in zip(xp_shape, w.shape[1:-1], stride, dilation)
        )
        out.append(naive_local(xg, np.broadcast_to(wg, out_sp + wg.shape), stride, pads, dilation))
    return np.concatenate(out, axis=-1)
