"""The loyalty programme: points ledger, earning rules, tiers, partners, API keys."""

from cvm.programme.facade import Programme
from cvm.programme.ledger import Policy

__all__ = ["Policy", "Programme"]
