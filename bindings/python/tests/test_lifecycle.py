"""Handles: freed exactly once, use after close raises, memory stays flat."""
import gc
import os

import pytest

import librec


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_use_after_close_raises(split):
    d = librec.Dataset.from_arrays([1, 2], [3, 4])
    d.close()
    d.close()                                   # twice: a no-op
    with pytest.raises(librec.StateError, match="this Dataset is closed"):
        d.num_users
    m = librec.Model("popularity")
    with m:
        m.fit(split[0])
    assert m.closed
    with pytest.raises(librec.StateError, match="this Model is closed"):
        m.recommend(0)
    with pytest.raises(librec.StateError):
        m.fit(split[0])
    ix = librec.Index(4)
    ix.close()
    with pytest.raises(librec.StateError, match="this Index is closed"):
        ix.search([[1, 2, 3, 4]], 1)


def test_finalizer_frees_once():
    d = librec.Dataset.from_arrays([1], [2])
    fin = d._fin
    assert fin.alive
    del d
    gc.collect()
    assert not fin.alive


def test_10000_cycles_keep_rss_flat(split):
    def cycle(i):
        d = librec.Dataset.from_arrays([1, 2, 3, i], [4, 5, 6, 7])
        m = librec.Model("popularity")
        m.fit(d)
        m.recommend(0, k=2)
        if i % 2:
            m.close()
            d.close()
    for i in range(1000):                          # warm up allocator arenas
        cycle(i)
    gc.collect()
    before = rss_kb()
    for i in range(10000):
        cycle(i)
    gc.collect()
    grown = rss_kb() - before
    # A leaked dataset or model (a few KB each) would add tens of MB.
    assert grown < 4096, "RSS grew by %d KB over 10,000 cycles" % grown
