"""Properties of the CSV import: valid rows written with any quoting, line ending, delimiter
and column order read back exactly; a corrupted file is refused naming rows, or read back
exactly as a strict CSV reader reads it, never stored differently."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvm import ValidationError, Workspace

pytestmark = pytest.mark.slow

FIELDS = ["transaction_id", "customer_id", "timestamp", "amount", "product"]

# text as exports hold it: letters, digits, CJK, punctuation that CSV must quote; no
# leading or trailing blanks (the import trims values) and no control characters
_CHARS = st.sampled_from(list("abcxyzABC0129 ,;\"'|/-_.:#&()") + ["客户", "企业", "é", "ß"])
_TEXT = st.lists(_CHARS, min_size=1, max_size=12).map("".join).map(str.strip).filter(bool)
_MULTILINE = st.lists(_TEXT, min_size=1, max_size=3).map("\n".join)


@st.composite
def _rows(draw):
    n = draw(st.integers(1, 12))
    rows = []
    for i in range(n):
        day = draw(st.dates(dt.date(1990, 1, 1), dt.date(2090, 12, 31)))
        seconds = draw(st.one_of(st.none(), st.integers(0, 86_399)))
        stamp = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds or 0)
        cents = draw(st.integers(-10**9, 10**9))
        rows.append({
            "transaction_id": f"t{i}-" + draw(_TEXT),
            "customer_id": draw(_TEXT),
            "timestamp": stamp,
            "timestamp_text": (day.isoformat() if seconds is None
                               else stamp.isoformat(sep=draw(st.sampled_from([" ", "T"])))),
            "amount": Decimal(cents) / 100,
            "product": draw(st.one_of(_TEXT, _MULTILINE)),
        })
    return rows


_LAYOUT = st.fixed_dictionaries({
    "order": st.permutations(FIELDS),
    "quoting": st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    "lineterminator": st.sampled_from(["\n", "\r\n"]),
    "delimiter": st.sampled_from([",", ";", "\t", "|"]),
})


def _write(rows, layout) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=layout["delimiter"], quoting=layout["quoting"],
                        lineterminator=layout["lineterminator"])
    writer.writerow(layout["order"])
    for r in rows:
        values = dict(r, timestamp=r["timestamp_text"], amount=str(r["amount"]))
        writer.writerow([values[f] for f in layout["order"]])
    return buf.getvalue()


def _stored(ws) -> list[tuple]:
    t = ws.table("transactions").select(*FIELDS).to_pyarrow().to_pylist()
    return sorted(tuple(r[f] for f in FIELDS) for r in t)


def _expected(rows) -> list[tuple]:
    return sorted((r["transaction_id"], r["customer_id"], r["timestamp"], float(r["amount"]),
                   r["product"]) for r in rows)


def _import(tmp: Path, text: str, layout) -> tuple[Workspace, Path]:
    ws = Workspace.init(tmp / uuid.uuid4().hex)
    path = tmp / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(text.encode("utf-8"))
    return ws, path


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=_rows(), layout=_LAYOUT)
def test_valid_rows_read_back_exactly(tmp_path, rows, layout):
    ws, path = _import(tmp_path, _write(rows, layout), layout)
    ws.import_file("transactions", path, delimiter=layout["delimiter"])
    assert _stored(ws) == _expected(rows)


def _strict(text: str, delimiter: str) -> list[dict] | None:
    """What a strict CSV reader makes of the text: records as dicts, or None if the file is
    not well-formed (a quote that does not close, another number of fields)."""
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                                  strict=True))
    except csv.Error:
        return None
    header, body = records[0], [r for r in records[1:] if r and any(f.strip() for f in r)]
    if any(len(r) != len(header) for r in body):
        return None
    return [dict(zip(header, r, strict=True)) for r in body]


def _typed(record: dict) -> tuple | None:
    """A record as the import must store it, or None where a value is not valid."""
    try:
        values = {k: v.strip() for k, v in record.items()}
        if not all(values[f] for f in FIELDS) or any("\x00" in v for v in values.values()):
            return None
        stamp = dt.datetime.fromisoformat(values["timestamp"])
        if stamp.tzinfo is not None or not 1900 <= stamp.year <= 2100:
            return None
        amount = float(Decimal(values["amount"]))
        if not values["amount"].lstrip("+-").replace(".", "", 1).isdigit():
            return None
    except (ValueError, ArithmeticError):
        return None
    return (values["transaction_id"], values["customer_id"], stamp, amount, values["product"])


@pytest.mark.parametrize("corruption", ["drop_quote", "add_quote", "drop_delimiter",
                                        "add_delimiter", "truncate", "nul", "letter_in_number"])
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=_rows(), layout=_LAYOUT, where=st.floats(0, 1))
def test_a_corrupted_file_is_refused_or_read_exactly(tmp_path, rows, layout, corruption,
                                                     where):
    text = _write(rows, layout)
    d = layout["delimiter"]
    header_end = text.index(layout["lineterminator"]) + len(layout["lineterminator"])
    body = text[header_end:]
    targets = {"drop_quote": '"', "drop_delimiter": d, "letter_in_number": "0"}
    if corruption in targets:
        spots = [i for i, c in enumerate(body) if c == targets[corruption]]
        if not spots:
            return
        i = spots[int(where * (len(spots) - 1))]
        body = body[:i] + ("x" if corruption == "letter_in_number" else "") + body[i + 1:]
    else:
        i = int(where * len(body))
        insert = {"add_quote": '"', "add_delimiter": d, "nul": "\x00"}.get(corruption)
        body = body[:i] + insert + body[i:] if insert else body[:max(i, 1)]
    text = text[:header_end] + body
    ws, path = _import(tmp_path, text, layout)
    try:
        ws.import_file("transactions", path, delimiter=d)
    except ValidationError as exc:
        assert all(p.row is not None for p in exc.problems), exc.problems
        assert ws.warehouse.row_count("transactions") == 0
        return
    records = _strict(text, d)
    assert records is not None, "stored a file that is not well-formed CSV"
    typed = [_typed(r) for r in records]
    assert None not in typed, "stored a row with a value that is not valid"
    assert _stored(ws) == sorted(typed)
