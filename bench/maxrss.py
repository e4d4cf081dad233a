"""Runs a command and appends its peak RSS (MiB, over all its processes) to a file.

Usage: maxrss.py OUT_FILE COMMAND [ARGS...]
The peers print no RSS of their own, so both sides are measured the same way:
RUSAGE_CHILDREN after the command exits.
"""
import resource
import subprocess
import sys

out, cmd = sys.argv[1], sys.argv[2:]
rc = subprocess.run(cmd).returncode
with open(out, "w") as f:
    f.write("%.1f\n" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0))
sys.exit(rc)
