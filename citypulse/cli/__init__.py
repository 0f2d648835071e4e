"""The top floor: the `citypulse` command line and the stack control it drives.

It imports everything (streams, alerts, the API, infra); nothing below imports it. The
ground floor (`citypulse.config`, `topics`, `processes`, `domain`) is what the rest share.
"""

from citypulse.cli.main import main

__all__ = ["main"]
