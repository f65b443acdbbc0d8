"""
Past one machine: the card's pipeline on a dask cluster
=======================================================

Feature extraction is independent from sample to sample, so a fitted skconv
transformer given a :mod:`dask.array` chunked along the samples returns a lazy dask
array, one block per chunk, computed by the workers that hold the chunks. Fitting
on a dask array reads only what it needs: :class:`skconv.KMeansConv` computes the
chunks its random patches come from. This example starts a
:class:`distributed.LocalCluster` of two worker processes on this machine, the
same code that runs on a cluster of many, fits the card's pipeline on a dask
array, and checks that the features computed by the workers are the in-memory
ones. It needs the dask extra: ``pip install ".[dask]"``.
"""

import os
import time

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skconv import KMeansConv, Pool

# SKCONV_EXAMPLES_SMALL=1 learns fewer filters (the tests do)
SMALL = os.environ.get("SKCONV_EXAMPLES_SMALL") == "1"


def pipeline():
    conv = KMeansConv(64 if SMALL else 400, kernel_size=4, input_shape=(8, 8), random_state=0)
    return Pipeline([("conv", conv), ("pool", Pool()), ("clf", LogisticRegression(max_iter=2000))])


if __name__ == "__main__":  # worker processes import this file: start the cluster once
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                        stratify=y)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        # in a real run the chunks come from storage (zarr, HDF5, many files), not memory
        X_train_d = da.from_array(X_train, chunks=(300, 64))
        X_test_d = da.from_array(X_test, chunks=(300, 64))
        start = time.perf_counter()
        model = pipeline().fit(X_train_d, y_train)
        features = model[:-1].transform(X_test_d)  # lazy: nothing is computed yet
        print(f"test features: {features!r}")
        predicted = model[-1].predict(client.compute(features).result())
        elapsed = time.perf_counter() - start
        accuracy = float(np.mean(predicted == y_test))
        print(f"fitted on a dask array, features computed by {len(client.nthreads())} "
              f"workers: test accuracy {accuracy:.4f} ({elapsed:.1f} s)")
        in_memory = pipeline().fit(X_train, y_train)
        same = np.allclose(client.compute(features).result(), in_memory[:-1].transform(X_test),
                           rtol=1e-6)
        print(f"the same features as in memory: {same}")
