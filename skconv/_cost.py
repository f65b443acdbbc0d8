"""Closed forms of the cost of every convolution variant, and the engine's time model.

One module, so that what a transformer's ``cost()`` reports and what the engine's
automatic path choice assumes come from the same formulas. Everything here is
plain integer arithmetic on shapes that are already resolved (output shape,
padding): no arrays are touched.

Counts are per sample. ``multiply_adds`` counts the multiplications of the linear
filtering (each followed by an addition), not the bias, the encoding or the
pooling. For an ``m x m`` kernel on an ``N x N`` image (valid padding):

- standard: ``(N-m+1)^2 m^2`` per filter and input channel; stride, padding and
  dilation only change the output size (a dilated kernel costs what the
  undilated one does); ``groups`` divides the channels each filter sees;
- spatially separable (two 1-D passes): ``(N-m+1) N m + (N-m+1)^2 m``; a rank-r
  kernel costs r times that, and a filter that sees several channels first mixes
  them (``N^2 c`` per term: flattened convolution);
- tiled and locally connected: the standard count of multiply-adds, with
  ``prod(tile_shape)`` or ``prod(output shape)`` times the parameters.
"""

import math

import scipy.fft

__all__ = [
    "dense_multiply_adds",
    "dense_params",
    "separable_multiply_adds",
    "separable_params",
    "path_times",
]


def dense_multiply_adds(out_spatial, kernel, channels_per_group, n_filters):
    """``prod(out) * prod(kernel) * (c // groups) * n_filters``.

    Standard, strided, padded, dilated and grouped convolution, and also tiled and
    locally connected convolution (each output still takes one kernel's worth of
    products).
    """
    return math.prod(out_spatial) * math.prod(kernel) * channels_per_group * n_filters


def dense_params(kernel, channels_per_group, n_filters):
    """Weights of one bank: ``prod(kernel) * (c // groups) * n_filters``."""
    return math.prod(kernel) * channels_per_group * n_filters


def separable_multiply_adds(in_spatial, out_spatial, kernel, channels_per_group, n_filters,
                            rank):
    """Multiply-adds of rank-``rank`` separable filters applied as 1-D passes.

    Each of the ``rank * n_filters`` terms first mixes the channels its filter sees
    at every input position (nothing when it sees one channel: the weight folds
    into a 1-D kernel), then runs one 1-D pass per spatial axis, in axis order:
    pass ``i`` has ``kernel[i]`` taps at each of ``prod(out[:i+1]) *
    prod(in[i+1:])`` positions (axes already passed have their output size, the
    others still their input size; each axis is padded by its own pass).
    """
    terms = rank * n_filters
    mix = math.prod(in_spatial) * channels_per_group * terms if channels_per_group > 1 else 0
    passes = sum(
        math.prod(out_spatial[: i + 1]) * math.prod(in_spatial[i + 1:]) * k
        for i, k in enumerate(kernel)
    )
    return mix + passes * terms


def separable_params(kernel, channels_per_group, n_filters, rank):
    """``rank * n_filters * (sum(kernel) + c // groups)`` (the channel weight of a
    filter that sees one channel folds into a 1-D kernel)."""
    per_term = sum(kernel) + (channels_per_group if channels_per_group > 1 else 0)
    return rank * n_filters * per_term


def path_times(n, in_spatial, pads, out_spatial, kernel, c, n_filters, groups, copy_run,
               lanes=None, unit_step=False):
    """Predicted time (ns) of each path of the engine's dense convolution.

    A sum of terms per path (float32, one BLAS thread, 2-core Xeon with AVX-512),
    fitted by non-negative least squares to two runs over 60 shapes (1-D signals,
    greyscale and RGB images, grouped and depthwise banks, 3-D volumes; the shapes
    of ``benchmarks/bench_engine_paths.py --sweep``). Over those runs the path
    chosen by the smallest prediction was on average 2.3 % slower than the fastest
    one; the worst miss was 4 21x21 filters on 28x28 images (GEMM chosen, FFT
    1.4-2.3x faster).

    - gemm: 0.97 per im2col element + 2.7 per element / (contiguous run length of
      the im2col copy, ``copy_run``) + 0.017 per multiply-add + 0.83 per output;
    - fft: 0.83 per (c + f) * N * log2(N) per sample (N = size of the FFT grid)
      + 0.53 per complex multiply-add across channels (when c // groups > 1);
    - direct (only when each filter sees one channel): 2.5 per multiply-add;
    - compiled (when ``lanes``, the float32 or float64 values of one vector
      register of the compiled path, is given, and at least a quarter of a
      vector of filters per group or a depthwise bank with one filter per
      channel): 0.39 per vector multiply-add (``ceil(f / groups / lanes)``
      vectors per output position, group and channel tap; depthwise
      ``ceil(c / lanes)`` per position and tap) + 0.23 per output + 34 per
      block of output positions held in registers (at most 24 of a row when
      ``unit_step``, stride 1 on one channel, else 12). Fitted by non-negative
      least squares (relative errors) to one run of the same 60 shapes on a 2-core AMD EPYC (Zen 4, AVX-512, 16
      float32 lanes); predictions within 0.6-1.6x of the measured times, except
      64 filters 3x3 on 64x64 images (measured 2.2x the prediction).

    The multiply-adds are those of :func:`dense_multiply_adds`. Examples of
    measured times (1 thread, ms): 16 11x11 filters on 200 28x28 greyscale images:
    gemm 9.6, fft 16.4, direct 90; 4 21x21 filters on 50 64x64 images: gemm 71,
    fft 12; 64 5x5 filters on 100 32x32 RGB images: gemm 26, fft 143; depthwise
    7x7 on 50 28x28x32: gemm 122, fft 25, direct 86; depthwise 3x3: gemm 108,
    fft 16, direct 13. With several BLAS threads GEMM gets faster and the others
    do not, so the choice errs, if anything, towards FFT/direct/compiled, never
    away from GEMM. The compiled path on the same shapes (1 thread, ms): 16 11x11
    filters on 200 28x28 images 4.0 (gemm 9.6); 4 21x21 on 50 64x64: 16.9 (fft
    3.9); 64 3x3 on 50 64x64: 14.9 (gemm 7.9).

    Returns
    -------
    dict
        ``{"gemm": ns, "fft": ns}``, ``"direct"`` when ``c // groups == 1`` and
        ``"compiled"`` when ``lanes`` is given (and the filters per group fill
        a quarter of a vector).
    """
    cg = c // groups
    P = math.prod(out_spatial)
    copy = n * P * math.prod(kernel) * c
    macs = n * dense_multiply_adds(out_spatial, kernel, cg, n_filters)
    times = {"gemm": 0.97 * copy + 2.7 * copy / copy_run + 0.017 * macs + 0.83 * n * P * n_filters}
    fshape = [
        scipy.fft.next_fast_len(s + pb + pa, real=True) for s, (pb, pa) in zip(in_spatial, pads)
    ]
    N = math.prod(fshape)
    n_freq = N // fshape[-1] * (fshape[-1] // 2 + 1)
    times["fft"] = 0.83 * n * (c + n_filters) * N * math.log2(max(N, 2)) + (
        0.53 * n * n_freq * cg * n_filters if cg > 1 else 0.0
    )
    if cg == 1:
        times["direct"] = 2.5 * macs
    fg = n_filters // groups
    rmax = None
    if lanes and cg == 1 and fg == 1:
        # depthwise, one filter per channel: the compiled path's vectors hold
        # channels, its blocks at most 12 positions
        vectors, taps, rmax = -(-c // lanes), math.prod(kernel), 12
    elif lanes and 4 * fg >= lanes:
        # Groups whose 2 or 3 filters fill less than a quarter of a vector are
        # left to the other paths: mostly empty vectors, where the FFT's
        # predictions run high (with one filter per group, before the depthwise
        # kernel, the comparison picked this path at twice the FFT's time:
        # depthwise 7x7 on 50 28x28x32, 19.6 ms against 9.8).
        vectors = groups * -(-fg // lanes)
        taps, rmax = math.prod(kernel) * cg, 24 if unit_step else 12
    if rmax:
        row = out_spatial[-1]
        blocks = n * (P // row) * vectors * -(-row // rmax)
        times["compiled"] = 0.39 * n * P * vectors * taps + 0.23 * n * P * n_filters + 34 * blocks
    return times
