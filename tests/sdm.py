"""The official Smart Data Models schemas (tests/fixtures), as JSON-Schema validators that
resolve `common-schema.json` locally: a test never touches the network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SDM = Path(__file__).parent / "fixtures/sensors/fiware/smart-data-models"
SCHEMAS = {"CrowdFlowObserved": "schema.json", "PointOfInterest": "PointOfInterest-schema.json"}


def sdm_validator(entity_type: str = "CrowdFlowObserved") -> Draft202012Validator:
    schema = json.loads((SDM / SCHEMAS[entity_type]).read_text(encoding="utf-8"))
    common = json.loads((SDM / "common-schema.json").read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        common["$id"], Resource.from_contents(common)
    )
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def key_values(entity: dict[str, Any]) -> dict[str, Any]:
    """A normalized NGSI v2 or NGSI-LD entity back in key-values, as the schema states it."""
    out: dict[str, Any] = {}
    for name, attr in entity.items():
        if name == "@context":
            continue
        value = attr["value"] if isinstance(attr, dict) and "value" in attr else attr
        if isinstance(value, dict) and "@value" in value:
            value = value["@value"]
        out[name] = value
    return out
