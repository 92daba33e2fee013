"""What the test helpers share about their child servers: a free loopback port, and a stop
that always ends the process (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import socket
import subprocess


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (free when asked: bind soon, and retry if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """End ``proc`` if it still runs: SIGTERM, and SIGKILL after ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
