"""Probability models of customer behaviour, one per module, on a shared maximum-likelihood base.

Purchase models fitted on a repeat-purchase summary ``(x, t_x, T)``: `BetaGeoModel` (BG/NBD),
`ParetoNBDModel`, `ModifiedBetaGeoModel` (MBG/NBD), and on discrete opportunities
`BetaGeoBetaBinomModel` (BG/BB); contractual renewals: `ShiftedBetaGeoModel` (sBG); spend:
`GammaGammaModel`; time-invariant covariates: `BetaGeoCovariateModel`,
`ParetoNBDCovariateModel`; discounted CLV joining a purchase and a spend model:
`customer_lifetime_value`.
"""

from cvm.models._base import MaximumLikelihoodModel, RepeatPurchaseModel, check_rfm
from cvm.models.bgbb import BetaGeoBetaBinomModel
from cvm.models.bgnbd import BetaGeoModel
from cvm.models.clv import (
    customer_lifetime_value,
    discounted_expected_purchases,
    score_customers,
)
from cvm.models.comparison import compare_models
from cvm.models.covariates import BetaGeoCovariateModel, ParetoNBDCovariateModel
from cvm.models.gammagamma import GammaGammaModel
from cvm.models.mbgnbd import ModifiedBetaGeoModel
from cvm.models.paretonbd import ParetoNBDModel
from cvm.models.sbg import ShiftedBetaGeoModel

__all__ = [
    "BetaGeoBetaBinomModel",
    "BetaGeoCovariateModel",
    "BetaGeoModel",
    "GammaGammaModel",
    "MaximumLikelihoodModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDCovariateModel",
    "ParetoNBDModel",
    "RepeatPurchaseModel",
    "ShiftedBetaGeoModel",
    "check_rfm",
    "compare_models",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "score_customers",
]
