"""What the test helpers share about their child servers: a free loopback port, the
environment that makes a child run this same kiosk, a stop that always ends the process
(SIGTERM, then SIGKILL), and a start that outlives the starting command (``spawn_kept``)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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


def scheduler_autogroup(pid: int) -> str | None:
    """The scheduler autogroup of ``pid``, as ``/proc/PID/autogroup`` names it
    (``"/autogroup-1855"``), or None where the kernel does not tell: no such file (no
    CONFIG_SCHED_AUTOGROUP), an empty one (some sandboxed kernels, e.g. a CI runner's), or
    a process that is gone."""
    try:
        fields = Path(f"/proc/{pid}/autogroup").read_text().split()
    except OSError:
        return None
    return fields[0] if fields else None


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


def spawn_kept(args: Sequence[str], *, own_session: bool = False,
               **popen: Any) -> subprocess.Popen:
    """Start ``args`` so that it outlives the command starting it: stdin from /dev/null and a
    process group of its own (a Ctrl-C in the terminal, which signals only the foreground
    group, and the closing of the terminal, which signals only the session leader and the
    foreground group, do not reach it; killpg(pid) ends it with its children).

    By default it stays in the caller's session, hence in the caller's scheduler autogroup
    (Linux): there the simulated investors' ``nice 19`` leaves it the cores. ``own_session``
    (setsid) also detaches it from the session and its terminal, but gives it an autogroup of
    its own, which gets as much CPU as the whole session that runs the investors (see
    docs/operations.md, *A local cluster*). ``popen``: further ``subprocess.Popen``
    arguments (env, stdout, cwd, ...)."""
    if "start_new_session" in popen or "process_group" in popen or "stdin" in popen:
        raise ValueError("spawn_kept chooses stdin, the session and the process group itself")
    placement: dict[str, Any] = ({"start_new_session": True} if own_session
                                 else {"process_group": 0})
    return subprocess.Popen(list(args), stdin=subprocess.DEVNULL, **placement, **popen)
