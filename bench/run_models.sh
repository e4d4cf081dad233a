#!/bin/sh
# The model workloads side by side with their PyTorch peers, one at a time:
# W7's GRU (reusing run.sh's w7.json when present), W1 SASRec, W2 two-tower
# (as specified, then with log-Q correction against most-popular).  Peak RSS
# of both sides is taken the same way (bench/maxrss.py).
# Usage: sh bench/run_models.sh [BUILD_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
O=${1:-build}
case $O in /*) ;; *) O=$root/$O ;; esac
peers=${PEER_DIR:-$root/../shared/bench/peers}
data=${PEER_DATA:-$root/../shared/data}
[ -f "$peers/w1_sasrec.py" ] || { echo "run_models.sh: no peers in $peers" >&2; exit 1; }
peers=$(cd "$peers" && pwd)
for b in gru sasrec twotower; do
    [ -x "$O/bench/$b" ] || { echo "run_models.sh: $O/bench/$b not built" >&2; exit 1; }
done
# shellcheck source=/dev/null
. "$peers/run_env.sh"
logs=$O/bench/logs
mkdir -p "$logs"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(cut -d' ' -f1 /proc/loadavg)"

if [ ! -s "$logs/w7.json" ]; then
    echo "running the peer w7_microkernels.py ..." >&2
    "$PY" "$peers/w7_microkernels.py" >"$logs/w7.json" 2>"$logs/w7.log"
fi
echo "running librec bench/gru ..." >&2
"$O/bench/gru" >"$logs/gru.json" 2>"$logs/gru.log"

echo "running the peer w1_sasrec.py (200 epochs, a few minutes) ..." >&2
"$PY" "$here/maxrss.py" "$logs/w1_peer.rss" "$PY" "$peers/w1_sasrec.py" \
    >"$logs/w1_peer.json" 2>"$logs/w1_peer.log"
epochs=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["results"]["epochs"])' \
    "$logs/w1_peer.json" 2>/dev/null || echo 200)
echo "running librec bench/sasrec ($epochs epochs) ..." >&2
"$PY" "$here/maxrss.py" "$logs/w1.rss" "$O/bench/sasrec" --epochs "$epochs" "$data/ml-latest-small/ratings.csv" \
    >"$logs/w1.json" 2>"$logs/w1.log"

echo "running the peer w2_twotower.py ..." >&2
"$PY" "$here/maxrss.py" "$logs/w2_peer.rss" "$PY" "$peers/w2_twotower.py" \
    >"$logs/w2_peer.json" 2>"$logs/w2_peer.log"
echo "running librec bench/twotower ..." >&2
"$PY" "$here/maxrss.py" "$logs/w2.rss" "$O/bench/twotower" --data "$data" \
    >"$logs/w2.json" 2>"$logs/w2.log"
"$O/bench/twotower" --data "$data" --loss infonce_logq >"$logs/w2_best.json" 2>"$logs/w2_best.log"

"$PY" "$here/compare_models.py" "$logs" | tee "$logs/models_table.md"
