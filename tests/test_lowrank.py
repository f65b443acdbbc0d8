"""Separable (low-rank) approximation of filter banks: exactness, optimality, shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skconv.filters import (
    concatenate_banks,
    edge_bank,
    gabor_bank,
    gaussian_derivative_bank,
    leung_malik_bank,
    log_bank,
    random_bank,
    separable_factors,
)


def reconstruct(factors, weights):
    """The full kernels (f, *kernel, c) of the terms, by explicit outer products."""
    f, rank = weights.shape[:2]
    out = 0
    for s in range(rank):
        term = weights[:, s]  # (f, c)
        for a in reversed(factors):
            term = a[:, s].reshape((f, -1) + (1,) * (term.ndim - 1)) * term[:, None]
        out = out + term
    return out


@pytest.mark.parametrize(
    "bank, rank",
    [
        (edge_bank(["sobel", "prewitt", "scharr"]), 1),
        (gaussian_derivative_bank([1.0, 2.0], 1, (1, 2)), 1),  # axis-aligned: rank 1
        (gaussian_derivative_bank([1.0, 2.5], 6, (1,)), 2),  # oriented first derivatives
        (log_bank([1.0, 2.0, 3.0]), 2),  # g''(x) g(y) + g(x) g''(y)
        (gabor_bank((0.1, 0.25), 6), 2),  # circular envelope: rank 2
        (log_bank([1.0, 2.0], ndim=3), 3),  # the 3-D LoG is a sum of three
        (log_bank([1.5], n_channels=3), 2),  # colour: CP by alternating least squares
        (edge_bank(["sobel", "laplace"], n_channels=3), 2),
        (random_bank(4, (5,), 3, random_state=0), 3),  # 1-D kernel over 3 channels: SVD
    ],
)
def test_exact_for_separable_kernels(bank, rank):
    bank0 = bank.copy()
    factors, weights, errors = separable_factors(bank, rank)
    assert [a.shape for a in factors] == [(len(bank), rank, k) for k in bank.shape[1:-1]]
    assert weights.shape == (len(bank), rank, bank.shape[-1])
    np.testing.assert_array_less(errors, 1e-9)
    np.testing.assert_allclose(reconstruct(factors, weights), bank, atol=1e-9 * np.abs(bank).max())
    np.testing.assert_array_equal(bank, bank0)
    for a in factors:  # unit 1-D kernels (or zero terms)
        norms = np.linalg.norm(a, axis=2)
        assert np.all(np.isclose(norms, 1) | np.isclose(norms, 0))


def test_not_separable_kernels_have_the_errors_of_the_discarded_singular_values():
    bank = concatenate_banks([leung_malik_bank(), gabor_bank((0.2,), 8, part="imag")])
    for rank in (1, 2, 3):
        factors, weights, errors = separable_factors(bank, rank)
        s = np.linalg.svd(bank[..., 0], compute_uv=False)
        expected = np.sqrt((s[:, rank:] ** 2).sum(1) / (s**2).sum(1))
        np.testing.assert_allclose(errors, expected, atol=1e-10)
        approx = reconstruct(factors, weights)
        direct = np.linalg.norm((approx - bank).reshape(len(bank), -1), axis=1) / np.linalg.norm(
            bank.reshape(len(bank), -1), axis=1
        )
        np.testing.assert_allclose(errors, direct, atol=1e-12)
    # the terms come by decreasing weight
    w = np.abs(weights[..., 0])
    assert np.all(np.diff(w, axis=1) <= 1e-12)
    # Laplace4 is not separable: rank 1 leaves an error, rank 2 none
    assert separable_factors(edge_bank(["laplace4"]), 1)[2][0] > 0.05
    assert separable_factors(edge_bank(["laplace4"]), 2)[2][0] < 1e-12


@settings(max_examples=25, deadline=None)
@given(
    kernel=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    c=st.integers(1, 3),
    rank=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_sums_of_outer_products_are_recovered(kernel, c, rank, seed):
    rng = np.random.default_rng(seed)
    f = 3
    factors = [rng.standard_normal((f, rank, k)) for k in kernel]
    weights = rng.standard_normal((f, rank, c))
    bank = reconstruct(factors, weights)
    _, _, errors = separable_factors(bank, rank)
    if rank == 1 or sum(n > 1 for n in bank.shape[1:]) <= 2:
        # rank 1 from the leading singular vectors, any rank by the SVD
        np.testing.assert_array_less(errors, 1e-9)
        assert np.all(separable_factors(bank, rank + 1)[2] <= errors + 1e-9)
    else:
        # alternating least squares can stall short of an exact decomposition
        # (a local optimum), but never does worse than the zero approximation
        assert np.all(errors < 1)


def test_degenerate_banks():
    # 1x1 kernels on one channel: the weight is the kernel
    bank = np.array([[[2.0]], [[-3.0]]])[:, :, :, None][:, 0]  # (2, 1, 1)
    factors, weights, errors = separable_factors(bank, 2)
    np.testing.assert_allclose(reconstruct(factors, weights), bank)
    np.testing.assert_array_equal(errors, 0)
    # a zero filter has error 0 and zero weights
    bank = np.zeros((1, 3, 3, 2))
    factors, weights, errors = separable_factors(bank, 1)
    np.testing.assert_array_equal(weights, 0)
    np.testing.assert_array_equal(errors, 0)


def test_errors():
    with pytest.raises(ValueError, match="bank must have shape"):
        separable_factors(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="bank must have shape"):
        separable_factors(np.zeros((0, 3, 3, 1)))
    with pytest.raises(TypeError, match="rank must be an int"):
        separable_factors(np.ones((1, 3, 3, 1)), 1.0)
    with pytest.raises(ValueError, match="rank must be an int >= 1"):
        separable_factors(np.ones((1, 3, 3, 1)), 0)
