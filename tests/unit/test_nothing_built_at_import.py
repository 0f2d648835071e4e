"""No module builds settings or a Faust app at import, except the entry points (which
exist to do so): configuration is read once per process and passed down."""

from __future__ import annotations

import importlib

import faust
import pytest
from pydantic_settings import BaseSettings

from tests.unit.test_import_graph import ENTRY_POINTS, GRAPH

MODULES = sorted(m for m in GRAPH if m not in ENTRY_POINTS and not m.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_module_holds_no_settings_or_app(name: str) -> None:
    module = importlib.import_module(name)
    built = [
        attr for attr, value in vars(module).items() if isinstance(value, BaseSettings | faust.App)
    ]
    assert built == []


def test_the_check_sees_an_entry_point() -> None:
    module = importlib.import_module("streams.app")
    assert isinstance(module.app, faust.App)
    assert isinstance(module.settings.stack, BaseSettings)
