import math

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import correlate
from skimage import filters as skfilters

from skconv.filters import (
    EDGE_FILTERS,
    dog_bank,
    edge_bank,
    gabor_bank,
    gaussian_derivative_bank,
    leung_malik_bank,
    log_bank,
    random_bank,
    random_dilations,
)


def correlate_valid(image, kernel):
    """out[p] = sum_q image[p + q] kernel[q], only where the kernel fits."""
    return correlate(image, kernel, mode="valid")


def interior(reference, kernel_shape):
    """The pixels of a same-size reference whose kernel window lies in the image."""
    return reference[
        tuple(slice((k - 1) // 2, s - (k - 1 - (k - 1) // 2)) for s, k in zip(reference.shape, kernel_shape))
    ]


@pytest.fixture
def image():
    return np.random.default_rng(0).standard_normal((40, 43))


# --------------------------------------------------------------------------- random banks


@settings(max_examples=25, deadline=None)
@given(
    n_filters=st.integers(1, 12),
    kernel=st.one_of(
        st.integers(1, 6),
        st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
    ),
    n_channels=st.integers(1, 3),
    distribution=st.sampled_from(["gaussian", "uniform", "orthogonal", "binary"]),
)
def test_random_bank_shape_dtype(n_filters, kernel, n_channels, distribution):
    bank = random_bank(n_filters, kernel, n_channels, distribution=distribution, random_state=0)
    kernel_shape = (kernel, kernel) if isinstance(kernel, int) else kernel
    assert bank.shape == (n_filters, *kernel_shape, n_channels)
    assert bank.dtype == np.float64
    assert np.isfinite(bank).all()
    assert random_bank(n_filters, kernel, n_channels, distribution=distribution, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("distribution", ["gaussian", "uniform", "orthogonal", "binary"])
def test_random_bank_reproducible(distribution):
    a = random_bank(8, (3, 4), 2, distribution=distribution, random_state=42)
    b = random_bank(8, (3, 4), 2, distribution=distribution, random_state=np.random.RandomState(42))
    c = random_bank(8, (3, 4), 2, distribution=distribution, random_state=43)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_orthogonal_rows_orthonormal():
    bank = random_bank(20, 5, 3, distribution="orthogonal", random_state=0)
    flat = bank.reshape(20, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(20), atol=1e-12)


def test_orthogonal_blocks_when_more_filters_than_dimensions():
    dim = 3 * 3
    bank = random_bank(2 * dim + 4, 3, 1, distribution="orthogonal", random_state=0)
    flat = bank.reshape(len(bank), -1)
    for start in range(0, len(flat), dim):
        block = flat[start : start + dim]
        np.testing.assert_allclose(block @ block.T, np.eye(len(block)), atol=1e-12)
    # the blocks are drawn independently, not repeated
    assert not np.allclose(np.abs(flat[:dim] @ flat[dim : 2 * dim].T), np.eye(dim))


def test_orthogonal_zero_mean_stays_orthonormal():
    dim = 2 * 2 * 2
    bank = random_bank(dim + 3, 2, 2, distribution="orthogonal", zero_mean=True, random_state=1)
    flat = bank.reshape(len(bank), -1)
    np.testing.assert_allclose(flat.mean(axis=1), 0, atol=1e-14)
    for start in range(0, len(flat), dim - 1):  # the zero-mean subspace has dim - 1 dimensions
        block = flat[start : start + dim - 1]
        np.testing.assert_allclose(block @ block.T, np.eye(len(block)), atol=1e-12)


@pytest.mark.parametrize("distribution", ["gaussian", "uniform", "binary"])
def test_zero_mean_unit_norm(distribution):
    bank = random_bank(10, (3, 5), 2, distribution=distribution, zero_mean=True, unit_norm=True, random_state=0)
    flat = bank.reshape(10, -1)
    np.testing.assert_allclose(flat.mean(axis=1), 0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(flat, axis=1), 1, rtol=1e-12)
    only_norm = random_bank(10, (3, 5), 2, distribution=distribution, unit_norm=True, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(only_norm.reshape(10, -1), axis=1), 1, rtol=1e-12)
    only_mean = random_bank(10, (3, 5), 2, distribution=distribution, zero_mean=True, random_state=0)
    raw = random_bank(10, (3, 5), 2, distribution=distribution, random_state=0).reshape(10, -1)
    np.testing.assert_allclose(only_mean.reshape(10, -1), raw - raw.mean(axis=1, keepdims=True))


def test_binary_and_uniform_values():
    binary = random_bank(200, 5, 3, distribution="binary", random_state=0)
    assert set(np.unique(binary)) == {-1.0, 1.0}
    assert abs((binary > 0).mean() - 0.5) < 0.02  # 15,000 fair coin flips
    uniform = random_bank(200, 5, 3, distribution="uniform", random_state=0)
    assert uniform.min() >= -1 and uniform.max() <= 1
    assert uniform.min() < -0.99 and uniform.max() > 0.99


def test_random_bank_errors():
    with pytest.raises(ValueError, match="distribution"):
        random_bank(4, 3, distribution="laplace")
    with pytest.raises(ValueError, match="kernel_size"):
        random_bank(4, (3, 3, 3, 3))
    with pytest.raises(TypeError, match="kernel_size"):
        random_bank(4, (3, 2.5))
    with pytest.raises(ValueError, match="n_filters"):
        random_bank(0, 3)
    with pytest.raises(TypeError, match="n_channels"):
        random_bank(4, 3, 1.5)
    with pytest.raises(ValueError, match="zero_mean"):
        random_bank(4, (1,), 1, zero_mean=True)
    with pytest.raises(ValueError, match="dtype"):
        random_bank(4, 3, dtype=np.int64)


def test_random_dilations():
    d = random_dilations(20000, 9, 501, random_state=0)
    assert d.dtype == np.int64 and d.shape == (20000,)
    exponent = math.log2(500 / 8)
    assert d.min() == 1 and d.max() <= 500 / 8
    assert ((9 - 1) * d + 1 <= 501).all()
    # floor(2**u) == 1 exactly when u < 1: probability 1 / exponent; and 2**u < 32 when u < 5
    assert abs((d == 1).mean() - 1 / exponent) < 0.015
    assert abs((d < 32).mean() - 5 / exponent) < 0.015
    np.testing.assert_array_equal(d, random_dilations(20000, 9, 501, random_state=0))
    # per-filter lengths, and kernels that cannot be dilated
    lengths = np.array([7, 9, 11, 1, 600])
    d = random_dilations(5, lengths, 501, random_state=1)
    assert ((lengths - 1) * d + 1 <= 501)[:3].all()
    np.testing.assert_array_equal(d[3:], 1)
    with pytest.raises(ValueError, match="kernel_length"):
        random_dilations(3, [7, 9], 100)


# --------------------------------------------------------------------------- Gabor


@pytest.mark.parametrize("part", ["complex", "real"])
def test_gabor_fft_peak_at_frequency_and_orientation(part):
    frequencies, n_orientations, size = (0.1, 0.2, 0.3), 8, 256
    bank = gabor_bank(frequencies, n_orientations, part=part)
    freq_axis = np.fft.fftfreq(size)
    for i, frequency in enumerate(frequencies):
        for k in range(n_orientations):
            theta = k * np.pi / n_orientations
            spectrum = np.abs(np.fft.fft2(bank[i * n_orientations + k, ..., 0], s=(size, size)))
            row, col = np.unravel_index(spectrum.argmax(), spectrum.shape)
            peak = np.array([freq_axis[col], freq_axis[row]])  # (x, y) cycles per pixel
            expected = frequency * np.array([np.cos(theta), np.sin(theta)])
            # a real filter has the mirrored peak too
            error = min(np.abs(peak - expected).max(), np.abs(peak + expected).max())
            assert error <= 1 / size, (frequency, k, peak, expected)


def test_gabor_equals_skimage_kernels():
    frequencies, n_orientations = (0.15, 0.25), 4
    bank = gabor_bank(frequencies, n_orientations, part="both", sigmas=(3.0, 2.0), n_channels=2)
    assert bank.shape[0] == 2 * 2 * 4 and bank.shape[-1] == 2
    height, width = bank.shape[1:3]
    for i, (frequency, sigma) in enumerate(zip(frequencies, (3.0, 2.0))):
        for k in range(n_orientations):
            g = skfilters.gabor_kernel(frequency, theta=k * np.pi / n_orientations, sigma_x=sigma, sigma_y=sigma)
            h, w = g.shape
            crop = (slice((height - h) // 2, (height + h) // 2), slice((width - w) // 2, (width + w) // 2))
            j = 2 * (i * n_orientations + k)
            for c in range(2):
                np.testing.assert_array_equal(bank[j][crop][..., c], g.real)
                np.testing.assert_array_equal(bank[j + 1][crop][..., c], g.imag)
                # the padding around the natural support is zero
                assert np.abs(bank[j, ..., c]).sum() == pytest.approx(np.abs(g.real).sum())
    # the default size is the largest natural size in the bank
    sizes = [
        skfilters.gabor_kernel(f, theta=k * np.pi / 4, sigma_x=s, sigma_y=s).shape
        for f, s in zip(frequencies, (3.0, 2.0))
        for k in range(4)
    ]
    assert (height, width) == (max(s[0] for s in sizes), max(s[1] for s in sizes))


def test_gabor_parts_and_sizes():
    complex_bank = gabor_bank((0.1, 0.3), 6, bandwidth=1.5)
    assert complex_bank.dtype == np.float64 and complex_bank.shape[0] == 12
    full = gabor_bank((0.1, 0.3), 6, bandwidth=1.5, part="complex")
    assert full.dtype == np.complex128
    assert gabor_bank(0.2, 2, part="complex", dtype=np.float32).dtype == np.complex64
    np.testing.assert_array_equal(full.real, complex_bank)
    np.testing.assert_array_equal(full.imag, gabor_bank((0.1, 0.3), 6, bandwidth=1.5, part="imag"))
    # a fixed size centre-crops (and pads) the natural kernels
    fixed = gabor_bank((0.1, 0.3), 6, bandwidth=1.5, kernel_size=11, part="complex")
    assert fixed.shape == (12, 11, 11, 1)
    big = full.shape[1]
    np.testing.assert_array_equal(fixed, full[:, (big - 11) // 2 : (big + 11) // 2, (big - 11) // 2 : (big + 11) // 2])
    assert gabor_bank(0.3, 4, kernel_size=(9, 40)).shape == (4, 9, 40, 1)
    with pytest.raises(ValueError, match="part"):
        gabor_bank(part="abs")
    with pytest.raises(ValueError, match="sigmas"):
        gabor_bank((0.1, 0.2), sigmas=(1, 2, 3))


# --------------------------------------------------------------------------- edges


@pytest.mark.parametrize(
    "name, reference",
    [
        ("sobel_x", lambda im: ndi.sobel(im, axis=1)),
        ("sobel_y", lambda im: ndi.sobel(im, axis=0)),
        ("prewitt_x", lambda im: ndi.prewitt(im, axis=1)),
        ("prewitt_y", lambda im: ndi.prewitt(im, axis=0)),
        ("scharr_x", lambda im: 16 * skfilters.scharr(im, axis=1)),
        ("scharr_y", lambda im: 16 * skfilters.scharr(im, axis=0)),
        ("roberts_pos_diag", skfilters.roberts_pos_diag),
        ("roberts_neg_diag", skfilters.roberts_neg_diag),
        ("laplace4", ndi.laplace),
        ("laplace8", lambda im: 9 * ndi.uniform_filter(im, 3) - 9 * im),
    ],
)
def test_edge_filters_match_references(image, name, reference):
    kernel = edge_bank(name)[0, ..., 0]
    np.testing.assert_allclose(correlate_valid(image, kernel), interior(reference(image), (3, 3)), atol=1e-12)
    np.testing.assert_array_equal(kernel, EDGE_FILTERS[name])


def test_edge_bank_names_and_channels():
    bank = edge_bank(n_channels=3, dtype=np.float32)
    assert bank.shape == (10, 3, 3, 3) and bank.dtype == np.float32
    expected = ["sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x", "scharr_y"]
    expected += ["roberts_pos_diag", "roberts_neg_diag", "laplace4", "laplace8"]
    for i, name in enumerate(expected):
        for c in range(3):
            np.testing.assert_array_equal(bank[i, ..., c], EDGE_FILTERS[name])
    np.testing.assert_allclose(bank.sum(axis=(1, 2, 3)), 0)  # all are blind to a constant image
    with pytest.raises(ValueError, match="names must hold 2-D edge filter names"):
        edge_bank(("sobel", "canny"))
    with pytest.raises(ValueError):
        EDGE_FILTERS["sobel_x"][0, 0] = 5  # the shared table is read-only


# --------------------------------------------------------------------------- Gaussian families


def test_log_matches_scipy_gaussian_laplace(image):
    sigmas = (1.0, 1.5, 2.5)
    bank = log_bank(sigmas)
    assert bank.shape == (3, 21, 21, 1)
    for sigma, kernel in zip(sigmas, bank[..., 0]):
        # the bank's kernels are truncated at 4 sigma, as scipy's are: equal up to rounding
        expected = interior(ndi.gaussian_laplace(image, sigma), kernel.shape)
        np.testing.assert_allclose(correlate_valid(image, kernel), expected, atol=1e-12)
        # against a wider truncation the difference is the truncated tail only
        wider = interior(ndi.gaussian_laplace(image, sigma, truncate=8.0), kernel.shape)
        np.testing.assert_allclose(correlate_valid(image, kernel), wider, atol=5e-3)
    scaled = log_bank(sigmas, scale_normalized=True)
    np.testing.assert_allclose(scaled, bank * np.array(sigmas)[:, None, None, None] ** 2)
    assert log_bank(2.0, kernel_size=7).shape == (1, 7, 7, 1)
    np.testing.assert_array_equal(log_bank(2.0, kernel_size=7)[0], log_bank(2.0)[0, 5:12, 5:12])


def test_dog_is_difference_of_gaussians(image):
    sigmas, k = (1.0, 2.0), 1.6
    bank = dog_bank(sigmas, k)
    radius = int(4 * 2.0 * 1.6 + 0.5)
    assert bank.shape == (2, 2 * radius + 1, 2 * radius + 1, 1)
    np.testing.assert_allclose(bank.sum(axis=(1, 2, 3)), 0, atol=1e-15)
    for sigma, kernel in zip(sigmas, bank[..., 0]):
        expected = ndi.gaussian_filter(image, sigma) - ndi.gaussian_filter(image, k * sigma)
        np.testing.assert_allclose(correlate_valid(image, kernel), interior(expected, kernel.shape), atol=1e-12)
        centre = kernel.shape[0] // 2
        assert kernel[centre, centre] > 0 and kernel.min() < 0
    with pytest.raises(ValueError, match="k must be a finite real number > 1"):
        dog_bank(k=0.8)


def test_gaussian_derivatives_match_scipy_on_axes(image):
    sigmas = (1.0, 2.0)
    bank = gaussian_derivative_bank(sigmas, 4, orders=(1, 2))
    assert bank.shape == (2 * 2 * 4, 17, 17, 1)
    for i, order in enumerate((1, 2)):
        for j, sigma in enumerate(sigmas):
            base = (i * len(sigmas) + j) * 4
            for k, axis_order in ((0, (0, order)), (2, (order, 0))):  # theta = 0, pi / 2
                kernel = bank[base + k, ..., 0]
                expected = interior(ndi.gaussian_filter(image, sigma, order=axis_order), kernel.shape)
                np.testing.assert_allclose(correlate_valid(image, kernel), expected, atol=1e-12)


def test_gaussian_derivatives_steer():
    # an isotropic first derivative along theta is cos(theta) d/dx + sin(theta) d/dy
    bank = gaussian_derivative_bank(1.5, 8, orders=1)[..., 0]
    dx, dy = bank[0], bank[4]
    for k in range(8):
        theta = k * np.pi / 8
        np.testing.assert_allclose(bank[k], np.cos(theta) * dx + np.sin(theta) * dy, atol=1e-12)
    elongated = gaussian_derivative_bank(1.0, 4, orders=(1, 2), elongation=3.0)[..., 0]
    np.testing.assert_allclose(elongated[:4].sum(axis=(1, 2)), 0, atol=1e-12)
    # theta = pi/2 is theta = 0 with rows and columns swapped
    np.testing.assert_allclose(elongated[2], elongated[0].T, atol=1e-15)
    np.testing.assert_allclose(elongated[6], elongated[4].T, atol=1e-15)
    with pytest.raises(ValueError, match="orders"):
        gaussian_derivative_bank(orders=(0, 1))


# --------------------------------------------------------------------------- Leung-Malik


def test_leung_malik_shape_and_sums():
    bank = leung_malik_bank()
    assert bank.shape == (48, 49, 49, 1) and bank.dtype == np.float64
    lm = bank[..., 0]
    gaussians = [36, 39, 42, 45]
    others = [i for i in range(48) if i not in gaussians]
    np.testing.assert_allclose(lm[others].sum(axis=(1, 2)), 0, atol=1e-14)
    np.testing.assert_allclose(np.abs(lm[others]).sum(axis=(1, 2)), 1)
    np.testing.assert_allclose(lm[gaussians].sum(axis=(1, 2)), 1)
    assert (lm[gaussians] > 0).all()
    assert leung_malik_bank(n_channels=3, dtype=np.float32).shape == (48, 49, 49, 3)


@pytest.mark.parametrize(
    "variant, scales",
    [("large", (2**0.5, 2.0, 2 * 2**0.5, 4.0)), ("small", (1.0, 2**0.5, 2.0, 2 * 2**0.5))],
)
def test_leung_malik_published_definition(variant, scales):
    lm = leung_malik_bank(variant=variant)[..., 0]
    half = 24
    y = half - np.arange(49.0)[:, None]  # y points up
    x = np.arange(49.0)[None, :] - half

    def normalise(f):
        f = f - f.mean()
        return f / np.abs(f).sum()

    for j, s in enumerate(scales[:3]):
        # orientation 0: Gaussian of std 3s along x times a derivative of one of std s along y
        along = np.exp(-(x**2) / (2 * (3 * s) ** 2))
        across = np.exp(-(y**2) / (2 * s**2))
        np.testing.assert_allclose(lm[6 * j], normalise(along * (-y / s**2) * across), atol=1e-15)
        np.testing.assert_allclose(lm[18 + 6 * j], normalise(along * (y**2 - s**2) / s**4 * across), atol=1e-15)
    r2 = x**2 + y**2
    for j, s in enumerate(scales):
        g = np.exp(-r2 / (2 * s**2))
        np.testing.assert_allclose(lm[36 + 3 * j], g / g.sum(), atol=1e-15)
        for m, t in enumerate((s, 3 * s)):
            h = np.exp(-r2 / (2 * t**2))
            np.testing.assert_allclose(lm[37 + 3 * j + m], normalise(h / h.sum() * (r2 - 2 * t**2)), atol=1e-15)


def test_leung_malik_orientations_rotate():
    lm = leung_malik_bank()[..., 0]
    for first in (0, 18):  # edges, bars
        for scale in range(3):
            for k in range(3):
                i = first + 6 * scale + k
                # 3 steps of pi/6 are an exact 90 degree rotation of the grid
                np.testing.assert_allclose(np.rot90(lm[i], -1), lm[i + 3], atol=1e-15)
    # an odd filter turned by 180 degrees changes sign: orientations cover [0, pi) only
    np.testing.assert_allclose(np.rot90(lm[0], 2), -lm[0], atol=1e-15)
    with pytest.raises(ValueError, match="variant"):
        leung_malik_bank(variant="medium")


# --------------------------------------------------------------------------- 1-D and 3-D banks


def test_1d_and_3d_gaussian_banks_match_scipy():
    rng = np.random.default_rng(1)
    signal = rng.standard_normal(120)
    volume = rng.standard_normal((22, 23, 24))
    for sigma in (1.0, 2.0):
        (log1,) = log_bank(sigma, ndim=1)[..., 0]
        np.testing.assert_allclose(
            correlate_valid(signal, log1),
            interior(ndi.gaussian_laplace(signal, sigma), log1.shape), atol=1e-12,
        )
        (dog1,) = dog_bank(sigma, 1.6, ndim=1)[..., 0]
        expected = ndi.gaussian_filter(signal, sigma) - ndi.gaussian_filter(signal, 1.6 * sigma)
        np.testing.assert_allclose(correlate_valid(signal, dog1), interior(expected, dog1.shape),
                                   atol=1e-12)
        for order, kernel in zip((1, 2), gaussian_derivative_bank(sigma, orders=(1, 2), ndim=1)):
            expected = ndi.gaussian_filter1d(signal, sigma, order=order)
            np.testing.assert_allclose(correlate_valid(signal, kernel[:, 0]),
                                       interior(expected, kernel[:, 0].shape), atol=1e-12)
    (log3,) = log_bank(1.0, ndim=3)[..., 0]
    assert log3.shape == (9, 9, 9)
    np.testing.assert_allclose(correlate_valid(volume, log3),
                               interior(ndi.gaussian_laplace(volume, 1.0), log3.shape), atol=1e-12)
    (dog3,) = dog_bank(1.0, 1.6, ndim=3)[..., 0]
    expected = ndi.gaussian_filter(volume, 1.0) - ndi.gaussian_filter(volume, 1.6)
    np.testing.assert_allclose(correlate_valid(volume, dog3), interior(expected, dog3.shape),
                               atol=1e-12)


def test_1d_edge_and_gabor_banks():
    signal = np.random.default_rng(2).standard_normal(60)
    bank, names = edge_bank(ndim=1, return_names=True)
    assert names == ["diff", "laplace"] and bank.shape == (2, 3, 1)
    np.testing.assert_allclose(correlate_valid(signal, bank[0, :, 0]), ndi.sobel(signal)[1:-1])
    np.testing.assert_allclose(correlate_valid(signal, bank[1, :, 0]), ndi.laplace(signal)[1:-1])
    with pytest.raises(ValueError, match="names must hold 1-D edge filter names"):
        edge_bank("sobel", ndim=1)
    # a 1-D Gabor atom is the central row of the orientation-0 kernel, rescaled to
    # a 1-D Gaussian's normalization
    f, sigma = 0.2, 2.5
    atom = gabor_bank(f, sigmas=sigma, part="complex", ndim=1)[0, :, 0]
    kernel = skfilters.gabor_kernel(f, theta=0, sigma_x=sigma, sigma_y=sigma)
    row = kernel[kernel.shape[0] // 2]
    r = (len(row) - 1) // 2
    centre = atom[len(atom) // 2 - r:len(atom) // 2 + r + 1]
    np.testing.assert_allclose(centre / centre[r], row / row[r], atol=1e-12)
    both = gabor_bank((0.1, 0.3), part="both", ndim=1)
    assert both.shape[0] == 4
    np.testing.assert_array_equal(both[0], gabor_bank((0.1, 0.3), ndim=1)[0])
    np.testing.assert_array_equal(both[1], gabor_bank((0.1, 0.3), part="imag", ndim=1)[0])


def test_concatenate_banks_centres_every_kernel():
    from skconv.filters import concatenate_banks

    small, large = edge_bank("sobel_x"), log_bank(1.0)
    bank = concatenate_banks([small, large])
    assert bank.shape == (2, 9, 9, 1)
    np.testing.assert_array_equal(bank[0, 3:6, 3:6], small[0])
    assert np.count_nonzero(bank[0]) == np.count_nonzero(small[0])
    np.testing.assert_array_equal(bank[1], large[0])
    image = np.random.default_rng(3).standard_normal((20, 20))
    # the same response where both kernels fit
    np.testing.assert_allclose(correlate_valid(image, bank[0, ..., 0]),
                               correlate_valid(image, small[0, ..., 0])[3:-3, 3:-3])
    np.testing.assert_array_equal(concatenate_banks([large], kernel_size=3)[0], large[0, 3:6, 3:6])
    with pytest.raises(ValueError, match="same kernel dimensions and channels"):
        concatenate_banks([small, edge_bank("sobel_x", n_channels=2)])
    with pytest.raises(TypeError, match="non-empty list of filter banks"):
        concatenate_banks(small)
