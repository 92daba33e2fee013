"""Offers the witness cannot use are refused with a code the page explains: no microphone, or
a browser without the recorded codecs (issue #13, items 22 and 23). Real browsers' offers."""

from __future__ import annotations

import pytest

from kiosk.config import load_settings
from kiosk.errors import SignallingError
from kiosk.media.peer import RECORDED_CODECS, validate_offer
from kiosk.media.recorder import CODECS
from kiosk.web.app import create_app
from tests import sdp_samples
from tests.kiosk_server import API_KEY, make_flows_dir


def refusal(sdp: str) -> SignallingError:
    with pytest.raises(SignallingError) as info:
        validate_offer(sdp, 20_000)
    return info.value


def test_the_check_asks_for_what_the_recorder_writes():
    assert RECORDED_CODECS == CODECS


@pytest.mark.parametrize("sdp", [sdp_samples.CHROME, sdp_samples.FIREFOX])
def test_current_browsers_offers_pass(sdp):
    assert validate_offer(sdp, 20_000) == sdp


@pytest.mark.parametrize("sdp", [sdp_samples.CHROME_VIDEO_ONLY,
                                 sdp_samples.CHROME_AUDIO_INACTIVE])
def test_an_offer_without_a_microphone_is_refused_as_no_microphone(sdp):
    exc = refusal(sdp)
    assert exc.code == "no_microphone"
    assert str(exc) == ("the offer has no microphone track, so the spoken answers cannot be "
                        "heard: allow the microphone or connect one")


def test_an_h264_only_browser_is_told_what_to_update():
    exc = refusal(sdp_samples.SAFARI_12_IOS_11)
    assert exc.code == "unsupported_browser"
    assert str(exc) == (
        "this browser sends video as H264 only; the witness records VP8: update the browser "
        "(Safari 12.1 / iOS 12.2 or later) or use an up-to-date Chrome, Edge or Firefox")


def test_an_offer_without_opus_is_unsupported_too():
    no_opus = sdp_samples.CHROME.replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 ISAC/16000")
    exc = refusal(no_opus)
    assert exc.code == "unsupported_browser" and "the witness records OPUS" in str(exc)


# ------------------------------------------------------------------ through the socket


@pytest.fixture()
def app(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data",
                             flows_dir=make_flows_dir(tmp_path / "flows"), api_keys=[API_KEY],
                             liveness=False, speech=False)
    app = create_app(settings)
    yield app
    app.extensions["kiosk"].shutdown()


@pytest.mark.parametrize("sdp, code", [
    (sdp_samples.CHROME_VIDEO_ONLY, "no_microphone"),
    (sdp_samples.SAFARI_12_IOS_11, "unsupported_browser"),
])
def test_the_page_gets_the_code_and_the_session_stays_open(app, sdp, code):
    client = app.test_client()
    r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": "110102199003078888"}, "flow_id": "quick"})
    token = r.get_json()["investor_url"].rsplit("/", 1)[1]
    sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
    sock.emit("join", {"token": token})
    sock.get_received()
    sock.emit("offer", {"sdp": sdp, "type": "offer"})
    errors = [m["args"][0] for m in sock.get_received() if m["name"] == "error"]
    assert [e["code"] for e in errors] == [code]
    controller = app.extensions["kiosk"].live()[0]
    assert controller.peer is None and not controller.state.terminal
    refused = [e for e in controller.timeline.events if e["type"] == "offer_refused"]
    assert refused[-1]["data"]["code"] == code
    sock.disconnect()
    assert controller.finalised.wait(10)
