"""Streaming statistics of rows: the mean and covariance behind ZCA and PCAConv."""

import numpy as np

__all__ = ["RunningMoments"]

# Rows per float64 block when accumulating: bounds the temporary centred copy to
# about 64 MiB whatever the number of rows given at once.
_BLOCK_ELEMENTS = 2**23


class RunningMoments:
    """Mean and centred scatter of rows given in chunks (float64, pairwise merge).

    The scatter ``sum_i (x_i - mean)(x_i - mean)^T`` is kept centred, not as raw
    sums of outer products, so that large means do not cancel away the variance;
    chunks are merged with the pairwise update of Chan, Golub & LeVeque (1979).
    """

    def __init__(self, dim):
        self.n = 0
        self.mean = np.zeros(dim, dtype=np.float64)
        self.scatter = np.zeros((dim, dim), dtype=np.float64)

    def update(self, rows):
        """Add the rows of a 2-D array (any real dtype)."""
        dim = rows.shape[1]
        block = max(1, _BLOCK_ELEMENTS // max(dim, 1))
        for start in range(0, rows.shape[0], block):
            chunk = rows[start:start + block]
            m = chunk.shape[0]
            if m == 0:
                continue
            mean_b = chunk.mean(axis=0, dtype=np.float64)
            centred = chunk.astype(np.float64) - mean_b
            total = self.n + m
            delta = mean_b - self.mean
            self.mean = self.mean + delta * (m / total)
            self.scatter += centred.T @ centred + np.outer(delta, delta) * (self.n * m / total)
            self.n = total

    def covariance(self):
        """The unbiased covariance (divisor ``n - 1``), exactly symmetric."""
        cov = self.scatter / (self.n - 1)
        return 0.5 * (cov + cov.T)
