"""Review console: dispatch, pre-review, login, roles, CSRF, decisions in the ledger.

Real SQLite, real argon2, real Ed25519 signatures, real sealed packages (PyAV WebM, espeak-ng
prompts, a TimelineWriter timeline), and Flask's test client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
import sqlite3

import pytest
from click.testing import CliRunner

from kiosk.config import load_settings
from kiosk.evidence import verify_package
from kiosk.review import dispatch as d
from kiosk.review.accounts import add_user
from kiosk.review.console import register
from kiosk.review.decisions import DecisionError, validate, verify_record
from kiosk.review.prereview import RULES, build_prereview, rule
from kiosk.review.sample import make_sealed_case
from kiosk.web.app import create_app
from tests.databases import both_databases

PW = "correct horse battery"
ID_NUMBER = "110102199003078888"
T0 = dt.datetime(2026, 11, 24, 9, 0, 0)


class Clock:
    """A hand-driven clock (naive UTC, like kiosk.store.utcnow)."""

    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **kw):
        self.now += dt.timedelta(**kw)


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def app(tmp_path, clock, db_url):
    settings = load_settings(data_dir=tmp_path / "data", database_url=db_url)
    app = create_app(settings)
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0}, clock=clock)
    store = app.extensions["kiosk"].store
    add_user(store, "alice", PW, "auditor", languages="en,zh-CN")
    add_user(store, "bob", PW, "auditor")
    add_user(store, "sue", PW, "supervisor")
    add_user(store, "brenda", PW, "broker_admin")
    yield app
    app.extensions["kiosk"].shutdown()


def seal(app, **kw) -> str:
    k = app.extensions["kiosk"]
    return make_sealed_case(k.settings.data_dir, k.store, keys=k.evidence_keys, ledger=k.ledger,
                            seconds=kw.pop("seconds", 4.0), **kw)


@pytest.fixture()
def case_id(app):
    pid = seal(app)
    app.extensions["review"].poll()
    return pid


def login(app, name):
    c = app.test_client()
    tok = c.get("/review/api/csrf").get_json()["csrf_token"]
    r = c.post("/review/api/login", json={"username": name, "password": PW},
               headers={"X-CSRF-Token": tok})
    assert r.status_code == 200, r.get_json()
    c.csrf = r.get_json()["csrf_token"]
    return c


def post(c, url, body=None, **kw):
    headers = {"X-CSRF-Token": c.csrf, **kw.pop("headers", {})}
    return c.post(url, json=body if body is not None else {}, headers=headers, **kw)


# -- dispatch (pure, injected time) -----------------------------------------------------------

def item(i, verdict="needs_attention", flow="normal", age_h=0.0, **kw):
    enq = T0 - dt.timedelta(hours=age_h)
    return d.QueueItem(i, d.priority_of(verdict, flow), enq, enq + dt.timedelta(hours=24), **kw)


def test_dispatch_orders_by_risk_then_flow_priority_then_deadline():
    pol = d.DispatchPolicy()
    items = [item("clear-high", "clear", "high", age_h=5), item("attn-low", "needs_attention",
             "low"), item("reject-normal", "suggested_reject"), item("attn-high-new",
             "needs_attention", "high", age_h=1), item("attn-high-old", "needs_attention",
             "high", age_h=3)]
    order = [i.id for i in d.order_queue(items, T0, pol)]
    assert order == ["reject-normal", "attn-high-old", "attn-high-new", "attn-low", "clear-high"]


def test_sla_escalation_moves_ok_at_risk_breached_with_the_clock():
    pol = d.DispatchPolicy(sla_hours=24, at_risk_fraction=0.75)
    it = item("c1", "clear")
    assert d.sla_state(it, T0 + dt.timedelta(hours=17, minutes=59), pol) == "ok"
    assert d.sla_state(it, T0 + dt.timedelta(hours=18), pol) == "at_risk"
    assert d.sla_state(it, T0 + dt.timedelta(hours=24), pol) == "breached"
    # an at-risk clear case overtakes a fresh flagged one; a breached one goes first of all
    fresh = item("flagged", "suggested_reject", age_h=-18)
    assert [i.id for i in d.order_queue([fresh, it], T0 + dt.timedelta(hours=19), pol)] == \
        ["c1", "flagged"]
    assert d.escalations([(it, "ok")], T0 + dt.timedelta(hours=19), pol) == [("c1", "at_risk")]
    assert d.escalations([(it, "at_risk")], T0 + dt.timedelta(hours=19), pol) == []
    assert d.escalations([(it, "at_risk")], T0 + dt.timedelta(hours=25), pol) == \
        [("c1", "breached")]


def test_next_case_respects_skills_load_assignment_and_locks():
    pol = d.DispatchPolicy(max_load=2)
    zh = item("zh", "suggested_reject", locale="zh-CN", flow_id="margin")
    en = item("en", "clear", locale="en", flow_id="margin")
    mine = item("mine", "clear", locale="en", assigned_to=7)
    locked = item("locked", "suggested_reject", locale="en", locked_by=9,
                  lock_expires_at=T0 + dt.timedelta(minutes=5))
    en_only = d.Reviewer(7, languages=("en",))
    assert d.next_case([zh, en, mine, locked], en_only, T0, pol).id == "mine"
    assert d.next_case([zh, en, locked], en_only, T0, pol).id == "en"
    assert d.next_case([zh, en], d.Reviewer(7, flows=("fund",)), T0, pol) is None
    assert d.next_case([zh, en], d.Reviewer(7, load=2), T0, pol) is None  # at max load
    # the lock idles out: the case is free again
    assert d.next_case([locked], en_only, T0 + dt.timedelta(minutes=6), pol).id == "locked"
    assert d.expired_locks([locked], T0 + dt.timedelta(minutes=6)) == ["locked"]


def test_assign_pending_balances_load_and_skills():
    pol = d.DispatchPolicy(max_load=3)
    items = [item(f"c{i}", locale="zh-CN" if i % 2 else "en") for i in range(5)]
    pairs = d.assign_pending(items, [d.Reviewer(1, load=1), d.Reviewer(2, languages=("en",))],
                             T0, pol)
    got = dict(pairs)
    assert all(got[c] == 1 for c in ("c1", "c3"))  # zh-CN only to the zh-capable reviewer
    loads = {1: 1, 2: 0}
    for _c, r in pairs:
        loads[r] += 1
    assert max(loads.values()) <= 3 and abs(loads[1] - loads[2]) <= 1


@pytest.mark.parametrize("kw, msg", [({"sla_hours": 0}, "sla_hours must be > 0"),
                                     ({"at_risk_fraction": 1.5}, "at_risk_fraction"),
                                     ({"max_load": 0}, "max_load must be >= 1")])
def test_dispatch_policy_refuses_bad_settings(kw, msg):
    with pytest.raises(ValueError, match=msg):
        d.DispatchPolicy(**kw)


def test_priority_of_names_bad_values():
    with pytest.raises(ValueError, match="unknown pre-review verdict 'maybe'"):
        d.priority_of("maybe", "normal")
    with pytest.raises(ValueError, match="unknown flow priority 'urgent'"):
        d.priority_of("clear", "urgent")


# -- pre-review from a sealed bag ---------------------------------------------------------------

def test_prereview_flags_the_unrecognised_consent_answer(tmp_path):
    pid = make_sealed_case(tmp_path, seconds=4.0)
    pre = build_prereview(tmp_path / "evidence" / pid)
    assert pre["verdict"] == "needs_attention"
    steps = {s["step"]: s for s in pre["steps"]}
    assert [s["status"] for s in pre["steps"]] == ["pass", "pass", "flag", "pass"]
    assert any(re.fullmatch(r"consent answer not recognised at 00:0\d", r)
               for r in steps["consent"]["reasons"]), steps["consent"]
    flags = [m for m in pre["markers"] if m["kind"] == "flag"]
    assert flags and all(steps["consent"]["start"] <= m["t"] <= steps["consent"]["end"]
                         for m in flags)
    subs = [s for s in pre["subtitles"] if s["kind"] == "prompt"]
    assert len(subs) == 4 and all(len(s["sha256"]) == 64 and s["end"] > s["start"] for s in subs)
    assert pre["flow"]["priority"] == "normal" and pre["locale"] == "en"


def test_prereview_clear_case_and_a_new_rule_slots_in(tmp_path):
    pid = make_sealed_case(tmp_path, seconds=4.0, flagged=False, priority="high")
    bag = tmp_path / "evidence" / pid
    pre = build_prereview(bag)
    assert pre["verdict"] == "clear" and pre["verdict_reasons"] == []
    assert pre["flow"]["priority"] == "high"

    # A future check's event type only needs a rule; here one that judges "joined" harshly.
    @rule("joined")
    def _joined(data, t, ctx):
        ctx.find(t, "late join", "reject", "late")
    try:
        assert build_prereview(bag)["verdict"] == "suggested_reject"
    finally:
        del RULES["joined"]
    assert build_prereview(bag)["verdict"] == "clear"


# -- login, cookies, timeouts, throttling -----------------------------------------------------

def test_login_sets_strict_httponly_cookie_and_secure_under_https(tmp_path, clock):
    settings = load_settings(data_dir=tmp_path / "d2", public_url="https://kiosk.example")
    app2 = create_app(settings)
    try:
        register(app2, app2.extensions["kiosk"], config={"poll_seconds": 0}, clock=clock)
        add_user(app2.extensions["kiosk"].store, "carol", PW, "auditor")
        c = app2.test_client()
        tok = c.get("/review/api/csrf").get_json()["csrf_token"]
        r = c.post("/review/api/login", json={"username": "carol", "password": PW},
                   headers={"X-CSRF-Token": tok})
        cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    finally:
        app2.extensions["kiosk"].shutdown()


def test_idle_and_absolute_session_timeouts(app, clock):
    c = login(app, "alice")
    assert c.get("/review/api/queue").status_code == 200
    clock.advance(minutes=16)  # idle timeout is 15 min
    assert c.get("/review/api/queue").status_code == 401
    c = login(app, "alice")
    login_at = clock.now
    status = 200
    for _ in range(60):  # active every 10 min: idle never trips, the 8 h limit does
        clock.advance(minutes=10)
        status = c.get("/review/api/queue").status_code
        if status != 200:
            break
    assert status == 401
    assert dt.timedelta(hours=8) < clock.now - login_at <= dt.timedelta(hours=8, minutes=10)


def test_login_throttle_locks_out_and_logs_it(app, clock, caplog):
    c = app.test_client()
    tok = c.get("/review/api/csrf").get_json()["csrf_token"]
    h = {"X-CSRF-Token": tok}
    with caplog.at_level(logging.WARNING, logger="kiosk.review.accounts"):
        for _ in range(5):
            r = c.post("/review/api/login", json={"username": "bob", "password": "wrong pw 123"},
                       headers=h)
            assert r.status_code == 401
    assert any("login lock-out: account bob" in m for m in caplog.messages)
    r = c.post("/review/api/login", json={"username": "bob", "password": PW}, headers=h)
    assert r.status_code == 401  # right password, but locked
    clock.advance(minutes=16)
    r = c.post("/review/api/login", json={"username": "bob", "password": PW}, headers=h)
    assert r.status_code == 200
    actions = [e["action"] for e in app.extensions["review"].audit_log()]
    assert "lockout" in actions and actions.count("login_failed") == 6


# -- roles and objects --------------------------------------------------------------------------

def test_investor_token_cannot_reach_the_console(app, case_id):
    k = app.extensions["kiosk"]
    flow = k.flows.get("securities_account_opening")
    _row, token = k.store.create(flow=flow, locale="en", applicant={"name": "X",
                                 "id_number": ID_NUMBER}, ttl_seconds=600)
    c = app.test_client()
    assert c.get(f"/w/{token}").status_code == 200  # the token is live for the witness page
    for url in ("/review/api/queue", f"/review/api/cases/{case_id}", "/review/api/dashboard"):
        r = c.get(url, headers={"Authorization": f"Bearer {token}", "X-API-Key": token})
        assert r.status_code == 401, url
    r = c.get(f"/review/cases/{case_id}/recording?token={token}")
    assert r.status_code == 302 and "/review/login" in r.headers["Location"]
    r = c.get(f"/review/?token={token}")
    assert r.status_code == 302


@both_databases
def test_auditor_cannot_read_anothers_locked_case_until_a_supervisor_reassigns(app, case_id):
    alice, bob, sue = login(app, "alice"), login(app, "bob"), login(app, "sue")
    r = post(alice, "/review/api/next")
    assert r.get_json()["case"]["case_id"] == case_id
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200
    for url in (f"/review/api/cases/{case_id}", f"/review/api/cases/{case_id}/report",
                f"/review/cases/{case_id}/recording"):
        assert bob.get(url).status_code == 403, url
    assert post(bob, "/review/api/next").get_json()["case"] is None
    assert post(bob, f"/review/api/cases/{case_id}/decision",
                {"decision": "approve"}).status_code == 403
    # auditors cannot reassign; a supervisor can
    assert post(bob, f"/review/api/cases/{case_id}/assign", {"user_id": 2}).status_code == 403
    r = post(sue, f"/review/api/cases/{case_id}/assign", {"user_id": 2})
    assert r.status_code == 200 and r.get_json()["assigned_to"] == 2
    assert bob.get(f"/review/api/cases/{case_id}").status_code == 200
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 403


@both_databases
def test_broker_admin_reads_but_cannot_decide_or_take(app, case_id):
    brenda = login(app, "brenda")
    assert brenda.get("/review/api/dashboard").status_code == 200
    assert brenda.get(f"/review/api/cases/{case_id}").status_code == 200
    r = post(brenda, f"/review/api/cases/{case_id}/decision", {"decision": "approve"})
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    assert post(brenda, "/review/api/next").status_code == 403
    assert app.extensions["review"].case(case_id).status == "queued"
    alice = login(app, "alice")
    assert alice.get("/review/api/dashboard").status_code == 403  # auditors: no dashboard


def test_csrf_and_cross_origin_posts_are_refused(app, case_id):
    alice = login(app, "alice")
    post(alice, "/review/api/next")
    alice.get(f"/review/api/cases/{case_id}")  # a decision needs an opened view
    url = f"/review/api/cases/{case_id}/decision"
    r = alice.post(url, json={"decision": "approve"})
    assert r.status_code == 403 and r.get_json()["error"] == "csrf"
    r = alice.post(url, json={"decision": "approve"}, headers={"X-CSRF-Token": "x" * 43})
    assert r.status_code == 403 and r.get_json()["error"] == "csrf"
    r = alice.post(f"/review/cases/{case_id}/decision", data={"decision": "approve"})
    assert r.status_code == 403  # the HTML form without its token
    r = post(alice, url, {"decision": "approve"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.get_json()["error"] == "bad_origin"
    c = app.test_client()
    r = c.post("/review/login", data={"username": "alice", "password": PW})
    assert r.status_code == 403  # login itself needs the form's token
    assert app.extensions["review"].case(case_id).status == "queued"
    assert post(alice, url, {"decision": "approve"}).status_code == 201


def test_every_case_view_is_audited_without_id_numbers(app, case_id):
    alice, sue = login(app, "alice"), login(app, "sue")
    post(alice, "/review/api/next")
    alice.get(f"/review/cases/{case_id}")
    alice.get(f"/review/api/cases/{case_id}/report")
    sue.get(f"/review/api/cases/{case_id}")
    entries = app.extensions["review"].audit_log(case_id)
    seen = {(e["user"], e["action"]) for e in entries}
    assert {("alice", "view"), ("alice", "view_report"), ("sue", "view_api")} <= seen
    assert all(e["at"].startswith("2026-11-24T09:00") for e in entries)
    db = app.extensions["kiosk"].settings.data_dir / "kiosk.sqlite3"
    with sqlite3.connect(db) as con:
        dump = "\n".join(con.iterdump())
    audit = [line for line in dump.splitlines() if "review_audit" in line]
    assert audit and not any(ID_NUMBER in line or "8888" in line for line in audit)


# -- queue service with the injected clock ------------------------------------------------------

@both_databases
def test_service_escalates_sla_and_releases_idle_locks(app, clock, caplog):
    svc = app.extensions["review"]
    pid = seal(app)
    svc.poll()
    assert svc.case(pid).sla_due_at == T0 + dt.timedelta(hours=24)
    alice = {"uid": 1, "role": "auditor", "name": "alice"}
    assert svc.take_next(alice).id == pid
    clock.advance(minutes=11)  # lock idle timeout is 10 min
    assert svc.poll()["released"] == [pid]
    c = svc.case(pid)
    assert c.locked_by is None and c.assigned_to is None
    clock.advance(hours=18)
    with caplog.at_level(logging.WARNING, logger="kiosk.review.service"):
        assert svc.poll()["escalated"] == [(pid, "at_risk")]
        assert svc.poll()["escalated"] == []  # escalated once
        clock.advance(hours=6)
        assert svc.poll()["escalated"] == [(pid, "breached")]
    assert any("SLA breached" in m for m in caplog.messages)
    dash = svc.dashboard()
    assert dash["queue_depth"] == 1 and dash["sla_breached"] == [pid]
    assert dash["oldest_age_s"] == pytest.approx((24 * 3600) + 11 * 60)


@both_databases
def test_dispatch_puts_flagged_and_high_priority_flows_first(app, clock):
    svc = app.extensions["review"]
    clear = seal(app, flagged=False)
    clock.advance(minutes=1)
    clear_high = seal(app, flagged=False, priority="high")
    flagged = seal(app, flagged=True, priority="low")
    svc.poll()
    assert [c.id for c in svc.ordered_queue()] == [flagged, clear_high, clear]
    sue = login(app, "sue")
    dash = sue.get("/review/api/dashboard").get_json()
    assert dash["by_verdict"] == {"suggested_reject": 0, "needs_attention": 1, "clear": 2}


# -- decisions ------------------------------------------------------------------------------------

@both_databases
def test_approve_is_signed_into_the_ledger_and_the_package_is_untouched(app, case_id):
    k = app.extensions["kiosk"]
    bag = k.settings.data_dir / "evidence" / case_id
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in bag.rglob("*")
              if p.is_file()}
    alice = login(app, "alice")
    post(alice, "/review/api/next")
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200
    r = post(alice, f"/review/api/cases/{case_id}/decision", {"decision": "approve"})
    assert r.status_code == 201, r.get_json()
    rec = r.get_json()["record"]
    assert rec["decision"] == "approve" and rec["reviewer"] == "alice"
    assert verify_record(rec, k.evidence_keys.keyring())
    assert not verify_record({**rec, "decision": "reject"}, k.evidence_keys.keyring())
    entry = k.ledger.records(case_id)[-1]
    assert entry["record"] == rec and entry["seq"] == r.get_json()["ledger_seq"]
    assert k.ledger.verify(k.settings.data_dir / "evidence", k.evidence_keys.keyring()) == []
    assert verify_package(bag, keyring=k.evidence_keys.keyring()).ok
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in bag.rglob("*")
                      if p.is_file()}
    again = post(alice, f"/review/api/cases/{case_id}/decision", {"decision": "approve"})
    assert again.status_code == 409
    listed = alice.get(f"/review/api/cases/{case_id}/decisions").get_json()["decisions"]
    assert len(listed) == 1 and listed[0]["verified"]


def test_reject_needs_known_reason_codes():
    with pytest.raises(DecisionError, match="needs at least one reason code"):
        validate("reject", [], "")
    with pytest.raises(DecisionError, match="unknown reason code"):
        validate("reject", ["bad_hair"], "")
    with pytest.raises(DecisionError, match="reason 'other' needs a note"):
        validate("reject", ["other"], "  ")
    with pytest.raises(DecisionError, match="an approval takes no reason codes"):
        validate("approve", ["no_consent"], "")
    assert validate("reject", "no_consent,third_party", "x") == (["no_consent", "third_party"],
                                                                "x")


def test_return_creates_a_new_investor_link(app, case_id):
    alice = login(app, "alice")
    post(alice, "/review/api/next")
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200
    r = post(alice, f"/review/api/cases/{case_id}/decision",
             {"decision": "return", "reasons": ["poor_quality"], "note": "too dark"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    k = app.extensions["kiosk"]
    new = k.store.get(body["new_session_id"])
    old = k.store.get(case_id)
    assert new.state == "created" and new.applicant == old.applicant and new.flow_id == old.flow_id
    token = body["investor_url"].rsplit("/", 1)[1]
    assert app.test_client().get(f"/w/{token}").status_code == 200
    assert body["record"]["new_session_id"] == new.id and body["record"]["reasons"] == \
        ["poor_quality"]
    assert token not in json.dumps(body["record"])  # the link itself is not in the evidence


# -- media --------------------------------------------------------------------------------

def test_recording_is_served_with_ranges_and_paths_only_from_ids(app, case_id):
    alice = login(app, "alice")
    post(alice, "/review/api/next")
    r = alice.get(f"/review/cases/{case_id}/recording", headers={"Range": "bytes=0-1023"})
    assert r.status_code == 206 and len(r.data) == 1024 and r.data[:4] == b"\x1a\x45\xdf\xa3"
    assert r.headers["Content-Type"] == "video/webm"
    pre = app.extensions["review"].case(case_id).prereview
    sha = pre["subtitles"][0]["sha256"]
    r = alice.get(f"/review/cases/{case_id}/prompts/{sha}.wav")
    assert r.status_code == 200 and r.data[:4] == b"RIFF"
    for bad in (f"/review/cases/{case_id}/prompts/..%2f..%2fkeys%2fcurrent.wav",
                f"/review/cases/{case_id}/frames/..%2fdata%2freport.json",
                f"/review/cases/{case_id}/frames/..%2f..%2f..%2fkiosk.sqlite3.jpg",
                "/review/cases/..%2fkeys/recording",
                "/review/cases/..%2f..%2fdata/recording",
                "/review/cases/does-not-exist/recording"):
        assert alice.get(bad).status_code == 404, bad


def test_users_cli_adds_an_argon2_account(tmp_path, monkeypatch):
    from kiosk.review.cli import users

    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    r = runner.invoke(users, ["add", "zoe", "--role", "auditor", "--password-stdin",
                              "--languages", "zh-CN,en", "--flows", "margin_account_risk"],
                      input=PW + "\n")
    assert r.exit_code == 0, r.output
    assert "created zoe (auditor)" in r.output
    with sqlite3.connect(tmp_path / "data" / "kiosk.sqlite3") as con:
        h, langs = con.execute("select password_hash, languages_csv from review_users "
                               "where username='zoe'").fetchone()
    assert h.startswith("$argon2id$") and PW not in h and langs == "zh-CN,en"
    r = runner.invoke(users, ["add", "zoe", "--role", "auditor", "--password-stdin"],
                      input=PW + "\n")
    assert r.exit_code != 0 and "already exists" in r.output
    r = runner.invoke(users, ["add", "amy", "--role", "auditor", "--password-stdin"],
                      input="short\n")
    assert r.exit_code != 0 and "at least 10 characters" in r.output
    r = runner.invoke(users, ["add", "amy", "--role", "root", "--password-stdin"], input=PW)
    assert r.exit_code != 0 and "root" in r.output


def test_the_replay_bench_command_times_a_sealed_case(monkeypatch):
    """``kiosk replay-bench`` (the command line builds the app; the benchmark lives in
    kiosk.testing), server side only: a short case seals, the pages it times answer."""
    from kiosk.cli import main as kiosk_cli

    monkeypatch.delenv("KIOSK_DATA_DIR", raising=False)
    r = CliRunner().invoke(kiosk_cli, ["replay-bench", "--seconds", "3", "--runs", "1",
                                       "--no-browser"])
    assert r.exit_code == 0, r.output
    figures = dict(line.split(": ", 1) for line in r.output.splitlines() if ": " in line)
    assert {"build_and_seal_s", "recording_bytes", "server_case_page_ms",
            "server_first_256k_ms"} <= set(figures), r.output
    assert int(figures["recording_bytes"]) > 0 and "browser_open_to_playing_ms" not in figures


def test_register_again_replaces_the_service_and_stops_the_old_poller(app, clock):
    old = app.extensions["review"]
    register(app, app.extensions["kiosk"], config={"poll_seconds": 30}, clock=clock)
    first = app.extensions["review"]
    assert first is not old and not first.poller_stop.is_set()
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0}, clock=clock)
    assert first.poller_stop.is_set()
    assert login(app, "alice").get("/review/api/queue").status_code == 200
    with pytest.raises(ValueError, match="unknown review settings: sla"):
        register(app, app.extensions["kiosk"], config={"sla": 3})


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_console_pages_login_take_reject_with_reasons_and_dashboard(app, case_id):
    c = app.test_client()
    r = c.get("/review/")
    assert r.status_code == 302 and "/review/login" in r.headers["Location"]
    tok = form_token(c.get("/review/login").text)
    r = c.post("/review/login", data={"username": "alice", "password": "nope nope nope",
                                      "csrf_token": tok})
    assert r.status_code == 401 and "not accepted" in r.text
    # No open redirect: an off-site next is refused before the login runs (kiosk.web.guard).
    r = c.post("/review/login", data={"username": "alice", "password": PW, "csrf_token": tok,
                                      "next": "https://evil.example/"})
    assert r.status_code == 400 and "Location" not in r.headers
    r = c.post("/review/login", data={"username": "alice", "password": PW, "csrf_token": tok})
    assert r.status_code == 303 and r.headers["Location"] == "/review/"
    page = c.get("/review/")
    assert "Content-Security-Policy" in page.headers and case_id[:12] in page.text
    tok = form_token(page.text)  # a fresh token after login (the session was renewed)
    r = c.post("/review/next", data={"csrf_token": tok})
    assert r.headers["Location"] == f"/review/cases/{case_id}"
    html = c.get(r.headers["Location"]).text
    assert 'data-testid="approve"' in html and "consent answer not recognised" in html
    url = f"/review/cases/{case_id}/decision"
    r = c.post(url, data={"csrf_token": tok, "decision": "reject"}, follow_redirects=True)
    assert "needs at least one reason code" in r.text
    assert app.extensions["review"].case(case_id).status == "queued"
    r = c.post(url, data={"csrf_token": tok, "decision": "reject", "reasons": ["no_consent",
                          "third_party"], "note": "prompted off camera"}, follow_redirects=True)
    assert "reject recorded" in r.text
    rec = app.extensions["kiosk"].ledger.records(case_id)[-1]["record"]
    assert rec["reasons"] == ["no_consent", "third_party"] and rec["note"] == "prompted off camera"
    assert c.get("/review/dashboard").status_code == 403  # auditors have no dashboard
    sue = app.test_client()
    tok = form_token(sue.get("/review/login").text)
    sue.post("/review/login", data={"username": "sue", "password": PW, "csrf_token": tok})
    dash = sue.get("/review/dashboard")
    assert dash.status_code == 200 and 'data-testid="queue-depth">0<' in dash.text
    assert re.search(r"<td>alice</td><td>1</td>", dash.text)  # throughput per reviewer


@both_databases
def test_auditor_cannot_open_an_unassigned_case_outside_their_skills(app):
    svc = app.extensions["review"]
    store = app.extensions["kiosk"].store
    add_user(store, "zhi", PW, "auditor", languages="zh-CN")
    pid = seal(app)  # an English case
    svc.poll()
    zhi = login(app, "zhi")
    assert post(zhi, "/review/api/next").get_json()["case"] is None
    r = zhi.get(f"/review/api/cases/{pid}")
    assert r.status_code == 403 and "skills" in r.get_json()["message"]
    sue = login(app, "sue")
    uid = next(u.id for u in svc.users() if u.username == "zhi")
    assert post(sue, f"/review/api/cases/{pid}/assign", {"user_id": uid}).status_code == 200
    assert zhi.get(f"/review/api/cases/{pid}").status_code == 200


# -- evidence over HTTP ------------------------------------------------------------------------

def test_public_keys_are_published_and_verify_a_downloaded_package(app, case_id, tmp_path):
    keys = app.test_client().get("/api/evidence/public-keys").get_json()
    assert keys["current_key_id"] in keys["keys"]
    pem = tmp_path / "key.pem"
    pem.write_text(keys["keys"][keys["current_key_id"]])
    sue = login(app, "sue")
    r = sue.get(f"/review/api/cases/{case_id}/package")
    assert r.status_code == 200 and r.mimetype == "application/x-tar"
    archive = tmp_path / "case.tar"
    archive.write_bytes(r.data)
    report = verify_package(archive, pubkeys=[pem])
    assert report.ok, report.problems


@pytest.mark.parametrize("bad", ["..%2F..%2Fkeys", "%2e%2e", "..", "a" * 32 + "%00", "/etc/passwd"])
def test_package_download_refuses_traversal(app, case_id, bad):
    sue = login(app, "sue")
    assert sue.get(f"/review/api/cases/{bad}/package").status_code == 404


def test_package_download_needs_a_reviewer_role(app, case_id):
    assert app.test_client().get(f"/review/api/cases/{case_id}/package").status_code in (401, 403)
    assert login(app, "brenda").get(f"/review/api/cases/{case_id}/package").status_code == 403


@pytest.mark.parametrize("first, verdict", [
    ({"decision": "unclear", "text": "", "negation": False}, "info"),
    ({"decision": "unclear", "text": "值得我自愿", "negation": False}, "info"),
    # A "no" inside the unclear answer: a later yes never outweighs it.
    ({"decision": "unclear", "text": "是的，我不愿意", "negation": True}, "flag"),
    # Recorded before negations were looked for: nothing is known, so it stays a flag.
    ({"decision": "unclear", "text": "mm"}, "flag"),
])
def test_an_unclear_answer_then_a_clear_yes_is_info_unless_it_held_a_no(first, verdict):
    from kiosk.review.prereview import Context

    ctx = Context(step="consent")
    RULES["answer_recognised"]({"step": "consent", **first}, 26.0, ctx)
    assert [f.severity for f in ctx.findings] == ["flag"]
    RULES["answer_recognised"]({"step": "consent", "decision": "agree", "text": "是的，我自愿",
                                "negation": False}, 34.0, ctx)
    assert [f.severity for f in ctx.findings] == [verdict]
    flags = [m for m in ctx.markers if m["kind"] == "flag"]
    assert len(flags) == (verdict == "flag")


def test_return_for_a_number_stored_before_intake_checks_is_left_to_the_back_office(app,
                                                                                   case_id):
    """A session stored before intake checked ID numbers (kiosk/identity/numbers.py) may hold
    a number with a wrong check digit: the return is recorded, never a 500."""
    k = app.extensions["kiosk"]
    applicant = dict(k.store.get(case_id).applicant, id_number="110101199003078888")
    k.store.set(case_id, applicant_json=json.dumps(applicant, ensure_ascii=False))
    alice = login(app, "alice")
    post(alice, "/review/api/next")
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200
    r = post(alice, f"/review/api/cases/{case_id}/decision",
             {"decision": "return", "reasons": ["poor_quality"], "note": "too dark"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert "investor_url" not in body and body["record"]["new_session_id"] is None


def test_an_unclear_answer_with_no_clear_answer_after_it_stays_a_flag():
    from kiosk.review.prereview import Context

    ctx = Context(step="risk")
    RULES["answer_recognised"]({"step": "risk", "decision": "unclear", "negation": False}, 20, ctx)
    # A yes to ANOTHER step does not clear this one.
    RULES["answer_recognised"]({"step": "consent", "decision": "agree", "negation": False}, 30,
                               ctx)
    assert [f.severity for f in ctx.findings] == ["flag"]


def test_return_after_sealing_is_recorded_and_left_to_the_back_office(app, case_id):
    """A sealed session keeps only the masked ID number (issue #13.10): the return is still
    recorded and signed, and the console says the back office makes the new witness."""
    k = app.extensions["kiosk"]
    k.store.forget_id_number(case_id, "keep_last4")
    alice = login(app, "alice")
    post(alice, "/review/api/next")
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200
    r = post(alice, f"/review/api/cases/{case_id}/decision",
             {"decision": "return", "reasons": ["poor_quality"], "note": "too dark"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert "investor_url" not in body and "back office" in body["new_witness"]
    assert body["record"]["decision"] == "return" and body["record"]["new_session_id"] is None
    assert verify_record(body["record"], k.evidence_keys.keyring())


def test_the_console_reads_its_service_through_one_checked_accessor(app):
    """``current_review()`` gives the registered ReviewService, and refuses anything else
    under its key (it was typed but unchecked: a stray value surfaced later, far away)."""
    from flask import Flask

    from kiosk.review.context import EXTENSION, current_review

    with app.app_context():
        assert current_review() is app.extensions[EXTENSION]
    bare = Flask("bare")
    with bare.app_context(), pytest.raises(RuntimeError, match="no review console"):
        current_review()
    bare.extensions[EXTENSION] = {"not": "a service"}
    with bare.app_context(), pytest.raises(RuntimeError, match="no review console"):
        current_review()


def test_the_nodes_poll_masks_the_id_numbers_of_links_that_expired_unused(tmp_path, db_url):
    import time

    settings = load_settings(data_dir=tmp_path / "data", database_url=db_url,
                             api_keys=["k" * 32])
    app = create_app(settings)
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0.05})
    try:
        client = app.test_client()
        r = client.post("/api/sessions", headers={"X-API-Key": "k" * 32}, json={
            "applicant": {"name": "张三", "id_number": "110102199003078888"}})
        assert r.status_code == 201, r.get_json()
        sid = r.get_json()["session_id"]
        store = app.extensions["kiosk"].store
        store.set(sid, expires_at=dt.datetime(2020, 1, 1))
        for _ in range(200):
            if store.get(sid).applicant["id_number"] != "110102199003078888":
                break
            time.sleep(0.05)
        assert store.get(sid).applicant["id_number"] == "**************8888"
    finally:
        app.extensions["review"].poller_stop.set()
        app.extensions["kiosk"].shutdown()


@pytest.mark.parametrize("content", [b'{"verdict": "cle', b"", b"[1]", None])
def test_a_torn_package_report_is_named_not_a_500(app, case_id, caplog, content):
    """Retest N9: a torn report.json made GET /review/api/cases/<id>/report a 500 with a
    traceback; the case's pre-review already flagged it."""
    path = app.extensions["review"].bag_dir(case_id) / "data" / "report.json"
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    sue = login(app, "sue")
    with caplog.at_level(logging.INFO):
        r = sue.get(f"/review/api/cases/{case_id}/report")
    assert r.status_code == 200, r.status_code
    body = r.get_json()
    assert body["sealed_report"] is None and body["prereview"]
    assert body["sealed_report_unreadable"].startswith("report.json: "), body
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


def test_a_whole_package_report_is_served(app, case_id):
    body = login(app, "sue").get(f"/review/api/cases/{case_id}/report").get_json()
    assert isinstance(body["sealed_report"], dict) and body["sealed_report"]
    assert body["sealed_report_unreadable"] is None


@contextlib.contextmanager
def inserts_fail(app):
    """Every INSERT fails as the database does on a full data disk: SQLite's "database or disk
    is full", PostgreSQL's SQLSTATE 53100 (psycopg's DiskFull). Raised as the database
    driver's own error, so SQLAlchemy wraps it as it would a real one."""
    from sqlalchemy import event

    engine = app.extensions["kiosk"].store.engine
    if engine.dialect.name == "postgresql":
        import psycopg.errors

        def error():
            return psycopg.errors.DiskFull(
                'could not extend file "base/16384/16397": No space left on device')
    else:
        def error():
            return engine.dialect.dbapi.OperationalError("database or disk is full")

    def full(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT"):
            raise error()

    event.listen(engine, "before_cursor_execute", full)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", full)


@pytest.fixture()
def full_disk(app):
    with inserts_fail(app):
        yield


@both_databases
def test_a_console_login_on_a_full_disk_is_a_503_not_a_500(app, full_disk, caplog):
    """Retest N12: the login's audit entry failed with "database or disk is full": the
    console answered 500 HTML and logged an ERROR traceback, where the API answers 503."""
    c = app.test_client()
    tok = form_token(c.get("/review/login").text)
    with caplog.at_level(logging.INFO):
        form = c.post("/review/login", data={"username": "alice", "password": PW,
                                             "csrf_token": tok})
        api = app.test_client()
        token = api.get("/review/api/csrf").get_json()["csrf_token"]
        js = api.post("/review/api/login", json={"username": "alice", "password": PW},
                      headers={"X-CSRF-Token": token})
    assert form.status_code == 503 and form.mimetype == "text/html", form.status_code
    assert "data disk is full" in form.text
    assert js.status_code == 503 and js.get_json()["error"] == "storage_full", js.data[:200]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
              and "storage_full" in r.getMessage()]
    assert len(warned) == 2, warned  # one a request


# -- a decision and a full disk: the ledger holds what the auditor is told (#13 t13c 6c) ----

def _opened(app, case_id):
    alice = login(app, "alice")
    post(alice, "/review/api/next")
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200
    return alice


def _ledger_decisions(app, case_id):
    return [e["record"]["decision"] for e in app.extensions["kiosk"].ledger.records(case_id)
            if e["record"]["type"] == "review_decision"]


@both_databases
def test_a_decision_refused_for_a_full_disk_is_not_in_the_ledger(app, case_id, caplog):
    """t13c 6c: the 503 decision was already signed into the ledger, and a later, contrary
    decision was accepted too: one case, two final decisions."""
    alice = _opened(app, case_id)
    url = f"/review/api/cases/{case_id}/decision"
    with caplog.at_level(logging.INFO), inserts_fail(app):
        r = post(alice, url, {"decision": "approve"})
    assert r.status_code == 503 and r.get_json()["error"] == "storage_full", r.get_json()
    assert _ledger_decisions(app, case_id) == []
    assert app.extensions["review"].case(case_id).status == "queued"
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    # space is back: the auditor decides again, and that is the one decision
    r = post(alice, url, {"decision": "reject", "reasons": ["no_consent"]})
    assert r.status_code == 201, r.get_json()
    again = post(alice, url, {"decision": "approve"})
    assert again.status_code == 409
    assert again.get_json()["message"].startswith("already decided: reject at 2026-11-24T09:")
    assert _ledger_decisions(app, case_id) == ["reject"]
    k = app.extensions["kiosk"]
    assert k.ledger.verify(k.settings.data_dir / "evidence", k.evidence_keys.keyring()) == []


def test_a_disk_below_the_decision_reserve_refuses_before_signing(app, case_id, monkeypatch):
    """The tester's disk: a 30 MB tmpfs filled with dd, min_free_mb 5."""
    app.extensions["kiosk"].store.min_free_mb = 5.0
    alice = _opened(app, case_id)
    monkeypatch.setattr("kiosk.review.decisions.free_mb", lambda _path: 0.0)
    r = post(alice, f"/review/api/cases/{case_id}/decision", {"decision": "approve"})
    assert r.status_code == 503 and r.get_json()["error"] == "storage_full", r.get_json()
    assert _ledger_decisions(app, case_id) == []
    monkeypatch.setattr("kiosk.review.decisions.free_mb", lambda _path: 6.0)
    r = post(alice, f"/review/api/cases/{case_id}/decision", {"decision": "approve"})
    assert r.status_code == 201, r.get_json()
    assert _ledger_decisions(app, case_id) == ["approve"]


@contextlib.contextmanager
def decision_commit_fails(app):
    """The first commit holding a decision row fails as on a full disk (after the flush, so
    after the ledger append: SQLite writes its WAL at commit)."""
    from sqlalchemy import event

    from kiosk.review.models import ReviewDecisionRow

    maker = app.extensions["kiosk"].store._session
    failed = []

    def full(session):
        if not failed and any(isinstance(o, ReviewDecisionRow)
                              for o in session.identity_map.values()):
            failed.append(True)
            raise sqlite3.OperationalError("database or disk is full")

    event.listen(maker, "before_commit", full)
    try:
        yield failed
    finally:
        event.remove(maker, "before_commit", full)


@both_databases
def test_a_row_lost_after_the_append_follows_the_ledger(app, case_id, caplog):
    alice = _opened(app, case_id)
    url = f"/review/api/cases/{case_id}/decision"
    svc = app.extensions["review"]
    with caplog.at_level(logging.INFO), decision_commit_fails(app) as failed:
        r = post(alice, url, {"decision": "approve"})
    assert failed == [True]
    # signed and final: the auditor is told so, though the row was not written
    assert r.status_code == 201 and r.get_json()["record"]["decision"] == "approve"
    assert svc.case(case_id).status == "queued" and case_id in svc.unreconciled
    assert any("decision recorded in the ledger" in rec.getMessage()
               and rec.levelno == logging.WARNING for rec in caplog.records)
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    again = post(alice, url, {"decision": "reject", "reasons": ["no_consent"]})
    assert again.status_code == 409, again.get_json()
    assert again.get_json()["message"].startswith("already decided: approve at ")
    assert _ledger_decisions(app, case_id) == ["approve"]
    case = svc.case(case_id)
    assert (case.status, case.decision) == ("decided", "approve")
    assert case_id not in svc.unreconciled
    audit = [a for a in svc.audit_log(case_id) if a["action"] == "decide"]
    assert len(audit) == 1 and audit[0]["detail"]["reconciled_from_ledger"] is True


def test_start_up_brings_case_rows_in_line_with_the_ledger(app, case_id, clock):
    alice = _opened(app, case_id)
    with decision_commit_fails(app):
        r = post(alice, f"/review/api/cases/{case_id}/decision", {"decision": "approve"})
    assert r.status_code == 201
    assert app.extensions["review"].case(case_id).status == "queued"
    # the server restarts (nothing in memory is kept)
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0}, clock=clock)
    case = app.extensions["review"].case(case_id)
    assert (case.status, case.decision) == ("decided", "approve")
    assert case.decided_at == clock.now


# -- a package is verified before it is decided (#13 t13c row 2c) -----------------------------

def test_a_tampered_package_is_a_blocking_flag_and_cannot_be_decided(app, monkeypatch):
    import kiosk.review.service as service_mod

    calls = []
    real = service_mod.verify_package

    def counted(*a, **kw):
        calls.append(a[0])
        return real(*a, **kw)

    monkeypatch.setattr(service_mod, "verify_package", counted)
    good, bad = seal(app), seal(app)
    app.extensions["review"].poll()
    bag = app.extensions["kiosk"].settings.data_dir / "evidence" / bad
    (bag / "data" / "timeline.jsonl").write_bytes(b"")  # emptied after sealing
    sue = login(app, "sue")
    ok = sue.get(f"/review/api/cases/{good}").get_json()
    assert ok["package_verified"] is True and ok["package_problems"] == []
    body = sue.get(f"/review/api/cases/{bad}").get_json()
    assert body["package_verified"] is False
    assert any("timeline.jsonl" in p for p in body["package_problems"]), body["package_problems"]
    page = sue.get(f"/review/cases/{bad}")
    assert page.status_code == 200
    assert 'data-testid="package-problems"' in page.text
    assert "does not verify against its signed manifest" in page.text
    # shown from a check hashed once per package while its files stay as they are
    assert sorted(calls) == sorted([bag.parent / good, bag])
    r = post(sue, f"/review/api/cases/{bad}/decision", {"decision": "approve"})
    assert r.status_code == 409, r.get_json()
    assert "does not verify against its signed manifest" in r.get_json()["message"]
    assert _ledger_decisions(app, bad) == []
    assert calls.count(bag) == 2  # a decision hashes again, never trusts the cached check
    r = post(sue, f"/review/api/cases/{good}/decision", {"decision": "approve"})
    assert r.status_code == 201, r.get_json()


def test_an_edit_that_keeps_size_and_modification_time_is_caught_before_a_decision(app):
    """t13d: a file changed in place to the same size with its modification time set back
    kept the cached 'verified' and the decision was signed; kiosk evidence verify said FAILED."""
    import os

    case_id = seal(app)
    app.extensions["review"].poll()
    sue = login(app, "sue")
    assert sue.get(f"/review/api/cases/{case_id}").get_json()["package_verified"] is True
    report = app.extensions["kiosk"].settings.data_dir / "evidence" / case_id / "data" / \
        "report.json"
    st = report.stat()
    text = report.read_bytes()
    mid = len(text) // 2
    flipped = text[:mid] + bytes([text[mid] ^ 1]) + text[mid + 1:]  # same size, one bit
    report.write_bytes(flipped)
    os.utime(report, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = post(sue, f"/review/api/cases/{case_id}/decision", {"decision": "approve"})
    assert r.status_code == 409, r.get_json()
    assert "does not verify against its signed manifest" in r.get_json()["message"]
    assert _ledger_decisions(app, case_id) == []
