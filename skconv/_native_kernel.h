/* One instance of the direct convolution kernel, included by _native.c once per
 * (element type, vector width, instruction set). Before including, define:
 *
 *   T       the element type (float or double)
 *   VW      the number of T in one vector register
 *   NAME(s) a name for symbol s, unique to this instance
 *   TARGET  a function attribute selecting the instruction set (may be empty)
 *   RMAX    the most accumulators kept in registers (6, 12 or 24)
 *
 * The work: out[n, od, oh, ow, g * fg + j] = sum over (kd, kh, kw, ch) of
 *   x[n, od * sd + kd * dd, oh * sh + kh * dh, ow * sw + kw * dw, g * cg + ch]
 *   * w[g, kd, kh, kw, ch, j]
 * with x already zero-padded and w laid out filters-last, its filter axis padded
 * with zeros to a multiple of 16 (FP). Every vector holds VW consecutive filters
 * of one group; a block of R consecutive output positions of one row keeps R
 * accumulators in registers through all the kernel taps, so each tap costs one
 * vector load of weights and R multiply-adds of a broadcast input value. A row
 * of OW outputs is cut into the fewest blocks of at most RMAX (RMAX / 2 unless
 * stride 1 on one channel), of equal sizes (give or take one), so that no block
 * is left with a few positions only.
 */

typedef T NAME(vec) __attribute__((vector_size(VW * sizeof(T)), aligned(sizeof(T))));

/* one accumulator into the output: a whole vector, or its first n values */
TARGET static inline __attribute__((always_inline)) void
NAME(put)(T *o, const NAME(vec) *a, Py_ssize_t n)
{
    if (n == VW)
        *(NAME(vec) *)o = *a;
    else
        memcpy(o, a, (size_t)n * sizeof(T));
}

TARGET static inline __attribute__((always_inline)) void
NAME(block)(const conv_geometry *g, const T *xb, const T *wb, T *ob, Py_ssize_t nf,
            const int R, const int unit)
{
    NAME(vec) acc[RMAX];
    /* unit: consecutive outputs read consecutive inputs (stride 1, one channel),
     * so that every broadcast is at a constant offset (no register per offset) */
    const Py_ssize_t C = g->C, cg = g->cg, FP = g->FP, step = unit ? 1 : g->sw * C;
#pragma GCC unroll 24
    for (int r = 0; r < R; r++)
        acc[r] = (NAME(vec)){0};
    for (Py_ssize_t kd = 0; kd < g->KD; kd++) {
        for (Py_ssize_t kh = 0; kh < g->KH; kh++) {
            const T *xr = xb + (kd * g->dd * g->H + kh * g->dh) * g->W * C;
            const T *wr = wb + (kd * g->KH + kh) * g->KW * cg * FP;
            for (Py_ssize_t kw = 0; kw < g->KW; kw++) {
                const T *xp = xr + kw * g->dw * C;
                const T *wp = wr + kw * cg * FP;
                for (Py_ssize_t ch = 0; ch < cg; ch++) {
                    const NAME(vec) wv = *(const NAME(vec) *)(wp + ch * FP);
#pragma GCC unroll 24
                    for (int r = 0; r < R; r++)
                        acc[r] += xp[r * step + ch] * wv;
                }
            }
        }
    }
    const Py_ssize_t F = g->G * g->fg;
#pragma GCC unroll 24
    for (int r = 0; r < R; r++)
        NAME(put)(ob + r * F, &acc[r], nf);
}

/* the block of R positions, R a constant in each call (accumulators in registers) */
TARGET static void
NAME(blocks)(const conv_geometry *g, const T *xb, const T *wb, T *ob, Py_ssize_t nf, int R)
{
    if (g->sw * g->C != 1) {
        /* at most RMAX / 2 positions: the offsets of the others take registers */
#define SKCONV_CASE(r) case r: NAME(block)(g, xb, wb, ob, nf, r, 0); break;
        switch (R) {
        SKCONV_CASE(1) SKCONV_CASE(2) SKCONV_CASE(3)
#if RMAX >= 12
        SKCONV_CASE(4) SKCONV_CASE(5) SKCONV_CASE(6)
#endif
#if RMAX >= 24
        SKCONV_CASE(7) SKCONV_CASE(8) SKCONV_CASE(9) SKCONV_CASE(10) SKCONV_CASE(11)
        SKCONV_CASE(12)
#endif
        default: break;
        }
#undef SKCONV_CASE
        return;
    }
#define SKCONV_CASE(r) case r: NAME(block)(g, xb, wb, ob, nf, r, 1); break;
    switch (R) {
    SKCONV_CASE(1) SKCONV_CASE(2) SKCONV_CASE(3) SKCONV_CASE(4) SKCONV_CASE(5) SKCONV_CASE(6)
#if RMAX >= 12
    SKCONV_CASE(7) SKCONV_CASE(8) SKCONV_CASE(9) SKCONV_CASE(10) SKCONV_CASE(11)
    SKCONV_CASE(12)
#endif
#if RMAX >= 24
    SKCONV_CASE(13) SKCONV_CASE(14) SKCONV_CASE(15) SKCONV_CASE(16) SKCONV_CASE(17)
    SKCONV_CASE(18) SKCONV_CASE(19) SKCONV_CASE(20) SKCONV_CASE(21) SKCONV_CASE(22)
    SKCONV_CASE(23) SKCONV_CASE(24)
#endif
    default: break;
    }
#undef SKCONV_CASE
}

/* V (2 or 4) vectors of filters x R positions of accumulators, for banks of
 * several vectors and small kernels: each broadcast input serves V vectors. nf:
 * the filters of the last vector. */
TARGET static inline __attribute__((always_inline)) void
NAME(blockv)(const conv_geometry *g, const T *xb, const T *wb, T *ob, Py_ssize_t nf,
             const int R, const int V, const int unit)
{
    NAME(vec) acc[4 * 6];
    const Py_ssize_t C = g->C, cg = g->cg, FP = g->FP, step = unit ? 1 : g->sw * C;
#pragma GCC unroll 24
    for (int i = 0; i < R * V; i++)
        acc[i] = (NAME(vec)){0};
    for (Py_ssize_t kd = 0; kd < g->KD; kd++) {
        for (Py_ssize_t kh = 0; kh < g->KH; kh++) {
            const T *xr = xb + (kd * g->dd * g->H + kh * g->dh) * g->W * C;
            const T *wr = wb + (kd * g->KH + kh) * g->KW * cg * FP;
            for (Py_ssize_t kw = 0; kw < g->KW; kw++) {
                const T *xp = xr + kw * g->dw * C;
                const T *wp = wr + kw * cg * FP;
                for (Py_ssize_t ch = 0; ch < cg; ch++) {
                    NAME(vec) wv[4];
#pragma GCC unroll 4
                    for (int v = 0; v < V; v++)
                        wv[v] = *(const NAME(vec) *)(wp + ch * FP + v * VW);
#pragma GCC unroll 12
                    for (int r = 0; r < R; r++) {
                        const T xv = xp[r * step + ch];
#pragma GCC unroll 4
                        for (int v = 0; v < V; v++)
                            acc[v * R + r] += xv * wv[v];
                    }
                }
            }
        }
    }
    const Py_ssize_t F = g->G * g->fg;
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            NAME(put)(ob + r * F + v * VW, &acc[v * R + r], v < V - 1 ? VW : nf);
    }
}

#if RMAX >= 24
/* the multi-vector blocks: 4 x up to 6 and 2 x up to 12 positions (half as many
 * positions when their offsets take registers) */
TARGET static void
NAME(blocksv)(const conv_geometry *g, const T *xb, const T *wb, T *ob, Py_ssize_t nf, int R,
              int V)
{
    const int key = V * 32 + R;
    if (g->sw * g->C != 1) {
#define SKCONV_CASE(v, r) case (v) * 32 + (r): NAME(blockv)(g, xb, wb, ob, nf, r, v, 0); break;
        switch (key) {
        SKCONV_CASE(2, 1) SKCONV_CASE(2, 2) SKCONV_CASE(2, 3) SKCONV_CASE(2, 4) SKCONV_CASE(2, 5)
        SKCONV_CASE(2, 6) SKCONV_CASE(4, 1) SKCONV_CASE(4, 2) SKCONV_CASE(4, 3)
        default: break;
        }
#undef SKCONV_CASE
        return;
    }
#define SKCONV_CASE(v, r) case (v) * 32 + (r): NAME(blockv)(g, xb, wb, ob, nf, r, v, 1); break;
    switch (key) {
    SKCONV_CASE(2, 1) SKCONV_CASE(2, 2) SKCONV_CASE(2, 3) SKCONV_CASE(2, 4) SKCONV_CASE(2, 5)
    SKCONV_CASE(2, 6) SKCONV_CASE(2, 7) SKCONV_CASE(2, 8) SKCONV_CASE(2, 9) SKCONV_CASE(2, 10)
    SKCONV_CASE(2, 11) SKCONV_CASE(2, 12)
    SKCONV_CASE(4, 1) SKCONV_CASE(4, 2) SKCONV_CASE(4, 3) SKCONV_CASE(4, 4) SKCONV_CASE(4, 5)
    SKCONV_CASE(4, 6)
    default: break;
    }
#undef SKCONV_CASE
}
#endif

TARGET static void
NAME(conv)(const conv_geometry *g, const T *x, const T *w, T *out,
           Py_ssize_t n0, Py_ssize_t n1)
{
    const Py_ssize_t C = g->C, F = g->G * g->fg;
    const Py_ssize_t wsize = g->KD * g->KH * g->KW * g->cg * g->FP;
    for (Py_ssize_t n = n0; n < n1; n++) {
        for (Py_ssize_t od = 0; od < g->OD; od++) {
            for (Py_ssize_t oh = 0; oh < g->OH; oh++) {
                const T *xrow = x + ((n * g->D + od * g->sd) * g->H + oh * g->sh) * g->W * C;
                T *orow = out + ((n * g->OD + od) * g->OH + oh) * g->OW * F;
                for (Py_ssize_t gi = 0; gi < g->G; gi++) {
                    const T *wg = w + gi * wsize;
                    for (Py_ssize_t fb = 0; fb < g->fg;) {
                        const T *xb = xrow + gi * g->cg;
                        const T *wb = wg + fb;
                        T *ob = orow + gi * g->fg + fb;
                        /* V vectors of filters per block: several for small kernels
                         * with several vectors of filters left (AVX-512), else one */
                        int V = 1;
#if RMAX >= 24
                        const Py_ssize_t left = (g->fg - fb + VW - 1) / VW;
                        if (MULTI_TAPS(g) && left >= 2)
                            V = left >= 4 ? 4 : 2;
#endif
                        const Py_ssize_t last = g->fg - fb - (V - 1) * VW;
                        const Py_ssize_t nf = last < VW ? last : VW;  /* of the last vector */
                        const Py_ssize_t rmax = V == 1 ? (g->sw * C == 1 ? RMAX : RMAX / 2)
                                                       : (g->sw * C == 1 ? 24 : 12) / V;
                        const Py_ssize_t nb = (g->OW + rmax - 1) / rmax;
                        const Py_ssize_t base = g->OW / nb, extra = g->OW % nb;
                        Py_ssize_t ow = 0;
                        for (Py_ssize_t b = 0; b < nb; b++) {
                            const int R = (int)(base + (b < extra));
#if RMAX >= 24
                            if (V > 1)
                                NAME(blocksv)(g, xb + ow * g->sw * C, wb, ob + ow * F, nf, R, V);
                            else
#endif
                                NAME(blocks)(g, xb + ow * g->sw * C, wb, ob + ow * F, nf, R);
                            ow += R;
                        }
                        fb += V * VW;
                    }
                }
            }
        }
    }
}

/* Depthwise convolution, one filter per channel (groups == channels, one filter
 * each): out[n, od, oh, ow, c] = sum over (kd, kh, kw) of
 *   x[n, od * sd + kd * dd, oh * sh + kh * dh, ow * sw + kw * dw, c] * w[kd, kh, kw, c]
 * Here every vector holds VW consecutive channels (contiguous in the
 * channels-last input), so no lane is wasted; the input's and the weights'
 * channel axes are padded with zeros to FP, a multiple of 16 (g->C == FP), and
 * the output has g->G channels. */
TARGET static inline __attribute__((always_inline)) void
NAME(block_dw)(const conv_geometry *g, const T *xb, const T *wb, T *ob, Py_ssize_t nc,
               const int R)
{
    NAME(vec) acc[RMAX / 2];
    const Py_ssize_t C = g->C, FP = g->FP, step = g->sw * C, F = g->G;
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
        acc[r] = (NAME(vec)){0};
    for (Py_ssize_t kd = 0; kd < g->KD; kd++) {
        for (Py_ssize_t kh = 0; kh < g->KH; kh++) {
            const T *xr = xb + (kd * g->dd * g->H + kh * g->dh) * g->W * C;
            const T *wr = wb + (kd * g->KH + kh) * g->KW * FP;
            for (Py_ssize_t kw = 0; kw < g->KW; kw++) {
                const T *xp = xr + kw * g->dw * C;
                const NAME(vec) wv = *(const NAME(vec) *)(wr + kw * FP);
#pragma GCC unroll 12
                for (int r = 0; r < R; r++)
                    acc[r] += *(const NAME(vec) *)(xp + r * step) * wv;
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
        NAME(put)(ob + r * F, &acc[r], nc);
}

TARGET static void
NAME(blocks_dw)(const conv_geometry *g, const T *xb, const T *wb, T *ob, Py_ssize_t nc, int R)
{
#define SKCONV_CASE(r) case r: NAME(block_dw)(g, xb, wb, ob, nc, r); break;
    switch (R) {
    SKCONV_CASE(1) SKCONV_CASE(2) SKCONV_CASE(3)
#if RMAX >= 12
    SKCONV_CASE(4) SKCONV_CASE(5) SKCONV_CASE(6)
#endif
#if RMAX >= 24
    SKCONV_CASE(7) SKCONV_CASE(8) SKCONV_CASE(9) SKCONV_CASE(10) SKCONV_CASE(11)
    SKCONV_CASE(12)
#endif
    default: break;
    }
#undef SKCONV_CASE
}

TARGET static void
NAME(conv_dw)(const conv_geometry *g, const T *x, const T *w, T *out,
              Py_ssize_t n0, Py_ssize_t n1)
{
    const Py_ssize_t C = g->C, F = g->G, rmax = RMAX / 2;
    const Py_ssize_t nb = (g->OW + rmax - 1) / rmax;
    const Py_ssize_t base = nb ? g->OW / nb : 0, extra = nb ? g->OW % nb : 0;
    for (Py_ssize_t n = n0; n < n1; n++) {
        for (Py_ssize_t od = 0; od < g->OD; od++) {
            for (Py_ssize_t oh = 0; oh < g->OH; oh++) {
                const T *xrow = x + ((n * g->D + od * g->sd) * g->H + oh * g->sh) * g->W * C;
                T *orow = out + ((n * g->OD + od) * g->OH + oh) * g->OW * F;
                for (Py_ssize_t c0 = 0; c0 < F; c0 += VW) {
                    const Py_ssize_t nc = F - c0 < VW ? F - c0 : VW;
                    Py_ssize_t ow = 0;
                    for (Py_ssize_t b = 0; b < nb; b++) {
                        const int R = (int)(base + (b < extra));
                        NAME(blocks_dw)(g, xrow + c0 + ow * g->sw * C, w + c0, orow + c0 + ow * F,
                                        nc, R);
                        ow += R;
                    }
                }
            }
        }
    }
}
