"""What the end-to-end tests share: running the `citypulse` command as a user would."""

from __future__ import annotations

import subprocess
import sys

from citypulse.config import REPO_ROOT


def cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m citypulse.cli ARGS` from the repository root with exactly `env`."""
    return subprocess.run(
        [sys.executable, "-m", "citypulse.cli", *args],
        capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=REPO_ROOT,
    )  # fmt: skip
