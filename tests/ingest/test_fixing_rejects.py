"""Fixing what an import rejected, and files in a company's own conventions: the reject file
imports back once corrected, the same file read with other options is read again, decimal
commas, and the company's own words for canonical codes."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from conftest import write_csv
from cvm import InputError, ValidationError


def _customers(ws):
    return ws.table("customers").order_by("customer_id").to_pyarrow().to_pylist()


def test_a_corrected_reject_file_imports_back_without_its_row_and_reason(ws, tmp_path):
    path = write_csv(tmp_path / "c.csv", "customer_id,relationship_type,grade\n"
                     "c1,consumer,gold\nc2,kid,silver\nc3,business,bronze\n")
    rejects = tmp_path / "rejects.csv"
    report = ws.import_file("customers", path, reject_file=rejects)
    assert (report.rows_added, report.rows_rejected) == (2, 1)
    with open(rejects, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["row", "customer_id", "relationship_type", "grade", "reason"]
    rows[1][2] = "consumer"  # the analyst corrects the bad value and keeps the file as it is
    with open(rejects, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    report = ws.import_file("customers", rejects)
    assert report.rows_added == 1 and "reject file" in " ".join(report.notes)
    got = _customers(ws)
    assert [(r["customer_id"], r["relationship_type"], r["grade"]) for r in got] == [
        ("c1", "consumer", "gold"), ("c2", "consumer", "silver"), ("c3", "business", "bronze")]
    assert "row" not in got[0] and "reason" not in got[0]


def test_the_same_file_with_a_corrected_option_is_read_again(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", "transaction_id,customer_id,timestamp,amount\n"
                     "t1,c1,2024-01-05,1\nt2,c1,05/01/2024,2\n")
    report = ws.import_file("transactions", path, reject_file=tmp_path / "bad.csv")
    assert (report.rows_added, report.rows_rejected) == (1, 1)
    same = ws.import_file("transactions", path, reject_file=tmp_path / "bad2.csv")
    assert same.skipped_same_file and same.rows_added == 0  # same options: nothing new
    fixed = ws.import_file("transactions", path, date_format="%d/%m/%Y",
                           reject_file=tmp_path / "bad3.csv")
    # read again: t2 is added, t1 (ISO, read beside the format) is stored already
    assert (fixed.skipped_same_file, fixed.rows_added, fixed.rows_already_stored,
            fixed.rows_rejected) == (False, 1, 1, 0)
    stamps = ws.table("transactions").order_by("transaction_id").timestamp.to_pyarrow()
    assert stamps.to_pylist() == [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 5)]


def test_decimal_commas(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", "transaction_id;customer_id;timestamp;amount\n"
                     "t1;c1;2024-01-05;12,50\nt2;c1;2024-01-05;1.234,50\n"
                     "t3;c1;2024-01-05;1 234,5\nt4;c1;2024-01-05;-0,25\n")
    ws.import_file("transactions", path, decimal=",")
    amounts = ws.table("transactions").order_by("transaction_id").amount.to_pyarrow()
    assert amounts.to_pylist() == [12.5, 1234.5, 1234.5, -0.25]
    bad = write_csv(tmp_path / "u.csv", "transaction_id;customer_id;timestamp;amount\n"
                    "t9;c1;2024-01-05;12,5,0\n")
    with pytest.raises(ValidationError, match="row 2.*1234,50"):
        ws.import_file("transactions", bad, decimal=",")
    with pytest.raises(InputError, match="decimal mark must be"):
        ws.import_file("transactions", bad, decimal=";")


def test_the_companys_own_words_map_onto_codes(ws, tmp_path):
    path = write_csv(tmp_path / "c.csv", "客户编号,客户类型\nc1,个人\nc2,企业\nc3,渠道\n")
    ws.import_file("customers", path, {"customer_id": "客户编号",
                                       "relationship_type": "客户类型"},
                   value_maps={"relationship_type": {"个人": "consumer", "企业": "business",
                                                     "渠道": "channel"}})
    assert [(r["customer_id"], r["relationship_type"]) for r in _customers(ws)] == [
        ("c1", "consumer"), ("c2", "business"), ("c3", "channel")]
    with pytest.raises(InputError, match="'company' is not a code of relationship_type"):
        ws.import_file("customers", path, value_maps={"relationship_type": {"企业": "company"}})
    unmapped = write_csv(tmp_path / "d.csv", "customer_id,relationship_type\nc9,集团\n")
    with pytest.raises(ValidationError, match="--map-value"):
        ws.import_file("customers", unmapped)
