#!/bin/sh
# The classical workloads of ../shared/bench/peers (W4 exact retrieval, W5
# TF-IDF, W6 item-CF, W8 Funk SVD): for each, the peer script then librec's
# program, back to back and never in parallel, then the table of
# peer_time / librec_time (QPS: librec_qps / peer_qps; > 1: librec faster)
# with the quality metrics side by side.
# Usage: sh bench/run_classical.sh [BUILD_DIR] [W4 W5 W6 W8 ...]
#        (BUILD_DIR holds bench/retrieval, w5_tfidf, w6_itemcf, w8_svd)
# Env:   PEER_DIR    folder of the peer scripts (default ../shared/bench/peers)
#        DATA_DIR    data folder (default ../shared/data)
#        MAX_WAIT    seconds to wait for the 1-minute load to drop below 1.5
#                    before each pair (default 600; then run anyway, with a warning)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
O=${1:-build}
[ $# -gt 0 ] && shift
case $O in /*) ;; *) O=$root/$O ;; esac
which=${*:-W4 W5 W6 W8}
peers=${PEER_DIR:-$root/../shared/bench/peers}
data=${DATA_DIR:-$root/../shared/data}
[ -f "$peers/w5_tfidf.py" ] || { echo "run_classical.sh: no peers in $peers" >&2; exit 1; }
peers=$(cd "$peers" && pwd)
data=$(cd "$data" && pwd)
for b in retrieval w5_tfidf w6_itemcf w8_svd; do
    [ -x "$O/bench/$b" ] || { echo "run_classical.sh: $O/bench/$b not built" >&2; exit 1; }
done

# shellcheck source=/dev/null
. "$peers/run_env.sh"   # OpenBLAS pthread + OMP_WAIT_POLICY=PASSIVE; OPENBLAS_CORETYPE kept
PEERS=$peers
export PEERS PEER_DATA="$data"

logs=$O/bench/logs
mkdir -p "$logs"
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  host: $(nproc) cpus, $cpu"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; OMP_WAIT_POLICY=$OMP_WAIT_POLICY; threads 2"

# Waits (up to MAX_WAIT s) for a quiet machine: two cores are shared by everyone.
quiet() {
    waited=0
    while :; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        awk -v l="$load" 'BEGIN { exit !(l > 1.5) }' || return 0
        if [ "$waited" -ge "${MAX_WAIT:-600}" ]; then
            echo "run_classical.sh: WARNING: load $load; running anyway, ratios will be noisy" >&2
            return 0
        fi
        sleep 15
        waited=$((waited + 15))
    done
}

# pair NAME PEER_ARGS... -- LIBREC_ARGS...
pair() {
    name=$1
    shift
    quiet
    echo "$name: peer ($(cut -d' ' -f1 /proc/loadavg) load) ..." >&2
    pargs=
    while [ "$1" != "--" ]; do pargs="$pargs $1"; shift; done
    shift
    # shellcheck disable=SC2086
    "$PY" $pargs >"$logs/$name.peer.json" 2>"$logs/$name.peer.log"
    echo "$name: librec ..." >&2
    "$@" >"$logs/$name.librec.json" 2>"$logs/$name.librec.log"
}

for w in $which; do
    case $w in
    W4) pair W4 "$peers/w4_retrieval.py" --skip-hnsw -- "$O/bench/retrieval" --threads 2,1 ;;
    W5) pair W5 "$peers/w5_tfidf.py" -- "$O/bench/w5_tfidf" --data "$data" --threads 2 ;;
    W6) pair W6 "$peers/w6_itemcf.py" -- "$O/bench/w6_itemcf" --data "$data" --threads 2 ;;
    W8) pair W8 "$peers/w8_funksvd.py" -- "$O/bench/w8_svd" --data "$data" --threads 2 ;;
    *) echo "run_classical.sh: unknown workload $w" >&2; exit 2 ;;
    esac
done

# shellcheck disable=SC2086 # one argument per workload
"$PY" - "$logs" $which <<'EOF' | tee "$logs/classical_table.md"
import json, os, sys
logs, which = sys.argv[1], sys.argv[2:]
def res(w, side):
    with open(os.path.join(logs, "%s.%s.json" % (w, side))) as f:
        return json.loads(f.read().strip().splitlines()[-1])["results"]
rows = []
# (workload, what, peer key, librec key, higher is better, target, quality keys)
spec = {
    "W4": [("W4 flat top-10, 1M x 64, 10k queries, 2 thr", "QPS", "flatip_qps_t2", "flat_qps_t2",
            True, 1.2, []),
           ("W4 same, 1 thr", "QPS", "flatip_qps_t1", "flat_qps_t1", True, None, [])],
    "W5": [("W5 TF-IDF fit + all-items top-10", "s", "total_sec", "total_sec", False, 2.0,
            [("vocab", "vocab"), ("nnz", "nnz"), ("mean top-1 sim", "mean_top1_sim"),
             ("peak RSS MiB", "peak_rss_mb")])],
    "W6": [("W6 item-CF k=50 + top-10 all users", "s", "total_sec", "total_sec", False, 2.0,
            [("Recall@10", "recall10")])],
    "W8": [("W8 Funk SVD fit per fold (5-fold)", "s", "fit_sec_per_fold_mean",
            "fit_sec_per_fold_mean", False, 20.0,
            [("RMSE", "rmse_mean"), ("MAE", "mae_mean")])],
}
print("| workload | unit | peer | librec | ratio | target | quality (peer / librec) |")
print("|---|---|---|---|---|---|---|")
for w in which:
    try:
        p, l = res(w, "peer"), res(w, "librec")
    except (OSError, ValueError, KeyError, IndexError) as e:
        print("| %s | | | | missing (%s) | | |" % (w, e))
        continue
    for name, unit, pk, lk, up, target, q in spec[w]:
        pv, lv = p[pk], l[lk]
        ratio = lv / pv if up else pv / lv
        tgt = "" if target is None else \
            "%.1fx %s" % (target, "met" if ratio >= target else "MISSED")
        fmt = lambda d, k: "%.4g" % d[k] if isinstance(d.get(k), float) else d.get(k, "-")
        qual = ", ".join("%s %s / %s" % (n, fmt(p, k), fmt(l, k)) for n, k in q)
        print("| %s | %s | %.4g | %.4g | %.2f | %s | %s |" % (name, unit, pv, lv, ratio, tgt, qual))
EOF
echo "logs and JSON in $logs" >&2
