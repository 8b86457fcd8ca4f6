"""Opportunities: the monthly scores turned into lists for the staff who deal with
customers (rules as data, a contact policy, a control group held back, owners, reasons in
English and Chinese), the outcomes staff record, and what works; ``ws.opportunities``."""

from cvm.opportunities.rules import Rules, load_rules

__all__ = ["Rules", "load_rules"]
