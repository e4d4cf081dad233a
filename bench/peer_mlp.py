"""PyTorch side of the MLP training step that bench/micro.c times (mlp512).

  x[1024, 512] (no grad) -> Linear(512, 512) -> ReLU -> Linear(512, 512) -> mean,
  backward, Adam(lr 1e-3) step; grads set to None before each step.
Protocol as w7_microkernels.py: 3 warm-ups, median of reps (default 100, the
peer's Linear count), at 2 and 1 threads.  Run after sourcing
../shared/bench/peers/run_env.sh; it imports peercommon from $PEERS.
Usage: peer_mlp.py [--threads 2,1] [--reps 100]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.environ.get("PEERS", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                        "..", "..", "shared", "bench", "peers")))
import torch  # noqa: E402

from peercommon import emit, log, set_threads  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--threads", default="2,1")
p.add_argument("--reps", type=int, default=100)
args = p.parse_args()

torch.manual_seed(0)


def bench(fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


res = {}
for nt in [int(x) for x in args.threads.split(",")]:
    set_threads(nt)
    mlp = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512))
    opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
    x = torch.randn(1024, 512)

    def step():
        opt.zero_grad(set_to_none=True)
        mlp(x).mean().backward()
        opt.step()
    r = {"mlp512_step_ms": bench(step, args.reps) * 1e3}
    log(nt, r)
    res["threads_%d" % nt] = r

emit("librec_bench_mlp_peer", res)
