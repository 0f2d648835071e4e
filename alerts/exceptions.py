"""Errors of the alert operations, for the API to map to HTTP statuses."""

from __future__ import annotations

from alerts.lifecycle import InvalidTransition


class AlertNotFound(LookupError):
    """No alert with that id (HTTP 404)."""

    def __init__(self, alert_id: int) -> None:
        super().__init__(f"alert {alert_id} does not exist")
        self.alert_id = alert_id


class InvalidSilence(ValueError):
    """A silence that would mute nothing, everything, or nobody's decision (HTTP 422)."""


__all__ = ["AlertNotFound", "InvalidSilence", "InvalidTransition"]
