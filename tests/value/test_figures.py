"""The value charts show the numbers of the tables they draw (hand-computed on the 20-customer
fixture of test_value.py), and `--figure` writes a titled page."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm import Workspace
from cvm.cli import app
from cvm.value.figures import lorenz_figure, rfm_figure, tiers_figure

# c01 1000, c02 500, c03 300, c04 200, c05 200, c06..c20 10 each: total 2,350
REVENUE = {"c01": 1000, "c02": 500, "c03": 300, "c04": 200, "c05": 200,
           **{f"c{i:02d}": 10 for i in range(6, 21)}}


@pytest.fixture
def ws(tmp_path) -> Workspace:
    lines = ["customer_id,timestamp,amount"]
    lines += [f"{cid},2024-12-31,{amount}" for cid, amount in REVENUE.items()]
    ws = Workspace.init(tmp_path / "ws")
    ws.import_file("transactions", write_csv(tmp_path / "tx.csv", "\n".join(lines) + "\n"))
    return ws


def test_tiers_chart_shows_the_shares(ws):
    fig = tiers_figure(ws.value.tiers())
    customers, revenue = fig.data
    assert list(customers.x) == ["vip", "major", "ordinary", "small"]
    # vip c01; ordinary c02-c04; small the other 16 (see test_value.py)
    assert list(customers.y) == [0.05, 0.0, 0.15, 0.8]
    assert list(revenue.y) == pytest.approx([1000 / 2350, 0, 1000 / 2350, 350 / 2350])


def test_lorenz_chart_is_the_top_customers_share(ws):
    stats, lorenz = ws.value.concentration()
    top, _equal = lorenz_figure(lorenz, stats).data
    share = dict(zip(np.round(top.x, 10), top.y, strict=True))
    assert share[0.0] == 0.0 and share[1.0] == pytest.approx(1.0)
    assert share[0.05] == pytest.approx(1000 / 2350)  # the top customer
    assert share[0.2] == pytest.approx(2000 / 2350)  # the top four
    assert share[0.2] == pytest.approx(stats["top_20pct_share"])


def test_rfm_grid_counts_every_scored_customer(ws):
    table = ws.value.rfm()
    z = np.asarray(rfm_figure(table).data[0].z)
    assert z.sum() == 20
    for (r, f), n in zip(*np.unique(np.column_stack([table.column("r"), table.column("f")]),
                                    axis=0, return_counts=True), strict=True):
        assert z[r - 1, f - 1] == n


def test_figure_option_writes_a_titled_page(ws, tmp_path):
    runner = CliRunner()
    for command, title in ((["value", "tiers"], "Value tiers"),
                           (["value", "concentration"], "Revenue concentration (Gini"),
                           (["value", "rfm"], "Customers on the RFM grid")):
        page = tmp_path / f"{command[1]}.html"
        result = runner.invoke(app, [*command, "-w", str(ws.path), "--figure", str(page),
                                     "--format", "csv"])
        assert result.exit_code == 0, result.output
        assert f"wrote{page}" in "".join(result.stderr.split())  # Rich folds long paths
        text = page.read_text(encoding="utf-8")
        assert f"<title>{title}" in text and "cvm, workspace ws, 20" in text
    bad = runner.invoke(app, ["value", "tiers", "--customers", "-w", str(ws.path), "--figure",
                              str(tmp_path / "x.html")])
    assert bad.exit_code == 2 and "leave out --customers" in bad.output
