"""Back-office API, investor links and socket input validation, in-process (no browser)."""

import base64
import datetime as dt
import io

import pytest
from PIL import Image

from kiosk.config import load_settings
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir

GOOD_SDP_HEAD = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.fixture()
def app(tmp_path):
    settings = load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], demo=True, link_ttl_seconds=60,
    )
    app = create_app(settings)
    yield app
    app.extensions["kiosk"].shutdown()


@pytest.fixture()
def client(app):
    return app.test_client()


def create(client, **body):
    payload = {"applicant": {"name": "张三", "id_number": "110102199003078888"},
               "locale": "zh-CN", "flow_id": "quick"}
    payload.update(body)
    return client.post("/api/sessions", json=payload, headers={"X-API-Key": API_KEY})


def token_of(resp) -> str:
    return resp.get_json()["investor_url"].rsplit("/", 1)[1]


def test_create_session_returns_an_unguessable_expiring_link(client, app):
    r = create(client)
    assert r.status_code == 201
    body = r.get_json()
    token = token_of(r)
    assert len(token) >= 40 and body["investor_url"].startswith("http://127.0.0.1:5000/w/")
    expires = dt.datetime.fromisoformat(body["expires_at"].rstrip("Z"))
    assert 50 <= (expires - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds() <= 61
    # The token itself is never stored, only its hash.
    db_file = app.extensions["kiosk"].settings.data_dir / "kiosk.sqlite3"
    assert token.encode() not in db_file.read_bytes()
    assert client.get(f"/w/{token}").status_code == 200
    info = client.get(f"/api/sessions/{body['session_id']}",
                      headers={"X-API-Key": API_KEY}).get_json()
    assert info["state"] == "created" and "id_number" not in str(info)
    # One UTC form (kiosk.utc.utc_iso) for the link's expiry, whoever reports it.
    assert info["expires_at"] == body["expires_at"] and body["expires_at"].endswith("Z")


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer nope"}])
def test_api_key_is_required(client, headers):
    r = client.post("/api/sessions", json={}, headers=headers)
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_bearer_key_works(client):
    r = client.post("/api/sessions", json={"applicant": {"name": "A", "id_number": "E12345678",
                                                         "id_type": "prc_passport"},
                                           "locale": "en", "flow_id": "quick"},
                    headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 201


@pytest.mark.parametrize("body, field", [
    ({"locale": "fr"}, "locale"),
    ({"applicant": {"name": "", "id_number": "110102199003078888"}}, "applicant.name"),
    ({"applicant": {"name": "A", "id_number": "../../etc"}}, "applicant.id_number"),
    ({"applicant": {"name": "{name}", "id_number": "110102199003078888"}}, "applicant.name"),
    ({"surprise": 1}, "surprise"),
])
def test_invalid_bodies_name_the_field(client, body, field):
    r = create(client, **body)
    assert r.status_code == 422
    assert field in [p["field"] for p in r.get_json()["problems"]]


def test_a_name_in_a_script_no_voice_says_is_refused_naming_the_field(client):
    r = create(client, applicant={"name": "Д. Иванов", "id_number": "110102199003078888"})
    assert r.status_code == 422
    (problem,) = r.get_json()["problems"]
    assert problem["field"] == "applicant.name"
    assert "Cyrillic" in problem["message"] and "Latin letters" in problem["message"]


def test_unknown_flow_is_refused(client):
    r = create(client, flow_id="no_such_flow")
    assert r.status_code == 404 and r.get_json()["error"] == "unknown_flow"
    r = create(client, flow_id="../flows/quick")
    assert r.status_code in (404, 422)


def test_id_photo_is_checked(client, app):
    r = create(client, applicant={"name": "A", "id_number": "11010519491231002X",
                                  "id_photo": "@@@"})
    assert r.status_code == 422 and "base64" in r.get_json()["message"]
    r = create(client, applicant={"name": "A", "id_number": "11010519491231002X",
                                  "id_photo": base64.b64encode(b"GIF89a....").decode()})
    assert r.status_code == 422 and "JPEG or PNG" in r.get_json()["message"]
    fake = b"\xff\xd8\xff\xe0" + b"\0" * 100  # the magic bytes, then no image
    r = create(client, applicant={"name": "A", "id_number": "11010519491231002X",
                                  "id_photo": base64.b64encode(fake).decode()})
    assert r.status_code == 422 and "not a readable JPEG or PNG" in r.get_json()["message"]
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(buf, format="JPEG")
    jpeg = buf.getvalue()
    r = create(client, applicant={"name": "A", "id_number": "11010519491231002X",
                                  "id_photo": base64.b64encode(jpeg).decode()})
    assert r.status_code == 201
    folder = app.extensions["kiosk"].store.session_dir(r.get_json()["session_id"])
    assert (folder / "id_photo.jpg").read_bytes() == jpeg


def test_expired_and_unknown_links_get_a_kind_page(client, app):
    r = create(client)
    token = token_of(r)
    store = app.extensions["kiosk"].store
    store.set(r.get_json()["session_id"], expires_at=dt.datetime(2000, 1, 1))
    page = client.get(f"/w/{token}")
    assert page.status_code == 410 and "过期" in page.get_data(as_text=True)
    page = client.get("/w/" + "x" * 43)
    assert page.status_code == 404 and 'data-code="link_invalid"' in page.get_data(as_text=True)


def test_demo_page_creates_a_session_for_a_sample_applicant(client):
    r = client.get("/demo?lang=en")
    assert r.status_code == 303 and r.headers["Location"].startswith("/w/")
    assert client.get(r.headers["Location"]).status_code == 200


def test_prompt_files_are_served_by_hash_only(client):
    for bad in ("../kiosk.sqlite3", "x.wav", "A" * 64 + ".wav", "%2e%2e%2fsecret_key"):
        assert client.get(f"/media/prompts/{bad}").status_code == 404


# ---------------------------------------------------------------- socket messages


def sock(app, client):
    return app.extensions["socketio"].test_client(app, flask_test_client=client)


def errors(received):
    return [m["args"][0] for m in received if m["name"] == "error"]


def test_a_link_can_be_joined_only_once(app, client):
    token = token_of(create(client))
    first = sock(app, client)
    first.emit("join", {"token": token})
    got = first.get_received()
    assert [m["name"] for m in got][:1] == ["joined"]
    second = sock(app, client)
    second.emit("join", {"token": token})
    assert errors(second.get_received())[0]["code"] == "link_used"
    assert client.get(f"/w/{token}").status_code == 410
    first.disconnect()


@pytest.mark.parametrize("token", [None, 5, "short", "x" * 500, "y" * 43])
def test_join_with_a_bad_token_is_refused(app, client, token):
    c = sock(app, client)
    c.emit("join", {"token": token})
    assert errors(c.get_received())[0]["code"] == "link_invalid"


def test_messages_before_join_are_refused(app, client):
    c = sock(app, client)
    for event in ("offer", "prompt_ended", "cancel"):
        c.emit(event, {"sdp": "v=0", "seq": 1})
        assert errors(c.get_received())[0]["code"] == "out_of_order"


BAD_OFFERS = [
    ({"sdp": ""}, "no SDP"),
    ({"sdp": 12}, "no SDP"),
    ({"sdp": "hello"}, "must start with v=0"),
    ({"sdp": "v=0\r\n" + "a=x\r\n" * 8000}, "larger than"),
    ({"sdp": GOOD_SDP_HEAD}, "carries no media"),
    ({"sdp": GOOD_SDP_HEAD + "m=video 9 UDP/TLS/RTP/SAVPF\r\n"}, "is incomplete"),
    ({"sdp": GOOD_SDP_HEAD, "type": "answer"}, "type: 'offer'"),
]


@pytest.mark.parametrize("payload, message", BAD_OFFERS)
def test_bad_offers_get_a_clear_error_and_leak_nothing(app, client, payload, message):
    token = token_of(create(client))
    c = sock(app, client)
    c.emit("join", {"token": token})
    c.get_received()
    c.emit("offer", payload)
    err = errors(c.get_received())
    assert err and err[0]["code"] == "bad_offer" and message in err[0]["message"], err
    controller = app.extensions["kiosk"].live()[0]
    assert controller.peer is None and not controller.state.terminal
    events = [e["type"] for e in controller.timeline.events]
    assert "offer_refused" in events
    c.disconnect()
    assert controller.finalised.wait(10)
    assert controller.state.phase == "aborted" and controller.state.end_reason == "disconnected"


def test_out_of_order_prompt_reports_are_refused(app, client):
    token = token_of(create(client))
    c = sock(app, client)
    c.emit("join", {"token": token})
    c.get_received()
    c.emit("prompt_ended", {"seq": 99})
    assert errors(c.get_received())[0]["code"] == "out_of_order"
    c.emit("prompt_ended", {"seq": "1; drop table"})
    assert errors(c.get_received())[0]["code"] == "bad_message"
    c.emit("client_error", {"code": "<script>"})
    assert errors(c.get_received())[0]["code"] == "bad_message"
    c.disconnect()


def test_cancel_before_media_ends_the_session_as_aborted(app, client):
    r = create(client)
    c = sock(app, client)
    c.emit("join", {"token": token_of(r)})
    c.get_received()
    controller = app.extensions["kiosk"].live()[0]
    c.emit("cancel", {})
    assert controller.finalised.wait(10)
    row = app.extensions["kiosk"].store.get(r.get_json()["session_id"])
    assert (row.state, row.end_reason) == ("aborted", "cancelled")
    events = [e["type"] for e in controller.timeline.events]
    assert "aborted" in events and events[-1] == "recording_missing"


def test_a_session_runs_the_exact_script_it_was_created_with(app, client):
    r = create(client)
    flows_dir = app.extensions["kiosk"].settings.flows_dir
    original = (flows_dir / "quick.yaml").read_text(encoding="utf-8")
    (flows_dir / "quick.yaml").write_text(original.replace("您好。", "您好，已修改。"),
                                          encoding="utf-8")
    c = sock(app, client)
    c.emit("join", {"token": token_of(r)})
    c.get_received()
    controller = app.extensions["kiosk"].live()[0]
    assert controller.plan[0].text == "您好。"
    assert controller.flow.content_hash == r.get_json()["flow"]["hash"]
    folder = app.extensions["kiosk"].store.session_dir(r.get_json()["session_id"])
    assert (folder / "flow.yaml").read_text(encoding="utf-8") == original
    c.disconnect()


def test_review_verdict_needs_a_key_and_a_sealed_session(client):
    sid = create(client).get_json()["session_id"]
    url = f"/api/sessions/{sid}/review"
    assert client.get(url).status_code == 401
    r = client.get(url, headers={"X-API-Key": API_KEY})
    assert r.status_code == 409 and r.get_json()["error"] == "not_sealed"
    r = client.get("/api/sessions/0123456789abcdef0123456789abcdef/review",
                   headers={"X-API-Key": API_KEY})
    assert r.status_code == 404
    assert client.get("/api/sessions/..%2F..%2Fetc/review",
                      headers={"X-API-Key": API_KEY}).status_code == 404


def test_ready_answers_503_until_the_face_models_are_loaded(app, client):
    import time

    assert client.get("/api/health").status_code == 200  # up, whether warm or not
    svc = app.extensions["kiosk"]
    svc.warming.add("speech")  # as if the recognisers were still loading
    r = client.get("/api/ready")
    assert r.status_code == 503 and "speech" in r.get_json()["warming"]
    svc.warming.discard("speech")
    deadline = time.monotonic() + 60
    while client.get("/api/ready").status_code != 200:  # the real face preload finishes
        assert time.monotonic() < deadline, client.get("/api/ready").get_json()
        time.sleep(0.2)
    assert client.get("/api/ready").get_json() == {"ready": True}
    assert client.get("/api/health").get_json()["warming"] == []


def test_health_reports_the_media_loop_lag(client):
    from kiosk.media.loop import LAG_BUCKETS_MS

    lag = client.get("/api/health").get_json()["media_loop_lag"]
    assert set(lag) >= {"samples", "p50_ms", "p95_ms", "p99_ms", "max_ms", "over_threshold"}
    assert "counts" not in lag
    full = client.get("/api/health?histogram=1").get_json()["media_loop_lag"]
    assert len(full["counts"]) == len(LAG_BUCKETS_MS) + 1


def test_health_shows_the_process_figures_only_with_an_api_key(client):
    """#17: CPU seconds and RSS were public; a load balancer needs the status and
    ``draining``, and the figures tell anyone how the node is loaded and sized."""
    public = client.get("/api/health")
    assert public.status_code == 200
    body = public.get_json()
    assert body["ok"] is True and body["draining"] is False and "node_id" in body
    assert "process" not in body, body
    wrong = client.get("/api/health", headers={"X-API-Key": "not-a-key"}).get_json()
    assert "process" not in wrong
    for headers in ({"X-API-Key": API_KEY}, {"Authorization": f"Bearer {API_KEY}"}):
        usage = client.get("/api/health", headers=headers).get_json()["process"]
        assert set(usage) == {"cpu_s", "rss_mb", "processes", "cores", "monotonic_s"}
        assert usage["cpu_s"] > 0 and usage["rss_mb"] > 0
