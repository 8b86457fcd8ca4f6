"""Pieces the ``cvm survey`` command modules share: the --survey option, warnings on stderr,
writing a figure."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from cvm.cli._common import err_console, write_figure
from cvm.errors import CvmWarning

__all__ = ["SurveyOpt", "warnings_to_stderr", "write_figure"]

SurveyOpt = Annotated[str | None, typer.Option(
    help="The survey (default: the only one defined).")]


@contextmanager
def warnings_to_stderr() -> Iterator[None]:
    """Show cvm's warnings (small groups, inconsistent judgements) on stderr, then go on."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CvmWarning)
        yield
    for w in caught:
        if issubclass(w.category, CvmWarning):
            err_console.print(f"warning: {w.message}", markup=False, highlight=False)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
