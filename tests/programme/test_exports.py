"""Public names: every ``__all__`` of the programme's modules resolves, settings are documented."""

from __future__ import annotations

import importlib

import pytest

from cvm.config import ProgrammeSettings, Settings

MODULES = ["cvm.store.warehouse", "cvm.store.engines", "cvm.store.db", "cvm.store.tables",
           "cvm.programme", "cvm.programme.ledger", "cvm.programme.earning",
           "cvm.programme.idempotency", "cvm.programme.batching", "cvm.programme.runner",
           "cvm.programme.admin", "cvm.programme.catalogue", "cvm.programme.tiers",
           "cvm.programme.partners", "cvm.programme.reports", "cvm.programme.apikeys",
           "cvm.programme.facade", "cvm.programme.demo", "cvm.api",
           "cvm.api.app", "cvm.api.deps", "cvm.api.schemas"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name):
    module = importlib.import_module(name)
    assert module.__all__, name
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []


def test_every_programme_setting_is_documented():
    rows = [r for r in Settings.documented() if r[0].startswith("programme.")]
    assert {r[0].split(".", 1)[1] for r in rows} == set(ProgrammeSettings.model_fields)
    assert all(len(r[3]) > 20 for r in rows)
    assert "[programme]" in Settings().to_toml()


def test_settings_reject_out_of_range_values():
    from cvm.errors import ConfigError

    with pytest.raises(ConfigError, match="programme.refund_shortfall"):
        Settings.from_dict({"programme": {"refund_shortfall": "forgive"}})
    with pytest.raises(ConfigError, match="programme.expiry_months"):
        Settings.from_dict({"programme": {"expiry_months": -1}})
