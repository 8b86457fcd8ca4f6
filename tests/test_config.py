"""Settings are typed, documented, written to cvm.toml and read back; errors name the option."""

from __future__ import annotations

import inspect
import tomllib

import pytest

import cvm
from cvm import ConfigError, Settings, Workspace


def test_every_option_is_documented_and_written_to_cvm_toml(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    text = (ws.path / "cvm.toml").read_text()
    data = tomllib.loads(text)
    for name, _type, default, description in Settings.documented():
        assert description, f"setting {name} has no description"
        section, _, key = name.rpartition(".")
        node = data[section] if section else data
        assert node[key] == default, name
        assert f"# {description}" in text
    assert Settings.from_dict(data) == Settings()


def test_changed_setting_is_read_back(tmp_path):
    ws = Workspace.init(tmp_path / "ws", Settings().updated(**{"value.ordinary_share": 0.25,
                                                               "engine": "pyspark"}))
    again = Workspace.open(ws.path).settings
    assert again.value.ordinary_share == 0.25 and again.engine == "pyspark"


@pytest.mark.parametrize("toml, message", [
    ('engine = "oracle"', "option 'engine'"),
    ("[value]\nordinary_share = 0.5", "option 'value.ordinary_share'"),
    ("[value]\nvip_share = 0.1", "tier shares must increase"),
    ("colour = 1", "option 'colour': unknown option"),
    ("[costs]\nper_interaction = { fax = 1.0 }", "unknown touchpoint(s) ['fax']"),
    ("engine = ", "not valid TOML"),
])
def test_bad_settings_name_the_option(tmp_path, toml, message):
    path = tmp_path / "cvm.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        Settings.load(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_public_api_all_is_complete():
    public = {n for n in dir(cvm)
              if not n.startswith("_") and not inspect.ismodule(getattr(cvm, n))}
    assert public - set(cvm.__all__) == set()
    for name in cvm.__all__:
        assert hasattr(cvm, name), name
