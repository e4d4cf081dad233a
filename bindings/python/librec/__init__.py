"""librec from Python: datasets from NumPy arrays, every model kind of the C
library, batch recommendations as arrays, evaluation and cross-validation.

    import librec
    data = librec.Dataset.load("ml-latest-small/ratings.csv")
    train, test = data.split("user:0.2")
    model = librec.Model("als", dim=64).fit(train)
    items, scores = model.recommend(range(train.num_users), k=10)
    print(librec.evaluate(model, test, ["ndcg@10", "recall@10"]))

Pure ctypes over librec.so.0 (found through LIBREC_LIBRARY, beside this
package, or the system's library path); NumPy is optional.
"""
from ._lib import lib as _clib
from .errors import (Error, InvalidArgument, OutOfMemory, IOFailure, FormatError, RangeError,
                     StateError, Unsupported, NotFound, Cancelled)
from .dataset import Dataset
from .model import Model, models
from .evaluate import evaluate, cross_validate
from .index import Index

__version__ = "0.2.0"


def library_version():
    """The loaded C library's version number (10000 major + 100 minor + patch)."""
    return _clib.rec_version_number()


def set_num_threads(n):
    """Threads of librec's pool (0: one per processor)."""
    from ._lib import fn
    fn("rec_set_num_threads")(n)


def get_num_threads():
    from ._lib import fn
    return fn("rec_get_num_threads")()


__all__ = ["Dataset", "Model", "Index", "models", "evaluate", "cross_validate", "Error",
           "InvalidArgument", "OutOfMemory", "IOFailure", "FormatError", "RangeError",
           "StateError", "Unsupported", "NotFound", "Cancelled", "library_version",
           "set_num_threads", "get_num_threads"]
