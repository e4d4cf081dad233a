"""evaluate, cross_validate (Surprise's shape) and the index."""
import math

import numpy as np
import pytest

import librec


def test_evaluate(als, split):
    r = librec.evaluate(als, split[1], ["ndcg@10", "recall@10"])
    assert set(r) == {"ndcg@10", "recall@10"} and 0 < r["ndcg@10"] <= 1
    with pytest.raises(librec.InvalidArgument, match="ndcg@0"):
        librec.evaluate(als, split[1], ["ndcg@0"])


def test_cross_validate_shape(data):
    r = librec.cross_validate("svd", data, folds=3, metrics=("rmse", "mae"), n_epochs=3)
    assert set(r) == {"rmse", "mae", "fit_seconds", "test_seconds"}
    for m in ("rmse", "mae"):
        folds = r[m]["folds"]
        assert len(folds) == 3 and all(v > 0 for v in folds)
        assert math.isclose(r[m]["mean"], float(np.mean(folds)), rel_tol=1e-12)
        assert math.isclose(r[m]["std"], float(np.std(folds)), rel_tol=1e-9, abs_tol=1e-15)
    assert len(r["fit_seconds"]) == 3 and len(r["test_seconds"]) == 3
    assert all(t >= 0 for t in r["fit_seconds"])
    with pytest.raises(ValueError, match="folds must be at least 2"):
        librec.cross_validate("svd", data, folds=1)


def test_flat_index_is_exact():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 8)).astype(np.float32)
    q = rng.standard_normal((7, 8)).astype(np.float32)
    with librec.Index(8, kind="flat") as ix:
        ix.add(x)
        assert len(ix) == 500
        labels, scores = ix.search(q, 5)
    want = np.argsort(-(q @ x.T), axis=1, kind="stable")[:, :5]
    assert (labels == want).all()
    np.testing.assert_allclose(scores, np.take_along_axis(q @ x.T, want, 1), rtol=1e-5)


def test_hnsw_index_finds_the_exact_neighbours_with_a_wide_search():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2000, 16)).astype(np.float32)
    q = rng.standard_normal((20, 16)).astype(np.float32)
    with librec.Index(16, kind="hnsw", metric="ip", M=16, ef_construction=200) as ix:
        ix.add(x)
        assert len(ix) == 2000
        labels, scores = ix.search(q, 10, ef=400)
    want = np.argsort(-(q @ x.T), axis=1, kind="stable")[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, want)])
    assert recall >= 0.95, recall
    np.testing.assert_allclose(scores, np.take_along_axis(q @ x.T, labels, 1), rtol=1e-5)
