"""The Python package's overhead and speed, beside the C API in the same
process:
    LIBREC_LIBRARY=build/librec.so.0 /usr/bin/python3 bench/python_recommend.py \
        [../shared/data/ml-latest-small/ratings.csv]
Prints fit seconds (ALS, defaults), recommend(all users, k=10) through the
package vs rec_model_recommend_batch called straight through ctypes with
preallocated arrays (best of 20 each), one recommend call per user through
the package, and Dataset.from_arrays of 1,000,000 NumPy rows (best of 5)."""
import ctypes
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings",
                                "python"))
import librec  # noqa: E402
from librec._lib import fn  # noqa: E402


def best(f, reps):
    t = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t = min(t, time.perf_counter() - t0)
    return t


path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/ml-latest-small/ratings.csv"
data = librec.Dataset.load(path)
t0 = time.perf_counter()
model = librec.Model("als").fit(data)
print("fit als (defaults) through Python: %.3f s" % (time.perf_counter() - t0))
nu = model.num_users
users = np.arange(nu, dtype=np.int32)
items = np.empty((nu, 10), np.int32)
scores = np.empty((nu, 10), np.float32)
ip = items.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
sp = scores.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
up = users.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
c = best(lambda: fn("rec_model_recommend_batch")(model._p, up, nu, 10, 0, None, ip, sp), 20)
py = best(lambda: model.recommend(users, k=10), 20)
one = best(lambda: [model.recommend(int(u), k=10) for u in users], 3)
print("recommend %d users, k=10: C batch %.4f s, Python batch %.4f s (%+.1f%%), "
      "Python one call per user %.4f s" % (nu, c, py, 100 * (py - c) / c, one))
rng = np.random.default_rng(1)
n = 1000000
u = rng.integers(0, 100000, n)
i = rng.integers(0, 50000, n)
r = rng.integers(1, 6, n).astype(np.float32)
t = best(lambda: librec.Dataset.from_arrays(u, i, ratings=r).close(), 5)
print("Dataset.from_arrays, %d rows of int64 ids + float32 ratings: %.4f s" % (n, t))
