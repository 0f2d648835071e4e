from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SEOUL_DATA = REPO_ROOT / ".." / "shared" / "data" / "seoul"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "sensors"


@pytest.fixture(scope="session")
def seoul_data() -> Path:
    """The recorded Seoul data next to the repo; tests that need it skip without it."""
    if not SEOUL_DATA.is_dir():
        pytest.skip(f"recorded Seoul data not found at {SEOUL_DATA.resolve()}")
    return SEOUL_DATA


@pytest.fixture(scope="session")
def sensor_fixtures() -> Path:
    return FIXTURES
