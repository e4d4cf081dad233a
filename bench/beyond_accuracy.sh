#!/bin/sh
# The beyond-accuracy table of examples/README.md: every model kind at its
# defaults on one split, accuracy beside catalogue coverage, intra-list
# diversity, novelty and serendipity, all @K.  Kinds run one after another
# (never in parallel: each uses the machine's cores).
# Usage: sh bench/beyond_accuracy.sh [BUILD_DIR [RATINGS [OUTDIR]]]
#   env KINDS="popularity als" to run some kinds only, SPLIT (user:0.2), K (20), SEED (42)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
O=${1:-build}
case $O in /*) ;; *) O=$root/$O ;; esac
data=${2:-$root/../shared/data/ml-latest-small/ratings.csv}
out=${3:-/tmp/beyond_accuracy}
split=${SPLIT:-user:0.2}
k=${K:-20}
seed=${SEED:-42}
kinds=${KINDS:-$("$O/bin/librec" models | cut -d' ' -f1)}
metrics=recall@$k,ndcg@$k,coverage@$k,diversity@$k,novelty@$k,serendipity@$k
mkdir -p "$out"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average: $(cut -d' ' -f1 /proc/loadavg)" >&2
for m in $kinds; do
    echo "running $m ..." >&2
    # user CPU seconds of the whole run (load, fit, evaluate) into $m.time
    /usr/bin/time -f '%U %e' -o "$out/$m.time" \
        "$O/bin/librec" eval --model "$m" --data "$data" --split "$split" --seed "$seed" \
        --metrics "$metrics" --json >"$out/$m.json" 2>"$out/$m.log" ||
        echo "$m failed: see $out/$m.log" >&2
done
python3 - "$out" "$k" $kinds <<'PYEOF'
import json, os, sys
out, k, kinds = sys.argv[1], sys.argv[2], sys.argv[3:]
names = ["recall", "ndcg", "coverage", "diversity", "novelty", "serendipity"]
print("| model | " + " | ".join("%s@%s" % (n, k) for n in names) + " | CPU s |")
print("|---" * (len(names) + 2) + "|")
for m in kinds:
    try:
        r = json.load(open(os.path.join(out, m + ".json")))["metrics"]
        t = open(os.path.join(out, m + ".time")).read().split()[0]
    except (OSError, ValueError, KeyError):
        print("| %s | failed |" % m)
        continue
    print("| %s | " % m + " | ".join("%.4f" % r["%s@%s" % (n, k)] for n in names) + " | %s |" % t)
PYEOF
