"""Resolve the area names of recorded logs (which carry no AREA_CD) to registry codes.

Exact name first, then a normalised name (spacing, middle dots and brackets differ between
list versions: '홍대입구역(2호선)' / '홍대입구역 (2호선)'), then the registry's aliases for
renamed areas. A name that is still unknown is not guessed: the caller rejects the row.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from sensors.registry import AREA_NAME_ALIASES, Hotspot, load_hotspots


def normalise_area_name(name: str) -> str:
    """Letters and digits only, NFKC-folded: '광화문 · 덕수궁' and '광화문·덕수궁' agree."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


class AreaNameIndex:
    """Area name -> AREA_CD over one registry."""

    def __init__(
        self,
        hotspots: Iterable[Hotspot] | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        spots = list(hotspots) if hotspots is not None else load_hotspots()
        self._exact = {h.name_ko: h.code for h in spots}
        codes = set(self._exact.values())
        by_norm: dict[str, set[str]] = {}
        for h in spots:
            by_norm.setdefault(normalise_area_name(h.name_ko), set()).add(h.code)
        alias_map = AREA_NAME_ALIASES if aliases is None else aliases
        for name, code in alias_map.items():
            if code in codes:
                by_norm.setdefault(normalise_area_name(name), set()).add(code)
        # A normalised key shared by two areas would be a guess: leave it out.
        self._normalised = {k: next(iter(v)) for k, v in by_norm.items() if len(v) == 1}

    def code_for(self, name: str) -> str | None:
        exact = self._exact.get(name.strip())
        if exact is not None:
            return exact
        return self._normalised.get(normalise_area_name(name))

    def __len__(self) -> int:
        return len(self._exact)
