"""The Workspace: a folder with settings (``cvm.toml``), a Parquet warehouse, and one facade
per capability.

CLI commands, the REST API, pages, jobs and tests all go through one `Workspace`: its
settings, its `Warehouse` (storage, `cvm.store.warehouse`), the analytics engine over the
warehouse, and the capabilities as lazily built facades: ``ws.value``, ``ws.clv``,
``ws.survey``, ``ws.churn``, ``ws.scoring``, ``ws.opportunities``, ``ws.kpi`` and
``ws.programme``.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cvm.config import Settings
from cvm.errors import WorkspaceError
from cvm.schema import TABLES
from cvm.store.warehouse import Warehouse, canonical_schema

if TYPE_CHECKING:
    from cvm.campaign.facade import CampaignFacade
    from cvm.cases.facade import CasesFacade
    from cvm.churn.facade import ChurnFacade
    from cvm.clv.facade import ClvFacade
    from cvm.ingest.load import ImportReport
    from cvm.kpi.facade import KpiFacade
    from cvm.opportunities.facade import OpportunitiesFacade
    from cvm.programme.facade import Programme
    from cvm.scoring.facade import ScoringFacade
    from cvm.service.facade import ServiceFacade
    from cvm.survey.facade import SurveyFacade
    from cvm.users.facade import UsersFacade
    from cvm.value.facade import ValueFacade

__all__ = ["Workspace", "SETTINGS_FILE"]

SETTINGS_FILE = "cvm.toml"


class Workspace:
    """A cvm workspace folder: settings, warehouse, engine, and the capability facades.

    Examples
    --------
    >>> ws = Workspace.init("acme")                      # doctest: +SKIP
    >>> ws.import_file("transactions", "sales.csv")      # doctest: +SKIP
    >>> ws.value.tiers().to_pandas()                     # doctest: +SKIP
    """

    def __init__(self, path: str | Path, settings: Settings | None = None):
        self.path = Path(path).resolve()
        self._settings = settings
        self.warehouse = Warehouse(self.path)
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
        ws.warehouse.create()
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

    # ---- settings ---------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.path / SETTINGS_FILE)
        return self._settings

    def with_settings(self, **changes: Any) -> Workspace:
        """The same folder with some settings changed for this object only (not saved)."""
        return Workspace(self.path, self.settings.updated(**changes))

    # ---- capabilities -------------------------------------------------------------------
    @cached_property
    def value(self) -> ValueFacade:
        """Value tiers, RFM, concentration, breakdowns, the repeat-purchase summary."""
        from cvm.value.facade import ValueFacade

        return ValueFacade(self)

    @cached_property
    def clv(self) -> ClvFacade:
        """Lifetime value: purchase and spend models, hold-out checks, CLV scores."""
        from cvm.clv.facade import ClvFacade

        return ClvFacade(self)

    @cached_property
    def survey(self) -> SurveyFacade:
        """Satisfaction and loyalty: NPS, the satisfaction index, drivers, loyalty classes."""
        from cvm.survey.facade import SurveyFacade

        return SurveyFacade(self)

    @cached_property
    def churn(self) -> ChurnFacade:
        """Retention, cohorts, survival, churn reasons and the likelihood to cancel."""
        from cvm.churn.facade import ChurnFacade

        return ChurnFacade(self)

    @cached_property
    def scoring(self) -> ScoringFacade:
        """The monthly run: every customer's scores as of a day, their history and drift."""
        from cvm.scoring.facade import ScoringFacade

        return ScoringFacade(self)

    @cached_property
    def opportunities(self) -> OpportunitiesFacade:
        """The month's scores as work for staff: lists per owner, outcomes, evaluation."""
        from cvm.opportunities.facade import OpportunitiesFacade

        return OpportunitiesFacade(self)

    @cached_property
    def service(self) -> ServiceFacade:
        """Service standards and compliance, complaints and what follows them."""
        from cvm.service.facade import ServiceFacade

        return ServiceFacade(self)

    @cached_property
    def campaign(self) -> CampaignFacade:
        """Campaign and policy evaluation: effects, sample size, difference-in-differences,
        uplift."""
        from cvm.campaign.facade import CampaignFacade

        return CampaignFacade(self)

    @cached_property
    def cases(self) -> CasesFacade:
        """The closed loop: cases from detractors, complaints and breaches, to a root cause."""
        from cvm.cases.facade import CasesFacade

        return CasesFacade(self)

    @cached_property
    def users(self) -> UsersFacade:
        """Who logs in to the pages: users, roles, teams, sessions."""
        from cvm.users.facade import UsersFacade

        return UsersFacade(self)

    @cached_property
    def kpi(self) -> KpiFacade:
        """The KPI tree of each month: NPS, the KPIs beneath it and their indicators."""
        from cvm.kpi.facade import KpiFacade

        return KpiFacade(self)

    @cached_property
    def programme(self) -> Programme:
        """The loyalty programme on the workspace's operational database."""
        from cvm.programme.facade import Programme

        return Programme.from_workspace(self)

    # ---- import -----------------------------------------------------------------------------
    def import_file(self, table: str, path: str | Path, mapping: dict[str, str] | None = None,
                    **options: Any) -> ImportReport:
        """Import a CSV, Parquet or .xlsx file into a canonical table; see `cvm.ingest`.

        ``mapping`` maps canonical field names to the file's column names. Options:
        ``reject_file``, ``date_format``, ``delimiter``, ``encoding``, ``sheet``, ``on_rows``,
        ``on_wait``.
        Returns an `ImportReport`; raises `ValidationError` (storing nothing) on bad rows.
        """
        from cvm.ingest import import_file

        return import_file(self, table, path, mapping, **options)

    # ---- engine ---------------------------------------------------------------------------
    @cached_property
    def backend(self):
        """The Ibis backend named by the settings (DuckDB or PySpark)."""
        from cvm.store.engines import connect

        return connect(self.settings, self.warehouse.scratch_dir)

    def table(self, name: str):
        """A canonical table as an Ibis table expression on the workspace's engine."""
        from cvm.store.engines import read_parquet

        parts = self.warehouse.parts(name)
        key = ("table", name, tuple(parts))
        if key not in self._cache:
            self._cache[key] = read_parquet(self.backend, name, parts, canonical_schema(name))
        return self._cache[key]

    def result(self, name: str, partition: str | None = None):
        """A stored result (see `cvm.store.warehouse.RESULTS`) as an Ibis table; with
        ``partition``, only the parts saved under it (e.g. one as-of day)."""
        from cvm.store.engines import read_parquet

        parts = self.warehouse.result_parts(name, partition)
        key = ("result", name, tuple(parts))
        if key not in self._cache:
            import pyarrow.parquet as pq

            schema = pq.read_schema(parts[0])
            view = f"result_{name}" if partition is None else (
                f"result_{name}_" + "".join(c if c.isalnum() else "_" for c in partition))
            self._cache[key] = read_parquet(self.backend, view, parts, schema)
        return self._cache[key]

    def save_result(self, name: str, table: pa.Table, mode: str = "replace",
                    note: str | None = None, partition: str | None = None,
                    row_group_size: int | None = None) -> Path:
        """Store a derived table; see `Warehouse.save_result`."""
        return self.warehouse.save_result(name, table, mode, note, partition, row_group_size)

    def has_rows(self, name: str) -> bool:
        return self.warehouse.row_count(name) > 0

    def latest_day(self):
        """Date of the latest stored transaction (None when there are none)."""
        if not self.has_rows("transactions"):
            return None
        entries = self.warehouse.manifest()["tables"]["transactions"]
        if all("max_timestamp" in e for e in entries):  # recorded by each import
            return max(datetime.fromisoformat(e["max_timestamp"]) for e in entries).date()
        key = ("latest_day", tuple(self.warehouse.parts("transactions")))
        if key not in self._cache:
            ts = self.table("transactions").timestamp.max().to_pyarrow().as_py()
            self._cache[key] = ts.date()
        return self._cache[key]

    def __repr__(self) -> str:
        rows = {t: self.warehouse.row_count(t) for t in TABLES}
        counts = ", ".join(f"{t}={n:,}" for t, n in rows.items() if n)
        engine = self.settings.engine
        return f"Workspace({str(self.path)!r}, engine={engine!r}, {counts or 'empty'})"
