"""Rows with another number of fields than the header (ragged rows). Without a reject file
the file is refused naming them and nothing is stored; with one, each goes there with its
row number and a reason, its fields in the header's columns (the surplus joined in the
last), and the other rows are stored. The reject file imports back once corrected."""

from __future__ import annotations

import csv
import gzip

import pytest
from typer.testing import CliRunner

from conftest import warehouse_state, write_csv
from cvm import ValidationError
from cvm.cli import app

HEADER = "transaction_id,customer_id,timestamp,amount,product\n"
SEVEN = ("row has 7 fields, the header has 5: fields 5 to 7 are in product as the file has "
         "them; put each value in its column, then empty this reason")
THREE = ("row has 3 fields, the header has 5: the last 2 columns are left empty; put each "
         "value in its column, then empty this reason")


def _csv_rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _stored(ws, table="transactions", order="transaction_id") -> list[dict]:
    return ws.table(table).order_by(order).to_pyarrow().to_pylist()


def _refused(ws, path, **options) -> ValidationError:
    before = warehouse_state(ws)
    with pytest.raises(ValidationError) as info:
        ws.import_file("transactions", path, **options)
    assert warehouse_state(ws) == before
    return info.value


MIXED = (HEADER
         + "t1,c1,2024-01-05,10.5,apple\n"         # row 2
         + "t2,c1,2024-01-05,1,234.50,pear,x\n"    # row 3: 7 fields (1,234.50 unquoted)
         + "t3,c2,yesterday,3,fig\n"               # row 4: a bad value
         + 't4,c2,2024-01-06,4,"kiwi, gold"\n'     # row 5: a quoted comma, 5 fields
         + "t5,c3,2024-01-07\n"                    # row 6: 3 fields
         + "\n"                                    # row 7: an empty line
         + "t6,c3,2024-01-08,6,plum\n"             # row 8
         + "t7,c3,2024-01-09,-x,plum\n")           # row 9: a bad value after them


def test_ragged_rows_go_to_the_reject_file_and_the_other_rows_are_stored(ws, tmp_path):
    rejects = tmp_path / "bad.csv"
    report = ws.import_file("transactions", write_csv(tmp_path / "t.csv", MIXED),
                            reject_file=rejects)
    assert (report.rows_read, report.rows_added, report.rows_rejected) == (7, 3, 4)
    assert [(r["transaction_id"], r["amount"], r["product"]) for r in _stored(ws)] == [
        ("t1", 10.5, "apple"), ("t4", 4.0, "kiwi, gold"), ("t6", 6.0, "plum")]
    header, *rows = _csv_rows(rejects)
    assert header == ["row", "transaction_id", "customer_id", "timestamp", "amount", "product",
                      "reason"]
    assert [r[:6] for r in rows] == [
        ["3", "t2", "c1", "2024-01-05", "1", "234.50,pear,x"],
        ["4", "t3", "c2", "yesterday", "3", "fig"],
        ["6", "t5", "c3", "2024-01-07", "", ""],
        ["9", "t7", "c3", "2024-01-09", "-x", "plum"]]
    assert rows[0][6] == SEVEN and rows[2][6] == THREE
    assert rows[1][6].startswith("timestamp: expected a date")
    assert rows[3][6].startswith("amount: expected a number")


def test_without_a_reject_file_ragged_rows_refuse_the_file_naming_them(ws, tmp_path):
    error = _refused(ws, write_csv(tmp_path / "t.csv", MIXED))
    assert [(p.row, p.field, p.value) for p in error.problems] == [
        (3, "(row)", "t2,c1,2024-01-05,1,234.50,pear,x"), (6, "(row)", "t5,c3,2024-01-07")]
    assert "5 fields as in the header, got 7" in error.problems[0].expected
    # the remedy is named: a reject file takes such rows, or the delimiter is wrong
    assert str(error).endswith("Nothing was stored. Check the delimiter (--delimiter) and "
                               "the quoting of these rows, or import with --reject-file "
                               "BAD.csv to store the other rows and write these there.")


def test_a_corrected_reject_file_with_ragged_rows_imports_back_exactly_those_rows(ws,
                                                                                  tmp_path):
    path = write_csv(tmp_path / "c.csv", "customer_id,relationship_type,region,grade\n"
                     "c1,consumer,North,gold\n"
                     "c2,consumer,Shanghai, China,silver\n"  # an unquoted comma: 5 fields
                     "c3,business\n"                          # 2 fields
                     "c4,kid,South,bronze\n"                  # a bad value
                     "c5,channel,West,gold\n")
    rejects = tmp_path / "rejects.csv"
    report = ws.import_file("customers", path, reject_file=rejects)
    assert (report.rows_read, report.rows_added, report.rows_rejected) == (5, 2, 3)
    header, *rows = _csv_rows(rejects)
    assert header == ["row", "customer_id", "relationship_type", "region", "grade", "reason"]
    assert [r[:5] for r in rows] == [["3", "c2", "consumer", "Shanghai", " China,silver"],
                                     ["4", "c3", "business", "", ""],
                                     ["5", "c4", "kid", "South", "bronze"]]
    assert rows[0][5] == ("row has 5 fields, the header has 4: fields 4 to 5 are in grade as "
                          "the file has them; put each value in its column, then empty this "
                          "reason")
    assert rows[1][5].startswith("row has 2 fields, the header has 4: the last 2 columns")

    # imported back unchanged, the ragged rows are refused (their values may be in the wrong
    # columns), and so is the bad value: nothing is stored
    before = warehouse_state(ws)
    with pytest.raises(ValidationError) as info:
        ws.import_file("customers", rejects)
    assert [(p.row, p.field) for p in info.value.problems] == [
        (2, "reason"), (3, "reason"), (4, "relationship_type")]
    assert warehouse_state(ws) == before

    # the analyst moves the values into their columns and empties those reasons; the bad
    # value is corrected and its reason left as it is
    rows[0][3:6] = ["Shanghai, China", "silver", ""]
    rows[1][3:6] = ["East", "bronze", ""]
    rows[2][2] = "consumer"
    with open(rejects, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    report = ws.import_file("customers", rejects)
    assert (report.rows_read, report.rows_added, report.rows_rejected) == (3, 3, 0)
    assert "reject file" in " ".join(report.notes)
    got = _stored(ws, "customers", "customer_id")
    assert [(r["customer_id"], r["relationship_type"], r["region"], r["grade"]) for r in got] == [
        ("c1", "consumer", "North", "gold"), ("c2", "consumer", "Shanghai, China", "silver"),
        ("c3", "business", "East", "bronze"), ("c4", "consumer", "South", "bronze"),
        ("c5", "channel", "West", "gold")]
    assert "row" not in got[0] and "reason" not in got[0]


def test_quoted_fields_holding_the_delimiter_are_not_ragged(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", HEADER
                     + 't1,c1,2024-01-05,1,"a, b"\n'
                     + 't2,c1,2024-01-05,2,"x,y,z"\n'
                     + 't3,c1,2024-01-05,3,"say ""hi"", ok",extra\n'  # 6 fields
                     + 't4,"c,1",2024-01-05,4,"two\nlines, here"\n')
    error = _refused(ws, path)  # only the ragged row is named
    assert [(p.row, p.value) for p in error.problems] == [
        (4, 't3,c1,2024-01-05,3,say "hi", ok,extra')]
    rejects = tmp_path / "bad.csv"
    report = ws.import_file("transactions", path, reject_file=rejects)
    assert (report.rows_read, report.rows_added, report.rows_rejected) == (4, 3, 1)
    assert [(r["customer_id"], r["product"]) for r in _stored(ws)] == [
        ("c1", "a, b"), ("c1", "x,y,z"), ("c,1", "two\nlines, here")]
    # the surplus is written as the file has it, quotes included
    assert [r[:6] for r in _csv_rows(rejects)[1:]] == [
        ["4", "t3", "c1", "2024-01-05", "3", '"say ""hi"", ok",extra']]


def test_another_delimiter_and_encoding_in_a_gzipped_file(ws, tmp_path):
    text = ("transaction_id;customer_id;timestamp;amount;product\n"
            "t1;c1;2024-01-05;1;\"茶;绿\"\n"
            "t2;c1;2024-01-05;2;咖啡;大杯;热\n"
            "t3;c1;2024-01-05;3;水\n")
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(text.encode("gbk"))
    rejects = tmp_path / "bad.csv"
    report = ws.import_file("transactions", path, reject_file=rejects, encoding="gbk")
    assert (report.rows_added, report.rows_rejected) == (2, 1)
    assert [r["product"] for r in _stored(ws)] == ["茶;绿", "水"]
    assert [r[:6] for r in _csv_rows(rejects)[1:]] == [
        ["3", "t2", "c1", "2024-01-05", "2", "咖啡;大杯;热"]]


def test_a_file_whose_every_row_is_ragged(ws, tmp_path):
    # a semicolon file under a comma header: each row is one field
    path = write_csv(tmp_path / "t.csv", HEADER + "t1;c1;2024-01-05;1;a\n"
                     "t2;c1;2024-01-05;2;b\nt3;c1;2024-01-05;3;c\n")
    error = _refused(ws, path)
    assert error.total == 3 and [p.row for p in error.problems] == [2, 3, 4]
    before = warehouse_state(ws)
    rejects = tmp_path / "bad.csv"
    report = ws.import_file("transactions", path, reject_file=rejects)
    assert (report.rows_read, report.rows_added, report.rows_rejected) == (3, 0, 3)
    assert warehouse_state(ws) == before
    assert "every row has another number of fields than the header (5); is the delimiter ',' " \
           "right? Give it with --delimiter" in report.notes
    rows = _csv_rows(rejects)[1:]
    assert [r[:6] for r in rows] == [["2", "t1;c1;2024-01-05;1;a", "", "", "", ""],
                                     ["3", "t2;c1;2024-01-05;2;b", "", "", "", ""],
                                     ["4", "t3;c1;2024-01-05;3;c", "", "", "", ""]]
    assert rows[0][6] == ("row has 1 field, the header has 5: the last 4 columns are left "
                          "empty; put each value in its column, then empty this reason")


def test_a_file_not_well_formed_elsewhere_is_still_refused_whole(ws, tmp_path):
    rejects = tmp_path / "bad.csv"
    # a ragged row and a quote that never closes
    path = write_csv(tmp_path / "t.csv", HEADER + "t1,c1,2024-01-05,1,a,b\n"
                     't2,c1,2024-01-05,2,"open\nt3,c1,2024-01-05,3,c\n')
    error = _refused(ws, path, reject_file=rejects)
    assert [p.row for p in error.problems] == [2, 3] and "never closes" in \
        error.problems[1].expected
    # a quote escaped with a backslash gives the row a sixth field: the file's quoting is
    # not standard CSV, so no row can be trusted
    path = write_csv(tmp_path / "u.csv", HEADER + 't1,c1,2024-01-05,1,"TV 5\\", black"\n'
                     "t2,c1,2024-01-05,2,radio\n")
    error = _refused(ws, path, reject_file=rejects)
    assert [p.row for p in error.problems] == [2] and 'written twice ("")' in \
        error.problems[0].expected
    assert not rejects.exists()


def test_the_command_line(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", MIXED)
    result = CliRunner().invoke(app, ["import", "transactions", str(path), "-w", str(ws.path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "row 3" in result.output and "row 6" in result.output
    rejects = tmp_path / "bad.csv"
    result = CliRunner().invoke(app, ["import", "transactions", str(path), "-w", str(ws.path),
                                      "--reject-file", str(rejects)])
    assert result.exit_code == 0, result.output
    assert "3 rows added of 7 read, 4 rejected to" in " ".join(result.output.split())
    assert [r[0] for r in _csv_rows(rejects)[1:]] == ["3", "4", "6", "9"]


def _rows(n: int, first: int = 0) -> str:
    return "".join(f"t{i},c{i % 97},2024-01-{1 + i % 28:02d},{i % 500}.25,plain product\n"
                   for i in range(first, first + n))


@pytest.mark.slow
def test_ragged_rows_past_the_first_block_go_to_the_reject_file_with_their_row(ws,
                                                                                tmp_path):
    n = 560_000  # about 20 MB: more than the CSV reader's first 16 MB block
    path = write_csv(tmp_path / "big.csv", HEADER
                     + "x1,c1,2024-01-05,1,a,b\n"        # row 2: ragged
                     + "x2,c1,2024-01-05,bad,a\n"        # row 3: a bad value
                     + _rows(n)                          # rows 4 .. n + 3
                     + "x3,c1,2024-01-05,1,a,b,c\n"      # row n + 4: ragged, past 16 MB
                     + "x4,c1,2024-01-05,oops,a\n"       # row n + 5: a bad value
                     + "x5,c1,2024-01-05,2,a\n"          # row n + 6
                     + "x6,c1\n"                         # row n + 7: ragged
                     + "x7,c1,2024-01-05,-,a\n")         # row n + 8: a bad value
    assert path.stat().st_size > 16 << 20
    error = _refused(ws, path)
    assert [p.row for p in error.problems] == [2, n + 4, n + 7]
    rejects = tmp_path / "bad.csv"
    report = ws.import_file("transactions", path, reject_file=rejects)
    assert (report.rows_read, report.rows_added, report.rows_rejected) == (n + 7, n + 1, 6)
    rows = _csv_rows(rejects)[1:]
    assert [(r[0], r[1]) for r in rows] == [
        ("2", "x1"), ("3", "x2"), (str(n + 4), "x3"), (str(n + 5), "x4"), (str(n + 7), "x6"),
        (str(n + 8), "x7")]
    assert [r[6].split(":")[0] for r in rows] == [
        "row has 6 fields, the header has 5", "amount", "row has 7 fields, the header has 5",
        "amount", "row has 2 fields, the header has 5", "amount"]
    assert ws.warehouse.row_count("transactions") == n + 1
    t = ws.table("transactions")
    assert t.filter(t.transaction_id == "x5").amount.to_pyarrow().to_pylist() == [2.0]
