"""The loyalty programme: points ledger, earning rules, tiers, partners, API keys."""

from cvm.programme.ledger import Policy
from cvm.programme.service import Programme

__all__ = ["Policy", "Programme"]
