"""The churn reason taxonomy, its responses and the mapping of a company's own codes."""

from __future__ import annotations

import pytest

from cvm.churn.reasons import CHURN_RESPONSES, map_reason_codes, responses_table
from cvm.errors import InputError
from cvm.schema import CHURN_REASONS


def test_every_class_has_one_response():
    assert list(CHURN_RESPONSES) == list(CHURN_REASONS)
    # source document 003: non-malicious passive churn is avoided by reminder services and
    # several convenient ways to pay
    arrears = CHURN_RESPONSES["passive_non_malicious"]
    assert arrears.response == "reminder_sequence_and_easy_payment"
    assert arrears.actions[:2] == ("payment_reminder_sequence", "offer_more_payment_methods")
    assert CHURN_RESPONSES["active_our_fault"].response == "service_recovery_call"
    assert not CHURN_RESPONSES["active_natural"].preventable
    kinds = {r: c.kind for r, c in CHURN_RESPONSES.items()}
    assert all(r.startswith(k) for r, k in kinds.items())
    t = responses_table()
    assert t.shape[0] == 5 and set(t.columns) >= {"reason", "response", "actions", "owner"}


def test_user_codes_map_through_mapping_and_aliases():
    codes = ["PORT-OUT", "Moved", "NPAY 90", None, "", "billing error", "port out"]
    mapping = {"port_out": "competitor", "NPAY 90": "arrears"}
    assert map_reason_codes(codes, mapping) == [
        "active_competitive", "active_natural", "passive_non_malicious", None, None,
        "active_our_fault", "active_competitive"]


def test_unknown_codes_are_named_with_counts():
    with pytest.raises(InputError, match=r"2 churn reason code\(s\).*'ABC' \(2x\), 'XYZ' \(1x\)"):
        map_reason_codes(["ABC", "moved", "XYZ", "ABC"])


def test_bad_mapping_target_is_named():
    with pytest.raises(InputError, match="unknown class\\(es\\): X1=price"):
        map_reason_codes(["X1"], {"X1": "price"})


def test_cli_lists_reasons_as_json():
    import json

    from typer.testing import CliRunner

    from cvm.cli import app

    res = CliRunner().invoke(app, ["churn", "reasons", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["reason"]: r for r in json.loads(res.stdout)}
    assert rows["passive_non_malicious"]["owner"] == "billing"
    assert rows["active_our_fault"]["response"] == "service_recovery_call"


def test_churn_package_exports_its_public_names():
    import inspect

    import cvm.churn as pkg

    assert sorted(pkg.__all__) == pkg.__all__
    for name in pkg.__all__:
        assert hasattr(pkg, name), name
    # every public function or class of the package's modules is exported
    for mod in ("classifier", "features", "metrics", "reasons", "snapshot", "survival",
                "training"):
        module = getattr(pkg, mod)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                assert name in pkg.__all__ or name in {"encode_label", "normalise_code",
                                                       "responses_table"}, name
