"""kiosk/protocol.py against its three users: the page's script, the server, the pre-review.

The page side is read from its ES modules, every static/**/*.js but the vendored client
(``socket.on("…")`` handlers, ``emit("…")`` calls);
the server side from the running app's Socket.IO handlers and from the source of kiosk/
(what it emits and what it records). A name that one side uses and the other does not is a
failure, so a new server event without a page handler, a page message without a server
handler, or a pre-review rule for an event nothing records cannot be merged.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kiosk.protocol import (
    BUSY_ERRORS,
    INBOUND,
    LINK_ERRORS,
    LOCALES,
    SERVER_ONLY,
    SOFT_ERRORS,
    AnswerDecision,
    CheckEvent,
    ErrorCode,
    HintCode,
    PageEvent,
    PrefsMessage,
    PromptBlocked,
    PromptReport,
    ServerEvent,
    StepKind,
    StepOutcome,
    TimelineEvent,
    parse_message,
)

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "static"
KIOSK = REPO / "kiosk"
# Socket.IO's own events, which the server never emits by name.
BUILT_IN = {"connect", "connect_error", "disconnect"}
# Calls whose first argument is the type of a recorded event (``append`` only on a timeline;
# ``self.append``: the timeline writer's own; ``note``: kiosk.witness.finalise's recorder).
RECORDING_CALLS = {"record", "Record", "SessionEvent", "timeline.append", "tw.append",
                   "self.append", "note"}


# ---------------------------------------------------------------- readers


def page_handlers(js: str) -> set[str]:
    """Event names the script handles with ``socket.on("name", …)``."""
    return set(re.findall(r'\bsocket\.on\(\s*"([A-Za-z_]+)"', js))


def page_emits(js: str) -> set[str]:
    """Event names the script sends: ``emit("name", …)`` and its wrapper ``sendOnce("name", …)``."""
    return set(re.findall(r'\b(?:emit|sendOnce)\(\s*"([A-Za-z_]+)"', js))


def page_scripts() -> list[Path]:
    """The page's own scripts: static/*.js and the modules in its subfolders (static/investor/),
    not the vendored Socket.IO client."""
    return sorted(p for p in STATIC.rglob("*.js")
                  if "vendor" not in p.relative_to(STATIC).parts)


def static_js() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in page_scripts())


def js_list(js: str, name: str) -> set[str]:
    """The strings of ``[export] const|var|let NAME = [...]`` in a script."""
    m = re.search(rf"\b(?:const|var|let)\s+{name}\s*=(.*?);", js, re.S)
    assert m, f"{name} is not declared in static/"
    return set(re.findall(r'"([A-Za-z_-]+)"', m.group(1)))


def _call_name(node: ast.Call) -> str | None:
    """``f`` for ``f(...)`` and ``x.f(...)``; ``timeline.append`` for ``[self.]timeline.append``."""
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if not isinstance(f, ast.Attribute):
        return None
    if f.attr == "append":
        owner = f.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        return f"{name}.append"
    return f.attr


def _enum_ref(node: ast.AST, enum: str) -> str | None:
    """``Enum.MEMBER`` -> "MEMBER" when ``node`` is a reference to ``enum``'s member."""
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == enum):
        return node.attr
    return None


def source_files(exclude: tuple[str, ...] = ()) -> list[Path]:
    files = []
    for path in sorted(KIOSK.rglob("*.py")):
        rel = path.relative_to(KIOSK).as_posix()
        if not any(rel == e or rel.startswith(e + "/") for e in exclude):
            files.append(path)
    return files


def enum_members_used(enum, files: list[Path]) -> set[str]:
    """Values of ``enum``'s members referenced (``Enum.MEMBER``) anywhere in ``files``."""
    used = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = _enum_ref(node, enum.__name__)
            if name is not None and name in enum.__members__:
                used.add(enum[name].value)
    return used


def literal_first_args(files: list[Path], calls: set[str]) -> set[str]:
    """String literals given as the first argument of calls named in ``calls``."""
    found = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and _call_name(node) in calls and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return found


def server_emits() -> set[str]:
    """Every event name the server side sends: ServerEvent members referenced in kiosk/web and
    kiosk/witness (the runner) and string literals given to ``emit`` there."""
    files = [p for p in source_files() if p.relative_to(KIOSK).parts[0] in ("web", "witness")]
    return enum_members_used(ServerEvent, files) | literal_first_args(files, {"emit"})


def _event_values(node: ast.AST) -> set[str]:
    """The event types an expression names: a string literal or a TimelineEvent / CheckEvent
    member."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    for enum in (TimelineEvent, CheckEvent):
        name = _enum_ref(node, enum.__name__)
        if name is not None and name in enum.__members__:
            return {enum[name].value}
    return set()


def recorded_in(files: list[Path]) -> set[str]:
    """Event types ``files`` record: the first argument of a recording call
    (``RECORDING_CALLS``), as a literal, an enum member, or ``MAP[...]`` of a module-level
    dict (its values: ``TERMINAL_EVENTS``, ``PROMPT_REPORTS``). A member that is only read or
    compared is not recorded."""
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in files]
    maps: dict[str, ast.Dict] = {}
    for tree in trees:
        for stmt in tree.body:
            if (isinstance(stmt, ast.Assign | ast.AnnAssign)
                    and isinstance(stmt.value, ast.Dict)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                maps.update({t.id: stmt.value for t in targets if isinstance(t, ast.Name)})
    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _call_name(node) in RECORDING_CALLS
                    and node.args):
                continue
            first = node.args[0]
            found |= _event_values(first)
            if (isinstance(first, ast.Subscript) and isinstance(first.value, ast.Name)
                    and first.value.id in maps):
                for value in maps[first.value.id].values:
                    found |= _event_values(value)
    return found


def recorded_types() -> set[str]:
    """Event types something in kiosk/ records (the reviewer only reads, so review/ and the
    vocabulary itself do not count)."""
    return recorded_in(source_files(exclude=("protocol.py", "review")))


# ---------------------------------------------------------------- the checks


def unhandled_server_events(sent: set[str], handled: set[str]) -> set[str]:
    return sent - handled - set(SERVER_ONLY)


def unhandled_page_events(sent: set[str], server_handlers: set[str]) -> set[str]:
    return sent - server_handlers


@pytest.fixture(scope="module")
def server_handlers(tmp_path_factory):
    """Event names with a Socket.IO handler in the running app."""
    from kiosk.config import load_settings
    from kiosk.web.app import create_app
    from tests.kiosk_server import make_flows_dir

    tmp = tmp_path_factory.mktemp("protocol")
    app = create_app(load_settings(data_dir=tmp / "data", flows_dir=make_flows_dir(tmp / "flows")))
    try:
        yield set(app.extensions["socketio"].server.handlers["/"])
    finally:
        app.extensions["kiosk"].shutdown()


def test_every_server_event_has_a_page_handler():
    sent = server_emits()
    assert sent <= set(ServerEvent), f"emitted but not in ServerEvent: {sent - set(ServerEvent)}"
    assert unhandled_server_events(sent, page_handlers(static_js())) == set()


def test_every_server_event_is_sent_and_every_page_handler_is_for_one():
    assert set(ServerEvent) - server_emits() == set(), "ServerEvent members nothing sends"
    assert page_handlers(static_js()) - BUILT_IN <= set(ServerEvent)
    assert set(SERVER_ONLY) <= set(ServerEvent)


def test_every_page_event_has_a_server_handler(server_handlers):
    sent = page_emits(static_js())
    assert sent, "no emit(...) found in static/*.js: the pattern no longer matches the script"
    assert sent <= set(PageEvent), f"sent but not in PageEvent: {sent - set(PageEvent)}"
    assert unhandled_page_events(sent, server_handlers) == set()
    assert set(PageEvent) <= server_handlers
    assert set(PageEvent) == sent, f"PageEvent members never sent: {set(PageEvent) - sent}"


def test_every_page_event_has_a_payload_model_and_a_rate_limit():
    from kiosk.config import SOCKET_EVENT_LIMITS

    assert set(INBOUND) == set(PageEvent)
    assert set(PageEvent) <= set(SOCKET_EVENT_LIMITS)


def test_the_page_is_read_from_every_module():
    """The handlers live in static/investor/socket.js and the reports in guide.js: a reader of
    static/*.js alone would see none of them, and every check above would pass on nothing."""
    names = {p.relative_to(STATIC).as_posix() for p in page_scripts()}
    assert {"investor.js", "investor/socket.js", "investor/guide.js", "i18n.js"} <= names
    assert not any(n.startswith("vendor/") for n in names)
    js = static_js()
    assert {"joined", "step", "answer", "error"} <= page_handlers(js)
    assert {"join", "offer", "prompt_started", "prompt_ended"} <= page_emits(js)


def test_the_checks_catch_a_new_unhandled_event():
    js = 'socket.on("joined", onJoined);\n socket.on("step", onStep);\n emit("join", {});'
    assert unhandled_server_events({"joined", "step", "brand_new"}, page_handlers(js)) == {
        "brand_new"}
    assert unhandled_page_events(page_emits(js) | {"brand_new"}, {"join"}) == {"brand_new"}


def test_every_prereview_rule_is_keyed_to_a_recorded_event():
    from kiosk.review.prereview import RULES

    keys = set(RULES)
    assert keys <= set(TimelineEvent) | set(CheckEvent), keys - set(TimelineEvent) - set(CheckEvent)
    never = keys - recorded_types()
    assert never == set(), f"pre-review rules for events nothing in kiosk/ records: {never}"


def test_the_rule_check_catches_a_rule_for_an_event_nothing_records():
    from kiosk.review.prereview import RULES, rule

    @rule("brand_new_event")  # type: ignore[arg-type]  # a loose string, as a mistake would be
    def _judge(data, t, ctx):
        pass

    try:
        assert set(RULES) - recorded_types() == {"brand_new_event"}
    finally:
        del RULES["brand_new_event"]


def test_a_member_only_read_or_compared_is_not_recorded(tmp_path):
    source = tmp_path / "reader.py"
    source.write_text(
        "REPORTS = {1: TimelineEvent.PROMPT_STARTED}\n"
        "def f(e, tl):\n"
        "    if e['type'] == TimelineEvent.JOINED:\n"  # a comparison
        "        return TimelineEvent.CANCELLED\n"  # a read
        "    tl.record(TimelineEvent.CLIENT_ERROR, {})\n"
        "    tl.record(REPORTS[e], {})\n"
        "    SessionEvent(CheckEvent.TOO_DARK, 0, 1, 1)\n", encoding="utf-8")
    assert recorded_in([source]) == {"client_error", "prompt_started", "too_dark"}


def test_every_timeline_and_check_event_is_recorded():
    recorded = recorded_types()
    assert set(TimelineEvent) - recorded == set()
    assert set(CheckEvent) - recorded == set()


def test_every_hint_code_is_sent_by_the_face_observer_or_the_card_picker():
    """The page's HINT_CODES equal HintCode (below), so a code nothing sends (the page once
    handled ``hold_still``, which the server never sent) must fail here. The card codes come
    from the card frame picker (an id_document step)."""
    sent = enum_members_used(HintCode, [KIOSK / "liveness" / "observer.py",
                                        KIOSK / "idcard" / "frames.py"])
    assert set(HintCode) - sent == set(), "hint codes neither observer sends"


def test_page_lists_match_the_protocol():
    from kiosk.flows.model import CHALLENGES

    js = static_js()
    assert js_list(js, "HINT_CODES") == set(HintCode)
    assert js_list(js, "CHALLENGES") == CHALLENGES
    assert js_list(js, "LOCALES") == set(LOCALES)


def test_the_pages_error_groups_are_the_protocols():
    """The page sorts the ``error`` codes it may get into the protocol's groups: a code
    renamed or added on one side only fails here."""
    js = static_js()
    assert js_list(js, "LINK_ERRORS") == LINK_ERRORS
    assert js_list(js, "BUSY_ERRORS") == BUSY_ERRORS
    assert js_list(js, "SOFT_ERRORS") == SOFT_ERRORS
    assert LINK_ERRORS | BUSY_ERRORS | SOFT_ERRORS <= set(ErrorCode)


def test_the_step_kinds_are_the_flow_scripts():
    from kiosk.flows.model import STEP_CLASSES
    from kiosk.session import ANSWER_KINDS, OBSERVED_KINDS

    assert set(StepKind) == set(STEP_CLASSES)
    assert ANSWER_KINDS | OBSERVED_KINDS <= set(StepKind)


@pytest.mark.parametrize("decision, codes", [
    (AnswerDecision.AGREE, []),
    (AnswerDecision.DISAGREE, ["consent_no"]),
    (AnswerDecision.UNCLEAR, ["consent_unclear"]),
    # Values no producer writes (kiosk.witness.judge.OUTCOME_DECISION) are not a decision.
    ("yes", ["consent_unclear"]), (True, ["consent_unclear"]), ("no", ["consent_unclear"]),
])
def test_the_prereview_reads_the_decisions_the_judge_writes(decision, codes):
    from kiosk.review.prereview import RULES, Context
    from kiosk.witness.judge import OUTCOME_DECISION

    assert set(OUTCOME_DECISION.values()) | {AnswerDecision.UNCLEAR} == set(AnswerDecision)
    ctx = Context(step="consent")
    RULES[TimelineEvent.ANSWER_RECOGNISED]({"step": "consent", "decision": decision}, 5.0, ctx)
    assert [f.code for f in ctx.findings] == codes


def test_enums_are_their_strings_on_the_wire_and_on_disk(tmp_path):
    import json

    from kiosk.timeline import MediaClock, TimelineWriter, read_timeline

    assert json.dumps({"type": TimelineEvent.STEP_RESULT, "outcome": StepOutcome.PASS}) == (
        '{"type": "step_result", "outcome": "pass"}')
    tw = TimelineWriter(tmp_path / "timeline.jsonl", MediaClock())
    event = tw.append(TimelineEvent.STEP_RESULT, {"outcome": StepOutcome.FLAG})
    assert event is not None and type(event["type"]) is str
    tw.close()
    line = (tmp_path / "timeline.jsonl").read_text(encoding="utf-8")
    assert '"type": "step_result"' in line and '"outcome": "flag"' in line
    assert read_timeline(tmp_path / "timeline.jsonl")[0]["type"] == "step_result"


@pytest.mark.parametrize("data, seq", [
    ({"seq": 3}, 3), ({"seq": 0, "step": "x"}, 0), ({"seq": True}, None), ({"seq": "1"}, None),
    ({"seq": -1}, None), ({"seq": 10**6}, None), ({}, None), (None, None), ("3", None),
])
def test_prompt_reports_need_a_small_integer_seq(data, seq):
    msg = parse_message(PromptReport, data)
    assert (msg.seq if msg is not None else None) == seq


def test_a_blocked_prompt_reason_is_text_of_at_most_100_characters():
    assert parse_message(PromptBlocked, {"seq": 1, "reason": "x" * 500}).reason == "x" * 100
    assert parse_message(PromptBlocked, {"seq": 1, "reason": 5}).reason == "5"
    assert parse_message(PromptBlocked, {"seq": 1}).reason == "None"


@pytest.mark.parametrize("data, changes", [
    ({"locale": "en", "speed": 1.2, "captions": False},
     {"locale": "en", "speed": 1.2, "captions": False}),
    ({"locale": "fr", "speed": 1, "captions": "yes"}, {"speed": 1.0}),
    ({"speed": 3}, {}), ({"speed": 0.4}, {}), ({"speed": True}, {}), ({"speed": "1"}, {}),
    ({"speed": float("nan")}, {}), ({"locale": 5}, {}), ({}, {}),
])
def test_prefs_keep_only_their_valid_fields(data, changes):
    assert parse_message(PrefsMessage, data).changes() == changes


def test_the_page_shows_a_prompt_without_audio_within_the_servers_bounds():
    """The server sends reading_seconds within SHOWN_MIN/MAX_SECONDS and waits for it; the
    page's own bounds (its defence against a bad value) must be the same."""
    from kiosk.flows.model import SHOWN_MAX_SECONDS, SHOWN_MIN_SECONDS

    js = (STATIC / "investor" / "guide.js").read_text(encoding="utf-8")
    bounds = {name: float(value) for name, value in
              re.findall(r"\bconst (READING_M(?:IN|AX)_MS) = (\d+);", js)}
    assert bounds == {"READING_MIN_MS": SHOWN_MIN_SECONDS * 1000,
                      "READING_MAX_MS": SHOWN_MAX_SECONDS * 1000}
