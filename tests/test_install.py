"""The environment the tests run in is the one constraints.txt pins (what .ci/run and the
README's install use), and every requirement of cvm, its extras included, is pinned there."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, requires, version

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = pinned
    return pins


def test_installed_versions_are_the_pinned_ones():
    wrong = {}
    for name, pinned in _pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            wrong[name] = (pinned, installed)
    assert not wrong, ("installed versions differ from constraints.txt (pinned, installed); "
                       f"install with `pip install -c constraints.txt -e '.[dev,spark]'`: {wrong}")


def test_every_requirement_is_pinned():
    pins = _pins()
    missing = sorted({canonicalize_name(Requirement(r).name) for r in requires("cvm") or []}
                     - set(pins))
    assert not missing, f"requirements of cvm not in constraints.txt: {missing}"

