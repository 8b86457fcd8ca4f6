"""Programme routes: tiers, catalogue, rules, partners, settlements, reports, jobs, keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import insert, select, update

from cvm.api.deps import (
    STAFF,
    AdminKey,
    AnyKey,
    IdemKey,
    Prog,
    StaffKey,
    idem_scope,
    own_partner,
)
from cvm.api.schemas import ApiKeyIn, CatalogueIn, PartnerIn, RateIn, RuleIn, SettleIn, TierIn
from cvm.programme import earning, partners, reports, tiers
from cvm.programme.apikeys import Principal
from cvm.programme.operations import utcnow
from cvm.store.tables import catalogue, ledger_entries, rules

router = APIRouter()
Code = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/tiers", tags=["tiers"])
def list_tiers(prog: Prog, who: AnyKey) -> list:
    """Tiers with thresholds, multipliers and benefits, lowest first."""
    return prog.read(tiers.list_tiers)


@router.put("/tiers/{code}", tags=["tiers"])
def put_tier(code: Code, body: TierIn, prog: Prog, who: AdminKey) -> dict:
    """Add or replace a tier."""
    prog.configure(tiers.define_tier, code, **body.model_dump())
    return {"code": code, **body.model_dump(mode="json")}


@router.post("/jobs/tiers", tags=["jobs"], status_code=201)
def run_tiers(prog: Prog, who: AdminKey, on: date | None = None) -> dict:
    """Run the tier job (upgrades, grace, downgrades) for a day (default today)."""
    changes = prog.run_tiers(on)
    return {"changes": len(changes), "details": changes[:1000]}


@router.post("/jobs/expire", tags=["jobs"], status_code=201)
def run_expire(prog: Prog, who: AdminKey) -> dict:
    """Expire every lot past its expiry date."""
    return prog.expire()


@router.get("/catalogue", tags=["catalogue"])
def list_catalogue(prog: Prog, who: AnyKey) -> list:
    """Redemption catalogue."""
    return prog.read(
        lambda c: [
            dict(r) for r in c.execute(select(catalogue).order_by(catalogue.c.code)).mappings()
        ]
    )


@router.put("/catalogue/{code}", tags=["catalogue"])
def put_item(code: Code, body: CatalogueIn, prog: Prog, who: AdminKey) -> dict:
    """Add or replace a catalogue item."""

    def write(conn):
        if conn.execute(select(catalogue.c.code).where(catalogue.c.code == code)).first():
            conn.execute(
                update(catalogue).where(catalogue.c.code == code).values(**body.model_dump())
            )
        else:
            conn.execute(insert(catalogue).values(code=code, **body.model_dump()))

    prog.configure(write)
    return {"code": code, **body.model_dump()}


@router.get("/rules", tags=["rules"])
def list_rules(prog: Prog, who: StaffKey) -> list:
    """Earning rules."""
    return prog.read(
        lambda c: [dict(r) for r in c.execute(select(rules).order_by(rules.c.rule_id)).mappings()]
    )


@router.post("/rules", tags=["rules"], status_code=201)
def add_rule(body: RuleIn, prog: Prog, who: AdminKey, key: IdemKey = None) -> dict:
    """Add an earning rule (a step rate: points_per_step for each whole step of amount)."""
    data = body.model_dump()
    return prog.write_op(
        "rule",
        data,
        lambda c: {"rule_id": earning.define_rule(c, **data)},
        idem_key=idem_scope(who, key),
        actor=who.key_id,
    )


@router.get("/partners", tags=["partners"])
def list_partners(prog: Prog, who: StaffKey) -> list:
    """Partner merchants."""
    return prog.read(partners.list_partners)


@router.post("/partners", tags=["partners"], status_code=201)
def add_partner(body: PartnerIn, prog: Prog, who: AdminKey, key: IdemKey = None) -> dict:
    """Add a partner merchant."""
    return prog.write_op(
        "partner",
        body.model_dump(),
        lambda c: partners.add_partner(c, body.partner_id, body.name, utcnow()),
        idem_key=idem_scope(who, key),
        actor=who.key_id,
    )


@router.get("/partners/{partner_id}", tags=["partners"])
def get_partner(partner_id: Code, prog: Prog, who: AnyKey) -> dict:
    """A partner and its rates (a partner key sees only its own)."""
    own_partner(who, partner_id) if who.role == "partner" else _staff_only(who)
    return prog.read(partners.get_partner, partner_id)


def _staff_only(who: Principal) -> None:
    if who.role not in STAFF:
        from cvm.errors import PermissionDeniedError

        raise PermissionDeniedError(f"a {who.role} key may not read partners")


@router.post("/partners/{partner_id}/rates", tags=["partners"], status_code=201)
def add_rate(
    partner_id: Code, body: RateIn, prog: Prog, who: AdminKey, key: IdemKey = None
) -> dict:
    """Add an earn/burn rate period (no overlaps)."""
    data = body.model_dump()
    return prog.write_op(
        "rate",
        dict(data, partner_id=partner_id),
        lambda c: (partners.add_rate(c, partner_id, **data), {"partner_id": partner_id, **data})[1],
        idem_key=idem_scope(who, key),
        actor=who.key_id,
    )


@router.get("/partners/{partner_id}/transactions", tags=["partners"])
def partner_transactions(
    partner_id: Code,
    prog: Prog,
    who: AnyKey,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> list:
    """Ledger entries booked at a partner (a partner key sees only its own)."""
    own_partner(who, partner_id) if who.role == "partner" else _staff_only(who)
    E = ledger_entries
    prog.read(partners.get_partner, partner_id)
    return prog.read(
        lambda c: [
            dict(r)
            for r in c.execute(
                select(
                    E.c.entry_id,
                    E.c.member_id,
                    E.c.kind,
                    E.c.points,
                    E.c.source_txn,
                    E.c.booked_at,
                    E.c.reason,
                )
                .where(E.c.partner_id == partner_id, E.c.entry_id > after)
                .order_by(E.c.entry_id)
                .limit(limit)
            ).mappings()
        ]
    )


@router.post("/partners/{partner_id}/settlements", tags=["partners"], status_code=201)
def settle(partner_id: Code, body: SettleIn, prog: Prog, who: AdminKey) -> dict:
    """The immutable settlement batch of a finished month (made once)."""
    return prog.settle(partner_id, body.month)


@router.get("/partners/{partner_id}/settlements", tags=["partners"])
def list_settlements(partner_id: Code, prog: Prog, who: AnyKey) -> list:
    """A partner's settlement batches."""
    own_partner(who, partner_id) if who.role == "partner" else _staff_only(who)
    prog.read(partners.get_partner, partner_id)
    return prog.read(partners.batches, partner_id)


@router.get("/reports/liability", tags=["reports"])
def liability(prog: Prog, who: StaffKey) -> list:
    """Outstanding points and their value by expiry month."""
    return prog.read(reports.liability, utcnow(), prog.settings.point_value)


@router.get("/reports/breakage", tags=["reports"])
def breakage(prog: Prog, who: StaffKey) -> dict:
    """Points issued, spent, expired and the breakage rate."""
    return prog.read(reports.breakage)


@router.get("/reports/earn-burn", tags=["reports"])
def earn_burn(
    prog: Prog, who: StaffKey, start: date | None = None, end: date | None = None
) -> list:
    """Points earned and burned by tier and partner between two dates (end exclusive)."""
    today = utcnow().date()
    start = start or today.replace(day=1)
    end = end or today + timedelta(days=1)
    return prog.read(
        reports.earn_burn,
        datetime(start.year, start.month, start.day, tzinfo=UTC),
        datetime(end.year, end.month, end.day, tzinfo=UTC),
    )


@router.post("/apikeys", tags=["admin"], status_code=201)
def new_key(body: ApiKeyIn, prog: Prog, who: AdminKey, response: Response) -> dict[str, Any]:
    """Make an API key; the answer is the only time it is shown."""
    response.headers["Cache-Control"] = "no-store"
    token = prog.create_api_key(body.role, body.partner_id, body.name)
    return {
        "key": token,
        "role": body.role,
        "partner_id": body.partner_id,
        "key_id": token.split("_")[1],
    }


@router.delete("/apikeys/{key_id}", tags=["admin"])
def revoke(key_id: Code, prog: Prog, who: AdminKey) -> dict:
    """Revoke an API key."""
    prog.revoke_api_key(key_id)
    return {"key_id": key_id, "revoked": True}
