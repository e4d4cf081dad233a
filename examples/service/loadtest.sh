#!/bin/sh
# A short load test of the C++ service, as CI runs it: trains two ALS models
# (two seeds) with the build's librec, serves the first with librec-serve on
# a free loopback port, and drives it with librec-loadtest from a second
# process, which renames the second model over the served file half way
# (the hot reload) and checks every answer against its own single-threaded
# calls.  Then stops the server and checks it released every model it loaded.
#   sh examples/service/loadtest.sh [BUILD_DIR] [RATINGS_FILE]
# Without a ratings file it writes a generated one (400 users x 300 items).
# REQUESTS (default 4000), DURATION (seconds, default 5), CONNECTIONS and THREADS
# (default 2) bound the run; SWAP=0 leaves the reload out (for latency
# measurements without a model load in the middle).
set -eu
O=${1:-build}
data=${2:-}
dir=$(mktemp -d "${TMPDIR:-/tmp}/librec-service-XXXXXX")
pid=""
cleanup() {
    [ -z "$pid" ] || kill -TERM "$pid" 2> /dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

if [ -z "$data" ]; then
    # Two taste groups, items liked by the group rated 4-5, others 1-2.
    awk 'BEGIN { srand(7); print "user,item,rating";
        for (u = 0; u < 400; u++) for (i = 0; i < 300; i++) if (rand() < 0.08)
            printf "u%d,i%d,%d\n", u, i, ((u % 2) == (i % 2)) ? 4 + int(rand() * 2) : 1 + int(rand() * 2) }' \
        > "$dir/ratings.csv"
    data=$dir/ratings.csv
fi
"$O/bin/librec" train --model als --data "$data" --out "$dir/a.lrm" --param seed=1 --quiet
"$O/bin/librec" train --model als --data "$data" --out "$dir/b.lrm" --param seed=2 --quiet
cp "$dir/a.lrm" "$dir/served.lrm"
# The users, in the order of the file (first column, header skipped).
sed 1d "$data" | cut -d, -f1 | awk '!seen[$0]++' > "$dir/users.txt"

"$O/examples/service/librec-serve" "$dir/served.lrm" --port 0 --port-file "$dir/port" \
    --threads "${THREADS:-2}" 2> "$dir/serve.log" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
[ -s "$dir/port" ] || { cat "$dir/serve.log"; echo "loadtest.sh: the server did not start"; exit 1; }

rc=0
"$O/examples/service/librec-loadtest" --port-file "$dir/port" --model "$dir/a.lrm" \
    --users "$dir/users.txt" --requests "${REQUESTS:-4000}" --seconds "${DURATION:-5}" \
    --connections "${CONNECTIONS:-2}" \
    $([ "${SWAP:-1}" = 0 ] || echo --swap "$dir/b.lrm" --path "$dir/served.lrm") || rc=$?

kill -TERM "$pid"
src=0
wait "$pid" || src=$?
pid=""
cat "$dir/serve.log"
[ "$rc" = 0 ] || { echo "loadtest.sh: the load test failed"; exit 1; }
[ "$src" = 0 ] || { echo "loadtest.sh: the server exited $src"; exit 1; }
loads=$([ "${SWAP:-1}" = 0 ] && echo 1 || echo 2)
grep -q "models loaded $loads, released $loads" "$dir/serve.log" ||
    { echo "loadtest.sh: the server did not release every model"; exit 1; }
echo "loadtest.sh: ok"
