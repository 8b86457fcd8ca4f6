"""Campaign and policy evaluation: what a campaign did, how large a test must be, and whom
to target next time.

- `cvm.campaign.randomised`: each arm against the control, per outcome (rate or mean),
  with intervals, p-values and Holm's adjustment;
- `cvm.campaign.power`: customers per arm needed before launch;
- `cvm.campaign.outcomes`: a campaign file measured on the workspace (purchase, spend,
  churn, NPS in a window after the date);
- `cvm.campaign.did`: difference-in-differences for a policy without a random control,
  with a pre-period trend check and cluster-robust intervals;
- `cvm.campaign.uplift`: the uplift model and its Qini curve; `cvm.campaign.uplift_workspace`
  fits it on a campaign file measured on the workspace, with features as known before each
  customer's day.

The way in on a workspace is ``ws.campaign`` (`cvm.campaign.facade.CampaignFacade`). The
names below load on first use (PEP 562): statsmodels and scikit-learn load only when
needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cvm.campaign.did import DidResult, difference_in_differences
    from cvm.campaign.outcomes import measure, read_campaign
    from cvm.campaign.power import plan, plans
    from cvm.campaign.randomised import (
        arm_effects,
        compare_mean_stats,
        compare_means,
        compare_rates,
        effects,
        holm,
    )
    from cvm.campaign.uplift import UpliftModel, qini_coefficient, qini_curve

_HOMES = {
    "did": ("DidResult", "difference_in_differences"),
    "outcomes": ("measure", "read_campaign"),
    "power": ("plan", "plans"),
    "randomised": ("arm_effects", "compare_mean_stats", "compare_means", "compare_rates",
                   "effects", "holm"),
    "uplift": ("UpliftModel", "qini_coefficient", "qini_curve"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
_SUBMODULES = {"did", "facade", "figures", "inputs", "outcomes", "power", "randomised",
               "uplift", "uplift_tables", "uplift_workspace"}

__all__ = [
    "DidResult",
    "UpliftModel",
    "arm_effects",
    "compare_mean_stats",
    "compare_means",
    "compare_rates",
    "difference_in_differences",
    "effects",
    "holm",
    "measure",
    "plan",
    "plans",
    "qini_coefficient",
    "qini_curve",
    "read_campaign",
]


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(f"cvm.campaign.{_MODULE_OF[name]}"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"cvm.campaign.{name}")
    else:
        raise AttributeError(f"module 'cvm.campaign' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
