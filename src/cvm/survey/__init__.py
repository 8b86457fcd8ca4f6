"""Satisfaction and loyalty measurement: PLS satisfaction index, NPS, AHP, fuzzy, SERVQUAL.

The functions here work on in-memory tables (one row per respondent, one column per item).
On a workspace, where answers live joined to customers, the way in is ``ws.survey``
(`cvm.survey.facade.SurveyFacade`): NPS by customer attribute and month
(`cvm.survey.nps_groups`), the satisfaction index (`cvm.survey.satisfaction_index`, PLS in
`cvm.survey.pls`), key drivers, and answers joined to behaviour (`cvm.survey.outcomes`: says
vs does, loyalty classes and levels); see docs/survey.md. Figures are in
`cvm.survey.figures` (imported on demand, as it loads Plotly).
"""

from cvm.survey.ahp import (
    RANDOM_INDEX,
    AHPResult,
    ahp,
    ahp_hierarchy,
    complete_harker,
    read_matrix,
)
from cvm.survey.answers import (
    construct_items,
    item_answers,
    nps_item,
    survey_definition,
    survey_name,
    to_unit_scale,
    wide_answers,
)
from cvm.survey.behaviour import says_vs_does, wilson_interval
from cvm.survey.classes import LEVELS, loyalty_classes, loyalty_levels
from cvm.survey.drivers import ipma, key_drivers, relative_weights, shapley_r2, workspace_drivers
from cvm.survey.fuzzy import (
    OPERATORS,
    FuzzyComparison,
    FuzzyResult,
    compare_operators,
    compose,
    fuzzy_evaluation,
    fuzzy_inputs,
    fuzzy_two_level,
    membership_matrix,
)
from cvm.survey.indicators import customer_indicators
from cvm.survey.nps import (
    DETRACTOR_MAX,
    PROMOTER_MIN,
    NPSResult,
    nps,
    nps_by,
    nps_class_expr,
    nps_classes,
    nps_compare,
    nps_difference,
    nps_from_counts,
    nps_items,
    nps_trend,
)
from cvm.survey.nps_groups import workspace_nps
from cvm.survey.outcomes import (
    BEHAVIOURS,
    class_summary,
    respondent_behaviour,
    workspace_loyalty_classes,
    workspace_loyalty_levels,
    workspace_says_vs_does,
)
from cvm.survey.pls import PathModel, PLSPathModel, bootstrap_indices
from cvm.survey.satisfaction_index import (
    fit_index,
    index_scores_table,
    workspace_index,
    workspace_model,
)
from cvm.survey.servqual import DIMENSIONS, disconfirmation, servqual, servqual_long

__all__ = [
    "AHPResult",
    "BEHAVIOURS",
    "DETRACTOR_MAX",
    "DIMENSIONS",
    "FuzzyComparison",
    "FuzzyResult",
    "LEVELS",
    "NPSResult",
    "OPERATORS",
    "PLSPathModel",
    "PROMOTER_MIN",
    "PathModel",
    "RANDOM_INDEX",
    "ahp",
    "ahp_hierarchy",
    "bootstrap_indices",
    "class_summary",
    "compare_operators",
    "complete_harker",
    "compose",
    "customer_indicators",
    "construct_items",
    "disconfirmation",
    "fit_index",
    "fuzzy_evaluation",
    "fuzzy_inputs",
    "fuzzy_two_level",
    "index_scores_table",
    "ipma",
    "item_answers",
    "key_drivers",
    "loyalty_classes",
    "loyalty_levels",
    "membership_matrix",
    "nps",
    "nps_by",
    "nps_class_expr",
    "nps_items",
    "nps_classes",
    "nps_compare",
    "nps_difference",
    "nps_from_counts",
    "nps_item",
    "nps_trend",
    "read_matrix",
    "relative_weights",
    "respondent_behaviour",
    "says_vs_does",
    "servqual",
    "servqual_long",
    "shapley_r2",
    "survey_definition",
    "survey_name",
    "to_unit_scale",
    "wide_answers",
    "wilson_interval",
    "workspace_drivers",
    "workspace_index",
    "workspace_loyalty_classes",
    "workspace_loyalty_levels",
    "workspace_model",
    "workspace_nps",
    "workspace_says_vs_does",
]
