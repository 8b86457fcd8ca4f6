"""Import validation: every bad-input case names file, row, field; nothing is stored."""

from __future__ import annotations

import pytest

from conftest import warehouse_state, write_csv
from cvm import InputError, ValidationError

CUSTOMERS = """
id,type,region
00042,B2B,north
00043,consumer,south
00044,individual,
"""

TX_MAP = {"customer_id": "cust", "timestamp": "date", "amount": "value", "quantity": "qty"}


@pytest.fixture
def ws_customers(ws, tmp_path):
    ws.import_file("customers", write_csv(tmp_path / "c.csv", CUSTOMERS),
                   {"customer_id": "id", "relationship_type": "type"})
    return ws


def _fails(ws, table, path, mapping=None, **kw) -> ValidationError:
    before = warehouse_state(ws)
    with pytest.raises(ValidationError) as info:
        ws.import_file(table, path, mapping, **kw)
    assert warehouse_state(ws) == before, "a failed import must leave the warehouse unchanged"
    return info.value


@pytest.mark.parametrize("line, row_field, expected", [
    ("00042,2024-02-30,20,1", (2, "timestamp"), "a date or date-time"),
    ("00042,2024-02-01,abc,1", (2, "amount"), "a number"),
    ("00042,2024-02-01,20,-1", (2, "quantity"), "a value >= 0"),
    ("00099,2024-02-01,20,1", (2, "customer_id"), "a customer_id present in the customers"),
    (",2024-02-01,20,1", (2, "customer_id"), "a value (the field is required)"),
])
def test_bad_value_is_named_and_nothing_stored(ws_customers, tmp_path, line, row_field,
                                               expected):
    path = write_csv(tmp_path / "tx.csv", f"cust,date,value,qty\n{line}\n")
    err = _fails(ws_customers, "transactions", path, TX_MAP)
    assert err.total == 1
    (p,) = err.problems
    assert (p.row, p.field) == row_field
    assert expected in p.expected
    text = str(err)
    assert f"{path}, row 2, field '{row_field[1]}'" in text
    assert ws_customers.warehouse.row_count("transactions") == 0


def test_missing_column_names_file_and_field(ws, tmp_path):
    path = write_csv(tmp_path / "tx.csv", "cust,value\n1,2\n")
    err = _fails(ws, "transactions", path, {"customer_id": "cust", "amount": "value"})
    assert [p.field for p in err.problems] == ["timestamp"]
    assert err.problems[0].row is None
    assert f"{path}, header, field 'timestamp'" in str(err)
    assert "--map timestamp=YourColumn" in str(err)


def test_duplicate_id_in_file_names_both_rows(ws, tmp_path):
    path = write_csv(tmp_path / "tx.csv", "transaction_id,customer_id,timestamp,amount\n"
                     "T1,1,2024-01-01,5\nT2,1,2024-01-02,5\nT1,2,2024-01-03,7\n")
    err = _fails(ws, "transactions", path)
    (p,) = err.problems
    assert (p.row, p.field, p.value) == (4, "transaction_id", "T1")
    assert "same id is on row 2" in p.expected


def test_id_already_stored_with_other_values_is_rejected(ws, tmp_path):
    header = "transaction_id,customer_id,timestamp,amount\n"
    ws.import_file("transactions", write_csv(tmp_path / "a.csv", header + "T1,1,2024-01-01,5\n"))
    err = _fails(ws, "transactions", write_csv(tmp_path / "b.csv",
                                               header + "T1,1,2024-01-01,6\n"))
    assert err.problems[0].field == "transaction_id"
    assert "already stored" in err.problems[0].expected


def test_examples_are_capped_with_a_count_of_the_rest(ws, tmp_path):
    ws = ws.with_settings(**{"imports.max_examples": 3})
    rows = "".join(f"{i},not-a-date,1\n" for i in range(12))
    err = _fails(ws, "transactions", write_csv(tmp_path / "tx.csv",
                                               "customer_id,timestamp,amount\n" + rows))
    assert err.total == 12 and len(err.problems) == 3
    assert [p.row for p in err.problems] == [2, 3, 4]
    assert "... and 9 more" in str(err)


def test_contract_end_before_start_and_unknown_reason(ws, tmp_path):
    path = write_csv(tmp_path / "k.csv", "customer_id,start,end,end_reason\n"
                     "1,2024-03-01,2024-02-01,arrears\n2,2024-01-01,2024-06-01,bored\n")
    err = _fails(ws, "contracts", path)
    got = {(p.row, p.field) for p in err.problems}
    assert got == {(2, "end"), (3, "end_reason")}
    assert "not before start (2024-03-01)" in next(p for p in err.problems if p.row == 2).expected


def test_survey_answer_outside_scale_and_undefined_item(ws, tmp_path):
    ws.import_file("survey_items", write_csv(
        tmp_path / "items.csv", "survey,item,construct,scale_min,scale_max\n"
        "rel,nps,nps,0,10\nrel,sat,satisfaction,1,5\n"))
    path = write_csv(tmp_path / "ans.csv", "respondent_id,survey,item,answer\n"
                     "r1,rel,nps,11\nr1,rel,sat,3\nr1,rel,colour,2\n")
    err = _fails(ws, "survey_responses", path)
    got = {(p.row, p.field) for p in err.problems}
    assert got == {(2, "answer"), (4, "item")}


def test_row_numbers_count_blank_lines(ws, tmp_path):
    path = write_csv(tmp_path / "tx.csv",
                     "customer_id,timestamp,amount\n1,2024-01-01,1\n\n\n2,2024-01-01,x\n")
    err = _fails(ws, "transactions", path)
    assert err.problems[0].row == 5


def test_unknown_table_and_bad_map_are_input_errors(ws, tmp_path):
    path = write_csv(tmp_path / "tx.csv", "a,b\n1,2\n")
    with pytest.raises(InputError, match="unknown table 'sales'"):
        ws.import_file("sales", path)
    with pytest.raises(InputError, match="has no column 'nope'"):
        ws.import_file("transactions", path, {"customer_id": "nope"})
    with pytest.raises(InputError, match="'client' is not a field of transactions"):
        ws.import_file("transactions", path, {"client": "a"})


def test_overlapping_contracts_of_one_customer_and_plan(ws, tmp_path):
    header = "contract_id,customer_id,plan,start,end\n"
    ws.import_file("contracts", write_csv(tmp_path / "a.csv", header +
                                          "K1,1,mobile,2023-01-01,2023-12-31\n"))
    path = write_csv(tmp_path / "b.csv", header +
                     "K2,1,mobile,2023-06-01,2023-09-30\n"  # overlaps stored K1
                     "K3,2,mobile,2024-01-01,2024-06-30\n"
                     "K4,2,mobile,2024-06-30,\n"          # overlaps K3 on its last day
                     "K5,2,broadband,2024-01-01,\n"       # another plan may run alongside
                     "K6,1,mobile,2024-01-01,\n")         # after K1 ended: fine
    err = _fails(ws, "contracts", path)
    got = {(p.row, p.field): p.expected for p in err.problems}
    assert set(got) == {(2, "start"), (4, "start")}
    assert got[(2, "start")] == ("no overlap with the customer's stored contract K1 "
                                 "(2023-01-01..2023-12-31)")
    assert got[(4, "start")] == ("no overlap with the same customer's contract on row 3 "
                                 "(2024-01-01..2024-06-30)")
