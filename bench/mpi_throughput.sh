#!/bin/sh
# Data-parallel throughput on one machine: mf (dim 64, batch 4096, 2 epochs)
# on a generated 400k-row dataset, fitted by
#   1 rank  x 1 thread, 2 ranks x 1 thread each (mpirun), 1 rank x 2 threads,
# with the MPI build's librec (make MPI=1 O=build-mpi).  Prints the wall
# time of each run (best of 2), the examples per second, and the bytes
# rank 0 exchanged per step (LIBREC_COMM_STATS is not needed: the README's
# byte model is checked by tests/mpi/mpi_train).  Brief runs: the numbers
# move with the machine's load, which is printed first.
#   sh bench/mpi_throughput.sh [BUILD_DIR]
set -eu
O=${1:-build-mpi}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk 'BEGIN { srand(11); for (u = 0; u < 20000; u++) for (k = 0; k < 20; k++)
             printf "u%d,i%d\n", u, int(5000 * rand() ^ 2) }' > "$tmp/d.csv"
args="train --model mf --data $tmp/d.csv --format csv --param dim=64 --param batch=4096
      --param epochs=2 --quiet"
best() { # best wall seconds of 2 runs of "$@"
    b=""
    for k in 1 2; do
        s=$(date +%s.%N)
        "$@" > /dev/null
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc)
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}
rows=400000
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
t11=$(best mpirun --oversubscribe -np 1 "$O/bin/librec" $args --distributed --threads 1 --out "$tmp/a.lrm")
t21=$(best mpirun --oversubscribe -np 2 "$O/bin/librec" $args --distributed --threads 1 --out "$tmp/b.lrm")
t12=$(best "$O/bin/librec" $args --threads 2 --out "$tmp/c.lrm")
for r in "1 rank x 1 thread:$t11" "2 ranks x 1 thread:$t21" "1 rank x 2 threads:$t12"; do
    name=${r%%:*} t=${r##*:}
    printf '%-22s %6.2f s  %9.0f examples/s\n' "$name" "$t" "$(echo "2 * $rows / $t" | bc -l)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
