"""Property tests: any sequence of earns, redeems, refunds, adjustments, reversals, expiry
and tier jobs keeps the ledger equal to a simple reference model of FIFO lots.

The model below is written from the rules alone (lots consumed oldest first; pending until
the 30-day return window ends; a lot expires 24 months after it was booked; a refund takes
its own lot first, then other active lots, and leaves the rest owed or clawed back; owed
points are paid from active lots at the next write). After every step the ledger's derived
balance must equal the model's, the ledger sum must equal active + pending - negative, and
no balance may go negative under the clawback policy.

Sales are made at the tills and at partners whose ids hold the sale keys' separators
(``acme`` and ``acme:uk``, ``-``, ``a\\``), with transaction ids that would collide with
each other's under a naive ``partner:transaction`` key: each (partner, transaction) is its
own sale, refunded only by its own partner. Amounts and adjustments go up to the bounds
(`MAX_POINTS` credited per member, `MAX_AMOUNT`): past them a write is refused whole.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import make_programme
from cvm._time import add_months
from cvm.errors import (
    ConflictError,
    InputError,
    InsufficientPointsError,
    NotFoundError,
    PointsLimitError,
)
from cvm.programme.earning import MAX_AMOUNT
from cvm.programme.ledger import MAX_POINTS
from cvm.store.tables import partners

pytestmark = pytest.mark.slow
WINDOW = timedelta(days=30)
START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
#: None is the company's tills; the others are stored as before ids were checked
PARTNERS = [None, "acme", "acme:uk", "-", "a\\"]
#: transaction ids, with {m} the member: ("acme", "uk:{m}") and ("acme:uk", "{m}") collide
#: under a key that joins them with ':', as (None, "{m}") and ("-", "{m}") under '-' for None
TXNS = ["{m}", "uk:{m}", "{m}:", "\\{m}", ":{m}"]
MAX_CENTS = int(MAX_AMOUNT * 100)


class Model:
    """The reference: a list of lots and a list of owed amounts, nothing else."""

    def __init__(self, policy: str):
        self.policy = policy
        self.lots: list[dict] = []      # booking order
        self.debts: list[int] = []      # owed amounts, oldest first
        self.spent = self.expired = 0
        self.sales: dict[str, dict] = {}
        self.redemptions: list[dict] = []

    def _lot(self, points, t, matures):
        lot = {"points": points, "left": points, "matures": matures,
               "expires": add_months(t, 24)}
        self.lots.append(lot)
        return lot

    def _active(self, t):
        return [lot for lot in self.lots if lot["left"] > 0 and lot["matures"] <= t]

    def _take(self, lots, n):
        used = []
        for lot in lots:
            k = min(n, lot["left"])
            if k:
                lot["left"] -= k
                n -= k
                used.append(lot)
        return n, used

    def housekeep(self, t):
        for lot in self.lots:
            if lot["expires"] <= t and lot["left"] > 0:
                self.expired += lot["left"]
                lot["left"] = 0
        for i, owed in enumerate(self.debts):
            self.debts[i], _ = self._take(self._active(t), owed)

    def _credit(self, n):
        if sum(lot["points"] for lot in self.lots) + n > MAX_POINTS:
            raise PointsLimitError("model: past the member's bound")

    def earn(self, t, txn, cents):
        """`txn`: the sale, (partner, transaction id)."""
        if cents > MAX_CENTS:
            raise InputError("model: amount too large")
        if txn in self.sales:
            raise ConflictError("model: already booked")
        self.housekeep(t)
        pts = cents // 10000 * 10
        if pts:
            self._credit(pts)
        lot = self._lot(pts, t, t + WINDOW) if pts else None
        self.sales[txn] = {"cents": cents, "refunded": 0, "lot": lot, "reversed": 0}

    def redeem(self, t, n):
        self.housekeep(t)
        if n > sum(lot["left"] for lot in self._active(t)):
            raise InsufficientPointsError("model: short")
        _, used = self._take(self._active(t), n)
        self.spent += n
        self.redemptions.append({"points": n, "expires": min(u["expires"] for u in used),
                                 "reversed": False})

    def refund(self, t, txn, cents):
        if txn not in self.sales:
            raise NotFoundError("model: no such sale of this partner")
        sale = self.sales[txn]
        left = sale["cents"] - sale["refunded"]
        if left <= 0:
            raise ConflictError("model: nothing left to refund")
        if cents is not None and cents > left:
            raise InputError("model: more than is left to refund")
        cents = left if cents is None else cents
        self.housekeep(t)
        sale["refunded"] += cents
        lot = sale["lot"]
        if lot is None:
            return
        delta = lot["points"] * sale["refunded"] // sale["cents"] - sale["reversed"]
        if delta <= 0:
            return
        own = [lot] if lot["left"] > 0 else []
        rest, _ = self._take(own + [x for x in self._active(t) if x is not lot], delta)
        sale["reversed"] += delta
        if rest and self.policy == "negative":
            self.debts.append(rest)

    def adjust(self, t, n):
        self.housekeep(t)
        if n > 0:
            self._credit(n)
            self._lot(n, t, t)
            self.housekeep(t)
        else:
            if -n > sum(lot["left"] for lot in self._active(t)):
                raise InsufficientPointsError("model: short")
            self._take(self._active(t), -n)

    def reverse(self, t, i):
        red = self.redemptions[i]
        if red["reversed"]:
            raise ConflictError("model: already reversed")
        self.housekeep(t)
        red["reversed"] = True
        self.spent -= red["points"]
        lot = self._lot(red["points"], t, t)
        lot["expires"] = red["expires"]
        self.housekeep(t)

    def expire_job(self, t):
        if any(lot["left"] > 0 and lot["expires"] <= t for lot in self.lots):
            self.housekeep(t)

    def balance(self, t):
        # points past their expiry date, not booked as expired yet, are lapsed: never active
        live = [lot for lot in self.lots if lot["expires"] > t]
        active = sum(lot["left"] for lot in live if lot["matures"] <= t)
        pending = sum(lot["left"] for lot in live if lot["matures"] > t)
        lapsed = sum(lot["left"] for lot in self.lots if lot["expires"] <= t)
        return {"active": active, "pending": pending, "spent": self.spent,
                "expired": self.expired, "lapsed": lapsed, "negative": sum(self.debts)}


# Day steps around the 30-day window and the 24-month expiry, so both edges are crossed.
DAYS = st.sampled_from([1, 7, 29, 30, 31, 90, 365, 700, 731])
steps = st.lists(st.one_of(
    st.tuples(st.just("earn"), st.integers(0, 60_000)),
    st.tuples(st.just("earn"), st.integers(0, 60_000)),
    st.tuples(st.just("sale"), st.integers(0, 60_000), st.integers(0, len(PARTNERS) - 1),
              st.integers(0, len(TXNS) - 1)),
    st.tuples(st.just("refund_as"), st.integers(0, 20), st.integers(0, len(PARTNERS) - 1)),
    # near the bounds: the largest amounts, and adjustments of almost MAX_POINTS
    st.tuples(st.just("earn"), st.integers(MAX_CENTS - 2, MAX_CENTS + 2)),
    st.tuples(st.just("adjust"), st.integers(MAX_POINTS - 10**6, MAX_POINTS)),
    st.tuples(st.just("redeem"), st.integers(1, 60)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from([None, 25, 50, 100])),
    st.tuples(st.just("adjust"), st.integers(-40, 60).filter(bool)),
    st.tuples(st.just("reverse"), st.integers(0, 10)),
    st.tuples(st.just("advance"), DAYS),
    st.tuples(st.just("advance"), DAYS),
    st.tuples(st.just("expire")),
    st.tuples(st.just("tiers")),
), min_size=4, max_size=30)


def _run(prog, policy, ops):
    member = f"m{uuid.uuid4().hex[:12]}"
    t = START
    prog.create_member(member, now=t)
    model = Model(policy)
    sales: list[str] = []
    redeem_ops: list[int] = []
    for step in ops:
        kind = step[0]
        snapshot = copy.deepcopy(model)
        failed = None
        answered = None  # the balance a successful write answered with
        try:
            if kind == "advance":
                t += timedelta(days=step[1])
                continue
            if kind in ("earn", "sale"):
                if kind == "earn":
                    sale = (None, f"{member}-s{len(sales)}")
                else:
                    sale = (PARTNERS[step[2]], TXNS[step[3]].format(m=member))
                model_error = _try(model.earn, t, sale, step[1])
                failed, answered = _try_answer(prog.earn, member, sale[1],
                                               _money(step[1]), partner_id=sale[0],
                                               now=t)
                assert type(failed) is type(model_error), (failed, model_error)
                if failed is None:
                    sales.append(sale)
            elif kind == "redeem":
                model_error = _try(model.redeem, t, step[1])
                failed, answered = _try_answer(prog.redeem, member, step[1], now=t)
                assert type(failed) is type(model_error), (failed, model_error)
                if failed is None:
                    redeem_ops.append(prog.statement(member)["entries"][-1]["operation_id"])
            elif kind == "refund" and sales:
                txn = sales[step[1] % len(sales)]
                sale = model.sales[txn]
                cents = None if step[2] in (None, 100) else sale["cents"] * step[2] // 100
                amount = None if cents is None else _money(cents)
                if cents == 0:
                    continue
                model_error = _try(model.refund, t, txn, cents)
                failed, answered = _try_answer(prog.refund, member, txn[1], amount,
                                               partner_id=txn[0], now=t)
                assert type(failed) is type(model_error), (failed, model_error)
            elif kind == "refund_as" and sales:
                # a full refund of a sale's transaction id sent by a partner, maybe another
                txn = (PARTNERS[step[2]], sales[step[1] % len(sales)][1])
                model_error = _try(model.refund, t, txn, None)
                failed, answered = _try_answer(prog.refund, member, txn[1],
                                               partner_id=txn[0], now=t)
                assert type(failed) is type(model_error), (failed, model_error)
            elif kind == "adjust":
                model_error = _try(model.adjust, t, step[1])
                failed, answered = _try_answer(prog.adjust, member, step[1], "property test",
                                               now=t)
                assert type(failed) is type(model_error), (failed, model_error)
            elif kind == "reverse" and redeem_ops:
                i = step[1] % len(redeem_ops)
                model_error = _try(model.reverse, t, i)
                failed, answered = _try_answer(prog.reverse, member, redeem_ops[i], now=t)
                assert type(failed) is type(model_error), (failed, model_error)
            elif kind == "expire":
                model.expire_job(t)
                prog.expire(now=t)
            elif kind == "tiers":
                prog.run_tiers(t.date())
        finally:
            if failed is not None:
                model = snapshot       # the failed write rolled back, housekeeping included
        got = prog.balance(member, now=t)
        assert {k: got[k] for k in ("active", "pending", "spent", "expired", "lapsed",
                                    "negative")} == model.balance(t), (kind, step)
        if answered is not None:  # what the write answered is what the ledger now says
            assert answered == {k: v for k, v in got.items() if k != "member_id"}, (kind, step)
        assert got["total"] == got["active"] + got["pending"] + got["lapsed"] - got["negative"]
        if policy == "clawback":
            assert got["negative"] == 0 and got["total"] >= 0


def _money(cents):
    return f"{cents // 100}.{cents % 100:02d}"   # exact, up to MAX_AMOUNT


def _try_answer(fn, *args, **kwargs):
    """(error or None, the answer's balance or None)."""
    try:
        return None, fn(*args, **kwargs).get("balance")
    except (InsufficientPointsError, ConflictError, InputError, NotFoundError) as exc:
        return exc, None


def _try(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except (InsufficientPointsError, ConflictError, InputError, NotFoundError) as exc:
        return exc
    return None


def _settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def _tiered(prog):
    # Tiers whose multiplier is 1, so tier jobs run without changing what is earned.
    prog.put_tier("silver", rank=1, threshold=50_000)
    prog.put_tier("gold", rank=2, threshold=150_000)
    return prog


# Edges the random search may miss: the last pending day (day 29 of 30), the day before
# and after the 24-month expiry (day 700 and 731 after 2025-01-01), a refund of spent points,
# a redemption reversed after its lots' expiry (the new lot is due at once).
EDGES = [
    [("earn", 60_000), ("advance", 31), ("redeem", 50), ("advance", 731), ("reverse", 0)],
    [("earn", 10_000), ("advance", 29), ("redeem", 5), ("advance", 1), ("redeem", 5)],
    [("earn", 20_000), ("advance", 700), ("expire",), ("advance", 31), ("expire",),
     ("redeem", 1)],
    [("earn", 30_000), ("advance", 31), ("redeem", 25), ("refund", 0, None), ("adjust", 7),
     ("earn", 50_000), ("advance", 31), ("adjust", 1), ("refund", 1, 50)],
    # acme:uk's "m" and acme's "uk:m", the tills' "m" and partner "-"'s: four sales, each
    # refunded by its own partner only
    [("sale", 10_000, 2, 0), ("sale", 20_000, 1, 1), ("sale", 30_000, 0, 0),
     ("sale", 40_000, 3, 0), ("sale", 50_000, 2, 0), ("refund_as", 1, 2), ("refund_as", 0, 1),
     ("refund_as", 0, 2), ("refund", 0, None), ("refund_as", 2, 3), ("refund_as", 3, 3),
     ("refund", 2, 50)],
    # the member's bound: reached exactly, then refused; the largest amount and one past it
    [("adjust", MAX_POINTS - 10**6), ("earn", MAX_CENTS), ("adjust", 10**6 - 10**5),
     ("earn", MAX_CENTS + 1), ("adjust", 1), ("redeem", 60), ("adjust", 1)],
]


def _with_edges(test):
    for ops in EDGES:
        test = example(ops=ops)(test)
    return test


@_settings(60)
@_with_edges
@given(ops=steps)
def test_ledger_matches_model_negative_policy_sqlite(sqlite_programme, ops):
    _run(sqlite_programme, "negative", ops)
    assert sqlite_programme.audit() == []


@_settings(40)
@_with_edges
@given(ops=steps)
def test_ledger_matches_model_clawback_policy_sqlite(sqlite_clawback, ops):
    _run(sqlite_clawback, "clawback", ops)
    assert sqlite_clawback.audit() == []


@pytest.mark.postgres
@_settings(12)
@_with_edges
@given(ops=steps)
def test_ledger_matches_model_negative_policy_postgres(pg_programme, ops):
    _run(pg_programme, "negative", ops)
    assert pg_programme.audit() == []


@pytest.mark.postgres
@_settings(8)
@_with_edges
@given(ops=steps)
def test_ledger_matches_model_clawback_policy_postgres(pg_clawback, ops):
    _run(pg_clawback, "clawback", ops)
    assert pg_clawback.audit() == []


def _on(url, policy):
    prog = make_programme(url, refund_shortfall=policy)
    prog.add_rule("base", points_per_step=10, step=100)
    prog.add_partner("acme", "Acme")
    with prog.store.write() as conn:   # ids no longer accepted, as stored before the check
        for pid in PARTNERS[2:]:
            conn.execute(sa.insert(partners).values(partner_id=pid, name=pid, created_at=START))
    return _tiered(prog)


@pytest.fixture
def sqlite_programme(tmp_path):
    prog = _on(f"sqlite:///{tmp_path / 'p.db'}", "negative")
    yield prog
    prog.close()


@pytest.fixture
def sqlite_clawback(tmp_path):
    prog = _on(f"sqlite:///{tmp_path / 'p.db'}", "clawback")
    yield prog
    prog.close()


@pytest.fixture
def pg_programme(pg_schemas):
    url = pg_schemas.new()
    prog = _on(url, "negative")
    yield prog
    prog.close()
    pg_schemas.drop(url)


@pytest.fixture
def pg_clawback(pg_schemas):
    url = pg_schemas.new()
    prog = _on(url, "clawback")
    yield prog
    prog.close()
    pg_schemas.drop(url)
