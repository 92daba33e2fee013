"""The server sends ICE checks only to addresses an offer may name (issue #13, item 14):
never loopback, link-local, multicast or unspecified; private ranges only when configured."""

from __future__ import annotations

import socket
import time

import pytest

from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.media.candidates import CandidatePolicy, filter_candidates, parse_networks
from kiosk.web.app import create_app
from tests import sdp_samples
from tests.kiosk_server import API_KEY, make_flows_dir

DEFAULT = CandidatePolicy()
BRANCH = CandidatePolicy(private_networks=tuple(parse_networks(["10.20.0.0/16", "fd00::/8"])))


@pytest.mark.parametrize("host, reason", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("169.254.169.254", "link_local"),
    ("fe80::1%eth0", "link_local"), ("224.0.0.251", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"), ("10.1.2.3", "private"), ("192.168.1.23", "private"),
    ("172.16.0.9", "private"), ("100.64.0.1", "private"), ("fd12:3456::1", "private"),
    ("1f7c2b9e-0a1d-4c6b-9e2f-6a5d4c3b2a10.local", "mdns"), ("metadata.internal", "not_an_address"),
    ("93.184.216.34", None), ("2a00:1450:4001:80b::200e", None),
    # #13 retest, new 5: IPv6 addresses that carry an IPv4 address, and site-local
    ("2002:7f00:1::", "loopback"), ("2002:a9fe:a9fe::1", "link_local"),
    ("2002:c0a8:117::", "private"), ("2002:5db8:d822::1", None),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
    ("64:ff9b::7f00:1", "loopback"), ("64:ff9b::a9fe:a9fe", "link_local"),
    ("::ffff:10.1.2.3", "private"), ("fec0::1", "site_local"), ("fec0:1:2::3", "site_local"),
])
def test_default_policy(host, reason):
    assert DEFAULT.refusal(host) == reason


def test_branch_lan_networks_are_allowed_and_nothing_else():
    assert BRANCH.refusal("10.20.3.4") is None and BRANCH.refusal("fd00::5") is None
    assert BRANCH.refusal("10.21.0.1") == "private"
    assert BRANCH.refusal("127.0.0.1") == "loopback"  # never through a network setting
    assert BRANCH.refusal("169.254.169.254") == "link_local"
    everything = CandidatePolicy(private_networks=tuple(parse_networks(["0.0.0.0/0", "::/0"])))
    assert everything.refusal("127.0.0.1") == "loopback"
    assert CandidatePolicy(allow_loopback=True).refusal("127.0.0.1") is None


def test_filtering_keeps_the_rest_of_the_sdp_and_the_end_of_candidates_goes():
    public = "a=candidate:1 1 UDP 1686052863 93.184.216.34 47411 typ srflx raddr 0.0.0.0 rport 0"
    sdp = sdp_samples.candidates(sdp_samples.FIREFOX, [
        "a=candidate:0 1 UDP 2122252543 127.0.0.1 47411 typ host",
        "a=candidate:3 1 UDP 2122252543 169.254.169.254 80 typ host",
        "a=candidate:4 1 UDP 2122252543 192.168.0.17 47411 typ host",
        public,
    ])
    out, dropped = filter_candidates(sdp, DEFAULT)
    assert dropped == {"loopback": 2, "link_local": 2, "private": 2}
    assert out.count(public) == 2 and "127.0.0.1 47411" not in out
    assert "a=end-of-candidates" not in out
    assert [x for x in out.split("\r\n") if not x.startswith("a=candidate")] == [
        x for x in sdp.split("\r\n")
        if not x.startswith("a=candidate") and x != "a=end-of-candidates"]
    # Nothing dropped: the offer is returned as it was.
    clean = sdp_samples.candidates(sdp_samples.FIREFOX, [public])
    assert filter_candidates(clean, DEFAULT) == (clean, {})


# Every line break str.splitlines() (aiortc's SDP parser) knows, other than the offer's CRLF.
OTHER_BREAKS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
                "\u2029"]
LOOPBACK = "a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host generation 0"


def hidden_candidate(brk: str, candidate: str = LOOPBACK) -> str:
    """The Chrome offer with ``candidate`` joined to the line before it by ``brk``."""
    sdp = sdp_samples.CHROME.replace("a=mid:0\r\n", f"a=mid:0{brk}{candidate}\r\n", 1)
    assert candidate in sdp
    return sdp


@pytest.mark.parametrize("brk", OTHER_BREAKS, ids=[f"U+{ord(b):04X}" for b in OTHER_BREAKS])
def test_a_candidate_behind_another_line_break_is_judged_too(brk):
    """Retest N4: the filter split on CRLF only, aiortc on every line break, so a candidate
    after a bare LF, CR, FF, NEL or U+2028 was kept and the server probed loopback. The
    filtered offer holds, as aiortc reads it, no line the policy refuses."""
    out, dropped = filter_candidates(hidden_candidate(brk), DEFAULT)
    assert dropped["loopback"] == 1, dropped
    assert LOOPBACK not in out.splitlines() and "127.0.0.1 9 " not in out
    assert "a=mid:0" in out.splitlines()  # the line before it is kept, on its own
    # A candidate the policy keeps stays, on a line of its own.
    public = "a=candidate:2 1 udp 1686052607 93.184.216.34 47411 typ srflx raddr 0.0.0.0 rport 0"
    out, dropped = filter_candidates(hidden_candidate(brk, public), DEFAULT)
    assert public in out.split("\r\n") and "loopback" not in dropped


def test_a_bad_network_setting_is_a_clear_error():
    with pytest.raises(ConfigError, match="'10.0.0.300/8' is not a network"):
        load_settings(ice_private_networks="10.0.0.300/8")


# ------------------------------------------------------------------ the real server, aiortc


def probe() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    return s


def stun_requests(s: socket.socket, seconds: float) -> int:
    """STUN binding requests (type 0x0001, magic cookie) that reach the probe in ``seconds``."""
    seen = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data = s.recv(2048)
        except TimeoutError:
            continue
        if data[:2] == b"\x00\x01" and data[4:8] == b"\x21\x12\xa4\x42":
            seen += 1
    return seen


def offer_to_probe(tmp_path, port: int, brk: str | None = None, **settings):
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False, **settings))
    try:
        client = app.test_client()
        r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
            "applicant": {"name": "张三", "id_number": "110102199003078888"},
            "flow_id": "quick"})
        token = r.get_json()["investor_url"].rsplit("/", 1)[1]
        sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
        sock.emit("join", {"token": token})
        sock.get_received()
        candidate = f"a=candidate:1 1 udp 2122260223 127.0.0.1 {port} typ host generation 0"
        sdp = (sdp_samples.candidates(sdp_samples.CHROME, [candidate]) if brk is None
               else hidden_candidate(brk, candidate))
        sock.emit("offer", {"sdp": sdp, "type": "offer"})
        names = [m["name"] for m in sock.get_received()]
        assert "answer" in names, names
        controller = app.extensions["kiosk"].live()[0]
        dropped = [e["data"] for e in controller.timeline.events
                   if e["type"] == "candidates_dropped"]
        return names.count("answer"), (dropped[0] if dropped else {}), sock, app
    except Exception:
        app.extensions["kiosk"].shutdown()
        raise


def test_an_offer_naming_a_loopback_port_gets_no_check_sent_there(tmp_path):
    target = probe()
    _, dropped, sock, app = offer_to_probe(tmp_path, target.getsockname()[1])
    try:
        assert dropped == {"loopback": 2}
        assert stun_requests(target, 3.0) == 0
    finally:
        sock.disconnect()
        app.extensions["kiosk"].shutdown()
        target.close()


@pytest.mark.parametrize("brk", ["\n", "\u2028"], ids=["LF", "U+2028"])
def test_a_loopback_candidate_behind_another_line_break_gets_no_check_either(tmp_path, brk):
    target = probe()
    _, dropped, sock, app = offer_to_probe(tmp_path, target.getsockname()[1], brk)
    try:
        assert dropped["loopback"] == 1, dropped  # (the sample's own are private)
        assert stun_requests(target, 3.0) == 0
    finally:
        sock.disconnect()
        app.extensions["kiosk"].shutdown()
        target.close()


def test_with_loopback_allowed_the_same_offer_is_checked(tmp_path):
    """The control: the probe does see aiortc's checks when the setting allows loopback."""
    target = probe()
    _, dropped, sock, app = offer_to_probe(tmp_path, target.getsockname()[1],
                                           ice_allow_loopback=True)
    try:
        assert dropped == {}
        assert stun_requests(target, 3.0) >= 1
    finally:
        sock.disconnect()
        app.extensions["kiosk"].shutdown()
        target.close()


# ------------------------------------------------------------ a whole witness, default policy


def test_a_production_server_still_connects_through_the_investors_own_checks(
        tmp_path, barcode_video, tone_audio):
    """Default policy (no loopback, no private ranges): the simulated investor on this machine
    offers only addresses the server drops, yet media flows, learnt from its own checks."""
    import asyncio
    import json

    from kiosk.media.simulate import run_investor
    from tests.kiosk_server import KioskServer

    server = KioskServer(tmp_path / "data", KIOSK_ICE_ALLOW_LOOPBACK="false",
                         KIOSK_ICE_PRIVATE_NETWORKS="", KIOSK_LIVENESS="false").start()
    try:
        created = server.create(flow="quick")
        res = asyncio.run(run_investor(created["investor_url"], barcode_video, tone_audio,
                                       api_key=API_KEY, timeout=120, audio_mode="loop"))
        assert res.state == "finished", (res.as_dict(), server.log())
        lines = (server.session_dir(created["session_id"]) / "timeline.jsonl").read_text()
        events = [json.loads(x) for x in lines.splitlines()]
        dropped = [e["data"] for e in events if e["type"] == "candidates_dropped"]
        assert dropped and sum(dropped[0].values()) >= 1, dropped
        assert "media_connected" in [e["type"] for e in events]
    finally:
        server.stop()
