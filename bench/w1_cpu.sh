#!/bin/sh
# W1 SASRec side by side in CPU seconds per epoch: the peer (PyTorch) with
# its epoch clock, time.perf_counter, replaced by time.process_time (the
# process's CPU time, every thread), then bench/sasrec, whose
# cpu_sec_per_epoch_median is the same measure.  On a machine shared with
# other jobs the wall times move 2-5x between runs; CPU time far less.
# Usage: sh bench/w1_cpu.sh [build dir] [threads] [epochs]
# (OPENBLAS_CORETYPE in the environment reaches both sides.)
B=${1:-build}
T=${2:-1}
E=${3:-10}
PEERS=${PEERS:-../shared/bench/peers}
# the peer's environment (Debian's OpenBLAS pthread build, passive OpenMP
# waits) in a subshell, so it does not reach bench/sasrec
(. "$PEERS/run_env.sh" && /usr/bin/python3 -c '
import os, runpy, sys, time
time.perf_counter = time.process_time
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))
runpy.run_path(sys.argv[0], run_name="__main__")' "$PEERS/w1_sasrec.py" --max-epochs "$E" --threads "$T")
"$B/bench/sasrec" --epochs "$E" --threads "$T"
