"""The pages, one module per area; `ROUTERS` is what `cvm.web.app.create_site` mounts."""

from cvm.web.routes import cases, customers, home, opportunities, value

ROUTERS = [home.router, value.router, opportunities.router, cases.router,
           customers.router]

__all__ = ["ROUTERS"]
