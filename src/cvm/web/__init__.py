"""The pages for managers, analysts and staff, served with the REST API by one FastAPI app
(`create_site`): server-rendered Jinja2 templates, htmx for in-place updates, Plotly
figures built in Python, every asset served from the package; sessions of `cvm.users`."""

from cvm.web.app import create_site

__all__ = ["create_site"]
