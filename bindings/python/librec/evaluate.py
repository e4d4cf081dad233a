"""librec.evaluate and librec.cross_validate (Surprise's result shape)."""
import ctypes
import math
import time

from ._lib import fn


def _metrics(metrics):
    if isinstance(metrics, str):
        return metrics
    return ",".join(metrics)


def evaluate(model, test, metrics=("ndcg@10",), protocol="full", seed=0):
    """Metrics of a fitted model on test ("rmse", "mae", "ndcg@10",
    "recall@20", ... : librec(7)) under "full" or "sampled:N": {name: value}."""
    out = ctypes.c_void_p()
    fn("rec_evaluate")(model._p, test._p, protocol.encode("utf-8"),
                       _metrics(metrics).encode("utf-8"), seed, ctypes.byref(out))
    try:
        n = ctypes.c_size_t()
        fn("rec_eval_result_count")(out, ctypes.byref(n))
        name, value = ctypes.c_char_p(), ctypes.c_double()
        res = {}
        for i in range(n.value):
            fn("rec_eval_result_metric")(out, i, ctypes.byref(name), ctypes.byref(value), None)
            res[name.value.decode()] = value.value
        return res
    finally:
        fn("rec_eval_result_destroy")(out)


def cross_validate(kind, dataset, folds=5, metrics=("rmse", "mae"), protocol="full", seed=42,
                   **params):
    """k-fold cross-validation of Model(kind, **params) on dataset, as
    Surprise's cross_validate: {metric: {"mean", "std", "folds"}, ...,
    "fit_seconds": [...], "test_seconds": [...]}.  std is the population
    standard deviation (divisor folds), as Surprise and rec_eval_result_merge."""
    from .model import Model
    if folds < 2:
        raise ValueError("folds must be at least 2, got %r" % (folds,))
    per, fit_s, test_s = {}, [], []
    for f in range(folds):
        train, test = dataset.split("kfold:%d" % folds, fold=f, seed=seed)
        with train, test, Model(kind, **params) as m:
            t0 = time.perf_counter()
            m.fit(train)
            t1 = time.perf_counter()
            r = evaluate(m, test, metrics, protocol, seed)
            t2 = time.perf_counter()
        fit_s.append(t1 - t0)
        test_s.append(t2 - t1)
        for name, v in r.items():
            per.setdefault(name, []).append(v)
    out = {}
    for name, vals in per.items():
        ok = [v for v in vals if not math.isnan(v)]
        mean = sum(ok) / len(ok) if ok else float("nan")
        std = math.sqrt(sum((v - mean) ** 2 for v in ok) / len(ok)) if ok else float("nan")
        out[name] = {"mean": mean, "std": std, "folds": vals}
    out["fit_seconds"] = fit_s
    out["test_seconds"] = test_s
    return out
