"""``ws.campaign``: campaign and policy evaluation.

The one way in to the campaign capability: the command line and Python call these
methods. On the workspace a campaign file (customer, arm, date) is measured against what
customers did after it (`cvm.campaign.outcomes`). On a table file, which needs no
workspace, the static methods work alone: ``CampaignFacade.evaluate_table(...)`` or
``ws.campaign.evaluate_table``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cvm.campaign import did as _did
from cvm.campaign import inputs as _inputs
from cvm.campaign import outcomes as _outcomes
from cvm.campaign import power as _power
from cvm.campaign import randomised as _randomised
from cvm.errors import InputError

if TYPE_CHECKING:
    from cvm.campaign.uplift import UpliftModel
    from cvm.workspace import Workspace

__all__ = ["CampaignFacade"]


class CampaignFacade:
    """What a campaign or a policy did, how large a test must be, whom to target next."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    # -- on the workspace ----------------------------------------------------------------
    def outcomes(self, campaign: str | Path, window_days: int = 90,
                 outcomes: Sequence[str] | None = None, customer: str = "customer_id",
                 arm: str = "arm", date: str = "date") -> pd.DataFrame:
        """Each campaign customer's outcomes in the ``window_days`` after their date
        (`cvm.campaign.outcomes.measure`): the campaign file's rows with one column per
        outcome."""
        frame = _outcomes.read_campaign(campaign, customer, arm, date)
        return _outcomes.measure(self._ws, frame, window_days, outcomes)

    def evaluate(self, campaign: str | Path, window_days: int = 90,
                 control: str = "control", outcomes: Sequence[str] | None = None,
                 customer: str = "customer_id", arm: str = "arm", date: str = "date",
                 level: float = 0.95, variance: str = "welch") -> pd.DataFrame:
        """Each arm against the control on the outcomes measured after the campaign
        (`outcomes`, then `cvm.campaign.randomised.effects`): one row per arm x outcome."""
        measured = self.outcomes(campaign, window_days, outcomes, customer, arm, date)
        names = [c for c in measured.columns if c in _outcomes.OUTCOMES]
        groups = measured["arm"]
        if not (groups == str(control)).any():
            seen = ", ".join(repr(a) for a in pd.unique(groups)[:10])
            raise InputError(f"{campaign}: the control value {control!r} does not occur in "
                             f"column {arm!r}; its values are {seen}")
        return _randomised.effects(groups, str(control), {n: measured[n] for n in names},
                                   level, variance)

    def did(self, campaign: str | Path, control: str = "control",
            outcomes: Sequence[str] = ("spend", "purchase"), period_days: int = 30,
            periods_before: int = 6, periods_after: int = 3, customer: str = "customer_id",
            arm: str = "arm", date: str = "date", level: float = 0.95,
            trend_alpha: float = 0.05) -> _did.DidResult:
        """Difference-in-differences of spend and purchase per period around each
        customer's date (`cvm.campaign.outcomes.panel`), each arm against the comparison
        group ``control`` (`cvm.campaign.did.difference_in_differences`)."""
        bad = [o for o in outcomes if o not in ("spend", "purchase")]
        if bad:
            raise InputError(f"--outcome {bad[0]!r}: on the workspace a difference-in-"
                             "differences measures spend and purchase per period")
        frame = _outcomes.read_campaign(campaign, customer, arm, date)
        data = _outcomes.panel(self._ws, frame, period_days, periods_before, periods_after)
        if not (data["arm"] == str(control)).any():
            seen = ", ".join(repr(a) for a in pd.unique(data["arm"])[:10])
            raise InputError(f"{campaign}: the comparison group {control!r} does not occur "
                             f"in column {arm!r}; its values are {seen}")
        return _did.difference_in_differences(data, "row", "period", "arm", str(control),
                                              list(outcomes), 0, level, trend_alpha)

    def uplift(self, campaign: str | Path, outcome: str = "purchase", window_days: int = 90,
               control: str = "control", treated: str | None = None,
               features_from: str = "purchase", features: Sequence[str] | None = None,
               customer: str = "customer_id", arm: str = "arm", date: str = "date",
               method: str = "two_model", learner: str = "boosting", folds: int = 5,
               groups: int = 5, random_state: int = 0, score_as_of=None
               ) -> tuple[UpliftModel, pd.DataFrame | None]:
        """Fit an uplift model on a campaign file measured on the workspace, with features
        built from the workspace as it was before each customer's date
        (`cvm.campaign.uplift_workspace`: ``features_from`` purchase, scores or both) and,
        with ``score_as_of``, predict the uplift of every customer as of that day."""
        from cvm.campaign.uplift_workspace import fit_campaign_uplift, score_customers

        model, _ = fit_campaign_uplift(self._ws, campaign, outcome, window_days, control,
                                       treated, features_from, features, customer, arm, date,
                                       method, learner, folds, groups, random_state)
        scored = None
        if score_as_of is not None:
            scored = score_customers(self._ws, model, score_as_of)
        return model, scored

    # -- on a table file, without a workspace ---------------------------------------------
    @staticmethod
    def evaluate_table(path: str | Path, arm: str, control: str, outcomes: Sequence[str],
                       level: float = 0.95, variance: str = "welch") -> pd.DataFrame:
        """Each arm against the control for each outcome column of a table file (one row
        per customer; `cvm.campaign.randomised.arm_effects`)."""
        return _randomised.arm_effects(_inputs.read_frame(path), arm, control, outcomes,
                                       level, variance)

    @staticmethod
    def did_table(path: str | Path, unit: str, period: str, group: str, control: str,
                  outcomes: Sequence[str], start: object, level: float = 0.95,
                  trend_alpha: float = 0.05) -> _did.DidResult:
        """Difference-in-differences on a panel file (one row per unit and period;
        `cvm.campaign.did.did_table`)."""
        return _did.did_table(_inputs.read_frame(path), unit, period, group, control,
                              outcomes, start, level, trend_alpha)

    @staticmethod
    def uplift_table(path: str | Path, arm: str, control: str, outcome: str,
                     features: Sequence[str] | None = None, treated: str | None = None,
                     id: str | None = None, method: str = "two_model",
                     learner: str = "boosting", folds: int = 5, groups: int = 5,
                     random_state: int = 0, score: str | Path | None = None
                     ) -> tuple[UpliftModel, pd.DataFrame | None]:
        """Fit an uplift model on a randomised campaign's table file
        (`cvm.campaign.uplift_tables.fit_uplift`) and, with ``score``, predict the uplift of
        each row of that file."""
        from cvm.campaign.uplift_tables import fit_uplift, score_uplift

        model = fit_uplift(_inputs.read_frame(path), arm, control, outcome, features,
                           treated, id, method, learner, folds, groups, random_state)
        scored = None
        if score is not None:
            scored = score_uplift(model, _inputs.read_frame(score, "--score"), id)
        return model, scored

    @staticmethod
    def power(effects: Sequence[float] | None = None, n: Sequence[int] | None = None,
              baseline: float | None = None, sd: float | None = None, alpha: float = 0.05,
              power: float = 0.8, control_ratio: float = 1.0, arms: int = 1,
              outcomes: int = 1) -> pd.DataFrame:
        """Customers per arm needed for each effect, or the effect each size detects
        (`cvm.campaign.power.plans`)."""
        return _power.plans(list(effects) if effects else None, list(n) if n else None,
                            baseline=baseline, sd=sd, alpha=alpha, power=power,
                            control_ratio=control_ratio, arms=arms, outcomes=outcomes)
