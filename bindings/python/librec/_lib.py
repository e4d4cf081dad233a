"""Loading librec and declaring its functions.

Every C function the package calls is declared once, in FUNCTIONS, with its
argtypes and restype; functions returning rec_status get one errcheck that
raises the librec.Error subclass of the status with rec_last_error()'s text.
ctypes releases the GIL during each call, so several Python threads can run
librec calls at once.
"""
import ctypes
import ctypes.util
import os

from . import errors

#: The library version this package was written for: 0.2 (major 0, minor 2).
REQUIRED_MAJOR, REQUIRED_MINOR = 0, 2

c_int, c_int32, c_int64, c_uint64 = ctypes.c_int, ctypes.c_int32, ctypes.c_int64, ctypes.c_uint64
c_size_t, c_float, c_double = ctypes.c_size_t, ctypes.c_float, ctypes.c_double
c_char_p, c_void_p, c_unsigned = ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint
P = ctypes.POINTER
pp = P(c_void_p)            # an out-pointer to an opaque handle
p_str = P(c_char_p)         # const char ** (an out id, or an array of ids)
p_i32, p_i64, p_f32 = P(c_int32), P(c_int64), P(c_float)

STATUS = "status"           # restype marker: rec_status, checked by errcheck

PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_int, c_double)
FILTER_FN = ctypes.CFUNCTYPE(c_int, c_int32, c_size_t, c_void_p)

# (name, restype, argtypes, required).  Optional functions (required False)
# come from other parts of librec that may be absent in an older library.
FUNCTIONS = [
    ("rec_version_number", ctypes.c_uint, [], True),
    ("rec_version", c_char_p, [], True),
    ("rec_strerror", c_char_p, [c_int], True),
    ("rec_last_error", c_char_p, [], True),
    ("rec_set_num_threads", STATUS, [c_int], True),
    ("rec_get_num_threads", c_int, [], True),
    ("rec_params_create", STATUS, [pp], True),
    ("rec_params_destroy", None, [c_void_p], True),
    ("rec_params_set_int", STATUS, [c_void_p, c_char_p, c_int64], True),
    ("rec_params_set_float", STATUS, [c_void_p, c_char_p, c_double], True),
    ("rec_params_set_str", STATUS, [c_void_p, c_char_p, c_char_p], True),
    ("rec_params_set_bool", STATUS, [c_void_p, c_char_p, c_int], True),
    ("rec_dataset_destroy", None, [c_void_p], True),
    ("rec_dataset_from_arrays", STATUS, [pp, p_i64, p_i64, p_f32, p_i64, c_size_t], True),
    ("rec_dataset_from_strings", STATUS, [pp, p_str, p_str, p_f32, p_i64, c_size_t], True),
    ("rec_dataset_load", STATUS, [pp, c_char_p, c_char_p, c_void_p], True),
    ("rec_dataset_generate", STATUS, [pp, c_void_p], True),
    ("rec_dataset_split", STATUS, [c_void_p, c_char_p, c_int, c_uint64, pp, pp], True),
    ("rec_dataset_summary", STATUS, [c_void_p, ctypes.c_char_p, c_size_t], True),
    ("rec_dataset_num_users", STATUS, [c_void_p, p_i32], True),
    ("rec_dataset_num_items", STATUS, [c_void_p, p_i32], True),
    ("rec_dataset_num_interactions", STATUS, [c_void_p, p_i64], True),
    ("rec_dataset_user_id", STATUS, [c_void_p, c_int32, p_str], True),
    ("rec_dataset_item_id", STATUS, [c_void_p, c_int32, p_str], True),
    ("rec_model_kind_at", STATUS, [c_size_t, p_str, p_str], True),
    ("rec_model_param_at", STATUS, [c_char_p, c_size_t, p_str, P(c_int), p_str,
                                    P(c_double), P(c_double), p_str, p_str], True),
    ("rec_model_create", STATUS, [pp, c_char_p, c_void_p], True),
    ("rec_model_destroy", None, [c_void_p], True),
    ("rec_model_kind", c_char_p, [c_void_p], True),
    ("rec_model_fit", STATUS, [c_void_p, c_void_p, PROGRESS_FN, c_void_p], True),
    ("rec_model_score", STATUS, [c_void_p, c_char_p, c_char_p, p_f32], True),
    ("rec_model_recommend", STATUS, [c_void_p, c_char_p, c_size_t, c_unsigned, p_str, p_f32,
                                     P(c_size_t)], True),
    ("rec_model_recommend_history", STATUS, [c_void_p, p_str, p_f32, c_size_t, c_size_t,
                                             c_unsigned, p_str, p_f32, P(c_size_t)], True),
    ("rec_model_similar", STATUS, [c_void_p, c_char_p, c_size_t, p_str, p_f32, P(c_size_t)],
     True),
    ("rec_model_explain", STATUS, [c_void_p, c_char_p, c_char_p, c_size_t, p_str, p_f32,
                                   P(c_size_t)], True),
    ("rec_model_num_users", STATUS, [c_void_p, P(c_size_t)], True),
    ("rec_model_num_items", STATUS, [c_void_p, P(c_size_t)], True),
    ("rec_model_save", STATUS, [c_void_p, c_char_p], True),
    ("rec_model_load", STATUS, [pp, c_char_p], True),
    ("rec_model_user_index", STATUS, [c_void_p, c_char_p, p_i32], True),
    ("rec_model_item_index", STATUS, [c_void_p, c_char_p, p_i32], True),
    ("rec_model_user_id", STATUS, [c_void_p, c_int32, p_str], True),
    ("rec_model_item_id", STATUS, [c_void_p, c_int32, p_str], True),
    ("rec_model_recommend_batch", STATUS, [c_void_p, p_i32, c_size_t, c_size_t, c_unsigned,
                                           c_void_p, p_i32, p_f32], True),
    ("rec_model_vectors", STATUS, [c_void_p, c_int, p_f32, c_size_t, P(c_int)], True),
    ("rec_filter_create", STATUS, [pp, c_size_t], True),
    ("rec_filter_destroy", None, [c_void_p], True),
    ("rec_filter_deny", STATUS, [c_void_p, p_i32, c_size_t], True),
    ("rec_filter_allow", STATUS, [c_void_p, p_i32, c_size_t], True),
    ("rec_index_create", STATUS, [pp, c_int, c_char_p], True),
    ("rec_index_destroy", None, [c_void_p], True),
    ("rec_index_add", STATUS, [c_void_p, p_f32, c_size_t], True),
    ("rec_index_size", STATUS, [c_void_p, P(c_size_t)], True),
    ("rec_index_dim", STATUS, [c_void_p, P(c_int)], True),
    ("rec_index_search", STATUS, [c_void_p, p_f32, c_size_t, c_size_t, c_void_p, p_i32, p_f32],
     True),
    # Index kinds (HNSW), from the serving work; absent from libraries before it.
    ("rec_index_create_kind", STATUS, [pp, c_char_p, c_int, c_void_p], False),
    ("rec_index_search_ef", STATUS, [c_void_p, p_f32, c_size_t, c_size_t, c_size_t, c_void_p,
                                     p_i32, p_f32], False),
    ("rec_evaluate", STATUS, [c_void_p, c_void_p, c_char_p, c_char_p, c_uint64, pp], True),
    ("rec_eval_result_destroy", None, [c_void_p], True),
    ("rec_eval_result_count", STATUS, [c_void_p, P(c_size_t)], True),
    ("rec_eval_result_metric", STATUS, [c_void_p, c_size_t, p_str, P(c_double), P(c_double)],
     True),
]


def _candidates():
    env = os.environ.get("LIBREC_LIBRARY")
    if env:
        return [env]            # named explicitly: no fallback to another copy
    here = os.path.dirname(os.path.abspath(__file__))
    out = [os.path.join(here, n) for n in ("librec.so.0", "librec.so", "librec.dylib")]
    found = ctypes.util.find_library("rec")
    if found:
        out.append(found)
    return out


def _open():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path + " (absent)")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("librec: cannot load the C library; set LIBREC_LIBRARY to the path of "
                      "librec.so.0. Tried: " + "; ".join(tried or ["nothing found"]))


lib = _open()
_last_error = lib.rec_last_error
_last_error.restype, _last_error.argtypes = c_char_p, []


def _errcheck(result, func, args):
    if result < 0:
        raise errors.from_status(result, (_last_error() or b"").decode("utf-8", "replace"))
    return result


declared = set()
for _name, _res, _args, _required in FUNCTIONS:
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        if _required:
            raise ImportError("librec: the library has no %s; it is older than %d.%d"
                              % (_name, REQUIRED_MAJOR, REQUIRED_MINOR))
        continue
    _f.argtypes = _args
    if _res is STATUS:
        _f.restype = c_int
        _f.errcheck = _errcheck
    else:
        _f.restype = _res
    declared.add(_name)


def has(name):
    """Whether the loaded library exports (and this package declared) name."""
    return name in declared


def fn(name):
    """The declared function name (AttributeError if it was not declared)."""
    if name not in declared:
        raise AttributeError("librec: %s is not declared" % name)
    return getattr(lib, name)


_number = lib.rec_version_number()
if _number // 10000 != REQUIRED_MAJOR or (_number // 100) % 100 < REQUIRED_MINOR:
    raise ImportError("librec: the library is version %d.%d, this package needs %d.%d or a "
                      "later 0.x" % (_number // 10000, (_number // 100) % 100, REQUIRED_MAJOR,
                                     REQUIRED_MINOR))
