"""Import storage: reject files, idempotent re-import, formats, identifiers, atomicity."""

from __future__ import annotations

import csv
import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import warehouse_state, write_csv

HEADER = "transaction_id,customer_id,timestamp,amount,quantity\n"


def _rows(ws, table, order="transaction_id"):
    return ws.table(table).order_by(order).to_pyarrow().to_pylist()


def test_reject_file_stores_good_rows_and_explains_bad_ones(ws, tmp_path):
    path = write_csv(tmp_path / "tx.csv", HEADER + "T1,007,2024-01-05,10.5,1\n"
                     "T2,007,yesterday,3,1\nT3,008,2024-01-06,4,-2\nT4,008,20240107,5,2\n")
    rejects = tmp_path / "bad.csv"
    report = ws.import_file("transactions", path, reject_file=rejects)
    assert (report.rows_read, report.rows_added, report.rows_rejected) == (4, 2, 2)
    assert [r["transaction_id"] for r in _rows(ws, "transactions")] == ["T1", "T4"]
    with open(rejects, newline="") as fh:
        bad = list(csv.DictReader(fh))
    assert [(b["row"], b["transaction_id"]) for b in bad] == [("3", "T2"), ("4", "T3")]
    assert bad[0]["reason"].startswith("timestamp: expected a date")
    assert bad[1]["reason"] == "quantity: expected a value >= 0, got '-2'"


def test_reimport_adds_nothing_and_overlap_adds_only_new_rows(ws, tmp_path):
    first = write_csv(tmp_path / "jan.csv", HEADER + "T1,1,2024-01-05,10,1\nT2,2,2024-01-06,5,1\n")
    assert ws.import_file("transactions", first).rows_added == 2
    again = ws.import_file("transactions", first)
    assert again.skipped_same_file and again.rows_added == 0
    overlap = write_csv(tmp_path / "janfeb.csv", HEADER + "T2,2,2024-01-06,5,1\n"
                        "T3,3,2024-02-01,7,1\n")
    report = ws.import_file("transactions", overlap)
    assert (report.rows_added, report.rows_already_stored) == (1, 1)
    assert ws.warehouse.row_count("transactions") == 3


def test_derived_ids_make_reimport_of_edited_copy_idempotent(ws, tmp_path):
    body = "customer_id,timestamp,amount\n1,2024-01-05,10\n1,2024-01-05,10\n2,2024-01-06,5\n"
    ws.import_file("transactions", write_csv(tmp_path / "a.csv", body))
    # the same rows in another file (different bytes): two identical purchases stay two
    report = ws.import_file("transactions", write_csv(tmp_path / "b.csv", body + "\n"))
    assert (report.rows_added, report.rows_already_stored) == (0, 3)
    ids = [r["transaction_id"] for r in _rows(ws, "transactions")]
    assert len(set(ids)) == 3


def test_identifiers_stay_text_and_extra_customer_attributes_are_kept(ws, tmp_path):
    path = write_csv(tmp_path / "c.csv", "customer_id,relationship_type,Age Band\n"
                     "00042,B2B,30-44\n0007,Distributor,60+\n")
    ws.import_file("customers", path)
    rows = _rows(ws, "customers", "customer_id")
    assert [(r["customer_id"], r["relationship_type"], r["Age Band"]) for r in rows] == [
        ("00042", "business", "30-44"), ("0007", "channel", "60+")]


def test_parquet_and_excel_inputs(ws, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    pq.write_table(pa.table({"cid": ["001", "002"], "when": [dt.datetime(2024, 1, 1, 9, 30),
                                                             dt.datetime(2024, 1, 2)],
                             "amt": [1.25, 2.5]}), tmp_path / "t.parquet")
    ws.import_file("transactions", tmp_path / "t.parquet",
                   {"customer_id": "cid", "timestamp": "when", "amount": "amt"})
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.append(["Customer", "Date", "Net"])
    sheet.append(["003", dt.datetime(2024, 3, 1), 7])
    sheet.append([None, None, None])
    sheet.append(["004", "not a date", 8])
    wb.save(tmp_path / "t.xlsx")
    from cvm import ValidationError

    with pytest.raises(ValidationError) as info:
        ws.import_file("transactions", tmp_path / "t.xlsx",
                       {"customer_id": "Customer", "timestamp": "Date", "amount": "Net"})
    assert (info.value.problems[0].row, info.value.problems[0].field) == (4, "timestamp")
    ws.import_file("transactions", tmp_path / "t.xlsx",
                   {"customer_id": "Customer", "timestamp": "Date", "amount": "Net"},
                   reject_file=tmp_path / "bad.csv")
    got = sorted((r["customer_id"], r["timestamp"], r["amount"])
                 for r in _rows(ws, "transactions"))
    assert got == [("001", dt.datetime(2024, 1, 1, 9, 30), 1.25),
                   ("002", dt.datetime(2024, 1, 2), 2.5), ("003", dt.datetime(2024, 3, 1), 7.0)]


def test_semicolon_csv_with_date_format(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", "Kunde;Datum;Betrag\nA;31/01/2024;5\n")
    ws.import_file("transactions", path, {"customer_id": "Kunde", "timestamp": "Datum",
                                          "amount": "Betrag"}, date_format="%d/%m/%Y")
    assert _rows(ws, "transactions")[0]["timestamp"] == dt.datetime(2024, 1, 31)


def test_failure_while_storing_leaves_warehouse_as_it_was(ws, tmp_path, monkeypatch):
    ws.import_file("transactions", write_csv(tmp_path / "a.csv", HEADER + "T1,1,2024-01-05,1,1\n"))
    before = warehouse_state(ws)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ws.warehouse, "_write_manifest", crash)
    with pytest.raises(OSError, match="disk full"):
        ws.import_file("transactions", write_csv(tmp_path / "b.csv",
                                                 HEADER + "T2,1,2024-01-06,1,1\n"))
    manifest, files = warehouse_state(ws)
    assert manifest == before[0]
    assert ws.warehouse.row_count("transactions") == 1 and len(_rows(ws, "transactions")) == 1


def test_results_replace_or_keep_history(ws):
    from cvm import NotFoundError, WorkspaceError

    ws.save_result("clv_scores", pa.table({"customer_id": ["a", "b"], "score": [0.1, 0.2]}))
    first_parts = list((ws.warehouse.dir / "results" / "clv_scores").iterdir())
    ws.save_result("clv_scores", pa.table({"customer_id": ["a"], "score": [0.9]}))
    assert ws.result("clv_scores").to_pyarrow().to_pylist() == [{"customer_id": "a",
                                                                 "score": 0.9}]
    assert not first_parts[0].exists()  # the replaced part is gone
    ws.save_result("churn_scores", pa.table({"run": ["2024-01"], "n": [1]}), mode="append")
    ws.save_result("churn_scores", pa.table({"run": ["2024-02"], "n": [2]}), mode="append")
    assert sorted(r["run"] for r in ws.result("churn_scores").to_pyarrow().to_pylist()) == [
        "2024-01", "2024-02"]
    assert ws.warehouse.result_names() == ["churn_scores", "clv_scores"]
    with pytest.raises(NotFoundError, match="no result named 'nope'"):
        ws.result("nope")
    with pytest.raises(WorkspaceError, match="unknown result name 'transactions'"):
        ws.save_result("transactions", pa.table({"a": [1]}))


def test_customer_tables_are_stored_in_customer_order(ws, tmp_path):
    """interactions (like customers and survey answers) are stored sorted by customer, so
    one customer's rows lie in one row group; rows of one customer keep the file's order."""
    path = write_csv(tmp_path / "i.csv",
                     "interaction_id,customer_id,touchpoint,kind,opened_at\n"
                     "i1,C3,web,inquiry,2024-01-05 10:00\n"
                     "i2,C1,web,inquiry,2024-01-01 10:00\n"
                     "i3,C3,branch,complaint,2024-01-02 10:00\n"
                     "i4,C2,web,inquiry,2024-01-03 10:00\n"
                     "i5,C1,web,praise,2024-01-04 10:00\n")
    ws.import_file("interactions", path)
    (part,) = ws.warehouse.parts("interactions")
    stored = pq.read_table(part, columns=["customer_id", "interaction_id"]).to_pylist()
    assert [(r["customer_id"], r["interaction_id"]) for r in stored] == [
        ("C1", "i2"), ("C1", "i5"), ("C2", "i4"), ("C3", "i1"), ("C3", "i3")]
