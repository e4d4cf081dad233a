"""Loading, declarations, errors."""
import ctypes
import os
import re

import pytest

import librec
from librec import _lib

PKG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "librec")


def used_symbols():
    names = set()
    for f in os.listdir(PKG):
        if f.endswith(".py") and f != "_lib.py":
            with open(os.path.join(PKG, f)) as fh:
                src = fh.read()
            names |= set(re.findall(r'"(rec_[a-z0-9_]+)"', src))
            names |= set(re.findall(r"\blib\.(rec_[a-z0-9_]+)", src))
            # fn("rec_model_%s_index" % side): both sides
            for pre, post in re.findall(r'"(rec_[a-z0-9_]*)%s([a-z0-9_]*)"', src):
                names |= {pre + "user" + post, pre + "item" + post}
    return names


def test_every_symbol_used_is_declared():
    table = {name for name, _, _, _ in _lib.FUNCTIONS}
    used = used_symbols()
    assert len(used) > 40
    missing = sorted(used - table)
    assert not missing, "used but not declared in _lib.FUNCTIONS: %s" % missing


def test_declared_once_with_types():
    names = [name for name, _, _, _ in _lib.FUNCTIONS]
    assert len(names) == len(set(names))
    for name, res, args, required in _lib.FUNCTIONS:
        if not _lib.has(name):
            assert not required
            continue
        f = getattr(_lib.lib, name)
        assert f.argtypes == args, name
        if res is _lib.STATUS:
            assert f.restype is ctypes.c_int and f.errcheck is _lib._errcheck, name


def test_declared_symbols_are_exported():
    # Every required function is in the library's version script.
    mapfile = os.path.join(PKG, "..", "..", "..", "librec.map")
    if not os.path.exists(mapfile):
        pytest.skip("not in a source tree")
    with open(mapfile) as fh:
        exported = set(re.findall(r"\b(rec_[a-z0-9_]+);", fh.read()))
    for name, _, _, required in _lib.FUNCTIONS:
        if required:
            assert name in exported, name


def test_version_and_gil():
    assert librec.library_version() // 100 >= 2
    # CDLL (not PyDLL): ctypes releases the GIL around every call.
    assert isinstance(_lib.lib, ctypes.CDLL) and not isinstance(_lib.lib, ctypes.PyDLL)


def test_errors_carry_the_message():
    with pytest.raises(librec.NotFound) as e:
        librec.Model("no-such-kind")
    assert str(e.value) == "rec_model_create: unknown model kind 'no-such-kind'"
    assert e.value.status == -8
    with pytest.raises(librec.RangeError) as e:
        librec.Model("als", factors=0)
    assert str(e.value) == "rec_model_create(als): parameter 'factors' = 0 is outside [1, 4096]"
    with pytest.raises(librec.InvalidArgument, match="bogus") as e:
        librec.Model("als", bogus=1)
    assert isinstance(e.value, ValueError) and isinstance(e.value, librec.Error)
    with pytest.raises(librec.IOFailure):
        librec.Dataset.load("/nonexistent/ratings.csv")


def test_format_error_names_the_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("u1,i1,4\nu2,i2,abc\n")
    with pytest.raises(librec.FormatError, match="line 2"):
        librec.Dataset.load(str(p), format="csv")


def test_library_discovery_env(monkeypatch):
    cands = None
    monkeypatch.setenv("LIBREC_LIBRARY", "/x/librec.so.0")
    cands = _lib._candidates()
    assert cands == ["/x/librec.so.0"]
    monkeypatch.delenv("LIBREC_LIBRARY")
    cands = _lib._candidates()
    assert cands[0] == os.path.join(os.path.abspath(PKG), "librec.so.0")
