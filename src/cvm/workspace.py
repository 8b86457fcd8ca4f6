"""The Workspace: a folder with settings (``cvm.toml``) and a Parquet warehouse.

CLI commands, the REST API, pages and tests all go through one `Workspace`. The warehouse
is a folder of Parquet parts per table, listed in ``warehouse/_manifest.json``; a part is
visible only once the manifest names it, and the manifest is replaced atomically, so an
import either adds all its rows or none. Both engines read the same files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa

from cvm.config import Settings
from cvm.errors import WorkspaceError
from cvm.schema import TABLES, table_spec

__all__ = ["Workspace", "SETTINGS_FILE"]

SETTINGS_FILE = "cvm.toml"
_MANIFEST = "_manifest.json"
_ARROW_TYPES = {"string": pa.string(), "timestamp": pa.timestamp("us"), "date": pa.date32(),
                "float": pa.float64()}


def canonical_schema(name: str) -> pa.Schema:
    """The Arrow schema a canonical table is stored with."""
    spec = table_spec(name)
    return pa.schema([(f.name, _ARROW_TYPES[f.kind]) for f in spec.fields])


class Workspace:
    """A cvm workspace folder: settings, warehouse and the analytics engine over it.

    Examples
    --------
    >>> ws = Workspace.init("acme")                      # doctest: +SKIP
    >>> ws.import_file("transactions", "sales.csv")      # doctest: +SKIP
    >>> ws.value_tiers().to_pandas()                     # doctest: +SKIP
    """

    def __init__(self, path: str | Path, settings: Settings | None = None):
        self.path = Path(path).resolve()
        self._settings = settings
        self._cache: dict[tuple, Any] = {}  # keyed on table parts, so imports invalidate it

    # ---- creation -------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | Path, settings: Settings | None = None,
             exist_ok: bool = False) -> Workspace:
        """Create a workspace folder with a documented cvm.toml and an empty warehouse."""
        path = Path(path)
        toml = path / SETTINGS_FILE
        if toml.exists():
            if not exist_ok:
                raise WorkspaceError(f"{path} is already a cvm workspace ({toml} exists)")
            return cls.open(path)
        path.mkdir(parents=True, exist_ok=True)
        settings = settings or Settings()
        toml.write_text(settings.to_toml(), encoding="utf-8")
        ws = cls(path, settings)
        ws.warehouse_dir.mkdir(exist_ok=True)
        ws._write_manifest({"version": 1, "tables": {}})
        return ws

    @classmethod
    def open(cls, path: str | Path) -> Workspace:
        """Open an existing workspace (the folder holding cvm.toml)."""
        path = Path(path)
        if not (path / SETTINGS_FILE).is_file():
            raise WorkspaceError(
                f"{path.resolve()} is not a cvm workspace (no {SETTINGS_FILE}); create one "
                "with `cvm init DIR` or pass --workspace DIR")
        return cls(path, Settings.load(path / SETTINGS_FILE))

    # ---- settings and folders -------------------------------------------------------
    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.path / SETTINGS_FILE)
        return self._settings

    def with_settings(self, **changes: Any) -> Workspace:
        """The same folder with some settings changed for this object only (not saved)."""
        return Workspace(self.path, self.settings.updated(**changes))

    @property
    def warehouse_dir(self) -> Path:
        return self.path / "warehouse"

    @property
    def scratch_dir(self) -> Path:
        d = self.path / ".cvm" / "tmp"
        d.mkdir(parents=True, exist_ok=True)
        return d

    # ---- manifest ---------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads((self.warehouse_dir / _MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "tables": {}}

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self.warehouse_dir / f".{_MANIFEST}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.replace(tmp, self.warehouse_dir / _MANIFEST)

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Serialise writers to the warehouse (one import at a time per workspace)."""
        lock_path = self.path / ".cvm" / "lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def parts(self, table: str) -> list[Path]:
        """The Parquet files that make up a table, in import order."""
        table_spec(table)
        entries = self.manifest()["tables"].get(table, [])
        return [self.warehouse_dir / e["part"] for e in entries]

    def imports(self, table: str | None = None) -> list[dict[str, Any]]:
        """The import log: one entry per stored part (file, sha256, rows, time)."""
        tables = self.manifest()["tables"]
        names = [table] if table else list(tables)
        return [dict(e, table=t) for t in names for e in tables.get(t, [])]

    def add_part(self, table: str, staged: Path, entry: dict[str, Any]) -> Path:
        """Move a staged Parquet file into the warehouse and list it; call under write_lock."""
        part_dir = self.warehouse_dir / table
        part_dir.mkdir(parents=True, exist_ok=True)
        name = f"part-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.parquet"
        final = part_dir / name
        os.replace(staged, final)
        manifest = self.manifest()
        manifest["tables"].setdefault(table, []).append(
            dict(entry, part=f"{table}/{name}",
                 imported_at=datetime.now(UTC).isoformat(timespec="seconds")))
        self._write_manifest(manifest)
        return final

    # ---- results: tables that cvm derives (scores, forecasts), replaced or kept as history --
    def save_result(self, name: str, table: pa.Table, mode: str = "replace",
                    note: str | None = None) -> Path:
        """Store a derived table (e.g. ``clv_scores``) in the warehouse as Parquet.

        ``mode="replace"`` makes it the table's only part (the old parts are removed once
        the manifest no longer lists them); ``mode="append"`` adds it as a further part, so a
        monthly run keeps its history (give the rows a column saying which run they are).
        """
        import pyarrow.parquet as pq

        if not name.replace("_", "").isalnum() or not name.islower() or name in TABLES:
            raise WorkspaceError(f"result name '{name}' must be lower-case letters, digits and "
                                 f"underscores, and not a canonical table ({', '.join(TABLES)})")
        if mode not in ("replace", "append"):
            raise WorkspaceError(f"mode must be 'replace' or 'append', got {mode!r}")
        staged = self.scratch_dir / f"result-{name}-{uuid.uuid4().hex}.parquet"
        pq.write_table(table, staged, compression="zstd")
        part_dir = self.warehouse_dir / "results" / name
        part_dir.mkdir(parents=True, exist_ok=True)
        final = part_dir / f"part-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.parquet"
        with self.write_lock():
            os.replace(staged, final)
            manifest = self.manifest()
            results = manifest.setdefault("results", {})
            old = results.get(name, []) if mode == "replace" else []
            entry = {"part": str(final.relative_to(self.warehouse_dir)), "rows": table.num_rows,
                     "saved_at": datetime.now(UTC).isoformat(timespec="seconds"), "note": note}
            results[name] = ([] if mode == "replace" else results.get(name, [])) + [entry]
            self._write_manifest(manifest)
            for e in old:
                (self.warehouse_dir / e["part"]).unlink(missing_ok=True)
        return final

    def result_names(self) -> list[str]:
        return sorted(self.manifest().get("results", {}))

    def result(self, name: str):
        """A stored result as an Ibis table on the workspace's engine."""
        from cvm.analytics.engines import read_parquet
        from cvm.errors import NotFoundError

        entries = self.manifest().get("results", {}).get(name)
        if not entries:
            raise NotFoundError(f"no result named '{name}' in {self.path}; stored results: "
                                f"{', '.join(self.result_names()) or 'none'}")
        parts = [self.warehouse_dir / e["part"] for e in entries]
        key = ("result", name, tuple(parts))
        if key not in self._cache:
            import pyarrow.parquet as pq

            schema = pq.read_schema(parts[0])
            self._cache[key] = read_parquet(self.backend, f"result_{name}", parts, schema)
        return self._cache[key]

    def row_count(self, table: str) -> int:
        return sum(e["rows"] for e in self.manifest()["tables"].get(table, []))

    # ---- import -----------------------------------------------------------------------------
    def import_file(self, table: str, path: str | Path, mapping: dict[str, str] | None = None,
                    **options: Any):
        """Import a CSV, Parquet or .xlsx file into a canonical table; see `cvm.ingest`.

        ``mapping`` maps canonical field names to the file's column names. Options:
        ``reject_file``, ``date_format``, ``delimiter``, ``encoding``, ``sheet``, ``on_rows``.
        Returns an `ImportReport`; raises `ValidationError` (storing nothing) on bad rows.
        """
        from cvm.ingest import import_file

        return import_file(self, table, path, mapping, **options)

    # ---- engine ---------------------------------------------------------------------------
    @cached_property
    def backend(self):
        """The Ibis backend named by the settings (DuckDB or PySpark)."""
        from cvm.analytics.engines import connect

        return connect(self.settings, self.scratch_dir)

    def table(self, name: str):
        """A canonical table as an Ibis table expression on the workspace's engine."""
        from cvm.analytics.engines import read_parquet

        parts = self.parts(name)
        key = ("table", name, tuple(parts))
        if key not in self._cache:
            self._cache[key] = read_parquet(self.backend, name, parts, canonical_schema(name))
        return self._cache[key]

    def has_rows(self, name: str) -> bool:
        return self.row_count(name) > 0

    # ---- value analytics -------------------------------------------------------------------
    def latest_day(self):
        """Date of the latest stored transaction (None when there are none)."""
        if not self.has_rows("transactions"):
            return None
        entries = self.manifest()["tables"]["transactions"]
        if all("max_timestamp" in e for e in entries):  # recorded by each import
            return max(datetime.fromisoformat(e["max_timestamp"]) for e in entries).date()
        key = ("latest_day", tuple(self.parts("transactions")))
        if key not in self._cache:
            ts = self.table("transactions").timestamp.max().to_pyarrow().as_py()
            self._cache[key] = ts.date()
        return self._cache[key]

    def value_window(self, until=None):
        """The window value is measured over: ``value.window_months`` ending ``until``."""
        from cvm.analytics.value import ValueWindow

        end = until or self.latest_day()
        if end is None:
            raise WorkspaceError(f"{self.path}: no transactions imported yet; import some with "
                                 "`cvm import transactions FILE`")
        return ValueWindow.ending(end, self.settings.value.window_months)

    def summary(self, calibration_end=None, unit: str | None = None) -> pa.Table:
        """Per-customer repeat-purchase summary (frequency, recency, T, monetary_value)."""
        from cvm.analytics.rfm import repeat_purchase_summary

        expr = repeat_purchase_summary(self.table("transactions"),
                                       calibration_end or self.latest_day(),
                                       unit or self.settings.time_unit)
        return expr.order_by("customer_id").to_pyarrow()

    def customer_values(self, until=None):
        """Ibis table of revenue, costs and profit per customer over the value window."""
        from cvm.analytics.value import customer_values

        customers = self.table("customers") if self.has_rows("customers") else None
        return customer_values(customers, self.table("transactions"),
                               self.table("interactions"), self.settings,
                               self.value_window(until))

    def customer_tiers(self, until=None):
        """Ibis table of per-customer values with rank and Pareto tier."""
        from cvm.analytics.value import assign_tiers

        return assign_tiers(self.customer_values(until), self.settings)

    def value_tiers(self, until=None) -> pa.Table:
        """Per tier: customers, revenue, profit and shares (VIP, major, ordinary, small)."""
        from cvm.analytics.value import tier_summary

        return tier_summary(self.customer_tiers(until)).to_pyarrow()

    def rfm(self, until=None) -> pa.Table:
        """RFM quintile scores and named segments of the customers active in the window."""
        from cvm.analytics.rfm import rfm_scores

        w = self.value_window(until)
        return rfm_scores(self.table("transactions"), w.start, w.end).order_by(
            "customer_id").to_pyarrow()

    def concentration(self, until=None, measure: str = "revenue"):
        """(statistics dict: top shares and Gini, Lorenz curve points as an Arrow table)."""
        from cvm.analytics.value import concentration

        values = self.customer_values(until)
        n = int(values.count().to_pyarrow().as_py())
        stats, lorenz = concentration(values, n, measure)
        return stats, lorenz.to_pyarrow()

    def breakdown(self, by: str, until=None) -> pa.Table:
        """Customer value = customers x mean value, per group of a customer or sales field."""
        from cvm.analytics.value import breakdown

        values = self.customer_tiers(until) if by == "tier" else self.customer_values(until)
        return breakdown(values, self.table("customers"), self.table("transactions"), by,
                         self.value_window(until)).to_pyarrow()

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}={self.row_count(t):,}" for t in TABLES if self.row_count(t))
        engine = self.settings.engine
        return f"Workspace({str(self.path)!r}, engine={engine!r}, {counts or 'empty'})"
