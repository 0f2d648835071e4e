"""Former names and codes of Seoul's hotspots, mapped to today's areas where that is honest.

Seoul renames, renumbers, splits and drops hotspots between list versions, and recorded
logs carry the name of their day. `sensors/data/former_names.csv` lists each former name
with what became of it (`SOURCE.md` there gives the evidence):

- renamed / renumbered / api_name: the same place under another name or code -> mapped;
- split: mapped only when one successor's polygon covers the old area, else not mapped
  (a head count of the whole old area assigned to one part would read high);
- dropped: no successor -> not mapped.

An unmapped former name is still listed, so a reject can say why instead of "unknown".
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from sensors.registry import RegistryError

MAPPED_RELATIONS = frozenset({"renamed", "renumbered", "api_name"})
UNMAPPED_RELATIONS = frozenset({"dropped"})
RELATIONS = MAPPED_RELATIONS | UNMAPPED_RELATIONS | {"split"}
_CODE = re.compile(r"^POI\d{3}$")


@dataclass(frozen=True)
class FormerName:
    name: str
    former_code: str  # in its own list's numbering ('' when that list gave none)
    former_list: str
    area_code: str | None  # today's area, None when it cannot honestly be mapped
    relation: str
    reason: str

    def describe(self) -> str:
        listed = f" ({self.former_code} in the {self.former_list})" if self.former_code else ""
        target = f"-> {self.area_code}" if self.area_code else "not mapped"
        return f"former area {self.name!r}{listed}, {self.relation}, {target}: {self.reason}"


def _former_from_row(row: dict[str, str], where: str) -> FormerName:
    name = (row.get("former_name") or "").strip()
    code = (row.get("area_code") or "").strip() or None
    relation = (row.get("relation") or "").strip()
    former_code = (row.get("former_code") or "").strip()
    if not name:
        raise RegistryError(f"{where}: former_name is empty")
    if relation not in RELATIONS:
        raise RegistryError(f"{where}: relation {relation!r} is not one of {sorted(RELATIONS)}")
    for value in (code, former_code or None):
        if value is not None and not _CODE.match(value):
            raise RegistryError(f"{where}: {value!r} is not an area code")
    if relation in MAPPED_RELATIONS and code is None:
        raise RegistryError(f"{where}: a {relation} area needs today's area_code")
    if relation in UNMAPPED_RELATIONS and code is not None:
        raise RegistryError(f"{where}: a dropped area has no successor to map to")
    return FormerName(
        name=name,
        former_code=former_code,
        former_list=(row.get("former_list") or "").strip(),
        area_code=code,
        relation=relation,
        reason=(row.get("reason") or "").strip(),
    )


def read_former_names_csv(lines: Iterable[str], name: str) -> list[FormerName]:
    """former_name,former_code,former_list,area_code,relation,reason rows; one per name."""
    found: dict[str, FormerName] = {}
    for lineno, row in enumerate(csv.DictReader(lines), start=2):
        former = _former_from_row(row, f"{name}:{lineno}")
        if former.name in found:
            raise RegistryError(f"{name}:{lineno}: {former.name!r} is listed twice")
        found[former.name] = former
    return list(found.values())


@lru_cache(maxsize=1)
def load_former_names() -> tuple[FormerName, ...]:
    """The shipped table (`sensors/data/former_names.csv`)."""
    text = resources.files("sensors.data").joinpath("former_names.csv").read_text("utf-8")
    return tuple(read_former_names_csv(text.splitlines(), "sensors/data/former_names.csv"))


def former_name_rows(formers: Iterable[FormerName] | None = None) -> list[dict[str, str | None]]:
    """Rows for the `area_former_names` table, keys as its columns."""
    return [
        {
            "former_name": f.name,
            "former_code": f.former_code,
            "former_list": f.former_list,
            "area_code": f.area_code,
            "relation": f.relation,
            "reason": f.reason,
        }
        for f in (formers if formers is not None else load_former_names())
    ]
