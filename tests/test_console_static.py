"""The review console's and the broker page's ES modules: each template loads its entry as a
module and preloads exactly the entry's module graph, nothing is inline, the console's CSP runs
module scripts from 'self' only, and no module sets a global but its documented test hook.

(Every module also parses with node, imports only what exists and loads nothing external:
tests/test_page_static.py reads all of static/.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_page_static import STATIC, module_graph

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "kiosk"
# (template, its entry module, the module folder, the test hook the page sets)
PAGES = [("review/templates/review_case.html", "review.js", "review", "review"),
         ("broker/templates/broker_edit.html", "broker.js", "broker", "broker")]
STATIC_REF = r"\{\{ url_for\('static', filename='([^']+)'\) \}\}"


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(("template", "entry", "folder", "hook"), PAGES)
def test_the_template_loads_the_entry_module_and_preloads_its_graph(template, entry, folder,
                                                                     hook):
    html = _template(template)
    assert re.findall(r'<script type="module" src="' + STATIC_REF + '"></script>', html) == [entry]
    graph = module_graph(entry)
    own = {f"{folder}/{p.name}" for p in (STATIC / folder).glob("*.js")}
    assert len(own) >= 5 and own <= graph, f"modules nothing imports: {own - graph}"
    preloaded = re.findall(r'<link rel="modulepreload" href="' + STATIC_REF + '">', html)
    assert len(preloaded) == len(set(preloaded))
    assert set(preloaded) == graph - {entry}


@pytest.mark.parametrize("template", sorted(
    p.relative_to(TEMPLATES).as_posix()
    for p in [*TEMPLATES.glob("review/templates/*.html"),
              *TEMPLATES.glob("broker/templates/*.html")]))
def test_no_inline_script_and_no_classic_script(template):
    """The console's CSP refuses inline scripts; every script is a module from static/ or the
    page's JSON data."""
    for tag in re.findall(r"<script\b[^>]*>", _template(template)):
        assert (re.fullmatch(r'<script type="module" src="' + STATIC_REF + '">', tag)
                or re.fullmatch(r'<script type="application/json" id="[\w-]+">', tag)), tag


def test_the_console_csp_runs_module_scripts_from_self_only():
    from flask import Flask

    from kiosk.review.auth import security_headers

    app = Flask(__name__)
    with app.test_request_context("/review/"):
        csp = security_headers(app.response_class("")).headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    # No script-src: scripts fall back to default-src, which must be 'self' alone.
    scripts = directives.get("script-src-elem") or directives.get("script-src") \
        or directives["default-src"]
    assert scripts == ["'self'"], csp


GLOBAL = re.compile(r"\bwindow\.([\w$]+)\s*=(?!=)")
COMMENT = re.compile(r"/\*.*?\*/|^[ \t]*//[^\n]*", re.S | re.M)


def _code(name: str) -> str:
    """A module's text without its block comments and whole-line // comments."""
    return COMMENT.sub("", (STATIC / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("template", "entry", "folder", "hook"), PAGES)
def test_no_module_sets_a_global_but_its_test_hook(template, entry, folder, hook):
    set_by = {name: GLOBAL.findall(_code(name)) for name in sorted(module_graph(entry))}
    assert {n: g for n, g in set_by.items() if g} == {f"{folder}/page.js": [hook]}


def test_the_global_check_sees_an_assignment_and_skips_comments():
    js = ("/* window.a = 1 */\n  // window.b = 2\n"
          "window.broker = state;\nif (window.x === 1) window.y=2;")
    assert GLOBAL.findall(COMMENT.sub("", js)) == ["broker", "y"]
