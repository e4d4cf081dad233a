"""librec.Index: top-k search over vectors (exact "flat"; "hnsw" when the
library has index kinds)."""
import ctypes

from . import _arrays, errors
from ._handle import Handle, params as _params
from ._lib import fn, has


class Index(Handle):
    """Index(dim, kind="flat", metric="ip", **params).  metric "ip" or
    "cosine"; params go to the index kind (for "hnsw": M, ef_construction,
    ef, seed)."""
    _destroy = staticmethod(fn("rec_index_destroy"))
    _what = "Index"

    def __init__(self, dim, kind="flat", metric="ip", **params):
        out = ctypes.c_void_p()
        if has("rec_index_create_kind"):
            p = _params(dict(params, metric=metric))
            try:
                fn("rec_index_create_kind")(ctypes.byref(out), kind.encode("utf-8"), dim, p)
            finally:
                fn("rec_params_destroy")(p)
        elif kind == "flat" and not params:
            fn("rec_index_create")(ctypes.byref(out), dim, metric.encode("utf-8"))
        else:
            raise errors.Unsupported("librec: this library has only the flat index without "
                                     "params (asked for kind %r, params %r)" % (kind, params))
        self._own(out.value)
        self.dim, self.kind = dim, kind

    def _matrix(self, x, name):
        a = _arrays.array_in(x, "float32", name, ndim=2)
        if a.n % self.dim:
            raise ValueError("%s must have %d columns" % (name, self.dim))
        if _arrays.np is not None and a.keep.shape[1] != self.dim:
            raise ValueError("%s must have %d columns, got shape %s"
                             % (name, self.dim, a.keep.shape))
        return a, a.n // self.dim

    def add(self, vectors):
        """Appends rows of an (n, dim) float32 array (labels size..size+n-1)."""
        a, n = self._matrix(vectors, "vectors")
        fn("rec_index_add")(self._p, a.ptr, n)

    def __len__(self):
        n = ctypes.c_size_t()
        fn("rec_index_size")(self._p, ctypes.byref(n))
        return n.value

    def search(self, queries, k, ef=None):
        """(labels, scores), each (nq, k), best first; -1 / -inf pad rows
        with fewer than k vectors.  ef: HNSW's search width for this call."""
        a, nq = self._matrix(queries, "queries")
        labels, lp = _arrays.empty((nq, k), "int32")
        scores, sp = _arrays.empty((nq, k), "float32")
        if ef is not None:
            if not has("rec_index_search_ef"):
                raise errors.Unsupported("librec: this library has no search width (ef)")
            fn("rec_index_search_ef")(self._p, a.ptr, nq, k, ef, None, lp, sp)
        else:
            fn("rec_index_search")(self._p, a.ptr, nq, k, None, lp, sp)
        return _arrays.out(labels, (nq, k)), _arrays.out(scores, (nq, k))
