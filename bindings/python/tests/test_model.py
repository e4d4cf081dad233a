"""The model API: values against the C API, round trips, filters, threads."""
import ctypes
import threading

import numpy as np
import pytest

import librec
from librec._lib import fn


def c_recommend(model, uid, k):
    """rec_model_recommend straight through ctypes: the C API's answer."""
    ids, sc, n = (ctypes.c_char_p * k)(), (ctypes.c_float * k)(), ctypes.c_size_t()
    fn("rec_model_recommend")(model._p, uid.encode(), k, 0, ids, sc, ctypes.byref(n))
    return [ids[j].decode() for j in range(n.value)], np.array(sc[:n.value], np.float32)


def test_scores_equal_the_c_api_bit_for_bit(als):
    users = als.user_ids
    item_ids = als.item_ids
    items, scores = als.recommend(np.arange(len(users), dtype=np.int32), k=10)
    for u, uid in enumerate(users):
        ids, sc = c_recommend(als, uid, 10)
        assert [item_ids[i] for i in items[u]] == ids
        assert scores[u].tobytes() == sc.tobytes()
        one_i, one_s = als.recommend(uid, k=10)
        assert one_s.tobytes() == sc.tobytes() and list(one_i) == list(items[u])
    # score() is the C API's rec_model_score
    v = ctypes.c_float()
    fn("rec_model_score")(als._p, users[3].encode(), item_ids[5].encode(), ctypes.byref(v))
    assert np.float32(als.score(3, 5)).tobytes() == np.float32(v.value).tobytes()


def test_from_arrays_equals_load(tmp_path, split):
    train = split[0]
    rows = [(u, i) for u, i in zip(*_columns(train))]
    path = tmp_path / "r.csv"
    path.write_text("".join("%s,%s\n" % r for r in rows))
    a = librec.Dataset.load(str(path), format="csv", header="no")
    b = librec.Dataset.from_arrays([r[0] for r in rows], [r[1] for r in rows])
    assert a.user_ids == b.user_ids and a.item_ids == b.item_ids
    ma = librec.Model("als", factors=8, iterations=2).fit(a)
    mb = librec.Model("als", factors=8, iterations=2).fit(b)
    ia, sa = ma.recommend(range(a.num_users), k=5)
    ib, sb = mb.recommend(range(b.num_users), k=5)
    assert (ia == ib).all() and sa.tobytes() == sb.tobytes()


def _columns(d):
    u, i = ctypes.c_int32(), ctypes.c_int32()
    uids, iids = d.user_ids, d.item_ids
    us, its = [], []
    for r in range(d.num_interactions):
        fn_row(d, r, u, i)
        us.append(uids[u.value])
        its.append(iids[i.value])
    return us, its


def fn_row(d, r, u, i):
    lib = librec._lib.lib
    f = lib.rec_dataset_row
    f.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_int32),
                  ctypes.POINTER(ctypes.c_int32), ctypes.c_void_p, ctypes.c_void_p]
    f.restype = ctypes.c_int
    assert f(d._p, r, ctypes.byref(u), ctypes.byref(i), None, None) == 0


def test_threads_give_identical_results(als):
    users = np.arange(als.num_users, dtype=np.int32)
    want_i, want_s = als.recommend(users, k=10)
    out, errs = [None] * 6, []

    def run(t):
        try:
            for _ in range(5):
                got = als.recommend(users, k=10)
            out[t] = got
        except Exception as e:      # reported below, not lost in the thread
            errs.append(e)
    ts = [threading.Thread(target=run, args=(t,)) for t in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errs
    for i, s in out:
        assert (i == want_i).all() and s.tobytes() == want_s.tobytes()


def test_allow_deny_and_seen(als, split):
    items, _ = als.recommend(0, k=5)
    deny = [int(items[0]), int(items[1])]
    d_items, _ = als.recommend(0, k=5, deny=deny)
    assert not set(deny) & set(d_items.tolist())
    assert list(d_items[:3]) == list(items[2:5])
    a_items, _ = als.recommend([0, 1], k=4, allow=[3, 7, 9], include_seen=True)
    assert a_items.shape == (2, 4) and a_items[0, 3] == -1
    assert set(a_items[0, :3].tolist()) == {3, 7, 9}
    ids = als.item_ids
    by_id, _ = als.recommend(0, k=5, deny=[ids[deny[0]], ids[deny[1]]])
    assert list(by_id) == list(d_items)


def test_history_similar_explain_vectors(als, split):
    items, scores = als.recommend_history([1, 2, 3], k=4)
    assert len(items) == 4 and not {1, 2, 3} & set(items.tolist())
    ids = als.item_ids
    i2, s2 = als.recommend_history([ids[1], ids[2], ids[3]], k=4)
    assert (i2 == items).all() and s2.tobytes() == scores.tobytes()
    si, ss = als.similar([1, 2], k=3)
    assert si.shape == (2, 3) and 1 not in si[0]
    u, v = als.user_vectors(), als.item_vectors()
    assert u.shape == (als.num_users, 16) and v.shape == (als.num_items, 16)
    ri, rs = als.recommend(0, k=3)
    np.testing.assert_allclose(v[ri] @ u[0], rs, rtol=1e-5)
    cf = librec.Model("itemcf").fit(split[0])
    with pytest.raises(librec.Unsupported, match="not inner products"):
        cf.item_vectors()
    reasons = cf.explain(0, int(cf.recommend(0, k=1)[0][0]), k=3)
    assert reasons and isinstance(reasons[0][0], str) and reasons[0][1] >= reasons[-1][1]
    cf.close()


def test_save_load(tmp_path, als):
    p = str(tmp_path / "m.lrm")
    als.save(p)
    with librec.Model.load(p) as m:
        assert m.kind == "als"
        a = m.recommend(range(10), k=5)
        b = als.recommend(range(10), k=5)
        assert (a[0] == b[0]).all() and a[1].tobytes() == b[1].tobytes()


def test_progress_callable_and_stop(split):
    seen = []
    librec.Model("als", factors=4, iterations=3).fit(split[0], progress=lambda e, n, l:
                                                      seen.append((e, n)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    m = librec.Model("mf", epochs=5)
    m.fit(split[0], progress=lambda e, n, l: e >= 2)     # stop after epoch 2
    assert len(m.recommend(0, k=3)[0]) == 3

    def boom(e, n, l):
        raise RuntimeError("from the callback")
    with pytest.raises(RuntimeError, match="from the callback"):
        librec.Model("mf", epochs=3).fit(split[0], progress=boom)


def test_models_and_params():
    kinds = librec.models()
    assert "als" in kinds and "svd" in kinds and isinstance(kinds["als"], str)
    ps = {p["key"]: p for p in librec.Model.params("als")}
    assert ps["dim"]["type"] == "int" and ps["dim"]["default"] == "64"
    with pytest.raises(librec.NotFound):
        librec.Model.params("nope")
