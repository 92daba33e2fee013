"""Where ``./dev.sh cluster`` puts its processes (kiosk.testing.procs.spawn_kept, issue #17).

The nodes once ran in sessions of their own (setsid), so each was a scheduler autogroup of
its own on Linux, where the simulated investors' nice 19 no longer left them the cores (the
load harness's server lost media that way). Now they stay in the starting command's session
and autogroup, in a process group of their own, and still outlive that command and its
terminal: a starter runs here under a pseudo-terminal, which is then hung up.
"""

from __future__ import annotations

import os
import pty
import signal
import sys
import time

import psutil
import pytest

from kiosk.testing.procs import kiosk_env, scheduler_autogroup, spawn_kept

STARTER = """
import signal, subprocess, sys, time
# A terminal's shell leaves SIGHUP at its default; a suite started under nohup would pass
# SIG_IGN down to this starter and its child, and nothing would die of the hang-up.
signal.signal(signal.SIGHUP, signal.SIG_DFL)
from kiosk.testing.procs import spawn_kept
args = [sys.executable, "-c", "import time; time.sleep(120)"]
how = sys.argv[1]
child = (subprocess.Popen(args) if how == "plain"
         else spawn_kept(args, own_session=how == "own_session"))
print("child", child.pid, flush=True)
time.sleep(120)
"""



def _start_under_terminal(how: str) -> tuple[int, int, int, str | None]:
    """A starter as a session leader on a pseudo-terminal; (starter pid, the terminal's
    master fd, the child it started, the starter's autogroup)."""
    pid, fd = pty.fork()
    if pid == 0:  # the starter: a new session whose controlling terminal is the pty
        os.execve(sys.executable, [sys.executable, "-c", STARTER, how], kiosk_env(os.environ))
    out = b""
    deadline = time.monotonic() + 60
    while b"\n" not in out.partition(b"child ")[2]:
        assert time.monotonic() < deadline, f"the starter said {out!r}"
        out += os.read(fd, 1024)
    child = int(out.partition(b"child ")[2].split()[0])
    return pid, fd, child, scheduler_autogroup(pid)


def _hang_up(starter: int, fd: int) -> None:
    """Close the terminal: the kernel sends SIGHUP to the session leader and the foreground
    process group. The starter dies of it."""
    os.close(fd)
    _, status = os.waitpid(starter, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGHUP


def _ended(pid: int, within: float) -> bool:
    """Whether ``pid`` is gone or a zombie within ``within`` seconds (once its parent, the
    starter, is dead, nobody here may reap it)."""
    deadline = time.monotonic() + within
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _end(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.parametrize("own_session", [False, True], ids=["caller_session", "own_session"])
def test_a_kept_process_outlives_its_starter_and_the_closed_terminal(own_session):
    starter, fd, child, starter_group = _start_under_terminal(
        "own_session" if own_session else "kept")
    try:
        if own_session:
            assert os.getsid(child) == child != starter
        else:
            # The starter's session and autogroup, where nice ranks it against investors.
            assert os.getsid(child) == os.getsid(starter) == starter
            if starter_group is not None:
                assert scheduler_autogroup(child) == starter_group
        assert os.getpgid(child) == child  # killpg ends it with its children
        _hang_up(starter, fd)
        # The hang-up's signals are sent as the terminal closes: alive 2 s later is alive.
        assert not _ended(child, 2.0)
    finally:
        _end(child)


def test_a_child_left_in_the_terminals_foreground_group_dies_with_it():
    # Why spawn_kept gives the process a group of its own: without one it is hung up too.
    starter, fd, child, _ = _start_under_terminal("plain")
    try:
        _hang_up(starter, fd)
        assert _ended(child, 30.0)
    finally:
        _end(child)


def test_spawn_kept_refuses_to_be_told_where_to_run():
    with pytest.raises(ValueError, match="spawn_kept chooses stdin, the session"):
        spawn_kept([sys.executable, "-c", "pass"], start_new_session=True)
