"""The review console behind a real nginx terminating TLS on loopback (issue #13, items 3, 8
and 15): log in and decide over https through the proxy, the Origin check against the
forwarded scheme and host (or ``public_url``), the login throttle and the audit log keyed on
the real client address, which the test sets by binding its sockets to 127.0.0.x.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from kiosk.config import load_settings
from kiosk.review.accounts import add_user
from kiosk.review.console import register
from kiosk.review.sample import make_sealed_case
from kiosk.testing.server import free_port, serve_in_thread
from kiosk.web.app import create_app
from tests.nginx_proxy import TlsProxy, find_nginx

pytestmark = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed "
                                "(Debian: apt-get install nginx-light; dev.sh test does)")
PW = "correct horse battery"
STAFF_IP, ATTACKER_IP = "127.0.0.3", "127.0.0.2"


class FromAddress(HTTPAdapter):
    """Connections from a chosen loopback address, so nginx sees distinct clients."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def browser_like(proxy: TlsProxy, address: str) -> requests.Session:
    """A session that verifies the proxy's certificate and sends Origin like a browser."""
    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE (or a proxy) in the environment would win
    s.mount("https://", FromAddress(address))
    s.verify = str(proxy.cert)
    s.headers["Origin"] = proxy.url
    return s


def form_token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


@pytest.fixture()
def behind_nginx(tmp_path, request):
    """(app, proxy): the console served on loopback with trusted_proxy_hops=1, behind nginx."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    opts = getattr(request, "param", {})
    port = free_port()
    public_url = f"https://127.0.0.1:{port}" if opts.get("public_url") else ""
    app = create_app(load_settings(data_dir=tmp_path / "data", trusted_proxy_hops=1,
                                   public_url=public_url, liveness=False, speech=False))
    register(app, app.extensions["kiosk"],
             config={"poll_seconds": 0, **opts.get("review", {})})
    k = app.extensions["kiosk"]
    add_user(k.store, "alice", PW, "auditor")
    try:
        with serve_in_thread(app) as base, \
                TlsProxy(tmp_path / "nginx", urlsplit(base).port or 0, port=port) as proxy:
            yield app, proxy
    finally:
        k.shutdown()


def seal(app) -> str:
    k = app.extensions["kiosk"]
    pid = make_sealed_case(k.settings.data_dir, k.store, keys=k.evidence_keys, ledger=k.ledger,
                           seconds=3.0)
    app.extensions["review"].poll()
    return pid


@pytest.mark.parametrize("behind_nginx", [{"public_url": False}, {"public_url": True}],
                         indirect=True, ids=["origin-from-proxy", "origin-from-public-url"])
def test_log_in_and_decide_over_https_through_nginx(behind_nginx):
    app, proxy = behind_nginx
    svc = app.extensions["review"]
    form_case, api_case = seal(app), seal(app)
    s = browser_like(proxy, STAFF_IP)

    # the console pages, as a browser uses them
    tok = form_token(s.get(proxy.url + "/review/login").text)
    r = s.post(proxy.url + "/review/login", data={"username": "alice", "password": PW,
                                                  "csrf_token": tok}, allow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    assert r.headers["Location"] == "/review/"
    page = s.get(proxy.url + "/review/")
    assert page.status_code == 200 and "alice" in page.text
    tok = form_token(page.text)
    r = s.get(f"{proxy.url}/review/cases/{form_case}")
    assert r.status_code == 200 and 'data-testid="approve"' in r.text
    r = s.post(f"{proxy.url}/review/cases/{form_case}/decision",
               data={"csrf_token": tok, "decision": "approve"})
    assert r.status_code == 200 and "approve recorded" in r.text, r.text[:500]
    assert svc.case(form_case).status == "decided"

    # the JSON API through the same proxy
    api = browser_like(proxy, STAFF_IP)
    tok = api.get(proxy.url + "/review/api/csrf").json()["csrf_token"]
    r = api.post(proxy.url + "/review/api/login", json={"username": "alice", "password": PW},
                 headers={"X-CSRF-Token": tok})
    assert r.status_code == 200, r.text
    tok = r.json()["csrf_token"]
    assert api.get(f"{proxy.url}/review/api/cases/{api_case}").status_code == 200
    r = api.post(f"{proxy.url}/review/api/cases/{api_case}/decision",
                 json={"decision": "reject", "reasons": ["poor_quality"]},
                 headers={"X-CSRF-Token": tok, "Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "bad_origin"
    r = api.post(f"{proxy.url}/review/api/cases/{api_case}/decision",
                 json={"decision": "reject", "reasons": ["poor_quality"]},
                 headers={"X-CSRF-Token": tok})
    assert r.status_code == 201, r.text
    assert svc.case(api_case).decision == "reject"

    # the audit log holds the client's own address, not the proxy's
    entries = svc.audit_log()
    decides = [e for e in entries if e["action"] == "decide"]
    assert len(decides) == 2 and {e["ip"] for e in decides} == {STAFF_IP}
    assert {e["ip"] for e in entries} == {STAFF_IP}


@pytest.mark.parametrize("behind_nginx", [{"review": {"max_failed_logins_per_address": 4}}],
                         indirect=True)
def test_failed_logins_from_one_client_do_not_lock_out_the_others(behind_nginx):
    app, proxy = behind_nginx
    attacker = browser_like(proxy, ATTACKER_IP)
    tok = attacker.get(proxy.url + "/review/api/csrf").json()["csrf_token"]

    def attempt(name, password, forged):
        return attacker.post(proxy.url + "/review/api/login",
                             json={"username": name, "password": password},
                             headers={"X-CSRF-Token": tok, "X-Forwarded-For": forged})

    for i in range(4):  # a forged X-Forwarded-For changes nothing: nginx appends the peer
        assert attempt(f"ghost{i}", "wrong password!", f"203.0.113.{i}").status_code == 401
    assert attempt("alice", PW, "198.51.100.1").status_code == 401  # this client: throttled
    staff = browser_like(proxy, STAFF_IP)
    tok = staff.get(proxy.url + "/review/api/csrf").json()["csrf_token"]
    r = staff.post(proxy.url + "/review/api/login", json={"username": "alice", "password": PW},
                   headers={"X-CSRF-Token": tok})
    assert r.status_code == 200, r.text
    entries = app.extensions["review"].audit_log()
    assert {e["ip"] for e in entries if e["action"] == "login_failed"} == {ATTACKER_IP}
    assert [e["ip"] for e in entries if e["action"] == "login"] == [STAFF_IP]
