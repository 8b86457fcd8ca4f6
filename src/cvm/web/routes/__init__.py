"""The pages, one module per area; `ROUTERS` is what `cvm.web.app.create_site` mounts."""

from cvm.web.routes import home, value

ROUTERS = [home.router, value.router]

__all__ = ["ROUTERS"]
