"""The Chinese catalogue holds every message the code and the page templates show: the
messages are extracted with Babel (``translate(lang, "...")`` and ``_("...")`` in Python,
``_("...")`` in the Jinja2 templates) and each must have a translation; the labels the
pages look up from data (navigation, roles, tiers, statuses, segments) are listed here."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

import cvm
from cvm.i18n import catalogue
from cvm.users import ROLES
from cvm.web.render import NAV, TIER_LABELS

SRC = Path(cvm.__file__).parent

#: labels the pages pass to the catalogue from data, not as literals
DATA_LABELS = {*ROLES, *(n.label for n in NAV), *TIER_LABELS.values(),
               "green", "amber", "red", "no_data", "no_target",
               "consumer", "business", "channel", "internal"}


def _extracted() -> dict[str, str]:
    found = {}
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
    keywords = {"_": None, "translate": (2,)}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            SRC, method_map, keywords=keywords, options_map={}):
        if isinstance(message, tuple):
            message = message[0]
        if message:
            found.setdefault(message, filename)
    return found


def test_extraction_sees_the_templates_and_the_code():
    found = _extracted()
    assert found["Pareto value tiers"].endswith("value.html")     # a template
    assert found["Share of customers"].endswith("value.py")       # route code


def test_every_message_has_a_chinese_translation():
    zh = catalogue("zh-CN")
    missing = sorted(f"{m!r} ({where})" for m, where in _extracted().items() if m not in zh)
    missing += sorted(repr(m) for m in DATA_LABELS if m not in zh)
    assert not missing, "no zh-CN translation for:\n" + "\n".join(missing)


def test_translations_keep_the_fields_they_fill_in():
    import string

    zh = catalogue("zh-CN")
    fmt = string.Formatter()
    bad = [m for m, t in zh.items()
           if {f for _, f, _, _ in fmt.parse(m) if f} != {f for _, f, _, _ in fmt.parse(t) if f}]
    assert not bad, bad
