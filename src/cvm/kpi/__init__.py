"""The KPI system: NPS at the root of a tree of KPIs and secondary indicators defined as
data (``kpi.toml``), computed per month and kept as history; `KpiFacade` is ``ws.kpi``."""

from cvm.kpi.definitions import STATUSES, KpiDef, load_definitions, status
from cvm.kpi.facade import KpiFacade
from cvm.kpi.formulas import FORMULAS

__all__ = ["KpiFacade", "KpiDef", "FORMULAS", "STATUSES", "load_definitions", "status"]
