"""Why customers leave: the fixed churn-reason taxonomy, its responses, and user codes.

The taxonomy is source document 003's (客户流失的原因): active churn is the customer's choice
(natural: "not caused by people", such as moving away or death; competitive: competition
in product quality, function, price and service; our fault), passive churn is the account
lapsing (non-malicious, e.g. arrears, "easily avoided by reminder services and several
convenient ways to pay"; retaliatory, by a dissatisfied customer). A customer who no longer
needs the service decided so: not natural churn, but competitive (see docs/churn.md).
`CHURN_RESPONSES` holds what to do about each class as data; `map_reason_codes` maps a
company's own reason codes onto the classes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import pandas as pd

from cvm.errors import InputError
from cvm.schema import CHURN_REASONS, REASONS

__all__ = ["ChurnResponse", "CHURN_RESPONSES", "map_reason_codes", "responses_table",
           "normalise_code"]


@dataclass(frozen=True)
class ChurnResponse:
    """The recommended response to one churn class.

    ``preventable``: whether acting before the customer leaves can keep them; ``response``:
    a short code of the main response; ``actions``: its steps, in order; ``owner``: the team
    that acts; ``trigger``: the signal that starts it.
    """

    reason: str
    kind: str
    preventable: bool
    response: str
    actions: tuple[str, ...]
    owner: str
    trigger: str


CHURN_RESPONSES: dict[str, ChurnResponse] = {r.reason: r for r in (
    ChurnResponse(
        "active_natural", "active", False, "graceful_exit",
        ("record_reason", "offer_transfer_or_suspension", "ask_for_referral",
         "win_back_when_eligible"),
        "retention", "cancellation request giving a move away or a death"),
    ChurnResponse(
        "active_competitive", "active", True, "retention_offer",
        ("compare_competitor_offer", "make_retention_offer", "win_back_campaign"),
        "retention", "high likelihood to cancel, port-out, or a cancellation request "
        "naming a competitor or no further need"),
    ChurnResponse(
        "active_our_fault", "active", True, "service_recovery_call",
        ("service_recovery_call", "fix_root_cause", "goodwill_credit",
         "follow_up_satisfaction_check"),
        "service", "complaint, service failure or billing error on the account"),
    ChurnResponse(
        "passive_non_malicious", "passive", True, "reminder_sequence_and_easy_payment",
        ("payment_reminder_sequence", "offer_more_payment_methods", "offer_auto_renewal",
         "card_update_prompt"),
        "billing", "payment overdue, card expiring or renewal date near"),
    ChurnResponse(
        "passive_retaliatory", "passive", True, "dispute_resolution",
        ("contact_to_resolve_dispute", "escalate_complaint", "collections_after_resolution"),
        "service", "deliberate non-payment or a disputed bill after a complaint"),
)}


def normalise_code(code: str) -> str:
    """Lower case, runs of spaces, hyphens and slashes as one underscore, trimmed."""
    return re.sub(r"[\s\-/]+", "_", str(code).strip().lower()).strip("_")


def map_reason_codes(codes: Iterable[str | None],
                     mapping: Mapping[str, str] | None = None) -> list[str | None]:
    """Map a company's own churn reason codes onto the taxonomy's classes.

    Each code is looked up, after `normalise_code`, first in ``mapping`` (user code to a
    class or any accepted alias of one, e.g. ``{"PORT-OUT": "competitor"}``), then among the
    taxonomy's own names and aliases (``cvm.schema.REASONS``). A blank or missing code stays
    None (the contract did not end, or no reason was recorded).

    Raises
    ------
    InputError
        Naming every mapping target that is not a class or alias, or every code found in
        neither the mapping nor the aliases, with how often it occurs.
    """
    user = {}
    bad_targets = []
    for key, target in (mapping or {}).items():
        canon = REASONS.get(normalise_code(target))
        if canon is None:
            bad_targets.append(f"{key}={target}")
        user[normalise_code(key)] = canon
    if bad_targets:
        raise InputError(
            f"reason mapping points to unknown class(es): {', '.join(bad_targets)}; map each "
            f"code to one of {', '.join(CHURN_REASONS)} (or an alias such as arrears, "
            "competitor, complaint)")
    out: list[str | None] = []
    unknown: Counter[str] = Counter()
    for code in codes:
        if code is None or (isinstance(code, float) and code != code) or not str(code).strip():
            out.append(None)
            continue
        key = normalise_code(code)
        canon = user.get(key) or REASONS.get(key)
        if canon is None:
            unknown[str(code)] += 1
        out.append(canon)
    if unknown:
        shown = ", ".join(f"{c!r} ({n}x)" for c, n in sorted(unknown.items())[:20])
        raise InputError(
            f"{len(unknown)} churn reason code(s) are not in the mapping or the taxonomy: "
            f"{shown}. Map each to one of {', '.join(CHURN_REASONS)}, e.g. "
            f"{{{sorted(unknown)[0]!r}: 'active_competitive'}}")
    return out


def responses_table() -> pd.DataFrame:
    """The taxonomy with each class's description and recommended response, one row each."""
    rows = []
    for reason, resp in CHURN_RESPONSES.items():
        row = asdict(resp)
        row["actions"] = ", ".join(resp.actions)
        row["description"] = CHURN_REASONS[reason]
        rows.append(row)
    return pd.DataFrame(rows)
