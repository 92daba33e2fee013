"""report.json and summary.html of an evidence package: what happened, readable without tools.

summary.html is one self-contained file (inline CSS, no script, no external reference) that
opens from the bag folder in any browser; every text in it is HTML-escaped.
"""

from __future__ import annotations

import html
import json

REPORT_FORMAT = "witness-kiosk-evidence-report/1"
_RESULT_KEYS = ("passed", "ok", "verdict", "result", "status", "outcome")


def _short(obj, limit: int = 240) -> str:
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def steps_from_timeline(events: list[dict]) -> list[dict]:
    """One row per step id seen on the timeline, in order of first appearance."""
    steps: dict[str, dict] = {}
    for ev in events:
        raw = ev.get("data")
        data = raw if isinstance(raw, dict) else {}
        etype = str(ev.get("type", ""))
        key = data.get("step")
        if key is None and etype.startswith("step"):
            key = data.get("id", data.get("index"))
        if key is None:
            continue
        row = steps.setdefault(str(key), {"step": str(key), "first_t": ev.get("t"),
                                          "last_t": ev.get("t"), "events": []})
        row["last_t"] = ev.get("t")
        row["events"].append(etype)
        for k in ("kind", "title", "text"):
            if k in data and k not in row:
                row[k] = _short(data[k], 400)
        for k in _RESULT_KEYS:
            if k in data:
                row["result"] = data[k]
                break
    return list(steps.values())


def summarize_check(name: str, data) -> dict:
    """file name, name and the pass/fail-like field of one checks/*.json."""
    row = {"file": name, "name": name.removesuffix(".json"), "result": None}
    if isinstance(data, dict):
        row["name"] = str(data.get("name", row["name"]))
        for k in _RESULT_KEYS:
            if k in data:
                row["result"] = data[k]
                break
        row["detail"] = _short({k: v for k, v in data.items() if k not in ("name",)}, 600)
    else:
        row["detail"] = _short(data, 600)
    return row


def build_report(*, package_id: str, sealed_at: str, key_id: str, tsa: str, session: dict,
                 applicant: dict, flow: dict, retention: dict, recording: dict | None,
                 timeline: dict, events: list[dict], checks: list[dict], prompts: list[dict],
                 notes: list[str]) -> dict:
    """The machine-readable report that goes into data/report.json."""
    return {
        "format": REPORT_FORMAT,
        "package_id": package_id,
        "sealed_at": sealed_at,
        "signing_key_id": key_id,
        "timestamp_authority": tsa,
        "session": {k: session.get(k) for k in ("id", "locale", "state", "end_reason",
                                                "created_at", "ended_at", "recovered")},
        "applicant": applicant,
        "flow": flow,
        "outcome": {"state": session.get("state"), "end_reason": session.get("end_reason")},
        "retention": retention,
        "recording": recording,
        "timeline": timeline,
        "steps": steps_from_timeline(events),
        "events": [{"seq": e.get("seq"), "t": e.get("t"), "wall": e.get("wall"),
                    "type": e.get("type"), "data": _short(e.get("data", {}))} for e in events],
        "checks": checks,
        "prompts": prompts,
        "notes": notes,
    }


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:12px;word-break:break-all}
.ok{color:#0a6b0a;font-weight:bold}.bad{color:#b00020;font-weight:bold}.muted{color:#777}
"""


def _e(v) -> str:
    if v is None:
        return '<span class="muted">—</span>'
    if not isinstance(v, str):
        v = json.dumps(v, ensure_ascii=False)
    return html.escape(v, quote=True)


def _table(headers: list[str], rows: list[list]) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _kv(pairs: list[tuple[str, object]]) -> str:
    return _table(["field", "value"], [[k, v] for k, v in pairs])


def render_summary_html(report: dict) -> str:
    """A self-contained HTML page of ``report``; all text is escaped."""
    s, f, r, tl = report["session"], report["flow"], report["retention"], report["timeline"]
    state = s.get("state")
    cls = "ok" if state == "finished" else "bad"
    rec = report.get("recording")
    video = ""
    if rec and rec.get("file"):
        # A relative link: works when the page is opened from the bag's data/ folder.
        video = (f'<p><video controls width="480" src="{_e(rec["file"])}"></video></p>')
    parts = [
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">",
        f"<title>Witness evidence {_e(report['package_id'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Witness evidence package <code>{_e(report['package_id'])}</code></h1>",
        f'<p>Outcome: <span class="{cls}">{_e(state)}</span> '
        f"({_e(s.get('end_reason'))})</p>",
        "<h2>Session</h2>",
        _kv([("session id", s.get("id")), ("locale", s.get("locale")),
             ("created", s.get("created_at")), ("ended", s.get("ended_at")),
             ("recovered after a crash", s.get("recovered")),
             ("applicant", report.get("applicant", {}).get("name")),
             ("ID number", report.get("applicant", {}).get("id_number"))]),
        "<h2>Flow</h2>",
        _kv([("flow id", f.get("id")), ("version", f.get("version")),
             ("content hash", f.get("content_hash")),
             ("flow.yaml sha256", f.get("flow_yaml_sha256"))]),
        "<h2>Recording</h2>", video,
        _kv([("file", rec.get("file") if rec else None),
             ("bytes", rec.get("bytes") if rec else None),
             ("sha256", rec.get("sha256") if rec else None)]),
        "<h2>Steps</h2>",
        _table(["step", "kind", "title / text", "from t (s)", "to t (s)", "result", "events"],
               [[st.get("step"), st.get("kind"), st.get("title", st.get("text")),
                 st.get("first_t"), st.get("last_t"), st.get("result"),
                 ", ".join(st.get("events", []))] for st in report["steps"]]),
        "<h2>Checks</h2>",
        _table(["check", "result", "detail"],
               [[c.get("name"), c.get("result"), c.get("detail")] for c in report["checks"]]),
        "<h2>Timeline</h2>",
        _kv([("events", tl.get("events")), ("hash chain", tl.get("chain")),
             ("head hash", tl.get("head"))]),
        _table(["seq", "t (s)", "wall clock", "type", "data"],
               [[e["seq"], e["t"], e["wall"], e["type"], e["data"]] for e in report["events"]]),
        "<h2>Sealing</h2>",
        _kv([("sealed at", report.get("sealed_at")),
             ("signing key id", report.get("signing_key_id")),
             ("timestamp authority", report.get("timestamp_authority")),
             ("retention (years)", r.get("years")), ("retain until", r.get("retain_until")),
             ("legal hold", r.get("legal_hold"))]),
    ]
    if report.get("notes"):
        parts += ["<h2>Notes</h2><ul>"]
        parts += [f"<li>{_e(n)}</li>" for n in report["notes"]]
        parts += ["</ul>"]
    parts.append("<p class=\"muted\">Verify this package with <code>kiosk evidence verify"
                  "</code> and the installation's public key; this page is a summary only."
                  "</p></body></html>")
    return "\n".join(parts)
