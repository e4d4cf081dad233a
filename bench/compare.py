"""Table of peer_time / librec_time per kernel and thread count (> 1 = librec faster).

Usage: compare.py W7_JSON MLP_PEER_JSON LIBREC_JSON
Each file holds the one JSON line its program printed (w7_microkernels.py,
bench/peer_mlp.py, bench/micro); an empty or missing peer file leaves its rows
without a ratio.  Prints a Markdown table on stdout.
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    return json.loads(line)["results"]
    except (OSError, ValueError, KeyError):
        pass
    return {}


w7, mlp, lib = (load(p) for p in sys.argv[1:4])

# (label, librec key, peer source, peer key, unit, higher_is_better, target ratio or None)
ROWS = [
    ("sgemm 4096^3", "sgemm_gflops", w7, "torch_mm_gflops", "GFLOP/s", True, None),
    ("Linear(512,512) x[1024,512] fwd+bwd", "linear512_fwd_bwd_ms", w7, "linear512_fwd_bwd_ms",
     "ms", False, 0.95),
    ("MLP 512-512-512 step + Adam", "mlp512_step_ms", mlp, "mlp512_step_ms", "ms", False, 0.95),
    ("EmbeddingBag 1e6x64 mean fwd+bwd, sparse grad", "embbag_fwd_bwd_ms_sparse", w7,
     "embbag_fwd_bwd_ms_sparse", "ms", False, 1.5),
    ("  same + coalesce (optimizer's share)", "embbag_fwd_bwd_coalesce_ms_sparse", w7,
     "embbag_fwd_bwd_ms_sparse", "ms", False, None),
    ("EmbeddingBag fwd+bwd, dense grad (zeroed per iter)", "embbag_fwd_bwd_ms_dense", w7,
     "embbag_fwd_bwd_ms_dense", "ms", False, None),
    ("EmbeddingBag fwd only", "embbag_fwd_only_ms", w7, "embbag_fwd_only_ms", "ms", False, 1.5),
    ("gather 1e6x64, 81920 ids fwd+bwd, sparse grad", "gather_fwd_bwd_ms_sparse", None, None,
     "ms", False, None),
    ("gather fwd+bwd, dense grad (zeroed per iter)", "gather_fwd_bwd_ms_dense", None, None,
     "ms", False, None),
    ("gather fwd only, 81920 rows", "gather_fwd_only_ms", None, None, "ms", False, None),
    ("  gather rows per second", "gather_mrows_per_s", None, None, "M rows/s", True, None),
    ("  random-read ceiling (prefetched loop)", "ceiling_mrows_per_s", None, None, "M rows/s",
     True, None),
    ("  gather as a fraction of the ceiling", "gather_fraction_of_ceiling", None, None, "",
     True, None),
]

# 2 threads against 1 thread for the row gathers (target >= 1.6x)
SPEEDUP = [("EmbeddingBag fwd only", "embbag_fwd_only_ms"),
           ("EmbeddingBag fwd+bwd, sparse grad", "embbag_fwd_bwd_ms_sparse"),
           ("gather fwd only", "gather_fwd_only_ms"),
           ("gather fwd+bwd, sparse grad", "gather_fwd_bwd_ms_sparse")]


def threads(res):
    return sorted((k for k in res if k.startswith("threads_")),
                  key=lambda k: -int(k.split("_")[1]))


def fmt(v):
    return "-" if v is None else ("%.3g" % v if v < 100 else "%.0f" % v)


print("| kernel | threads | unit | PyTorch | librec | peer/librec | target | met |")
print("|---|---|---|---|---|---|---|---|")
for tk in threads(lib):
    nt = tk.split("_")[1]
    r = lib[tk]
    for label, key, src, pkey, unit, higher, target in ROWS:
        if key not in r:
            continue
        ours = r[key]
        peer = (src or {}).get(tk, {}).get(pkey) if src is not None else None
        ratio = None
        if peer:
            ratio = ours / peer if higher else peer / ours
        met = "" if target is None or ratio is None else ("yes" if ratio >= target else "NO")
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, nt, unit, fmt(peer), fmt(ours), "-" if ratio is None else "%.2f" % ratio,
            "-" if target is None else ">= %.2f" % target, met))
    for what, key, target in (("Linear", "linear512", None), ("MLP step", "mlp512", 10.0)):
        ov = r.get(key + "_tape_overhead_pct")
        if ov is None:
            continue
        raw = r.get(key + "_raw_ms")
        met = "" if target is None else ("yes" if ov < target else "NO")
        print("| tape overhead, %s (raw kernels %s ms) | %s | %% | - | %+.1f | - | %s | %s |" % (
            what, fmt(raw), nt, ov, "-" if target is None else "< %g %%" % target, met))

one, two = lib.get("threads_1", {}), lib.get("threads_2", {})
rows = [(label, one[k] / two[k]) for label, k in SPEEDUP if one.get(k) and two.get(k)]
if rows:
    print()
    print("| 2 threads vs 1 (librec) | speed-up | target | met |")
    print("|---|---|---|---|")
    for label, r in rows:
        print("| %s | %.2f | >= 1.60 | %s |" % (label, r, "yes" if r >= 1.6 else "NO"))
