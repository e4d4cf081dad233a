#!/bin/sh
# make check-mpi: the distributed tests under mpirun at 1, 2 and 4 ranks
# (oversubscribed: a correctness run, not a speed-up), the MPI librec
# program's `train --distributed`, and core librec free of MPI.
#   sh scripts/check-mpi.sh BUILD_DIR TEST...
set -eu
O=$1
shift
MPIRUN=${MPIRUN:-mpirun}
# CI runs as root; Open MPI refuses root without these.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# one thread per rank, and no shared-memory transport surprises in containers
export OMPI_MCA_rmaps_base_oversubscribe=1
run() { "$MPIRUN" --oversubscribe -np "$@"; }

# Core librec: no MPI symbol exported or needed.
if nm -D --defined-only "$O/librec.so.0" | grep -i 'mpi'; then
    echo "check-mpi: librec.so.0 exports MPI symbols (above)"; exit 1
fi
if readelf -d "$O/librec.so.0" | grep NEEDED | grep -i mpi; then
    echo "check-mpi: librec.so.0 needs an MPI library"; exit 1
fi
nm -D --defined-only "$O/librec_mpi.so.0" | grep -q ' T rec_mpi_comm_create@@LIBREC_MPI_0.2$'

for t in "$@"; do
    for n in 1 2 4; do
        run "$n" "$O/tests/$t"
    done
done

# librec train --distributed: rank 0 writes the model, one message on error.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk 'BEGIN { srand(7); for (u = 0; u < 300; u++) for (k = 0; k < 8; k++)
             printf "u%d,i%d,%d\n", u, int(rand() * 200), 1 + int(rand() * 5) }' > "$tmp/d.csv"
for n in 1 2 4; do
    run "$n" "$O/bin/librec" train --distributed --model mf --data "$tmp/d.csv" \
        --param epochs=2 --param dim=8 --out "$tmp/m$n.lrm" --quiet
    test -s "$tmp/m$n.lrm"
    "$O/bin/librec" recommend --load "$tmp/m$n.lrm" --user u7 -k 3 > "$tmp/rec$n.txt"
    test "$(wc -l < "$tmp/rec$n.txt")" = 3
    # u7 is rank 1's (2 ranks) or rank 3's (4 ranks) user: rank 0's file
    # still excludes every item u7 has seen, and only those
    "$O/bin/librec" recommend --load "$tmp/m$n.lrm" --user u7 -k 1000 | cut -f2 | sort \
        > "$tmp/all$n.txt"
    grep '^u7,' "$tmp/d.csv" | cut -d, -f2 | sort -u > "$tmp/seen7.txt"
    test -z "$(comm -12 "$tmp/all$n.txt" "$tmp/seen7.txt")" ||
        { echo "check-mpi: $n ranks: rank 0's model recommends items u7 has seen"; exit 1; }
    nitems=$(cut -d, -f2 "$tmp/d.csv" | sort -u | wc -l)
    test "$(wc -l < "$tmp/all$n.txt")" = "$((nitems - $(wc -l < "$tmp/seen7.txt")))"
    # no file but rank 0's (the temporary files of the other ranks included)
    test "$(ls "$tmp" | grep -c '^m')" = 1
    rm -f "$tmp/m$n.lrm"
done
# als from shards: the ranks gather the data and the model is one process's
# to the bit (the same recommendations and scores)
run 2 "$O/bin/librec" train --distributed --model als --data "$tmp/d.csv" \
    --param epochs=2 --param dim=8 --out "$tmp/als2.lrm" --quiet
"$O/bin/librec" train --model als --data "$tmp/d.csv" --param epochs=2 --param dim=8 \
    --out "$tmp/als1.lrm" --quiet
for u in u0 u7; do
    "$O/bin/librec" recommend --load "$tmp/als2.lrm" --user $u -k 20 > "$tmp/r2.txt"
    "$O/bin/librec" recommend --load "$tmp/als1.lrm" --user $u -k 20 > "$tmp/r1.txt"
    cmp "$tmp/r1.txt" "$tmp/r2.txt" || { echo "check-mpi: als at 2 ranks differs for $u"; exit 1; }
done
rm -f "$tmp/als1.lrm" "$tmp/als2.lrm"
rc=0
run 2 "$O/bin/librec" train --distributed --model mf --data "$tmp/d.csv" \
    --param dim=0 --out "$tmp/bad.lrm" --quiet 2> "$tmp/err" || rc=$?
test "$rc" = 2 || { echo "check-mpi: a bad param exited $rc, want 2"; cat "$tmp/err"; exit 1; }
test "$(grep -c 'librec:' "$tmp/err")" = 1 || { echo "check-mpi: not one message:"; cat "$tmp/err"; exit 1; }
grep -q "bad model: .*dim.* (rank 0)" "$tmp/err" || { cat "$tmp/err"; exit 1; }
test ! -e "$tmp/bad.lrm"
# a file that fails to load on one rank only (rank 1 of 2, given another
# path): every rank stops, one message naming rank 1, exit 1, no model
rc=0
"$MPIRUN" --oversubscribe -np 1 "$O/bin/librec" train --distributed --model mf --data "$tmp/d.csv" \
    --param epochs=1 --out "$tmp/bad.lrm" --quiet : \
    -np 1 "$O/bin/librec" train --distributed --model mf --data "$tmp/missing.csv" \
    --param epochs=1 --out "$tmp/bad.lrm" --quiet 2> "$tmp/err" || rc=$?
test "$rc" = 1 || { echo "check-mpi: a missing file on rank 1 exited $rc, want 1"; cat "$tmp/err"; exit 1; }
test "$(grep -c 'librec:' "$tmp/err")" = 1 || { echo "check-mpi: not one message:"; cat "$tmp/err"; exit 1; }
grep -q "cannot load data: .*missing.csv.* (rank 1)" "$tmp/err" || { cat "$tmp/err"; exit 1; }
test ! -e "$tmp/bad.lrm"
# one rank's params differ (rank 1 dim=8): refused by the fit's first
# agreement on every rank, one message naming rank 1
rc=0
"$MPIRUN" --oversubscribe -np 1 "$O/bin/librec" train --distributed --model mf --data "$tmp/d.csv" \
    --param epochs=1 --out "$tmp/bad.lrm" --quiet : \
    -np 1 "$O/bin/librec" train --distributed --model mf --data "$tmp/d.csv" \
    --param epochs=1 --param dim=8 --out "$tmp/bad.lrm" --quiet 2> "$tmp/err" || rc=$?
test "$rc" = 1 || { echo "check-mpi: other params on rank 1 exited $rc, want 1"; cat "$tmp/err"; exit 1; }
test "$(grep -c 'librec:' "$tmp/err")" = 1 || { echo "check-mpi: not one message:"; cat "$tmp/err"; exit 1; }
grep -q "training failed: rec_model_fit: rank 1's model is not rank 0's" "$tmp/err" ||
    { cat "$tmp/err"; exit 1; }
test ! -e "$tmp/bad.lrm"
echo "check-mpi: ok (1, 2 and 4 ranks; librec.so.0 free of MPI)"
