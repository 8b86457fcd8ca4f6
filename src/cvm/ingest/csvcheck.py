"""A strict second reading of a CSV file, to locate what the fast reader cannot.

Arrow's CSV reader is fast but lenient: a quote that never closes in the last column
swallows every following line into one value, and a row with too many or too few fields
stops it with no line number. When the fast reading looks suspicious (a value spans lines,
holds a quote or ends with a backslash) or fails, `scan` reads the file again with Python's
csv module in strict mode and names each record that is not well-formed CSV, by the line
it starts on (the header is line 1), so the import can refuse it and store nothing.
"""

from __future__ import annotations

import codecs
import csv
import gzip
from pathlib import Path

from cvm.errors import Problem

__all__ = ["scan"]

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


def scan(path: Path, delimiter: str, encoding: str, columns: int,
         limit: int = 1000) -> list[Problem]:
    """Problems with the file's CSV structure: a quote that never closes, text after a closing
    quote, a record with another number of fields than the header, a quote escaped with a
    backslash (which standard CSV doubles instead), bytes that are not ``encoding``."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    problems: list[Problem] = []
    # ASCII-compatible encodings (UTF-8, GBK, Latin-1...) split on the newline byte, so each
    # line is decoded on its own; UTF-16 and UTF-32 are decoded as a stream
    wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    with opener(path, "rb") as raw:
        fh = codecs.getreader(encoding)(raw) if wide else raw
        lines = _Lines(fh, None if wide else encoding)
        records = csv.reader(lines, delimiter=delimiter, strict=True)
        start = 1
        try:
            next(records)  # the header
            while len(problems) < limit:
                start = lines.line + 1
                try:
                    fields = next(records)
                except StopIteration:
                    break
                except csv.Error as exc:
                    if "end of data" in str(exc):
                        problems.append(Problem(start, "(row)", None, (
                            "a quoted field that closes: the quote opened on this row never "
                            "closes, so every following line would be read into it")))
                        break
                    problems.append(Problem(start, "(row)", _snippet(lines.last), (
                        f"well-formed CSV ({exc}); a quote inside a quoted field is written "
                        'twice ("")')))
                    continue
                if not fields or fields == [""] * len(fields):
                    continue  # an empty line
                backslashed = '\\"' in lines.last and any(f.endswith("\\") for f in fields[:-1])
                if len(fields) != columns and not backslashed:
                    problems.append(Problem(start, "(row)", _snippet(delimiter.join(fields)), (
                        f"{columns} fields as in the header, got {len(fields)}; check the "
                        "delimiter (--delimiter) and the quoting of this row")))
                elif backslashed:
                    problems.append(Problem(start, "(row)", _snippet(lines.last), (
                        'a quote written twice ("") inside a quoted field, not escaped with a '
                        "backslash (\\\"): read as standard CSV, this row's values shift")))
        except UnicodeDecodeError as exc:
            problems.append(Problem(lines.line + 1, "(row)", repr(exc.object[exc.start:
                                                                            exc.end]),
                                    f"{encoding} text; give the file's encoding with "
                                    "--encoding (e.g. gbk, latin-1)"))
    return problems
