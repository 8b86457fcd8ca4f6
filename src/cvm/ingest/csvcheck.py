"""A strict second reading of a CSV file, to locate what the fast reader cannot.

Arrow's CSV reader is fast but lenient: a quote that never closes in the last column
swallows every following line into one value, and a row with too many or too few fields
stops it with no line number. When the fast reading looks suspicious (a value spans lines,
holds a quote or ends with a backslash) or fails, `scan` reads the file again with Python's
csv module in strict mode and names each record that is not well-formed CSV, by the line
it starts on (the header is line 1), so the import can refuse it and store nothing.

A row with another number of fields than the header (a ragged row) is a problem of that
row alone: an import with a reject file writes it there and stores the others, once this
reading has found nothing else wrong and the same rows ragged as the fast reading did.
"""

from __future__ import annotations

import codecs
import csv
import gzip
from dataclasses import dataclass, field
from pathlib import Path

from cvm.errors import Problem

__all__ = ["Scan", "scan"]

_SNIPPET = 60


def _snippet(text: str) -> str:
    text = text.rstrip("\r\n").replace("\r", "").replace("\n", "\\n")
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


class _Lines:
    """The file's lines, decoded one at a time and counted, so a record or a bad byte can be
    named by its line (the header is line 1)."""

    def __init__(self, fh, encoding: str):
        self.fh = fh
        self.encoding = encoding
        self.line = 0  # lines handed out so far
        self.last = ""

    def __iter__(self):
        return self

    def __next__(self) -> str:
        raw = self.fh.readline()
        if not raw:
            raise StopIteration
        self.last = raw.decode(self.encoding) if self.encoding else raw
        self.line += 1
        return self.last


@dataclass
class Scan:
    """What the strict reading found."""

    problems: list[Problem] = field(default_factory=list)  # the first ones, in file order
    malformed: int = 0  # problems other than ragged rows (quotes, backslashes, bytes)
    # every ragged row found, by record (the header is record 1, an empty line is one):
    # numbered as the fast reader numbers rows, also when a quoted value spans lines
    ragged: list[int] = field(default_factory=list)


def scan(path: Path, delimiter: str, encoding: str, columns: int,
         limit: int = 1000, every_ragged: bool = False) -> Scan:
    """Problems with the file's CSV structure: a quote that never closes, text after a closing
    quote, a record with another number of fields than the header, a quote escaped with a
    backslash (which standard CSV doubles instead), bytes that are not ``encoding``.

    The reading stops after ``limit`` problems; with ``every_ragged`` it goes on to the end
    to find every ragged row, and stops only after ``limit`` other problems.
    """
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    found = Scan()
    problems = found.problems

    def add(problem: Problem) -> None:
        if len(problems) < limit:
            problems.append(problem)

    def done() -> bool:
        return (found.malformed if every_ragged else len(problems)) >= limit

    # ASCII-compatible encodings (UTF-8, GBK, Latin-1...) split on the newline byte, so each
    # line is decoded on its own; UTF-16 and UTF-32 are decoded as a stream
    wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    with opener(path, "rb") as raw:
        fh = codecs.getreader(encoding)(raw) if wide else raw
        lines = _Lines(fh, None if wide else encoding)
        records = csv.reader(lines, delimiter=delimiter, strict=True)
        start = record = 1
        try:
            next(records)  # the header
            while not done():
                start = lines.line + 1
                try:
                    fields = next(records)
                except StopIteration:
                    break
                except csv.Error as exc:
                    found.malformed += 1
                    if "end of data" in str(exc):
                        add(Problem(start, "(row)", None, (
                            "a quoted field that closes: the quote opened on this row never "
                            "closes, so every following line would be read into it")))
                        break
                    add(Problem(start, "(row)", _snippet(lines.last), (
                        f"well-formed CSV ({exc}); a quote inside a quoted field is written "
                        'twice ("")')))
                    continue
                record += 1
                if not fields or fields == [""] * len(fields):
                    continue  # an empty line
                backslashed = '\\"' in lines.last and any(f.endswith("\\") for f in fields[:-1])
                if len(fields) != columns and not backslashed:
                    found.ragged.append(record)
                    add(Problem(start, "(row)", _snippet(delimiter.join(fields)), (
                        f"{columns} fields as in the header, got {len(fields)}; check the "
                        "delimiter (--delimiter) and the quoting of this row")))
                elif backslashed:
                    found.malformed += 1
                    add(Problem(start, "(row)", _snippet(lines.last), (
                        'a quote written twice ("") inside a quoted field, not escaped with a '
                        "backslash (\\\"): read as standard CSV, this row's values shift")))
        except UnicodeDecodeError as exc:
            found.malformed += 1
            add(Problem(lines.line + 1, "(row)", repr(exc.object[exc.start:exc.end]),
                        f"{encoding} text; give the file's encoding with --encoding (e.g. gbk, "
                        "latin-1)"))
    return found
