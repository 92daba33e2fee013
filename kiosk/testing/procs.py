"""What the test helpers share about their child servers: a free loopback port, the
environment that makes a child run this same kiosk, and a stop that always ends the process
(SIGTERM, then SIGKILL)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path

import kiosk


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (free when asked: bind soon, and retry if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kiosk_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the folder this process imports kiosk from first on ``PYTHONPATH``: a
    child started as ``python -m kiosk.cli`` from any working directory (its data folder,
    say) runs the same code, a checkout's or an installed wheel's."""
    root = str(Path(kiosk.__file__).resolve().parent.parent)
    rest = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": root + (os.pathsep + rest if rest else "")}


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
