"""Ledger: hand-computed scenarios, run on SQLite and PostgreSQL.

Defaults unless a test says otherwise: rule "base" = 10 points per whole 100 spent,
return window 30 days (points pending until then), expiry 24 months after earning.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from cvm.errors import (
    ConflictError,
    IdempotencyConflictError,
    InputError,
    InsufficientPointsError,
    NotFoundError,
    ReplayedError,
)

T0 = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def bal(prog, member="m1", now=None):
    b = prog.balance(member, now=now)
    # whole numbers on every dialect (PostgreSQL's sums are numeric: sent as strings once)
    assert all(type(b[k]) is int for k in b if k != "member_id"), b
    return {k: b[k] for k in ("active", "pending", "spent", "expired", "negative")}


def entries(prog):
    with prog.store.read() as conn:
        return conn.execute(sa.text("SELECT kind, points FROM ledger_entries ORDER BY entry_id")
                            ).all()


def test_step_rate_is_a_step_not_a_fraction(programme):
    programme.create_member("m1", now=T0)
    # floor(199.99 / 100) * 10 = 10; floor(200.00 / 100) * 10 = 20; floor(99.99/100)*10 = 0
    assert programme.earn("m1", "s1", "199.99", now=T0)["points"] == 10
    assert programme.earn("m1", "s2", "200.00", now=T0)["points"] == 20
    assert programme.earn("m1", "s3", "99.99", now=T0)["points"] == 0
    assert bal(programme, now=T0) == {"active": 0, "pending": 30, "spent": 0, "expired": 0,
                                      "negative": 0}


def test_pending_points_mature_after_the_return_window(programme):
    programme.create_member("m1", now=T0)
    programme.earn("m1", "s1", "350", now=T0)                     # 30 points
    assert bal(programme, now=T0 + 30 * DAY - timedelta(seconds=1))["pending"] == 30
    with pytest.raises(InsufficientPointsError, match="has 0 active points; redeeming 10"):
        programme.redeem("m1", 10, now=T0 + 29 * DAY)
    assert bal(programme, now=T0 + 30 * DAY) == {"active": 30, "pending": 0, "spent": 0,
                                                 "expired": 0, "negative": 0}


def test_redeem_consumes_oldest_lots_first_and_expiry_takes_only_the_rest(programme):
    programme.create_member("m1", now=T0)
    programme.earn("m1", "s1", "500", now=T0)                     # lot A: 50, expires T0+24m
    programme.earn("m1", "s2", "300", now=T0 + 60 * DAY)          # lot B: 30
    r = programme.redeem("m1", 60, reason="voucher", now=T0 + 100 * DAY)
    # FIFO: all 50 of A, then 10 of B.
    assert [(c["points"]) for c in r["consumed"]] == [50, 10]
    assert r["consumed"][0]["lot_entry_id"] < r["consumed"][1]["lot_entry_id"]
    # At T0 + 24 months lot A expires: nothing left of it, so nothing expires.
    at_a = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
    assert programme.expire(now=at_a) == {"members": 0, "points_expired": 0}
    assert bal(programme, now=at_a)["active"] == 20
    # Lot B (earned 2025-03-11) expires 2027-03-11 with 20 left: 20 expire, balance 0.
    at_b = datetime(2027, 3, 11, 12, 0, tzinfo=UTC)
    assert programme.expire(now=at_b) == {"members": 1, "points_expired": 20}
    assert bal(programme, now=at_b) == {"active": 0, "pending": 0, "spent": 60,
                                        "expired": 20, "negative": 0}
    assert programme.expire(now=at_b) == {"members": 0, "points_expired": 0}
    assert programme.audit() == []


def test_refund_of_spent_points_goes_negative_then_is_paid_off(programme):
    programme.create_member("m1", now=T0)
    programme.earn("m1", "s1", "250", now=T0)                     # 20 points
    t1 = T0 + 31 * DAY
    programme.redeem("m1", 15, now=t1)                            # 5 left
    r = programme.refund("m1", "s1", now=t1)
    # Reverse 20: the 5 left on the lot, 15 uncovered -> owed.
    assert (r["points_reversed"], r["owed_points"], r["clawback_points"]) == (20, 15, 0)
    assert bal(programme, now=t1) == {"active": 0, "pending": 0, "spent": 15, "expired": 0,
                                      "negative": 15}
    programme.earn("m1", "s2", "100", now=t1)                     # 10 pending
    t2 = t1 + 31 * DAY
    programme.adjust("m1", 1, "goodwill", now=t2)                 # a write: settles the debt
    # 10 matured + 1 adjust = 11 pay off 11 of the 15 owed.
    assert bal(programme, now=t2) == {"active": 0, "pending": 0, "spent": 15, "expired": 0,
                                      "negative": 4}
    assert programme.balance("m1", now=t2)["total"] == -4
    assert programme.audit() == []


def test_refund_clawback_policy_never_goes_negative(make):
    prog = make(refund_shortfall="clawback", point_value=0.05)
    prog.add_rule("base", points_per_step=10, step=100)
    prog.create_member("m1", now=T0)
    prog.earn("m1", "s1", "250", now=T0)                          # 20 points
    t1 = T0 + 31 * DAY
    prog.redeem("m1", 15, now=t1)
    r = prog.refund("m1", "s1", now=t1)
    # 5 reversed from the lot, 15 clawed back: 15 * 0.05 = 0.75 kept from the refund.
    assert (r["points_reversed"], r["clawback_points"], r["clawback_amount"]) == (5, 15, "0.75")
    assert bal(prog, now=t1) == {"active": 0, "pending": 0, "spent": 15, "expired": 0,
                                 "negative": 0}
    with pytest.raises(ConflictError, match="already refunded in full"):
        prog.refund("m1", "s1", now=t1)
    assert prog.audit() == []


def test_partial_refunds_add_up_to_the_full_reversal(programme):
    programme.create_member("m1", now=T0)
    programme.earn("m1", "s1", "1000", now=T0)                    # 100 points
    # Refund 333.33: floor(100 * 333.33 / 1000) = 33; then 333.33 more: floor(66.666)=66,
    # so 33 more; then the remaining 333.34: 100 - 66 = 34. Total 100.
    got = [programme.refund("m1", "s1", "333.33", refund_id="r1", now=T0)["points_reversed"]]
    with pytest.raises(ConflictError, match="already booked"):
        programme.refund("m1", "s1", "1", refund_id="r1", now=T0)     # refund ids are unique
    got += [programme.refund("m1", "s1", "333.33", refund_id="r2", now=T0)["points_reversed"],
           programme.refund("m1", "s1", refund_id="r3", now=T0)["points_reversed"]]
    assert got == [33, 33, 34]
    assert bal(programme, now=T0)["pending"] == 0
    with pytest.raises(ConflictError, match="already refunded in full"):
        programme.refund("m1", "s1", now=T0)
    with pytest.raises(NotFoundError, match="no purchase 'nope'"):
        programme.refund("m1", "nope", now=T0)


def test_every_write_replayed_three_times_books_once(programme):
    programme.create_member("m1", now=T0, idem_key="c")
    for _ in range(3):
        assert programme.create_member("m1", now=T0, idem_key="c")["member_id"] == "m1"
    writes = [
        lambda: programme.earn("m1", "s1", "500", idem_key="e", now=T0),
        lambda: programme.adjust("m1", 40, "welcome", idem_key="a", now=T0),
        lambda: programme.redeem("m1", 25, idem_key="r", now=T0),
        lambda: programme.refund("m1", "s1", idem_key="f", now=T0),
    ]
    for write in writes:
        first = write()
        assert first["replayed"] is False
        for _ in range(3):
            again = write()
            assert again["replayed"] is True
            assert {k: v for k, v in again.items() if k != "replayed"} == {
                k: v for k, v in first.items() if k != "replayed"}
    redeem_op = programme.redeem("m1", 5, idem_key="r2", now=T0)["operation_id"]
    for _ in range(4):
        programme.reverse("m1", redeem_op, idem_key="v", now=T0)
    # earn 50, adjust 40, redeem 25, refund -50 (pending lot), redeem 5, reversal +5
    assert entries(programme) == [("earn", 50), ("adjust", 40), ("redeem", -25),
                                  ("reverse", -50), ("redeem", -5), ("reverse", 5)]
    assert bal(programme, now=T0) == {"active": 15, "pending": 0, "spent": 25, "expired": 0,
                                      "negative": 0}
    with pytest.raises(IdempotencyConflictError, match="different request"):
        programme.redeem("m1", 26, idem_key="r", now=T0)
    with pytest.raises(ConflictError, match="already booked"):
        programme.earn("m1", "s1", "500", now=T0)          # same sale, no key: refused
    with pytest.raises(ConflictError, match="already exists"):
        programme.create_member("m1", now=T0)
    with pytest.raises(ConflictError, match="already booked"):
        programme.reverse("m1", redeem_op, now=T0)


def test_one_sale_sent_for_several_members_at_once_is_booked_once(programme):
    """Writes for different members do not wait for each other's lock, so all of them can
    pass the check that the sale is new: the unique natural key refuses all but one at
    commit, and the losers, run again, get the clear conflict."""
    members = [f"m{i}" for i in range(6)]
    for m in members:
        programme.create_member(m, now=T0)
    start = threading.Barrier(len(members))

    def earn(m):
        start.wait()
        try:
            return programme.earn(m, "sale-1", "250", now=T0)["points"]
        except ConflictError as exc:
            assert "already booked" in str(exc)
            return "refused"

    with ThreadPoolExecutor(len(members)) as pool:
        outcomes = list(pool.map(earn, members))
    assert sorted(outcomes, key=str) == [20] + ["refused"] * (len(members) - 1)
    with programme.store.read() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*), sum(points) FROM ledger_entries WHERE source_txn = 'sale-1'")
        ).one() == (1, 20)
    assert programme.audit() == []


def test_a_write_booking_many_entries_keeps_them_in_booking_order(make):
    """Three lots expire inside one adjustment: four entries in one write, more than the
    ids a write draws ahead on PostgreSQL; they are booked in order, expiries first."""
    prog = make(expiry_months=1)
    prog.create_member("m1", now=T0)
    for i, pts in enumerate((10, 20, 30)):
        prog.adjust("m1", pts, "welcome", now=T0 + i * DAY)
    prog.adjust("m1", 100, "late bonus", now=T0 + 40 * DAY)
    assert entries(prog) == [("adjust", 10), ("adjust", 20), ("adjust", 30),
                             ("expire", -10), ("expire", -20), ("expire", -30),
                             ("adjust", 100)]
    assert bal(prog, now=T0 + 40 * DAY) == {"active": 100, "pending": 0, "spent": 0,
                                            "expired": 60, "negative": 0}
    assert prog.audit() == []


def test_a_failed_write_leaves_the_store_as_it_was(programme):
    programme.create_member("m1", now=T0)
    programme.adjust("m1", 10, "welcome", now=T0)
    before = entries(programme)
    with pytest.raises(InsufficientPointsError):
        programme.redeem("m1", 11, idem_key="x", now=T0)
    with pytest.raises(InputError):
        programme.adjust("m1", -5, "  ", now=T0)
    assert entries(programme) == before
    # The refusal is the answer to key "x": a retry gets it again, even once the points are
    # there; a new key is a new attempt and goes through.
    programme.adjust("m1", 5, "top-up", now=T0)
    with pytest.raises(ReplayedError, match="has 10 active points") as replayed:
        programme.redeem("m1", 11, idem_key="x", now=T0)
    assert (replayed.value.http_status, replayed.value.code) == (409, "insufficient_points")
    assert programme.redeem("m1", 11, idem_key="x2", now=T0)["replayed"] is False
    with pytest.raises(NotFoundError, match="member 'ghost' not found"):
        programme.earn("ghost", "s1", "10", now=T0)


def test_negative_adjustment_cannot_overdraw(programme):
    programme.create_member("m1", now=T0)
    programme.adjust("m1", 10, "welcome", now=T0)
    with pytest.raises(InsufficientPointsError, match="10 points available"):
        programme.adjust("m1", -11, "correction", now=T0)
    programme.adjust("m1", -10, "correction", now=T0)
    assert bal(programme, now=T0)["active"] == 0


def test_reversed_redemption_keeps_its_lots_expiry(programme):
    programme.create_member("m1", now=T0)
    programme.adjust("m1", 30, "welcome", now=T0)                 # expires 2027-01-10 12:00
    op = programme.redeem("m1", 30, now=T0 + DAY)["operation_id"]
    r = programme.reverse("m1", op, "order cancelled", now=T0 + 2 * DAY)
    assert r["points"] == 30
    st = programme.statement("m1")["entries"]
    assert st[-1]["kind"] == "reverse" and st[-1]["expires_at"] == datetime(
        2027, 1, 10, 12, tzinfo=UTC)
    # as the statement sends them: UTC times, whole points, on every dialect
    assert all(e["booked_at"].tzinfo is UTC and type(e["points"]) is int for e in st)
    assert bal(programme, now=T0 + 2 * DAY) == {"active": 30, "pending": 0, "spent": 0,
                                                "expired": 0, "negative": 0}


def test_tier_multiplier_campaign_dates_limits_caps_and_budget(make):
    prog = make(return_window_days=0)
    prog.put_tier("gold", rank=1, threshold=0, multiplier="1.25")
    prog.add_rule("base", points_per_step=10, step=100)
    prog.add_rule("spring", points_per_step=5, step=50,
                   valid_from=date(2025, 3, 1), valid_to=date(2025, 3, 31),
                   tier_multiplier=False, budget_points=25)
    prog.add_rule("birthday", points_per_step=500, product="birthday",
                   member_limit=1, member_limit_period="year", tier_multiplier=False)
    prog.add_rule("web", points_per_step=3, step=10, channel="web",
                   tier_multiplier=False, cap_points=40, cap_period="month")
    for m in ("m1", "m2"):
        prog.create_member(m, now=T0)
    prog.run_tiers(T0.date())                                      # both reach gold (0)
    # base: floor(floor(250/100)*10 * 1.25) = floor(25.0) = 25; no campaign in January.
    assert prog.earn("m1", "s1", "250", now=T0)["points"] == 25
    # 330 in March: base floor(30 * 1.25) = floor(37.5) = 37; spring floor(330/50)*5 = 30,
    # but the campaign budget is 25.
    r = prog.earn("m1", "s2", "330", now=datetime(2025, 3, 5, tzinfo=UTC))
    assert [(e["rule"], e["points"]) for e in r["entries"]] == [("base", 37), ("spring", 25)]
    r = prog.earn("m2", "s3", "330", now=datetime(2025, 3, 6, tzinfo=UTC))
    assert [(e["rule"], e["points"]) for e in r["entries"]] == [("base", 37)]   # budget spent
    # Birthday bonus once a year per member: base 0 on 0 spend, then bonus 500 once.
    assert prog.earn("m1", "b1", "0", product="birthday", now=T0)["points"] == 500
    assert prog.earn("m1", "b2", "0", product="birthday", now=T0 + DAY)["points"] == 0
    assert prog.earn("m1", "b3", "0", product="birthday",
                     now=datetime(2026, 1, 2, tzinfo=UTC))["points"] == 500
    # Web cap 40 per month across members: 100 web -> base 12 (floor 12.5) + web 30;
    # next: web min(30, 40 - 30) = 10; next: 0 web points.
    web = [prog.earn(m, f"w{i}", "100", channel="web", now=T0 + DAY)["entries"]
           for i, m in enumerate(["m1", "m2", "m1"])]
    assert [[(e["rule"], e["points"]) for e in es] for es in web] == [
        [("base", 12), ("web", 30)], [("base", 12), ("web", 10)], [("base", 12)]]
    assert prog.audit() == []


def test_catalogue_redemption_checks_the_items_tier(make):

    from cvm.errors import PermissionDeniedError

    prog = make(return_window_days=0)
    prog.put_tier("gold", rank=1, threshold=100_000)
    prog.put_catalogue_item("mug", name="Mug", points=40)
    prog.put_catalogue_item("lounge", name="Lounge", points=50, min_tier_code="gold")
    prog.create_member("m1", now=T0)
    prog.adjust("m1", 100, "welcome", now=T0)
    r = prog.redeem("m1", item="mug", now=T0)
    assert (r["points"], r["balance"]["active"]) == (40, 60)
    with pytest.raises(PermissionDeniedError, match="needs tier gold or higher"):
        prog.redeem("m1", item="lounge", now=T0)
    with pytest.raises(NotFoundError, match="catalogue item 'nope'"):
        prog.redeem("m1", item="nope", now=T0)
    assert prog.statement("m1")["entries"][-1]["reason"] == "catalogue item mug: Mug"


def test_a_writer_locked_out_past_the_busy_timeout_gets_a_busy_error(tmp_path):
    import sqlite3

    from conftest import make_programme
    from cvm.errors import StoreBusyError

    path = tmp_path / "p.db"
    prog = make_programme(f"sqlite:///{path}", busy_timeout_ms=200)
    prog.create_member("m1", now=T0)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")            # another process holds the write lock
    try:
        with pytest.raises(StoreBusyError, match="busy_timeout_ms \\(200 ms\\)"):
            prog.adjust("m1", 5, "welcome", now=T0)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert prog.adjust("m1", 5, "welcome", now=T0)["points"] == 5
    prog.close()


def test_audit_finds_each_kind_of_damage_a_row_written_outside_the_ledger_can_do(programme):
    """The ledger's tables refuse UPDATE and DELETE, but a row INSERTed around the ledger
    (a bad migration, a manual fix) can still break the books: the audit names each kind.
    m1: a lot of 10 (L1) and a redemption of 4 taking it (D1); m2: a lot of 5 (L2).
    Hand-computed: with an extra allocation L1 -> D1 of 7, L1 gives 11 of its 10 and D1 is
    covered 11 of 4; the lot then holds nothing and nothing is owed, against entries of
    10 - 4 = 6. An allocation of m1 that takes m2's lot, and an entry of m2 under m1's
    operation, are named as such."""
    prog = programme
    prog.create_member("m1")
    prog.create_member("m2")
    lot1 = prog.adjust("m1", 10, "welcome", now=T0)["entry_id"]
    redeemed = prog.redeem("m1", 4, now=T0 + DAY)
    debit1 = redeemed["entry_id"]
    assert redeemed["consumed"] == [{"lot_entry_id": lot1, "points": 4}]
    prog.adjust("m2", 5, "welcome", now=T0)
    assert prog.audit() == []

    from cvm.store.tables import allocations

    with prog.store.write() as conn:
        conn.execute(sa.insert(allocations).values(
            debit_entry_id=debit1, lot_entry_id=lot1, member_id="m1", points=7,
            booked_at=T0 + 2 * DAY))
    assert prog.audit() == [
        {"member_id": "m1", "problem": f"lot {lot1} over-consumed"},
        {"member_id": "m1", "problem": f"debit {debit1} over-covered"},
        {"member_id": "m1", "problem": "entries sum to 6, lots hold 0 and 0 is owed"},
    ]


def test_audit_names_allocations_and_entries_that_cross_members(programme):
    """An allocation of m1 taking 1 point of m2's lot L2 for m1's debit D1 covers D1 by
    4 + 1 of its 4 points; an entry of m2 booked under m1's operation belongs to neither."""
    prog = programme
    prog.create_member("m1")
    prog.create_member("m2")
    prog.adjust("m1", 10, "welcome", now=T0)
    redeemed = prog.redeem("m1", 4, now=T0 + DAY)
    debit1 = redeemed["entry_id"]
    lot2 = prog.adjust("m2", 5, "welcome", now=T0)["entry_id"]
    with prog.store.write() as conn:
        from cvm.store.tables import allocations, ledger_entries

        alloc = conn.execute(sa.insert(allocations).values(
            debit_entry_id=debit1, lot_entry_id=lot2, member_id="m1", points=1,
            booked_at=T0 + 2 * DAY)).inserted_primary_key[0]
        op1 = conn.execute(sa.select(ledger_entries.c.op_id)
                           .where(ledger_entries.c.entry_id == debit1)).scalar_one()
        stray = conn.execute(sa.insert(ledger_entries).values(
            op_id=op1, member_id="m2", kind="adjust", points=3, reason="stray",
            booked_at=T0 + 2 * DAY, matures_at=T0 + 2 * DAY, clawback_points=0)
        ).inserted_primary_key[0]
    assert prog.audit() == [
        {"member_id": "m1", "problem": f"debit {debit1} over-covered"},
        {"member_id": "m1", "problem": f"allocation {alloc} does not take lot {lot2} for "
                                       f"debit {debit1} of its member"},
        {"member_id": None, "problem": f"entry {stray} not of its operation's member"},
    ]


def test_a_write_reads_only_the_lots_it_needs(programme):
    """A daily buyer holds hundreds of open lots: a write reads the ones due to expire and
    the oldest spendable ones holding the points it takes, plus the totals of all of them.
    100 lots of 10 points, one an hour from T0 (adjustments: active at once, expiring 24
    months on). Hand-computed: 25 points need the 3 oldest (10 + 10 + 5); 6 lots have
    expired 24 months + 5.5 hours on, and the 3 after them pay a redemption of 25 then."""
    from cvm.programme import ledger

    prog = programme
    prog.create_member("m1")
    lots = [prog.adjust("m1", 10, f"lot {i}", now=T0 + i * timedelta(hours=1))["entry_id"]
            for i in range(100)]
    later = T0 + 10 * DAY
    with prog.store.read() as conn:
        for need, expected in ((25, lots[:3]), (30, lots[:3]), (31, lots[:4]), (0, []),
                               (None, lots)):
            got, debts, sums, held = ledger.state(conn, "m1", later, need)
            assert [lot.entry_id for lot in got] == expected, need
            assert (debts, sums, held) == ([], {"adjust+": 1000},
                                           {"active": 1000, "pending": 0, "lapsed": 0})
        lapse = datetime(2027, 1, 10, 17, 30, tzinfo=UTC)          # T0 + 24 months + 5.5 h
        got, _, _, held = ledger.state(conn, "m1", lapse, 25)
        assert [lot.entry_id for lot in got] == lots[:9]            # 6 due + 3 spendable
        assert held == {"active": 940, "pending": 0, "lapsed": 60}  # not yet booked expired
    r = prog.redeem("m1", 25, now=lapse)
    assert r["consumed"] == [{"lot_entry_id": lots[6], "points": 10},
                             {"lot_entry_id": lots[7], "points": 10},
                             {"lot_entry_id": lots[8], "points": 5}]
    assert r["balance"] == {"active": 915, "pending": 0, "spent": 25, "expired": 60,
                            "lapsed": 0, "negative": 0, "total": 915}
    assert bal(prog, now=lapse) == {"active": 915, "pending": 0, "spent": 25, "expired": 60,
                                    "negative": 0}
    with pytest.raises(InsufficientPointsError, match="has 915 active points"):
        prog.redeem("m1", 916, now=lapse)
    assert prog.audit() == []


def test_owed_points_are_paid_before_a_redemption_from_the_lots_after_them(programme):
    """A refund of spent points leaves 10 owed (policy "negative"); three purchases of 100
    then earn lots of 10, pending for 30 days. Once they are active, a redemption of 15 first
    pays the 10 owed from the oldest lot, then takes 10 + 5 from the next two: the write
    must read lots for 25 points, not 15. Hand-computed balance: 30 - 10 - 15 = 5."""
    prog = programme
    prog.create_member("m1")
    prog.earn("m1", "s1", "100", now=T0)
    prog.redeem("m1", 10, now=T0 + 31 * DAY)
    r = prog.refund("m1", "s1", now=T0 + 32 * DAY)
    assert r["owed_points"] == 10 and r["balance"]["negative"] == 10
    lots = [prog.earn("m1", f"s{i}", "100", now=T0 + (32 + i) * DAY)["entries"][0]["entry_id"]
            for i in (2, 3, 4)]
    r = prog.redeem("m1", 15, now=T0 + 70 * DAY)
    assert r["consumed"] == [{"lot_entry_id": lots[1], "points": 10},
                             {"lot_entry_id": lots[2], "points": 5}]
    assert r["balance"] == {"active": 5, "pending": 0, "spent": 25, "expired": 0,
                            "lapsed": 0, "negative": 0, "total": 5}
    assert prog.audit() == []


def test_points_past_their_expiry_date_read_as_lapsed_not_active(programme):
    """100 points adjusted on T0 expire 24 months on. Read 800 days later, before the expiry
    job has run, they are lapsed, not active: the balance agrees with the refusal a
    redemption gets then (which books nothing, the expiry included). The job books them as
    expired."""
    prog = programme
    prog.create_member("m1", now=T0)
    prog.adjust("m1", 100, "welcome", now=T0)
    prog.adjust("m1", 30, "later", now=T0 + 400 * DAY)
    later = T0 + 800 * DAY
    shown = prog.balance("m1", now=later)
    assert {k: shown[k] for k in ("active", "lapsed", "expired", "negative", "total")} == {
        "active": 30, "lapsed": 100, "expired": 0, "negative": 0, "total": 130}
    with pytest.raises(InsufficientPointsError, match="has 30 active points"):
        prog.redeem("m1", 50, now=later)
    assert prog.balance("m1", now=later) == shown
    assert prog.expire(now=later) == {"members": 1, "points_expired": 100}
    after = prog.balance("m1", now=later)
    assert {k: after[k] for k in ("active", "lapsed", "expired", "negative", "total")} == {
        "active": 30, "lapsed": 0, "expired": 100, "negative": 0, "total": 30}
    assert prog.audit() == []


def test_points_past_the_bound_are_refused_before_booking_and_the_books_still_add_up(make):
    from cvm.errors import PointsLimitError
    from cvm.programme.ledger import MAX_POINTS

    assert MAX_POINTS == 2**53 - 1 == 9_007_199_254_740_991
    prog = make(return_window_days=0)
    prog.add_rule("huge", points_per_step=10_000, step="0.01")
    prog.create_member("m1", now=T0)
    # 999,999,999,999.99 at 10,000 points per cent is about 10^18 points: refused, ten times
    for i in range(10):
        with pytest.raises(PointsLimitError, match="more than the 9007199254740991 one entry"):
            prog.earn("m1", f"big{i}", "999999999999.99", now=T0)
    assert entries(prog) == []
    # two earns of 4,503,599,627,370,000 points reach the member's bound less 991 ...
    for i in range(2):
        assert prog.earn("m1", f"half{i}", "4503599627.37",
                         now=T0)["points"] == 4_503_599_627_370_000
    with pytest.raises(PointsLimitError, match="credited 9007199254740000 points in all"):
        prog.earn("m1", "one-more", "0.01", now=T0)
    assert prog.adjust("m1", 991, "to the bound", now=T0)["balance"]["active"] == MAX_POINTS
    with pytest.raises(PointsLimitError):
        prog.adjust("m1", 1, "past it", now=T0)
    # ... and every sum of them still works: balance, reports, audit
    assert prog.balance("m1", now=T0)["total"] == MAX_POINTS
    assert prog.breakage()["issued"] == MAX_POINTS
    assert prog.earn_burn(T0.date(), T0.date() + DAY)[0]["earned"] == 2 * 4_503_599_627_370_000
    assert prog.audit() == []
    # spending and refunding stay possible; credits spent still count towards the bound
    assert prog.redeem("m1", MAX_POINTS, now=T0)["balance"]["active"] == 0
    with pytest.raises(PointsLimitError):
        prog.adjust("m1", 1, "still past it", now=T0)
    with pytest.raises(PointsLimitError):
        prog.adjust("m1", -(2**63), "far past", now=T0)
    with pytest.raises(PointsLimitError):
        prog.redeem("m1", 2**70, now=T0)
    with pytest.raises(InputError, match="at most 10000000000000"):
        prog.earn("m1", "huge-amount", "1e20", now=T0)
    assert prog.audit() == []
