#!/bin/sh
# Runs the PyTorch peers and librec's micro benchmark back to back (one at a
# time) and prints the table of peer_time / librec_time.
# Usage: sh bench/run.sh [BUILD_DIR]        (what `make bench O=...` runs)
# Env:   PEER_DIR   folder of the peer scripts (default ../shared/bench/peers
#                   next to this checkout)
#        W7_ARGS, MLP_ARGS, MICRO_ARGS   extra arguments for each program,
#                   e.g. MICRO_ARGS='--reps 5' for a quick look (not for the table)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
O=${1:-build}
case $O in /*) ;; *) O=$root/$O ;; esac
micro=$O/bench/micro
peers=${PEER_DIR:-$root/../shared/bench/peers}

[ -x "$micro" ] || { echo "run.sh: $micro not built (make bench O=...)" >&2; exit 1; }
[ -f "$peers/w7_microkernels.py" ] || { echo "run.sh: no peers in $peers" >&2; exit 1; }
peers=$(cd "$peers" && pwd)

# The BLAS librec links, before run_env.sh changes LD_LIBRARY_PATH ...
blas_before=$(ldd "$micro" | awk '/blas/ { print $3 }' | xargs -r realpath)
# shellcheck source=/dev/null
. "$peers/run_env.sh"
PEERS=$peers
export PEERS
# ... and after: the peers' OpenBLAS folder must not swap ours for another.
blas_after=$(ldd "$micro" | awk '/blas/ { print $3 }' | xargs -r realpath)
if [ "$blas_before" != "$blas_after" ]; then
    echo "run.sh: run_env.sh changes librec's BLAS: $blas_before -> $blas_after" >&2
    exit 1
fi

logs=$O/bench/logs
mkdir -p "$logs"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  host: $(nproc) cpus, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "librec BLAS: $blas_after; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "load average before the runs: $load"
awk -v l="$load" 'BEGIN { exit !(l > 0.5) }' && \
    echo "run.sh: WARNING: the machine is busy (load $load); the ratios will be noisy" >&2

echo "running the peer w7_microkernels.py (about 1-2 minutes) ..." >&2
# shellcheck disable=SC2086
"$PY" "$peers/w7_microkernels.py" ${W7_ARGS:-} >"$logs/w7.json" 2>"$logs/w7.log"
echo "running the peer bench/peer_mlp.py ..." >&2
# shellcheck disable=SC2086
"$PY" "$here/peer_mlp.py" ${MLP_ARGS:-} >"$logs/mlp_peer.json" 2>"$logs/mlp_peer.log"
echo "running librec bench/micro ..." >&2
# shellcheck disable=SC2086
"$micro" ${MICRO_ARGS:-} >"$logs/micro.json" 2>"$logs/micro.log"

"$PY" "$here/compare.py" "$logs/w7.json" "$logs/mlp_peer.json" "$logs/micro.json" | \
    tee "$logs/table.md"
echo "logs and JSON in $logs" >&2
