"""python -m infra.kannel install|start|stop|status [--var-dir DIR]"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from citypulse.settings import Settings
from infra.kannel import gateway

log = logging.getLogger("infra.kannel")


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m infra.kannel")
    parser.add_argument("command", choices=["install", "start", "stop", "status"])
    parser.add_argument("--var-dir", type=Path, default=settings.stack.var_dir / "kannel")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    var_dir: Path = args.var_dir.resolve()
    try:
        if args.command == "install":
            log.info("bearerbox: %s", gateway.install_if_missing())
        elif args.command == "start":
            gateway.install_if_missing()
            gateway.start(var_dir, settings.kannel)
            s = gateway.load_settings(var_dir)
            log.info("Kannel running: sendsms %s (var dir %s)", s.sendsms_url, var_dir)
        elif args.command == "stop":
            log.info("stopped: %s", ", ".join(gateway.stop(var_dir)) or "nothing was running")
        else:
            for name, running in gateway.status(var_dir).items():
                log.info("%-10s %s", name, "running" if running else "stopped")
            return 0 if gateway.is_running(var_dir) else 3
    except gateway.KannelError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
