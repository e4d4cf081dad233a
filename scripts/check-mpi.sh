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
    # no file but rank 0's (the temporary files of the other ranks included)
    test "$(ls "$tmp" | grep -c '^m')" = 1
    rm -f "$tmp/m$n.lrm"
done
rc=0
run 2 "$O/bin/librec" train --distributed --model mf --data "$tmp/d.csv" \
    --param dim=0 --out "$tmp/bad.lrm" --quiet 2> "$tmp/err" || rc=$?
test "$rc" = 2 || { echo "check-mpi: a bad param exited $rc, want 2"; cat "$tmp/err"; exit 1; }
test "$(grep -c 'librec:' "$tmp/err")" = 1 || { echo "check-mpi: not one message:"; cat "$tmp/err"; exit 1; }
grep -q "bad model: .*dim.* (rank 0)" "$tmp/err" || { cat "$tmp/err"; exit 1; }
test ! -e "$tmp/bad.lrm"
echo "check-mpi: ok (1, 2 and 4 ranks; librec.so.0 free of MPI)"
