"""Reading and validating input files into the workspace's canonical tables."""

from cvm.ingest.load import ImportReport, import_file

__all__ = ["ImportReport", "import_file"]
