"""Socket event floods (issue #13, item 7): events are rate-limited per socket and event, a
flooding socket is disconnected with its witness ended as ``client_abuse``, and nothing the
page sends can make the signed timeline grow without bound."""

from __future__ import annotations

import pytest

from kiosk.config import load_settings
from kiosk.timeline import (
    PAGE_REPORTED_CAP,
    MediaClock,
    TimelineWriter,
    read_timeline,
    verify_chain,
)
from kiosk.web.app import create_app
from kiosk.web.connections import EventLimiter
from tests.kiosk_server import API_KEY, make_flows_dir

ID_NUMBER = "110102199003078888"


@pytest.fixture()
def app(tmp_path):
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False, socket_join_seconds=30))
    yield app
    app.extensions["kiosk"].shutdown()


def joined(app):
    """A socket that joined a fresh witness, and that witness's controller."""
    client = app.test_client()
    r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
        "applicant": {"name": "张三", "id_number": ID_NUMBER}, "flow_id": "quick"})
    assert r.status_code == 201, r.data
    sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
    sock.emit("join", {"token": r.get_json()["investor_url"].rsplit("/", 1)[1]})
    assert [m["name"] for m in sock.get_received()][:1] == ["joined"]
    return sock, app.extensions["kiosk"].live()[0]


def types(events):
    return [e["type"] for e in events]


def test_a_flooding_investor_is_disconnected_and_the_witness_ends_as_client_abuse(app):
    """The reported flood: 2,000 each of heartbeat, prompt_replayed, prefs and junk offers."""
    sock, c = joined(app)
    sent = 0
    for i in range(2000):
        for event, payload in (("heartbeat", {}), ("prompt_replayed", {"seq": 1}),
                               ("prefs", {"speed": 0.5 + (i % 100) / 100}),
                               ("offer", {"sdp": f"junk {i}", "type": "offer"})):
            if not sock.is_connected():
                break
            sock.emit(event, payload)
            sent += 1
    assert not sock.is_connected()
    assert sent < 200  # dropped long before the 8,000th event
    # What reached the page before the disconnect (get_received refuses once disconnected).
    aborted = [m["args"][0] for m in sock.queue if m["name"] == "aborted"]
    assert aborted == [{"reason": "client_abuse", "state": "aborted"}]
    assert c.finalised.wait(20)
    row = app.extensions["kiosk"].store.get(c.id)
    assert (row.state, row.end_reason) == ("aborted", "client_abuse")
    assert row.sealed_at is not None  # what was recorded is sealed, as on every abort path
    events = read_timeline(c.dir / "timeline.jsonl")
    assert verify_chain(events) is None
    flood = [e for e in events if e["type"] == "client_flood"]
    assert len(flood) == 1
    data = flood[0]["data"]
    assert sum(data["received"].values()) == sent + 1  # and the join
    assert sum(data["refused"].values()) > 20 and set(data["limits"]) == set(data["refused"])
    assert [e["data"] for e in events if e["type"] == "aborted"] == [{"reason": "client_abuse"}]
    assert len(events) < 40, types(events)
    assert (c.dir / "timeline.jsonl").stat().st_size < 20_000


def test_events_without_a_handler_are_limited_too(app):
    sock, c = joined(app)
    for _ in range(200):
        if not sock.is_connected():
            break
        sock.emit("nonsense", {"x": 1})
    assert not sock.is_connected()
    assert c.finalised.wait(20)
    assert (c.state.phase, c.state.end_reason) == ("aborted", "client_abuse")
    flood = [e["data"] for e in read_timeline(c.dir / "timeline.jsonl")
             if e["type"] == "client_flood"]
    assert flood and flood[0]["event"] == "other" and flood[0]["refused"]["other"] > 20


def test_a_socket_that_floods_before_joining_is_disconnected(app):
    sock = app.extensions["socketio"].test_client(app)
    for _ in range(200):
        if not sock.is_connected():
            break
        sock.emit("join", {"token": "x" * 43})
    assert not sock.is_connected()
    assert app.extensions["kiosk"].live() == []


def test_repeated_reports_are_counted_not_written(app):
    sock, c = joined(app)
    for _ in range(4):
        sock.emit("prefs", {"speed": 1.5, "captions": True, "locale": "zh-CN"})
        sock.emit("client_error", {"code": "media_error"})
    for _ in range(8):
        sock.emit("heartbeat", {})
    assert sock.is_connected()
    sock.disconnect()
    assert c.finalised.wait(20)
    events = read_timeline(c.dir / "timeline.jsonl")
    assert verify_chain(events) is None
    prefs = [e["data"]["speed"] for e in events if e["type"] == "display_prefs"]
    assert prefs == [1.0, 1.5]  # the start, then one change
    assert types(events).count("client_error") == 1
    assert not any("heartbeat" in e["type"] for e in events)
    counted = [e["data"] for e in events if e["type"] == "repeats_counted"]
    assert counted == [{"repeated": {"client_error": 3, "display_prefs": 3}, "over_cap": {}}]


def test_a_replay_of_a_prompt_never_sent_is_refused_and_not_written(app):
    sock, c = joined(app)
    sock.emit("prompt_replayed", {"seq": 7})
    got = [m["args"][0] for m in sock.get_received() if m["name"] == "error"]
    assert got and got[0]["code"] == "out_of_order"
    assert "prompt_replayed" not in types(c.timeline.events)
    sock.disconnect()


# ---------------------------------------------------------------- the limiter


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def limiter(clock, tolerance=20):
    limits = {name: (limit.per_second, limit.burst)
              for name, limit in load_settings().socket_event_limits.items()}
    return EventLimiter(limits, tolerance=tolerance, clock=clock)


def test_a_well_behaved_page_is_never_refused():
    """Ten minutes of the page's own rhythm: a heartbeat every 2 s, prompt reports each step,
    the investor fiddling with the speed, an offer and two retries, a few device errors."""
    clock = FakeClock()
    lim = limiter(clock)
    seen = []
    for _ in range(3):
        seen += [lim.admit("s", "offer"), lim.admit("s", "client_error")]
    for second in range(600):
        clock.now += 1.0
        if second % 2 == 0:
            seen.append(lim.admit("s", "heartbeat"))
        if second % 5 == 0:  # a short step: its prompt starts, ends, is replayed
            seen += [lim.admit("s", e) for e in ("prompt_started", "prompt_ended",
                                                 "prompt_replayed", "prompt_replayed")]
        if second % 60 == 0:
            seen += [lim.admit("s", "prefs") for _ in range(5)]
    assert set(seen) == {"ok"}
    assert lim.counts("s")["refused"] == {}


def test_over_the_rate_is_refused_then_a_flood_is_said_once():
    clock = FakeClock()
    lim = limiter(clock, tolerance=5)
    assert [lim.admit("s", "offer") for _ in range(3)] == ["ok"] * 3
    assert [lim.admit("s", "offer") for _ in range(5)] == ["refused"] * 5
    assert lim.admit("t", "offer") == "ok"  # another socket has its own buckets
    assert lim.admit("s", "offer") == "flood"
    assert lim.admit("s", "heartbeat") == "refused"  # once flooding, everything is refused
    assert lim.counts("s") == {"received": {"heartbeat": 1, "offer": 9},
                               "refused": {"heartbeat": 1, "offer": 6}}
    lim.forget("s")
    assert lim.counts("s") == {"received": {}, "refused": {}}
    assert lim.admit("s", "offer") == "ok"


def test_refusals_spread_out_in_time_are_not_a_flood():
    clock = FakeClock()
    lim = limiter(clock, tolerance=5)
    for _ in range(3):
        lim.admit("s", "cancel")
    verdicts = []
    for _ in range(100):  # one event too many every 3 s: refused, never a flood
        clock.now += 3.0
        verdicts += [lim.admit("s", "cancel"), lim.admit("s", "cancel")]
    assert "flood" not in verdicts and "refused" in verdicts


def test_event_limits_are_settings_and_unknown_names_are_refused():
    s = load_settings(socket_event_limits={"heartbeat": {"per_second": 2, "burst": 4}})
    assert (s.socket_event_limits["heartbeat"].per_second,
            s.socket_event_limits["heartbeat"].burst) == (2, 4)
    assert s.socket_event_limits["offer"].burst == 3  # the others keep their defaults
    assert s.socket_flood_refusals == 20
    with pytest.raises(Exception, match="unknown socket events"):
        load_settings(socket_event_limits={"heartbeats": {"per_second": 2, "burst": 4}})
    with pytest.raises(Exception, match="per_second"):
        load_settings(socket_event_limits={"offer": {"per_second": 0, "burst": 4}})


# ---------------------------------------------------------------- the timeline


def test_page_reports_are_bounded_on_the_timeline(tmp_path):
    path = tmp_path / "timeline.jsonl"
    tw = TimelineWriter(path, MediaClock())
    a, b = {"speed": 1.0}, {"speed": 1.5}
    written = [tw.append("display_prefs", p) is not None for p in (a, a, b, a, a)]
    assert written == [True, False, True, True, False]  # a change back is a change
    assert tw.append("prompt_replayed", {"seq": 3}) is not None
    assert tw.append("prompt_replayed", {"seq": 4}) is not None
    assert tw.append("prompt_replayed", {"seq": 3}) is None  # the same prompt again
    for i in range(PAGE_REPORTED_CAP + 10):
        tw.append("client_error", {"code": f"c{i}"})
    assert tw.append("step_started", {"step": "x"}) is not None  # the server's own: always
    assert tw.append("step_started", {"step": "x"}) is not None
    tw.close()
    events = read_timeline(path)
    assert verify_chain(events) is None
    assert types(events).count("client_error") == PAGE_REPORTED_CAP
    assert events[-1]["type"] == "repeats_counted"
    assert events[-1]["data"] == {"repeated": {"display_prefs": 2, "prompt_replayed": 1},
                                  "over_cap": {"client_error": 10}}
