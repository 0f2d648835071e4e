"""KannelProvider: submits through Kannel's smsbox sendsms HTTP interface.

Delivery reports come back later on our HTTP callback (kannel_callback.py), matched by
the message_id we put in each message's dlr-url and signed with the DLR secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from alerts.providers.base import OutgoingSms, SubmitResult
from alerts.providers.kannel_dlr import DLR_MASK_ALL, dlr_callback_url
from citypulse.domain.phones import mask_phone

log = logging.getLogger(__name__)

KANNEL_CODING_UCS2 = 2  # Hangul needs UCS-2; plain ASCII keeps the 160-character GSM SMS
KANNEL_CODING_DEFAULT = 0
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class KannelConfig:
    sendsms_url: str  # e.g. http://127.0.0.1:13013/cgi-bin/sendsms
    username: str
    password: SecretStr
    dlr_callback_url: str  # our endpoint, e.g. http://127.0.0.1:8000/sms/dlr/kannel
    dlr_secret: SecretStr  # signs each dlr-url; the API's DLR route checks it
    sender: str | None = None  # None: the sendsms-user's default-sender
    smsc_id: str | None = None  # None: Kannel routes
    timeout_s: float = 10.0


def classify_sendsms_answer(status_code: int, body: str) -> SubmitResult:
    """Kannel's answer to sendsms -> SubmitResult.

    202 "0: Accepted for delivery" and "3: Queued for later delivery" are accepted (the
    latter waits in Kannel's store for the SMSC); 503 "4: Temporal failure" and other 5xx
    are retryable; 4xx (bad credentials, missing number, text refused) are final except
    408 and 429.
    """
    text = body.strip()
    if 200 <= status_code < 300:
        return SubmitResult.ok()
    error = f"HTTP {status_code}: {text[:200]}"
    if status_code >= 500 or status_code in (408, 429) or text.startswith("4:"):
        return SubmitResult.retry(error)
    return SubmitResult.final(error)


class KannelProvider:
    name = "kannel"

    def __init__(self, config: KannelConfig, *, client: httpx.AsyncClient | None = None):
        self._config = config
        self._client = client or httpx.AsyncClient(timeout=config.timeout_s)
        self._owns_client = client is None

    def sendsms_params(self, message: OutgoingSms) -> dict[str, str]:
        cfg = self._config
        text = message.body()
        params = {
            "username": cfg.username,
            "password": cfg.password.get_secret_value(),
            "to": message.to,
            "text": text,
            "charset": "UTF-8",
            "coding": str(KANNEL_CODING_DEFAULT if text.isascii() else KANNEL_CODING_UCS2),
            "dlr-mask": str(DLR_MASK_ALL),
            "dlr-url": dlr_callback_url(
                cfg.dlr_callback_url, message.message_id, cfg.dlr_secret.get_secret_value()
            ),
        }
        if cfg.sender:
            params["from"] = cfg.sender
        if cfg.smsc_id:
            params["smsc"] = cfg.smsc_id
        return params

    async def send(self, message: OutgoingSms) -> SubmitResult:
        try:
            response = await self._client.get(
                self._config.sendsms_url, params=self.sendsms_params(message)
            )
        except (httpx.TimeoutException, httpx.RemoteProtocolError) as exc:
            # Sent, no answer: Kannel may have taken it. The dispatcher waits for its report
            # (the uncertain grace) before sending again, rather than sending it twice.
            return SubmitResult.unanswered(f"Kannel did not answer: {type(exc).__name__}: {exc}")
        except httpx.TransportError as exc:
            return SubmitResult.retry(f"Kannel unreachable: {type(exc).__name__}: {exc}")
        result = classify_sendsms_answer(response.status_code, response.text)
        log.info(
            "Kannel %s %s to %s: %s",
            "accepted" if result.accepted else "refused",
            message.message_id,
            mask_phone(message.to),
            response.text.strip()[:80],
        )
        return result

    async def reachable(self) -> bool:
        """smsbox answers an empty sendsms request (with a 4xx): no message, no credentials."""
        try:
            await self._client.get(self._config.sendsms_url, timeout=PROBE_TIMEOUT_S)
        except httpx.TransportError:
            return False
        return True

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
