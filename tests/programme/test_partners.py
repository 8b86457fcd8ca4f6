"""Partners: earning at a partner, rates by date, immutable monthly settlement batches."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from cvm.errors import ConflictError, InputError


def at(m, d):
    return datetime(2025, m, d, 12, tzinfo=UTC)


@pytest.fixture
def prog(make):
    p = make(return_window_days=0)
    p.add_rule("base", points_per_step=10, step=100)
    p.add_partner("pa", "Partner A")
    p.add_rule("pa-bonus", points_per_step=2, step=10, partner_id="pa",
                tier_multiplier=False)
    p.add_rate("pa", "0.01", "0.008", date(2025, 1, 1), date(2025, 1, 15))
    p.add_rate("pa", "0.02", "0.008", date(2025, 1, 16))
    p.create_member("m1", now=at(1, 1))
    return p


def test_monthly_settlement_prices_each_entry_at_its_days_rate(prog):
    # 01-10 at A, 105.00: base floor(105/100)*10 = 10, partner floor(105/10)*2 = 20 -> 30
    assert prog.earn("m1", "a1", "105", partner_id="pa", now=at(1, 10))["points"] == 30
    # 01-20 at A, 50.00: base 0, partner 10
    assert prog.earn("m1", "a2", "50", partner_id="pa", now=at(1, 20))["points"] == 10
    prog.earn("m1", "own", "300", now=at(1, 21))                    # not at a partner
    prog.redeem("m1", 20, partner_id="pa", now=at(1, 25))
    prog.refund("m1", "a2", partner_id="pa", now=at(1, 28))         # reverses the 10
    prog.earn("m1", "a3", "100", partner_id="pa", now=at(2, 2))     # February: not counted
    with pytest.raises(InputError, match="has not ended yet"):
        prog.settle("pa", "2025-01", now=at(1, 31))
    batch = prog.settle("pa", "2025-01", now=at(2, 3))
    # issued: 30 x 0.01 + 10 x 0.02 - 10 x 0.02 = 0.30; redeemed: 20 x 0.008 = 0.16
    assert {k: batch[k] for k in ("issued_points", "issued_amount", "redeemed_points",
                                  "redeemed_amount", "net_amount")} == {
        "issued_points": 30, "issued_amount": "0.30", "redeemed_points": 20,
        "redeemed_amount": "0.16", "net_amount": "0.14"}
    # Settling again gives the same batch; later entries cannot change it.
    prog.earn("m1", "late", "1000", partner_id="pa", now=at(1, 30))   # a back-dated booking
    assert prog.settle("pa", "2025-01", now=at(3, 1)) == batch
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with prog.store.write() as conn:
            conn.execute(sa.text("UPDATE settlement_batches SET net_cents = 0"))
    assert prog.settlements("pa") == [batch]


def test_rates_cannot_overlap_and_unpriced_days_block_settlement(prog):
    with pytest.raises(ConflictError, match="overlaps"):
        prog.add_rate("pa", "0.03", "0.01", date(2025, 3, 1))
    prog.add_partner("pb", "Partner B")
    prog.earn("m1", "b1", "100", partner_id="pb", now=at(1, 5))
    with pytest.raises(InputError, match="no rate valid on 2025-01-05"):
        prog.settle("pb", "2025-01", now=at(2, 1))


def test_reports_liability_breakage_and_earn_burn(prog):
    prog.earn("m1", "a1", "105", partner_id="pa", now=at(1, 10))    # 30, expires 2027-01
    prog.earn("m1", "s1", "500", now=at(2, 10))                     # 50, expires 2027-02
    prog.redeem("m1", 40, now=at(2, 11))                            # 30 + 10 of the 50
    prog.expire(now=datetime(2027, 2, 10, 12, tzinfo=UTC))          # 40 left expire
    liab = prog.liability(at(2, 12))
    assert liab == []
    prog.adjust("m1", 25, "goodwill", now=at(3, 1))                 # expires 2027-03
    liab = prog.liability(at(3, 2))
    assert liab == [{"expiry_month": "2027-03", "active_points": 25, "pending_points": 0,
                     "points": 25, "value": 0.25, "lapsed_points": 0}]
    # a day after its expiry, before the job has run, the 25 have lapsed: no liability
    liab = prog.liability(datetime(2027, 3, 2, 12, tzinfo=UTC))
    assert liab == [{"expiry_month": "2027-03", "active_points": 0, "pending_points": 0,
                     "points": 0, "value": 0.0, "lapsed_points": 25}]
    # issued 30 + 50 + 25 = 105; spent 40; expired 40: breakage 40 / (40 + 40) = 0.5
    assert prog.breakage() == {
        "issued": 105, "refunded": 0, "spent": 40, "expired": 40, "breakage_rate": 0.5,
        "expired_share_of_issued": round(40 / 105, 6)}
    eb = prog.earn_burn(at(1, 1), at(3, 1))
    assert eb == [{"tier": None, "partner_id": None, "earned": 50, "burned": 40},
                  {"tier": None, "partner_id": "pa", "earned": 30, "burned": 0}]


def _old_partner(prog, partner_id):
    """A partner stored before ids were checked (an id with ':' or the till's '-')."""
    from cvm.store.tables import partners

    with prog.store.write() as conn:
        conn.execute(sa.insert(partners).values(partner_id=partner_id, name=partner_id,
                                                created_at=at(1, 1)))


def test_a_partner_cannot_refund_or_block_another_partners_sale(prog):
    from cvm.errors import NotFoundError

    _old_partner(prog, "acme:uk")
    prog.add_partner("acme", "Acme")
    assert prog.earn("m1", "c1", "1000", partner_id="acme:uk", now=at(1, 2))["points"] == 100
    # acme's own sale "uk:c1" is another sale: booked, not refused as acme:uk's "c1"
    assert prog.earn("m1", "uk:c1", "200", partner_id="acme", now=at(1, 2))["points"] == 20
    with pytest.raises(NotFoundError):
        prog.refund("m1", "c2", partner_id="acme:uk", now=at(1, 3))
    # acme refunds its own "uk:c1" (20 points), never acme:uk's "c1"
    assert prog.refund("m1", "uk:c1", partner_id="acme", now=at(1, 3))["points_reversed"] == 20
    with pytest.raises(ConflictError, match="already refunded in full"):
        prog.refund("m1", "uk:c1", partner_id="acme", now=at(1, 3))
    assert prog.refund("m1", "c1", partner_id="acme:uk", now=at(1, 3))["points_reversed"] == 100
    with pytest.raises(ConflictError, match="already refunded in full"):
        prog.refund("m1", "c1", partner_id="acme:uk", now=at(1, 3))
    assert prog.balance("m1", now=at(1, 4))["total"] == 0
    assert prog.audit() == []


def test_a_partner_named_dash_does_not_share_the_tills_sales(prog):
    from cvm.errors import NotFoundError

    _old_partner(prog, "-")
    assert prog.earn("m1", "s1", "500", now=at(1, 2))["points"] == 50
    assert prog.earn("m1", "s1", "300", partner_id="-", now=at(1, 2))["points"] == 30
    with pytest.raises(NotFoundError):
        prog.refund("m1", "s2", partner_id="-", now=at(1, 3))
    assert prog.refund("m1", "s1", partner_id="-", now=at(1, 3))["points_reversed"] == 30
    assert prog.refund("m1", "s1", now=at(1, 3))["points_reversed"] == 50
    # refund ids are per partner too, escaped the same way
    prog.earn("m1", "s3", "500", now=at(1, 4))
    prog.earn("m1", "a:b", "500", partner_id="-", now=at(1, 4))
    assert prog.refund("m1", "s3", "100", refund_id="r:1", now=at(1, 5))["points_reversed"] == 10
    assert prog.refund("m1", "a:b", "100", refund_id="r:1", partner_id="-",
                       now=at(1, 5))["points_reversed"] == 10
    assert prog.audit() == []


@pytest.mark.parametrize("partner_id", ["acme:uk", "-", "", "a b", "x" * 65, ".acme", "a\\b"])
def test_partner_ids_are_letters_digits_and_dot_underscore_at_dash(prog, partner_id):
    with pytest.raises(InputError, match="letters, digits"):
        prog.add_partner(partner_id, "bad")
    assert [p["partner_id"] for p in prog.partners()] == ["pa"]


def test_natural_keys_never_collide():
    from cvm.programme.idempotency import natural_key

    pairs = [(None, "c1"), ("-", "c1"), ("acme", "uk:c1"), ("acme:uk", "c1"), ("a\\", ":c1"),
             ("a", "\\:c1"), ("a\\:", "c1"), ("a", "-"), (None, "-"), ("-", "-")]
    keys = [natural_key("transaction", p, t) for p, t in pairs]
    assert len(set(keys)) == len(keys), keys
    # ordinary ids keep the key they always had (no migration of their rows)
    assert natural_key("transaction", None, "s1") == "transaction:-:s1"
    assert natural_key("refund", "pa", "r1") == "refund:pa:r1"
