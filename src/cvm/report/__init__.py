"""The monthly report (`cvm report`): one self-contained HTML file with the month's KPI
tree, its changes and the main figures of each capability, in English or Chinese."""

from cvm.report.build import build_report, write_report

__all__ = ["build_report", "write_report"]
