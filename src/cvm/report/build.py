"""The monthly report: one self-contained HTML file (plotly.js inlined once, no other host
referenced) with the month's KPI tree, its changes, and the main figure of each capability.

`build_report` reads the month's stored KPI tree (`KpiFacade.tree`), its stored scores
(drift against the month before) and, for the figures, the workspace as known at the end
of the as-of day. A section whose data is absent says so instead of failing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from cvm._dates import as_date
from cvm.errors import CvmError, InputError
from cvm.i18n import language, translate
from cvm.kpi.display import format_value
from cvm.kpi.facade import previous_month_end
from cvm.report import figures as _fig
from cvm.scoring.asof import AsOfView

__all__ = ["build_report", "write_report", "STATUS_LABELS"]

#: What each status is called in the report (English message ids).
STATUS_LABELS = {"green": "On target", "amber": "Near target", "red": "Off target",
                 "no_target": "No target", "no_data": "No data"}
_READINGS = ("stable", "moderate shift", "large shift", "no data")
_CONFIG = {"displayModeBar": False, "responsive": True}


def _figure_html(fig) -> str:
    html = fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG)
    # plotly writes its own server's address into the config: the report names no host
    return html.replace('"plotlyServerURL": "https://plot.ly"', '"plotlyServerURL": ""')


def _flat(node: dict, depth: int = 0) -> list[dict]:
    out = [{**node, "depth": depth}]
    for child in node["children"]:
        out += _flat(child, depth + 1)
    return out


def _verdict(node: dict) -> str:
    change = node["change"]
    if change is None:
        return ""
    if abs(change) < 1e-12:
        return "unchanged"
    up = change > 0
    return "better" if up == (node["direction"] == "higher") else "worse"


def _kpi_rows(tree: dict, lang: str) -> list[dict]:
    rows = []
    for n in _flat(tree):
        rows.append({"id": n["id"], "depth": n["depth"], "name": n["name"],
                     "value": format_value(n["value"], n["unit"], lang),
                     "target": format_value(n["target"], n["unit"], lang),
                     "previous": format_value(n["previous"], n["unit"], lang),
                     "change": format_value(n["change"], n["unit"], lang, signed=True),
                     "arrow": "" if n["change"] is None else
                              "▲" if n["change"] > 0 else "▼" if n["change"] < 0 else "=",
                     "verdict": _verdict(n), "status": n["status"],
                     "status_label": translate(lang, STATUS_LABELS[n["status"]]),
                     "note": n["note"], "raw": n["value"]})
    return rows


class _Section:
    """A part of the report: a title, figures (HTML), tables and notes."""

    def __init__(self, key: str, title: str):
        self.key, self.title = key, title
        self.figures: list[str] = []
        self.tables: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def add(self, t: Callable[..., str], make: Callable[[], Any]) -> None:
        """Add what ``make`` builds (a figure, or a list of tables: dicts of title, columns
        and rows); absent data is a note."""
        try:
            made = make()
        except CvmError as exc:
            self.notes.append(t("No data for this part: {reason}", reason=str(exc)))
            return
        if made is None:
            return
        if isinstance(made, list):  # tables
            self.tables.extend(made)
        else:
            self.figures.append(_figure_html(made))


def _drift_tables(ws, day: dt.date, t, lang: str) -> list[dict]:
    before = previous_month_end(day)
    runs = ws.scoring.runs()
    if before not in runs or day not in runs:
        raise InputError(t("No scores stored for {before} and {after}: no drift to show.",
                           before=before, after=day))
    d = ws.scoring.drift(before, day)
    stab = d.stability
    psi = {"title": t("Score drift from {before} to {after}", before=before, after=day),
           "columns": [t("Score"), "PSI", t("Reading")],
           "rows": [[r["score"], "" if pd.isna(r["psi"]) else f"{r['psi']:.3f}",
                     t(r["reading"]) if r["reading"] in _READINGS else r["reading"]]
                    for r in stab.to_dict("records")]}
    tiers = d.tiers
    names = [t(_fig.TIER_NAMES.get(x, x)) for x in tiers.columns]
    moves = {"title": t("Value tier transitions (customers, rows: last month)"),
             "columns": ["", *names],
             "rows": [[t(_fig.TIER_NAMES.get(i, i)),
                       *(format_value(float(v), "count", lang) for v in row)]
                      for i, row in zip(tiers.index, tiers.to_numpy(), strict=True)]}
    return [psi, moves]


def _no_addresses(js: str) -> str:
    """plotly.js with every ``://`` written ``:\\/\\/``: its addresses (the SVG namespace, map
    tile servers, licence links) are JavaScript string or regex text, where ``\\/`` is a
    ``/``, so the code is unchanged while the file holds no address of another host."""
    return js.replace("://", ":\\/\\/")


def build_report(ws, as_of, lang: str | None = "en") -> str:
    """The report of the month of ``as_of`` as one HTML text in ``lang`` (en or zh-CN)."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    lang = language(lang)
    day = as_date(as_of, "as_of")
    t = partial(translate, lang)
    tree = ws.kpi.tree(day, lang)
    rows = _kpi_rows(tree, lang)
    view = AsOfView(ws, day)

    changes = _Section("changes", t("The month's changes"))
    changes.tables.append({
        "title": t("KPI changes from last month"),
        "columns": [t("Indicator"), t("Last month"), t("This month"), t("Change"), ""],
        "rows": [[r["name"], r["previous"], r["value"], f"{r['arrow']} {r['change']}",
                  t(r["verdict"]) if r["verdict"] else ""]
                 for r in rows if r["depth"] <= 1]})
    changes.add(t, lambda: _drift_tables(ws, day, t, lang))
    changes.add(t, lambda: _nps_trend(ws, t))

    value = _Section("value", t("Customer value"))
    value.add(t, lambda: _fig.tiers_figure(view.value.tiers(day).to_pandas(), t))
    value.add(t, lambda: _fig.pareto_figure(
        view.value.customer_values(day).select("revenue").to_pyarrow()
        .column(0).to_numpy(), t))

    clv = _Section("clv", t("Customer lifetime value"))
    clv.add(t, lambda: _fig.clv_figure(_scores(ws, day)["revenue_potential"], t))

    loyalty = _Section("loyalty", t("Loyalty and satisfaction"))
    loyalty.add(t, lambda: _fig.nps_segments_figure(
        _needs(view, "survey_responses") and view.survey.nps(by="segment", min_n=1), t))

    retention = _Section("retention", t("Retention"))
    retention.add(t, lambda: _fig.cohorts_figure(_cohorts(view, day), t))

    service = _Section("service", t("Service"))
    service.add(t, lambda: _fig.compliance_figure(_compliance(ws, day), t))

    opportunities = _Section("opportunities", t("Opportunities"))
    evaluation: dict[str, pd.DataFrame] = {}

    def by_kind() -> pd.DataFrame:
        if "by_kind" not in evaluation:
            evaluation["by_kind"] = ws.opportunities.evaluate(day).by_kind
        return evaluation["by_kind"]
    opportunities.add(t, lambda: _opportunity_table(by_kind(), t, lang))
    opportunities.add(t, lambda: _fig.opportunities_figure(by_kind(), t)
                      if by_kind()["rate_treated"].notna().any() else None)

    sections = [changes, value, clv, loyalty, retention, service, opportunities]
    env = Environment(loader=PackageLoader("cvm.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("report.html.j2").render(
        t=t, lang=lang, day=day, tree_rows=rows, sections=sections,
        workspace=Path(ws.path).name, made=dt.date.today(),
        html_lang="zh-CN" if lang == "zh-CN" else "en",
        plotlyjs=Markup(_no_addresses(get_plotlyjs())), status_labels={
            k: t(v) for k, v in STATUS_LABELS.items()})


def _opportunity_table(by_kind: pd.DataFrame, t, lang: str) -> list[dict]:
    """Per kind of the month's opportunities: sent to staff, control group, the outcome
    rate of each (blank until measured) and the status (measured, or pending until when)."""
    def rate(x):
        return "" if pd.isna(x) else format_value(float(x), "share", lang)
    return [{"title": t("The month's opportunities by kind"),
             "columns": [t("Kind"), t("Sent to staff"), t("Control group"),
                         t("Outcome rate (sent)"), t("Outcome rate (control)"), t("Status")],
             "rows": [[t(r["kind"]), format_value(float(r["treated"]), "count", lang),
                       format_value(float(r["control"]), "count", lang),
                       rate(r["rate_treated"]), rate(r["rate_control"]), r["status"]]
                      for r in by_kind.to_dict("records")]}]


def _needs(view: AsOfView, table: str) -> bool:
    if not view.has_rows(table):
        raise InputError(f"no {table} on or before {view.as_of}")
    return True


def _scores(ws, day: dt.date) -> pd.DataFrame:
    return ws.scoring.list(day)


def _nps_trend(ws, t):
    history = ws.kpi.history("nps").dropna(subset=["value"])
    if len(history) < 2:
        return None
    return _fig.nps_trend_figure(history, t)


def _cohorts(view: AsOfView, day: dt.date) -> pd.DataFrame:
    c = view.churn.cohorts("month", as_of=day).to_pandas()
    if c.empty:
        raise InputError(f"no cohorts up to {day}")
    c = c[c["basis"] == c["basis"].iloc[0]]
    first = pd.Timestamp(day) - pd.DateOffset(months=24)
    return c[pd.to_datetime(c["cohort"]) >= first]


def _compliance(ws, day: dt.date) -> pd.DataFrame:
    if not ws.has_rows("interactions"):
        raise InputError("no service interactions imported")
    rows = ws.service.compliance(day, by=["month"]).to_pandas()
    first = pd.Timestamp(day) - pd.DateOffset(months=12)
    return rows[pd.to_datetime(rows["period_start"]) > first]


def write_report(ws, as_of, out: str | Path, lang: str | None = "en") -> Path:
    """Write `build_report` to ``out`` (an .html file); return the path."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out {out}: the report is a web page; use an .html file")
    text = build_report(ws, as_of, lang)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    return out
