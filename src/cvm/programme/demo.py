"""A seeded demo programme: three tiers, earning rules, a catalogue and one partner.

Silver, gold and platinum qualify on net spend in a rolling 12 months (250 / 900 / 2,500 in
the currency: about the top 20%, 5% and 1% of the `cvm demo` company's buyers of a year),
earn 1.0x / 1.25x / 1.5x; the base rule is 1 point per whole unit spent (a step: 9.99
earns 9), online purchases earn 1 more point per 10 spent, and a birthday bonus of 100 points
can be earned once a year. At the default point value of 0.01, a point per unit is 1% back.

`enrol_customers` then makes members of a workspace's customers (the demo company's, after
``cvm demo``) and books their purchases through the ledger, so that balances, statements,
tiers and reports have something to show.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert, select

from cvm._time import utcnow
from cvm.errors import InputError
from cvm.programme import earning, partners, tiers
from cvm.store.tables import catalogue
from cvm.store.tables import tiers as tiers_t

__all__ = ["define", "enrol_customers"]


def define(conn: Connection) -> bool:
    """Load the demo configuration into an empty programme, in the caller's transaction
    (`Programme.seed_demo`).

    Returns False, changing nothing, if the programme already has the demo's tiers.
    """
    if conn.execute(select(tiers_t.c.code).where(tiers_t.c.code == "silver")).first():
        return False
    tiers.define_tier(conn, "silver", rank=1, threshold=25_000, multiplier="1.0",
                      benefits={"free_services": ["priority queue"],
                                "service_level": "standard"})
    tiers.define_tier(conn, "gold", rank=2, threshold=90_000, multiplier="1.25",
                      benefits={"free_services": ["free delivery", "priority queue"],
                                "service_level": "priority"})
    tiers.define_tier(conn, "platinum", rank=3, threshold=250_000, multiplier="1.5",
                      benefits={"free_services": ["free delivery", "lounge",
                                                  "dedicated line"],
                                "service_level": "dedicated"})
    tiers.define_tier(conn, "black", rank=4, threshold=0, multiplier="2.0",
                      invitation_only=True,
                      benefits={"free_services": ["everything"],
                                "service_level": "account manager"})
    earning.define_rule(conn, "base", name="1 point per 1 spent",
                        points_per_step=1, step=1)
    earning.define_rule(conn, "online-bonus", name="1 extra point per 10 online",
                        points_per_step=1, step=10, channel="web", tier_multiplier=False)
    earning.define_rule(conn, "birthday", name="Birthday bonus", points_per_step=100,
                        product="birthday", member_limit=1, member_limit_period="year",
                        tier_multiplier=False)
    for code, name, points, min_tier in [("voucher-10", "10 voucher", 1000, None),
                                         ("voucher-50", "50 voucher", 4500, None),
                                         ("lounge", "Lounge visit", 3000, "gold")]:
        conn.execute(insert(catalogue).values(code=code, name=name, points=points,
                                              min_tier_code=min_tier, active=True))
    partners.add_partner(conn, "fuelco", "FuelCo stations", utcnow())
    partners.add_rate(conn, "fuelco", "0.008", "0.010", date(2020, 1, 1))
    earning.define_rule(conn, "fuelco", name="FuelCo: 2 points per 10", points_per_step=2,
                        step=10, partner_id="fuelco")
    return True


def enrol_customers(prog, ws, members: int = 1000, months: int = 12, random_state: int = 7,
                    on_progress: Callable[[int, int], Any] | None = None) -> dict[str, int]:
    """Enrol a random sample of `members` of the workspace's customers and book the earns of
    their purchases in the last `months` of its data, then run the tier job.

    Purchases are booked through `Programme.earn` (rules, tier multipliers, lots), in time
    order, at their own time moved forward by a whole number of days so that the data's
    latest day is today (the points would otherwise have expired against today's date).
    Returns counts of members enrolled, purchases booked and tier changes.
    """
    latest = ws.latest_day()
    if latest is None or not ws.has_rows("customers"):
        raise InputError("the workspace has no customers or transactions to enrol; run "
                         "`cvm demo` (or import customers and transactions) first")
    customers = ws.table("customers").select("customer_id", "signup_date").to_pandas()
    rng = np.random.default_rng(random_state)
    picked = customers.iloc[np.sort(rng.choice(len(customers), min(members, len(customers)),
                                               replace=False))]
    shift = timedelta(days=(datetime.now(UTC).date() - latest).days)
    since = datetime(latest.year, latest.month, latest.day) - timedelta(days=round(30.44 * months))
    t = ws.table("transactions")
    sales = (t.filter(t.customer_id.isin(list(picked.customer_id)), t.timestamp >= since,
                      t.amount > 0)
             .select("transaction_id", "customer_id", "timestamp", "amount", "channel")
             .order_by(["timestamp", "transaction_id"]).to_pandas())
    for row in picked.itertuples(index=False):
        joined = None if pd.isna(row.signup_date) else pd.Timestamp(row.signup_date).date() + shift
        prog.create_member(str(row.customer_id), joined_on=joined,
                           idem_key=f"demo-member:{row.customer_id}")
    total = len(sales)
    for i, sale in enumerate(sales.itertuples(index=False)):
        when = sale.timestamp.to_pydatetime().replace(tzinfo=UTC) + shift
        prog.earn(str(sale.customer_id), str(sale.transaction_id), f"{sale.amount:.2f}",
                  channel=None if pd.isna(sale.channel) else str(sale.channel),
                  idem_key=f"demo-earn:{sale.transaction_id}", now=when)
        if on_progress is not None and (i % 200 == 0 or i == total - 1):
            on_progress(i + 1, total)
    changes = prog.run_tiers(datetime.now(UTC).date())
    return {"members": len(picked), "purchases": total, "tier_changes": len(changes)}
