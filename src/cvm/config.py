"""Settings: one typed table, read from a workspace's ``cvm.toml``.

Every option has a type, a default and a description; `Settings.to_toml` writes them all,
each with its description as a comment, so a new workspace's cvm.toml documents itself.
Sections group the options of one area (``[value]``, ``[costs]``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cvm.errors import ConfigError

__all__ = ["Settings", "ValueSettings", "CostSettings", "ImportSettings", "SparkSettings",
           "ClvSettings", "SurveySettings",
           "ProgrammeSettings", "ScoringSettings",
           "CasesSettings", "ServiceSettings", "ServiceStandard",
           "ServiceClock", "WebSettings", "clock_windows", "duration_seconds"]

TOUCHPOINTS = ("branch", "call_centre", "account_manager", "web", "mobile", "on_site")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ValueSettings(_Section):
    """Pareto value tiers and the window value is measured over."""

    vip_share: float = Field(0.01, gt=0, lt=1, description=(
        "Share of customers, ranked by value, that are VIP (top 1% in the source documents)."))
    major_share: float = Field(0.05, gt=0, lt=1, description=(
        "Cumulative share that ends the major tier: VIP plus major are the top 5%."))
    ordinary_share: float = Field(0.20, ge=0.10, le=0.30, description=(
        "Cumulative share that ends the ordinary tier (10%-30% by industry); the rest are small."))
    tier_by: Literal["revenue", "profit"] = Field("revenue", description=(
        "Rank customers by revenue or by profit after cost to serve."))
    window_months: int = Field(12, ge=1, le=120, description=(
        "Months of transactions, ending at the latest one, that value is measured over."))

    @model_validator(mode="after")
    def _ordered(self) -> ValueSettings:
        if not self.vip_share < self.major_share < self.ordinary_share:
            raise ValueError(
                "tier shares must increase: vip_share < major_share < ordinary_share, got "
                f"{self.vip_share}, {self.major_share}, {self.ordinary_share}")
        return self


class CostSettings(_Section):
    """Cost to serve: what each transaction and each service interaction costs the company."""

    per_transaction: float = Field(0.0, ge=0, description=(
        "Cost of handling one transaction (billing, payment, fulfilment), in the currency."))
    per_interaction: dict[str, float] = Field(
        default_factory=lambda: {"branch": 8.0, "call_centre": 4.0, "account_manager": 25.0,
                                 "web": 0.5, "mobile": 0.3, "on_site": 60.0},
        description="Cost of one service interaction by touchpoint, in the currency.")
    per_complaint: float = Field(0.0, ge=0, description=(
        "Extra cost of an interaction whose kind is complaint, on top of its touchpoint cost."))

    @model_validator(mode="after")
    def _known_touchpoints(self) -> CostSettings:
        unknown = sorted(set(self.per_interaction) - set(TOUCHPOINTS))
        if unknown:
            raise ValueError(f"unknown touchpoint(s) {unknown}; expected some of {TOUCHPOINTS}")
        if any(v < 0 for v in self.per_interaction.values()):
            raise ValueError("interaction costs must be >= 0")
        return self


class ImportSettings(_Section):
    """How imports check and report bad input."""

    max_examples: int = Field(10, ge=1, le=1000, description=(
        "How many bad rows an import error shows before counting the rest."))
    check_customers: bool = Field(True, description=(
        "Reject rows whose customer_id is not in the customers table (when it has any rows)."))
    min_year: int = Field(1900, ge=1, le=9999, description=(
        "Dates before 1 January of this year are refused as implausible (a misread layout)."))
    max_year: int = Field(2100, ge=1, le=9999, description=(
        "Dates after 31 December of this year are refused as implausible."))

    @model_validator(mode="after")
    def _years_ordered(self) -> ImportSettings:
        if self.min_year > self.max_year:
            raise ValueError(f"min_year must not be after max_year, got {self.min_year} and "
                             f"{self.max_year}")
        return self


class ClvSettings(_Section):
    """Lifetime value."""

    discount_rate: float = Field(0.01, ge=0, lt=1, description=(
        "Discount rate per period (see `period`) used for discounted CLV."))
    horizon_periods: int = Field(36, ge=1, le=600, description=(
        "Number of periods discounted CLV is summed over."))


class SurveySettings(_Section):
    """Survey measures: NPS, AHP consistency, loyalty classes and levels."""

    nps_min_sample: int = Field(30, ge=1, le=100000, description=(
        "Groups (segments, months) with fewer NPS answers than this are flagged and warned "
        "about instead of compared."))
    ahp_max_cr: float = Field(0.10, gt=0, lt=1, description=(
        "AHP judgements are accepted when the consistency ratio is below this (Saaty: 0.10)."))
    loyal_intention: float = Field(75.0, ge=0, le=100, description=(
        "Stated intention (recommend, keep buying, use more, not switch; 0-100) at or above "
        "which a customer is loyal by intention (source 000)."))
    drifting_intention: float = Field(40.0, ge=0, le=100, description=(
        "Stated intention (0-100) below which a customer is drifting."))
    loyal_min_repeat: float = Field(0.5, ge=0, le=1, description=(
        "Repeat-purchase rate a customer loyal by intention must also show to stay loyal in "
        "the behavioural check (checked_class)."))
    loyal_min_tenure_months: float = Field(12.0, ge=0, description=(
        "Months as a customer a customer loyal by intention must also have to stay loyal in "
        "the behavioural check (checked_class)."))
    drifting_recency_days: float = Field(180.0, gt=0, description=(
        "Days since the last purchase beyond which the behavioural check (checked_class) calls "
        "a customer drifting whatever she says."))
    level_threshold: float = Field(60.0, ge=0, le=100, description=(
        "Score (0-100) a loyalty level (cognitive, affective, conative, action) must reach "
        "to count as attained."))

    @model_validator(mode="after")
    def _ordered(self) -> SurveySettings:
        if not self.drifting_intention < self.loyal_intention:
            raise ValueError("drifting_intention must be below loyal_intention, got "
                             f"{self.drifting_intention} and {self.loyal_intention}")
        return self


class ScoringSettings(_Section):
    """The monthly scoring run (cvm score run): lifecycle rules and the propensity models."""

    new_days: int = Field(90, ge=1, le=3650, description=(
        "A customer is 'new' for this many days after the first purchase or signup."))
    lapsed_days: int = Field(180, ge=1, le=3650, description=(
        "A customer with no purchase for more than this many days is 'lapsed'."))
    trend: float = Field(0.25, gt=0, lt=1, description=(
        "Spend in the last 180 days at least (1 + trend) times the 180 days before is "
        "'growing', at most (1 - trend) times is 'declining'; between is 'mature'."))
    max_lines: int = Field(30, ge=1, le=500, description=(
        "Propensity and share scores for at most this many product lines (brands), those "
        "with the most buyers; the run names the lines left out."))
    training_cutoffs: int = Field(4, ge=2, le=24, description=(
        "Monthly cut-offs the propensity models learn from (the latest calibrates and "
        "checks them; the others train)."))
    max_training_rows: int = Field(200_000, ge=1000, description=(
        "The run's models (propensity, likelihood to cancel, default risk) learn from a "
        "uniform random sample of at most this many rows."))
    churn_folds: int = Field(3, ge=2, le=10, description=(
        "Cross-validation folds of the likelihood-to-cancel model fitted by each run."))


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value: int | str) -> int:
    """Seconds in a limit written as whole seconds or as a number and a unit: "15s",
    "5min" (or "5m"), "2h", "2d"."""
    import re

    if isinstance(value, bool):
        raise ValueError(f"a limit is seconds or a number with s, min, h or d; got {value!r}")
    if isinstance(value, int):
        seconds = value
    else:
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|d)\s*", str(value))
        if not found:
            raise ValueError("a limit is whole seconds or a number with a unit s, min, h or "
                             f"d, e.g. \"15s\", \"5min\", \"2h\"; got {value!r}")
        seconds = float(found.group(1)) * _DURATION_UNITS[found.group(2)]
        if seconds != int(seconds):
            raise ValueError(f"a limit is a whole number of seconds; got {value!r}")
        seconds = int(seconds)
    if seconds <= 0:
        raise ValueError(f"a limit must be above 0 seconds; got {value!r}")
    return seconds


class ServiceStandard(_Section):
    """One service standard: what is promised at a touchpoint, measured on which clock."""

    touchpoint: str = Field(description=(
        "Where: branch, call_centre, account_manager, web, mobile, on_site, or all."))
    kinds: list[str] = Field(default_factory=list, description=(
        "Which interactions it covers, by kind (inquiry, complaint, ...); empty: every kind."))
    measure: Literal["first_response", "resolution"] = Field(description=(
        "What is timed from opened_at: first_response_at or resolved_at."))
    limit: int | str = Field(description='The limit: seconds, or e.g. "15s", "5min", "2h".')
    clock: str = Field("elapsed", description=(
        "elapsed (every second counts), or the name of a clock in service.clocks (business "
        "hours)."))
    target: float = Field(0.9, gt=0, le=1, description=(
        "Share of interactions that must meet the limit."))

    @field_validator("touchpoint")
    @classmethod
    def _known_touchpoint(cls, value: str) -> str:
        if value not in (*TOUCHPOINTS, "all"):
            raise ValueError(f"unknown touchpoint {value!r}; expected one of "
                             f"{(*TOUCHPOINTS, 'all')}")
        return value

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: int | str) -> int | str:
        duration_seconds(value)
        return value

    @property
    def limit_seconds(self) -> int:
        return duration_seconds(self.limit)


class ServiceClock(_Section):
    """Business hours: when a business clock runs."""

    hours: str = Field("09:00-18:00", description=(
        "Opening hours of an open day, HH:MM-HH:MM (24:00 for midnight); several windows "
        "separated by commas, e.g. 08:30-12:00,13:00-17:30."))
    closed: list[str] = Field(default_factory=lambda: ["sat", "sun"], description=(
        "Weekly closing days: mon, tue, wed, thu, fri, sat, sun."))
    holidays: list[str] = Field(default_factory=list, description=(
        "Closed dates, YYYY-MM-DD, in the clock's time zone."))
    timezone: str = Field("", description=(
        "IANA time zone the hours are kept in; empty: the workspace's timezone."))

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        clock_windows(value)
        return value

    @field_validator("closed")
    @classmethod
    def _closed(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d not in _WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday(s) {bad}; expected some of {_WEEKDAYS}")
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[str]) -> list[str]:
        import datetime as dt

        for day in value:
            try:
                dt.date.fromisoformat(day)
            except ValueError:
                raise ValueError(f"holiday {day!r} is not a date YYYY-MM-DD") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        return name and Settings._known_timezone(name)


def clock_windows(hours: str) -> list[tuple[int, int]]:
    """Opening windows "09:00-12:00,13:00-18:00" as (start, end) seconds after midnight."""
    import re

    out = []
    for part in hours.split(","):
        found = re.fullmatch(r"\s*(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)\s*", part)
        if not found:
            raise ValueError(f"opening hours are HH:MM-HH:MM, comma separated; got {hours!r}")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        if m1 > 59 or m2 > 59 or not 0 <= start < end <= 86400:
            raise ValueError(f"opening window {part.strip()!r} must run forward within a day "
                             "(00:00 to 24:00)")
        if out and start < out[-1][1]:
            raise ValueError(f"opening windows of {hours!r} overlap or are out of order")
        out.append((start, end))
    return out


def _default_standards() -> dict[str, dict[str, Any]]:
    """The service standards of source document 001 (three rings, a web message within 5
    minutes, an engineer on site within 2 hours), and a complaint resolution promise."""
    def std(touchpoint, measure, limit, kinds=()):
        return {"touchpoint": touchpoint, "kinds": list(kinds), "measure": measure,
                "limit": limit, "clock": "elapsed", "target": 0.9}

    return {"call_centre_answer": std("call_centre", "first_response", "15s"),
            "web_reply": std("web", "first_response", "5min"),
            "on_site_arrival": std("on_site", "first_response", "2h"),
            "complaint_resolution": std("all", "resolution", "2d", ["complaint"])}


def _checked(model: type[BaseModel], what: str, name: str, spec: Any) -> dict[str, Any]:
    """``spec`` checked by ``model`` and written out in full; an error names the entry."""
    try:
        return model.model_validate(spec).model_dump()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"{what} {name!r}" + (f", {where}" if where else "")
                         + f": {err['msg'].removeprefix('Value error, ')}") from None


class ServiceSettings(_Section):
    """Service standards (what is promised at each touchpoint, on which clock) and complaints."""

    standards: dict[str, dict[str, Any]] = Field(default_factory=_default_standards,
                                                 description=(
        "Service standards by name: touchpoint, kinds (empty: every kind), measure "
        "(first_response or resolution), limit, clock (elapsed or a clock's name), target "
        "share; see docs/service.md. Defaults: answer the phone within three rings (15s), a "
        "web message within 5 minutes, on site within 2 hours (source 001), and complaints "
        "resolved within 2 days."))
    clocks: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"office": ServiceClock().model_dump()}, description=(
            "Business-hours clocks by name: hours, closed weekdays, holidays, timezone."))
    complaint_standard: str = Field("complaint_resolution", description=(
        "The standard complaints' time to resolve is judged by (a standard of measure "
        "resolution); empty: none."))
    repeat_days: int = Field(30, ge=1, le=365, description=(
        "A complaint opened within this many days after the same customer's previous "
        "complaint is a repeat complaint."))
    followup_days: int = Field(90, ge=1, le=730, description=(
        "Days after a complaint or a breach in which churn or a detractor answer counts as "
        "following it."))
    dissatisfied_below: float = Field(0.5, gt=0, le=1, description=(
        "A satisfaction answer below this share of its scale (0 = lowest, 1 = highest) is "
        "dissatisfied."))

    @field_validator("clocks")
    @classmethod
    def _clocks(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if "elapsed" in value:
            raise ValueError("'elapsed' is the clock of elapsed time; name a business clock "
                             "otherwise")
        return {name: _checked(ServiceClock, "clock", name, spec)
                for name, spec in value.items()}

    @field_validator("standards")
    @classmethod
    def _standards(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {name: _checked(ServiceStandard, "standard", name, spec)
                for name, spec in value.items()}

    @model_validator(mode="after")
    def _references(self) -> ServiceSettings:
        for name, spec in self.standards.items():
            if spec["clock"] != "elapsed" and spec["clock"] not in self.clocks:
                raise ValueError(f"standard {name!r}: clock {spec['clock']!r} is neither "
                                 f"elapsed nor one of service.clocks {sorted(self.clocks)}")
        chosen = self.standards.get(self.complaint_standard)
        if self.complaint_standard and (chosen is None or chosen["measure"] != "resolution"):
            raise ValueError(f"complaint_standard {self.complaint_standard!r} must name a "
                             "standard of measure resolution in service.standards, or be "
                             "empty (no standard for complaints)")
        return self

    def standard_specs(self) -> dict[str, ServiceStandard]:
        """The standards, typed."""
        return {n: ServiceStandard.model_validate(s) for n, s in self.standards.items()}

    def clock_specs(self) -> dict[str, ServiceClock]:
        """The business clocks, typed."""
        return {n: ServiceClock.model_validate(c) for n, c in self.clocks.items()}


class CasesSettings(_Section):
    """The closed loop (cvm cases): when a case is due, what root causes are coded."""

    detractor_due_hours: int = Field(48, ge=1, le=24 * 90, description=(
        "A detractor's answer (NPS 0-6) is called back within this many hours."))
    complaint_due_hours: int = Field(24, ge=1, le=24 * 90, description=(
        "A complaint is taken up within this many hours."))
    breach_due_hours: int = Field(24, ge=1, le=24 * 90, description=(
        "A breach of a service standard is followed up within this many hours."))
    low_satisfaction_max: float = Field(0.4, ge=0, lt=1, description=(
        "An answer to a satisfaction item (construct 'satisfaction') at or below this share "
        "of its scale ((answer - scale_min) / (scale_max - scale_min): 0 the lowest, 1 the "
        "highest, as service.dissatisfied_below) opens a case: 0.4 takes 1-2 on a 1-5 "
        "scale, 1-3 on 1-7, 1-4 on 1-10, 0-4 on 0-10."))
    low_satisfaction_due_hours: int = Field(48, ge=1, le=24 * 90, description=(
        "A low satisfaction answer is called back within this many hours."))
    escalate_after_hours: int = Field(24, ge=0, le=24 * 90, description=(
        "A case still not resolved this many hours after it was due is escalated."))
    close_min_score: int = Field(7, ge=0, le=10, description=(
        "A follow-up answer (0-10) at or above this closes a resolved case; below it the "
        "case is reopened."))
    alert_nps_drop: float = Field(10.0, gt=0, le=200, description=(
        "Alert when a unit's NPS falls by at least this many points from one month to the "
        "next (cvm cases alerts)."))
    alert_compliance_drop: float = Field(0.10, gt=0, le=1, description=(
        "Alert when a unit's compliance with a service standard falls by at least this "
        "share from one month to the next."))
    root_causes: list[str] = Field(default_factory=lambda: [
        "price", "product", "service_failure", "billing", "network", "staff", "process",
        "communication", "other"], min_length=1, description=(
        "The coded root causes a case must name to be resolved."))


class SparkSettings(_Section):
    """Local or cluster Spark, used when engine = "pyspark"."""

    master: str = Field("local[2]", description="Spark master URL.")
    driver_memory: str = Field("2g", description="spark.driver.memory.")
    shuffle_partitions: int = Field(8, ge=1, description="spark.sql.shuffle.partitions.")


class ProgrammeSettings(_Section):
    """Loyalty programme: points ledger store, expiry, refunds and tier qualification."""

    database_url: str = Field("", description=(
        "SQLAlchemy URL of the programme's database, e.g. "
        "postgresql+psycopg://user@host:5432/db. Empty: the SQLite file programme.db in the "
        "workspace folder."))
    point_value: float = Field(0.01, ge=0, description=(
        "Money one point is worth to the member, in the currency (liability, clawback)."))
    expiry_months: int = Field(24, ge=0, le=240, description=(
        "Points expire this many months after they were earned, oldest first; 0: never."))
    return_window_days: int = Field(30, ge=0, le=365, description=(
        "Points earned on a purchase stay pending (not spendable) for this many days, the "
        "window in which the purchase may be returned; 0: active at once."))
    refund_shortfall: Literal["negative", "clawback"] = Field("negative", description=(
        "When a refunded purchase's points were already spent and the member's other active "
        "points do not cover them: 'negative' books the rest as a negative balance that later "
        "earnings pay off; 'clawback' books only what is covered and returns the rest as "
        "clawback_points (and their money value) for the till to keep from the refund."))
    tier_basis: Literal["points", "spend"] = Field("spend", description=(
        "Tiers qualify on points earned or on net spend (refunds deducted, redemptions never "
        "count) in the tier window."))
    tier_window: Literal["rolling", "calendar_year", "anniversary"] = Field(
        "rolling", description=(
            "Tier window: the last tier_window_months months, the calendar year to date, or "
            "the membership year since the last anniversary of joining."))
    tier_window_months: int = Field(12, ge=1, le=60, description=(
        "Length of the rolling tier window, in months."))
    grace_days: int = Field(90, ge=0, le=730, description=(
        "Days a member may stay below their tier's threshold before the tier job downgrades."))
    downgrade_policy: Literal["one_down", "to_qualified"] = Field("one_down", description=(
        "After the grace period, move down one tier, or straight to the tier the window "
        "supports (never below a manual or invitation floor)."))
    busy_timeout_ms: int = Field(30000, ge=0, le=600000, description=(
        "SQLite only: how long a writer waits for the database lock before failing."))
    threads: int = Field(4, ge=1, le=64, description=(
        "Threads per API server process that run database work. A few overlap the "
        "database's round trips; more only contend for Python's interpreter lock (measured: "
        "4 threads gave 1.3x the throughput of 40 on PostgreSQL). Add server processes "
        "(`cvm programme serve --workers N`) to use more cores."))
    lookup_failures_per_minute: int = Field(30, ge=1, le=100000, description=(
        "Failed member look-ups (an unknown member, a missing or wrong proof of presence) a "
        "staff, till or partner API key may make per minute; then its member routes answer "
        "429 until the minute has passed. Counted in the database, for all server "
        "processes."))


class WebSettings(_Section):
    """The pages (cvm serve): sessions, login limits, the decline reasons offered."""

    session_hours: float = Field(8.0, gt=0, le=24 * 30, description=(
        "A login lasts this many hours; then the user logs in again."))
    secure_cookies: bool = Field(False, description=(
        "Send the session cookie only over HTTPS: turn on behind a TLS reverse proxy "
        "(off, sessions work on http://127.0.0.1)."))
    login_failures: int = Field(5, ge=1, le=1000, description=(
        "Failed logins of one username allowed per login_window_minutes; more are refused "
        "until the window ends."))
    login_window_minutes: int = Field(15, ge=1, le=24 * 60, description=(
        "The window of login_failures, in minutes."))
    decline_reasons: list[str] = Field(default_factory=lambda: [
        "price", "not_interested", "has_it_elsewhere", "bad_timing", "unhappy_with_service",
        "other"], min_length=1, description=(
        "The coded reasons the opportunity page offers when a customer declines (kept with "
        "the outcome; cvm opportunities evaluate counts them)."))


class Settings(_Section):
    """All of a workspace's options."""

    engine: Literal["duckdb", "pyspark"] = Field("duckdb", description=(
        "Analytics engine: duckdb (embedded, default) or pyspark (local or cluster Spark). "
        "Both read the same Parquet warehouse, so switching needs no re-import."))
    currency: str = Field("USD", min_length=3, max_length=3, description=(
        "ISO 4217 code of the currency amounts are in."))
    period: Literal["week", "month", "quarter", "year"] = Field("month", description=(
        "Length of the reporting period (retention, scoring, discounting)."))
    time_unit: Literal["days", "weeks", "months"] = Field("weeks", description=(
        "Default unit of recency, frequency and age in the repeat-purchase summary."))
    timezone: str = Field("UTC", description=(
        "IANA time zone of the workspace (e.g. Asia/Shanghai): imported times with an offset "
        "are converted to it, times without one are taken in it; never the machine's zone."))
    language: Literal["en", "zh-CN"] = Field("en", description=(
        "Language of the pages, reports and reasons for users who have not chosen one: en or "
        "zh-CN."))
    duckdb_memory_limit: str = Field("4GB", description=(
        "Memory DuckDB may use before spilling to the workspace's temp folder."))
    value: ValueSettings = Field(default_factory=ValueSettings)
    costs: CostSettings = Field(default_factory=CostSettings)
    imports: ImportSettings = Field(default_factory=ImportSettings)
    clv: ClvSettings = Field(default_factory=ClvSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    survey: SurveySettings = Field(default_factory=SurveySettings)
    programme: ProgrammeSettings = Field(default_factory=ProgrammeSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    cases: CasesSettings = Field(default_factory=CasesSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA time zone such as UTC, Europe/Berlin "
                             "or Asia/Shanghai") from None
        return name

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "settings") -> Settings:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_explain(exc, source)) from None

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        from cvm._toml import load_toml

        return cls.from_dict(load_toml(path, "settings file", ConfigError), str(path))

    def updated(self, **changes: Any) -> Settings:
        """A copy with dotted keys changed, e.g. ``updated(**{"value.ordinary_share": 0.3})``."""
        data = self.model_dump()
        for key, val in changes.items():
            *parents, leaf = key.split(".")
            node = data
            for p in parents:
                node = node[p]
            node[leaf] = val
        return Settings.from_dict(data)

    def to_toml(self) -> str:
        """The settings as TOML, each option preceded by its description."""
        lines = ["# cvm workspace settings. Every option is shown with its default.", ""]
        sections = []
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, BaseModel):
                sections.append((name, value))
                continue
            lines += [f"# {info.description}", f"{name} = {_toml_value(value)}", ""]
        for name, section in sections:
            lines += [f"# {type(section).__doc__.strip()}", f"[{name}]"]
            for key, info in type(section).model_fields.items():
                lines += [f"# {info.description}", f"{key} = {_toml_value(getattr(section, key))}"]
            lines.append("")
        return "\n".join(lines)

    @classmethod
    def documented(cls) -> list[tuple[str, str, Any, str]]:
        """(dotted name, type, default, description) of every option."""
        out = []
        default = cls()
        for name, info in cls.model_fields.items():
            value = getattr(default, name)
            if isinstance(value, BaseModel):
                for key, sub in type(value).model_fields.items():
                    out.append((f"{name}.{key}", _type_name(sub.annotation),
                                getattr(value, key), sub.description or ""))
            else:
                out.append((name, _type_name(info.annotation), value, info.description or ""))
        return out


def settings_markdown() -> str:
    """The settings table of the README (regenerate it with ``python -m cvm.config``)."""
    lines = ["| option | type | default | meaning |", "|---|---|---|---|"]
    for name, typ, default, desc in Settings.documented():
        lines.append(f"| `{name}` | {typ} | `{default}` | {desc} |")
    return "\n".join(lines) + "\n"


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _explain(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = err.get("input")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown option"
        parts.append(f"{source}: option '{loc}': {msg} (got {got!r})")
    return "\n".join(parts)


if __name__ == "__main__":
    print(settings_markdown(), end="")
