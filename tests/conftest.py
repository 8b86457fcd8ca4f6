"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest


def shared_data() -> Path:
    """The reference data folder: ``<repo root>/../shared/data``, else ``/work/shared/data``."""
    beside = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return beside if beside.is_dir() else Path("/work/shared/data")


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """`shared_data` as a fixture."""
    return shared_data()
