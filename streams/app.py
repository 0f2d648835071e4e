"""The stream worker's entry point for the Faust command line:
`faust -A streams.app worker`.

The one module of the worker that builds at import, because Faust looks for an `app`
here: settings from the environment, the worker from streams/worker.py.
"""

from __future__ import annotations

from citypulse.settings import Settings
from streams.worker import build_worker, tune_runtime

settings = Settings.from_env()
tune_runtime()
app = build_worker(settings.stack, settings.worker, settings.alerts, settings.sms.ack_links()).app
