"""Probability models of customer behaviour, one per module, on a shared maximum-likelihood base.

Purchase models fitted on a repeat-purchase summary ``(x, t_x, T)``: `BetaGeoModel` (BG/NBD),
`ParetoNBDModel`, `ModifiedBetaGeoModel` (MBG/NBD), and on discrete opportunities
`BetaGeoBetaBinomModel` (BG/BB); contractual renewals: `ShiftedBetaGeoModel` (sBG); spend:
`GammaGammaModel`; time-invariant covariates: `BetaGeoCovariateModel`,
`ParetoNBDCovariateModel`; discounted CLV joining a purchase and a spend model:
`customer_lifetime_value`.
"""

from cvm.clv._base import MaximumLikelihoodModel, RepeatPurchaseModel, check_rfm
from cvm.clv.bgbb import BetaGeoBetaBinomModel
from cvm.clv.bgnbd import BetaGeoModel
from cvm.clv.clv import (
    customer_lifetime_value,
    discounted_expected_purchases,
    score_customers,
)
from cvm.clv.comparison import compare_models
from cvm.clv.covariates import BetaGeoCovariateModel, ParetoNBDCovariateModel
from cvm.clv.gammagamma import GammaGammaModel
from cvm.clv.mbgnbd import ModifiedBetaGeoModel
from cvm.clv.paretonbd import ParetoNBDModel
from cvm.clv.sbg import ShiftedBetaGeoModel

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
