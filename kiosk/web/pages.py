"""Pages: the demo start page, the investor's witness page and the guide's prompt audio."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file

from kiosk.errors import LinkError
from kiosk.web.api import Applicant, CreateSession, create_session

bp = Blueprint("pages", __name__)

_PROMPT_FILE = re.compile(r"^([0-9a-f]{64})\.(wav|visemes\.json)$")

MESSAGES = {
    "link_invalid": {
        "zh-CN": ("链接无效", "这个见证链接无效。请使用券商发送给您的完整链接，或联系券商重新获取。"),
        "en": ("Link not valid", "This witness link is not valid. Please use the full link your broker sent you, or ask them for a new one."),
    },
    "link_expired": {
        "zh-CN": ("链接已过期", "为保护您的安全，见证链接只在限定时间内有效。请联系券商获取新的链接。"),
        "en": ("Link expired", "For your security, witness links are valid for a limited time. Please ask your broker for a new link."),
    },
    "link_used": {
        "zh-CN": ("链接已使用", "这个链接已经使用过，不能再次使用。如需重新见证，请联系券商获取新的链接。"),
        "en": ("Link already used", "This link has already been used and cannot be used again. Please ask your broker for a new link if you need to repeat the witness."),
    },
}
DEMO_APPLICANT = {
    "zh-CN": {"name": "张三", "id_number": "110101199003078888"},
    "en": {"name": "Alex Chen", "id_number": "110101199003078888"},
}


def services():
    return current_app.extensions["kiosk"]


def _locale() -> str:
    lang = request.args.get("lang") or request.accept_languages.best_match(["zh-CN", "zh", "en"]) or "zh-CN"
    return "en" if lang.startswith("en") else "zh-CN"


@bp.get("/")
def index():
    return render_template("index.html", demo=services().settings.demo, locale=_locale())


@bp.get("/demo")
def demo():
    """Create a witness for a sample applicant and open its investor link."""
    if not services().settings.demo:
        abort(404)
    locale = _locale()
    body = CreateSession(applicant=Applicant(**DEMO_APPLICANT[locale]), locale=locale,
                         flow_id=request.args.get("flow") or None)
    _row, token = create_session(body)
    return redirect(f"/w/{token}", code=303)


@bp.get("/w/<token>")
def investor(token: str):
    """The witness page. Opening it does not use the link up; joining the witness does."""
    try:
        row = services().store.by_token(token)
    except LinkError as exc:
        # Both languages: we cannot know the investor's language from a bad link.
        locale = _locale()
        other = "en" if locale == "zh-CN" else "zh-CN"
        title, text = MESSAGES[exc.code][locale]
        title2, text2 = MESSAGES[exc.code][other]
        status = 404 if exc.code == "link_invalid" else 410
        return render_template("message.html", title=title, text=text, title2=title2,
                               text2=text2, locale=locale, code=exc.code), status
    flow = services().flows.get(row.flow_id)
    broker = (flow.broker or {}).get(row.locale, "") if getattr(flow, "broker", None) else ""
    resp = current_app.make_response(render_template(
        "investor.html", token=token, locale=row.locale, broker=broker,
        kiosk_mode=bool(request.args.get("kiosk")),
    ))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    resp.headers["Permissions-Policy"] = "camera=(self), microphone=(self)"
    return resp


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
