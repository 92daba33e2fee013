"""TURN with time-limited credentials per session (issue #17, item 10): a real coturn
(``use-auth-secret``) accepts the server's credentials and refuses expired or forged ones."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time

import pytest

from kiosk.config import load_settings
from kiosk.errors import ConfigError
from kiosk.media.turn import ice_servers_for, turn_credential
from kiosk.web.app import create_app
from tests.kiosk_server import API_KEY, make_flows_dir

SECRET = "turn-test-secret"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def coturn(tmp_path_factory):
    exe = shutil.which("turnserver")
    if exe is None:
        pytest.fail("coturn's turnserver is missing: ./dev.sh test installs it (apt coturn)")
    d = tmp_path_factory.mktemp("coturn")
    (d / "empty.conf").write_text("")
    port = _free_udp_port()
    proc = subprocess.Popen(
        [exe, "-c", str(d / "empty.conf"), "-n", "--listening-ip=127.0.0.1",
         f"--listening-port={port}", "--relay-ip=127.0.0.1", "--use-auth-secret",
         "--static-auth-secret", SECRET, "--realm=kiosk.test", "--userdb", str(d / "db"),
         "--no-tls", "--no-dtls", "--no-cli", f"--pidfile={d / 'pid'}", "--log-file=stdout",
         "--simple-log"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while _allocate(port, *turn_credential(SECRET, "probe", 600)) != "ok":
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"turnserver did not start: {out[-1500:]}")
            time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _allocate(port: int, username: str, password: str) -> str:
    """"ok" when coturn grants a relay allocation with these credentials, else the error."""
    from aioice import turn

    async def go() -> str:
        try:
            transport, _ = await asyncio.wait_for(turn.create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", port), username, password,
                lifetime=600), 5)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        transport.close()
        return "ok"

    return asyncio.run(go())


def test_coturn_accepts_the_credential_of_a_session(coturn):
    user, password = turn_credential(SECRET, "0123456789abcdef", 600)
    assert user.endswith(":0123456789abcdef")
    assert _allocate(coturn, user, password) == "ok"


def test_coturn_refuses_an_expired_or_forged_credential(coturn):
    old = turn_credential(SECRET, "0123456789abcdef", 600, now=time.time() - 3600)
    assert "401" in _allocate(coturn, *old)
    forged = turn_credential("another-secret", "0123456789abcdef", 600)
    assert "401" in _allocate(coturn, *forged)
    user, password = turn_credential(SECRET, "0123456789abcdef", 600)
    assert "401" in _allocate(coturn, user.replace("0123", "9999"), password)


def test_bad_turn_settings_are_refused_clearly(tmp_path):
    with pytest.raises(ConfigError, match="turn: or turns:"):
        load_settings(data_dir=tmp_path, turn_urls="stun:stun.example.com")
    with pytest.raises(ValueError, match="':'"):
        turn_credential(SECRET, "a:b", 600)
    with pytest.raises(ValueError, match="empty"):
        turn_credential("", "a", 600)


def test_each_investor_gets_their_own_turn_credential_at_join(tmp_path):
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False, turn_secret=SECRET,
        turn_urls="turn:turn.example.com:3478,turns:turn.example.com:443?transport=tcp"))
    try:
        joined = []
        for _ in range(2):
            r = app.test_client().post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
                "applicant": {"name": "张三", "id_number": "110102199003078888"},
                "flow_id": "quick"})
            sock = app.extensions["socketio"].test_client(app)
            sock.emit("join", {"token": r.get_json()["investor_url"].rsplit("/", 1)[1]})
            (msg,) = [m["args"][0] for m in sock.get_received() if m["name"] == "joined"]
            joined.append(msg)
            sock.disconnect()
        for msg in joined:
            (entry,) = msg["ice_servers"]
            assert entry["urls"] == ["turn:turn.example.com:3478",
                                     "turns:turn.example.com:443?transport=tcp"]
            expiry, user = entry["username"].split(":")
            assert user == msg["session_id"]
            assert 3500 < int(expiry) - time.time() <= 3600
            assert SECRET not in str(msg)
        assert joined[0]["ice_servers"] != joined[1]["ice_servers"]
    finally:
        app.extensions["kiosk"].shutdown()
    # Without turn_urls nothing is added.
    assert ice_servers_for(load_settings(data_dir=tmp_path, turn_secret=SECRET), "x") == []
