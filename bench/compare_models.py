"""Side-by-side table of the model workloads (W1 SASRec, W2 two-tower, W7 GRU).

Usage: compare_models.py LOGDIR
LOGDIR holds w1_peer.json, w1.json, w2_peer.json, w2.json, w7.json, gru.json and
the *.rss files written by maxrss.py.  Ratio = peer / librec (> 1: librec is
faster or smaller); quality is shown side by side.
"""
import json
import os
import sys

logs = sys.argv[1]


def load(name):
    try:
        with open(os.path.join(logs, name)) as f:
            for line in f:
                if line.startswith("{"):
                    d = json.loads(line)
                    return d.get("results", d)
    except (OSError, ValueError):
        pass
    return {}


def rss(name):
    try:
        with open(os.path.join(logs, name)) as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def row(label, peer, ours, unit, target, lower_better=True):
    ratio = None
    if peer and ours:
        if not unit:  # a quality: programs print 4 decimals, compare at that
            peer, ours = round(peer, 4), round(ours, 4)
        ratio = peer / ours if lower_better else ours / peer
    met = "" if target is None or ratio is None else ("yes" if ratio >= target else "NO")
    f = lambda v: "-" if v is None else "%.4g" % v
    print("| %s | %s | %s | %s | %s | %s | %s |" % (
        label, unit, f(peer), f(ours), "-" if ratio is None else "%.2f" % ratio,
        "-" if target is None else ">= %g" % target, met))


print("| workload | unit | peer | librec | peer/librec | target | met |")
print("|---|---|---|---|---|---|---|")
w1p, w1 = load("w1_peer.json"), load("w1.json")
if w1p or w1:
    row("W1 SASRec sec/epoch (median, %s vs %s epochs)" % (w1p.get("epochs"), w1.get("epochs")),
        w1p.get("sec_per_epoch_median_all"), w1.get("sec_per_epoch_median_all"), "s", 2.0)
    row("W1 SASRec test HR@10", w1p.get("test_hr10"), w1.get("test_hr10"), "", 1.0, False)
    row("W1 SASRec test NDCG@10", w1p.get("test_ndcg10"), w1.get("test_ndcg10"), "", None, False)
    row("W1 peak RSS", rss("w1_peer.rss"), rss("w1.rss"), "MiB", 1.0)
w2p, w2 = load("w2_peer.json"), load("w2.json")
if w2p or w2:
    row("W2 two-tower sec/epoch (median)", w2p.get("sec_per_epoch_median"),
        w2.get("sec_per_epoch_median"), "s", 2.0)
    row("W2 two-tower Recall@10", w2p.get("recall10"), w2.get("recall10"), "", 1.0, False)
    row("W2 two-tower NDCG@10", w2p.get("ndcg10"), w2.get("ndcg10"), "", None, False)
    row("W2 peak RSS", rss("w2_peer.rss"), rss("w2.rss"), "MiB", 1.0)
    w2b = load("w2_best.json")
    if w2b:
        row("W2 best loss (%s) Recall@10 vs most-popular" % w2b.get("loss"),
            w2b.get("popularity_recall10"), w2b.get("recall10"), "", 1.0, False)
w7, gru = load("w7.json"), load("gru.json")
for nt in (2, 1):
    peer = w7.get("threads_%d" % nt, {}).get("gru_fwd_bwd_ms")
    ours = gru.get("t%d" % nt, {}).get("gru_fwd_bwd_ms")
    if peer or ours:
        row("W7 GRU(32->64) [256,50,32] fwd+bwd, %d thread%s" % (nt, "s" if nt > 1 else ""),
            peer, ours, "ms", 1.5)
