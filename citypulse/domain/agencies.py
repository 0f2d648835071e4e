"""Who responds: the agencies a dashboard account or an SMS recipient belongs to.

Seoul's response to a crowd is shared between the city's control room, the district
office (구청), fire and police; a playbook names which of them does each action, and an
account or a recipient belongs to one.
"""

from __future__ import annotations

from typing import Literal, get_args

Agency = Literal["city", "district", "fire", "police"]  # district: a 구청 (district office)
AGENCIES: tuple[Agency, ...] = get_args(Agency)
AGENCY_NAMES: dict[Agency, dict[str, str]] = {
    "city": {"ko": "서울시 상황실", "en": "City control room"},
    "district": {"ko": "구청", "en": "District office"},
    "fire": {"ko": "소방", "en": "Fire"},
    "police": {"ko": "경찰", "en": "Police"},
}
