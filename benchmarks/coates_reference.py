"""Reference single-layer k-means pipeline (Coates, Lee & Ng, AISTATS 2011).

The published CIFAR-10 pipeline written the straightforward way, with numpy,
scipy and scikit-learn only (no skconv), so skconv's results and speed can be
compared against it:

1. ``n_patches`` random 6x6x3 patches (random training image, random
   position);
2. per-patch contrast normalization ``(p - mean(p)) / sqrt(var(p) + 10)`` on
   the 0..255 pixel scale (``var`` normalized by ``dim - 1``, as MATLAB's
   ``var`` in the authors' code);
3. ZCA whitening ``(p - M) @ W`` with ``W = V diag(1 / sqrt(l + 0.1)) V^T``
   from the eigendecomposition ``C = V diag(l) V^T`` of the patch covariance
   (normalized by ``n - 1``, as MATLAB's ``cov``);
4. k-means with ``K`` centroids: scikit-learn's Lloyd ``KMeans``, one
   initialization, 50 iterations (``tol=0``: no early stop short of exact
   convergence, as the authors' fixed 50 iterations);
5. for every image, the explicit matrix of all 27 x 27 patches (stride 1),
   normalized and whitened as above, Euclidean distances ``z_k`` to the
   centroids and the triangle encoding ``f_k = max(0, mean_k(z) - z_k)``;
6. sum pooling over four quadrants (rows and columns split at
   ``round(27 / 2) = 14``), ``4 K`` features per image, ordered
   (top-left, top-right, bottom-left, bottom-right) x centroid;
7. standardization with the training mean and ``sqrt(var + 0.01)`` (in
   float32, in place), and a bias term, regularized like the weights as the
   authors' constant-1 feature column is;
8. one-vs-rest squared-hinge linear SVM, ``C = 100``, with the objective of
   the authors' code, trained by truncated Newton or, as the authors did, by
   L-BFGS.

Steps 7 and 8, the classifier every k-means benchmark shares, are in
``l2svm.py`` (see its ``train_l2svm``); this module is steps 1 to 6 and the
script that runs them all.

The authors' code takes patches from images in turn (patch ``i`` from image
``i mod n``); here each patch comes from an image drawn at random.

Run ``python benchmarks/coates_reference.py --help`` for the options. It
prints the wall time of each stage, the feature-extraction throughput, the
peak resident memory and the test accuracy. On this repository's data the
accuracy is on CIFAR-10 decoded from JPEG (quality 75), not the original
pixels, so it is not directly comparable to the paper's 77.9 %.

Reference: A. Coates, H. Lee and A. Y. Ng, "An Analysis of Single-Layer
Networks in Unsupervised Feature Learning", AISTATS 2011.
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA_DIR, peak_memory_mib  # noqa: E402
from l2svm import SVM_C, predict_l2svm, standardize, train_l2svm  # noqa: E402

DEFAULT_DATA = DATA_DIR / "cifar10_jpeg_q75.npz"

PATCH_SIZE = 6
NORM_EPS = 10.0  # contrast normalization, on the 0..255 pixel scale
ZCA_EPS = 0.1


# ----------------------------------------------------------------- data


def load_cifar(path=DEFAULT_DATA, n_train=None, n_test=None):
    """First ``n_train`` training and ``n_test`` test images and labels (uint8 NHWC)."""
    with np.load(path) as data:
        X_train, y_train = data["X_train"][:n_train], data["y_train"][:n_train]
        X_test, y_test = data["X_test"][:n_test], data["y_test"][:n_test]
    return X_train, y_train, X_test, y_test


# ----------------------------------------------------------------- patches


def sample_patches(images, n_patches, patch_size=PATCH_SIZE, rng=None):
    """``n_patches`` random patches (random image, random position), flattened (p, p, c)."""
    rng = check_random_state(rng)
    n, height, width, _ = images.shape
    which = rng.randint(n, size=n_patches)
    top = rng.randint(height - patch_size + 1, size=n_patches)
    left = rng.randint(width - patch_size + 1, size=n_patches)
    offsets = np.arange(patch_size)
    rows = top[:, None, None] + offsets[None, :, None]
    cols = left[:, None, None] + offsets[None, None, :]
    patches = images[which[:, None, None], rows, cols]  # (n_patches, p, p, c)
    return patches.reshape(n_patches, -1)


def all_patches(images, patch_size=PATCH_SIZE):
    """Every valid patch of every image, stride 1: (n * rows * cols, p * p * c).

    Rows are ordered by image, then patch row, then patch column; each patch is
    flattened in (p, p, c) order like :func:`sample_patches`.
    """
    n, height, width, channels = images.shape
    rows, cols = height - patch_size + 1, width - patch_size + 1
    out = np.empty((n, rows, cols, patch_size, patch_size, channels), dtype=images.dtype)
    for dy in range(patch_size):
        for dx in range(patch_size):
            out[:, :, :, dy, dx, :] = images[:, dy : dy + rows, dx : dx + cols, :]
    return out.reshape(n * rows * cols, -1)


def contrast_normalize(patches, eps=NORM_EPS):
    """(p - mean(p)) / sqrt(var(p) + eps) per row, var with divisor dim - 1 (float64)."""
    patches = np.asarray(patches, dtype=np.float64)
    mean = patches.mean(axis=1, keepdims=True)
    var = patches.var(axis=1, ddof=1, keepdims=True)
    return (patches - mean) / np.sqrt(var + eps)


def fit_zca(patches, eps=ZCA_EPS):
    """Mean ``M`` and symmetric whitening matrix ``W`` such that whitened = (p - M) @ W."""
    mean = patches.mean(axis=0)
    cov = np.cov(patches, rowvar=False)  # divisor n - 1
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    whiten = eigenvectors @ np.diag(1.0 / np.sqrt(eigenvalues + eps)) @ eigenvectors.T
    return mean, whiten


@dataclass
class Dictionary:
    """What the feature extractor needs: whitening and centroids."""

    mean: np.ndarray  # (dim,) float64
    whiten: np.ndarray  # (dim, dim) float64, symmetric
    centroids: np.ndarray  # (K, dim) float32
    patch_size: int = PATCH_SIZE


def run_kmeans(whitened, n_clusters, max_iter=50, random_state=0):
    """Lloyd k-means, one initialization, at most ``max_iter`` iterations."""
    km = KMeans(
        n_clusters=n_clusters,
        algorithm="lloyd",
        n_init=1,
        max_iter=max_iter,
        tol=0.0,
        random_state=random_state,
    )
    km.fit(whitened)
    return km.cluster_centers_.astype(np.float32)


def learn_dictionary(
    images, n_filters, *, n_patches=400_000, max_iter=50, patch_size=PATCH_SIZE, random_state=0,
    whiten_eps=ZCA_EPS,
):
    """Patches -> contrast normalization -> ZCA -> k-means.

    Returns
    -------
    dictionary : Dictionary
    timings : dict
        Wall seconds of the stages "patches", "whitening" (normalization and
        ZCA) and "kmeans".
    """
    rng = np.random.RandomState(random_state)
    timings = {}
    t0 = time.perf_counter()
    patches = sample_patches(images, n_patches, patch_size, rng)
    timings["patches"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    patches = contrast_normalize(patches)
    mean, whiten = fit_zca(patches, eps=whiten_eps)
    whitened = ((patches - mean) @ whiten).astype(np.float32)
    del patches
    timings["whitening"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    centroids = run_kmeans(whitened, n_filters, max_iter=max_iter, random_state=rng)
    timings["kmeans"] = time.perf_counter() - t0
    return Dictionary(mean, whiten, centroids, patch_size), timings


# ----------------------------------------------------------------- features


def triangle_encode(whitened, centroids):
    """f_k = max(0, mean_k(z) - z_k) with z_k = ||x - c_k||, in place on one float32 block."""
    xx = np.einsum("ij,ij->i", whitened, whitened)
    cc = np.einsum("ij,ij->i", centroids, centroids)
    z = whitened @ centroids.T  # becomes the distances, then the codes
    z *= -2.0
    z += xx[:, None]
    z += cc[None, :]
    np.maximum(z, 0.0, out=z)  # rounding can leave tiny negatives
    np.sqrt(z, out=z)
    mu = z.mean(axis=1, keepdims=True)
    np.subtract(mu, z, out=z)
    np.maximum(z, 0.0, out=z)
    return z


def quadrant_pool(codes, rows, cols):
    """Sum over quadrants split at round(rows / 2), round(cols / 2): (n, 4 K)."""
    n_filters = codes.shape[-1]
    maps = codes.reshape(-1, rows, cols, n_filters)
    half_r, half_c = int(round(rows / 2)), int(round(cols / 2))
    quadrants = [
        maps[:, :half_r, :half_c].sum(axis=(1, 2)),
        maps[:, :half_r, half_c:].sum(axis=(1, 2)),
        maps[:, half_r:, :half_c].sum(axis=(1, 2)),
        maps[:, half_r:, half_c:].sum(axis=(1, 2)),
    ]
    return np.concatenate(quadrants, axis=1)


def extract_features(images, dictionary, batch_size=100):
    """Triangle-encoded, quadrant-pooled features of every image: (n, 4 K) float32.

    Images are processed ``batch_size`` at a time; the largest temporary is
    the ``batch_size * 729 x K`` float32 code block (466 MB for 100 images
    and K = 1600).
    """
    p = dictionary.patch_size
    n, height, width, _ = images.shape
    rows, cols = height - p + 1, width - p + 1
    K = dictionary.centroids.shape[0]
    features = np.empty((n, 4 * K), dtype=np.float32)
    for start in range(0, n, batch_size):
        batch = images[start : start + batch_size]
        patches = contrast_normalize(all_patches(batch, p))
        whitened = ((patches - dictionary.mean) @ dictionary.whiten).astype(np.float32)
        del patches
        codes = triangle_encode(whitened, dictionary.centroids)
        features[start : start + len(batch)] = quadrant_pool(codes, rows, cols)
    return features


# ----------------------------------------------------------------- benchmark


def run(
    data=DEFAULT_DATA,
    n_train=50_000,
    n_test=10_000,
    n_filters=1600,
    n_patches=400_000,
    kmeans_iter=50,
    batch_size=100,
    C=SVM_C,
    svm_iter=1000,
    random_state=0,
    solver="newton",
):
    """Run the whole pipeline; returns a dict of timings and results."""
    X_train, y_train, X_test, y_test = load_cifar(data, n_train, n_test)
    dictionary, timings = learn_dictionary(
        X_train, n_filters, n_patches=n_patches, max_iter=kmeans_iter, random_state=random_state
    )

    t0 = time.perf_counter()
    F_train = extract_features(X_train, dictionary, batch_size)
    timings["train features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    F_test = extract_features(X_test, dictionary, batch_size)
    timings["test features"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    S_train, S_test = standardize(F_train, F_test)
    del F_train, F_test
    model = train_l2svm(S_train, y_train, C=C, max_iter=svm_iter, solver=solver)
    train_accuracy = float(np.mean(predict_l2svm(model, S_train) == y_train))
    test_accuracy = float(np.mean(predict_l2svm(model, S_test) == y_test))
    timings["classifier"] = time.perf_counter() - t0

    n_images = len(X_train) + len(X_test)
    feature_seconds = timings["train features"] + timings["test features"]
    return {
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_filters": n_filters,
        "n_patches": n_patches,
        "n_features": S_train.shape[1],
        "timings": timings,
        "images_per_s": n_images / feature_seconds,
        "peak_memory_mib": peak_memory_mib(),
        "svm_iterations": model.n_iter,
        "svm_message": model.message,
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
    }


def format_report(result):
    lines = [
        "Coates, Lee & Ng (2011) single-layer k-means pipeline, reference implementation",
        f"CIFAR-10 (JPEG q75): {result['n_train']} train / {result['n_test']} test images, "
        f"K = {result['n_filters']} centroids, {result['n_patches']} patches, "
        f"{result['n_features']} features",
        "",
        f"{'stage':<16} {'seconds':>10}",
        f"{'-' * 16} {'-' * 10}",
    ]
    for stage, seconds in result["timings"].items():
        lines.append(f"{stage:<16} {seconds:>10.2f}")
    lines.append(f"{'total':<16} {sum(result['timings'].values()):>10.2f}")
    lines += [
        "",
        f"{'feature extraction':<28} {result['images_per_s']:>10.1f} images/s",
        f"{'peak memory (ru_maxrss)':<28} {result['peak_memory_mib']:>10.0f} MiB",
        f"{'SVM iterations':<28} {result['svm_iterations']:>10d}  ({result['svm_message']})",
        f"{'train accuracy':<28} {100 * result['train_accuracy']:>10.2f} %",
        f"{'test accuracy':<28} {100 * result['test_accuracy']:>10.2f} %",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CIFAR-10 .npz file")
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--n-filters", type=int, default=1600, help="k-means centroids K")
    parser.add_argument("--n-patches", type=int, default=400_000)
    parser.add_argument("--kmeans-iter", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=100, help="images per feature batch")
    parser.add_argument("--C", type=float, default=SVM_C, help="SVM C (authors' convention)")
    parser.add_argument("--svm-iter", type=int, default=1000,
                        help="at most this many L-BFGS iterations or Newton steps")
    parser.add_argument("--solver", choices=["newton", "lbfgs"], default="newton",
                        help="'lbfgs' is the authors' method; 'newton' reaches the same "
                        "optimum faster (see l2svm.train_l2svm)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = run(
        data=args.data,
        n_train=args.n_train,
        n_test=args.n_test,
        n_filters=args.n_filters,
        n_patches=args.n_patches,
        kmeans_iter=args.kmeans_iter,
        batch_size=args.batch_size,
        C=args.C,
        svm_iter=args.svm_iter,
        random_state=args.seed,
        solver=args.solver,
    )
    print(format_report(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
