"""A small demo company after the month's jobs (`cvm.demo.month_jobs`): what `cvm demo`
leaves, at 400 customers and 50 programme members."""

from __future__ import annotations

import pytest

from cvm.demo import DemoParams, build_demo, month_jobs


@pytest.fixture(scope="session")
def demo_month(tmp_path_factory):
    """(workspace, the month ends the jobs ran for, the jobs done)."""
    ws, _ = build_demo(tmp_path_factory.mktemp("report") / "demo", DemoParams(customers=400))
    done = []
    ends = month_jobs(ws, members=50, on_job=lambda text, s: done.append(text))
    return ws, ends, done


@pytest.fixture
def hand_ws(tmp_path):
    """The hand-checked workspace of tests/kpi (one month of scores, nothing else run)."""
    from tests.kpi.conftest import build, save_scores

    ws = build(tmp_path)
    save_scores(ws)
    return ws
