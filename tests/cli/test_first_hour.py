"""What a new user hits in the first hour: tables that cut numbers at 80 columns, tracebacks
for bad options, commands that write files without saying so."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from conftest import shared_data, write_csv
from cvm._version import __version__
from cvm.cli import _common, app

runner = CliRunner()
NARROW = {"COLUMNS": "80"}


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env or NARROW)


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo company of 300 customers, built by `cvm demo` at 80 columns."""
    path = tmp_path_factory.mktemp("first-hour") / "demo"
    result = run("demo", path, "--customers", 300)
    assert result.exit_code == 0, result.output
    return path, result.stdout


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    matrix = write_csv(d / "ahp.csv", ",price,quality,service\nprice,1,3,5\n"
                       "quality,1/3,1,2\nservice,1/5,1/2,1\n")
    counts = write_csv(d / "counts.csv", "factor,weight,excellent,good,fair,poor\n"
                       "f1,0.4,5,3,2,0\nf2,0.3,2,4,3,1\nf3,0.2,1,2,4,3\nf4,0.1,0,1,3,6\n")
    return {"ahp": matrix, "counts": counts}


def _table_commands():
    w = "{ws}"
    data = shared_data()
    return [
        ["status", "-w", w], ["summary", "-w", w], ["value", "tiers", "-w", w],
        ["value", "tiers", "--customers", "-w", w], ["value", "rfm", "-w", w],
        ["value", "rfm", "--segments", "-w", w], ["value", "concentration", "-w", w],
        ["value", "breakdown", "--by", "region", "-w", w], ["clv", "fit", "-w", w],
        ["clv", "score", "-w", w], ["survey", "nps", "-w", w, "--trend"],
        ["survey", "nps", "-w", w, "--by", "region"],
        ["survey", "drivers", "-w", w, "--bootstrap", "10"],
        ["survey", "saysdoes", "-w", w], ["survey", "classes", "-w", w, "--no-save"],
        ["survey", "indicators", "-w", w], ["retention", "-w", w], ["churn", "reasons"],
        ["clv", "fit", "--summary", data / "cdnow" / "cdnow_summary.csv"],
        ["clv", "fit", "--summary", data / "sbg" / "retention.csv", "--model", "sbg",
         "--cohort", "regular"],
        ["survey", "ahp", "{ahp}"], ["survey", "fuzzy", "{counts}"],
    ]


@pytest.mark.parametrize("args", _table_commands(), ids=lambda a: " ".join(map(str, a[:3])))
def test_no_number_is_cut_at_80_columns(demo, files, args):
    args = [str(a).format(ws=demo[0], **files) for a in args]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout, result.stdout


def test_the_demo_headline_shows_whole_numbers(demo):
    assert "…" not in demo[1]
    assert "Pareto value tiers" in demo[1]


def test_a_table_too_wide_drops_columns_from_the_right_and_names_them(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    table = pa.table({"customer_id": ["C0001", "C0002"],
                      **{f"expected_purchases_{k}": [1234567.891, 2.5] for k in range(8)}})
    _common.emit(table, title="wide")
    out = capsys.readouterr().out
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "1,234,567.89" in out and "C0001" in out
    note = re.search(r"columns left out to fit 80 columns: (.*) \(--format csv or --out FILE "
                     r"shows them\)", flat(out))
    dropped = note.group(1).split(", ")
    assert dropped == [f"expected_purchases_{k}" for k in range(8 - len(dropped), 8)]
    assert out.splitlines()[1].count("┳") == 8 - len(dropped)  # 9 - len(dropped) columns


def test_clv_score_names_the_columns_it_leaves_out(demo):
    result = run("clv", "score", "-w", demo[0])
    assert "columns left out to fit 80 columns:" in flat(result.stdout)
    assert "…" not in result.stdout


# -- options reaching a library unchecked: exit 2 and a message naming the option ------------

@pytest.fixture()
def tx(tmp_path):
    return write_csv(tmp_path / "tx.csv", "customer_id;timestamp;amount\nC1;2024-01-01;5\n")


def _refused(result, message: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stderr.startswith("error: ")
    assert message in flat(result.stderr)
    assert "Traceback" not in result.output


def test_unknown_encoding_and_long_delimiter(demo, tx):
    _refused(run("import", "transactions", tx, "-w", demo[0], "--encoding", "gbkk"),
             "--encoding 'gbkk': unknown text encoding; e.g. utf-8, cp1252, latin-1, gbk")
    _refused(run("import", "transactions", tx, "-w", demo[0], "--delimiter", ";;"),
             "--delimiter ';;': give one character, e.g. ';' or '|'")


@pytest.mark.parametrize("args,option", [
    (["value", "tiers", "--out", "{missing}/x.csv"], "--out"),
    (["import", "transactions", "{tx}", "--reject-file", "{missing}/r.csv"], "--reject-file"),
    (["retention", "--heatmap", "{missing}/h.html"], "--heatmap"),
    (["retention", "--report", "{missing}/r.html"], "--report"),
    (["survey", "nps", "--figure", "{missing}/f.html"], "--figure"),
    (["churn", "fit", "--model-out", "{missing}/m.joblib"], "--model-out"),
])
def test_an_output_in_a_missing_folder_is_refused_before_any_work(demo, tx, tmp_path, args,
                                                                   option):
    missing = tmp_path / "nonexistent" / "dir"
    args = [a.format(missing=missing, tx=tx) for a in args] + ["-w", str(demo[0])]
    _refused(run(*args), f"{option} {missing}/")
    _refused(run(*args), f": folder {missing} does not exist")


def test_an_output_that_is_a_folder_and_an_input_that_is_a_folder(demo, tmp_path):
    _refused(run("value", "tiers", "-w", demo[0], "--out", tmp_path),
             f"--out {tmp_path}: is a folder; give a file name")
    _refused(run("survey", "index", "-w", demo[0], "--model", tmp_path),
             f"--model {tmp_path}: is a folder, not a file")
    _refused(run("survey", "ahp", tmp_path), f"MATRIX {tmp_path}: is a folder, not a file")
    _refused(run("init", __file__), f"DIRECTORY {__file__}: is a file, not a folder")
    _refused(run("demo", __file__), f"DIRECTORY {__file__}: is a file, not a folder")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_a_failed_write_names_the_option(demo):
    _refused(run("value", "tiers", "-w", demo[0], "--out", "/proc/cvm-tiers.csv"),
             "--out /proc/cvm-tiers.csv: cannot write:")


def test_the_readme_cases_exit_2_without_a_traceback(demo, tx):
    cases = [["import", "transactions", str(tx), "-w", str(demo[0]), "--encoding", "gbkk"],
             ["import", "transactions", str(tx), "-w", str(demo[0]), "--delimiter", ";;"],
             ["value", "tiers", "-w", str(demo[0]), "--out", "/nonexistent/dir/x.csv"]]
    for args, option in zip(cases, ("--encoding", "--delimiter", "--out"), strict=True):
        proc = subprocess.run([sys.executable, "-m", "cvm", *args], capture_output=True,
                              text=True)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f"error: {option} ")
        assert "Traceback" not in proc.stderr


# -- feedback -----------------------------------------------------------------------------

def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"cvm {__version__}\n"


def test_figure_heatmap_and_report_say_what_they_wrote(demo, tmp_path):
    heatmap, report = tmp_path / "h.html", tmp_path / "r.html"
    result = run("retention", "-w", demo[0], "--heatmap", heatmap, "--report", report)
    assert result.exit_code == 0, result.output
    assert f"wrote {heatmap}" in flat(result.stderr)
    assert f"wrote {report}" in flat(result.stderr)
    figure = tmp_path / "nps.html"
    result = run("survey", "nps", "-w", demo[0], "--trend", "--figure", figure)
    assert f"wrote {figure}" in flat(result.stderr)


def _unescaped(page: str) -> str:
    """A page with the figure's JSON escapes of <, > and / undone."""
    return page.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u002f", "/")


def test_every_page_from_a_workspace_names_it_and_the_day(demo, tmp_path):
    byline = f"cvm, workspace demo, {dt.date.today().isoformat()}"  # the folder's name
    pages = {name: tmp_path / f"{name}.html" for name in ("tiers", "nps", "heat", "report")}
    for args in (["value", "tiers", "--figure", pages["tiers"]],
                 ["survey", "nps", "--trend", "--figure", pages["nps"]],
                 ["retention", "--heatmap", pages["heat"], "--report", pages["report"]]):
        result = run(*args, "-w", demo[0], "--format", "json")
        assert result.exit_code == 0, result.output
    text = {name: page.read_text(encoding="utf-8") for name, page in pages.items()}
    # --figure: the figure's title in the tab, the byline under the chart's title
    assert "<title>Value tiers: share of customers and of revenue (demo)</title>" in text["tiers"]
    assert f"<sub>{byline}</sub>" in _unescaped(text["tiers"])
    assert re.search(r"<title>[^<]+ \(demo\)</title>", text["nps"])
    # --heatmap and --report pages (written by cvm.churn): the same, as a heading
    assert "<title>cvm (demo)</title>" in text["heat"]
    assert f"<body><header style=\"font-family: sans-serif\"><p>{byline}</p>" in text["heat"]
    assert "<title>cvm retention (demo)</title>" in text["report"]
    assert f"<h1>cvm retention</h1><p>{byline}</p></header>" in text["report"]
    for page in text.values():
        assert page.count(byline) == 1


def test_a_page_from_a_file_names_no_workspace(tmp_path):
    answers = write_csv(tmp_path / "nps.csv", "score\n10\n9\n7\n3\n10\n")
    page = tmp_path / "nps.html"
    result = run("survey", "nps", answers, "--column", "score", "--figure", page)
    assert result.exit_code == 0, result.output
    text = _unescaped(page.read_text(encoding="utf-8"))
    assert f"<sub>cvm, {dt.date.today().isoformat()}</sub>" in text


def test_demo_again_shows_the_demo_already_there(demo):
    result = run("demo", demo[0], "--customers", 300)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert (f"{demo[0]} already holds a workspace with 300 customers; showing it (to build "
            "the demo again, give a new folder)") in out
    assert "imported" not in out
    assert "Pareto value tiers" in out


def test_churn_fit_on_a_table_saves_the_model_beside_it(tmp_path, monkeypatch):
    src = shared_data() / "telco-churn" / "telco_customer_churn.csv"
    lines = src.read_text().splitlines()
    table = tmp_path / "data" / "telco.csv"
    table.parent.mkdir()
    table.write_text("\n".join(lines[:1201]) + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    result = run("churn", "fit", "--table", table, "--label", "Churn", "--id", "customerID",
                 "--folds", 2)
    assert result.exit_code == 0, result.output
    saved = tmp_path / "data" / "churn-model.joblib"
    assert saved.is_file() and list(work.iterdir()) == []
    assert f"saved the model to {saved}" in flat(result.stdout)


def test_clv_score_help_names_the_models_it_offers():
    result = run("clv", "score", "--help", env={"COLUMNS": "200"})
    assert "<bgnbd|paretonbd|mbgnbd>" in result.stdout
    for other in ("bgbb", "gammagamma", "sbg"):
        assert other not in result.stdout.replace("Gamma-Gamma", "")


def test_clv_score_offers_the_facades_purchase_models():
    from cvm.cli.clv import ScoreModel
    from cvm.clv.facade import PURCHASE_MODELS

    assert [m.value for m in ScoreModel] == list(PURCHASE_MODELS)


def test_no_number_is_cut_at_80_columns_in_scoring_and_opportunities(demo):
    """The monthly run's commands, in the order a user runs them."""
    w = str(demo[0])
    for args in (["score", "run", "--as-of", "2024-10-31", "-w", w],
                 ["score", "run", "--as-of", "2024-11-30", "-w", w],
                 ["score", "list", "--as-of", "2024-11-30", "-w", w],
                 ["score", "drift", "--from", "2024-10-31", "--to", "2024-11-30", "-w", w],
                 ["score", "defs"],
                 ["opportunities", "build", "--as-of", "2024-11-30", "-w", w],
                 ["opportunities", "list", "--as-of", "2024-11-30", "-w", w],
                 ["opportunities", "list", "--as-of", "2024-11-30", "-w", w, "--lang", "zh-CN"],
                 ["opportunities", "evaluate", "-w", w],
                 ["opportunities", "rules", "-w", w]):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "…" not in result.stdout, (args, result.stdout)
