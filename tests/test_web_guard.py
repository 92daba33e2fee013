"""Checks every request gets (JSON size and depth, same-site ``next``) and the security headers
every page sends, in-process on a real app with real SQLite (issue #13, items 11 and 16)."""

from __future__ import annotations

import logging
import re

import pytest

from kiosk.config import load_settings
from kiosk.review.accounts import add_user
from kiosk.web.app import create_app
from kiosk.web.guard import json_depth, lone_surrogate, safe_next
from tests.kiosk_server import API_KEY, make_flows_dir

PW = "correct horse battery"


@pytest.fixture()
def app(tmp_path):
    settings = load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], demo=True, liveness=False, speech=False, brand_color="#aa0033",
    )
    app = create_app(settings)
    add_user(app.extensions["kiosk"].store, "amy", PW, "auditor")
    yield app
    app.extensions["kiosk"].shutdown()


@pytest.fixture()
def client(app):
    return app.test_client()


def new_link(client) -> str:
    r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": "110102199003078888"}, "flow_id": "quick"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["investor_url"].split("/", 3)[3]


# --------------------------------------------------------------------------- item 11: headers


def test_every_page_forbids_framing_and_inline_code(client):
    link = new_link(client)
    for path in ("/", "/kiosk", f"/{link}", "/w/" + "x" * 43, "/api/health",
                 "/brand/theme.css", "/static/investor.js"):
        r = client.get(path)
        assert r.status_code in (200, 404), path
        csp = r.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, path
        assert r.headers.get("X-Frame-Options") == "DENY", path
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert "script-src 'self'" in csp and "style-src 'self'" in csp, path
    # The investor page keeps its own stricter referrer rule (its URL holds the token).
    assert client.get(f"/{link}").headers["Referrer-Policy"] == "no-referrer"
    # The console keeps its own policy.
    assert client.get("/review/login").headers["Content-Security-Policy"].startswith(
        "default-src 'self'; img-src 'self' data:; media-src 'self'")


def test_the_investor_page_has_nothing_its_csp_blocks(client):
    """No inline script, style, style attribute or event handler: the page runs under the CSP."""
    for path in (f"/{new_link(client)}", "/kiosk", "/", "/w/" + "x" * 43):
        html = client.get(path).get_data(as_text=True)
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], path
        assert "<style" not in html and not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert "javascript:" not in html, path
    # The broker colour comes from a stylesheet file instead of a <style> element.
    html = client.get("/kiosk").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/brand/theme.css">' in html
    css = client.get("/brand/theme.css")
    assert css.mimetype == "text/css"
    assert css.get_data(as_text=True) == ":root { --brand: #aa0033; --teal: #aa0033; }\n"


def test_csp_names_the_socket_origin_for_older_safari(client):
    csp = client.get("/", headers={"Host": "kiosk.example.com"}).headers["Content-Security-Policy"]
    assert "connect-src 'self' ws://kiosk.example.com wss://kiosk.example.com;" in csp
    # A Host header that does not look like one is not echoed into the policy.
    csp = client.get("/", headers={"Host": "a;script-src *"}).headers["Content-Security-Policy"]
    assert "connect-src 'self';" in csp and "script-src *" not in csp


# --------------------------------------------------------------------------- item 16: bodies


def test_json_depth_counts_brackets_outside_strings():
    assert json_depth(b'{"a": [1, {"b": 2}]}') == 3
    assert json_depth(b'{"a": "[[[[[[[[\\"[[[["}') == 1
    assert json_depth(b"[" * 100_000) == 100_000
    assert json_depth(b"") == 0


def deep(n: int = 100_000) -> str:
    return "[" * n


@pytest.mark.parametrize("path, headers", [
    ("/api/sessions", {"X-API-Key": API_KEY}),
    ("/kiosk/next", {}),
    ("/review/api/login", {}),
    ("/review/api/flows/check", {}),
])
def test_deeply_nested_json_is_a_400_everywhere_without_a_traceback(client, caplog, path,
                                                                    headers):
    if path.startswith("/review/"):
        headers = {**headers, "X-CSRF-Token": client.get("/review/api/csrf").get_json()[
            "csrf_token"]}
    with caplog.at_level(logging.INFO):
        r = client.post(path, data=deep(), content_type="application/json", headers=headers)
        assert r.status_code == 400, (path, r.status_code)
        assert r.get_json() == {"error": "bad_request",
                                "message": "the JSON is nested deeper than 32 levels"}
        # Object nesting and a body that is deep but short are refused the same way.
        r = client.post(path, data='{"a":' * 40 + "1" + "}" * 40,
                        content_type="application/json", headers=headers)
        assert r.status_code == 400
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


@pytest.mark.parametrize("path, headers", [
    ("/api/sessions", {"X-API-Key": API_KEY}),
    ("/review/api/login", {}),
])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_json_body_that_is_not_utf8_is_refused_before_parsing(client, caplog, path, headers,
                                                                encoding):
    # UTF-16/32 bytes hide their nesting from json_depth, and json.loads decodes them: a deep
    # UTF-16 body was a 500 with a RecursionError traceback (#13 retest N1).
    if path.startswith("/review/"):
        headers = {**headers, "X-CSRF-Token": client.get("/review/api/csrf").get_json()[
            "csrf_token"]}
    with caplog.at_level(logging.INFO):
        for body in (deep(5000), '{"a": 1}'):
            r = client.post(path, data=body.encode(encoding), content_type="application/json",
                            headers=headers)
            assert r.status_code == 400, (path, encoding, r.status_code)
            assert r.get_json()["error"] == "bad_encoding"
        r = client.post(path, data=b'{"a": "\xff"}', content_type="application/json",
                        headers=headers)
        assert r.status_code == 400 and r.get_json()["error"] == "bad_encoding"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "Traceback" not in caplog.text


def test_ordinary_nesting_still_works(client):
    assert new_link(client).startswith("w/")


def test_an_oversized_json_body_is_refused_before_parsing(app, client):
    limit = app.extensions["kiosk"].settings.max_request_bytes
    r = client.post("/api/sessions", data=b"[" + b" " * limit + b"]",
                    content_type="application/json", headers={"X-API-Key": API_KEY})
    assert r.status_code == 413


# --------------------------------------------------------------------------- item 16: next


@pytest.mark.parametrize("value, ok", [
    ("", True), ("/review/", True), ("/review/cases/ab12?x=1", True),
    ("/review/\r\nSet-Cookie: x=1", False), ("//evil.example/", False), ("/\\evil.example", False),
    ("https://evil.example/review/", False), ("review/", False), ("/review/ x", False),
    ("/review/\x00", False), ("/révisé", False),
])
def test_next_must_be_a_same_site_path(value, ok):
    assert safe_next(value) is ok


def login_form(client) -> str:
    page = client.get("/review/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_crlf_in_the_login_next_is_a_400_not_a_500(client, caplog):
    csrf = login_form(client)
    with caplog.at_level(logging.INFO):
        r = client.get("/review/login?next=/review/%0d%0aSet-Cookie:x=1")
        assert r.status_code == 400 and "next must be a path on this site" in r.get_data(
            as_text=True)
        r = client.post("/review/login", data={"username": "amy", "password": PW,
                                               "csrf_token": csrf,
                                               "next": "/review/\r\nSet-Cookie: x=1"})
        assert r.status_code == 400 and "Set-Cookie" not in r.headers
        r = client.post("/review/login", data={"username": "amy", "password": PW,
                                               "csrf_token": csrf, "next": "//evil.example/"})
        assert r.status_code == 400
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    # A same-site next still leads there after logging in.
    r = client.post("/review/login", data={"username": "amy", "password": PW,
                                           "csrf_token": csrf, "next": "/review/"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/review/")


# --------------------------------------------------------------------------- lone surrogates


@pytest.mark.parametrize("path, headers, body, field", [
    ("/api/sessions", {"X-API-Key": API_KEY},
     '{"applicant":{"name":"a","id_number":"110102199003078888"},"external_ref":"\\udc00"}',
     "external_ref"),
    ("/api/sessions", {"X-API-Key": API_KEY},
     '{"applicant":{"name":"\\ud800","id_number":"110102199003078888"}}', "applicant.name"),
    ("/kiosk/next", {}, '{"x":["ok","a\\ud800b"]}', "x[1]"),
    ("/review/api/login", {}, '{"username":"amy","password":"\\udfff"}', "password"),
    ("/review/api/flows/check", {}, '{"flow_id":"f","text":"id: \\ud800"}', "text"),
    ("/review/api/login", {}, '{"\\ud800":1}', "(a key)"),
])
def test_a_lone_surrogate_is_a_400_naming_the_field_everywhere(client, caplog, path, headers,
                                                                body, field):
    if path.startswith("/review/"):
        headers = {**headers, "X-CSRF-Token": client.get("/review/api/csrf").get_json()[
            "csrf_token"]}
    with caplog.at_level(logging.INFO):
        r = client.post(path, data=body, content_type="application/json", headers=headers)
    assert r.status_code == 400, (path, r.status_code)
    assert r.get_json()["error"] == "lone_surrogate"
    assert r.get_json()["message"].startswith(f"{field} holds a lone surrogate")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_lone_surrogate_finds_the_first_bad_string_and_passes_valid_pairs():
    assert lone_surrogate({"a": ["x", {"b": "\U0001F600"}], "c": 1.5, "d": None}) is None
    assert lone_surrogate({"a": ["x", {"b": "y\udc00"}]}) == "a[1].b"
    assert lone_surrogate("\ud800") == "the body"
    assert lone_surrogate({"k" * 200: "\ud800"}) == "k" * 40
