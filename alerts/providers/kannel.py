"""KannelProvider: submits through Kannel's smsbox sendsms HTTP interface.

Delivery reports come back later on our HTTP callback (kannel_callback.py), matched by
the message_id we put in each message's dlr-url and signed with the DLR secret.

With a second gateway (`fallback_sendsms_url`, HA mode's other site) a message that the
current gateway did not take for sure (unreachable, or a retryable refusal) goes to the
other one at once, and the provider stays with whichever took it. A request sent and left
unanswered is not sent to the other: the first gateway may have it (the dispatcher's
uncertain grace decides), so no message goes out twice.
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
    fallback_sendsms_url: str = ""  # a second gateway (the other site's); "": none


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
        self._urls = [u for u in (config.sendsms_url, config.fallback_sendsms_url) if u]
        self._current = 0  # index into _urls of the gateway that last took a message

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
        result = SubmitResult.retry("no Kannel gateway configured")
        for attempt in range(len(self._urls)):
            index = (self._current + attempt) % len(self._urls)
            result = await self._send_to(self._urls[index], message)
            if result.accepted or not result.retryable or result.uncertain:
                if result.accepted and index != self._current:
                    log.warning("Kannel: now sending through gateway %d of %d (%s)",
                                index + 1, len(self._urls), self._urls[index])  # fmt: skip
                    self._current = index
                return result
        return result

    async def _send_to(self, url: str, message: OutgoingSms) -> SubmitResult:
        try:
            response = await self._client.get(url, params=self.sendsms_params(message))
        except httpx.ConnectTimeout as exc:  # never connected (a site gone): nothing sent
            return SubmitResult.retry(f"Kannel unreachable: {type(exc).__name__}: {exc}")
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
        """smsbox answers an empty sendsms request (with a 4xx): no message, no credentials.
        With two gateways, either answering will do."""
        for url in self._urls:
            try:
                await self._client.get(url, timeout=PROBE_TIMEOUT_S)
            except httpx.TransportError:
                continue
            return True
        return False

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
