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
