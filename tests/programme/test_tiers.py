"""Tiers: qualification windows, grace and downgrade policies, floors, history, benefits.

Tiers (spend basis, thresholds in cents): silver 1,000.00, gold 5,000.00, platinum
15,000.00, and black (invitation only).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from cvm._time import utcnow
from cvm.programme import tiers
from cvm.store.tables import members


def _setup(make, **settings):
    prog = make(**settings)
    prog.add_rule("base", points_per_step=10, step=100)
    prog.put_tier("silver", rank=1, threshold=100_000,
                   benefits={"service_level": "standard", "free_services": []})
    prog.put_tier("gold", rank=2, threshold=500_000, multiplier="1.25",
                   benefits={"service_level": "priority", "free_services": ["delivery"]})
    prog.put_tier("platinum", rank=3, threshold=1_500_000)
    prog.put_tier("black", rank=4, threshold=0, invitation_only=True)
    prog.create_member("m1", joined_on=date(2024, 3, 15),
                       now=datetime(2024, 3, 15, tzinfo=UTC))
    return prog


def _read(prog, fn, *args):
    """``fn(conn, *args)`` on a read connection: the tier functions themselves, under test."""
    with prog.store.read() as conn:
        return fn(conn, *args)


def _member(prog):
    return _read(prog, lambda c: c.execute(sa.select(members)).first())


def at(y, m, d):
    return datetime(y, m, d, 12, tzinfo=UTC)


def tier_of(prog, member="m1"):
    return prog.member(member)["tier_code"]


@pytest.mark.parametrize("policy, after_grace", [("one_down", "silver"),
                                                 ("to_qualified", None)])
def test_upgrade_then_grace_then_downgrade(make, policy, after_grace):
    prog = _setup(make, grace_days=90, downgrade_policy=policy)
    prog.earn("m1", "s1", "6000", now=at(2025, 1, 15))
    assert [c["to"] for c in prog.run_tiers(date(2025, 1, 31))] == ["gold"]
    # Rolling 12 months ending 2026-01-20 start after 2025-01-21: the sale drops out.
    assert prog.run_tiers(date(2026, 1, 20)) == []
    assert prog.member("m1")["below_since"] == date(2026, 1, 20)
    assert prog.run_tiers(date(2026, 4, 19)) == []                   # day 89 of grace
    change = prog.run_tiers(date(2026, 4, 20))                       # day 90: downgrade
    assert [(c["from"], c["to"]) for c in change] == [("gold", after_grace)]
    hist = prog.tier_history("m1")
    assert [(x["previous_code"], x["tier_code"], x["changed_on"]) for x in hist] == [
        (None, "gold", date(2025, 1, 31)), ("gold", after_grace, date(2026, 4, 20))]
    assert hist[0]["reason"] == "qualified: spend 6000.00 in window reaches gold"


def test_recovering_during_grace_cancels_the_downgrade(make):
    prog = _setup(make, grace_days=30)
    prog.earn("m1", "s1", "1200", now=at(2025, 1, 15))
    prog.run_tiers(date(2025, 1, 16))
    assert tier_of(prog) == "silver"
    prog.run_tiers(date(2026, 2, 1))                                 # below since 2026-02-01
    prog.earn("m1", "s2", "1000", now=at(2026, 2, 10))
    prog.run_tiers(date(2026, 2, 11))
    assert prog.member("m1")["below_since"] is None
    assert prog.run_tiers(date(2026, 3, 5)) == [] and tier_of(prog) == "silver"


def test_refunds_reduce_spend_and_redemptions_do_not_count(make):
    prog = _setup(make, return_window_days=0)
    prog.earn("m1", "s1", "5200", now=at(2025, 1, 10))
    prog.redeem("m1", 500, now=at(2025, 1, 11))                      # spend stays 5200
    assert [c["to"] for c in prog.run_tiers(date(2025, 1, 12))] == ["gold"]
    prog.earn("m1", "s2", "100", now=at(2025, 1, 12))
    prog.refund("m1", "s2", now=at(2025, 1, 12))
    prog.refund("m1", "s1", "300", now=at(2025, 1, 13))              # net 4900.00
    # 5200.00 + 100.00 - 100.00 - 300.00 = 4900.00 < 5000.00; the redemption is no refund.
    assert _read(prog, tiers.qualifying_value, _member(prog), date(2025, 1, 13),
                     prog.settings) == 490_000


def test_points_basis_calendar_and_anniversary_windows(make):
    prog = _setup(make, tier_basis="points", tier_window="calendar_year")
    prog.put_tier("silver", rank=1, threshold=100)
    prog.earn("m1", "s1", "1000", now=at(2025, 12, 31))             # 100 points
    assert [c["to"] for c in prog.run_tiers(date(2025, 12, 31))] == ["silver"]
    member = _member(prog)
    assert _read(prog, tiers.qualifying_value, member, date(2025, 12, 31), prog.settings) == 100
    assert _read(prog, tiers.qualifying_value, member, date(2026, 1, 1), prog.settings) == 0
    s = prog.settings.model_copy(update={"tier_window": "anniversary"})
    # Joined 2024-03-15: on 2026-03-14 the membership year began 2025-03-15 (sale inside);
    # on 2026-03-15 a new one begins.
    assert tiers.window(member, date(2026, 3, 14), s)[0] == datetime(2025, 3, 15, tzinfo=UTC)
    assert _read(prog, tiers.qualifying_value, member, date(2026, 3, 14), s) == 100
    assert _read(prog, tiers.qualifying_value, member, date(2026, 3, 15), s) == 0


def test_invitation_floor_holds_and_benefits_are_readable(make):
    prog = _setup(make, grace_days=0)
    change = prog.set_tier_floor("m1", "black", "invited", on=date(2025, 1, 1), now=utcnow())
    assert change["to"] == "black" and change["reason"] == "invited (floor tier black)"
    assert prog.run_tiers(date(2025, 6, 1)) == [] and tier_of(prog) == "black"
    prog.set_tier_floor("m1", "gold", "manual gold", on=date(2025, 6, 2), now=utcnow())
    # Black is no longer a floor and the window supports nothing: one down from black
    # skips nothing (platinum), then the gold floor holds.
    assert tier_of(prog) == "platinum"
    prog.run_tiers(date(2025, 6, 3))
    assert tier_of(prog) == "gold"
    assert prog.run_tiers(date(2025, 6, 4)) == [] and tier_of(prog) == "gold"
    b = _read(prog, tiers.benefits, "m1")
    assert b == {"tier": "gold", "multiplier": "1.25", "service_level": "priority",
                 "free_services": ["delivery"]}


@pytest.mark.parametrize("basis", ["spend", "points"])
def test_batch_values_equal_one_by_one(make, basis):
    prog = _setup(make, tier_basis=basis)
    for i, amount in enumerate(["10", "250", "999.99", "5000"]):
        prog.create_member(f"x{i}", now=at(2025, 1, 1))
        prog.earn(f"x{i}", f"s{i}", amount, now=at(2025, 2, 1))
    prog.refund("x3", "s3", "1000", now=at(2025, 2, 2))
    rows = _read(prog, lambda c: c.execute(sa.select(members).order_by(members.c.member_id))
                 .all())
    batch = _read(prog, tiers.qualifying_values, rows, date(2025, 3, 1), prog.settings)
    single = {m.member_id: _read(prog, tiers.qualifying_value, m, date(2025, 3, 1), prog.settings)
              for m in rows}
    assert {k: batch.get(k, 0) for k in single} == single
    # Hand check: spend x3 = 5000.00 - 1000.00; points x3 = 500 - floor(500 * 1000/5000) = 400
    assert single["x3"] == (400_000 if basis == "spend" else 400)


def test_tier_progress_shows_the_gap_to_the_next_open_tier(make):
    prog = _setup(make)
    prog.create_member("m2", joined_on=date(2024, 3, 15), now=at(2024, 3, 15))
    prog.create_member("m3", joined_on=date(2024, 3, 15), now=at(2024, 3, 15))
    prog.earn("m1", "s1", "4200", now=at(2025, 1, 15))    # gold at 5,000: 800.00 missing
    prog.earn("m2", "s2", "16000", now=at(2025, 1, 15))   # above platinum
    prog.run_tiers(date(2025, 1, 31))
    got = {r["member_id"]: r for r in prog.tier_progress(date(2025, 1, 31))}
    assert got["m1"]["tier"] == "silver" and got["m1"]["next_tier"] == "gold"
    assert got["m1"]["qualifying"] == 420_000 and got["m1"]["gap"] == 80_000
    assert got["m1"]["next_threshold"] == 500_000
    # at the top of the open ladder: black is by invitation only
    assert got["m2"]["tier"] == "platinum" and got["m2"]["next_tier"] is None
    assert got["m2"]["gap"] is None
    assert got["m3"]["tier"] is None and got["m3"]["next_tier"] == "silver"
    assert got["m3"]["gap"] == 100_000


def test_members_by_tier_counts_the_active_members_of_each_tier(make):
    prog = _setup(make)
    for m in ("m2", "m3", "m4"):
        prog.create_member(m, joined_on=date(2024, 3, 15), now=at(2024, 3, 15))
    prog.earn("m1", "s1", "4200", now=at(2025, 1, 15))    # silver
    prog.earn("m2", "s2", "16000", now=at(2025, 1, 15))   # platinum
    prog.earn("m4", "s4", "1500", now=at(2025, 1, 15))    # silver
    prog.run_tiers(date(2025, 1, 31))
    assert prog.members_by_tier() == {"silver": 2, "platinum": 1, None: 1}
