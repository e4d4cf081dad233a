"""Arrays in and out: zero-copy, conversions, and errors with messages."""
import numpy as np
import pytest

import librec
from librec import _arrays


def test_zero_copy_and_conversion():
    a = np.arange(10, dtype=np.int64)
    assert _arrays.array_in(a, "int64", "x").keep is a          # the caller's buffer
    b = np.arange(10, dtype=np.int32)
    c = _arrays.array_in(b, "int64", "x")
    assert c.keep is not b and c.keep.dtype == np.int64
    s = np.arange(20, dtype=np.int64)[::2]                       # not contiguous
    assert list(_arrays.array_in(s, "int64", "x").keep) == list(range(0, 20, 2))
    assert _arrays.array_in([1, 2, 3], "int32", "x").n == 3


def test_bad_shapes_and_dtypes():
    with pytest.raises(ValueError, match="users must be 1-dimensional, got shape"):
        librec.Dataset.from_arrays(np.zeros((2, 2), np.int64), [1, 2])
    with pytest.raises(TypeError, match="users must hold integer numbers, got dtype float64"):
        librec.Dataset.from_arrays(np.array([1.5, 2.5]), [1, 2])
    with pytest.raises(TypeError, match="ratings must hold real numbers"):
        librec.Dataset.from_arrays([1, 2], [1, 2], ratings=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="users and items differ in length: 2 and 3"):
        librec.Dataset.from_arrays([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="ratings has 1 entries, users 2"):
        librec.Dataset.from_arrays([1, 2], [1, 2], ratings=[4.0])
    with pytest.raises(ValueError, match="users holds 4294967296, outside int32"):
        _arrays.array_in(np.array([1, 2**32]), "int32", "users")
    with pytest.raises(TypeError, match="must be a sequence of numbers, got int"):
        _arrays.array_in(5, "int32", "users")


def test_c_errors_name_the_row():
    with pytest.raises(librec.InvalidArgument,
                       match=r"rec_dataset_from_arrays: ratings\[1\] = nan is not finite"):
        librec.Dataset.from_arrays([1, 2], [3, 4], ratings=[1.0, float("nan")])


def test_recommend_argument_errors(als):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        als.recommend(0, k=0)
    with pytest.raises(TypeError, match="users must hold integer numbers"):
        als.recommend(np.array([0.5, 1.5]))
    with pytest.raises(librec.RangeError, match=r"users\[1\] = 100000 is outside"):
        als.recommend([0, 100000])
    with pytest.raises(librec.NotFound, match="unknown user 'nobody'"):
        als.recommend("nobody")
    with pytest.raises(ValueError, match="vectors must have 16 columns"):
        librec.Index(16).add(np.zeros((3, 5), np.float32))


def test_from_arrays_ids():
    d = librec.Dataset.from_arrays(np.array([42, -7, 42]), np.array([5, 5, 6]),
                                   ratings=np.array([4, 3, 1], np.float32),
                                   timestamps=np.array([1, 2, 3]))
    assert (d.num_users, d.num_items, d.num_interactions) == (2, 2, 3)
    assert d.user_ids == ["42", "-7"] and d.item_ids == ["5", "6"]
    s = librec.Dataset.from_arrays(["a", "b", "a"], ["x", "x", "y"])
    assert s.user_ids == ["a", "b"] and s.item_ids == ["x", "y"]


def test_without_numpy(monkeypatch, als):
    monkeypatch.setattr(_arrays, "np", None)
    items, scores = als.recommend([0, 1], k=3)
    assert isinstance(items, list) and len(items) == 2 and len(items[0]) == 3
    assert isinstance(scores[0][0], float)
    d = librec.Dataset.from_arrays([1, 2, 1], [3, 3, 4], ratings=[1.0, 2.0, 3.0])
    assert d.num_interactions == 3
    with pytest.raises(TypeError, match="users must hold integers, got 1.5"):
        librec.Dataset.from_arrays([1.5], [2])
    v = als.item_vectors()
    assert isinstance(v, list) and len(v) == als.num_items and len(v[0]) == 16
