"""cvm: customer value management.

The public Python API. Start with `Workspace`: ``Workspace.init(dir)``, then
``ws.import_file(table, file)`` and the analytics methods.
"""

from cvm._version import __version__
from cvm.config import Settings
from cvm.errors import (
    ConfigError,
    ConvergenceError,
    CvmError,
    EngineUnavailableError,
    InputError,
    InvalidParameterError,
    NotFittedError,
    NotFoundError,
    Problem,
    ValidationError,
    WorkspaceError,
)
from cvm.schema import CHURN_REASONS, TABLES
from cvm.workspace import Workspace

__all__ = [
    "CHURN_REASONS",
    "ConfigError",
    "ConvergenceError",
    "CvmError",
    "EngineUnavailableError",
    "InputError",
    "InvalidParameterError",
    "NotFittedError",
    "NotFoundError",
    "Problem",
    "Settings",
    "TABLES",
    "ValidationError",
    "Workspace",
    "WorkspaceError",
    "__version__",
]
