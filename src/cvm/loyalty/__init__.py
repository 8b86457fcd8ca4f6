"""Satisfaction and loyalty measurement: PLS satisfaction index, NPS, AHP, fuzzy, SERVQUAL."""

from cvm.loyalty.pathmodel import PathModel
from cvm.loyalty.pls import PLSPathModel, bootstrap_indices

__all__ = ["PLSPathModel", "PathModel", "bootstrap_indices"]
