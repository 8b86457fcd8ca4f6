"""The tree: the status rule, the definitions file, storing and reading a month, the
trend, and `cvm kpi` (JSON shape, both languages)."""

from __future__ import annotations

import json

import pytest
from tests.conftest import write_csv
from tests.kpi.conftest import AS_OF
from typer.testing import CliRunner

from cvm.cli import app
from cvm.errors import ConfigError, NotFoundError
from cvm.i18n import catalogue
from cvm.kpi import load_definitions, status
from cvm.kpi.definitions import DEFAULT_DEFINITIONS


@pytest.mark.parametrize(("value", "target", "amber", "direction", "expected"), [
    (0.98, 0.98, 0.95, "higher", "green"),   # on the target is green
    (0.97, 0.98, 0.95, "higher", "amber"),
    (0.95, 0.98, 0.95, "higher", "amber"),   # on the amber edge is amber
    (0.9499, 0.98, 0.95, "higher", "red"),
    (0.97, 0.98, None, "higher", "red"),     # no amber band
    (5.0, 5.0, 10.0, "lower", "green"),
    (7.5, 5.0, 10.0, "lower", "amber"),
    (10.5, 5.0, 10.0, "lower", "red"),
    (-55.0, None, None, "higher", "no_target"),
    (None, 30.0, 0.0, "higher", "no_data"),
])
def test_status_rule(value, target, amber, direction, expected):
    assert status(value, target, amber, direction) == expected


def test_default_tree_shape_and_chinese_names():
    defs = load_definitions(DEFAULT_DEFINITIONS)
    assert defs.root.id == "nps" and "NPS" in defs.root.name
    kpis = defs.children("nps")
    assert 6 <= len(kpis) <= 8
    secondary = [c for k in kpis for c in defs.children(k.id)]
    assert 20 <= len(secondary) <= 30
    assert len(defs.nodes) == 1 + len(kpis) + len(secondary)
    zh = catalogue("zh-CN")
    assert [n.name for n in defs.nodes if n.name not in zh] == []


def _defs_file(tmp_path, text):
    return write_csv(tmp_path / "kpi.toml", text)


@pytest.mark.parametrize(("text", "message"), [
    ('[[kpi]]\nid="a"\nname="A"\nformula="nps"\nunit="points"\ndirection="higher"\n'
     '[[kpi]]\nid="b"\nname="B"\nformula="nps"\nunit="points"\ndirection="higher"\n',
     "exactly one root"),
    ('[[kpi]]\nid="a"\nname="A"\nformula="magic"\nunit="points"\ndirection="higher"\n',
     "formula 'magic' is not one of"),
    ('[[kpi]]\nid="a"\nname="A"\nformula="nps"\nunit="points"\ndirection="higher"\n'
     'target=30\namber=40\n', "amber 40 is on the good side of the target 30"),
    ('[[kpi]]\nid="a"\nname="A"\nformula="nps"\nunit="points"\ndirection="higher"\n'
     'parent="z"\n', "parent 'z' is not an id given above it"),
    ('[[kpi]]\nid="a"\nname="A"\nformula="nps"\nunit="pct"\ndirection="higher"\n',
     "unit 'pct' is not one of"),
])
def test_bad_definitions_are_named(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_definitions(_defs_file(tmp_path, text))


def test_stored_month_is_read_not_recomputed(kpi_ws, tmp_path):
    first = kpi_ws.kpi.compute(AS_OF)
    assert kpi_ws.kpi.months() == [AS_OF]
    retention = next(n for n in first["children"] if n["id"] == "retention_rate")
    assert retention["value"] == pytest.approx(3 / 5)
    # the month before was not stored: computed for the trend (5 of 6 kept in February)
    assert retention["previous"] == pytest.approx(5 / 6)
    assert retention["change"] == pytest.approx(3 / 5 - 5 / 6)
    assert retention["status"] == "red"  # 0.6 < amber 0.95
    # a late import of a March purchase: the stored tree stays as computed ...
    kpi_ws.import_file("transactions", write_csv(tmp_path / "late.csv", """
transaction_id,customer_id,timestamp,amount
t9,c4,2024-03-15 10:00:00,200
"""))
    month = next(n for n in kpi_ws.kpi.tree(AS_OF)["children"]
                 if n["id"] == "vip_major_revenue_share")
    assert month["children"][3]["value"] == 800.0  # revenue_month, as stored
    # ... until the month is computed again: 800 + 200
    again = next(n for n in kpi_ws.kpi.compute(AS_OF)["children"]
                 if n["id"] == "vip_major_revenue_share")
    assert again["children"][3]["value"] == 1000.0
    assert kpi_ws.kpi.months() == [AS_OF]  # replaced, not added
    assert len(kpi_ws.kpi.history("revenue_month")) == 1


def test_trend_reads_the_stored_month_before(kpi_ws):
    feb = kpi_ws.kpi.compute("2024-02-29")
    assert feb["value"] == 100.0  # February's NPS
    march = kpi_ws.kpi.compute(AS_OF)
    assert march["previous"] == 100.0 and march["value"] == 0.0 and march["change"] == -100.0
    assert kpi_ws.kpi.history("nps")["value"].tolist() == [100.0, 0.0]
    rows = kpi_ws.kpi.rows(AS_OF)
    assert rows.loc[0, "id"] == "nps" and rows.loc[0, "depth"] == 0
    assert set(rows["depth"]) == {0, 1, 2}


def test_stored_month_not_found(kpi_ws):
    with pytest.raises(NotFoundError, match="no KPIs stored for 2024-01-31"):
        kpi_ws.kpi.stored("2024-01-31")


def test_own_definitions_file(kpi_ws):
    own = kpi_ws.kpi.write_definitions()
    assert own == kpi_ws.path / "kpi.toml" and kpi_ws.kpi.definitions_file == own
    text = own.read_text(encoding="utf-8").replace(
        'direction = "higher"\ntarget = 0.98\namber = 0.95',
        'direction = "higher"\ntarget = 0.5\namber = 0.4')
    own.write_text(text, encoding="utf-8")
    tree = kpi_ws.kpi.compute(AS_OF)
    retention = next(n for n in tree["children"] if n["id"] == "retention_rate")
    assert (retention["target"], retention["status"]) == (0.5, "green")  # 0.6 >= 0.5


def _cli(*args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_json_shape(kpi_ws):
    root = json.loads(_cli("kpi", "--as-of", str(AS_OF), "--format", "json", "-w",
                           str(kpi_ws.path)))
    assert "NPS" in root["name"] and root["value"] == 0.0 and root["target"] == 30.0
    assert root["status"] == "amber"  # 0 is on the amber edge (amber = 0)
    assert 6 <= len(root["children"]) <= 8

    def check(node):
        assert {"name", "value", "target", "status", "children"} <= set(node)
        for child in node["children"]:
            check(child)
    check(root)
    leaves = [g for k in root["children"] for g in k["children"]]
    assert leaves and all(g["children"] == [] for g in leaves)
    # the JSON is the stored tree
    assert root == json.loads(json.dumps(kpi_ws.kpi.tree(AS_OF)))


def test_cli_chinese(kpi_ws):
    root = json.loads(_cli("kpi", "--as-of", str(AS_OF), "-f", "json", "--lang", "zh-CN",
                           "-w", str(kpi_ws.path)))
    assert root["name"] == "净推荐值（NPS）"
    assert [k["name"] for k in root["children"]][:2] == ["客户保持率", "客户流失率"]
    table = _cli("kpi", "--as-of", str(AS_OF), "--lang", "zh", "-w", str(kpi_ws.path))
    assert "满意度指数" in table and "60.0%" in table  # retention 3/5
