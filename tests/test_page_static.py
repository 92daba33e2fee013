"""The investor page's static files: JS syntax and module links, i18n completeness, template,
avatar maths, and the page in chromium (served over http with the server's CSP)."""

from __future__ import annotations

import contextlib
import json
import mimetypes
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import jinja2
import pytest

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "static"
TEMPLATES = REPO / "kiosk" / "web" / "templates"
# The investor page's own ES modules (the entry and static/investor/), and every module in
# static/ but the vendored Socket.IO client: the console's review.js and the broker's
# broker.js with their folders, and i18n.js and avatar.js, shared with the broker's editor.
PAGE_MODULES = ["investor.js",
                *sorted(f"investor/{p.name}" for p in (STATIC / "investor").glob("*.js"))]
JS_FILES = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*.js")
                  if "vendor" not in p.relative_to(STATIC).parts)
NODE = shutil.which("node") or shutil.which("nodejs")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (Debian: nodejs)")

TEST_IDS = ["start", "subtitle", "progress", "error-message", "retry", "done", "cancel",
            "tap-to-continue", "avatar-wrap", "lang-switch", "listening", "countdown"]


def page_js() -> str:
    """The text of every module of the investor page."""
    return "\n".join((STATIC / name).read_text(encoding="utf-8") for name in PAGE_MODULES)


def declaration(js: str, name: str) -> str:
    """The value of ``[export] const|var|let NAME = ...;`` in the page's script."""
    m = re.search(rf"\b(?:const|var|let)\s+{name}\s*=(.*?);", js, re.S)
    assert m, f"{name} is not declared in the page's modules"
    return m.group(1)


@pytest.fixture(scope="module")
def esm_dir(tmp_path_factory) -> Path:
    """A copy of static/ that node reads as ES modules (a package.json with type: module)."""
    if NODE is None:
        pytest.skip("node is not installed (Debian: nodejs)")
    dest = tmp_path_factory.mktemp("esm") / "static"
    shutil.copytree(STATIC, dest, ignore=shutil.ignore_patterns("vendor"))
    (dest / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
    return dest


def run_node(esm: Path, script: str) -> str:
    """Run an ES module script with the copy of static/ as cwd and return its stdout."""
    proc = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=esm,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def render(**overrides) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    ctx = {"token": "tok-123", "locale": "zh-CN", "broker": "Demo Securities", "kiosk_mode": False}
    ctx.update(overrides)
    return env.get_template("investor.html").render(**ctx)


@pytest.fixture(scope="module")
def strings(esm_dir) -> dict[str, dict[str, str]]:
    out = run_node(esm_dir, "import { STRINGS } from './i18n.js';"
                            "process.stdout.write(JSON.stringify(STRINGS))")
    return json.loads(out)


@needs_node
@pytest.mark.parametrize("name", JS_FILES)
def test_js_parses_as_a_module(name, esm_dir):
    proc = subprocess.run([NODE, "--check", str(esm_dir / name)], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


@needs_node
def test_a_syntax_error_in_a_module_is_caught(esm_dir):
    """node --check reads a .js file without a package.json as CommonJS, or may not check
    module syntax at all: the copy's package.json makes it parse the files as modules."""
    bad = esm_dir / "bad_module.js"
    bad.write_text("import { x } from './i18n.js';\nexport const = 1;\n", encoding="utf-8")
    try:
        proc = subprocess.run([NODE, "--check", str(bad)], capture_output=True, text=True,
                              timeout=30)
    finally:
        bad.unlink()
    assert proc.returncode != 0 and "SyntaxError" in proc.stderr


IMPORT = re.compile(r'^import\s+(?:\{([^}]*)\}|\*\s+as\s+\w+)\s+from\s+"([^"]+)";', re.M)
EXPORT = re.compile(r"^export\s+(?:function|const|let|var)\s+([\w$]+)|^export\s+\{([^}]*)\}", re.M)


def module_links(name: str) -> list[tuple[str, list[str]]]:
    """(the imported file relative to static/, the names imported) for each import of name."""
    text = (STATIC / name).read_text(encoding="utf-8")
    base = Path(name).parent
    links = []
    for names, target in IMPORT.findall(text):
        path = (base / target).as_posix()
        parts: list[str] = []
        for part in path.split("/"):
            if part == "..":
                parts.pop()
            elif part != ".":
                parts.append(part)
        links.append(("/".join(parts), [n.strip() for n in names.split(",") if n.strip()]))
    return links


def module_exports(name: str) -> set[str]:
    text = (STATIC / name).read_text(encoding="utf-8")
    out = set()
    for single, group in EXPORT.findall(text):
        out |= {single} if single else {n.strip() for n in group.split(",") if n.strip()}
    return out


def module_graph(entry: str) -> set[str]:
    seen, todo = set(), [entry]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [target for target, _ in module_links(name)]
    return seen


@pytest.mark.parametrize("name", JS_FILES)
def test_every_import_names_an_export_of_an_existing_module(name):
    """A wrong import is a SyntaxError at link time: the page would never start."""
    for target, names in module_links(name):
        assert (STATIC / target).is_file(), f"{name} imports {target}, which does not exist"
        missing = set(names) - module_exports(target)
        assert missing == set(), f"{name} imports {sorted(missing)} that {target} does not export"


def test_the_page_loads_and_preloads_exactly_its_module_graph():
    graph = module_graph("investor.js")
    assert set(PAGE_MODULES) <= graph, f"modules nothing imports: {set(PAGE_MODULES) - graph}"
    html = render()
    assert re.findall(r'<script type="module" src="/static/([^"]+)"', html) == ["investor.js"]
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/([^"]+)"', html))
    assert preloaded == graph - {"investor.js"}
    # The Socket.IO client stays a classic script that runs before the modules.
    assert re.findall(r"<script src=\"/static/([^\"]+)\"", html) == ["vendor/socket.io.min.js"]


def test_both_languages_have_the_same_keys(strings):
    assert set(strings) == {"zh-CN", "en"}
    zh, en = strings["zh-CN"], strings["en"]
    assert sorted(set(zh) ^ set(en)) == []
    for key in zh:
        assert zh[key].strip() and en[key].strip(), f"empty string for {key}"
        ph_zh = set(re.findall(r"\{(\w+)\}", zh[key]))
        ph_en = set(re.findall(r"\{(\w+)\}", en[key]))
        assert ph_zh == ph_en, f"{key}: placeholders differ: {ph_zh} vs {ph_en}"


def test_every_key_the_page_uses_exists(strings):
    html = (TEMPLATES / "investor.html").read_text(encoding="utf-8")
    js = page_js()
    used = set(re.findall(r'data-i18n(?:-aria)?="([^"]+)"', html))
    # Every "prefix.name" string literal in the script whose prefix is an i18n section.
    sections = {k.split(".")[0] for k in strings["en"]}
    literals = re.findall(r'"([a-z]+)\.([a-z_]+)"', js)
    used |= {f"{a}.{b}" for a, b in literals if a in sections}
    # Error codes reach t() as "error." + code: collect every code the page can show.
    codes = set(re.findall(r'(?:showError|fatal)\("([a-z_]+)"', js))
    codes |= set(re.findall(r'"([a-z_]+)"', declaration(js, "DEVICE_ERRORS")))
    codes |= set(re.findall(r'"([a-z_]+)"', declaration(js, "LINK_ERRORS")))
    codes |= set(re.findall(r'"([a-z_]+)"', declaration(js, "BUSY_ERRORS")))
    codes -= {k for k in codes if k[0].isupper()}
    used |= {"error." + c for c in codes}
    reasons = set(re.findall(r'"([a-z_]+)"', declaration(js, "ABORT_REASONS")))
    used |= {"aborted." + r for r in reasons} | {"aborted.unknown"}
    assert {"error.permission_denied", "error.link_used", "aborted.cancelled",
            "error.title_device", "witness.progress"} <= used
    for locale, table in strings.items():
        missing = sorted(k for k in used if k not in table)
        assert missing == [], f"{locale} lacks {missing}"


def test_every_server_error_code_has_a_message(strings):
    from kiosk.protocol import SOFT_ERRORS, ErrorCode

    # The codes of the `error` event (but the soft ones: the page shows nothing for them, the
    # witness goes on), plus the page's own.
    shown = set(ErrorCode) - SOFT_ERRORS
    assert {"link_invalid", "witness_busy", "server_busy", "unsupported_browser"} <= shown
    for code in sorted(shown) + ["permission_denied", "no_camera", "camera_in_use",
                                 "unsupported", "connection_lost", "aborted"]:
        for locale in ("zh-CN", "en"):
            assert "error." + code in strings[locale], (locale, code)


def test_every_abort_reason_of_the_server_has_a_message(strings):
    from kiosk.session import ABORT_REASONS

    shown = set(re.findall(r'"([a-z_]+)"', declaration(page_js(), "ABORT_REASONS")))
    assert ABORT_REASONS <= shown, ABORT_REASONS - shown
    for locale in ("zh-CN", "en"):
        assert {"aborted." + r for r in ABORT_REASONS} <= set(strings[locale]), locale


def test_client_error_codes_are_ones_the_server_accepts():
    from kiosk.protocol import ClientErrorCode

    js = page_js()
    sent = set(re.findall(r'emit\("client_error", \{ code: "([a-z_]+)" \}\)', js))
    sent |= {"media_error" if c == "device_error" else c
             for c in re.findall(r'"([a-z_]+)"', declaration(js, "DEVICE_ERRORS"))}
    assert sent >= {"permission_denied", "no_camera", "camera_in_use", "media_error"}
    assert sent <= set(ClientErrorCode), sent - set(ClientErrorCode)


@needs_node
def test_i18n_fills_placeholders_and_normalises_locale(esm_dir):
    out = run_node(
        esm_dir,
        "import * as i from './i18n.js';"
        "console.log(JSON.stringify([i.t('en', 'witness.progress', {current: 2, total: 5}),"
        " i.t('zh', 'witness.progress', {current: 2, total: 5}), i.normalizeLocale('en-GB'),"
        " i.normalizeLocale('fr')]))")
    assert json.loads(out) == ["Step 2 of 5", "第 2 步，共 5 步", "en", "zh-CN"]


@needs_node
def test_the_pages_retry_opens_the_plain_link_not_the_nodes_address(esm_dir):
    out = run_node(
        esm_dir,
        "import { plainLink } from './investor/links.js';"
        "console.log(JSON.stringify(["
        " plainLink('/n/node-b', 'tok_1', '?unreachable=node-a&lang=en'),"
        " plainLink('/n/h_5002', 'tok_1', ''),"
        " plainLink('', 'tok_1', '?lang=en'),"
        " plainLink('/kiosk-app/n/node-a', 'a/b', '?unreachable=x&unreachable=y')]))")
    assert json.loads(out) == ["/w/tok_1?lang=en", "/w/tok_1", "/w/tok_1?lang=en",
                               "/kiosk-app/w/a%2Fb"]


@needs_node
def test_avatar_interpolates_the_viseme_timeline(esm_dir):
    out = run_node(
        esm_dir,
        "import * as a from './avatar.js';"
        "const p = a.normalizeTimeline([[0.2, 1], [0, 0], [0.4, 0], ['x', 1], [0.3, 7]]);"
        "console.log(JSON.stringify({p, v: [a.interpolate(p, 0.1), a.interpolate(p, 0.25),"
        " a.interpolate(p, 0.2), a.interpolate(p, -1), a.interpolate(p, 0.5),"
        " a.interpolate([], 0.1)]}))")
    res = json.loads(out)
    assert res["p"] == [[0, 0], [0.2, 1], [0.3, 1], [0.4, 0]]
    assert res["v"] == pytest.approx([0.5, 1.0, 1.0, 0, 0, 0])


def test_template_renders_with_hooks_and_escapes_context():
    html = render(broker='<script>alert(1)</script>', token='"><img src=x>', locale="en",
                  kiosk_mode=True)
    for test_id in TEST_IDS:
        assert f'data-testid="{test_id}"' in html, test_id
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert '"><img' not in html
    assert 'data-kiosk-mode="true"' in html and 'data-locale="en"' in html and 'lang="en"' in html
    assert 'data-kiosk-mode="false"' in render()


def test_no_external_assets_and_no_html_injection():
    html = render()
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert src.startswith("/static/") or src.startswith("data:"), src
    for name in JS_FILES + ["investor.css"]:
        text = (STATIC / name).read_text(encoding="utf-8")
        urls = re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)
        assert [u for u in urls if "www.w3.org/2000/svg" not in u] == [], name
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", text), name


def serve_page(page, html: str) -> str:
    """Serve ``html`` at ``/`` of an http origin under the server's CSP, and static/ under
    ``/static/``; return the page's URL.

    Module scripts never load from file:// (the page's origin would be null). Requests are
    answered by the browser's request routing: nothing listens on the port, so the page's
    socket cannot connect.
    """
    from kiosk.testing.server import free_port
    from kiosk.web.guard import CSP

    origin = f"http://127.0.0.1:{free_port()}"
    root = STATIC.resolve()
    headers = {"Content-Security-Policy": CSP.format(ws=""), "X-Content-Type-Options": "nosniff"}

    def handle(route):
        path = urllib.parse.urlsplit(route.request.url).path
        if path == "/":
            route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8",
                          headers=headers)
            return
        file = (root / path.removeprefix("/static/")).resolve()
        if path.startswith("/static/") and file.is_file() and file.is_relative_to(root):
            route.fulfill(status=200, body=file.read_bytes(), headers=headers,
                          content_type=mimetypes.guess_type(file.name)[0] or "text/plain")
            return
        route.fulfill(status=404, body="not found", content_type="text/plain")

    page.route(origin + "/**", handle)
    return origin + "/"


@pytest.mark.browser
def test_page_without_server_shows_kind_connection_error(tmp_path):
    """Real chromium on the rendered page, under the CSP: no server, so a connection error."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import watch

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            seen = watch(page)
            page.goto(serve_page(page, render()))
            page.wait_for_function("() => window.kiosk && window.kiosk.phase === 'error'",
                                   timeout=15000)
            assert page.evaluate("kiosk.lastError") == "connection_failed"
            assert "暂时无法连接" in page.text_content("[data-testid=error-message]")
            assert page.is_visible("[data-testid=retry]")
            assert page.get_attribute("[data-testid=avatar]", "data-mouth") == "0.000"
            page.click("[data-testid=lang-switch]")
            assert page.text_content("[data-testid=error-message]").startswith(
                "We cannot reach the witness service")
            problems = seen.problems()
            # The only error: the socket's failed connection, which is what this test makes.
            refused = problems.pop("console", [])
            assert refused and all("WebSocket connection" in e for e in refused), refused
            assert problems == {}
        finally:
            browser.close()


def test_every_framing_hint_has_text_in_both_languages(strings):
    codes = re.findall(r'"([a-z_]+)"', declaration(page_js(), "HINT_CODES"))
    assert set(codes) == {"closer", "further", "more_light", "face_in_frame", "one_person",
                          "turn_more", "card_corners", "card_closer", "card_still",
                          "card_glare", "card_turn"}
    for locale, table in strings.items():
        assert [c for c in codes if f"hint.{c}" not in table] == [], locale


def test_every_card_side_has_words_in_both_languages(strings):
    from typing import get_args

    from kiosk.flows.model import CARD_SIDES, CardSideName
    from kiosk.witness.id_card import SIDES

    sides = re.findall(r'"([a-z_]+)"', declaration(page_js(), "CARD_SIDES"))
    # The page's list is the flow model's, in the same order, and the card reader's.
    assert tuple(sides) == CARD_SIDES == get_args(CardSideName) == SIDES
    for locale, table in strings.items():
        assert "card.now" in table, locale
        assert [s for s in sides if f"card.side.{s}" not in table] == [], locale


def test_every_liveness_action_has_words_in_both_languages(strings):
    from kiosk.flows.model import CHALLENGES

    for locale, table in strings.items():
        assert sorted(c for c in CHALLENGES if f"challenge.{c}" not in table) == [], locale


def test_kiosk_and_branding_attributes_render():
    html = render(token="", kiosk_mode=True, kiosk_start=True, kiosk_flow="quick",
                  kiosk_reset_ms=2000, kiosk_idle_ms=5000, brand_color="#aa0033",
                  brand_logo="/brand/logo")
    for attr in ('data-kiosk-start="true"', 'data-kiosk-flow="quick"',
                 'data-kiosk-reset-ms="2000"', 'data-kiosk-idle-ms="5000"',
                 'href="/brand/theme.css"',
                 'src="/brand/logo"', 'data-testid="attract-start"', 'data-testid="kiosk-finish"',
                 'data-testid="frame-hint"', 'data-testid="check-camera"',
                 'data-testid="check-mic"', 'data-testid="check-connection"'):
        assert attr in html, attr
    plain = render()
    assert "/brand/theme.css" not in plain and "/brand/logo" not in plain
    assert 'data-kiosk-start="false"' in plain


@pytest.mark.browser
def test_kiosk_page_without_a_token_waits_on_the_attract_screen(tmp_path):
    """No token in kiosk mode: the attract screen, no connection attempt, staff message only."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import watch

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1080, "height": 1920})
            seen = watch(page)
            page.goto(serve_page(page, render(token="", kiosk_mode=True, kiosk_start=False)))
            page.wait_for_function("() => window.kiosk && window.kiosk.phase === 'attract'",
                                   timeout=15000)
            assert page.evaluate("kiosk.lastError") is None
            assert not page.is_visible("[data-testid=attract-start]")
            assert page.is_visible("#attract-staff")
            assert page.evaluate("document.documentElement.classList.contains('kiosk')")
            page.click("[data-testid=lang-switch]")
            assert "staff" in page.text_content("#attract-staff")
            assert seen.problems() == {}
            # The policy is in force and the watch sees what it blocks: an inline script.
            page.evaluate("""() => { const s = document.createElement('script');
                                     s.textContent = 'window.inlineRan = true';
                                     document.body.appendChild(s); }""")
            page.wait_for_function("() => window.__cspViolations.length > 0", timeout=5000)
            assert page.evaluate("() => window.inlineRan") is None
            assert seen.csp_violations() == ["script-src-elem inline"]
        finally:
            browser.close()


# A stand-in for the Socket.IO client: records what the page sends and lets the test deliver
# server events to the page's handlers.
FAKE_SOCKET = """
window.io = function () {
  var handlers = {};
  var socket = {
    connected: true, sent: [],
    on: function (name, fn) { handlers[name] = fn; return socket; },
    onAny: function () { return socket; },
    emit: function (name, data) { socket.sent.push([name, data]); return socket; },
    close: function () {}, disconnect: function () {},
    deliver: function (name, data) { if (handlers[name]) handlers[name](data); }
  };
  window.fakeSocket = socket;
  setTimeout(function () { socket.deliver("connect"); }, 0);
  return socket;
};
"""


@pytest.mark.browser
@contextlib.contextmanager
def fake_socket_page():
    """The investor page in headless Chromium with a fake Socket.IO (FAKE_SOCKET), once it has
    sent its join: yields (page, problems watcher). Skips without playwright or chromium."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import watch

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    html = render(locale="en").replace('<script src="/static/vendor/socket.io.min.js"></script>',
                                       "")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()
            seen = watch(page)
            page.add_init_script(FAKE_SOCKET)
            page.goto(serve_page(page, html))
            page.wait_for_function("() => window.fakeSocket && fakeSocket.sent.length > 0",
                                   timeout=15000)
            yield page, seen
        finally:
            browser.close()


def test_the_page_shows_the_liveness_action_due_now(tmp_path):
    """challenge / challenge_result from the server: which action is due, then a tick."""
    with fake_socket_page() as (page, seen):
        assert page.evaluate("fakeSocket.sent[0][0]") == "join"

        def deliver(name, data):
            page.evaluate("([n, d]) => fakeSocket.deliver(n, d)", [name, data])

        deliver("joined", {"session_id": "s1", "locale": "en", "steps": [
            {"id": "live", "kind": "challenge", "title": "Liveness"}], "ice_servers": []})
        deliver("step", {"index": 0, "total": 1, "id": "live", "kind": "challenge",
                         "title": "Liveness", "text": "Please blink. Please nod.",
                         "prompt": None, "seq": 1, "attempt": 0,
                         "challenges": ["blink", "nod"], "reading_seconds": 3.0})
        assert page.evaluate("kiosk.phase") == "witness"
        assert not page.is_visible("[data-testid=challenge]")
        deliver("challenge", {"step": "live", "name": "blink", "index": 0, "total": 2})
        assert page.text_content("[data-testid=challenge]") == "Action 1 of 2: blink"
        assert page.get_attribute("[data-testid=challenge]", "data-state") == "waiting"
        deliver("challenge_result", {"step": "live", "name": "blink", "passed": True})
        assert page.text_content("[data-testid=challenge]") == "✓ Done: blink"
        assert page.get_attribute("[data-testid=challenge]", "data-state") == "passed"
        deliver("challenge", {"step": "live", "name": "nod", "index": 1, "total": 2})
        assert page.text_content("[data-testid=challenge]") == "Action 2 of 2: nod"
        # Its time ran out: the action goes away (the guide says what comes next).
        deliver("challenge_result", {"step": "live", "name": "nod", "passed": False})
        assert not page.is_visible("[data-testid=challenge]")
        # Names the page does not know are ignored, not shown.
        deliver("challenge", {"step": "live", "name": "<b>x</b>", "index": 0, "total": 1})
        assert page.evaluate("kiosk.challenge") is None
        # A prompt without audio is shown for the server's reading time, then reported.
        page.wait_for_function(
            "() => fakeSocket.sent.some(m => m[0] === 'prompt_ended' && m[1].seq === 1)",
            timeout=15000)
        page.click("[data-testid=lang-switch]")
        deliver("challenge", {"step": "live", "name": "nod", "index": 0, "total": 1})
        assert page.text_content("[data-testid=challenge]") == "动作 1/1：点点头"
        assert seen.problems() == {}


def test_an_id_card_window_does_not_ask_for_an_answer(tmp_path):
    """window_open of kind "observe" (the card held up): no "Please answer now", no countdown;
    an answer window still shows both."""
    with fake_socket_page() as (page, seen):

        def deliver(name, data):
            page.evaluate("([n, d]) => fakeSocket.deliver(n, d)", [name, data])

        deliver("joined", {"session_id": "s1", "locale": "en", "steps": [
            {"id": "card", "kind": "id_document", "title": "ID card"},
            {"id": "ok", "kind": "question", "title": "Consent"}], "ice_servers": []})
        deliver("step", {"index": 0, "total": 2, "id": "card", "kind": "id_document",
                         "title": "ID card", "text": "Hold up your ID card.",
                         "prompt": None, "seq": 1, "attempt": 0, "challenges": [],
                         "reading_seconds": 1.0})
        deliver("window_open", {"step": "card", "seconds": 16, "kind": "observe",
                                "seq": 1})
        deliver("card_side", {"step": "card", "side": "front", "index": 0, "total": 2})
        page.wait_for_timeout(400)  # the countdown's timer has ticked
        assert not page.is_visible("[data-testid=listening]")
        assert page.text_content("[data-testid=countdown]") == ""
        assert "Please answer now" not in page.inner_text("body")
        assert (page.text_content("[data-testid=challenge]")
                == "Card 1 of 2: show the photo side")
        assert page.evaluate("document.getElementById('witness-frame')"
                             ".classList.contains('is-card')")
        # The window closed: the card is read from the frames seen, and the page says so
        # instead of asking for the card until the result (#16 retest M-2).
        deliver("window_close", {"step": "card", "seq": 1})
        assert (page.text_content("[data-testid=challenge]")
                == "Reading the card… you can lower it now")
        assert page.get_attribute("[data-testid=challenge]", "data-state") == "reading"
        assert not page.evaluate("document.getElementById('witness-frame')"
                                 ".classList.contains('is-card')")
        deliver("step", {"index": 1, "total": 2, "id": "ok", "kind": "question",
                         "title": "Consent", "text": "Do you agree?", "prompt": None,
                         "seq": 2, "attempt": 0, "challenges": [],
                         "reading_seconds": 1.0})
        deliver("window_open", {"step": "ok", "seconds": 6, "kind": "answer", "seq": 2})
        page.wait_for_timeout(400)
        assert page.is_visible("[data-testid=listening]")
        assert page.text_content("[data-testid=countdown]").strip() != ""
        assert seen.problems() == {}


def test_no_face_hint_stays_up_or_comes_during_an_id_card_step(tmp_path):
    """A face hint shown before the card step is taken down with the face oval, and a face
    hint during the step is not shown; a card hint is (#16 retest t16d M-1: "move your face
    into the oval" stayed under the card frame for 3-4 s)."""
    with fake_socket_page() as (page, seen):

        def deliver(name, data):
            page.evaluate("([n, d]) => fakeSocket.deliver(n, d)", [name, data])

        def hint():
            return page.evaluate("(() => { const n = document.getElementById('frame-hint');"
                                 " return n.hidden ? '' : n.getAttribute('data-code'); })()")

        deliver("joined", {"session_id": "s1", "locale": "en", "steps": [
            {"id": "hello", "kind": "say", "title": "Hello"},
            {"id": "card", "kind": "id_document", "title": "ID card"}], "ice_servers": []})
        deliver("step", {"index": 0, "total": 2, "id": "hello", "kind": "say", "title": "Hello",
                         "text": "Hello.", "prompt": None, "seq": 1, "attempt": 0,
                         "challenges": [], "reading_seconds": 1.0})
        deliver("hint", {"code": "face_in_frame"})
        assert hint() == "face_in_frame"
        deliver("step", {"index": 1, "total": 2, "id": "card", "kind": "id_document",
                         "title": "ID card", "text": "Hold up your ID card.", "prompt": None,
                         "seq": 2, "attempt": 0, "challenges": [], "reading_seconds": 1.0})
        assert hint() == ""
        deliver("hint", {"code": "face_in_frame"})
        assert hint() == ""
        deliver("hint", {"code": "card_turn"})
        assert hint() == "card_turn"
        assert seen.problems() == {}


def test_device_refusals_of_the_server_ask_for_the_devices_again():
    """A server ``no_camera`` was shown as "try again" (bad_offer), which cannot help: like
    ``no_microphone``, it shows its own message and the retry asks for the devices again."""
    js = (STATIC / "investor" / "socket.js").read_text(encoding="utf-8")
    handled = re.search(r'if \((code === "[a-z_]+"(?: \|\| code === "[a-z_]+")*)\) \{\s*'
                        r'//[^\n]*\n\s*closePc\(\);\s*stopStream\(\);\s*'
                        r'showError\(code, startDevices\);', js)
    assert handled, "socket.js has no device-refusal branch"
    codes = set(re.findall(r'"([a-z_]+)"', handled.group(1)))
    assert codes == {"no_camera", "no_microphone"}
    rtc = (STATIC / "investor" / "rtc.js").read_text(encoding="utf-8")
    assert 'emit("client_error", { code: "no_camera" });' in rtc
