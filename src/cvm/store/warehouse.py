"""The warehouse: a folder of Parquet parts per table, listed in ``_manifest.json``.

A part is visible only once the manifest names it, and the manifest is replaced atomically,
so an import or a saved result either adds all its rows or none. Writers take one lock per
workspace (`Warehouse.write_lock`, re-entrant within a process), and every write path takes
it itself. Both analytics engines read the same files.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from cvm.errors import NotFoundError, WorkspaceError
from cvm.schema import TABLES, table_spec

__all__ = ["RESULTS", "Warehouse", "canonical_schema"]

_MANIFEST = "_manifest.json"
_ARROW_TYPES = {"string": pa.string(), "timestamp": pa.timestamp("us"), "date": pa.date32(),
                "float": pa.float64()}

#: Every table cvm derives and stores, with what it holds. A result must be registered here.
RESULTS: dict[str, str] = {
    "clv_scores": "P(alive), expected purchases and spend and CLV per customer (cvm clv score)",
    "churn_scores": "likelihood to cancel per active customer, with top reasons (cvm churn "
                    "score)",
    "satisfaction_index": "0-100 satisfaction index scores per respondent (cvm survey index)",
    "loyalty_classes": "loyalty class by stated intention and the behavioural check per "
                       "respondent (cvm survey classes)",
    "score_history": "every customer's scores per as-of day: customer_id, as_of, score, "
                     "value, label, version (cvm score run; one part per month)",
    "score_runs": "per as-of day and score: version, status, note and the model checks "
                  "(cvm score run; one part per month)",
    "kpi_history": "the KPI tree per as-of day: each node's value, the month before's, "
                   "target and status (cvm kpi; one part per month)",
    "kpi_groups": "the root's and the KPIs' values per customer group per as-of day "
                  "(cvm kpi; one part per month)",
}


def canonical_schema(name: str) -> pa.Schema:
    """The Arrow schema a canonical table is stored with."""
    spec = table_spec(name)
    return pa.schema([(f.name, _ARROW_TYPES[f.kind]) for f in spec.fields])


def _lock_file(fh, exclusive: bool, wait: bool = True) -> bool:
    """Lock (or unlock) an open file for the whole process: flock on POSIX, msvcrt on
    Windows. With ``wait`` false, answer False at once when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        fh.seek(0)
        mode = (msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK) if exclusive else msvcrt.LK_UNLCK
        try:
            msvcrt.locking(fh.fileno(), mode, 1)
        except OSError:
            if wait:
                raise
            return False
        return True
    flags = (fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)) if exclusive else fcntl.LOCK_UN
    try:
        fcntl.flock(fh, flags)
    except BlockingIOError:
        return False
    return True


_STAGED = ("staged-*.parquet", "result-*.parquet")  # written only under the write lock


class Warehouse:
    """The Parquet warehouse of the workspace at ``root``: manifest, lock, parts, results."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.dir = self.root / "warehouse"
        self._lock_depth = 0
        self._thread_lock = threading.RLock()

    @property
    def scratch_dir(self) -> Path:
        """Where staged files and the engines' spill files go (``.cvm/tmp``)."""
        d = self.root / ".cvm" / "tmp"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def create(self) -> None:
        """Make the folder and an empty manifest."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_manifest({"version": 1, "tables": {}})

    # ---- manifest ------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads((self.dir / _MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "tables": {}}

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self.dir / f".{_MANIFEST}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.replace(tmp, self.dir / _MANIFEST)

    @contextlib.contextmanager
    def write_lock(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Serialise writers to the warehouse across processes; re-entrant in this object.

        ``on_wait`` is called once if another process holds the lock, before waiting for it
        (the CLI says so). On taking the lock, staged files that a killed writer left in the
        scratch folder are removed: no other writer can be using them.
        """
        with self._thread_lock:
            if self._lock_depth:
                self._lock_depth += 1
                try:
                    yield
                finally:
                    self._lock_depth -= 1
                return
            lock_path = self.root / ".cvm" / "lock"
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            with open(lock_path, "a+") as fh:
                if not _lock_file(fh, True, wait=False):
                    if on_wait is not None:
                        on_wait()
                    _lock_file(fh, True)
                self._lock_depth = 1
                try:
                    for pattern in _STAGED:
                        for stale in self.scratch_dir.glob(pattern):
                            stale.unlink(missing_ok=True)
                    yield
                finally:
                    self._lock_depth = 0
                    _lock_file(fh, False)

    def _new_part(self, folder: str) -> Path:
        """A fresh part file name under ``folder`` (made if needed): time-ordered, unique."""
        part_dir = self.dir / folder
        part_dir.mkdir(parents=True, exist_ok=True)
        return part_dir / f"part-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.parquet"

    # ---- canonical tables ------------------------------------------------------------------
    def parts(self, table: str) -> list[Path]:
        """The Parquet files that make up a table, in import order."""
        table_spec(table)
        entries = self.manifest()["tables"].get(table, [])
        return [self.dir / e["part"] for e in entries]

    def imports(self, table: str | None = None) -> list[dict[str, Any]]:
        """The import log: one entry per stored part (file, sha256, rows, time)."""
        tables = self.manifest()["tables"]
        names = [table] if table else list(tables)
        return [dict(e, table=t) for t in names for e in tables.get(t, [])]

    def row_count(self, table: str) -> int:
        return sum(e["rows"] for e in self.manifest()["tables"].get(table, []))

    def add_part(self, table: str, staged: Path, entry: dict[str, Any]) -> Path:
        """Move a staged Parquet file into the warehouse and list it in the manifest."""
        table_spec(table)
        with self.write_lock():
            final = self._new_part(table)
            manifest = self.manifest()
            manifest["tables"].setdefault(table, []).append(
                dict(entry, part=str(final.relative_to(self.dir)),
                     imported_at=datetime.now(UTC).isoformat(timespec="seconds")))
            self._publish(staged, final, manifest)
        return final

    def _publish(self, staged: Path, final: Path, manifest: dict[str, Any]) -> None:
        """Move a staged part into place and list it; if listing fails (a full disk), the
        part is removed again, so nothing unlisted stays behind."""
        os.replace(staged, final)
        try:
            self._write_manifest(manifest)
        except BaseException:
            final.unlink(missing_ok=True)
            raise

    # ---- results: tables cvm derives (scores, forecasts), replaced or kept as history ------
    def save_result(self, name: str, table: pa.Table, mode: str = "replace",
                    note: str | None = None, partition: str | None = None,
                    row_group_size: int | None = None) -> Path:
        """Store a derived table (one of `RESULTS`) as Parquet.

        ``mode="replace"`` makes it the result's only part (the old parts are removed once the
        manifest no longer lists them); ``mode="append"`` adds a further part, so a monthly
        run keeps its history (give the rows a column saying which run they are). With a
        ``partition`` (e.g. the as-of day), an appended part replaces the parts saved
        earlier under the same partition and no other: rerunning a month replaces that
        month only. ``row_group_size`` sets the Parquet row groups' size (pyarrow's
        default otherwise): small groups of rows sorted by a key let a lookup of one key
        skip the others.
        """
        import pyarrow.parquet as pq

        if name not in RESULTS:
            raise WorkspaceError(f"unknown result name '{name}'; registered results: "
                                 f"{', '.join(sorted(RESULTS))} (cvm.store.warehouse.RESULTS)")
        if mode not in ("replace", "append"):
            raise WorkspaceError(f"mode must be 'replace' or 'append', got {mode!r}")
        with self.write_lock():
            staged = self.scratch_dir / f"result-{name}-{uuid.uuid4().hex}.parquet"
            try:
                pq.write_table(table, staged, compression="zstd",
                               row_group_size=row_group_size)
            except BaseException:
                staged.unlink(missing_ok=True)
                raise
            final = self._new_part(f"results/{name}")
            manifest = self.manifest()
            results = manifest.setdefault("results", {})
            kept = results.get(name, []) if mode == "append" else []
            if partition is not None:
                kept = [e for e in kept if e.get("partition") != partition]
            old = [e for e in results.get(name, []) if e not in kept]
            entry = {"part": str(final.relative_to(self.dir)), "rows": table.num_rows,
                     "saved_at": datetime.now(UTC).isoformat(timespec="seconds"), "note": note}
            if partition is not None:
                entry["partition"] = partition
            results[name] = kept + [entry]
            self._publish(staged, final, manifest)
            for e in old:
                (self.dir / e["part"]).unlink(missing_ok=True)
        return final

    def result_names(self) -> list[str]:
        return sorted(self.manifest().get("results", {}))

    def result_parts(self, name: str, partition: str | None = None) -> list[Path]:
        """The Parquet files of a stored result (of one ``partition`` when given);
        `NotFoundError` when none is stored."""
        entries = self.manifest().get("results", {}).get(name)
        if partition is not None and entries:
            entries = [e for e in entries if e.get("partition") == partition]
        if not entries:
            where = "" if partition is None else f" for {partition}"
            raise NotFoundError(f"no result named '{name}'{where} in {self.root}; stored "
                                f"results: {', '.join(self.result_names()) or 'none'}")
        return [self.dir / e["part"] for e in entries]

    def result_partitions(self, name: str) -> list[str]:
        """The partitions a result holds, sorted (e.g. the as-of days of the score
        history)."""
        entries = self.manifest().get("results", {}).get(name, [])
        return sorted({e["partition"] for e in entries if "partition" in e})

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}={self.row_count(t):,}" for t in TABLES if self.row_count(t))
        return f"Warehouse({str(self.dir)!r}, {counts or 'empty'})"
