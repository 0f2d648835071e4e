"""FIWARE context brokers CityPulse pushes to: one small interface (`ContextBroker`:
upsert a batch of key-values entities), one class per NGSI flavour.

The entities arrive as the key-values documents the open-data routes serve
(dashboard_api/opendata/shapes.py); each class writes them in its flavour's normalized
form, which every broker stores with types (a GeoJSON `location` is geo-indexed, dates are
dates) and which CityPulse's own FIWARE adapter reads back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import httpx

from dashboard_api.opendata.shapes import SDM_CONTEXT

log = logging.getLogger(__name__)

# Orion refuses these in a Text value unless the attribute is TextUnrestricted.
ORION_FORBIDDEN = frozenset("<>\"'=;()")
LD_CONTEXTS = {
    "CrowdFlowObserved": SDM_CONTEXT,
    "PointOfInterest": (
        "https://raw.githubusercontent.com/smart-data-models/dataModel.PointOfInterest/"
        "master/context.jsonld"
    ),
}
# Worth another try later: the broker is away, overloaded, or refuses our credentials
# (fixed on its side without a CityPulse restart).
RETRYABLE = frozenset({401, 403, 408, 425, 429})


class BrokerUnavailable(Exception):
    """Nothing was stored; the same entities may be sent again later."""


class BrokerRejected(Exception):
    """The broker refused the batch as it is; sending it again would not help."""


class ContextBroker(Protocol):
    name: str

    async def upsert(self, entities: Sequence[Mapping[str, Any]]) -> list[str]:
        """Create or update the entities; the ids the broker refused (the rest stored).
        Raises BrokerUnavailable or BrokerRejected."""
        ...


def _is_date(name: str, value: object) -> bool:
    return name.startswith("date") and isinstance(value, str)


def _v2_type(name: str, value: object) -> str:
    if name == "location":
        return "geo:json"
    if _is_date(name, value):
        return "DateTime"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "TextUnrestricted" if ORION_FORBIDDEN & set(value) else "Text"
    return "StructuredValue"


def v2_normalized(entity: Mapping[str, Any]) -> dict[str, Any]:
    """A key-values entity as NGSI v2 normalized: every attribute `{type, value}`."""
    out: dict[str, Any] = {"id": entity["id"], "type": entity["type"]}
    for name, value in entity.items():
        if name not in ("id", "type", "@context"):
            out[name] = {"type": _v2_type(name, value), "value": value}
    return out


def ld_normalized(entity: Mapping[str, Any]) -> dict[str, Any]:
    """A key-values entity as NGSI-LD normalized with its data model's @context."""
    out: dict[str, Any] = {"id": entity["id"], "type": entity["type"]}
    for name, value in entity.items():
        if name in ("id", "type", "@context"):
            continue
        if name == "location":
            out[name] = {"type": "GeoProperty", "value": value}
        elif _is_date(name, value):
            out[name] = {"type": "Property", "value": {"@type": "DateTime", "@value": value}}
        else:
            out[name] = {"type": "Property", "value": value}
    out["@context"] = [LD_CONTEXTS.get(str(entity["type"]), SDM_CONTEXT)]
    return out


def _check(response: httpx.Response, broker: str) -> None:
    status = response.status_code
    if status < 300:
        return
    detail = response.text[:300]
    if status in RETRYABLE or status >= 500:
        raise BrokerUnavailable(f"{broker} answered {status}: {detail}")
    raise BrokerRejected(f"{broker} answered {status}: {detail}")


async def _post(
    client: httpx.AsyncClient, url: str, body: object, headers: Mapping[str, str], broker: str
) -> httpx.Response:
    try:
        response = await client.post(url, json=body, headers=dict(headers))
    except httpx.HTTPError as exc:  # refused, reset, timed out, bad TLS...
        raise BrokerUnavailable(f"{broker}: {type(exc).__name__}: {exc}") from exc
    _check(response, broker)
    return response


class NgsiV2Broker:
    """Orion (NGSI v2): `POST /v2/op/update`, actionType `append` (create or update)."""

    name = "ngsi-v2"

    def __init__(
        self, base_url: str, client: httpx.AsyncClient, headers: Mapping[str, str]
    ) -> None:
        self.url = f"{base_url}/v2/op/update"
        self.client, self.headers = client, headers

    async def upsert(self, entities: Sequence[Mapping[str, Any]]) -> list[str]:
        body = {"actionType": "append", "entities": [v2_normalized(e) for e in entities]}
        await _post(self.client, self.url, body, self.headers, self.name)
        return []  # v2 batches are all or nothing


class NgsiLdBroker:
    """An NGSI-LD broker: `POST /ngsi-ld/v1/entityOperations/upsert`; a 207 names the
    entities it refused."""

    name = "ngsi-ld"

    def __init__(
        self, base_url: str, client: httpx.AsyncClient, headers: Mapping[str, str]
    ) -> None:
        self.url = f"{base_url}/ngsi-ld/v1/entityOperations/upsert"
        self.client = client
        self.headers = {**headers, "Content-Type": "application/ld+json"}

    async def upsert(self, entities: Sequence[Mapping[str, Any]]) -> list[str]:
        body = [ld_normalized(e) for e in entities]
        response = await _post(self.client, self.url, body, self.headers, self.name)
        if response.status_code != 207:
            return []
        try:
            errors = response.json().get("errors", [])
            return [str(e["entityId"]) for e in errors if isinstance(e, dict)]
        except (ValueError, AttributeError, KeyError):
            log.warning("%s: unreadable 207 answer: %s", self.name, response.text[:300])
            return []
