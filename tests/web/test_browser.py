"""The pages in a real browser (issue 18): Playwright's sync API driving Debian's Chromium
(/usr/bin/chromium, never a browser of Playwright's own) against `create_site` served by
uvicorn on 127.0.0.1, over one small demo workspace after its month's jobs.

Every page load is watched: a console error, an uncaught script error or a request to any
host but 127.0.0.1 (each one is stopped by the route handler) fails the test. Each role
logs in through the form; every page it may open renders in English and in Chinese (the
Chinese heading drawn in a CJK font, not as empty boxes), each Plotly figure drawn, no
wider than a phone's screen; each page it may not open answers 403. The numbers checked
against the CLI's JSON on the same workspace: the VIP customers on /value (`cvm value
tiers`), the KPI root on / (`cvm kpi`), a customer's tier (`cvm value tiers --customers`).
A staff user records an outcome with one click and it is stored.

Screenshots of each page (desktop 1280x800 and phone 390x844, whole page) are kept under
``test-artifacts/screenshots/{desktop,phone}/ROLE_PAGE_LANG.png`` (not in git).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from typer.testing import CliRunner

from cvm.cli import app as cli
from cvm.demo import DemoParams, build_demo, month_jobs
from cvm.i18n import translate
from cvm.kpi.display import format_value
from cvm.web import create_site

CHROMIUM = Path("/usr/bin/chromium")
# as the machine notes say Chromium needs here: no sandbox as root, no GPU, and none of its
# own calls home (update checks, sync, field trials), which this closed network refuses
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
         "--disable-features=Translate,OptimizationHints,MediaRouter"]

pytestmark = [
    pytest.mark.browser, pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=(
        "Debian's chromium is not installed at /usr/bin/chromium; .ci/run installs it "
        "(apt-get install chromium fonts-wqy-zenhei)")),
]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CUSTOMERS = 800
PASSWORD = "a long pass phrase"
STAFF, TEAM = "li.wei", "branch:east"
USERS = {"admin": "root", "manager": "boss", "analyst": "ana", "staff": STAFF}
EVERYONE = ("admin", "manager", "analyst", "staff")
ANALYTICS = ("admin", "manager", "analyst")
# the pages and who may open them (issue 18: a manager all; staff /, their lists and the
# customer pages, 403 elsewhere); "{customer}" is a customer of the staff user's own list
PAGES = {
    "/": EVERYONE,
    "/value": ANALYTICS,
    "/clv": ANALYTICS,
    "/loyalty": ANALYTICS,
    "/retention": ANALYTICS,
    "/service": ANALYTICS,
    "/opportunities": EVERYONE,
    "/opportunities/evaluation": ANALYTICS,
    "/cases": EVERYONE,
    "/customers": EVERYONE,
    "/customers/{customer}": EVERYONE,
    "/programme": ANALYTICS,
}
# pages with at least one Plotly figure on this workspace
FIGURES = {"/value", "/clv", "/loyalty", "/retention", "/service", "/customers/{customer}"}
# in English the tiers carry the CLI's names (issue 18)
TIER_NAMES = {"vip": "VIP", "major": "major", "ordinary": "ordinary", "small": "small"}
CJK = re.compile(r"[\u4e00-\u9fff]")
CJK_FONTS = re.compile(r"WenQuanYi|Noto (Sans|Serif) CJK|Source Han|Droid Sans Fallback|"
                       r"AR PL", re.I)


def slug(path: str) -> str:
    return {"/": "kpi", "/customers/{customer}": "customer"}.get(
        path, path.strip("/").replace("/", "-"))


# -- the workspace and the server ---------------------------------------------------------

@dataclass
class Site:
    url: str
    ws: object
    day: dt.date
    customer: str                   # one of the staff user's own customers
    by_tier: dict[str, str]         # tier -> one customer of it (`cvm value tiers --customers`)


def cli_json(*args: str):
    res = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    path = tmp_path_factory.mktemp("browser") / "demo"
    ws, _ = build_demo(path, DemoParams(customers=CUSTOMERS))
    # the east branch's work goes to a person, so staff has a list of their own
    rules = ws.opportunities.write_rules()
    text = rules.read_text(encoding="utf-8")
    assert "[owners.staff]\n" in text
    rules.write_text(text.replace("[owners.staff]\n", f'[owners.staff]\n"{TEAM}" = '
                                  f'["{STAFF}"]\n', 1), encoding="utf-8")
    last = month_jobs(ws, members=200)[-1]       # the month's jobs, as `cvm demo` runs them
    for role, name in USERS.items():
        ws.users.add(name, PASSWORD, role, TEAM if role in ("manager", "staff") else None)

    own = ws.opportunities.list(last, owner=STAFF, include_control=False)
    assert len(own) > 0, f"{STAFF} has no opportunities on {last}: check the rules' owners"
    tiers = cli_json("value", "tiers", "--customers", "-w", str(path))
    by_tier = {}
    for row in tiers:
        by_tier.setdefault(row["tier"], row["customer_id"])
    assert set(by_tier) == set(TIER_NAMES)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_site(ws), log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", ws, last, own["customer_id"].iloc[0], by_tier)
    server.should_exit = True
    thread.join(15)
    sock.close()


# -- the browser, and watching every load --------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


@dataclass
class Watch:
    """What went wrong in one browser context: console errors, uncaught script errors, and
    requests to another host (stopped before they leave)."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def route(self, route) -> None:
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            self.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def attach(self, page: Page) -> Page:
        page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} ({m.location.get('url', '')})"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        return page

    def take(self) -> tuple[list[str], list[str]]:
        out = (self.errors[:], self.outside[:])
        self.errors.clear()
        self.outside.clear()
        return out


def new_context(browser: Browser, site: Site) -> tuple[BrowserContext, Watch]:
    ctx = browser.new_context(base_url=site.url, viewport=DESKTOP, locale="en-US",
                              service_workers="block")
    ctx.set_default_timeout(20_000)
    watch = Watch()
    ctx.route("**/*", watch.route)
    return ctx, watch


def log_in(ctx: BrowserContext, watch: Watch, role: str) -> Page:
    page = watch.attach(ctx.new_page())
    page.goto("/login?lang=en")
    page.fill("input[name=username]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    return page


@pytest.fixture(scope="module")
def sessions(browser, site):
    """One logged-in browser context per role."""
    out = {}
    for role in USERS:
        ctx, watch = new_context(browser, site)
        page = log_in(ctx, watch, role)
        assert urlsplit(page.url).path == "/", page.url
        page.close()
        out[role] = (ctx, watch)
    yield out
    for ctx, _ in out.values():
        ctx.close()


def visit(ctx: BrowserContext, watch: Watch, path: str, lang: str | None = "en"):
    page = watch.attach(ctx.new_page())
    url = path + (("&" if "?" in path else "?") + f"lang={lang}" if lang else "")
    response = page.goto(url, wait_until="load")
    return page, response


def plots_drawn(page: Page) -> int:
    """Wait until every Plotly figure of the page is drawn; their number."""
    count = page.locator(".plot").count()
    if count:
        page.wait_for_function("""() => [...document.querySelectorAll('.plot')]
            .every(p => p.querySelector('.main-svg'))""")
    return count


def platform_fonts(page: Page, selector: str) -> dict[str, int]:
    """The fonts Chromium drew the text of `selector` with, and their glyph counts."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
        return {f["familyName"]: f["glyphCount"] for f in fonts}
    finally:
        cdp.detach()


# -- logging in -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", USERS)
def test_each_role_logs_in_through_the_form(browser, site, role):
    ctx, watch = new_context(browser, site)
    try:
        page = log_in(ctx, watch, role)
        assert urlsplit(page.url).path == "/"
        assert f"{USERS[role]} ({role})" in page.locator("header .who").inner_text()
        heading = page.locator("h1").inner_text()
        if role == "staff":                     # staff start on their own work
            assert heading.startswith("My work")
            assert int(page.locator("[data-count=opportunities]").inner_text()) == len(
                site.ws.opportunities.list(site.day, owner=STAFF, include_control=False))
        else:
            assert heading.startswith("KPIs")
        cookies = {c["name"]: c for c in ctx.cookies()}
        assert cookies["cvm_session"]["httpOnly"] and cookies["cvm_session"]["sameSite"] == "Lax"
        assert watch.take() == ([], [])
    finally:
        ctx.close()


def test_a_wrong_password_stays_on_the_form(browser, site):
    ctx, watch = new_context(browser, site)
    try:
        page = watch.attach(ctx.new_page())
        page.goto("/login?lang=en")
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", "not the password")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("form[action='/login'] button[type=submit]")
        assert answer.value.status == 401
        alert = page.locator("[role=alert]", has_text="Wrong username or password.")
        assert alert.is_visible()
        assert "cvm_session" not in {c["name"] for c in ctx.cookies()}
        errors, outside = watch.take()
        assert outside == []
        # Chromium reports the 401 answer itself on the console, nothing else
        assert all("status of 401" in e for e in errors), errors
    finally:
        ctx.close()


# -- every page, every role, both languages -----------------------------------------------

def test_the_pages_here_are_the_sites_navigation():
    """Every page of the site's navigation is visited here, with the same roles (a new page
    needs a line in PAGES)."""
    from cvm.web.render import NAV

    assert {n.path: set(n.roles) for n in NAV} == {
        path: set(roles) for path, roles in PAGES.items()
        if path not in ("/customers/{customer}", "/opportunities/evaluation")}


ALLOWED = [(role, path, lang) for role in USERS for path, roles in PAGES.items()
           if role in roles for lang in ("en", "zh")]
FORBIDDEN = [(role, path) for role in USERS for path, roles in PAGES.items()
             if role not in roles]


@pytest.mark.parametrize("role,path,lang", ALLOWED,
                         ids=[f"{r}-{slug(p)}-{lang}" for r, p, lang in ALLOWED])
def test_page_renders(sessions, site, role, path, lang):
    ctx, watch = sessions[role]
    page, response = visit(ctx, watch, path.format(customer=site.customer), lang)
    try:
        assert response.status == 200, (response.status, response.text()[:2000])
        html_lang = "zh-CN" if lang == "zh" else "en"
        assert page.get_attribute("html", "lang") == html_lang
        heading = page.locator("h1")
        assert heading.is_visible() and heading.inner_text().strip()
        # the navigation is in the page's language
        kpis = page.locator("header nav a[href='/']")
        assert kpis.inner_text() == translate(html_lang, "KPIs")
        if lang == "zh":
            assert CJK.search(kpis.inner_text())
            assert CJK.search(heading.inner_text()), heading.inner_text()
            fonts = platform_fonts(page, "h1")
            assert any(CJK_FONTS.search(f) and n > 0 for f, n in fonts.items()), fonts
            assert page.evaluate("document.fonts.status") == "loaded"
        drawn = plots_drawn(page)
        if path in FIGURES:
            assert drawn > 0 and page.locator(".plot .main-svg").count() >= drawn
        name = f"{role}_{slug(path)}_{lang}.png"
        (SHOTS / "desktop").mkdir(parents=True, exist_ok=True)
        (SHOTS / "phone").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "desktop" / name, full_page=True)
        page.set_viewport_size(PHONE)
        if drawn:                                # Plotly redraws on resize
            try:
                page.wait_for_function("""() => [...document.querySelectorAll(
                    '.plot .main-svg')].every(s => s.getBoundingClientRect().right
                    <= window.innerWidth)""", timeout=5_000)
            except PlaywrightTimeout:
                pass                             # the width check below says how wide
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=SHOTS / "phone" / name, full_page=True)
        assert width <= PHONE["width"], f"{width}px wide on a {PHONE['width']}px screen"
        assert watch.take() == ([], [])
    finally:
        watch.take()
        page.close()


@pytest.mark.parametrize("role,path", FORBIDDEN, ids=[f"{r}-{slug(p)}" for r, p in FORBIDDEN])
def test_page_refused(sessions, site, role, path):
    ctx, watch = sessions[role]
    page, response = visit(ctx, watch, path.format(customer=site.customer))
    try:
        assert response.status == 403
        assert page.locator("h1").inner_text().startswith("Not allowed")
        errors, outside = watch.take()
        assert outside == []
        # Chromium reports the 403 answer itself on the console, nothing else
        assert all("status of 403" in e for e in errors), errors
    finally:
        watch.take()
        page.close()


# -- the numbers equal the CLI's ----------------------------------------------------------

def table_cell(page: Page, table: str, row_label: str, column: str) -> str:
    """The text of `table`'s cell in the row whose first cell is `row_label` and the column
    headed `column`."""
    return page.evaluate("""([table, rowLabel, column]) => {
        const t = document.querySelector(table);
        const heads = [...t.rows[0].cells].map(c => c.innerText.trim());
        const i = heads.indexOf(column);
        const row = [...t.rows].find(r => r.cells[0].innerText.trim() === rowLabel);
        return i < 0 || !row ? null : row.cells[i].innerText.trim();
    }""", [table, row_label, column])


def test_vip_customers_on_value_equal_the_cli(sessions, site):
    tiers = {r["tier"]: r for r in cli_json("value", "tiers", "-w", str(site.ws.path))}
    ctx, watch = sessions["manager"]
    page, _ = visit(ctx, watch, "/value")
    try:
        for tier, name in TIER_NAMES.items():
            shown = table_cell(page, "#tiers", name, "customers")
            assert shown == f"{tiers[tier]['customers']:,}", (tier, shown)
        assert watch.take() == ([], [])
    finally:
        watch.take()
        page.close()


def test_kpi_root_on_home_equals_the_cli(sessions, site):
    root = cli_json("kpi", "--as-of", site.day.isoformat(), "-w", str(site.ws.path))
    assert root["children"] and "NPS" in root["name"]
    ctx, watch = sessions["manager"]
    page, _ = visit(ctx, watch, "/")
    try:
        assert page.locator("h1").inner_text() == f"KPIs · {site.day.isoformat()}"
        shown = page.locator(f"[data-kpi='{root['id']}']").first.inner_text()
        assert shown == format_value(root["value"], root["unit"], "en")
        assert root["name"] in page.locator("details.kpi > summary").first.inner_text()
        for child in root["children"]:
            assert page.locator(f"[data-kpi='{child['id']}']").first.inner_text() == (
                format_value(child["value"], child["unit"], "en") or "–")
        assert watch.take() == ([], [])
    finally:
        watch.take()
        page.close()


@pytest.mark.parametrize("tier", TIER_NAMES)
def test_customer_page_shows_the_cli_tier(sessions, site, tier):
    customer = site.by_tier[tier]
    ctx, watch = sessions["manager"]
    page, response = visit(ctx, watch, f"/customers/{customer}")
    try:
        assert response.status == 200
        assert page.locator("h1").inner_text() == f"Customer {customer}"
        assert page.locator("#tier").inner_text() == TIER_NAMES[tier]
        assert watch.take() == ([], [])
    finally:
        watch.take()
        page.close()


# -- staff record an outcome ----------------------------------------------------------------

def test_staff_record_an_outcome_in_one_click(sessions, site):
    ctx, watch = sessions["staff"]
    page, _ = visit(ctx, watch, "/opportunities")
    try:
        rows = page.locator("#opportunities tr[data-opportunity]")
        owners = set(rows.evaluate_all("rs => rs.map(r => r.dataset.owner)"))
        assert owners == {STAFF}                         # their own list only
        row = page.locator("#opportunities tr[data-opportunity]:not([data-control])").first
        opportunity = row.get_attribute("data-opportunity")
        with page.expect_response(lambda r: r.url.endswith(f"/{opportunity}/outcome")) as r:
            row.locator("button[name=outcome][value=accepted]").click()
        assert r.value.status == 200
        cell = page.locator(f"tr[data-opportunity='{opportunity}'] [data-field=outcome]")
        cell.filter(has_text="accepted").wait_for()
        stored = site.ws.opportunities.list(site.day, owner=STAFF, include_control=False)
        stored = stored.set_index("opportunity_id")
        assert stored.loc[opportunity, "outcome"] == "accepted"
        assert watch.take() == ([], [])
    finally:
        watch.take()
        page.close()


def test_the_report_opens_offline_and_draws_its_figures(browser, site, tmp_path):
    """`cvm report`'s file, opened from disk with every other request refused: its figures
    draw (plotly.js inlined) with no script error and nothing asked of any host."""
    from cvm.report import write_report

    day = max(site.ws.kpi.months())
    out = write_report(site.ws, day, tmp_path / "report.html", "zh-CN")
    ctx = browser.new_context(viewport=DESKTOP)
    outside: list[str] = []

    def only_the_file(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    ctx.route("**/*", only_the_file)
    watch = Watch()
    page = watch.attach(ctx.new_page())
    page.goto(out.as_uri())
    page.wait_for_selector(".plotly-graph-div .main-svg")
    drawn = page.locator(".plotly-graph-div .main-svg").count()
    ctx.close()
    assert watch.errors == [] and outside == []
    assert drawn >= 7      # the report's seven figures (each draws one or more svg layers)
