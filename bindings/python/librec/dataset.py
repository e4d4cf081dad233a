"""librec.Dataset: interactions with external ids, from arrays, files or
the generator."""
import ctypes

from . import _arrays
from ._handle import Handle, ids, params
from ._lib import fn


class Dataset(Handle):
    """A dataset of (user, item[, rating][, timestamp]) rows.  Ids are the
    caller's own (ints become their decimal strings); users and items get
    dense indices 0..n-1 in order of first appearance."""
    _destroy = staticmethod(fn("rec_dataset_destroy"))
    _what = "Dataset"

    def __init__(self, _ptr):
        if not isinstance(_ptr, int):
            raise TypeError("use Dataset.from_arrays, Dataset.load or Dataset.generate")
        self._own(_ptr)

    @classmethod
    def _make(cls, call, *args):
        out = ctypes.c_void_p()
        call(ctypes.byref(out), *args)
        return cls(out.value)

    @classmethod
    def from_arrays(cls, users, items, ratings=None, timestamps=None):
        """Rows from columns: users and items are integer ids (int32/int64
        arrays pass zero-copy) or strings; ratings float32; timestamps int64.
        1,000,000 rows take a fraction of a second."""
        n = len(users)
        if len(items) != n:
            raise ValueError("users and items differ in length: %d and %d" % (n, len(items)))
        r = _arrays.array_in(ratings, "float32", "ratings") if ratings is not None else None
        t = _arrays.array_in(timestamps, "int64", "timestamps") if timestamps is not None \
            else None
        for a, name in ((r, "ratings"), (t, "timestamps")):
            if a is not None and a.n != n:
                raise ValueError("%s has %d entries, users %d" % (name, a.n, n))
        rp = r.ptr if r else None
        tp = t.ptr if t else None
        us, it = _arrays.is_strings(users), _arrays.is_strings(items)
        if us or it:
            u = _arrays.strings_in(users if us else [str(x) for x in users], "users")
            i = _arrays.strings_in(items if it else [str(x) for x in items], "items")
            return cls._make(fn("rec_dataset_from_strings"), u.ptr, i.ptr, rp, tp, n)
        u = _arrays.array_in(users, "int64", "users")
        i = _arrays.array_in(items, "int64", "items")
        return cls._make(fn("rec_dataset_from_arrays"), u.ptr, i.ptr, rp, tp, n)

    @classmethod
    def load(cls, path, format="auto", **options):
        """Reads a file (csv, tsv, movielens, goodbooks, ...: see
        rec_dataset_load(3)); options are its keys (columns, delimiter, ...)."""
        p = params(options) if options else None
        try:
            return cls._make(fn("rec_dataset_load"), str(path).encode("utf-8"),
                             format.encode("utf-8"), p)
        finally:
            if p:
                fn("rec_params_destroy")(p)

    @classmethod
    def generate(cls, **options):
        """The synthetic dataset (users=500, items=800, seed=42, ...)."""
        p = params(options)
        try:
            return cls._make(fn("rec_dataset_generate"), p)
        finally:
            fn("rec_params_destroy")(p)

    def split(self, how, fold=0, seed=42):
        """(train, test) by "holdout:R", "user:R", "last:N", "kfold:K" (with
        fold) or "time:T"; both share this dataset's ids."""
        tr, te = ctypes.c_void_p(), ctypes.c_void_p()
        fn("rec_dataset_split")(self._p, how.encode("utf-8"), fold, seed, ctypes.byref(tr),
                                ctypes.byref(te))
        return Dataset(tr.value), Dataset(te.value)

    def _count(self, name, ctype):
        v = ctype()
        fn(name)(self._p, ctypes.byref(v))
        return v.value

    @property
    def num_users(self):
        return self._count("rec_dataset_num_users", ctypes.c_int32)

    @property
    def num_items(self):
        return self._count("rec_dataset_num_items", ctypes.c_int32)

    @property
    def num_interactions(self):
        return self._count("rec_dataset_num_interactions", ctypes.c_int64)

    @property
    def user_ids(self):
        """External user ids by dense index."""
        return ids("rec_dataset_user_id", self._p, self.num_users)

    @property
    def item_ids(self):
        """External item ids by dense index."""
        return ids("rec_dataset_item_id", self._p, self.num_items)

    def __len__(self):
        return self.num_interactions

    def __repr__(self):
        if self.closed:
            return "<librec.Dataset (closed)>"
        buf = ctypes.create_string_buffer(512)
        try:
            fn("rec_dataset_summary")(self._p, buf, len(buf))
        except Exception:
            pass
        return "<librec.Dataset: %s>" % buf.value.decode("utf-8", "replace")
