"""A socket message over ``max_socket_message_bytes`` (issue #13 retest, new 6): refused and
recorded, whichever event and transport carries it (``kiosk.web.socket_size``).

A 500 KB ``client_error`` used to close the socket with a plain ``aborted: disconnected`` and
nothing in the log: python-engineio dropped the connection inside its own reader.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import socketio

from kiosk.protocol import PageEvent
from kiosk.timeline import read_timeline
from kiosk.web.socket_size import TooLarge, event_name

LIMIT = 64_000  # max_socket_message_bytes's default
MARK = "SECRETCONTENT"  # what the messages carry: never in a log or on the timeline


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.kiosk_server import KioskServer

    s = KioskServer(tmp_path_factory.mktemp("size") / "data", KIOSK_LIVENESS="false",
                    KIOSK_SPEECH="false").start()
    yield s
    s.stop()


def join(server, transport: str = "websocket"):
    created = server.create(flow="quick")
    client = socketio.Client(reconnection=False)
    got: list = []
    client.on("*", lambda event, data=None: got.append((event, data)))
    client.connect(server.url, transports=[transport], wait_timeout=10)
    client.emit("join", {"token": created["investor_url"].rsplit("/", 1)[1]})
    deadline = time.monotonic() + 15
    while not any(e == "joined" for e, _ in got) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(e == "joined" for e, _ in got), got
    return created["session_id"], client, got


def payload(event: str, size: int):
    """A message of ``event`` whose JSON is about ``size`` characters."""
    filler = MARK + "x" * (size - len(MARK))
    if event == PageEvent.OFFER:
        return {"sdp": "v=0\r\n" + filler, "type": "offer"}
    if event == PageEvent.JOIN:
        return {"token": filler}
    # The fields the other events read are small; the filler rides in one they do not.
    return {"code": filler, "seq": 1, "reason": "x", "locale": "xx"}


def log_lines(server) -> list[dict]:
    out = []
    for line in server.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def wait_closed(client, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while client.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not client.connected, "the connection stayed open after a message over the cap"


# Every page event, and one the page never sends: the size cap is the transport's, not a
# handler's.
EVENTS = [*(str(e) for e in PageEvent), "made_up_event"]


def test_an_oversized_message_of_any_event_ends_the_witness_as_client_abuse(server):
    for event in EVENTS:
        session_id, client, got = join(server)
        # Just under the cap: the event's own handler refuses or ignores it, the witness
        # goes on (a cancel would end it: its payload is not read, nothing to check).
        if event != PageEvent.CANCEL:
            client.emit(event, payload(event, LIMIT - 2_000))
            time.sleep(0.5)
            assert client.connected, event
            assert server.session(session_id)["state"] == "active", event
        client.emit(event, payload(event, 500_000))
        wait_closed(client)
        info = server.wait_ended(session_id, timeout=20)
        assert (info["state"], info["end_reason"]) == ("aborted", "client_abuse"), event
        timeline_path = server.session_dir(session_id) / "timeline.jsonl"
        events = read_timeline(timeline_path)
        (refused,) = [e["data"] for e in events if e["type"] == "client_message_refused"]
        named = event if event in set(PageEvent) else "other"
        assert refused["reason"] == "message_too_large" and refused["event"] == named, refused
        assert refused["limit"] == LIMIT and refused["bytes"] > LIMIT, refused
        assert [e["data"]["reason"] for e in events if e["type"] == "aborted"] == [
            "client_abuse"]
        assert MARK not in timeline_path.read_text(encoding="utf-8")
        warned = [r for r in log_lines(server) if r["level"] == "WARNING"
                  and r["session"] == session_id and "socket message refused" in r["msg"]]
        assert len(warned) == 1, (event, warned)
        assert f"({named})" in warned[0]["msg"] and "bytes" in warned[0]["msg"], warned
    log = server.log_path.read_text(errors="replace")
    assert MARK not in log and "Traceback" not in log


def test_an_oversized_polling_post_is_recorded_too(server):
    """Engine.IO's long-polling transport: a POST over the cap was answered 400 and its
    session disconnected without a word."""
    session_id, client, _got = join(server, transport="polling")
    client.emit("client_error", {"code": MARK + "x" * 300_000})
    wait_closed(client)
    info = server.wait_ended(session_id, timeout=20)
    assert (info["state"], info["end_reason"]) == ("aborted", "client_abuse")
    events = read_timeline(server.session_dir(session_id) / "timeline.jsonl")
    (refused,) = [e["data"] for e in events if e["type"] == "client_message_refused"]
    assert (refused["event"], refused["complete"]) == ("client_error", True)
    assert refused["bytes"] > 300_000
    warned = [r["msg"] for r in log_lines(server)
              if r["session"] == session_id and "socket message refused" in r["msg"]]
    assert len(warned) == 1 and "(client_error)" in warned[0], warned
    assert MARK not in server.log_path.read_text(errors="replace")


def test_under_gunicorn_too(tmp_path):
    """``kiosk serve``'s default server: gunicorn's gthread worker, the same websocket
    driver in its gunicorn mode."""
    from tests.kiosk_server import KioskServer

    gunicorn = KioskServer(tmp_path / "data", production=True, KIOSK_LIVENESS="false",
                           KIOSK_SPEECH="false").start()
    try:
        session_id, client, _got = join(gunicorn)
        client.emit("prefs", {"speed": 1, "note": MARK + "z" * 400_000})
        wait_closed(client)
        info = gunicorn.wait_ended(session_id, timeout=20)
        assert (info["state"], info["end_reason"]) == ("aborted", "client_abuse")
        warned = [r["msg"] for r in log_lines(gunicorn)
                  if r["session"] == session_id and "socket message refused" in r["msg"]]
        assert len(warned) == 1 and "(prefs)" in warned[0], warned
    finally:
        gunicorn.stop()


def test_an_oversized_message_before_joining_is_refused_in_one_line(server):
    """No witness yet: only the connection closes, said once, without a session."""
    import websocket

    ws = websocket.create_connection(
        server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
        timeout=10)
    assert ws.recv().startswith("0")
    ws.send("40")
    before = len(log_lines(server))
    closed = threading.Event()

    def read():
        try:
            while ws.recv():
                pass
        except Exception:
            pass
        closed.set()

    threading.Thread(target=read, daemon=True).start()
    ws.send('42["join",{"token":"' + MARK + "y" * 200_000 + '"}]')
    assert closed.wait(10), "the connection stayed open"
    deadline = time.monotonic() + 5
    lines: list[dict] = []
    while not lines and time.monotonic() < deadline:
        lines = [r for r in log_lines(server)[before:] if "socket message refused" in r["msg"]]
        time.sleep(0.1)
    assert len(lines) == 1 and lines[0]["level"] == "WARNING" and lines[0]["session"] == "-"
    assert "(join)" in lines[0]["msg"], lines
    assert MARK not in server.log_path.read_text(errors="replace")


@pytest.mark.parametrize(("head", "name"), [
    ('42["client_error",{"code":"x', "client_error"),
    ('42/kiosk,["offer",{"sdp":"', "offer"),
    ('4217["prefs",{', "prefs"),
    ('451-["join",{"_placeholder":true', "join"),
    ('\x1e42["heartbeat"]', "heartbeat"),
    ('42["' + "a" * 30 + '",1]', "other"),  # a name the page never sends
    ('42["cl\\"ient_error",1]', "other"),
    ('40{"token":"', "connect"),
    ("40", "connect"),
    (b'42["cancel",{}]', "cancel"),
    (bytearray(b'42["offer",{"sdp":"'), "offer"),
    (b"\x00\x01\x02binary", "other"),
    ("", "other"),
    (None, "other"),
])
def test_the_event_name_is_read_from_the_first_bytes_only(head, name):
    assert event_name(head) == name


def test_a_report_names_the_size_and_whether_the_message_was_cut_off():
    assert TooLarge("offer", 70_000, True, "polling").describe(64_000) == (
        "a socket message (offer) of 70000 bytes over max_socket_message_bytes (64000)")
    assert TooLarge("other", 65_522, False, "websocket").describe(64_000) == (
        "a socket message (other) of at least 65522 bytes over max_socket_message_bytes "
        "(64000)")
