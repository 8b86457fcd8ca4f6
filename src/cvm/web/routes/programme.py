"""``/programme``: the loyalty programme at a glance: active members by tier, the points
liability by expiry month (as ``cvm programme report liability``), breakage, the month's
earning and burning, and the partners. Read live from the operational database."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from cvm.i18n import translate
from cvm.web.auth import page_user
from cvm.web.render import ANALYSTS, lang_of, page

router = APIRouter(include_in_schema=False)

#: the command that sets a programme up, shown when the workspace has none
SETUP = "cvm programme init --demo"


def members_by_tier(tiers: list[dict], counts: dict) -> list[dict]:
    """Active members per tier (`counts`: tier code -> members), those in no tier first,
    then the tiers lowest first, then any code no tier defines."""
    counts = dict(counts)
    total = sum(counts.values())
    rows = [{"tier": None, "name": None, "members": counts.pop(None, 0)}]
    for t in sorted(tiers, key=lambda t: t["rank"]):
        rows.append({"tier": t["code"], "name": t["name"] or t["code"],
                     "members": counts.pop(t["code"], 0)})
    rows += [{"tier": code, "name": code, "members": n} for code, n in counts.items()]
    for r in rows:
        r["share"] = r["members"] / total if total else None
    return rows


def _programme(ws) -> dict | None:
    prog = ws.programme
    tiers = prog.tiers()
    if not tiers:
        return None
    liability = prog.liability()
    counts = prog.members_by_tier()
    return {"tiers": members_by_tier(tiers, counts), "members": sum(counts.values()),
            "liability": liability,
            "points": sum(r["points"] for r in liability),
            "value": sum(r["value"] for r in liability),
            "breakage": prog.breakage(), "earn_burn": prog.earn_burn(),
            "partners": prog.partners()}


@router.get("/programme")
async def programme(request: Request, user: page_user(*ANALYSTS)):
    ws = request.app.state.workspace
    lang = lang_of(request)
    data = await run_in_threadpool(_programme, ws)
    return page(request, "programme.html", title=translate(lang, "Programme"), data=data,
                setup=SETUP)
