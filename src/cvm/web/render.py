"""Rendering pages: the Jinja2 environment, the request's language, figures and formats.

A page is `page(request, template, **context)`: the template gets ``_`` (a message in the
request's language, `cvm.i18n.translate`), ``num`` and ``pct`` (numbers by the locale's
rules), the session, the navigation the user's role may open, and the CSRF token for its
forms. Figures are Plotly figures built in Python and embedded as JSON in a
``<script type="application/json">`` block that ``/static/cvm.js`` draws: no inline script,
so the Content-Security-Policy can refuse every script that is not a file of ours.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from cvm.i18n import number, percent, translate

__all__ = ["NavItem", "NAV", "TIER_LABELS", "EVERYONE", "ANALYSTS", "label", "page", "figure",
           "lang_of", "fmt_number", "fmt_percent", "records"]


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str          # an English message id, shown through the catalogue
    roles: tuple[str, ...]


#: The value tiers as the pages name them in English (the catalogue gives the Chinese).
TIER_LABELS = {"vip": "VIP", "major": "major", "ordinary": "ordinary", "small": "small"}

EVERYONE = ("admin", "manager", "analyst", "staff")
ANALYSTS = ("admin", "manager", "analyst")

#: The pages in the navigation, in order, and the roles that may open each (the routes
#: check the same roles: `cvm.web.auth.page_user`).
NAV: list[NavItem] = [
    NavItem("/", "KPIs", EVERYONE),
    NavItem("/value", "Value", ANALYSTS),
    NavItem("/clv", "Lifetime value", ANALYSTS),
    NavItem("/loyalty", "Loyalty", ANALYSTS),
    NavItem("/retention", "Retention", ANALYSTS),
    NavItem("/service", "Service", ANALYSTS),
    NavItem("/opportunities", "Opportunities", EVERYONE),
    NavItem("/cases", "Cases", EVERYONE),
    NavItem("/customers", "Customers", EVERYONE),
    NavItem("/programme", "Programme", ANALYSTS),
]


@cache
def _env() -> Environment:
    env = Environment(loader=PackageLoader("cvm.web", "templates"),
                      autoescape=select_autoescape(default=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["tojson_attr"] = lambda v: json.dumps(v, ensure_ascii=False)
    return env


def lang_of(request: Request) -> str:
    return getattr(request.state, "lang", None) or "en"


def fmt_number(value: Any, lang: str, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return number(value, lang, digits)


def fmt_percent(value: Any, lang: str, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return percent(value, lang, digits)


def figure(fig, height: int = 360) -> Markup:
    """A Plotly figure as a block the page script draws (JSON, never an inline script)."""
    fig.update_layout(height=height, margin={"l": 50, "r": 20, "t": 40, "b": 40},
                      template="plotly_white")
    data = fig.to_json().replace("</", "<\\/")
    return Markup(f'<div class="plot" style="min-height:{height}px"></div>'
                  f'<script type="application/json" class="plot-data">{data}</script>')


def records(table) -> list[dict[str, Any]]:
    """Rows of an Arrow table or pandas frame as dicts, NaN as None."""
    rows = table.to_pylist() if hasattr(table, "to_pylist") else table.to_dict("records")
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in rows]


#: A code as stored (``service_recovery``, ``no_answer``, ``call_centre``)
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def label(lang: str, message: str, **values: Any) -> str:
    """``message`` in ``lang`` (`cvm.i18n.translate`); a stored code the catalogue has no
    words for (every English page: English messages are their own ids) is shown as words,
    ``service_recovery`` as "service recovery"."""
    text = translate(lang, message, **values)
    return text.replace("_", " ") if _CODE.fullmatch(text) else text


def page(request: Request, template: str, status_code: int = 200, **context: Any
         ) -> HTMLResponse:
    lang = lang_of(request)
    session = getattr(request.state, "session", None)
    role = session.role if session else None
    path = request.url.path
    ctx = {
        "_": lambda message, **values: label(lang, message, **values),
        "num": lambda v, digits=0: fmt_number(v, lang, digits),
        "pct": lambda v, digits=1: fmt_percent(v, lang, digits),
        "tier": lambda name: translate(lang, TIER_LABELS.get(name, name)),
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh-CN" else "en",
        "session": session,
        "csrf": session.csrf_token if session else getattr(request.state, "login_csrf", ""),
        "nav": [n for n in NAV if role in n.roles] if role else [],
        "path": path,
        "today": dt.date.today(),
        **context,
    }
    html = _env().get_template(template).render(**ctx)
    return HTMLResponse(html, status_code=status_code,
                        headers={"Cache-Control": "no-store"})

