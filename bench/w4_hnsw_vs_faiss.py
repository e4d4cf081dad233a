"""HNSW and flat search, librec vs faiss, side by side in one run on W4's data.

    /usr/bin/python3 bench/w4_hnsw_vs_faiss.py [--nb 100000] [--nq 10000]
        [--threads 2] [--ef 16,24,...] [--librec build/bin/librec] [--json]

The data is ../shared/bench/peers/w4_retrieval.py's: xb = default_rng(0)
standard normal (nb, 64) float32, rows L2-normalised; xq = default_rng(1)
(nq, 64), normalised; k = 10, inner product.  (The peer builds HNSW on the
first 100,000 rows of its 1M set; default_rng(0) draws row by row, so
nb = 100000 here is that prefix.)

faiss: IndexHNSWFlat(64, 32, METRIC_INNER_PRODUCT), efConstruction 200,
add at --threads threads -> build seconds; efSearch over the grid, recall@10
against IndexFlatIP's top 10, queries per second over all nq queries.
librec: `librec index bench --kind hnsw --param M=32 --param
ef_construction=200 --ef GRID --threads N --json` on the same vectors
written as .npy (its recall is against its own exact search).
At recall@10 >= 0.95 and >= 0.99 each side's qps is the one at the smallest
ef of the grid reaching it.  Then the flat indexes: IndexFlatIP vs `librec
index bench --kind flat`, qps over all queries.  Prints the table and the
ratios librec / faiss (qps) and faiss / librec (build seconds).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import faiss

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "bench", "peers"))
from peercommon import set_threads  # noqa: E402  (the peers' thread limits)

p = argparse.ArgumentParser()
p.add_argument("--nb", type=int, default=100_000)
p.add_argument("--nq", type=int, default=10_000)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--ef", default="16,24,32,48,64,96,128,192,256,384,512,768,1024")
p.add_argument("--librec", default=os.path.join(HERE, "..", "build", "bin", "librec"))
p.add_argument("--json", action="store_true")
args = p.parse_args()
d, k = 64, 10
grid = [int(e) for e in args.ef.split(",")]

xb = np.random.default_rng(0).standard_normal((args.nb, d), dtype=np.float32)
xb /= np.linalg.norm(xb, axis=1, keepdims=True)
xq = np.random.default_rng(1).standard_normal((args.nq, d), dtype=np.float32)
xq /= np.linalg.norm(xq, axis=1, keepdims=True)
set_threads(args.threads)
res = {"nb": args.nb, "nq": args.nq, "threads": args.threads,
       "loadavg_start": os.getloadavg()[0]}


def at_recall(rows, want):
    """qps and ef at the smallest ef reaching recall@10 >= want (None: never)."""
    for r in sorted(rows, key=lambda r: r["ef"]):
        if r["recall@10"] >= want:
            return r
    return None


# ---- faiss
flat = faiss.IndexFlatIP(d)
flat.add(xb)
flat.search(xq[:256], k)
t0 = time.perf_counter()
gt = flat.search(xq, k)[1]
res["faiss_flat_qps"] = args.nq / (time.perf_counter() - t0)
hn = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
hn.hnsw.efConstruction = 200
t0 = time.perf_counter()
hn.add(xb)
res["faiss_build_seconds"] = time.perf_counter() - t0
rows = []
for ef in grid:
    hn.hnsw.efSearch = ef
    t0 = time.perf_counter()
    got = hn.search(xq, k)[1]
    dt = time.perf_counter() - t0
    rec = float(np.mean([len(set(got[i]) & set(gt[i])) / k for i in range(args.nq)]))
    rows.append({"ef": ef, "qps": args.nq / dt, "recall@10": rec})
    if rec >= 0.99:
        break
res["faiss_hnsw"] = rows
del hn, flat

# ---- librec, on the same vectors
with tempfile.TemporaryDirectory() as tmp:
    bp, qp = os.path.join(tmp, "xb.npy"), os.path.join(tmp, "xq.npy")
    np.save(bp, xb)
    np.save(qp, xq)

    def bench(kind, extra):
        cmd = [args.librec, "index", "bench", "--vectors", bp, "--queries", qp, "--kind", kind,
               "--threads", str(args.threads), "--json"] + extra
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return json.loads(out)

    lh = bench("hnsw", ["--param", "M=32", "--param", "ef_construction=200",
                        "--ef", ",".join(str(e) for e in grid)])
    lf = bench("flat", ["--ef", "10"])
res["librec_build_seconds"] = lh["build_seconds"]
res["librec_hnsw"] = lh["results"]
res["librec_flat_qps"] = lf["results"][0]["qps"]
res["loadavg_end"] = os.getloadavg()[0]

# ---- the table
lines = ["W4 side by side: %d x 64 Gaussian (normalised), %d queries, k 10, inner product, "
         "%d threads; load average %.2f at start, %.2f at end"
         % (args.nb, args.nq, args.threads, res["loadavg_start"], res["loadavg_end"]),
         "%-30s %14s %14s %8s" % ("", "faiss", "librec", "ratio")]
fb, lb = res["faiss_build_seconds"], res["librec_build_seconds"]
lines.append("%-30s %14.1f %14.1f %7.2fx" % ("HNSW build seconds (M 32, efC 200)", fb, lb,
                                               fb / lb))
for want in (0.95, 0.99):
    f, l = at_recall(res["faiss_hnsw"], want), at_recall(res["librec_hnsw"], want)
    fs = "%.0f (ef %d)" % (f["qps"], f["ef"]) if f else "not reached"
    ls = "%.0f (ef %d)" % (l["qps"], l["ef"]) if l else "not reached"
    ratio = "%7.2fx" % (l["qps"] / f["qps"]) if f and l else "      -"
    lines.append("%-30s %14s %14s %s" % ("HNSW qps at recall@10 >= %.2f" % want, fs, ls, ratio))
lines.append("%-30s %14.0f %14.0f %7.2fx" % ("flat qps (IndexFlatIP)", res["faiss_flat_qps"],
                                              res["librec_flat_qps"],
                                              res["librec_flat_qps"] / res["faiss_flat_qps"]))
lines.append("ratios: qps librec / faiss; build faiss / librec (> 1: librec faster)")
print("\n".join(lines))
if args.json:
    print(json.dumps(res))
