"""Broker page routes: /review/flows (pages) and /review/api/flows (JSON for the editor).

Every route needs the broker_admin role; every POST needs the console's CSRF token and a
same-origin request (kiosk.review.auth.guard), and gets the console's security headers.
"""

from __future__ import annotations

import logging
import random

from flask import (
    Blueprint,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from kiosk.context import current_services
from kiosk.errors import FlowError, GuideError
from kiosk.flows.library import FlowLibrary
from kiosk.flows.loader import analyse_flow, speech_warnings
from kiosk.flows.model import ChallengeStep, Flow, ReadAloudStep
from kiosk.flows.preview import stand_in_variables
from kiosk.flows.source import MAX_FILE_BYTES
from kiosk.flows.templates import TEMPLATE_IDS, TemplateError, from_template
from kiosk.flows.versions import VersionError, check_flow_id, diff_texts
from kiosk.review import auth
from kiosk.review.context import current_review
from kiosk.witness.plan import RETRY_PREFIX, retry_prompt

log = logging.getLogger(__name__)

bp = Blueprint("broker", __name__, url_prefix="/review/flows", template_folder="templates")
api = Blueprint("broker_api", __name__, url_prefix="/review/api/flows")
for _bp in (bp, api):
    _bp.before_request(auth.guard)
    _bp.after_request(auth.security_headers)

ROLE = "broker_admin"


services = current_services  # the blueprint's one way to the server's parts


def registry():
    return services().flow_versions


def _flow_id_or_404(flow_id: str) -> str:
    try:
        return check_flow_id(flow_id)
    except VersionError:
        abort(404)


def _file_text(flow_id: str) -> str | None:
    path = FlowLibrary(services().settings.flows_dir).path_for(flow_id)
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


def _overview() -> list[dict]:
    """Every flow known from flows_dir, published versions or drafts."""
    reg = registry()
    library = services().flows
    ids = sorted(set(library.ids()) | set(reg.flow_ids()) | set(reg.draft_ids()))
    out = []
    for fid in ids:
        file_state = None
        if fid in library.ids():
            try:
                f = library.get(fid)
                file_state = {"valid": True, "version": f.version,
                              "title": f.title.get("en") or f.title[f.locales[0]]}
            except FlowError as exc:
                file_state = {"valid": False, "problems": len(exc.problems)}
        out.append({"id": fid, "file": file_state, "versions": reg.versions(fid),
                    "draft": reg.draft(fid)})
    return out


# --------------------------------------------------------------------------- pages


@bp.get("/")
@auth.require_role(ROLE)
def index(user):
    return render_template("broker_index.html", user=user, flows=_overview(),
                           templates=TEMPLATE_IDS)


@bp.get("/new")
@auth.require_role(ROLE)
def new(user):
    """The template form's target: open the editor on the template under the new id."""
    template, flow_id = request.args.get("template", ""), request.args.get("id", "")
    if template not in TEMPLATE_IDS:
        abort(400, f"unknown template {template[:64]!r}")
    try:
        check_flow_id(flow_id)
    except VersionError as exc:
        abort(400, str(exc))
    return redirect(url_for("broker.edit", flow_id=flow_id, template=template), code=303)


@bp.get("/<flow_id>/edit")
@auth.require_role(ROLE)
def edit(user, flow_id: str):
    flow_id = _flow_id_or_404(flow_id)
    reg = registry()
    template = request.args.get("template")
    origin = None
    text = None
    if template:
        try:
            text, origin = from_template(template, flow_id), f"template {template}"
        except TemplateError as exc:
            abort(400, str(exc))
    if text is None:
        draft = reg.draft(flow_id)
        if draft is not None:
            text, origin = draft["source"], f"draft saved by {draft['saved_by']}"
    if text is None:
        latest = reg.get(flow_id)
        if latest is not None:
            text, origin = latest["source"], f"published version {latest['version']}"
    if text is None:
        text = _file_text(flow_id)
        origin = "file in flows_dir" if text is not None else None
    if text is None:
        abort(404)
    data = {
        "flow_id": flow_id,
        "origin": origin,
        "urls": {
            "check": url_for("broker_api.check"),
            "prompt": url_for("broker_api.prompt"),
            "diff": url_for("broker_api.diff"),
            "publish": url_for("broker_api.publish"),
            "draft": url_for("broker_api.draft"),
            "index": url_for("broker.index"),
        },
        "debounce_ms": 300,
    }
    return render_template(
        "broker_edit.html", user=user, flow_id=flow_id, text=text, origin=origin,
        versions=reg.versions(flow_id),
        data=data)


@bp.get("/<flow_id>/versions/<int:version>")
@auth.require_role(ROLE)
def version_page(user, flow_id: str, version: int):
    flow_id = _flow_id_or_404(flow_id)
    row = registry().get(flow_id, version)
    if row is None:
        abort(404)
    return render_template("broker_version.html", user=user, v=row)


# --------------------------------------------------------------------------- JSON


def _body() -> tuple[str, str]:
    """(flow_id, text) of a JSON request; aborts 400 with a clear message if malformed."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(_bad("send a JSON object with flow_id and text"))
    text = data.get("text")
    try:
        flow_id = check_flow_id(data.get("flow_id"))
    except VersionError as exc:
        abort(_bad(str(exc)))
    if not isinstance(text, str):
        abort(_bad("text must be the flow script as a string"))
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        abort(_bad(f"the script is larger than {MAX_FILE_BYTES} bytes"))
    return flow_id, text


def _bad(message: str, status: int = 400, **extra):
    resp = jsonify({"error": "bad_request" if status == 400 else "conflict",
                    "message": message, **extra})
    resp.status_code = status
    return resp


def _problems(problems) -> list[dict]:
    return [{"line": p.line, "col": p.col, "message": p.message} for p in problems]


def _step_json(flow: Flow, step, locale: str) -> dict:
    out = step.model_dump(mode="json", exclude_none=True)
    out["label"] = step.label(locale)
    return out


def _analyse(flow_id: str, text: str) -> tuple[Flow | None, list]:
    return analyse_flow(f"{flow_id}.yaml", text)


@api.post("/check")
@auth.require_role(ROLE)
def check(user):
    """Validate the posted script: problems and (when it is valid) speech warnings, each
    [{line, col, message}], plus the steps when it is valid."""
    flow_id, text = _body()
    flow, problems = _analyse(flow_id, text)
    out: dict = {"problems": _problems(problems), "valid": flow is not None, "warnings": []}
    if flow is not None:
        # What the guide's voice would say badly: the same warnings as `kiosk flows check`.
        out["warnings"] = _problems(speech_warnings(f"{flow_id}.yaml", text))
        out["locales"] = list(flow.locales)
        out["version"] = flow.version
        out["content_hash"] = flow.content_hash
        out["steps"] = {lc: [_step_json(flow, s, lc) for s in flow.steps] for lc in flow.locales}
    return jsonify(out)


@api.post("/prompt")
@auth.require_role(ROLE)
def prompt(user):
    """Render one step's words with the server's guide voice; the audio's /media URL."""
    flow_id, text = _body()
    data = request.get_json()
    step_id, locale = data.get("step"), data.get("locale")
    attempt = data.get("attempt", 0)
    flow, problems = _analyse(flow_id, text)
    if flow is None:
        return _bad("fix the problems in the script first", problems=_problems(problems))
    if locale not in flow.locales:
        return _bad(f"locale must be one of {', '.join(flow.locales)}")
    try:
        step = flow.step(step_id)
    except FlowError as exc:
        return _bad(str(exc))
    rng = random.Random()
    draw: str | list[str] | None = None
    extra: dict = {}
    if isinstance(step, ReadAloudStep):
        draw = flow.draw_read_aloud(step, locale, rng)
        extra["read_text"] = flow.reading_text(step, locale, stand_in_variables(flow, locale),
                                               draw)
    elif isinstance(step, ChallengeStep):
        draw = flow.draw_challenges(step, rng)
        extra["challenges"] = draw
    spoken = flow.prompt_text(step, locale, stand_in_variables(flow, locale), draw=draw)
    # What the voice says: variables by their readings, then normalised (kiosk.guide.normalise).
    said = flow.prompt_text(step, locale, stand_in_variables(flow, locale), draw=draw,
                            spoken=True)
    if isinstance(attempt, int) and attempt > 0 and locale in RETRY_PREFIX:
        spoken, retried = retry_prompt(spoken, said, locale)
        said = retried or ""
    if not spoken.strip():
        return jsonify({"step": step.id, "text": "", "url": None, "duration": 0, **extra})
    try:
        rendered = services().guide.render(spoken, locale, spoken=said or None)
    except GuideError as exc:
        log.warning("broker page: guide could not render a prompt: %s", exc)
        return _bad(f"the guide voice failed: {exc}", status=503)
    return jsonify({
        "step": step.id, "text": spoken, "spoken": rendered.spoken, "sha256": rendered.sha256,
        "duration": round(rendered.duration, 3),
        "url": f"/media/prompts/{rendered.sha256}.wav",
        "visemes_url": f"/media/prompts/{rendered.sha256}.visemes.json",
        **extra,
    })


@api.post("/diff")
@auth.require_role(ROLE)
def diff(user):
    """The diff from the currently published version to the posted text."""
    flow_id, text = _body()
    current = registry().get(flow_id)
    flow, problems = _analyse(flow_id, text)
    base = current["source"] if current else ""
    label = f"{flow_id}@{current['version']} (published)" if current else "(nothing published)"
    return jsonify({
        "published": {k: v for k, v in current.items() if k != "source"} if current else None,
        "base_hash": current["content_hash"] if current else None,
        "diff": diff_texts(base, text, label, f"{flow_id} (this edit)"),
        "valid": flow is not None,
        "problems": _problems(problems),
        "version": flow.version if flow else None,
    })


@api.post("/publish")
@auth.require_role(ROLE)
def publish(user):
    """Publish the posted text, if the published version is still the one the diff showed."""
    flow_id, text = _body()
    data = request.get_json()
    base_hash = data.get("base_hash")
    reg = registry()
    current = reg.get(flow_id)
    if (current["content_hash"] if current else None) != base_hash:
        return _bad("someone published this flow since you looked at the diff; review the "
                    "new diff before publishing", status=409)
    flow, problems = _analyse(flow_id, text)
    if flow is None:
        return _bad("the script has problems; fix them before publishing",
                    problems=_problems(problems))
    if flow.id != flow_id:  # the loader reports this too; kept for clarity
        return _bad(f"the script's id is {flow.id!r}, not {flow_id!r}")
    try:
        result = reg.publish(text, user["name"], file_name=f"{flow_id}.yaml")
    except VersionError as exc:
        return _bad(str(exc), status=409, problems=_problems(exc.problems))
    if result.created:
        try:
            current_review().audit(user, "flow_publish", None,
                                   {"flow": flow_id, "version": flow.version,
                                    "sha256": result.version["content_hash"]},
                                   request.remote_addr or "")
        except Exception:  # the version is published either way; the log says the rest
            log.exception("could not write the publish audit entry")
    return jsonify({"version": result.version, "created": result.created})


@api.post("/draft")
@auth.require_role(ROLE)
def draft(user):
    """Save the text as this flow's draft (valid or not); never used by a witness."""
    flow_id, text = _body()
    registry().save_draft(flow_id, text, user["name"])
    return jsonify({"saved": True, "draft": registry().draft(flow_id) | {"source": None}})


@api.get("/<flow_id>/versions")
@auth.require_role(ROLE)
def versions(user, flow_id: str):
    flow_id = _flow_id_or_404(flow_id)
    return jsonify({"flow_id": flow_id, "versions": registry().versions(flow_id)})


@api.get("/<flow_id>/versions/<int:version>")
@auth.require_role(ROLE)
def version_json(user, flow_id: str, version: int):
    flow_id = _flow_id_or_404(flow_id)
    row = registry().get(flow_id, version)
    if row is None:
        return jsonify({"error": "not_found", "message": f"{flow_id}@{version} is not "
                        "published"}), 404
    return jsonify(row)
