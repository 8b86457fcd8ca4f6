"""One sentence per opportunity a person can read and dispute, built from its evidence
values in English or Chinese (zh-CN), from the one message catalogue (`cvm.i18n`).

Probabilities show two decimals, money no decimals with the locale's grouping, ranks as a
percentage; the evidence keeps the exact values the sentence shows rounded.
"""

from __future__ import annotations

from cvm.i18n import language, number, percent, translate

__all__ = ["reason", "label"]


def label(text: str, lang: str | None) -> str:
    """A kind, channel or action in ``lang`` (unchanged when the catalogue lacks it)."""
    return translate(lang, text)


def _p(v: float, lang: str) -> str:
    return number(v, lang, 2)


def reason(evidence: dict, lang: str | None = "en") -> str:
    """The opportunity's reason: its evidence as clauses, in a fixed order."""
    lang = language(lang)
    e = evidence
    parts = []
    if "churn_probability" in e:
        after = e["churn_probability"]
        before = e.get("churn_probability_before")
        if before is not None and round(after, 2) != round(before, 2):
            msg = ("likelihood to cancel rose from {before} to {after} since the last run"
                   if after > before else
                   "likelihood to cancel fell from {before} to {after} since the last run")
            parts.append(translate(lang, msg, before=_p(before, lang), after=_p(after, lang)))
        else:
            parts.append(translate(lang, "likelihood to cancel {after}",
                                   after=_p(after, lang)))
    if "line" in e and "best_propensity" in e:
        mean = e.get("line_mean_propensity")
        ratio = e["best_propensity"] / mean if mean else float("nan")
        parts.append(translate(
            lang, "{line}: {p} likely to buy in the next 90 days, {ratio} times the line's "
            "average", line=e["line"], p=_p(e["best_propensity"], lang),
            ratio=number(ratio, lang, 1)))
    if "days_since_purchase" in e:
        parts.append(translate(lang, "no purchase for {days} days",
                               days=number(e["days_since_purchase"], lang)))
    if "default_risk" in e:
        parts.append(translate(lang, "risk of missed payments (passive churn) {p}",
                               p=_p(e["default_risk"], lang)))
    if "next_tier" in e and "tier_gap" in e:
        if e.get("tier_basis") == "points":
            parts.append(translate(lang, "{gap} points from the {tier} tier",
                                   gap=number(e["tier_gap"], lang), tier=e["next_tier"]))
        else:  # spend, kept in cents
            parts.append(translate(lang, "{gap} of spend from the {tier} tier",
                                   gap=number(e["tier_gap"] / 100, lang, 2),
                                   tier=e["next_tier"]))
    n = int(e.get("complaints_30d") or 0)
    if n == 1:
        parts.append(translate(lang, "1 complaint in the last 30 days"))
    elif n > 1:
        parts.append(translate(lang, "{n} complaints in the last 30 days", n=n))
    if "detractor_30d" in e:
        parts.append(translate(lang, "rated us {score} out of 10 on {day}",
                               score=number(e["detractor_30d"], lang),
                               day=e.get("detractor_day", "")))
    if "revenue_potential" in e:
        top = e.get("revenue_potential_top")
        clv = number(e["revenue_potential"], lang)
        if top is not None and top <= 0.2:
            parts.append(translate(lang, "CLV {clv}, top {top} of customers", clv=clv,
                                   top=percent(top, lang)))
        else:
            parts.append(translate(lang, "CLV {clv}", clv=clv))
    text = translate(lang, "; ").join(parts)
    return text[:1].upper() + text[1:] if lang == "en" else text
