"""The threads a node runs per open Socket.IO connection, as docs/operations.md (*Serving*)
states them: four per open websocket (gunicorn's pool thread that runs it, simple-websocket's
reader, Engine.IO's writer and its ping timer), of which only the pool thread stays once the
socket is closed. A thread started per received packet or per emit would break the bound.
Figures: ``python -m tests.socket_threads open N ADDRESSES`` and ``... flood A S T``."""

from __future__ import annotations

from tests.socket_threads import measure_open, production_server

SOCKETS = 20


def test_each_open_socket_holds_four_threads_and_only_its_pool_thread_stays(tmp_path):
    server = production_server(tmp_path)
    try:
        f = measure_open(server, SOCKETS, 2)
    finally:
        server.stop()
    print(f)
    assert f["sockets_open"] == SOCKETS, f
    per_socket = (f["open"] - f["idle"]) / SOCKETS
    assert 1 <= per_socket <= 4 + 4 / SOCKETS, f  # a few of the node's own may come and go
    assert f["after"] - f["idle"] <= SOCKETS + 4, f  # gunicorn's pool does not shrink
