"""The pages, one module per area; `ROUTERS` is what `cvm.web.app.create_site` mounts."""

from cvm.web.routes import (
    cases,
    clv,
    customers,
    home,
    loyalty,
    opportunities,
    programme,
    retention,
    service,
    value,
)

ROUTERS = [home.router, value.router, opportunities.router, cases.router,
           customers.router, clv.router, loyalty.router, retention.router,
           service.router, programme.router]

__all__ = ["ROUTERS"]
