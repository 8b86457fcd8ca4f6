"""Satisfaction and loyalty measurement: PLS satisfaction index, NPS, AHP, fuzzy, SERVQUAL.

The functions here work on in-memory tables (one row per respondent, one column per item).
On a workspace, where answers live joined to customers, `cvm.survey.workspace` gives NPS by
customer attribute and month and the satisfaction index from survey_items, and
`cvm.survey.outcomes` joins answers to behaviour (says vs does, loyalty classes and
levels); see docs/survey.md. Figures are in `cvm.survey.figures` (imported on demand, as it
loads Plotly).
"""

from cvm.survey.ahp import (
    RANDOM_INDEX,
    AHPResult,
    ahp,
    ahp_hierarchy,
    complete_harker,
    read_matrix,
)
from cvm.survey.behaviour import says_vs_does, wilson_interval
from cvm.survey.classes import LEVELS, loyalty_classes, loyalty_levels
from cvm.survey.drivers import ipma, key_drivers, relative_weights, shapley_r2
from cvm.survey.fuzzy import (
    OPERATORS,
    FuzzyResult,
    compose,
    fuzzy_evaluation,
    fuzzy_two_level,
    membership_matrix,
)
from cvm.survey.indicators import customer_indicators
from cvm.survey.nps import (
    NPSResult,
    nps,
    nps_by,
    nps_classes,
    nps_difference,
    nps_from_counts,
    nps_trend,
)
from cvm.survey.outcomes import (
    BEHAVIOURS,
    class_summary,
    respondent_behaviour,
    workspace_loyalty_classes,
    workspace_loyalty_levels,
    workspace_says_vs_does,
)
from cvm.survey.pathmodel import PathModel
from cvm.survey.pls import PLSPathModel, bootstrap_indices
from cvm.survey.servqual import DIMENSIONS, disconfirmation, servqual
from cvm.survey.workspace import (
    construct_items,
    index_scores_table,
    nps_item,
    survey_definition,
    survey_name,
    wide_answers,
    workspace_drivers,
    workspace_index,
    workspace_model,
    workspace_nps,
    workspace_nps_compare,
)

__all__ = [
    "AHPResult",
    "BEHAVIOURS",
    "DIMENSIONS",
    "FuzzyResult",
    "LEVELS",
    "NPSResult",
    "OPERATORS",
    "PLSPathModel",
    "PathModel",
    "RANDOM_INDEX",
    "ahp",
    "ahp_hierarchy",
    "bootstrap_indices",
    "class_summary",
    "complete_harker",
    "compose",
    "customer_indicators",
    "construct_items",
    "disconfirmation",
    "fuzzy_evaluation",
    "fuzzy_two_level",
    "index_scores_table",
    "ipma",
    "key_drivers",
    "loyalty_classes",
    "loyalty_levels",
    "membership_matrix",
    "nps",
    "nps_by",
    "nps_classes",
    "nps_difference",
    "nps_from_counts",
    "nps_item",
    "nps_trend",
    "read_matrix",
    "relative_weights",
    "respondent_behaviour",
    "says_vs_does",
    "servqual",
    "shapley_r2",
    "survey_definition",
    "survey_name",
    "wide_answers",
    "wilson_interval",
    "workspace_drivers",
    "workspace_index",
    "workspace_loyalty_classes",
    "workspace_loyalty_levels",
    "workspace_model",
    "workspace_nps",
    "workspace_nps_compare",
    "workspace_says_vs_does",
]
