"""Service management: standards as data and compliance with them, and complaints (rates,
resolution, repeats, churn after them, moments of truth, silent dissatisfaction).

Use it through the workspace: ``ws.service`` (`cvm.service.facade.ServiceFacade`).
"""

from cvm.service.facade import ServiceFacade

__all__ = ["ServiceFacade"]
