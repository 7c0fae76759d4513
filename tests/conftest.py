"""Shared fixtures: the shipped bundle is loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from lexgate.engine import Bundle, load_bundle

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


@pytest.fixture(scope="session")
def bundle() -> Bundle:
    return load_bundle(POLICIES)
