"""The command line: exit codes, formats, --out, and the demo end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def loaded(tmp_path):
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    tx = write_csv(tmp_path / "tx.csv", "Cust;Day;Net\n001;2024-01-05;10\n002;2024-02-05;30\n"
                   "001;2024-03-05;20\n")
    result = run("import", "transactions", str(tx), "--map", "customer_id=Cust",
                 "--map", "timestamp=Day", "--map", "amount=Net", "-w", str(ws))
    assert result.exit_code == 0, result.output
    assert "3 rows added of 3 read" in " ".join(result.output.split())
    return ws


def test_summary_json_and_csv(loaded):
    out = json.loads(run("summary", "-w", str(loaded), "--unit", "days",
                         "--format", "json").stdout)
    assert [(r["customer_id"], r["frequency"], r["recency"], r["T"], r["monetary_value"])
            for r in out] == [("001", 1, 60.0, 60.0, 20.0), ("002", 0, 0.0, 29.0, 0.0)]
    csv_text = run("summary", "-w", str(loaded), "--format", "csv").stdout
    assert csv_text.splitlines()[0] == ('"customer_id","frequency","recency","T",'
                                        '"monetary_value","first_purchase"')


def test_tiers_out_parquet(loaded, tmp_path):
    out = tmp_path / "tiers.parquet"
    result = run("value", "tiers", "-w", str(loaded), "--out", str(out))
    assert result.exit_code == 0
    rows = pq.read_table(out).to_pylist()
    assert [(r["tier"], r["customers"], r["revenue"]) for r in rows] == [
        ("vip", 1, 30.0), ("major", 0, 0.0), ("ordinary", 0, 0.0), ("small", 1, 30.0)]


def test_validation_error_exits_2_with_message_and_no_traceback(loaded, tmp_path):
    bad = write_csv(tmp_path / "bad.csv", "customer_id,timestamp,amount\n003,soon,5\n")
    result = subprocess.run([sys.executable, "-m", "cvm", "import", "transactions", str(bad),
                             "-w", str(loaded)], capture_output=True, text=True)
    assert result.returncode == 2
    assert f"{bad}, row 2, field 'timestamp': got 'soon'" in result.stderr
    assert "Traceback" not in result.stderr
    debug = subprocess.run([sys.executable, "-m", "cvm", "--debug", "import", "transactions",
                            str(bad), "-w", str(loaded)], capture_output=True, text=True)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_not_a_workspace(tmp_path):
    result = runner.invoke(app, ["value", "tiers", "-w", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a cvm workspace" in result.stderr


def test_breakdown_unknown_field(loaded):
    result = runner.invoke(app, ["value", "breakdown", "--by", "colour", "-w", str(loaded)])
    assert result.exit_code == 2 and "cannot break down by 'colour'" in result.stderr


def test_demo_end_to_end(tmp_path):
    result = run("demo", str(tmp_path / "demo"), "--customers", "800")
    assert result.exit_code == 0, result.output
    assert "Pareto value tiers" in result.output and "RFM segments" in result.output
    tiers = json.loads(run("value", "tiers", "-w", str(tmp_path / "demo"),
                           "--format", "json").stdout)
    assert [t["customers"] for t in tiers] == [8, 32, 120, 640]  # 1%, 4%, 15%, 80% of 800
    conc = json.loads(run("value", "concentration", "-w", str(tmp_path / "demo"),
                          "--format", "json").stdout)
    assert conc["statistics"]["top_1pct_share"] == pytest.approx(
        tiers[0]["revenue"] / sum(t["revenue"] for t in tiers))


def test_status_lists_tables_and_imports(loaded):
    rows = {r["table"]: r for r in json.loads(run("status", "-w", str(loaded),
                                                  "--format", "json").stdout)}
    assert rows["transactions"]["rows"] == 3 and rows["transactions"]["imports"] == 1
    assert rows["transactions"]["last_file"].endswith("tx.csv")
    assert rows["customers"] == {"table": "customers", "rows": 0, "imports": 0,
                                 "last_import": None, "last_file": None}


def test_json_writes_nan_as_null(tmp_path):
    """Revenue all zero: the Gini coefficient and the top shares are 0/0, NaN in Python;
    --format json prints them as null (json.dumps would refuse NaN)."""
    ws = tmp_path / "ws"
    run("init", str(ws))
    tx = write_csv(tmp_path / "tx.csv", "transaction_id,customer_id,timestamp,amount\n"
                   "t1,a,2024-01-05,0\nt2,b,2024-01-06,0\n")
    assert run("import", "transactions", str(tx), "-w", str(ws)).exit_code == 0
    result = run("value", "concentration", "-w", str(ws), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # strict: Python's json refuses NaN only when asked,
    assert "NaN" not in result.stdout  # so check the token is absent too
    assert doc["statistics"]["gini"] is None
    assert doc["statistics"]["top_20pct_share"] is None
    assert doc["statistics"]["customers"] == 2 and doc["statistics"]["total"] == 0


def test_json_of_numpy_values_and_dates():
    import numpy as np
    import pandas as pd

    from cvm._json import dumps

    text = dumps({"a": np.float64("nan"), "b": [np.int64(3), pd.NaT, float("-inf")],
                  "c": pd.Timestamp("2024-01-31 10:15"), "d": np.array([1.5, np.inf])},
                 indent=None)
    assert text == ('{"a": null, "b": [3, null, null], "c": "2024-01-31T10:15:00", '
                    '"d": [1.5, null]}')


def test_import_with_decimal_commas_and_the_companys_own_words(tmp_path):
    ws = tmp_path / "ws"
    run("init", str(ws))
    customers = write_csv(tmp_path / "c.csv", "编号;类型\n001;个人\n002;企业\n")
    result = run("import", "customers", str(customers), "-w", str(ws), "--map",
                 "customer_id=编号", "--map", "relationship_type=类型",
                 "--map-value", "relationship_type:个人=consumer",
                 "--map-value", "relationship_type:企业=business")
    assert result.exit_code == 0, result.output
    tx = write_csv(tmp_path / "t.csv", "customer_id;timestamp;amount\n001;2024-01-05;1.234,50\n"
                   "002;2024-01-06;12,5\n")
    assert run("import", "transactions", str(tx), "-w", str(ws), "--decimal", ",").exit_code == 0
    out = json.loads(run("value", "breakdown", "--by", "relationship_type", "-w", str(ws),
                         "--format", "json").stdout)
    assert {r["relationship_type"]: r["revenue"] for r in out} == {"consumer": 1234.5,
                                                                   "business": 12.5}
    bad = runner.invoke(app, ["import", "customers", str(customers), "-w", str(ws),
                              "--map-value", "relationship_type=business"])
    assert bad.exit_code == 2 and "expected FIELD:VALUE=CODE" in bad.output


def test_csv_has_no_float_noise_and_files_carry_a_bom_for_excel(tmp_path):
    """Amounts summing to 0.30000000000000004 print as 0.3; --out FILE.csv starts with the
    UTF-8 byte-order mark Excel needs for Chinese text; Parquet keeps the exact double."""
    ws = tmp_path / "ws"
    run("init", str(ws))
    tx = write_csv(tmp_path / "t.csv", "transaction_id,customer_id,timestamp,amount\n"
                   "t1,客户1,2024-01-05,0.1\nt2,客户1,2024-01-06,0.2\n")
    assert run("import", "transactions", str(tx), "-w", str(ws)).exit_code == 0
    out = run("value", "tiers", "--customers", "-w", str(ws), "--format", "csv").stdout
    assert out.splitlines()[1].startswith('"客户1",0.3,')
    result = run("value", "tiers", "--customers", "-w", str(ws), "--out",
                 str(tmp_path / "c.csv"), "--format", "json")
    assert result.exit_code == 0
    data = (tmp_path / "c.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "客户1" in data.decode("utf-8-sig")
    run("value", "tiers", "--customers", "-w", str(ws), "--out", str(tmp_path / "c.parquet"),
        "--format", "json")
    assert pq.read_table(tmp_path / "c.parquet").column("revenue")[0].as_py() == 0.1 + 0.2
