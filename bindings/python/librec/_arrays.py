"""Arrays in and out, with NumPy when it is importable and lists otherwise.

In: a contiguous 1-D NumPy array of the C type passes zero-copy (its buffer
is handed to librec); other dtypes of the right kind and Python sequences
are converted.  A wrong shape is a ValueError, a wrong kind of value a
TypeError, each naming the argument.
Out: NumPy arrays (librec writes into them directly) or lists.
"""
import ctypes
import numbers

try:
    import numpy as np
except ImportError:          # NumPy is optional
    np = None

_CT = {"int32": ctypes.c_int32, "int64": ctypes.c_int64, "float32": ctypes.c_float}
_KINDS = {"int32": "iu", "int64": "iu", "float32": "iuf"}


class Arr:
    """A C array view of some input: ptr (POINTER(ctype)), n, and whatever
    keeps the memory alive while librec reads it."""
    __slots__ = ("ptr", "n", "keep")

    def __init__(self, ptr, n, keep):
        self.ptr, self.n, self.keep = ptr, n, keep


def _np_in(x, ctype_name, name, ndim):
    want = np.dtype(ctype_name)
    if x.ndim != ndim:
        raise ValueError("%s must be %d-dimensional, got shape %s" % (name, ndim, x.shape))
    if x.dtype.kind not in _KINDS[ctype_name]:
        raise TypeError("%s must hold %s numbers, got dtype %s"
                        % (name, "integer" if ctype_name != "float32" else "real", x.dtype))
    if x.dtype.kind in "iu" and want.kind == "i" and x.dtype != want and x.size:
        info = np.iinfo(want)
        lo, hi = x.min(), x.max()
        if lo < info.min or hi > info.max:
            raise ValueError("%s holds %s, outside %s" % (name, lo if lo < info.min else hi,
                                                          ctype_name))
    if x.dtype != want or not x.flags.c_contiguous:
        x = np.ascontiguousarray(x, dtype=want)
    return Arr(x.ctypes.data_as(ctypes.POINTER(_CT[ctype_name])), x.size, x)


def array_in(x, ctype_name, name, ndim=1):
    """x as a C array of ctype_name ("int32", "int64" or "float32")."""
    if np is not None:
        if not isinstance(x, np.ndarray):
            if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
                raise TypeError("%s must be a sequence of numbers, got %s"
                                % (name, type(x).__name__))
            try:
                x = np.asarray(x)
            except ValueError as e:
                raise ValueError("%s: %s" % (name, e))
            if x.dtype == object or x.dtype.kind in "USb":
                raise TypeError("%s must hold numbers, got %s" % (name, x.dtype))
        return _np_in(x, ctype_name, name, ndim)
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise TypeError("%s must be a sequence of numbers, got %s" % (name, type(x).__name__))
    flat = list(x)
    if ndim == 2:
        rows = flat
        width = len(rows[0]) if rows else 0
        flat = []
        for r in rows:
            if not hasattr(r, "__len__") or len(r) != width:
                raise ValueError("%s must be a rectangular 2-dimensional sequence" % name)
            flat.extend(r)
    want_int = ctype_name != "float32"
    for v in flat:
        ok = isinstance(v, numbers.Integral) if want_int else isinstance(v, numbers.Real)
        if isinstance(v, bool) or not ok:
            raise TypeError("%s must hold %s, got %r" % (name, "integers" if want_int
                                                          else "real numbers", v))
        if hasattr(v, "__len__"):
            raise ValueError("%s must be %d-dimensional" % (name, ndim))
    buf = (_CT[ctype_name] * len(flat))(*flat)
    return Arr(ctypes.cast(buf, ctypes.POINTER(_CT[ctype_name])), len(flat), buf)


def strings_in(xs, name):
    """A sequence of str (or bytes) as a const char *[]."""
    enc = []
    for v in xs:
        if isinstance(v, str):
            enc.append(v.encode("utf-8"))
        elif isinstance(v, bytes):
            enc.append(v)
        elif np is not None and isinstance(v, np.str_):
            enc.append(str(v).encode("utf-8"))
        else:
            raise TypeError("%s must hold only strings once one is a string, got %r"
                            % (name, v))
    buf = (ctypes.c_char_p * len(enc))(*enc)
    return Arr(ctypes.cast(buf, ctypes.POINTER(ctypes.c_char_p)), len(enc), (buf, enc))


def is_strings(xs):
    """Whether a 1-D input holds ids as strings (rather than integers)."""
    if np is not None and isinstance(xs, np.ndarray):
        return xs.dtype.kind in "USO" and (xs.dtype.kind != "O" or
                                           (xs.size and isinstance(xs.flat[0], (str, bytes))))
    if isinstance(xs, (str, bytes)):
        return False
    for v in xs:
        return isinstance(v, (str, bytes))
    return False


def empty(shape, ctype_name):
    """An output buffer: (object, POINTER(ctype)) for librec to write into."""
    n = 1
    for s in shape:
        n *= s
    if np is not None:
        a = np.empty(shape, dtype=ctype_name)
        return a, a.ctypes.data_as(ctypes.POINTER(_CT[ctype_name]))
    buf = (_CT[ctype_name] * n)()
    return buf, ctypes.cast(buf, ctypes.POINTER(_CT[ctype_name]))


def out(buf, shape):
    """An output of empty() as the caller gets it: the NumPy array, or lists
    (nested for 2-D)."""
    if np is not None:
        return buf
    flat = list(buf)
    if len(shape) == 1:
        return flat
    w = shape[1]
    return [flat[r * w:(r + 1) * w] for r in range(shape[0])]


def to_list_or_array(values, ctype_name):
    if np is not None:
        return np.asarray(values, dtype=ctype_name)
    return list(values)
