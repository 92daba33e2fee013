"""How many threads a ``kiosk serve`` node (gunicorn, one gthread worker) runs for open
Socket.IO connections: the figures of docs/operations.md, *Serving*.

    .venv/bin/python -m tests.socket_threads open 40 4     # 40 raw sockets from 4 addresses
    .venv/bin/python -m tests.socket_threads flood 12 20 30  # 12 addresses x 20, reopened, 30 s
    .venv/bin/python -m tests.socket_threads events 4 2000   # 4 sockets x 2,000 heartbeat events

``open``: the worker's threads idle, with N raw Engine.IO websockets open (answering pings,
never joining), and after they are closed. ``flood``: A addresses x S such sockets, each
reopened as soon as the server closes it (the #13 retest's flood), for T seconds: threads
idle, the peak and median while it lasts, and 12 s after. ``events``: K unjoined sockets
that each send E events as fast as they can: threads idle, the peak and after. The server
runs with the face and speech models off (their threads are the same with or without
sockets) on a throw-away data folder; the clients run in this process, ``nice`` them if the
machine is shared.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from kiosk.config import Settings
from kiosk.testing.server import ServerProcess
from tests.kiosk_server import make_flows_dir
from tests.test_socket_caps import RawEngineIO

PING_INTERVAL_S = float(Settings.model_fields["socket_ping_interval"].default)


def process_threads(pid: int) -> int:
    """Threads of the process ``pid`` and all its children (gunicorn's master and worker)."""
    proc = psutil.Process(pid)
    return proc.num_threads() + sum(k.num_threads() for k in proc.children(recursive=True))


def production_server(tmp: Path, **env) -> ServerProcess:
    """``kiosk serve`` (gunicorn) on a loopback port, models off; started."""
    return ServerProcess(tmp / "data", make_flows_dir(tmp / "flows"), production=True,
                         KIOSK_LIVENESS="false", KIOSK_SPEECH="false", **env).start()


def settle(pid: int, seconds: float = 3.0) -> int:
    """The thread count once it has not changed for a second (at most ``seconds`` + 1)."""
    deadline = time.monotonic() + seconds
    last = process_threads(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = process_threads(pid)
        if now == last:
            break
        last = now
    return last


def measure_open(server: ServerProcess, n: int, addresses: int) -> dict:
    """``{idle, open, sockets_open, after}`` thread counts around ``n`` raw websockets from
    ``addresses`` loopback addresses (127.0.<i>.1), kept open, then closed."""
    pid = server.proc.pid
    idle = settle(pid)
    socks = [RawEngineIO(server.url, source=f"127.0.{1 + i % addresses}.1") for i in range(n)]
    try:
        held = settle(pid)
        opened = sum(1 for s in socks if s.opened and not s.closed.is_set())
    finally:
        for s in socks:
            s.close()
    # Engine.IO's ping timer of a closed socket sleeps out its ping interval (5 s) first.
    time.sleep(PING_INTERVAL_S + 1)
    return {"idle": idle, "open": held, "sockets_open": opened, "after": settle(pid)}


def measure_flood(server: ServerProcess, addresses: int, per_address: int,
                  seconds: float) -> dict:
    """``{idle, peak, median, after, opened}`` around a flood of raw websockets, each reopened
    as soon as it closes, for ``seconds``."""
    pid = server.proc.pid
    stop = threading.Event()
    opened = [0]

    def attacker(address: str) -> None:
        while not stop.is_set():
            s = RawEngineIO(server.url, source=address)
            if s.opened:
                opened[0] += 1
            s.closed.wait(60)
            s.close()

    idle = settle(pid)
    clients = [threading.Thread(target=attacker, args=(f"127.0.{1 + a}.1",), daemon=True)
               for a in range(addresses) for _ in range(per_address)]
    for t in clients:
        t.start()
    samples = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        samples.append(process_threads(pid))
        time.sleep(0.5)
    stop.set()
    time.sleep(12)
    return {"idle": idle, "peak": max(samples), "median": int(statistics.median(samples)),
            "after": process_threads(pid), "opened": opened[0]}


def measure_events(server: ServerProcess, sockets: int, events: int,
                   event: str = "heartbeat") -> dict:
    """``{idle, peak, after, sent}`` around ``sockets`` sockets (one address each) that send
    the Socket.IO connect, never join, and send ``events`` ``event`` events as fast as they
    can (each is cut off as a flood after ``socket_flood_refusals`` refusals)."""
    pid = server.proc.pid
    sent = [0]

    def flood(i: int) -> None:
        s = RawEngineIO(server.url, source=f"127.0.{1 + i}.1")
        if not s.opened:
            return
        s.send("40")
        time.sleep(0.3)
        try:
            for _ in range(events):
                s.send(f'42["{event}",{{}}]')
                sent[0] += 1
        except Exception:  # disconnected as a flood: the rest is not sent
            pass
        s.closed.wait(10)
        s.close()

    idle = settle(pid)
    clients = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(sockets)]
    for t in clients:
        t.start()
    samples = [process_threads(pid)]
    while any(t.is_alive() for t in clients):
        samples.append(process_threads(pid))
        time.sleep(0.05)
    time.sleep(PING_INTERVAL_S + 1)
    return {"idle": idle, "peak": max(samples), "after": settle(pid), "sent": sent[0]}


def main(argv: list[str]) -> None:
    kind, *numbers = argv
    with tempfile.TemporaryDirectory(prefix="socket-threads-") as tmp:
        server = production_server(Path(tmp))
        try:
            if kind == "open":
                n, addresses = (int(x) for x in numbers)
                print(measure_open(server, n, addresses))
            elif kind == "flood":
                addresses, per_address = int(numbers[0]), int(numbers[1])
                print(measure_flood(server, addresses, per_address, float(numbers[2])))
            elif kind == "events":
                sockets, events = (int(x) for x in numbers)
                print(measure_events(server, sockets, events))
            else:
                raise SystemExit("usage: python -m tests.socket_threads open N ADDRESSES | "
                                 "flood ADDRESSES PER_ADDRESS SECONDS | events SOCKETS EVENTS")
        finally:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
