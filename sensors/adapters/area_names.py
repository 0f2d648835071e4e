"""Resolve the area names of recorded logs (which carry no AREA_CD) to registry codes.

Exact name first, then a normalised name (spacing, middle dots and brackets differ between
list versions: '홍대입구역(2호선)' / '홍대입구역 (2호선)'), then the former names of renamed
areas (`sensors.former_names`). A name that is still unknown is not guessed: the caller
rejects the row, and `former()` tells it why when the name is a former area's.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from sensors.former_names import FormerName, load_former_names
from sensors.registry import Hotspot, load_hotspots


def normalise_area_name(name: str) -> str:
    """Letters and digits only, NFKC-folded: '광화문 · 덕수궁' and '광화문·덕수궁' agree."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


class AreaNameIndex:
    """Area name -> AREA_CD over one registry."""

    def __init__(
        self,
        hotspots: Iterable[Hotspot] | None = None,
        former: Iterable[FormerName] | None = None,
    ) -> None:
        spots = list(hotspots) if hotspots is not None else load_hotspots()
        formers = list(former) if former is not None else load_former_names()
        self._exact = {h.name_ko: h.code for h in spots}
        codes = set(self._exact.values())
        by_norm: dict[str, set[str]] = {}
        for h in spots:
            by_norm.setdefault(normalise_area_name(h.name_ko), set()).add(h.code)
        for f in formers:
            if f.area_code in codes:
                by_norm.setdefault(normalise_area_name(f.name), set()).add(f.area_code)
        # A normalised key shared by two areas would be a guess: leave it out.
        self._normalised = {k: next(iter(v)) for k, v in by_norm.items() if len(v) == 1}
        self._former = {normalise_area_name(f.name): f for f in formers}

    def code_for(self, name: str) -> str | None:
        exact = self._exact.get(name.strip())
        if exact is not None:
            return exact
        return self._normalised.get(normalise_area_name(name))

    def former(self, name: str) -> FormerName | None:
        """The former-names entry of `name`, mapped or not (None when it has none)."""
        return self._former.get(normalise_area_name(name))

    def unknown_reason(self, name: str) -> str:
        """Why `name` has no code: not in the registry, and what became of it if known."""
        former = self.former(name)
        why = f"area {name!r} is not in the registry"
        return f"{why} ({former.describe()})" if former is not None else why

    def __len__(self) -> int:
        return len(self._exact)
