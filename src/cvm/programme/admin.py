"""`Administration`: the programme's configuration, partners, reports and API keys.

The part of the `Programme` facade that the admin and staff routes and the CLI's jobs and
reports call: tiers and floors, the catalogue, earning rules, partners with their rates,
transactions and settlements, the finance reports, API keys with the rate limit of failed
member look-ups, and members' card tokens and one-time codes. Each method is one
transaction (a write, or a read of one consistent state); the SQL is in the modules it calls.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from cvm._time import utcnow
from cvm.config import ProgrammeSettings
from cvm.errors import CvmError
from cvm.programme import apikeys, catalogue, earning, partners, proofs, reports, tiers
from cvm.programme.runner import Runner
from cvm.store.db import Store

__all__ = ["Administration", "LookupLimitError"]


def _moment(day: date | datetime) -> datetime:
    """A datetime as given; a date as its midnight in UTC."""
    if isinstance(day, datetime):
        return day
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class LookupLimitError(CvmError, PermissionError):
    """An API key made too many failed member look-ups in the last minute (429)."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        #: seconds until the key may look members up again (the Retry-After header)
        self.retry_after = retry_after


class Administration(Runner):
    """Configuration, partners, reports and keys of a programme over a `Store`."""

    def __init__(self, store: Store, settings: ProgrammeSettings | None = None):
        super().__init__(store, settings)
        #: the setting ``programme.lookup_failures_per_minute``
        self.lookup_failures_per_minute = self.settings.lookup_failures_per_minute

    # ---- tiers ------------------------------------------------------------------------
    def tiers(self) -> list[dict[str, Any]]:
        """Tiers with thresholds, multipliers and benefits, lowest first."""
        return self._read(tiers.list_tiers)

    def put_tier(self, code: str, *, rank: int, threshold: int, name: str = "",
                 multiplier: Any = 1, invitation_only: bool = False,
                 benefits: dict[str, Any] | None = None) -> None:
        """Add or replace a tier; `threshold` is cents of spend or points (``tier_basis``)."""
        self._write(lambda conn: tiers.define_tier(
            conn, code, rank=rank, threshold=threshold, name=name, multiplier=multiplier,
            invitation_only=invitation_only, benefits=benefits))

    def set_tier_floor(self, member_id: str, tier: str | None, reason: str, *,
                       on: date | None = None,
                       now: datetime | None = None) -> dict[str, Any] | None:
        """Give a member a manual or invitation tier as a floor (None removes it) and rate
        them again on day `on` (default today); returns the tier change, if any."""
        now = now or utcnow()
        return self._write(lambda conn: tiers.set_floor(
            conn, member_id, tier, on or now.date(), reason, self.settings, now))

    def tier_history(self, member_id: str) -> list[dict[str, Any]]:
        """Every tier change of the member, oldest first (404 if not a member)."""
        return self._read(tiers.history, member_id)

    def tier_progress(self, on: date | None = None) -> list[dict[str, Any]]:
        """Each active member's way to the next tier on day `on` (default today): tier,
        next tier, qualifying value and the gap (`cvm.programme.tiers.progress`)."""
        on = on or utcnow().date()
        return self._read(lambda conn: tiers.progress(conn, on, self.settings))

    def members_by_tier(self) -> dict[str | None, int]:
        """Active members per tier code (None: in no tier yet)."""
        return self._read(tiers.member_counts)

    def run_tiers(self, on: date | None = None, batch: int = 500) -> list[dict[str, Any]]:
        """The tier job for day `on`: upgrades, grace and downgrades for every member."""
        on = on or utcnow().date()
        now = utcnow()
        ids = self._read(tiers.member_ids)
        changes = []
        for i in range(0, len(ids), batch):
            changes += self._write(lambda conn, chunk=ids[i:i + batch]: tiers.evaluate_all(
                conn, chunk, on, self.settings, now))
        return changes

    # ---- catalogue and rules --------------------------------------------------------------
    def catalogue(self) -> list[dict[str, Any]]:
        """The redemption catalogue, by item code."""
        return self._read(catalogue.items)

    def put_catalogue_item(self, code: str, *, name: str, points: int,
                           min_tier_code: str | None = None, active: bool = True) -> None:
        """Add or replace a catalogue item."""
        self._write(lambda conn: catalogue.put_item(
            conn, code, name=name, points=points, min_tier_code=min_tier_code, active=active))

    def rules(self) -> list[dict[str, Any]]:
        """The earning rules, in the order they apply."""
        return self._read(earning.list_rules)

    def add_rule(self, code: str, *, points_per_step: int, step: Any = 0,
                 name: str | None = None, min_amount: Any = 0, idem_key: str | None = None,
                 actor: str = "system", **options: Any) -> dict[str, Any]:
        """Add an earning rule (`cvm.programme.earning.define_rule`), once per idempotency
        key; answers ``{"rule_id": ..., "operation_id": ..., "replayed": ...}``."""
        request = dict(code=code, name=name, points_per_step=points_per_step, step=step,
                       min_amount=min_amount, **options)
        return self._config_op("rule", request, lambda conn: {
            "rule_id": earning.define_rule(conn, **request)}, idem_key=idem_key, actor=actor)

    # ---- partners ---------------------------------------------------------------------
    def partners(self) -> list[dict[str, Any]]:
        """Partner merchants, by id."""
        return self._read(partners.list_partners)

    def partner(self, partner_id: str) -> dict[str, Any]:
        """A partner and its rate periods (404 if unknown)."""
        return self._read(partners.get_partner, partner_id)

    def add_partner(self, partner_id: str, name: str, *, require_member_proof: bool = True,
                    idem_key: str | None = None, actor: str = "system") -> dict[str, Any]:
        """Add a partner merchant, once per idempotency key (409 if the id is taken). With
        `require_member_proof` (the default) its keys must show a member's card token or
        one-time code to read a balance or statement or to redeem."""
        return self._config_op(
            "partner", {"partner_id": partner_id, "name": name,
                        "require_member_proof": require_member_proof},
            lambda conn: partners.add_partner(conn, partner_id, name, utcnow(),
                                              require_member_proof=require_member_proof),
            idem_key=idem_key, actor=actor)

    def set_member_proof(self, partner_id: str, required: bool) -> dict[str, Any]:
        """Whether the partner's keys must show a member's proof of presence, from their next
        request on (404 if the partner is unknown); answers the partner."""
        return self._write(lambda conn: partners.require_member_proof(conn, partner_id,
                                                                      required))

    def add_rate(self, partner_id: str, earn_rate: Any, burn_rate: Any, valid_from: date,
                 valid_to: date | None = None, *, idem_key: str | None = None,
                 actor: str = "system") -> dict[str, Any]:
        """Add an earn/burn rate period to a partner (no overlaps), once per idempotency
        key; answers the partner and the period."""
        rate = {"earn_rate": earn_rate, "burn_rate": burn_rate, "valid_from": valid_from,
                "valid_to": valid_to}

        def work(conn):
            partners.add_rate(conn, partner_id, **rate)
            return {"partner_id": partner_id, **rate}
        return self._config_op("rate", dict(rate, partner_id=partner_id), work,
                               idem_key=idem_key, actor=actor)

    def partner_transactions(self, partner_id: str, *, limit: int = 100,
                             after: int = 0) -> list[dict[str, Any]]:
        """Ledger entries booked at a partner, after entry id `after` (404 if unknown)."""
        return self._read(lambda conn: partners.transactions(conn, partner_id, limit=limit,
                                                             after=after))

    def settle(self, partner_id: str, month: str, now: datetime | None = None) -> dict:
        """The partner's settlement batch of a finished month (made once, then fixed)."""
        return self._write(lambda conn: partners.settle(conn, partner_id, month,
                                                        now or utcnow()))

    def settlements(self, partner_id: str) -> list[dict[str, Any]]:
        """The partner's settlement batches by month (404 if unknown)."""
        return self._read(partners.batches, partner_id)

    # ---- reports ----------------------------------------------------------------------
    def liability(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Points held by expiry month, valued at ``point_value`` (`cvm.programme.reports`)."""
        return self._read(reports.liability, now or utcnow(), self.settings.point_value)

    def breakage(self) -> dict[str, Any]:
        """Points issued, refunded, spent and expired, and the breakage rate."""
        return self._read(reports.breakage)

    def earn_burn(self, start: date | datetime | None = None,
                  end: date | datetime | None = None) -> list[dict[str, Any]]:
        """Points earned and burned by tier and partner from `start` (default the first of
        this month) to `end` (exclusive; default tomorrow); a date is its midnight UTC."""
        today = utcnow().date()
        return self._read(reports.earn_burn, _moment(start or today.replace(day=1)),
                          _moment(end or today + timedelta(days=1)))

    # ---- API keys ---------------------------------------------------------------------
    def create_api_key(self, role: str, partner_id: str | None = None, name: str = "", *,
                       expires_at: datetime | None = None, init: bool = False) -> str:
        """Make an API key and return its text (shown once; only its hash is stored).
        `expires_at`: when it stops working (None: never). ``init`` creates or upgrades the
        tables first (a key for a new programme)."""
        if init:
            self.store.upgrade()
        return self._write(lambda conn: apikeys.create_key(
            conn, role, utcnow(), partner_id=partner_id, name=name, expires_at=expires_at))

    def api_keys(self) -> list[dict[str, Any]]:
        """Every API key, oldest first: key_id, name, role, partner_id, created_at,
        expires_at, revoked_at (never the secret or its hash)."""
        return self._read(apikeys.list_keys)

    def revoke_api_key(self, key_id: str) -> None:
        """Revoke a key (404 if no active key has this id): every server process refuses
        it from its next request on."""
        self._write(lambda conn: apikeys.revoke_key(conn, key_id, utcnow()))

    def authenticate(self, token: str | None,
                     now: datetime | None = None) -> apikeys.Principal:
        """The key's principal (401 if missing, unknown, revoked or expired), read from the
        database every time (one statement): a revocation anywhere holds at once."""
        key_id = apikeys.key_id_of(token)
        rows = self._lookup(apikeys.AUTHENTICATE, {"key_id": key_id})
        return apikeys.authenticate(rows, token, now or utcnow())

    def check_lookups(self, principal: apikeys.Principal, now: datetime | None = None) -> None:
        """Refuse (429, `LookupLimitError`) a member look-up by a key that made
        `lookup_failures_per_minute` failed ones in the current minute (no database access:
        the counts came with the key)."""
        wait = apikeys.lookup_blocked(principal, self.lookup_failures_per_minute,
                                      now or utcnow())
        if wait is not None:
            raise LookupLimitError(
                f"this API key looked up {principal.lookup_failures} members that do not "
                f"exist or were not proven present within a minute (the limit is "
                f"{self.lookup_failures_per_minute}); retry in {wait} s", wait)

    def record_lookup_failure(self, principal: apikeys.Principal,
                              now: datetime | None = None) -> None:
        """Count a failed member look-up against the key (staff, till and partner keys)."""
        if principal.role in apikeys.LIMITED_ROLES:
            self._write(lambda conn: apikeys.record_lookup_failure(conn, principal.key_id,
                                                                   now or utcnow()))

    # ---- members' proofs of presence ----------------------------------------------------
    def issue_card(self, member_id: str, now: datetime | None = None) -> dict[str, Any]:
        """A new card token for the member, shown once (`cvm.programme.proofs`); the earlier
        card stops working. 404 if not a member."""
        now = now or utcnow()
        token = self._write(lambda conn: proofs.issue_card(conn, member_id, now))
        return {"member_id": member_id, "card": token, "issued_at": now}

    def issue_code(self, member_id: str, minutes: int = proofs.CODE_MINUTES,
                   now: datetime | None = None) -> dict[str, Any]:
        """A one-time code for the member, valid `minutes` (1 to 60): for reads until then
        and for one redemption; the member's earlier unused codes stop working."""
        now = now or utcnow()
        code, expires = self._write(lambda conn: proofs.issue_code(conn, member_id, now,
                                                                   minutes))
        return {"member_id": member_id, "code": code, "expires_at": expires}
