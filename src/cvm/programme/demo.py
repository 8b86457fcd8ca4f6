"""A seeded demo programme: three tiers, earning rules, a catalogue and one partner.

Silver, gold and platinum qualify on net spend in a rolling 12 months (1,000 / 5,000 /
15,000 in the currency), earn 1.0x / 1.25x / 1.5x; the base rule is 10 points per 100
spent (a step), online purchases earn a bonus, and a birthday bonus of 500 points can be
earned once a year.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert

from cvm.programme import earning, partners, tiers
from cvm.programme.operations import utcnow
from cvm.store.tables import catalogue

__all__ = ["seed"]


def seed(prog) -> None:
    """Load the demo configuration into an empty programme (one transaction)."""
    def work(conn):
        tiers.define_tier(conn, "silver", rank=1, threshold=100_000, multiplier="1.0",
                          benefits={"free_services": ["priority queue"],
                                    "service_level": "standard"})
        tiers.define_tier(conn, "gold", rank=2, threshold=500_000, multiplier="1.25",
                          benefits={"free_services": ["free delivery", "priority queue"],
                                    "service_level": "priority"})
        tiers.define_tier(conn, "platinum", rank=3, threshold=1_500_000, multiplier="1.5",
                          benefits={"free_services": ["free delivery", "lounge",
                                                      "dedicated line"],
                                    "service_level": "dedicated"})
        tiers.define_tier(conn, "black", rank=4, threshold=0, multiplier="2.0",
                          invitation_only=True,
                          benefits={"free_services": ["everything"],
                                    "service_level": "account manager"})
        earning.define_rule(conn, "base", name="10 points per 100 spent",
                            points_per_step=10, step=100)
        earning.define_rule(conn, "online-bonus", name="5 extra points per 100 online",
                            points_per_step=5, step=100, channel="web", tier_multiplier=False)
        earning.define_rule(conn, "birthday", name="Birthday bonus", points_per_step=500,
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
    prog.configure(work)
