"""Only the runner writes the timeline and talks to the page (docs/architecture.md).

What is below the runner (observers, the card capture, the peer, the step judge) and the web
layer report to it; the runner decides what is written and sent. Two checks:

- statically, over the source of ``kiosk/``: a page message (``emit(ServerEvent.X, ...)``)
  is sent only by ``kiosk/witness/runner.py`` (and, before a socket has a witness, the web
  layer's ``_refuse``, with ``error``), and a timeline event is written (``append``,
  ``record``, ``note`` of a ``TimelineEvent``) only by the runner, the end it writes
  (``kiosk/witness/finalise.py``), the timeline itself and the sample-package builder;
- at run time, ``WatchedTimeline`` and ``WatchedPage`` wrap the ports of a live runner and
  note every write whose caller is not the runner deciding it: a call that reaches the port
  through nothing but the runner's ``record`` / ``emit`` (another module holding those
  methods, as the card capture once did) is a violation. ``tests/test_idcard_live.py`` runs
  the card step with them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import kiosk
from kiosk import session as sm
from kiosk.config import load_settings
from kiosk.protocol import ServerEvent, TimelineEvent
from kiosk.services import build_services
from kiosk.web import events
from kiosk.web.app import create_app
from kiosk.witness import finalise, runner
from kiosk.witness.intake import Applicant, CreateSession, open_witness
from kiosk.witness.runner import WitnessRunner
from tests.kiosk_server import API_KEY, make_flows_dir
from tests.test_witness_runner import WAIT, HandTimers, MuteGuide, Page, PassingJudge

KIOSK = Path(kiosk.__file__).parent
# Modules that write timeline events, each with the reason.
TIMELINE_WRITERS = {
    "kiosk/witness/runner.py": "the runner",
    "kiosk/witness/finalise.py": "the end of a session, written by the runner or recovery",
    "kiosk/recovery.py": "a lost node's session sealed from the shared state: its one aborted "
                         "event (the runner's timeline died with the node)",
    "kiosk/timeline.py": "the writer's own repeats_counted",
    "kiosk/review/sample.py": "builds a sample package for tests and demos, no live witness",
    "kiosk/testing/seal_bench.py": "builds a package to time sealing (kiosk evidence bench)",
    # Not a timeline at all: the simulated investor notes the server events it received.
    "kiosk/media/simulate.py": "its own log of what the page received",
}
WRITE_CALLS = {"append", "record", "note"}
TIMELINE_TYPES = {str(e) for e in TimelineEvent}


def _calls(path: Path):
    """Each call in ``path`` with the function it is in: (function name or None, call)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def walk(node, fn):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) \
                else fn
            if isinstance(child, ast.Call):
                yield inner, child
            yield from walk(child, inner)

    yield from walk(tree, None)


def _name(call: ast.Call) -> str | None:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _enum_member(node: ast.expr, enum: str) -> str | None:
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == enum):
        return node.attr
    return None


def _timeline_type(node: ast.expr) -> bool:
    if _enum_member(node, "TimelineEvent") is not None:
        return True
    return isinstance(node, ast.Constant) and node.value in TIMELINE_TYPES


def test_only_the_runner_emits_to_the_page_and_writes_the_timeline():
    emits, writes = [], []
    for path in sorted(KIOSK.rglob("*.py")):
        rel = path.relative_to(KIOSK.parent).as_posix()
        for fn, call in _calls(path):
            if not call.args:
                continue
            name, first = _name(call), call.args[0]
            member = _enum_member(first, "ServerEvent")
            if name == "emit" and member is not None:
                allowed = (rel == "kiosk/witness/runner.py"
                           or (rel == "kiosk/web/events.py" and fn == "_refuse"
                               and member == "ERROR"))
                if not allowed:
                    emits.append(f"{rel}:{call.lineno} {fn}: emit(ServerEvent.{member})")
            if name in WRITE_CALLS and _timeline_type(first) and rel not in TIMELINE_WRITERS:
                writes.append(f"{rel}:{call.lineno} {fn}: {name}({ast.unparse(first)})")
    assert emits == [], "page messages sent outside the runner"
    assert writes == [], "timeline events written outside the runner"


def test_the_static_check_sees_a_module_that_emits_or_records_itself(tmp_path):
    """The check above fails on what the card capture used to do (kiosk/witness/live_card.py
    emitting hints and recording id_card_captured through the runner's methods)."""
    bad = tmp_path / "live_card.py"
    bad.write_text(
        "def _hint(self, code):\n"
        "    self.emit(ServerEvent.HINT, {'code': code})\n"
        "def judge(self):\n"
        "    self.record(TimelineEvent.ID_CARD_CAPTURED, {})\n"
        "    self.timeline.append('step_result', {})\n", encoding="utf-8")
    found = [(fn, _name(c), _enum_member(c.args[0], "ServerEvent") or _timeline_type(c.args[0]))
             for fn, c in _calls(bad) if c.args]
    assert found == [("_hint", "emit", "HINT"), ("judge", "record", True),
                     ("judge", "append", True)]


# ------------------------------------------------------------------ at run time

RUNNER_FILES = {runner.__file__, finalise.__file__}
# The runner's own writers: reaching a port through these alone means another module holds
# them and decided the write.
PASS_THROUGH = {"record", "emit"}


def _violation(what: str) -> str | None:
    """None when the port call being made (the watcher's caller) was decided by the runner:
    the frames that lead to it are the runner's (or the end it writes), and at least one of
    them is more than a pass-through."""
    frame = sys._getframe(2)
    names = []
    while frame is not None and frame.f_code.co_filename in RUNNER_FILES:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    if names and set(names) - PASS_THROUGH:
        return None
    origin = (f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}"
              if frame is not None else "?")
    return f"{what} from {origin} (through the runner's {names or 'nothing'})"


class WatchedTimeline:
    """A ``Timeline`` port around the real one that notes each write the runner did not
    decide (``violations``)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.violations: list[str] = []

    def append(self, type_, data=None, t=None):
        bad = _violation(f"timeline {type_}")
        if bad:
            self.violations.append(bad)
        return self.inner.append(type_, data, t)

    def close(self) -> None:
        self.inner.close()


class WatchedPage(Page):
    """A ``PageChannel`` that keeps what it is sent and notes each message the runner did not
    decide (``violations``)."""

    def __init__(self) -> None:
        super().__init__()
        self.violations: list[str] = []

    def emit(self, event, data):
        bad = _violation(f"page {event}")
        if bad:
            self.violations.append(bad)
        super().emit(event, data)


class _Holder:
    """Another module holding the runner's writers (what the card capture used to be)."""

    def __init__(self, emit, record) -> None:
        self.emit, self.record = emit, record

    def hint(self) -> None:
        self.emit(ServerEvent.HINT, {"code": None, "text": None})

    def captured(self) -> None:
        self.record(TimelineEvent.ID_CARD_CAPTURED, {"side": "front"})


def test_the_watchers_tell_a_write_the_runner_decided_from_one_it_forwarded(tmp_path):
    services = build_services(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        liveness=False, speech=False))
    try:
        row, token = open_witness(services, CreateSession(
            applicant=Applicant(name="Test Person", id_number="110101199001011237"),
            locale="en", flow_id="quick"))
        row = services.store.consume(token)
        page = WatchedPage()
        r = WitnessRunner(services, row, services.flows.get("quick"), "sid-w", page,
                          timers=HandTimers(), guide=MuteGuide(), judge=PassingJudge())
        timeline = r.timeline = WatchedTimeline(r.timeline)
        r.start()  # the runner's own writes
        r.set_prefs({"speed": 1.5})  # a report the runner records
        assert page.violations == [] and timeline.violations == []
        holder = _Holder(r.emit, r.record)
        holder.hint()
        holder.captured()
        (emitted,) = page.violations
        (written,) = timeline.violations
        assert "page hint from" in emitted and "test_one_writer.py" in emitted
        assert "timeline id_card_captured from" in written and "captured" in written
        r.dispatch(sm.Cancel())
        assert r.finalised.wait(WAIT)
    finally:
        services.shutdown()


def test_the_web_layer_sends_joined_and_refusals_through_the_runner(tmp_path, monkeypatch):
    """``joined`` and a refusal after the join reach the page through the runner's
    ``PageChannel`` (``kiosk.web.events.SocketPage``), not straight to the socket."""
    through_page: list[str] = []
    emit = events.SocketPage.emit

    def watched(self, event, data):
        through_page.append(str(event))
        emit(self, event, data)

    monkeypatch.setattr(events.SocketPage, "emit", watched)
    app = create_app(load_settings(
        data_dir=tmp_path / "data", flows_dir=make_flows_dir(tmp_path / "flows"),
        api_keys=[API_KEY], liveness=False, speech=False, socket_join_seconds=30))
    try:
        client = app.test_client()
        r = client.post("/api/sessions", headers={"X-API-Key": API_KEY}, json={
            "applicant": {"name": "张三", "id_number": "110102199003078888"},
            "flow_id": "quick"})
        token = r.get_json()["investor_url"].rsplit("/", 1)[1]
        sock = app.extensions["socketio"].test_client(app, flask_test_client=client)
        sock.emit("prompt_started", {"seq": 1})  # before joining: no runner, answered directly
        assert [m["args"][0]["code"] for m in sock.get_received()] == ["out_of_order"]
        assert through_page == []
        sock.emit("join", {"token": token})
        sock.emit("prompt_replayed", {"seq": "x"})
        received = [(m["name"], m["args"][0]) for m in sock.get_received()]
        assert [name for name, _ in received] == ["joined", "error"]
        assert received[1][1]["code"] == "bad_message"
        assert through_page == ["joined", "error"]
        sock.disconnect()
    finally:
        app.extensions["kiosk"].shutdown()
