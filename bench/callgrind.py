"""Instructions a whole run of a bench script executes, counted by valgrind's callgrind:
the same number on every run, where this machine's CPU time moves by tens of percent
from one minute to the next. bench/batch_cpu.py and bench/state_cpu.py count with it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys


def instructions(script: str, *args: str) -> int:
    """Instructions callgrind counts for `python script *args` (all its threads)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian package valgrind)")
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           sys.executable, script, *args]  # fmt: skip
    # One BLAS thread: numpy's idle OpenBLAS threads spin-wait, and valgrind, which runs
    # every thread in turn, counts their spinning, a different amount each run (up to
    # about 2,000 instructions an event seen in bench/batch_cpu.py). The worker's own
    # instructions are unchanged.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stderr
    match = re.search(r"Collected : (\d+)", out)
    if match is None:
        raise RuntimeError(f"no callgrind total in:\n{out[-2000:]}")
    return int(match.group(1))
