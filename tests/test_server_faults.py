"""Hostile or broken input against a running server: it refuses, ends cleanly and stays up."""

import time

import requests
import socketio

from kiosk.timeline import read_timeline


def connect(server):
    client = socketio.Client(reconnection=False)
    got = []
    client.on("*", lambda event, data=None: got.append((event, data)))
    client.connect(server.url, transports=["websocket"], wait_timeout=10)
    return client, got


def test_an_oversized_socket_message_drops_that_socket_and_ends_its_session(kiosk_server):
    created = kiosk_server.create(flow="quick")
    client, got = connect(kiosk_server)
    client.emit("join", {"token": created["investor_url"].rsplit("/", 1)[1]})
    deadline = time.monotonic() + 10  # a loaded machine may take a while to answer the join
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got and got[0][0] == "joined"
    client.emit("offer", {"sdp": "v=0\r\n" + "a" * 200_000, "type": "offer"})
    deadline = time.monotonic() + 10
    while client.connected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not client.connected  # a message over max_socket_message_bytes is cut off
    info = kiosk_server.wait_ended(created["session_id"], timeout=20)
    # Said why (it was a plain `disconnected`): tests/test_socket_size.py has every event.
    assert (info["state"], info["end_reason"]) == ("aborted", "client_abuse")
    events = read_timeline(kiosk_server.session_dir(created["session_id"]) / "timeline.jsonl")
    assert [(e["data"]["reason"], e["data"]["event"]) for e in events
            if e["type"] == "client_message_refused"] == [("message_too_large", "offer")]
    assert events[-1]["type"] == "recording_missing"  # no media ever arrived: said, not hidden
    # The session leaves the live registry once sealed (just after the DB says it ended).
    deadline = time.monotonic() + 15
    while requests.get(kiosk_server.url + "/api/health", timeout=5).json()["live_sessions"]:
        assert time.monotonic() < deadline, "the ended session stayed in the live registry"
        time.sleep(0.2)


def test_a_storm_of_junk_messages_leaves_the_server_healthy(kiosk_server):
    client, got = connect(kiosk_server)
    for payload in (None, 1, "x", [1, 2], {"token": {"$ne": 1}}, {"seq": -1}):
        for event in ("join", "offer", "prompt_ended", "heartbeat", "cancel", "prefs", "nonsense"):
            client.emit(event, payload)
    time.sleep(1.0)
    client.disconnect()
    codes = {data["code"] for event, data in got if event == "error"}
    assert codes <= {"link_invalid", "out_of_order", "bad_message"}, codes
    assert "link_invalid" in codes and "out_of_order" in codes
    assert requests.get(kiosk_server.url + "/api/health", timeout=5).ok
    assert "Traceback" not in kiosk_server.log()


def test_a_deeply_nested_socket_message_is_refused_without_a_traceback(kiosk_server):
    client, got = connect(kiosk_server)
    # A Socket.IO EVENT packet ("2" + JSON) nested 30 000 deep: 60 KB, under the size cap.
    # The client library cannot encode it (its json recurses too), so it goes out raw.
    depth = 30_000
    client.eio.send('2["join",' + "[" * depth + "]" * depth + "]")
    time.sleep(1.0)
    assert requests.get(kiosk_server.url + "/api/health", timeout=5).ok
    log = kiosk_server.log()
    assert "RecursionError" not in log and "Traceback" not in log
    assert "socket message refused: a socket message nested deeper than" in log
    client.emit("join", {"token": "x" * 43})  # the same socket is still answered
    deadline = time.monotonic() + 10
    while not any(event == "error" for event, _ in got) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ("error", "link_invalid") in [(e, d.get("code")) for e, d in got if d]
    client.disconnect()


def test_a_socket_message_with_a_lone_surrogate_is_refused_as_malformed(kiosk_server):
    """``"\\ud800"`` is not a Unicode character: a handler that wrote it to the timeline or a
    log raised UnicodeEncodeError. The packet is refused before any handler sees it."""
    client, got = connect(kiosk_server)
    for packet in ('2["client_error",{"code":"a\\ud800b","message":"x"}]',
                   '2["prefs",{"speed":1,"locale":"\\udc00"}]', '2["\\ud800",1]'):
        client.eio.send(packet)
    time.sleep(1.0)
    log = kiosk_server.log()
    assert "Traceback" not in log and "UnicodeEncodeError" not in log
    assert log.count("socket message refused: a socket message with a lone surrogate in") == 3
    assert "socket message refused: a socket message with a lone surrogate in [1].code" in log
    client.disconnect()


def test_closing_websockets_leaves_no_client_bytes_in_the_log(kiosk_server):
    """After every websocket close werkzeug logged ERROR "code 400, message Bad request syntax
    ('\\x81\\x82...')": it read the client's last frames as the next HTTP request."""
    for _ in range(3):
        client, got = connect(kiosk_server)
        client.emit("join", {"token": "x" * 43})
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        client.disconnect()
    time.sleep(1.5)
    assert requests.get(kiosk_server.url + "/api/health", timeout=5).ok
    log = kiosk_server.log_path.read_text(errors="replace")
    assert "Bad request" not in log and "\\x8" not in log, log[-2000:]


def test_a_request_line_that_is_not_http_is_logged_without_its_bytes(kiosk_server):
    import socket

    with socket.create_connection(("127.0.0.1", kiosk_server.port), timeout=10) as s:
        s.sendall(b"\x16\x03\x01secret-token-abc \x81\x82 junk\r\n\r\n")
        s.recv(4096)  # werkzeug answers 400
    time.sleep(0.5)
    log = kiosk_server.log_path.read_text(errors="replace")
    assert "secret-token-abc" not in log and "\\x16" not in log
    assert "not an HTTP request line (" in log  # still seen, as one short line
