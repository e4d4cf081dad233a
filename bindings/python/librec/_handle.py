"""An owned C handle, freed exactly once: by close(), by leaving a with
block, or by a finalizer when the object is collected.  Use after close
raises librec.StateError instead of passing a dangling pointer to C."""
import ctypes
import weakref

from . import errors


class Handle:
    _destroy = None          # the rec_X_destroy function, set by subclasses
    _what = "object"

    def _own(self, ptr):
        self._ptr = ptr
        self._fin = weakref.finalize(self, self._destroy, ctypes.c_void_p(ptr))

    @property
    def _p(self):
        ptr = getattr(self, "_ptr", None)
        if not ptr:
            raise errors.StateError("librec: this %s is closed" % self._what)
        return ptr

    @property
    def closed(self):
        return not getattr(self, "_ptr", None)

    def close(self):
        """Frees the C object now (later calls raise StateError); closing
        twice is a no-op."""
        fin = getattr(self, "_fin", None)
        self._ptr = None
        if fin is not None:
            fin()

    def __enter__(self):
        self._p
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def ids(name, ptr, n):
    """The n external ids of a handle by index, through rec_X_user_id-like
    function name (each id copied into a str: C owns the bytes)."""
    from ._lib import fn
    f, s = fn(name), ctypes.c_char_p()
    out = []
    for j in range(n):
        f(ptr, j, ctypes.byref(s))
        out.append(s.value.decode("utf-8"))
    return out


def params(kv):
    """A rec_params handle from a dict (bool, int, float, str values); the
    caller destroys it.  Keys are checked by the call that uses it."""
    from ._lib import fn
    p = ctypes.c_void_p()
    fn("rec_params_create")(ctypes.byref(p))
    try:
        for k, v in kv.items():
            key = str(k).encode("utf-8")
            if isinstance(v, bool):
                fn("rec_params_set_bool")(p, key, int(v))
            elif isinstance(v, int):
                fn("rec_params_set_int")(p, key, v)
            elif isinstance(v, float):
                fn("rec_params_set_float")(p, key, v)
            elif isinstance(v, str):
                fn("rec_params_set_str")(p, key, v.encode("utf-8"))
            else:
                try:
                    import numpy as np
                    if isinstance(v, np.integer):
                        fn("rec_params_set_int")(p, key, int(v))
                        continue
                    if isinstance(v, np.floating):
                        fn("rec_params_set_float")(p, key, float(v))
                        continue
                except ImportError:
                    pass
                raise TypeError("parameter %s must be bool, int, float or str, got %s"
                                % (k, type(v).__name__))
    except BaseException:
        fn("rec_params_destroy")(p)
        raise
    return p
