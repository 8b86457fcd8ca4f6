"""The canonical data model: the tables a workspace holds and each field's meaning.

These field names are the contract that ``cvm import --map field=Column`` maps a
company's own columns onto. Identifiers are text (``00042`` stays ``00042``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FieldSpec", "TableSpec", "TABLES", "CHURN_REASONS", "table_spec"]

#: Churn reasons (source document 003): active churn is the customer's choice,
#: passive churn is the account lapsing.
CHURN_REASONS = {
    "active_natural": "Active, natural: not caused by people, e.g. moved away, died.",
    "active_competitive": ("Active, competitive: left for a competitor's offer, or no longer "
                           "needs the service: the offer lost on function or price."),
    "active_our_fault": "Active, our fault: service failure, billing error, unresolved complaint.",
    "passive_non_malicious": "Passive, non-malicious: arrears, forgot to renew, card expired.",
    "passive_retaliatory": "Passive, retaliatory: deliberate non-payment or dispute.",
}


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field.

    ``kind`` is one of string, timestamp, date, float; ``choices`` maps accepted spellings
    (already lower-cased, spaces and hyphens as underscores) to the stored value.
    """

    name: str
    kind: str
    description: str
    required: bool = False
    min_value: float | None = None
    choices: dict[str, str] | None = None


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its fields, its key and what happens to columns it does not know."""

    name: str
    description: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]
    derived_key: bool = False  # the key field may be absent and is then derived from the row
    keep_extra: bool = False  # keep unmapped columns (customers' further attributes)
    references_customers: bool = True
    ordered_pairs: tuple[tuple[str, str], ...] = field(default=())  # (earlier, later) fields
    #: each imported part is stored sorted by these fields, so that looking one customer up
    #: (the customer page) reads one Parquet row group instead of the whole table
    stored_order: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _choices(canonical: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for value, aliases in canonical.items():
        for alias in [value, *aliases]:
            out[alias] = value
    return out


RELATIONSHIP_TYPES = _choices({
    "consumer": ["b2c", "individual", "household", "retail", "personal"],
    "business": ["b2b", "corporate", "company", "enterprise", "sme"],
    "channel": ["distributor", "reseller", "dealer", "agent", "channel_distributor", "partner"],
    "internal": ["employee", "staff"],
})
TOUCHPOINTS = _choices({
    "branch": ["store", "shop", "outlet"],
    "call_centre": ["call_center", "callcentre", "callcenter", "phone", "telephone", "hotline"],
    "account_manager": ["key_account", "relationship_manager", "am"],
    "web": ["website", "online", "email", "chat", "web_message"],
    "mobile": ["app", "mobile_app", "sms"],
    "on_site": ["onsite", "field", "visit", "field_service"],
})
REASONS = _choices({
    "active_natural": ["natural", "moved", "relocated", "deceased"],
    "active_competitive": ["competitive", "competitor", "switched", "no_longer_needed"],
    "active_our_fault": ["our_fault", "fault", "service_failure", "billing_error", "complaint"],
    "passive_non_malicious": ["non_malicious", "arrears", "forgot_to_renew", "payment_failed"],
    "passive_retaliatory": ["retaliatory", "dispute", "deliberate_non_payment"],
})

_S, _T, _D, _F = "string", "timestamp", "date", "float"

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec(
            "customers",
            "One row per customer; unmapped columns are kept as further attributes.",
            (
                FieldSpec("customer_id", _S, "The customer's identifier (text).", required=True),
                FieldSpec("relationship_type", _S,
                          "consumer, business (B2B), channel (distributor, reseller) or internal.",
                          choices=RELATIONSHIP_TYPES),
                FieldSpec("region", _S, "Region, city or market the customer belongs to."),
                FieldSpec("segment", _S, "The company's own segment or plan family."),
                FieldSpec("signup_date", _D, "Date the customer relationship began."),
            ),
            key=("customer_id",),
            stored_order=("customer_id",),
            keep_extra=True,
            references_customers=False,
        ),
        TableSpec(
            "transactions",
            "One row per purchase, payment or bill line.",
            (
                FieldSpec("transaction_id", _S,
                          "Identifier of the transaction; derived from the row when absent."),
                FieldSpec("customer_id", _S, "Who bought.", required=True),
                FieldSpec("timestamp", _T, "When: a date or a date-time.", required=True),
                FieldSpec("amount", _F, "Revenue of the transaction in the settings' currency "
                          "(negative for a refund).", required=True),
                FieldSpec("cost", _F, "Direct cost of the goods or service sold.", min_value=0),
                FieldSpec("quantity", _F, "Units bought.", min_value=0),
                FieldSpec("product", _S, "Product or plan."),
                FieldSpec("brand", _S, "Brand or product line."),
                FieldSpec("channel", _S, "Sales channel."),
            ),
            key=("transaction_id",),
            derived_key=True,
        ),
        TableSpec(
            "survey_responses",
            "One row per answer: a respondent's answer to one survey item.",
            (
                FieldSpec("respondent_id", _S, "Identifier of the filled-in questionnaire.",
                          required=True),
                FieldSpec("customer_id", _S, "The customer who answered, when known."),
                FieldSpec("survey", _S, "Name of the survey (instrument).", required=True),
                FieldSpec("item", _S, "Item (question) code, as in the survey definition.",
                          required=True),
                FieldSpec("answer", _F, "The numeric answer on the item's scale.", required=True),
                FieldSpec("timestamp", _T, "When the answer was given."),
            ),
            key=("survey", "respondent_id", "item"),
            stored_order=("customer_id",),
        ),
        TableSpec(
            "survey_items",
            "Survey definitions: which construct each item measures and its scale.",
            (
                FieldSpec("survey", _S, "Name of the survey.", required=True),
                FieldSpec("item", _S, "Item code.", required=True),
                FieldSpec("construct", _S, "The construct (latent variable) the item measures, "
                          "e.g. image, satisfaction, loyalty, nps.", required=True),
                FieldSpec("scale_min", _F, "Lowest allowed answer.", required=True),
                FieldSpec("scale_max", _F, "Highest allowed answer.", required=True),
                FieldSpec("label", _S, "The question's wording."),
            ),
            key=("survey", "item"),
            references_customers=False,
            ordered_pairs=(("scale_min", "scale_max"),),
        ),
        TableSpec(
            "interactions",
            "Service interactions: contacts, requests and complaints at each touchpoint.",
            (
                FieldSpec("interaction_id", _S, "Identifier; derived from the row when absent."),
                FieldSpec("customer_id", _S, "The customer served.", required=True),
                FieldSpec("touchpoint", _S, "branch, call_centre, account_manager, web, mobile "
                          "or on_site.", required=True, choices=TOUCHPOINTS),
                FieldSpec("kind", _S, "inquiry, request, complaint, praise, ...; 'complaint' "
                          "counts as a complaint.", required=True),
                FieldSpec("opened_at", _T, "When the customer made contact.", required=True),
                FieldSpec("first_response_at", _T, "When the company first responded."),
                FieldSpec("resolved_at", _T, "When the matter was closed."),
                FieldSpec("category", _S, "Subject, e.g. billing, network, product."),
                FieldSpec("outcome", _S, "Result, e.g. resolved, escalated, refunded."),
            ),
            key=("interaction_id",),
            derived_key=True,
            ordered_pairs=(("opened_at", "first_response_at"), ("opened_at", "resolved_at")),
            stored_order=("customer_id",),
        ),
        TableSpec(
            "contracts",
            "Contracts or subscriptions, with why they ended.",
            (
                FieldSpec("contract_id", _S, "Identifier; derived from the row when absent."),
                FieldSpec("customer_id", _S, "The contract holder.", required=True),
                FieldSpec("plan", _S, "Plan, tariff or product contracted."),
                FieldSpec("start", _D, "First day of the contract.", required=True),
                FieldSpec("end", _D, "Last day; empty while the contract is active."),
                FieldSpec("end_reason", _S, "Why it ended: " + "; ".join(
                    f"{k} ({v})" for k, v in CHURN_REASONS.items()), choices=REASONS),
            ),
            key=("contract_id",),
            derived_key=True,
            ordered_pairs=(("start", "end"),),
        ),
    ]
}


def table_spec(name: str) -> TableSpec:
    from cvm.errors import InputError

    try:
        return TABLES[name]
    except KeyError:
        raise InputError(
            f"unknown table '{name}'; expected one of: {', '.join(TABLES)}") from None
