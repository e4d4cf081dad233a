#!/bin/sh
# W3 LightGCN side by side with its PyTorch peer, one at a time: the peer
# (50 epochs or its 300 s budget), then bench/w3_lightgcn with the paper's
# recipe for the epochs the peer ran, then with librec's defaults (epochs too).
# The ratio is peer seconds per epoch / librec seconds per epoch.
# Usage: sh bench/run_graph.sh [BUILD_DIR] [w3_lightgcn options, e.g. --threads 1]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
O=${1:-build}
[ $# -gt 0 ] && shift
case $O in /*) ;; *) O=$root/$O ;; esac
peers=${PEER_DIR:-$root/../shared/bench/peers}
data=${PEER_DATA:-$root/../shared/data}
[ -f "$peers/w3_lightgcn.py" ] || { echo "run_graph.sh: no peers in $peers" >&2; exit 1; }
[ -x "$O/bench/w3_lightgcn" ] || { echo "run_graph.sh: $O/bench/w3_lightgcn not built" >&2; exit 1; }
peers=$(cd "$peers" && pwd)
# shellcheck source=/dev/null
. "$peers/run_env.sh"
logs=$O/bench/logs
mkdir -p "$logs"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(cut -d' ' -f1 /proc/loadavg)"
threads=2
prev=
for a in "$@"; do [ "$prev" = --threads ] && threads=$a; prev=$a; done
echo "running the peer w3_lightgcn.py ..." >&2
(cd "$peers" && "$PY" w3_lightgcn.py --threads "$threads") >"$logs/w3_peer.json" 2>"$logs/w3_peer.log"
epochs=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["results"]["epochs_run"])' \
    "$logs/w3_peer.json")
echo "running librec bench/w3_lightgcn ($epochs epochs, the paper's recipe) ..." >&2
"$O/bench/w3_lightgcn" --data "$data/ml-latest-small/ratings.csv" --epochs "$epochs" "$@" \
    >"$logs/w3.json" 2>"$logs/w3.log"
echo "running librec bench/w3_lightgcn (librec's defaults) ..." >&2
"$O/bench/w3_lightgcn" --data "$data/ml-latest-small/ratings.csv" --recipe librec "$@" \
    >"$logs/w3_librec.json" 2>"$logs/w3_librec.log"
"$PY" - "$logs" <<'PYEOF'
import json, os, sys
def load(n):
    with open(os.path.join(sys.argv[1], n)) as f:
        return json.loads(f.readline())["results"]
p, o, d = load("w3_peer.json"), load("w3.json"), load("w3_librec.json")
print("| W3 LightGCN, ml-latest-small, %d threads | PyTorch | librec | ratio |" % o["threads"])
print("|---|---|---|---|")
print("| seconds per epoch (median) | %.3f | %.3f | %.2f |" % (
    p["sec_per_epoch_median"], o["sec_per_epoch_median"],
    p["sec_per_epoch_median"] / o["sec_per_epoch_median"]))
print("| Recall@20 after %d epochs (paper recipe) | %.4f | %.4f | |" % (o["epochs_run"], p["recall20"], o["recall20"]))
print("| NDCG@20 after %d epochs (paper recipe) | %.4f | %.4f | |" % (o["epochs_run"], p["ndcg20"], o["ndcg20"]))
print("| librec defaults, %d epochs: Recall@20 / NDCG@20, seconds in all | | %.4f / %.4f, %.1f s | |" % (
    d["epochs_run"], d["recall20"], d["ndcg20"], d["train_sec_total"]))
PYEOF
