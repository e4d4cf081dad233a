"""librec.Model: every kind of recommender behind one class."""
import ctypes
import numbers
import sys

from . import _arrays, errors
from ._handle import Handle, ids, params as _params
from ._lib import fn, PROGRESS_FN

_TYPES = {1: "int", 2: "float", 3: "str", 4: "bool"}
INCLUDE_SEEN = 1


def models():
    """{kind: one-line summary} of every model kind, from the library."""
    out, i = {}, 0
    kind, summary = ctypes.c_char_p(), ctypes.c_char_p()
    while True:
        try:
            fn("rec_model_kind_at")(i, ctypes.byref(kind), ctypes.byref(summary))
        except errors.RangeError:
            return out
        out[kind.value.decode()] = summary.value.decode()
        i += 1


def _is_one(x):
    return isinstance(x, (str, bytes, numbers.Integral))


def _bar(epoch, epochs, loss):
    width = 30
    done = width * epoch // max(epochs, 1)
    tail = "" if loss != loss else "  loss %.5g" % loss
    sys.stderr.write("\r[%s%s] %d/%d%s" % ("#" * done, "." * (width - done), epoch, epochs,
                                           tail))
    if epoch == epochs:
        sys.stderr.write("\n")
    sys.stderr.flush()
    return False


class Model(Handle):
    """Model(kind, **params): an unfitted model of a kind (librec.models())
    with its parameters by key (Model.params(kind) lists them)."""
    _destroy = staticmethod(fn("rec_model_destroy"))
    _what = "Model"

    def __init__(self, kind, **params):
        out = ctypes.c_void_p()
        p = _params(params)
        try:
            fn("rec_model_create")(ctypes.byref(out), kind.encode("utf-8"), p)
        finally:
            fn("rec_params_destroy")(p)
        self._own(out.value)
        self._forget()

    def _forget(self):
        self._nu = self._ni = None
        self._item_ix = None

    @staticmethod
    def params(kind):
        """The kind's parameters: a list of dicts with key, type, default
        (text), lo, hi (bounds of numbers), choices and help."""
        out, i = [], 0
        key, de, ch, hp = (ctypes.c_char_p() for _ in range(4))
        ty, lo, hi = ctypes.c_int(), ctypes.c_double(), ctypes.c_double()
        while True:
            try:
                fn("rec_model_param_at")(kind.encode("utf-8"), i, ctypes.byref(key),
                                         ctypes.byref(ty), ctypes.byref(de), ctypes.byref(lo),
                                         ctypes.byref(hi), ctypes.byref(ch), ctypes.byref(hp))
            except errors.RangeError:
                return out
            out.append({"key": key.value.decode(), "type": _TYPES.get(ty.value, "?"),
                        "default": de.value.decode() if de.value is not None else None,
                        "lo": lo.value, "hi": hi.value,
                        "choices": ch.value.decode() if ch.value else None,
                        "help": hp.value.decode() if hp.value else ""})
            i += 1

    @classmethod
    def load(cls, path):
        """A model saved by save()."""
        out = ctypes.c_void_p()
        fn("rec_model_load")(ctypes.byref(out), str(path).encode("utf-8"))
        self = cls.__new__(cls)
        self._own(out.value)
        self._forget()
        return self

    @property
    def kind(self):
        return fn("rec_model_kind")(self._p).decode()

    def fit(self, dataset, progress=None):
        """Trains on dataset.  progress: True for a bar on stderr when it is
        a terminal, or a callable(epoch, epochs, loss) returning True to
        stop early (the model keeps the state it reached).  Returns self."""
        stopped, failure = [False], []
        cb = None
        if progress is True:
            user = _bar if sys.stderr.isatty() else None
        else:
            user = progress or None
        if user is not None:
            def call(_, epoch, epochs, loss):
                try:
                    stop = bool(user(epoch, epochs, loss))
                except BaseException as e:
                    failure.append(e)
                    stop = True
                stopped[0] = stop
                return int(stop)
            cb = PROGRESS_FN(call)
        self._forget()
        try:
            fn("rec_model_fit")(self._p, dataset._p, cb or PROGRESS_FN(), None)
        except errors.Cancelled:
            if failure:
                raise failure[0]
            if not stopped[0]:
                raise
        return self

    # ---- sizes and ids ---------------------------------------------------------

    @property
    def num_users(self):
        if self._nu is None:
            v = ctypes.c_size_t()
            fn("rec_model_num_users")(self._p, ctypes.byref(v))
            self._nu = v.value
        return self._nu

    @property
    def num_items(self):
        if self._ni is None:
            v = ctypes.c_size_t()
            fn("rec_model_num_items")(self._p, ctypes.byref(v))
            self._ni = v.value
        return self._ni

    @property
    def user_ids(self):
        """External user ids by dense index (the training data's)."""
        return ids("rec_model_user_id", self._p, self.num_users)

    @property
    def item_ids(self):
        """External item ids by dense index."""
        return ids("rec_model_item_id", self._p, self.num_items)

    def _index(self, x, side):
        """A user or item given as index (int) or external id (str)."""
        if isinstance(x, numbers.Integral) and not isinstance(x, bool):
            return int(x)
        if isinstance(x, bytes):
            x = x.decode("utf-8")
        if not isinstance(x, str):
            raise TypeError("a %s is an index (int) or an id (str), got %r" % (side, x))
        v = ctypes.c_int32()
        fn("rec_model_%s_index" % side)(self._p, x.encode("utf-8"), ctypes.byref(v))
        return v.value

    def _id(self, x, side):
        if isinstance(x, (str, bytes)):
            return x.encode("utf-8") if isinstance(x, str) else x
        if not isinstance(x, numbers.Integral) or isinstance(x, bool):
            raise TypeError("a %s is an index (int) or an id (str), got %r" % (side, x))
        s = ctypes.c_char_p()
        fn("rec_model_%s_id" % side)(self._p, int(x), ctypes.byref(s))
        return s.value

    def _indices(self, xs, side, name):
        """Users or items as an int32 C array (zero-copy for int32 arrays)."""
        if _arrays.is_strings(xs):
            return _arrays.array_in([self._index(x, side) for x in xs], "int32", name)
        return _arrays.array_in(xs, "int32", name)

    def _item_of_id(self, s):
        v = ctypes.c_int32()
        fn("rec_model_item_index")(self._p, s, ctypes.byref(v))
        return v.value

    # ---- recommending -----------------------------------------------------------

    def _filter(self, allow, deny):
        if allow is None and deny is None:
            return None
        f = ctypes.c_void_p()
        fn("rec_filter_create")(ctypes.byref(f), self.num_items)
        try:
            for xs, call in ((allow, "rec_filter_allow"), (deny, "rec_filter_deny")):
                if xs is not None:
                    a = self._indices(xs, "item", "allow" if call.endswith("allow") else "deny")
                    fn(call)(f, a.ptr, a.n)
        except BaseException:
            fn("rec_filter_destroy")(f)
            raise
        return f

    def recommend(self, users, k=10, include_seen=False, allow=None, deny=None):
        """Top-k items for one user (an index or an id) or many (a sequence
        or int32 array of indices, or of ids): (items, scores) as item
        indices and scores, best first.  One user: 1-D, as long as the
        list.  Many: 2-D (len(users), k), rows padded with -1 and -inf.
        allow / deny: items (indices or ids) to restrict to / to leave out.
        The training items of each user are left out unless include_seen.
        Many users are one C call, spread over librec's threads."""
        if not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError("k must be a positive integer, got %r" % (k,))
        one = _is_one(users)
        u = _arrays.array_in([self._index(users, "user")], "int32", "users") if one \
            else self._indices(users, "user", "users")
        f = self._filter(allow, deny)
        try:
            items, ip = _arrays.empty((u.n, k), "int32")
            scores, sp = _arrays.empty((u.n, k), "float32")
            fn("rec_model_recommend_batch")(self._p, u.ptr, u.n, k,
                                            INCLUDE_SEEN if include_seen else 0, f, ip, sp)
        finally:
            if f is not None:
                fn("rec_filter_destroy")(f)
        items, scores = _arrays.out(items, (u.n, k)), _arrays.out(scores, (u.n, k))
        if not one:
            return items, scores
        row_i, row_s = items[0], scores[0]
        n = sum(1 for x in row_i if x >= 0)
        return row_i[:n], row_s[:n]

    def recommend_history(self, items, k=10, ratings=None, include_seen=False):
        """Top-k for an anonymous user with this history (items as indices
        or ids, unknown ids skipped; ratings optional): (items, scores)."""
        hist = _arrays.strings_in([self._id(x, "item") for x in items], "items")
        r = _arrays.array_in(ratings, "float32", "ratings") if ratings is not None else None
        if r is not None and r.n != hist.n:
            raise ValueError("ratings has %d entries, items %d" % (r.n, hist.n))
        ids = (ctypes.c_char_p * k)()
        sc = (ctypes.c_float * k)()
        n = ctypes.c_size_t()
        fn("rec_model_recommend_history")(self._p, hist.ptr, r.ptr if r else None, hist.n, k,
                                          INCLUDE_SEEN if include_seen else 0, ids, sc,
                                          ctypes.byref(n))
        return (_arrays.to_list_or_array([self._item_of_id(ids[j]) for j in range(n.value)],
                                         "int32"),
                _arrays.to_list_or_array([sc[j] for j in range(n.value)], "float32"))

    def similar(self, items, k=10):
        """The k items most similar to an item (index or id): (items,
        scores); for a sequence of items, 2-D arrays padded with -1/-inf."""
        one = _is_one(items)
        rows_i, rows_s = [], []
        ids = (ctypes.c_char_p * k)()
        sc = (ctypes.c_float * k)()
        n = ctypes.c_size_t()
        for x in ([items] if one else items):
            fn("rec_model_similar")(self._p, self._id(x, "item"), k, ids, sc, ctypes.byref(n))
            got = n.value
            rows_i.append([self._item_of_id(ids[j]) for j in range(got)] + [-1] * (k - got))
            rows_s.append([sc[j] for j in range(got)] + [float("-inf")] * (k - got))
        if one:
            got = sum(1 for x in rows_i[0] if x >= 0)
            return (_arrays.to_list_or_array(rows_i[0][:got], "int32"),
                    _arrays.to_list_or_array(rows_s[0][:got], "float32"))
        return (_arrays.to_list_or_array(rows_i, "int32"),
                _arrays.to_list_or_array(rows_s, "float32"))

    def score(self, users, items):
        """The model's score of (user, item) pairs: one pair gives a float;
        two sequences of equal length give an array."""
        v = ctypes.c_float()
        if _is_one(users) and _is_one(items):
            fn("rec_model_score")(self._p, self._id(users, "user"), self._id(items, "item"),
                                  ctypes.byref(v))
            return v.value
        if _is_one(users) or _is_one(items) or len(users) != len(items):
            raise ValueError("score takes one user and one item, or two sequences of equal "
                             "length")
        out = []
        for u, i in zip(users, items):
            fn("rec_model_score")(self._p, self._id(u, "user"), self._id(i, "item"),
                                  ctypes.byref(v))
            out.append(v.value)
        return _arrays.to_list_or_array(out, "float32")

    def explain(self, user, item, k=5):
        """Why item would be recommended to user: [(reason, weight), ...],
        largest weight first (itemcf, usercf, tfidf)."""
        rs = (ctypes.c_char_p * k)()
        ws = (ctypes.c_float * k)()
        n = ctypes.c_size_t()
        fn("rec_model_explain")(self._p, self._id(user, "user"), self._id(item, "item"), k, rs,
                                ws, ctypes.byref(n))
        return [(rs[j].decode("utf-8"), ws[j]) for j in range(n.value)]

    # ---- vectors and files ---------------------------------------------------------

    def _vectors(self, side, rows):
        dim = ctypes.c_int()
        fn("rec_model_vectors")(self._p, side, None, 0, ctypes.byref(dim))
        buf, ptr = _arrays.empty((rows, dim.value), "float32")
        fn("rec_model_vectors")(self._p, side, ptr, rows * dim.value, ctypes.byref(dim))
        return _arrays.out(buf, (rows, dim.value))

    def user_vectors(self):
        """(num_users, dim) float32: user . item is the ranking score
        (Unsupported for kinds whose scores are not inner products)."""
        return self._vectors(0, self.num_users)

    def item_vectors(self):
        """(num_items, dim) float32."""
        return self._vectors(1, self.num_items)

    def save(self, path):
        fn("rec_model_save")(self._p, str(path).encode("utf-8"))

    def __repr__(self):
        if self.closed:
            return "<librec.Model (closed)>"
        return "<librec.Model %s>" % self.kind
