"""The README documents every canonical field and every setting, and starts with the two
commands for a fresh machine."""

from __future__ import annotations

from conftest import ROOT
from cvm.config import Settings, settings_markdown
from cvm.schema import TABLES

README = (ROOT / "README.md").read_text()


def test_readme_starts_with_install_demo_and_test_commands():
    head = "\n".join(README.splitlines()[:15])
    assert "pip install -c constraints.txt -e '.[dev,spark]' && cvm demo" in head
    assert "python -m pytest" in head
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "python -m pytest"


def test_every_field_and_setting_is_documented():
    for table in TABLES.values():
        assert f"### `{table.name}`" in README
        for field in table.fields:
            assert f"| `{field.name}` | {field.kind} |" in README, (table.name, field.name)
    for name, *_ in Settings.documented():
        assert f"| `{name}` |" in README, name
    assert settings_markdown() in README, "regenerate the table with python -m cvm.config"


def _python_tour() -> str:
    start = README.index("```python\n", README.index("From Python the same workspace"))
    return README[start + len("```python\n"): README.index("```", start + 9)]


def test_the_python_tour_runs_on_the_demo(tmp_path):
    """Every line of the README's Python tour, on a small demo with its programme enrolled
    (the Spark line only where local Spark can run)."""
    from conftest import spark_unavailable
    from cvm.demo import DemoParams, build_demo

    ws, _ = build_demo(tmp_path / "cvm-demo", DemoParams(customers=2000))
    ws.programme.init(demo=True, members=1000)  # as `cvm programme init --demo`
    code = _python_tour().replace('"cvm-demo"', repr(str(ws.path)))
    if spark_unavailable():
        code = "\n".join(line for line in code.splitlines() if "pyspark" not in line)
    names: dict = {}
    exec(compile(code, "README.md (Python tour)", "exec"), names)
    assert names["bgnbd"].summary(level=0.9)["ci_low"].notna().all()
    assert names["model"].summary()["estimate"].notna().all()
    assert set(names["tiers"].to_pyarrow().column("tier").to_pylist()) == {
        "vip", "major", "ordinary", "small"}
