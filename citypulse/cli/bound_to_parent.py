"""python -m citypulse.cli.bound_to_parent ARGV...: exec ARGV so that it gets SIGTERM when
its parent (supervisord) dies, even by SIGKILL, instead of running on as an orphan no
`citypulse down` can find. Linux's PR_SET_PDEATHSIG survives exec; the pid stays the same.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def bind_to_parent() -> None:
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: supervisord still stops it normally
        return
    if parent == 1 or os.getppid() != parent:  # the parent died before the binding took
        sys.exit(1)


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: python -m citypulse.cli.bound_to_parent ARGV...")
    bind_to_parent()
    os.execvp(argv[0], argv)  # noqa: S606 - the project's own program argv


if __name__ == "__main__":
    main(sys.argv[1:])
