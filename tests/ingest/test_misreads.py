"""Values that a lenient reader would store wrongly are refused, naming row and field, or read
exactly: ambiguous and implausible dates, time-zone offsets, non-finite numbers, headers that
differ only in case, and ids derived from a row's values."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import warehouse_state, write_csv
from cvm import InputError, ValidationError, Workspace
from cvm.config import Settings

HEADER = "transaction_id,customer_id,timestamp,amount\n"


def _refused(ws, path, field, **kw) -> list:
    before = warehouse_state(ws)
    with pytest.raises(ValidationError) as info:
        ws.import_file("transactions", path, **kw)
    assert warehouse_state(ws) == before
    assert {p.field for p in info.value.problems} == {field}
    return info.value.problems


def _stored(ws, column="timestamp"):
    return ws.table("transactions").order_by("transaction_id")[column].to_pyarrow().to_pylist()


@pytest.mark.parametrize("value", ["05/01/24", "1/5/24", "24/01/05", "5-1-2024", "01/05/2024"])
def test_ambiguous_dates_are_refused_with_a_hint(ws, tmp_path, value):
    path = write_csv(tmp_path / "t.csv", HEADER + f"t1,c1,{value},10\n")
    (problem,) = _refused(ws, path, "timestamp")
    assert problem.row == 2 and problem.value == value
    assert "ambiguous" in problem.expected and "--date-format" in problem.expected


@pytest.mark.parametrize("value", ["infinity", "-infinity", "epoch", "0024-01-05",
                                   '"2024-01-05 \t10:00:00"', '"2024-01-05\n10:00:00"'])
def test_special_and_implausible_timestamps_are_refused(ws, tmp_path, value):
    path = write_csv(tmp_path / "t.csv", HEADER + "t0,c1,2024-01-04,5\n" + f"t1,c1,{value},10\n")
    (problem,) = _refused(ws, path, "timestamp")  # a tab or line break inside: refused
    assert problem.row == 3


def test_the_plausible_range_is_a_setting(tmp_path):
    ws = Workspace.init(tmp_path / "w", Settings.from_dict({"imports": {"min_year": 2020}}))
    path = write_csv(tmp_path / "t.csv", HEADER + "t1,c1,2019-12-31,10\nt2,c1,2020-01-01,10\n")
    (problem,) = _refused(ws, path, "timestamp")
    assert problem.row == 2 and "2020-01-01 to 2100-12-31" in problem.expected
    # an explicit --date-format is checked against the range too
    path = write_csv(tmp_path / "u.csv", HEADER + "t1,c1,05/01/19,10\n")
    (problem,) = _refused(ws, path, "timestamp", date_format="%d/%m/%y")
    assert problem.value == "05/01/19"


def test_unambiguous_layouts_still_read(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", HEADER + "t1,c1,2024-01-31,1\nt2,c1,20240131,1\n"
                     "t3,c1,2024/1/31,1\nt4,c1,2024-01-31 10:15,1\nt5,c1,2024/01/31 10:15:30,1\n")
    ws.import_file("transactions", path)
    assert _stored(ws) == [dt.datetime(2024, 1, 31)] * 3 + [
        dt.datetime(2024, 1, 31, 10, 15), dt.datetime(2024, 1, 31, 10, 15, 30)]


def test_offsets_convert_to_the_workspace_zone_whatever_the_machine(tmp_path, monkeypatch):
    """One instant written three ways is stored once, in the workspace's zone; naive times are
    taken in that zone. The machine's TZ does not matter."""
    monkeypatch.setenv("TZ", "America/New_York")
    lines = HEADER + ("t1,c1,2024-01-05T23:30:00-05:00,1\nt2,c1,2024-01-06T04:30:00Z,1\n"
                      "t3,c1,2024-01-06 12:30:00+08:00,1\nt4,c1,2024-01-06 04:30,1\n")
    utc = Workspace.init(tmp_path / "utc")
    utc.import_file("transactions", write_csv(tmp_path / "t.csv", lines))
    assert _stored(utc) == [dt.datetime(2024, 1, 6, 4, 30)] * 4
    shanghai = Workspace.init(tmp_path / "sh", Settings.from_dict({"timezone": "Asia/Shanghai"}))
    shanghai.import_file("transactions", tmp_path / "t.csv")
    # the three instants are 12:30 in Shanghai; the naive 04:30 is taken as Shanghai time
    assert _stored(shanghai) == [dt.datetime(2024, 1, 6, 12, 30)] * 3 + [
        dt.datetime(2024, 1, 6, 4, 30)]


def test_offset_in_an_explicit_format(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    ws = Workspace.init(tmp_path / "w")
    path = write_csv(tmp_path / "t.csv", HEADER + "t1,c1,05.01.2024 23:30 -0500,1\n")
    ws.import_file("transactions", path, date_format="%d.%m.%Y %H:%M %z")
    assert _stored(ws) == [dt.datetime(2024, 1, 6, 4, 30)]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity", "1e400", "1_000",
                                   "1e-400", "0x10"])
def test_non_finite_and_python_only_numbers_are_refused(ws, tmp_path, value):
    path = write_csv(tmp_path / "t.csv", HEADER + f"t1,c1,2024-01-05,{value}\n")
    (problem,) = _refused(ws, path, "amount")
    assert problem.row == 2 and problem.value == value and "finite" in problem.expected


def test_plain_numbers_read_exactly(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", HEADER + "t1,c1,2024-01-05,-12.5\nt2,c1,2024-01-05,.5\n"
                     "t3,c1,2024-01-05,1e3\nt4,c1,2024-01-05,0.000\nt5,c1,2024-01-05,+7\n")
    ws.import_file("transactions", path)
    assert _stored(ws, "amount") == [-12.5, 0.5, 1000.0, 0.0, 7.0]


def test_non_finite_numbers_in_parquet_are_refused(ws, tmp_path):
    table = pa.table({"transaction_id": ["t1", "t2"], "customer_id": ["c1", "c1"],
                      "timestamp": pa.array([dt.datetime(2024, 1, 5)] * 2, pa.timestamp("us")),
                      "amount": [10.0, float("inf")]})
    pq.write_table(table, tmp_path / "t.parquet")
    (problem,) = _refused(ws, tmp_path / "t.parquet", "amount")
    assert problem.row == 2  # Parquet counts records from 1


def test_headers_differing_only_in_case_read_the_mapped_column(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", "transaction_id,customer_id,timestamp,amount,AMOUNT\n"
                     "t1,c1,2024-01-05,10,99\n")
    report = ws.import_file("transactions", path, {"amount": "AMOUNT"})
    assert _stored(ws, "amount") == [99.0]
    assert report.ignored_columns == ["amount"]


def test_case_duplicates_in_parquet_read_the_mapped_column(ws, tmp_path):
    table = pa.table({"transaction_id": ["t1"], "customer_id": ["c1"],
                      "timestamp": ["2024-01-05"], "amount": ["10"], "AMOUNT": ["99"]})
    pq.write_table(table, tmp_path / "t.parquet")
    ws.import_file("transactions", tmp_path / "t.parquet", {"amount": "AMOUNT"})
    assert _stored(ws, "amount") == [99.0]


def test_exact_header_wins_over_a_look_alike(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", "transaction_id,Customer ID,customer_id,timestamp,amount\n"
                     "t1,WRONG,c1,2024-01-05,10\n")
    ws.import_file("transactions", path)
    assert _stored(ws, "customer_id") == ["c1"]


def test_two_look_alikes_without_the_exact_name_must_be_mapped(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", "transaction_id,Customer ID,customer-id,timestamp,amount\n"
                     "t1,a,b,2024-01-05,10\n")
    with pytest.raises(InputError, match="could each be the field 'customer_id'.*--map"):
        ws.import_file("transactions", path)


def test_derived_ids_do_not_depend_on_empty_or_extra_columns(ws, tmp_path):
    """The same rows, again with an added empty cost column and an unused column: nothing new
    is added (the id is derived from the canonical fields' values alone)."""
    rows = "".join(f"c{i % 7},2024-01-{1 + i % 28:02d},{i}.5\n" for i in range(1001))
    first = write_csv(tmp_path / "a.csv", "customer_id,timestamp,amount\n" + rows)
    assert ws.import_file("transactions", first).rows_added == 1001
    second = write_csv(tmp_path / "b.csv", "customer_id,timestamp,amount,cost,note\n" + "".join(
        line + ",,x\n" for line in rows.splitlines()))
    report = ws.import_file("transactions", second)
    assert (report.rows_added, report.rows_already_stored) == (0, 1001)
    assert ws.warehouse.row_count("transactions") == 1001


def test_bad_date_format_is_a_user_error(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", HEADER + "t1,c1,05/01/2024,10\n")
    with pytest.raises(InputError, match="not a strptime format"):
        ws.import_file("transactions", path, date_format="%Q")
    with pytest.raises(InputError, match="no strptime code.*not dd/mm/yyyy"):
        ws.import_file("transactions", path, date_format="dd/mm/yyyy")


def test_nul_characters_are_refused_in_ids_and_attributes(ws, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"customer_id,region,tier_note\nc1\x00,north,x\nc2,north,a\x00b\n")
    before = warehouse_state(ws)
    with pytest.raises(ValidationError) as info:
        ws.import_file("customers", path)
    assert warehouse_state(ws) == before
    assert sorted((p.row, p.field) for p in info.value.problems) == [
        (2, "customer_id"), (3, "tier_note")]


def test_a_changed_attribute_is_refused_like_a_changed_field(ws, tmp_path):
    """A stored customer cannot change silently: a changed region and a changed further
    attribute are both refused, naming the row; the same values again add nothing."""
    ws.import_file("customers", write_csv(tmp_path / "a.csv",
                                          "customer_id,region,grade\nc1,north,gold\n"))
    for text in ("customer_id,region,grade\nc1,south,gold\n",
                 "customer_id,region,grade\nc1,north,silver\n",
                 "customer_id,region,grade,vip_since\nc1,north,gold,2020\n"):
        with pytest.raises(ValidationError, match="row 2.*not already stored with other"):
            ws.import_file("customers", write_csv(tmp_path / "b.csv", text))
    same = write_csv(tmp_path / "c.csv", "customer_id,grade,region\nc1,gold,north\n")
    report = ws.import_file("customers", same)
    assert (report.rows_added, report.rows_already_stored) == (0, 1)


def _xlsx(path, rows):
    import openpyxl

    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def test_xlsx_text_cells_follow_the_same_rules(ws, tmp_path):
    """Ambiguous text dates, non-finite text numbers and headers differing only in case,
    in a workbook: refused or read as in a CSV file; real date cells read exactly."""
    path = _xlsx(tmp_path / "t.xlsx", [
        ["transaction_id", "customer_id", "timestamp", "amount", "AMOUNT"],
        ["t1", "c1", dt.datetime(2024, 1, 5, 9, 30), 10, 99],
        ["t2", "c1", "05/01/24", 10, 99],
        ["t3", "c1", "2024-01-06", 10, "inf"]])
    before = warehouse_state(ws)
    with pytest.raises(ValidationError) as info:
        ws.import_file("transactions", path, {"amount": "AMOUNT"})
    assert warehouse_state(ws) == before
    assert sorted((p.row, p.field) for p in info.value.problems) == [
        (3, "timestamp"), (4, "amount")]
    ws.import_file("transactions", path, {"amount": "AMOUNT"},
                   reject_file=tmp_path / "bad.csv")
    assert _stored(ws) == [dt.datetime(2024, 1, 5, 9, 30)]
    assert _stored(ws, "amount") == [99.0]


def test_real_date_cells_read_beside_a_date_format(ws, tmp_path):
    """A workbook whose date column mixes real date cells and text in the company's layout:
    --date-format reads the text, the real dates read as they are."""
    path = _xlsx(tmp_path / "t.xlsx", [
        ["transaction_id", "customer_id", "timestamp", "amount"],
        ["t1", "c1", dt.datetime(2024, 1, 5), 10],
        ["t2", "c1", "06/01/2024", 10]])
    ws.import_file("transactions", path, date_format="%d/%m/%Y")
    assert _stored(ws) == [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 6)]
