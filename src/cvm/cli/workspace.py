"""Top-level commands: init, import, demo, summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvm.cli._common import console

__all__ = ["register"]


def init(directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")]
         = Path(".")) -> None:
    """Create a workspace: a documented cvm.toml and an empty warehouse."""
    from cvm.workspace import Workspace

    ws = Workspace.init(directory)
    console.print(f"Created workspace {ws.path} (settings in {ws.path / 'cvm.toml'}).")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
