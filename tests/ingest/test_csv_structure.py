"""A CSV file that is not well-formed is refused, naming the row, and nothing is stored: a
quote that never closes, a backslash-escaped quote, a row with another number of fields,
a bad byte; also past the reader's first 16 MB block. Well-formed quoting still reads."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import warehouse_state, write_csv
from cvm import ValidationError
from cvm.cli import app

HEADER = "transaction_id,customer_id,timestamp,amount,product\n"


def _refused(ws, path) -> list:
    before = warehouse_state(ws)
    with pytest.raises(ValidationError) as info:
        ws.import_file("transactions", path)
    assert warehouse_state(ws) == before
    return info.value.problems


def _rows(n: int, first: int = 0) -> str:
    return "".join(f"t{i},c{i % 97},2024-01-{1 + i % 28:02d},{i % 500}.25,plain product\n"
                   for i in range(first, first + n))


def test_a_quote_that_never_closes_is_refused_at_its_row(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", HEADER + _rows(10) + 't10,c1,2024-01-05,10.5,"apple\n'
                     + _rows(50, 11))
    (problem,) = _refused(ws, path)
    assert (problem.row, problem.field) == (12, "(row)") and "never closes" in problem.expected


def test_a_backslash_escaped_quote_is_refused(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", "transaction_id,customer_id,timestamp,amount,product,"
                     'channel\nt1,c1,2024-01-05,10.5,"TV 5\\", black"\n')
    (problem,) = _refused(ws, path)
    assert problem.row == 2 and 'written twice ("")' in problem.expected


def test_a_row_with_another_number_of_fields_is_named(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", HEADER + _rows(3) + "t9,c1,2024-01-05,1,a,extra\n")
    (problem,) = _refused(ws, path)
    assert problem.row == 5 and "5 fields as in the header, got 6" in problem.expected


def test_well_formed_quoting_reads_exactly(ws, tmp_path):
    path = write_csv(tmp_path / "t.csv", HEADER + 't1,c1,2024-01-05,1,"two\nlines"\n'
                     't2,c1,2024-01-05,2,"say ""hi"", twice"\nt3,c1,2024-01-05,3,"a\\b"\n')
    assert ws.import_file("transactions", path).rows_added == 3
    got = ws.table("transactions").order_by("transaction_id").product.to_pyarrow().to_pylist()
    assert got == ["two\nlines", 'say "hi", twice', "a\\b"]


@pytest.fixture(scope="module")
def big_rows():
    """About 20 MB of rows: more than the CSV reader's first 16 MB block."""
    return _rows(560_000)


@pytest.mark.slow
def test_problems_past_the_first_block_are_named_not_a_traceback(ws, tmp_path, big_rows):
    n = 560_000
    ragged = write_csv(tmp_path / "ragged.csv", HEADER + big_rows + "tx,c1,2024-01-05,1,a,b\n")
    assert ragged.stat().st_size > 16 << 20
    (problem,) = _refused(ws, ragged)
    assert problem.row == n + 2 and "got 6" in problem.expected
    quote = write_csv(tmp_path / "quote.csv", HEADER + big_rows + 'tx,c1,2024-01-05,1,"open\n'
                      + _rows(100, n + 1))
    (problem,) = _refused(ws, quote)
    assert problem.row == n + 2 and "never closes" in problem.expected
    bad_byte = tmp_path / "byte.csv"
    bad_byte.write_bytes((HEADER + big_rows).encode() + b"tx,c1,2024-01-05,1,caf\xe9\n")
    (problem,) = _refused(ws, bad_byte)
    assert problem.row == n + 2 and "utf-8 text" in problem.expected
    # the command line says so and exits 2, with no traceback
    result = CliRunner().invoke(app, ["import", "transactions", str(ragged), "-w",
                                      str(ws.path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"row {n + 2}" in result.output
