"""PLS path modelling of satisfaction indices (ECSI/ACSI).

`PathModel` (`spec`) is the specification: blocks of items, modes, inner paths and answer
scale, with no data; `PLSPathModel` (`estimator`) is the estimator fitted on answers under a
specification; `_algorithm` is Wold's iterative algorithm on numpy, batched so the bootstrap
resamples are fitted together.
"""

from cvm.survey.pls.estimator import PLSPathModel, bootstrap_indices
from cvm.survey.pls.spec import PathModel

__all__ = ["PLSPathModel", "PathModel", "bootstrap_indices"]
