"""WitnessRunner through its ports: a fake page, hand-fired timers, a guide without a voice and
a judge that passes, around the real state machine, timeline, store and seal."""

from __future__ import annotations

import threading

import pytest

from kiosk import session as sm
from kiosk.config import load_settings
from kiosk.errors import GuideError, OutOfOrder, SignallingError
from kiosk.flows.model import (
    SHOWN_MAX_SECONDS,
    SHOWN_MIN_SECONDS,
    reading_seconds,
    shown_seconds,
)
from kiosk.protocol import PageEvent, ServerEvent, StepOutcome
from kiosk.services import build_services
from kiosk.timeline import read_timeline, verify_chain
from kiosk.witness.intake import Applicant, CreateSession, open_witness
from kiosk.witness.ports import Judgement
from kiosk.witness.runner import WitnessRunner
from tests.kiosk_server import make_flows_dir

WAIT = 60  # seconds a worker thread may take on a loaded machine (not a speed check)


class Page:
    """A PageChannel that keeps what it is sent."""

    def __init__(self):
        self.sent: list[tuple[str, dict]] = []
        self.changed = threading.Condition()

    def emit(self, event, data):
        with self.changed:
            self.sent.append((str(event), data))
            self.changed.notify_all()

    def wait_for(self, event: str, count: int = 1) -> list[dict]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.of(event)) >= count, WAIT), self.sent
            return self.of(event)

    def of(self, event: str) -> list[dict]:
        return [d for e, d in self.sent if e == event]


class HandTimers:
    """Timers that fire only when the test says so."""

    def __init__(self):
        self.pending: dict[str, tuple[float, object]] = {}

    def start(self, name, seconds, fire):
        self.pending[name] = (seconds, fire)

    def cancel(self, name):
        self.pending.pop(name, None)

    def cancel_all(self):
        self.pending.clear()

    def fire(self, name):
        _seconds, fire = self.pending.pop(name)
        fire()


class MuteGuide:
    """A guide whose voice cannot be rendered: the page shows the subtitle instead."""

    def render(self, text, locale, rate=None, spoken=None):
        raise GuideError("no voice in this test")

    def prerender(self, items):
        return None


class PassingJudge:
    def __init__(self):
        self.calls: list[tuple[str, tuple[float, float], int, int]] = []

    def judge(self, step, window, seq, attempt):
        self.calls.append((step.id, window, seq, attempt))
        return Judgement(StepOutcome.PASS, {"engine": "test"})


@pytest.fixture()
def services(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data",
                             flows_dir=make_flows_dir(tmp_path / "flows"),
                             liveness=False, speech=False)
    services = build_services(settings)
    yield services
    services.shutdown()


def test_a_witness_runs_to_its_seal_through_the_ports(services):
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="quick"))
    row = services.store.consume(token)
    page, timers, judge = Page(), HandTimers(), PassingJudge()
    runner = WitnessRunner(services, row, services.flows.get("quick"), "sid-1", page,
                           timers=timers, guide=MuteGuide(), judge=judge)
    services.register(runner)
    runner.start()
    runner.heartbeat()
    assert set(timers.pending) == {"heartbeat"}
    runner.dispatch(sm.MediaConnected())

    def play(step_index: int) -> int:
        step = page.wait_for(ServerEvent.STEP, step_index + 1)[step_index]
        assert step["prompt"] is None and step["reading_seconds"] > 0  # no voice: read it
        assert "prompt" in timers.pending
        runner.prompt_report(PageEvent.PROMPT_STARTED, step["seq"])
        runner.prompt_report(PageEvent.PROMPT_ENDED, step["seq"])
        return step["seq"]

    play(0)
    seq = play(1)
    (opened,) = page.wait_for(ServerEvent.WINDOW_OPEN)
    assert (opened["step"], opened["seq"], opened["seconds"]) == ("ready", seq, 3)
    assert timers.pending["window"][0] == 3
    timers.fire("window")  # the answer window ends
    page.wait_for(ServerEvent.STEP, 3)  # judged on a worker: pass, so the next step is sent
    ((step_id, window, judged_seq, attempt),) = judge.calls
    assert (step_id, judged_seq, attempt) == ("ready", seq, 0) and window[0] <= window[1]
    play(2)
    assert page.wait_for(ServerEvent.FINISHED) == [{"session_id": row.id}]
    assert runner.finalised.wait(WAIT) and runner.end_written.wait(WAIT)
    assert timers.pending == {}  # the end cancelled every timer
    runner.heartbeat()  # too late: no timer starts after the end
    assert timers.pending == {}

    events = read_timeline(runner.dir / "timeline.jsonl")
    assert verify_chain(events) is None
    types = [e["type"] for e in events]
    assert types.count("guide_degraded") == 3 and "recording_missing" in types
    result = next(e["data"] for e in events if e["type"] == "step_result")
    assert (result["step"], result["outcome"], result["engine"]) == ("ready", "pass", "test")
    stored = services.store.get(row.id)
    assert (stored.state, stored.end_reason) == ("finished", "completed")
    assert stored.sealed_at is not None  # sealed by the services' evidence sealer
    assert services.live() == []  # forgotten once finalised
    # Only the page channel was used: nothing went to a socket.
    assert [e for e, _ in page.sent] == ["step", "step", "window_open", "window_close", "step",
                                         "finished"]


class HearingJudge:
    """A judge that heard an answer: what it heard travels in its Judgement, nothing else."""

    def judge(self, step, window, seq, attempt):
        return Judgement(StepOutcome.PASS, {"engine": "test", "transcript": "yes"},
                         answer={"step": step.id, "decision": "agree", "text": "yes"},
                         shown={"step": step.id, "text": "yes", "intent": "affirm",
                                "outcome": StepOutcome.PASS})


def test_what_any_judge_heard_is_written_by_the_runner(services):
    """The StepJudge port writes nothing itself: the runner records the answer and tells the
    page, so a judge other than the observers' (a test's, a future one) loses nothing."""
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="quick"))
    row = services.store.consume(token)
    page, timers = Page(), HandTimers()
    runner = WitnessRunner(services, row, services.flows.get("quick"), "sid-5", page,
                           timers=timers, guide=MuteGuide(), judge=HearingJudge())
    runner.start()
    runner.dispatch(sm.MediaConnected())
    for index in (0, 1):
        seq = page.wait_for(ServerEvent.STEP, index + 1)[index]["seq"]
        runner.prompt_report(PageEvent.PROMPT_STARTED, seq)
        runner.prompt_report(PageEvent.PROMPT_ENDED, seq)
    timers.fire("window")
    assert page.wait_for(ServerEvent.RECOGNISED) == [
        {"step": "ready", "text": "yes", "intent": "affirm", "outcome": "pass"}]
    page.wait_for(ServerEvent.STEP, 3)
    runner.dispatch(sm.Cancel())
    assert runner.finalised.wait(WAIT)
    events = read_timeline(runner.dir / "timeline.jsonl")
    (heard,) = [e["data"] for e in events if e["type"] == "answer_recognised"]
    assert heard == {"step": "ready", "decision": "agree", "text": "yes"}
    types = [e["type"] for e in events]
    assert types.index("answer_recognised") < types.index("step_result")


class ListeningFace:
    """The face observer's part an answer window talks to: when every frame is wanted."""

    def __init__(self):
        self.calls: list[bool] = []
        self.spoken: list[str] = []

    def listening(self, on: bool) -> None:
        self.calls.append(on)

    def speech_heard(self, step, spans) -> None:
        self.spoken.append(step)

    def submit(self, frame, t) -> None:
        pass

    def finish(self) -> None:
        pass


def test_the_face_is_analysed_in_full_while_an_answer_window_is_open(services):
    """Holdout 13: the face observer analysed 4.6 frames a second during a spoken answer
    (idle_fps) and the mouth was "not seen moving". The runner tells it when an answer window
    opens and when its answer goes to be judged."""
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="quick"))
    row = services.store.consume(token)
    page, timers = Page(), HandTimers()
    runner = WitnessRunner(services, row, services.flows.get("quick"), "sid-6", page,
                           timers=timers, guide=MuteGuide(), judge=HearingJudge())
    runner.start()
    face = runner.face = ListeningFace()
    runner.dispatch(sm.MediaConnected())
    for index in (0, 1):
        seq = page.wait_for(ServerEvent.STEP, index + 1)[index]["seq"]
        runner.prompt_report(PageEvent.PROMPT_STARTED, seq)
        assert face.calls == []  # a prompt is not an answer
        runner.prompt_report(PageEvent.PROMPT_ENDED, seq)
    page.wait_for(ServerEvent.WINDOW_OPEN)
    assert face.calls == [True]
    timers.fire("window")
    page.wait_for(ServerEvent.STEP, 3)
    assert face.calls == [True, False]
    runner.dispatch(sm.Cancel())
    assert runner.finalised.wait(WAIT)


def test_a_refused_prompt_report_is_answered_on_the_page(services):
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="quick"))
    row = services.store.consume(token)
    page = Page()
    runner = WitnessRunner(services, row, services.flows.get("quick"), "sid-2", page,
                           timers=HandTimers(), guide=MuteGuide(), judge=PassingJudge())
    runner.start()
    runner.prompt_report(PageEvent.PROMPT_ENDED, 7)  # no prompt 7 was sent
    assert page.of(ServerEvent.ERROR) == [{"code": "out_of_order",
                                           "message": "prompt 7 is not current"}]
    runner.dispatch(sm.Cancel())
    assert page.wait_for(ServerEvent.ABORTED) == [{"reason": "cancelled", "state": "aborted"}]
    assert runner.finalised.wait(WAIT)


class FakePeer:
    """A MediaPeer without aiortc: keeps the session it is handed, counts like a recorder."""

    def __init__(self, refuse: str | None = None):
        self.refuse = refuse
        self.session = None
        self.offers: list[str] = []
        self.closed = 0

    def accept(self, offer_sdp, session):
        self.offers.append(offer_sdp)
        if self.refuse:
            raise SignallingError(self.refuse)
        self.session = session
        return "v=0 answer"

    def close(self):
        self.closed += 1

    def received(self):
        return {"video_packets_missing": 3, "keyframe_requests": 1}


def test_the_runner_talks_to_the_media_only_through_its_peer_port(services):
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="quick"))
    row = services.store.consume(token)
    page, timers = Page(), HandTimers()
    runner = WitnessRunner(services, row, services.flows.get("quick"), "sid-3", page,
                           timers=timers, guide=MuteGuide(), judge=PassingJudge())
    services.register(runner)
    runner.start()
    # A refused offer drops the peer: another may follow.
    with pytest.raises(SignallingError, match="no video"):
        runner.accept_offer(FakePeer(refuse="no video"), "v=0 bad")
    assert runner.peer is None and not runner.state.terminal
    peer = FakePeer()
    assert runner.accept_offer(peer, "v=0 offer") == "v=0 answer"
    assert runner.peer is peer and peer.offers == ["v=0 offer"]
    session = peer.session
    assert (session.session_id, session.clock) == (row.id, runner.clock)
    assert session.recording_path == runner.dir / "recording.mkv"
    assert session.video_frame is None and session.audio_frame is None  # observers are off
    session.first_frame()  # the media is connected: the first step is sent
    page.wait_for(ServerEvent.STEP)
    session.lost("media_failed")
    assert page.wait_for(ServerEvent.ABORTED) == [{"reason": "media_failed", "state": "aborted"}]
    assert runner.finalised.wait(WAIT) and runner.end_written.wait(WAIT)
    assert peer.closed == 1
    events = read_timeline(runner.dir / "timeline.jsonl")
    types = [e["type"] for e in events]
    assert types.index("offer_received") < types.index("answer_sent") < types.index(
        "media_connected")
    (missing,) = [e["data"] for e in events if e["type"] == "recording_missing"]
    assert missing["received"] == {"video_packets_missing": 3, "keyframe_requests": 1}


class SlowPeer(FakePeer):
    """A peer whose answer waits until the test lets it go (an offer still being answered)."""

    def __init__(self):
        super().__init__()
        self.inside = threading.Event()
        self.release = threading.Event()

    def accept(self, offer_sdp, session):
        self.inside.set()
        assert self.release.wait(WAIT)
        return super().accept(offer_sdp, session)


def test_a_second_offer_is_refused_while_the_first_is_being_answered(services):
    """Socket.IO runs each event on its own thread: two offers can arrive together. Only the
    first may reach a peer; the second must not replace it (its peer would never be closed,
    and both would record into the same recording.mkv)."""
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="quick"))
    row = services.store.consume(token)
    runner = WitnessRunner(services, row, services.flows.get("quick"), "sid-4", Page(),
                           timers=HandTimers(), guide=MuteGuide(), judge=PassingJudge())
    services.register(runner)
    runner.start()
    first, second = SlowPeer(), FakePeer()
    answers: list[str] = []
    t = threading.Thread(target=lambda: answers.append(runner.accept_offer(first, "v=0 one")))
    t.start()
    try:
        assert first.inside.wait(WAIT)
        with pytest.raises(OutOfOrder, match="an offer was already accepted"):
            runner.accept_offer(second, "v=0 two")
        assert second.offers == [] and runner.peer is first
    finally:
        first.release.set()
        t.join(WAIT)
    assert answers == ["v=0 answer"] and runner.peer is first
    runner.dispatch(sm.Cancel())
    assert runner.finalised.wait(WAIT)
    assert first.closed == 1
    # After the end no offer reaches a peer either (it would never be closed).
    late = FakePeer()
    with pytest.raises(OutOfOrder, match="the witness has ended"):
        runner.accept_offer(late, "v=0 late")
    assert late.offers == []
    types = [e["type"] for e in read_timeline(runner.dir / "timeline.jsonl")]
    assert types.count("offer_received") == 1


def test_a_flood_is_recorded_and_ends_the_witness_through_the_runner(services):
    """kiosk.web.events only counts and disconnects: the runner writes client_flood and ends."""
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="quick"))
    row = services.store.consume(token)
    page = Page()
    runner = WitnessRunner(services, row, services.flows.get("quick"), "sid-6", page,
                           timers=HandTimers(), guide=MuteGuide(), judge=PassingJudge())
    runner.start()
    counts = {"received": {"prefs": 40}, "refused": {"prefs": 30}}
    runner.flooded("prefs", counts, {"prefs": [2.0, 5]})
    assert page.wait_for(ServerEvent.ABORTED) == [{"reason": "client_abuse", "state": "aborted"}]
    assert runner.finalised.wait(WAIT)
    events = read_timeline(runner.dir / "timeline.jsonl")
    (flood,) = [e["data"] for e in events if e["type"] == "client_flood"]
    assert flood == {"event": "prefs", **counts, "limits": {"prefs": [2.0, 5]}}
    assert [e["data"] for e in events if e["type"] == "aborted"] == [{"reason": "client_abuse"}]


def test_the_joined_message_is_the_runners(services):
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="quick"))
    row = services.store.consume(token)
    runner = WitnessRunner(services, row, services.flows.get("quick"), "sid-7", Page(),
                           timers=HandTimers(), guide=MuteGuide(), judge=PassingJudge())
    message = runner.joined_message()
    assert (message["session_id"], message["locale"], message["ice_servers"]) == (row.id, "en",
                                                                                  [])
    assert [s["id"] for s in message["steps"]] == [s.id for s in runner.plan]
    assert set(message["steps"][0]) == {"id", "kind", "title"}


def test_a_prompt_without_audio_is_awaited_at_the_investors_speed(services):
    """The page shows a prompt without audio for reading_seconds / speed: at half speed the
    server must wait twice as long, or it flags a prompt the investor is still reading."""
    row, token = open_witness(services, CreateSession(
        applicant=Applicant(name="Test Person", id_number="110101199001011237"),
        locale="en", flow_id="quick"))
    row = services.store.consume(token)
    page, timers = Page(), HandTimers()
    runner = WitnessRunner(services, row, services.flows.get("quick"), "sid-8", page,
                           timers=timers, guide=MuteGuide(), judge=PassingJudge())
    runner.start()
    runner.set_prefs({"speed": 0.5})
    runner.dispatch(sm.MediaConnected())
    (step,) = page.wait_for(ServerEvent.STEP)
    assert step["reading_seconds"] == shown_seconds(step["text"], "en")
    assert timers.pending["prompt"][0] == pytest.approx(
        step["reading_seconds"] / 0.5 + sm.PROMPT_GRACE_SECONDS)
    runner.dispatch(sm.Cancel())
    assert runner.finalised.wait(WAIT)


def test_the_page_is_sent_a_reading_time_within_its_bounds():
    assert shown_seconds("Hi.", "en") == SHOWN_MIN_SECONDS
    assert reading_seconds("word " * 200, "en") > SHOWN_MAX_SECONDS
    assert shown_seconds("word " * 200, "en") == SHOWN_MAX_SECONDS
    assert shown_seconds("您好，请确认您已阅读风险揭示书。", "zh-CN") == round(
        reading_seconds("您好，请确认您已阅读风险揭示书。", "zh-CN"), 1)
