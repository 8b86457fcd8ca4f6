"""`cvm report`: one self-contained file, the stored KPI values, no outside reference, both
languages, a print stylesheet."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs
from typer.testing import CliRunner

from cvm.cli import app
from cvm.i18n import catalogue
from cvm.kpi.display import format_value
from cvm.report import build_report

SRC = Path(__file__).resolve().parents[2] / "src" / "cvm" / "report"


class _Page(HTMLParser):
    """Every attribute, the text of every <style>, and the KPI rows."""

    def __init__(self):
        super().__init__()
        self.attrs: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self.rows: dict[str, dict] = {}
        self._in_style = False
        self._row: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        if "style" in a:
            self.styles.append(a["style"] or "")
        self._in_style = tag == "style"
        if tag == "tr" and (a.get("id") or "").startswith("kpi-"):
            self._row = a["id"][4:]
            self.rows[self._row] = {"value": a.get("data-value"), "cells": []}

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)
        elif self._row is not None and data.strip():
            self.rows[self._row]["cells"].append(data.strip())


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def reports(demo_month, tmp_path_factory):
    ws, ends, _ = demo_month
    out = tmp_path_factory.mktemp("out")
    files = {}
    for lang in ("en", "zh-CN"):
        result = CliRunner().invoke(app, ["report", "--as-of", str(ends[1]), "--out",
                                          str(out / f"{lang}.html"), "--lang", lang,
                                          "-w", str(ws.path)])
        assert result.exit_code == 0, result.output
        files[lang] = (out / f"{lang}.html").read_text(encoding="utf-8")
    return ws, ends[1], files


def _walk(node):
    yield node
    for child in node["children"]:
        yield from _walk(child)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_kpi_values_are_the_stored_ones(reports, lang):
    ws, day, files = reports
    page = _parse(files[lang])
    nodes = list(_walk(ws.kpi.tree(day, lang)))
    assert set(page.rows) == {n["id"] for n in nodes}
    for n in nodes:
        row = page.rows[n["id"]]
        if n["value"] is None:
            assert row["value"] == "" and n["status"] == "no_data"
            continue
        assert float(row["value"]) == n["value"], n["id"]
        # the row shows the name, the value as formatted for people, and its status
        assert row["cells"][0] == n["name"]
        assert row["cells"][1] == format_value(n["value"], n["unit"], lang)


def test_no_other_host_is_referenced(reports):
    _, _, files = reports
    for text in files.values():
        page = _parse(text)
        links = [(tag, k, v) for tag, k, v in page.attrs if k in ("src", "href")]
        assert links and all(v.startswith("#") for _, _, v in links), links
        assert not [v for tag, _, v in page.attrs if tag == "link"]
        styles = "\n".join(page.styles)
        assert "@import" not in styles
        assert re.findall(r"url\(", styles) == []
        assert "plotlyServerURL\": \"https" not in text
        # not even as text: plotly.js's own addresses are written :\/\/ (the same string)
        assert "://" not in text


def test_plotly_inlined_once_and_figures_drawn(reports):
    ws, day, files = reports
    head = get_plotlyjs()[:300].replace("://", ":\\/\\/")
    # the opportunities' outcomes are measured 90 days after the month: not yet here, so
    # their figure is left out and the table says "pending until ..." (or "no control
    # group" for a kind too small to hold one back)
    by_kind = ws.opportunities.evaluate(day).by_kind
    assert by_kind["rate_treated"].isna().all()
    for text in files.values():
        assert text.count(head) == 1
        # value tiers, Pareto curve, CLV, NPS by segment, cohorts, service, the NPS trend
        assert text.count('class="plotly-graph-div"') == 7
        pending = by_kind["status"].str.startswith("pending until ").sum()
        assert pending and text.count("pending until ") == pending


def test_both_languages_and_print_styles(reports):
    _, _, files = reports
    en, zh = files["en"], files["zh-CN"]
    assert "Monthly customer value report" in en and '<html lang="en">' in en
    assert "客户价值月度报告" in zh and '<html lang="zh-CN">' in zh
    assert "净推荐值（NPS）" in zh and "Net Promoter Score (NPS)" in en
    for title in ("Pareto curve of revenue", "Retention by cohort", "KPI tree", "On target"):
        assert title in en and title not in zh
    for text in (en, zh):
        assert "@media print" in text and "page-break-before: always" in text


def test_every_report_label_is_translated():
    from cvm.report.build import STATUS_LABELS

    source = "".join(p.read_text(encoding="utf-8") for p in
                     [*SRC.glob("*.py"), SRC / "templates" / "report.html.j2"])
    labels = set(re.findall(r'(?<![\w.])t\("([^"]+)"', source))
    labels |= set(re.findall(r'_fig\(\[?.*?t, "([^"]+)"', source, flags=re.S))
    labels |= set(STATUS_LABELS.values())
    assert len(labels) > 40
    assert sorted(labels - set(catalogue("zh-CN"))) == []


def test_absent_parts_say_so(hand_ws):
    """The hand-made workspace of tests/kpi: one score run, no opportunities, so no drift
    and no opportunity figure, each with a note instead of an error."""
    text = build_report(hand_ws, "2024-03-31", "en")
    assert "No data for this part: No scores stored for 2024-02-29 and 2024-03-31" in text
    assert "no opportunities built yet" in text


def test_report_needs_an_html_file(demo_month, tmp_path):
    ws, ends, _ = demo_month
    result = CliRunner().invoke(app, ["report", "--as-of", str(ends[1]), "--out",
                                      str(tmp_path / "r.txt"), "-w", str(ws.path)])
    assert result.exit_code == 2 and "use an .html file" in result.output
