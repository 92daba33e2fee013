"""Pages: the demo start page, the investor's witness page, the branch kiosk page and the guide's
prompt audio."""

from __future__ import annotations

import logging
import re

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
)

from kiosk.cluster.routing import node_prefix
from kiosk.context import current_services
from kiosk.errors import FlowError, LinkError
from kiosk.flows.versions import resolve_flow, session_flow
from kiosk.protocol import DEFAULT_LOCALE, LOCALES, ErrorCode
from kiosk.witness.intake import Applicant, CreateSession, open_witness

log = logging.getLogger(__name__)
bp = Blueprint("pages", __name__)

_PROMPT_FILE = re.compile(r"^([0-9a-f]{64})\.(wav|visemes\.json)$")
# Only a plain hex colour may reach the page's <style>: anything else could inject CSS.
_BRAND_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".webp": "image/webp"}

MESSAGES = {
    "link_invalid": {
        "zh-CN": ("链接无效",
                  "这个见证链接无效。请使用券商发送给您的完整链接，或联系券商重新获取。"),
        "en": ("Link not valid",
               "This witness link is not valid. Please use the full link your broker sent you, "
               "or ask them for a new one."),
    },
    "link_expired": {
        "zh-CN": ("链接已过期",
                  "为保护您的安全，见证链接只在限定时间内有效。请联系券商获取新的链接。"),
        "en": ("Link expired",
               "For your security, witness links are valid for a limited time. "
               "Please ask your broker for a new link."),
    },
    "flow_missing": {
        "zh-CN": ("暂时无法开始见证",
                  "见证脚本暂时不可用，这不是您的原因。请稍后再试，或联系券商。"),
        "en": ("The witness cannot start yet",
               "The witness script is not available right now; this is not your fault. "
               "Please try again later, or contact your broker."),
    },
    "link_used": {
        "zh-CN": ("链接已使用",
                  "这个链接已经使用过，不能再次使用。如需重新见证，请联系券商获取新的链接。"),
        "en": ("Link already used",
               "This link has already been used and cannot be used again. "
               "Please ask your broker for a new link if you need to repeat the witness."),
    },
}
DEMO_APPLICANT = {
    "zh-CN": {"name": "张三", "id_number": "110102199003078888"},
    "en": {"name": "Alex Chen", "id_number": "110102199003078888"},
}


services = current_services  # the blueprint's one way to the server's parts


def _locale() -> str:
    lang = (request.args.get("lang")
            or request.accept_languages.best_match([*LOCALES, "zh"]) or DEFAULT_LOCALE)
    return "en" if lang.startswith("en") else DEFAULT_LOCALE


@bp.get("/")
def index():
    return render_template("index.html", demo=services().settings.demo, locale=_locale())


@bp.get("/demo")
def demo():
    """Create a witness for a sample applicant and open its investor link."""
    if not services().settings.demo:
        abort(404)
    locale = _locale()
    body = CreateSession(applicant=Applicant.model_validate(DEMO_APPLICANT[locale]),
                         locale=locale, flow_id=request.args.get("flow") or None)
    _row, token = open_witness(services(), body)
    return redirect(f"/w/{token}", code=303)


def _branding() -> dict:
    """Broker colour and logo for the page, from settings; the broker name comes from the flow."""
    color = services().settings.brand_color
    if color and not _BRAND_COLOR.match(color):
        current_app.logger.warning("brand_color %r is not a #rrggbb colour; ignored", color)
        color = ""
    logo = services().settings.brand_logo
    return {"brand_color": color, "brand_logo": "/brand/logo" if logo else ""}


def _seconds_arg(name: str, default: float) -> float:
    """A kiosk URL may tune its own timings (?reset=, ?idle=), clamped to 2 s .. 1 h."""
    try:
        value = float(request.args.get(name, default))
    except ValueError:
        value = float(default)
    return min(3600.0, max(2.0, value)) if value == value else float(default)  # NaN: default


def _kiosk_context() -> dict:
    settings = services().settings
    return {
        "kiosk_reset_ms": int(_seconds_arg("reset", settings.kiosk_reset_seconds) * 1000),
        "kiosk_idle_ms": int(_seconds_arg("idle", settings.kiosk_idle_seconds) * 1000),
    }


def _kiosk_self_start() -> bool:
    """The kiosk may start a witness for the next walk-in customer (demo or branch setting)."""
    return bool(services().settings.demo or services().settings.kiosk_self_start)


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    resp.headers["Permissions-Policy"] = "camera=(self), microphone=(self), fullscreen=(self)"
    return resp


def _to_node(node_id: str):
    """With ``node_routing = "path"``: a redirect to this same page under ``node_id``'s
    prefix (``/n/<slug>/...``, kiosk.cluster.routing), or None when the request already
    came through that prefix. The query string goes along; the page is never cached."""
    prefix = node_prefix(node_id)
    if request.script_root == prefix:
        return None
    query = request.query_string.decode("latin-1")
    # 307: the method stays; relative, so it resolves on the balancer's origin.
    resp = redirect(prefix + request.path + (f"?{query}" if query else ""), code=307)
    return _no_store(resp)


@bp.get("/kiosk")
def kiosk_page():
    """The branch touch screen: an attract screen that runs one witness after another.
    Several nodes routed by path: it stays on one node (chosen at its first load), which
    creates and runs its witnesses."""
    cluster = services().cluster
    if (services().settings.node_routing == "path" and cluster is not None
            and not request.script_root):
        return _to_node(cluster.pick_node())
    locale = _locale()
    flow_id = request.args.get("flow") or ""
    try:
        # The version the next witness will run (published, else the file), as /kiosk/next.
        flow = resolve_flow(services(), flow_id or services().settings.default_flow)
    except FlowError:
        abort(404)
    broker = (flow.broker or {}).get(locale, "") if getattr(flow, "broker", None) else ""
    return _no_store(current_app.make_response(render_template(
        "investor.html", token="", locale=locale, broker=broker, kiosk_mode=True,
        base=request.script_root,
        kiosk_start=_kiosk_self_start(), kiosk_flow=flow_id, **_kiosk_context(), **_branding(),
    )))


@bp.post("/kiosk/next")
def kiosk_next():
    """Create the next customer's witness (sample applicant); the kiosk page gets its token."""
    if not _kiosk_self_start():
        abort(404)
    # JSON only: a cross-site page cannot send it without a CORS preflight, which we never allow.
    if not request.is_json:
        return jsonify({"error": "send Content-Type: application/json"}), 415
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        return jsonify({"error": "send a JSON object"}), 400
    requested = data.get("locale")
    locale = requested if isinstance(requested, str) and requested in LOCALES else _locale()
    flow_id = data.get("flow") if isinstance(data.get("flow"), str) and data.get("flow") else None
    try:
        body = CreateSession(applicant=Applicant.model_validate(DEMO_APPLICANT[locale]),
                             locale=locale, flow_id=flow_id)
        _row, token = open_witness(services(), body)
    except (FlowError, ValueError) as exc:
        return jsonify({"error": str(exc)}), 400
    resp = jsonify({"token": token})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/brand/theme.css")
def brand_theme():
    """The broker colour as CSS variables (a file, so the page's CSP needs no inline style)."""
    color = _branding()["brand_color"]
    css = f":root {{ --brand: {color}; --teal: {color}; }}\n" if color else ""
    resp = current_app.make_response(css)
    resp.mimetype = "text/css"
    resp.headers["Cache-Control"] = "max-age=300"
    return resp


@bp.get("/brand/logo")
def brand_logo():
    """The broker's logo file named by the brand_logo setting."""
    logo = services().settings.brand_logo
    if not logo:
        abort(404)
    from pathlib import Path

    path = Path(logo)
    mimetype = _LOGO_TYPES.get(path.suffix.lower())
    if mimetype is None or not path.is_file():
        abort(404)
    return send_file(path, mimetype=mimetype, max_age=3600)


def _message(code: str, status: int):
    """A kind page in both languages: we cannot know the investor's language from the link."""
    locale = _locale()
    other = "en" if locale == "zh-CN" else "zh-CN"
    title, text = MESSAGES[code][locale]
    title2, text2 = MESSAGES[code][other]
    return _no_store(current_app.make_response((render_template(
        "message.html", title=title, text=text, title2=title2, text2=text2, locale=locale,
        code=code), status)))


@bp.get("/w/<token>")
def investor(token: str):
    """The witness page. Opening it does not use the link up; joining the witness does.

    Several nodes routed by path (``node_routing``): served only under the prefix of the
    node the witness runs on (its pin, else the one chosen now: ``Cluster.route_session``);
    any other request for it is redirected there (307)."""
    try:
        row = services().store.by_token(token)
    except LinkError as exc:
        return _message(exc.code, 404 if exc.code == ErrorCode.LINK_INVALID else 410)
    try:
        # The exact version the session was created with: a flow published on the broker page
        # may have no file in flows_dir, and the file may have changed since.
        flow = session_flow(services(), row)
    except FlowError:
        log.error("the session's flow %s v%s is not available", row.flow_id, row.flow_version,
                  extra={"session": row.id})
        return _message("flow_missing", 503)
    cluster = services().cluster
    if services().settings.node_routing == "path" and cluster is not None:
        # ?unreachable=<node slug>: the balancer's relink from a node that did not answer
        # (kiosk.cluster.routing.site_config); it only ever excludes a node.
        moved = _to_node(cluster.route_session(
            row.id, flow, joined=row.state != "created",
            unreachable=request.args.getlist("unreachable")[:8]))
        if moved is not None:
            return moved
    broker = (flow.broker or {}).get(row.locale, "") if getattr(flow, "broker", None) else ""
    kiosk_mode = bool(request.args.get("kiosk"))
    return _no_store(current_app.make_response(render_template(
        "investor.html", token=token, locale=row.locale, broker=broker,
        base=request.script_root,
        kiosk_mode=kiosk_mode, kiosk_start=kiosk_mode and _kiosk_self_start(),
        **_kiosk_context(), **_branding(),
    )))


@bp.get("/media/prompts/<name>")
def prompt_file(name: str):
    """Guide audio and its mouth timeline, by content hash only."""
    m = _PROMPT_FILE.match(name)
    if not m:
        abort(404)
    path = services().settings.tts_cache_dir / name
    if not path.is_file():
        abort(404)
    mimetype = "audio/wav" if m.group(2) == "wav" else "application/json"
    return send_file(path, mimetype=mimetype, max_age=3600)
