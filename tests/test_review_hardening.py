"""Review console hardening (issue #13, OWASP ASVS 5.0 probe): the decision lock, the Origin
check and the login throttle behind a trusted proxy, logout that ends the session on the
server, login timing that does not reveal locked accounts, and the address in every audit entry.

Real SQLite, real argon2, real sealed packages and Flask's test client; the same console
behind a real nginx with TLS is in test_review_nginx.py.
"""

from __future__ import annotations

import logging
import statistics
import time

import pytest

from kiosk.config import load_settings
from kiosk.review.accounts import add_user
from kiosk.review.console import register
from kiosk.web.app import create_app
from tests.test_review import PW, T0, Clock, form_token, seal

ALICE_IP, SUE_IP = "192.0.2.10", "192.0.2.20"


def make_app(tmp_path, clock, review=None, **settings):
    settings.setdefault("liveness", False)
    settings.setdefault("speech", False)
    app = create_app(load_settings(data_dir=tmp_path / "data", **settings))
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0, **(review or {})},
             clock=clock)
    store = app.extensions["kiosk"].store
    add_user(store, "alice", PW, "auditor")
    add_user(store, "bob", PW, "auditor")
    add_user(store, "sue", PW, "supervisor")
    return app


@pytest.fixture()
def clock():
    return Clock(T0)


@pytest.fixture()
def app(tmp_path, clock):
    app = make_app(tmp_path, clock)
    yield app
    app.extensions["kiosk"].shutdown()


@pytest.fixture()
def case_id(app):
    pid = seal(app)
    app.extensions["review"].poll()
    return pid


def client(app, ip="127.0.0.1", headers=None):
    """A test client whose socket peer is ``ip`` and which sends ``headers`` on every call."""
    c = app.test_client()
    c.environ_base.update({"REMOTE_ADDR": ip})
    for k, v in (headers or {}).items():
        c.environ_base["HTTP_" + k.upper().replace("-", "_")] = v
    return c


def api_login(c, name, password=PW):
    tok = c.get("/review/api/csrf").get_json()["csrf_token"]
    r = c.post("/review/api/login", json={"username": name, "password": password},
               headers={"X-CSRF-Token": tok})
    if r.status_code == 200:
        c.csrf = r.get_json()["csrf_token"]
    else:
        c.csrf = tok
    return r


def login(app, name, ip="127.0.0.1"):
    c = client(app, ip)
    r = api_login(c, name)
    assert r.status_code == 200, r.get_json()
    return c


def post(c, url, body=None, **kw):
    headers = {"X-CSRF-Token": c.csrf, **kw.pop("headers", {})}
    return c.post(url, json=body if body is not None else {}, headers=headers, **kw)


def actions(app, case_id=None):
    return [e["action"] for e in app.extensions["review"].audit_log(case_id)]


# -- #13.1: a decision needs the case lock, held by the decider, and an opened view ------------

def test_a_decision_needs_the_lock_and_an_opened_view(app, case_id, clock):
    alice, sue = login(app, "alice"), login(app, "sue")
    url = f"/review/api/cases/{case_id}/decision"
    for who in (alice, sue):  # never opened, never locked
        r = post(who, url, {"decision": "approve"})
        assert r.status_code == 409, r.get_json()
        assert r.get_json()["error"] == "conflict"
        assert "open the case" in r.get_json()["message"]
    # locked by "take next", but never looked at
    assert post(alice, "/review/api/next").get_json()["case"]["case_id"] == case_id
    r = post(alice, url, {"decision": "approve"})
    assert r.status_code == 409 and "open the case" in r.get_json()["message"]
    # opened, then the lock idled out (10 min)
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200
    clock.advance(minutes=11)
    r = post(alice, url, {"decision": "approve"})
    assert r.status_code == 409 and "lock" in r.get_json()["message"]
    # a supervisor who opened it while alice held it reads it, but the lock stays alice's
    assert app.extensions["review"].case(case_id).status == "queued"
    assert "decide" not in actions(app, case_id)
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200  # locks it again
    assert sue.get(f"/review/api/cases/{case_id}").status_code == 200
    r = post(sue, url, {"decision": "approve"})
    assert r.status_code == 423, r.get_json()
    r = post(alice, url, {"decision": "approve"})
    assert r.status_code == 201, r.get_json()
    assert actions(app, case_id).count("decide") == 1


def test_a_supervisor_decides_after_opening_the_case(app, case_id):
    sue = login(app, "sue")
    assert sue.get(f"/review/api/cases/{case_id}").status_code == 200
    r = post(sue, f"/review/api/cases/{case_id}/decision", {"decision": "approve"})
    assert r.status_code == 201, r.get_json()


def test_the_decision_form_without_the_lock_is_refused_with_a_message(app, case_id):
    c = client(app)
    tok = form_token(c.get("/review/login").text)
    r = c.post("/review/login", data={"username": "alice", "password": PW, "csrf_token": tok})
    assert r.status_code == 303
    tok = form_token(c.get("/review/").text)
    r = c.post(f"/review/cases/{case_id}/decision",
               data={"csrf_token": tok, "decision": "approve"}, follow_redirects=True)
    assert "open the case" in r.text and "recorded" not in r.text
    assert app.extensions["review"].case(case_id).status == "queued"
    assert "decide" not in actions(app, case_id)
    # the normal path: open the page (it locks the case), then decide
    assert c.get(f"/review/cases/{case_id}").status_code == 200
    r = c.post(f"/review/cases/{case_id}/decision",
               data={"csrf_token": tok, "decision": "approve"}, follow_redirects=True)
    assert "approve recorded" in r.text


# -- #13.3: the Origin check behind a TLS proxy -------------------------------------------------

def test_origin_is_checked_against_public_url(tmp_path, clock):
    app = make_app(tmp_path, clock, public_url="https://kiosk.example/")
    try:
        for origin, status in (("https://kiosk.example", 200),
                               ("https://KIOSK.example:443", 200),
                               ("http://kiosk.example", 403),
                               ("https://kiosk.example:8443", 403),
                               ("https://evil.example", 403),
                               ("null", 403)):
            c = client(app)
            tok = c.get("/review/api/csrf").get_json()["csrf_token"]
            r = c.post("/review/api/login", json={"username": "alice", "password": PW},
                       headers={"X-CSRF-Token": tok, "Origin": origin})
            assert r.status_code == status, (origin, r.get_json())
            if status == 403:
                assert r.get_json()["error"] == "bad_origin"
        c = client(app)  # a Referer of the same origin stands in for a missing Origin
        tok = c.get("/review/api/csrf").get_json()["csrf_token"]
        r = c.post("/review/api/login", json={"username": "alice", "password": PW},
                   headers={"X-CSRF-Token": tok, "Referer": "https://kiosk.example/review/login"})
        assert r.status_code == 200
    finally:
        app.extensions["kiosk"].shutdown()


@pytest.mark.parametrize("hops, status", [(1, 200), (0, 403)])
def test_origin_follows_the_forwarded_scheme_and_host_only_from_a_trusted_proxy(
        tmp_path, clock, hops, status):
    app = make_app(tmp_path, clock, trusted_proxy_hops=hops)
    try:
        c = client(app, headers={"X-Forwarded-Proto": "https",
                                 "X-Forwarded-Host": "console.example",
                                 "X-Forwarded-For": "198.51.100.7"})
        tok = c.get("/review/api/csrf").get_json()["csrf_token"]
        r = c.post("/review/api/login", json={"username": "alice", "password": PW},
                   headers={"X-CSRF-Token": tok, "Origin": "https://console.example"})
        assert r.status_code == status, r.get_json()
    finally:
        app.extensions["kiosk"].shutdown()


@pytest.mark.parametrize("proto", ["https", "HTTPS", "Https"])
@pytest.mark.parametrize("hops, secure", [(1, True), (0, False)])
def test_the_console_cookie_is_secure_when_a_trusted_proxy_says_https(tmp_path, clock, hops,
                                                                      secure, proto):
    """t13c row 3b: behind TLS with trusted_proxy_hops and no public_url the cookie was not
    Secure, though every request arrived over https; and (h13l) not when the proxy wrote the
    scheme in capitals: a URL scheme is case-insensitive."""
    app = make_app(tmp_path, clock, trusted_proxy_hops=hops)
    try:
        c = client(app, headers={"X-Forwarded-Proto": proto,
                                 "X-Forwarded-Host": "console.example"})
        tok = c.get("/review/api/csrf").get_json()["csrf_token"]
        origin = "https://console.example" if hops else "http://localhost"
        r = c.post("/review/api/login", json={"username": "alice", "password": PW},
                   headers={"X-CSRF-Token": tok, "Origin": origin})
        assert r.status_code == 200, r.get_json()
        cookies = r.headers.getlist("Set-Cookie")
        assert cookies and all(("; Secure" in v) == secure for v in cookies), cookies
        assert all("HttpOnly" in v and "SameSite=Strict" in v for v in cookies)
    finally:
        app.extensions["kiosk"].shutdown()


def test_the_console_cookie_is_secure_with_an_upper_case_https_public_url(tmp_path, clock):
    app = make_app(tmp_path, clock, public_url="HTTPS://Kiosk.example/")
    try:
        assert app.extensions["kiosk"].settings.base_url() == "https://Kiosk.example"
        c = client(app)
        tok = c.get("/review/api/csrf").get_json()["csrf_token"]
        r = c.post("/review/api/login", json={"username": "alice", "password": PW},
                   headers={"X-CSRF-Token": tok, "Origin": "https://kiosk.example"})
        assert r.status_code == 200, r.get_json()
        cookies = r.headers.getlist("Set-Cookie")
        assert cookies and all("; Secure" in v for v in cookies), cookies
    finally:
        app.extensions["kiosk"].shutdown()


@pytest.mark.parametrize("proto", ["https", "HTTPS"])
@pytest.mark.parametrize("hops", [1, 0])
def test_socket_io_accepts_the_browsers_origin_whatever_the_case_of_the_forwarded_scheme(
        tmp_path, clock, proto, hops):
    """Engine.IO's same-origin check builds ``scheme://host`` from the request (and from
    X-Forwarded-Proto/-Host, which it reads itself, trusted proxies or not) and compares it
    with the browser's (always lower-case) Origin: an upper-case X-Forwarded-Proto refused the
    investor's socket with 400."""
    app = make_app(tmp_path, clock, trusted_proxy_hops=hops)
    try:
        c = client(app, headers={"X-Forwarded-Proto": proto,
                                 "X-Forwarded-Host": "kiosk.example"})
        r = c.get("/socket.io/?EIO=4&transport=polling",
                  headers={"Origin": "https://kiosk.example"})
        assert r.status_code == 200, r.get_data(as_text=True)
        assert r.get_data(as_text=True).startswith("0{")  # Engine.IO's open packet
        r = c.get("/socket.io/?EIO=4&transport=polling",
                  headers={"Origin": "https://evil.example"})
        assert r.status_code == 400  # still same-origin only
    finally:
        app.extensions["kiosk"].shutdown()


def test_trusted_proxy_hops_must_not_be_negative(tmp_path):
    from kiosk.errors import ConfigError

    with pytest.raises(ConfigError, match="trusted_proxy_hops"):
        load_settings(data_dir=tmp_path / "data", trusted_proxy_hops=-1)


# -- #13.8: the login throttle keys on the real client only through a trusted proxy -------------

def fail_logins(c, n):
    for i in range(n):
        assert api_login(c, f"ghost{i}", "wrong password!").status_code == 401


def test_the_address_throttle_keys_on_the_client_behind_a_trusted_proxy(tmp_path, clock):
    app = make_app(tmp_path, clock, trusted_proxy_hops=1,
                   review={"max_failed_logins_per_address": 4})
    try:
        # the proxy (127.0.0.1) appends the real peer to whatever the client sent
        attacker = client(app, headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.9"})
        fail_logins(attacker, 4)
        assert api_login(attacker, "alice").status_code == 401  # throttled, right password
        spoof = client(app, headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
        assert api_login(spoof, "alice").status_code == 401  # a forged first hop is no escape
        staff = client(app, headers={"X-Forwarded-For": "198.51.100.7"})
        assert api_login(staff, "alice").status_code == 200
        failed = [e for e in app.extensions["review"].audit_log() if e["action"] ==
                  "login_failed"]
        assert {e["ip"] for e in failed} == {"203.0.113.9"}
        assert failed[0]["detail"]["why"] == "address_throttled"
    finally:
        app.extensions["kiosk"].shutdown()


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(tmp_path, clock):
    app = make_app(tmp_path, clock, review={"max_failed_logins_per_address": 4})
    try:
        for i in range(4):
            c = client(app, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            fail_logins(c, 1)
        c = client(app, headers={"X-Forwarded-For": "198.51.100.7"})
        assert api_login(c, "alice").status_code == 401  # the same socket peer: throttled
        assert api_login(client(app, ip="127.0.0.2"), "alice").status_code == 200
        assert {e["ip"] for e in app.extensions["review"].audit_log()} == {"127.0.0.1",
                                                                           "127.0.0.2"}
    finally:
        app.extensions["kiosk"].shutdown()


# -- #13.9: logout ends the session on the server ----------------------------------------------

@pytest.mark.parametrize("via", ["api", "form"])
def test_a_cookie_copied_before_logout_is_dead_after_it(app, case_id, via):
    alice = login(app, "alice")
    assert alice.get("/review/api/queue").status_code == 200
    copied = alice.get_cookie("session").value
    csrf = alice.csrf
    if via == "api":
        assert post(alice, "/review/api/logout").status_code == 200
    else:
        tok = form_token(alice.get("/review/").text)
        assert alice.post("/review/logout", data={"csrf_token": tok}).status_code == 303
    thief = client(app)

    def replay(method, url, **kw):  # the copied cookie, as it was, on every request
        thief.set_cookie("session", copied)
        return thief.open(url, method=method, **kw)

    assert replay("GET", "/review/api/queue").status_code == 401
    r = replay("GET", f"/review/cases/{case_id}")
    assert r.status_code == 302 and "/review/login" in r.headers["Location"]
    r = replay("POST", "/review/api/next", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401, r.get_json()
    r = replay("POST", f"/review/api/cases/{case_id}/release", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401, r.get_json()
    assert app.extensions["review"].case(case_id).locked_by is None
    assert "logout" in actions(app)
    again = login(app, "alice")  # logging in again works
    assert again.get("/review/api/queue").status_code == 200


def test_a_database_from_before_session_generations_is_upgraded(app, clock):
    import sqlalchemy as sa

    engine = app.extensions["kiosk"].store.engine
    with engine.begin() as con:  # the table as the previous version made it
        con.execute(sa.text("ALTER TABLE review_users DROP COLUMN session_generation"))
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0}, clock=clock)
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0}, clock=clock)  # again
    alice = login(app, "alice")
    assert post(alice, "/review/api/logout").status_code == 200
    assert alice.get("/review/api/queue").status_code == 401


# -- #13.12: a locked or unknown account costs the same time as a wrong password ---------------

def test_a_locked_account_answers_as_slowly_as_a_wrong_password(app):
    c = client(app)
    for _ in range(5):
        assert api_login(c, "bob", "wrong password!").status_code == 401  # bob is locked

    def timed(name, password):
        t0 = time.perf_counter()
        assert api_login(c, name, password).status_code == 401
        return time.perf_counter() - t0

    wrong, locked, unknown = [], [], []
    for _ in range(3):  # interleaved, so machine load hits all three alike
        wrong.append(timed("alice", "wrong password!"))
        locked.append(timed("bob", PW))
        unknown.append(timed("nobody-here", PW))
    normal = statistics.median(wrong)
    assert statistics.median(locked) >= 0.5 * normal, (locked, wrong)
    assert statistics.median(unknown) >= 0.5 * normal, (unknown, wrong)


# -- #13.15: every audit entry has the client's address -------------------------------------------

def test_every_audit_entry_records_the_client_address(app, clock):
    svc = app.extensions["review"]
    first, second = seal(app), seal(app)
    svc.poll()
    bad = client(app, ip="192.0.2.99")
    for _ in range(5):
        api_login(bad, "bob", "wrong password!")  # login_failed x5 and a lockout
    alice, sue = login(app, "alice", ALICE_IP), login(app, "sue", SUE_IP)
    assert alice.get(f"/review/api/cases/{first}").status_code == 200
    assert alice.get(f"/review/api/cases/{first}/report").status_code == 200
    assert post(alice, f"/review/api/cases/{first}/release").status_code == 200
    assert alice.get(f"/review/cases/{first}").status_code == 200
    r = post(alice, f"/review/api/cases/{first}/decision", {"decision": "approve"})
    assert r.status_code == 201, r.get_json()
    uid = next(u.id for u in svc.users() if u.username == "bob")
    assert post(sue, f"/review/api/cases/{second}/assign", {"user_id": uid}).status_code == 200
    assert sue.get(f"/review/api/cases/{second}").status_code == 200
    clock.advance(minutes=11)
    assert sue.get("/review/api/queue").status_code == 200  # the poll frees the idle lock
    assert post(alice, "/review/api/logout").status_code == 200
    entries = sue.get("/review/api/audit").get_json()["entries"]
    got = {(e["action"], e["ip"]) for e in entries}
    want = {("login_failed", "192.0.2.99"), ("lockout", "192.0.2.99"),
            ("login", ALICE_IP), ("login", SUE_IP), ("view_api", ALICE_IP),
            ("view_report", ALICE_IP), ("lock_released", ALICE_IP), ("view", ALICE_IP),
            ("decide", ALICE_IP), ("reassign", SUE_IP), ("view_api", SUE_IP),
            ("lock_released", SUE_IP), ("logout", ALICE_IP)}
    assert want <= got, sorted(got)
    assert all(e["ip"] for e in entries), [e for e in entries if not e["ip"]]
    released = [e for e in entries if e["action"] == "lock_released"]
    assert sorted(e["detail"]["reason"] for e in released) == ["idle", "released"]


def test_audit_entries_made_by_the_poller_have_no_client(app, clock):
    svc = app.extensions["review"]
    pid = seal(app)
    svc.poll()
    svc.take_next({"uid": 1, "role": "auditor", "name": "alice"})
    clock.advance(minutes=11)
    svc.poll()  # outside any request, like the poller thread
    entry = next(e for e in svc.audit_log(pid) if e["action"] == "lock_released")
    assert entry["ip"] == "" and entry["user"] == ""


def test_malformed_decision_and_assignment_bodies_are_422_not_500(app, case_id):
    """#13 retest: reasons [{}] (TypeError), note {} (AttributeError) and a user_id past the
    database's integer (OverflowError) were 500s with tracebacks; true was taken as user 1."""
    alice, sue = login(app, "alice"), login(app, "sue")
    url = f"/review/api/cases/{case_id}/decision"
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200  # opened and locked
    for body in ({"decision": "reject", "reasons": [{}]}, {"decision": "approve", "note": {}},
                 {"decision": "reject", "reasons": "face_match"}):
        r = post(alice, url, body)
        assert r.status_code == 422, (body, r.status_code, r.get_json())
    assert "decide" not in actions(app, case_id)
    assign = f"/review/api/cases/{case_id}/assign"
    for user_id in (2**63, -2**63 - 1, True, 0, -1, 1.5, "1"):
        r = post(sue, assign, {"user_id": user_id})
        assert r.status_code == 422, (user_id, r.status_code, r.get_json())
    assert post(alice, url, {"decision": "approve"}).status_code == 201


# -- #13 retest, new 1: a lone surrogate is a 400 naming the field, never a 500 -----------------

SURROGATE = '"a\\ud800b"'  # JSON text: a \u escape for a lone high surrogate


def test_a_lone_surrogate_in_the_login_or_a_decision_note_is_a_400(app, case_id, caplog):
    c = client(app)
    tok = c.get("/review/api/csrf").get_json()["csrf_token"]
    for body, field in ((f'{{"username":{SURROGATE},"password":"x"}}', "username"),
                        (f'{{"username":"alice","password":{SURROGATE}}}', "password")):
        r = c.post("/review/api/login", data=body, content_type="application/json",
                   headers={"X-CSRF-Token": tok})
        assert r.status_code == 400, r.status_code
        assert r.get_json()["error"] == "lone_surrogate"
        assert r.get_json()["message"].startswith(f"{field} holds a lone surrogate")
    alice = login(app, "alice")
    assert alice.get(f"/review/api/cases/{case_id}").status_code == 200
    r = alice.post(f"/review/api/cases/{case_id}/decision", content_type="application/json",
                   data=f'{{"decision":"reject","reasons":["other"],"note":{SURROGATE}}}',
                   headers={"X-CSRF-Token": alice.csrf})
    assert r.status_code == 400 and r.get_json()["message"].startswith("note holds")
    # A valid pair (U+1F600 as two escapes) is a character and passes.
    r = alice.post(f"/review/api/cases/{case_id}/decision", content_type="application/json",
                   data='{"decision":"reject","reasons":["other"],"note":"ok \\ud83d\\ude00"}',
                   headers={"X-CSRF-Token": alice.csrf})
    assert r.status_code == 201, r.get_json()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "Traceback" not in caplog.text
