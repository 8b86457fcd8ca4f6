"""Loading a TOML file a person wrote (settings, a path model, rules), with errors naming it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from cvm.errors import InputError

__all__ = ["load_toml"]


def load_toml(path: str | Path, what: str = "file", error: type[Exception] = InputError
              ) -> dict[str, Any]:
    """The parsed file; ``error`` (default `InputError`) naming the file when it is missing
    or not valid TOML. ``what`` says what kind of file was expected (e.g. "model file")."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
