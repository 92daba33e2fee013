"""A flow published on the broker page runs wherever a session reads its flow, at the exact
version the session was created with; investor tokens never reach a log (issue #13, item 4)."""

from __future__ import annotations

import io
import logging
import re

import pytest

from kiosk.config import load_settings
from kiosk.errors import FlowError
from kiosk.flows.versions import session_flow
from kiosk.logs import RedactFilter, configure_logging, redact
from kiosk.resources import SHIPPED_FLOWS_DIR
from kiosk.review.accounts import add_user
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir

PW = "correct horse battery"
DEFAULT = (SHIPPED_FLOWS_DIR / "securities_account_opening.yaml").read_text(encoding="utf-8")
COPY = DEFAULT.replace("id: securities_account_opening", "id: branch_copy", 1)


@pytest.fixture()
def app(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data",
                             flows_dir=make_flows_dir(tmp_path / "flows"), api_keys=[API_KEY],
                             liveness=False, speech=False)
    app = create_app(settings)
    add_user(app.extensions["kiosk"].store, "brenda", PW, "broker_admin")
    yield app
    app.extensions["kiosk"].shutdown()


def publish(app, text: str, base_hash=None) -> dict:
    c = app.test_client()
    tok = c.get("/review/api/csrf").get_json()["csrf_token"]
    r = c.post("/review/api/login", json={"username": "brenda", "password": PW},
               headers={"X-CSRF-Token": tok})
    csrf = r.get_json()["csrf_token"]
    r = c.post("/review/api/flows/publish", json={"flow_id": "branch_copy", "text": text,
                                                   "base_hash": base_hash},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["version"]


def create(client, flow_id="branch_copy"):
    r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": "110102199003078888"}, "flow_id": flow_id})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_a_flow_published_only_on_the_broker_page_runs_end_to_end(app, caplog):
    assert not (app.extensions["kiosk"].settings.flows_dir / "branch_copy.yaml").exists()
    v1 = publish(app, COPY)
    client = app.test_client()
    with caplog.at_level(logging.DEBUG):
        body = create(client)
        token = body["investor_url"].rsplit("/", 1)[1]
        assert body["flow"] == {"id": "branch_copy", "version": v1["version"],
                                "hash": v1["content_hash"]}
        page = client.get(f"/w/{token}")
        assert page.status_code == 200, page.get_data(as_text=True)[:300]
        assert "示例证券" in page.get_data(as_text=True)  # the flow's broker name
        assert client.get("/kiosk?flow=branch_copy").status_code == 200
        sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
        sock.emit("join", {"token": token})
        assert [m["name"] for m in sock.get_received()][:1] == ["joined"]
        controller = app.extensions["kiosk"].live()[0]
        assert controller.flow.content_hash == v1["content_hash"]
        sock.disconnect()
        assert controller.finalised.wait(10)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert token not in caplog.text


def test_a_session_keeps_its_version_when_a_newer_one_is_published(app):
    v1 = publish(app, COPY)
    client = app.test_client()
    body = create(client)
    v2 = publish(app, COPY.replace("version: 1", "version: 2", 1), base_hash=v1["content_hash"])
    assert v2["version"] == 2
    svc = app.extensions["kiosk"]
    row = svc.store.get(body["session_id"])
    assert session_flow(svc, row).content_hash == v1["content_hash"]
    # Without the session's copy, the published version with its number and hash is used.
    (svc.store.session_dir(row.id) / "flow.yaml").unlink()
    assert session_flow(svc, row).content_hash == v1["content_hash"]
    token = body["investor_url"].rsplit("/", 1)[1]
    assert client.get(f"/w/{token}").status_code == 200
    # A hash that matches nothing is refused, and the page says so kindly (no 500).
    svc.store.set(row.id, flow_hash="0" * 64)
    with pytest.raises(FlowError, match="is not available"):
        session_flow(svc, svc.store.get(row.id))
    page = client.get(f"/w/{token}")
    assert page.status_code == 503 and 'data-code="flow_missing"' in page.get_data(as_text=True)


def test_tokens_and_id_numbers_are_masked_in_every_log_line(capsys):
    token = "Zx9_-" + "a" * 38
    assert redact(f"Exception on /w/{token} [GET]") == "Exception on /w/<token> [GET]"
    assert redact("id 11010519491231002X here") == "id <id-number> here"
    assert redact("session 0123456789abcdef0123456789abcdef") == (
        "session 0123456789abcdef0123456789abcdef")
    configure_logging("json", "INFO")
    try:
        logger = logging.getLogger("flask.app")
        try:
            raise ValueError(f"bad link /w/{token} for 110102199003078888")
        except ValueError:
            logger.exception("Exception on %s [%s]", f"/w/{token}", "GET")
        err = capsys.readouterr().err
    finally:
        for h in list(logging.getLogger().handlers):
            if getattr(h, "_kiosk", False):
                logging.getLogger().removeHandler(h)
    assert "Exception on /w/<token> [GET]" in err and "<id-number>" in err
    assert token not in err and "110102199003078888" not in err
    # The filter works on any handler too (a deployment that adds its own).
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter())
    other = logging.getLogger("kiosk.test.redact")
    other.addHandler(handler)
    other.propagate = False
    other.warning("GET /w/%s", token)
    assert re.fullmatch(r"GET /w/<token>\n", stream.getvalue())
