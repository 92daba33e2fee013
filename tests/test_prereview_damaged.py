"""A sealed case whose check files were damaged (disk full mid-witness) still reaches the
review queue, flagged, and the poller does not trip over it again and again."""

from __future__ import annotations

import json
import logging
import types
from pathlib import Path

import pytest

from kiosk.config import load_settings
from kiosk.evidence import seal_package
from kiosk.review.console import register
from kiosk.review.prereview import build_prereview
from kiosk.review.sample import make_session_dir
from kiosk.store import utcnow
from kiosk.timeline import MediaClock, TimelineWriter
from kiosk.web.app import create_app

FLOW = types.SimpleNamespace(id="securities_account_opening", version=1, content_hash="0" * 64)


def _seal(data_dir: Path, keys, ledger, store=None, *, liveness: bytes | None,
          report_announced: bool = True, damage=None) -> Path:
    """Seal a sample session whose ``checks/liveness.json`` holds ``liveness`` (None: absent);
    ``damage(bag)`` then breaks the sealed bag further. Returns the bag folder."""
    if store is not None:
        row, _ = store.create(flow=FLOW, locale="en", ttl_seconds=600,
                              applicant={"name": "Alex Chen", "id_number": "110102199003078888"})
        sid = row.id
        sdir = store.session_dir(sid)
    else:
        sid = "d" * 32
        sdir = data_dir / "sessions" / sid
    make_session_dir(sdir, sid, seconds=3.0, flagged=False)
    if report_announced:  # the face observer wrote its report and said so on the timeline
        tw = TimelineWriter(sdir / "timeline.jsonl", MediaClock())
        tw.append("liveness_report", {"ok": True, "reasons": []}, t=2.9)
        tw.close()
    if liveness is not None:
        (sdir / "checks").mkdir(exist_ok=True)
        (sdir / "checks" / "liveness.json").write_bytes(liveness)
    res = seal_package(sdir, data_dir / "evidence", keys, ledger)
    if damage is not None:
        damage(res.bag_dir)
    if store is not None:
        store.set(sid, state="finished", end_reason="completed", ended_at=utcnow(),
                  sealed_at=utcnow(), package_id=res.package_id)
    return res.bag_dir


@pytest.fixture()
def keys_ledger(tmp_path):
    from kiosk.evidence import EvidenceKeys, Ledger

    keys = EvidenceKeys(tmp_path / "keys")
    keys.ensure()
    return keys, Ledger(tmp_path / "ledger.jsonl", keys=keys)


def _flags(pre: dict) -> list[str]:
    return [f["text"] for f in pre["findings"] if f["severity"] == "flag"]


@pytest.mark.parametrize("content,why", [
    (b"", "empty file"),
    (b'{"summary": {"still_image', "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b"\xff\xfe\x00garbage", "not valid UTF-8"),
])
def test_a_damaged_check_file_becomes_a_flag_on_the_case(tmp_path, keys_ledger, content, why):
    bag = _seal(tmp_path, *keys_ledger, liveness=content)
    pre = build_prereview(bag)
    assert pre["verdict"] == "needs_attention"
    flags = _flags(pre)
    assert any(f.startswith("liveness results unreadable") and "checks/liveness.json" in f
               and why in f for f in flags), flags
    assert any(f.startswith("liveness results unreadable") for f in pre["verdict_reasons"])


def test_a_missing_check_file_the_timeline_announced_becomes_a_flag(tmp_path, keys_ledger):
    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=None))
    assert pre["verdict"] == "needs_attention"
    assert any(f.startswith("liveness results missing") for f in _flags(pre)), _flags(pre)


def test_a_session_without_liveness_has_no_missing_results_flag(tmp_path, keys_ledger):
    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=None, report_announced=False))
    assert not any("liveness results" in f for f in _flags(pre))


def test_a_good_check_file_raises_no_unreadable_flag(tmp_path, keys_ledger):
    pre = build_prereview(_seal(tmp_path, *keys_ledger,
                                liveness=b'{"events": [], "summary": {}}'))
    assert pre["verdict"] == "clear", pre["verdict_reasons"]


@pytest.mark.parametrize("rel,text", [
    ("data/report.json", "package report unreadable"),
    ("data/flow.yaml", "flow script unreadable"),
])
def test_other_damaged_bag_files_are_flags_not_errors(tmp_path, keys_ledger, rel, text):
    def damage(bag):
        (bag / rel).write_bytes(b"{: [" if rel.endswith("yaml") else b"")

    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=b"{}", damage=damage))
    assert pre["verdict"] == "needs_attention"
    assert any(f.startswith(text) and rel.removeprefix("data/") in f for f in _flags(pre))


def test_the_poller_queues_a_damaged_case_once_and_logs_no_error(tmp_path, caplog):
    app = create_app(load_settings(data_dir=tmp_path / "data", liveness=False, speech=False))
    try:
        register(app, app.extensions["kiosk"], config={"poll_seconds": 0})
        k = app.extensions["kiosk"]
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"")
        review = app.extensions["review"]
        with caplog.at_level(logging.INFO):
            first = review.poll()
            second = review.poll()
        assert first["enqueued"] == [bag.name] and second["enqueued"] == []
        case = review.case(bag.name)
        assert case is not None and case.verdict == "needs_attention"
        assert any(f["text"].startswith("liveness results unreadable")
                   for f in case.prereview["findings"])
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        app.extensions["kiosk"].shutdown()


@pytest.mark.parametrize("where", ["timeline", "check file"])
def test_a_lone_surrogate_in_a_bag_is_a_flag_and_the_case_is_queued(tmp_path, caplog, where):
    """Retest N8: a ``\\ud800`` escape (valid JSON, not UTF-8 text) in a sealed timeline line
    built a pre-review that could not be stored: the poller logged an ERROR with a traceback
    every poll and never queued the case."""
    def damage(bag):
        if where == "timeline":
            path = bag / "data" / "timeline.jsonl"
            lines = path.read_bytes().splitlines()
            lines.append(b'{"seq": 98, "t": 3.0, "type": "client_error", '
                         b'"data": {"code": "\\ud800", "\\udfff": "x"}}')
            path.write_bytes(b"\n".join(lines) + b"\n")
        else:
            (bag / "data" / "checks" / "liveness.json").write_bytes(
                b'{"events": [], "summary": {"note": "a\\ud800b"}}')

    app = create_app(load_settings(data_dir=tmp_path / "data", liveness=False, speech=False))
    try:
        register(app, app.extensions["kiosk"], config={"poll_seconds": 0})
        k = app.extensions["kiosk"]
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"{}",
                    damage=damage)
        review = app.extensions["review"]
        with caplog.at_level(logging.INFO):
            assert review.poll()["enqueued"] == [bag.name]
        case = review.case(bag.name)
        assert case is not None and case.verdict == "needs_attention"
        flags = [f["text"] for f in case.prereview["findings"] if f["severity"] == "flag"]
        assert any("lone surrogate" in f for f in flags), flags
        assert "\ud800" not in case.prereview_json
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        app.extensions["kiosk"].shutdown()


def test_a_check_event_with_wrong_types_is_a_flag_not_an_error(tmp_path, keys_ledger):
    bad = (b'{"events": [{"type": "multiple_faces", "t_start": "soon", "t_end": null}],'
           b' "summary": {"id_match": false, "id_match_distance": "far"}}')
    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=bad))
    assert any(f.startswith("liveness results unreadable") and "event 0 malformed" in f
               for f in _flags(pre)), _flags(pre)


def test_a_still_second_face_is_shown_to_the_reviewer_but_does_not_flag(tmp_path, keys_ledger):
    """Issue #12: a picture on the wall is an info finding; a second person stays a flag."""
    def liveness(kind):
        return json.dumps({"events": [{"type": kind, "t_start": 0.4, "t_end": 2.9,
                                       "score": 2.0 if kind == "multiple_faces" else 0.002}],
                           "summary": {}}).encode()

    pre = build_prereview(_seal(tmp_path / "a", *keys_ledger,
                                liveness=liveness("still_second_face")))
    (found,) = [f for f in pre["findings"] if f["code"] == "still_second_face"]
    assert found["severity"] == "info"
    assert found["text"] == ("a still picture of a face in the background (not moving) "
                             "for 2.5 s, 00:00–00:02")
    assert pre["verdict"] == "clear", pre["findings"]
    pre = build_prereview(_seal(tmp_path / "b", *keys_ledger,
                                liveness=liveness("multiple_faces")))
    assert pre["verdict"] == "needs_attention" and "second face 00:00–00:02" in _flags(pre)


def test_a_face_analysis_that_could_not_finish_is_a_flag(tmp_path, keys_ledger):
    """Issue #13 retest: the face analysis sampled the face but could not write its results
    (a full disk at the end). Before, nothing on the timeline announced the file, so the case
    carried no flag and could be cleared without any liveness result."""
    from kiosk.evidence import seal_package

    sid = "e" * 32
    sdir = tmp_path / "sessions" / sid
    make_session_dir(sdir, sid, seconds=3.0, flagged=False, signals=True)
    (sdir / "checks" / "liveness.json").unlink()  # the results the full disk did not take
    res = seal_package(sdir, tmp_path / "evidence", *keys_ledger)
    pre = build_prereview(res.bag_dir)
    assert pre["verdict"] == "needs_attention"
    assert any(f.startswith("liveness results missing") for f in _flags(pre)), _flags(pre)


def test_an_unavailable_face_analysis_is_a_flag(tmp_path, keys_ledger):
    data = b'{"available": false, "error": "face analyser unavailable: RuntimeError"}'
    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=data))
    assert pre["verdict"] == "needs_attention"
    assert any("analysis was unavailable" in f for f in _flags(pre)), _flags(pre)


def test_a_liveness_unavailable_event_is_a_flag(tmp_path, keys_ledger):
    def damage_free(sdir):
        tw = TimelineWriter(sdir / "timeline.jsonl", MediaClock())
        tw.append("liveness_unavailable", {"error": "the results were not written: the data "
                                                    "disk is full"}, t=2.95)
        tw.close()

    sid = "f" * 32
    sdir = tmp_path / "sessions" / sid
    make_session_dir(sdir, sid, seconds=3.0, flagged=False)
    damage_free(sdir)
    from kiosk.evidence import seal_package

    pre = build_prereview(seal_package(sdir, tmp_path / "evidence", *keys_ledger).bag_dir)
    assert pre["verdict"] == "needs_attention"
    assert any(f.startswith("active liveness check unavailable") for f in _flags(pre)), \
        _flags(pre)


def test_a_timeline_event_without_a_valid_time_is_a_flag_not_an_error(tmp_path, keys_ledger):
    """#13 retest: a line whose `t` was not a number made build_prereview raise, so the poller
    would log a traceback every poll and never queue the case."""
    def damage(bag):
        path = bag / "data" / "timeline.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()
        ev = json.loads(lines[1])
        ev["t"] = "soon"
        lines[1] = json.dumps(ev, ensure_ascii=False)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=b'{"events": [], "summary": {}}',
                                damage=damage))
    assert pre["verdict"] == "needs_attention"
    assert any(f.startswith("timeline unreadable") for f in _flags(pre)), _flags(pre)


def _damage_timeline(edit):
    """A ``damage`` that rewrites timeline line 2 (0-based 1) with ``edit(line) -> bytes`` after
    appending an ``aborted`` event, the one a hidden tail would lose."""
    def damage(bag):
        path = bag / "data" / "timeline.jsonl"
        lines = path.read_bytes().splitlines()
        last = json.loads(lines[-1])
        lines.append(json.dumps({"seq": last["seq"] + 1, "t": 3.5, "type": "aborted",
                                 "data": {"reason": "cancelled"}}).encode())
        lines[1] = edit(lines[1])
        path.write_bytes(b"\n".join(lines) + b"\n")
    return damage


def _with_t(value: str):
    return lambda line: json.dumps({**json.loads(line), "t": 0}).encode().replace(
        b'"t": 0', b'"t": ' + value.encode())


@pytest.mark.parametrize("edit,why", [
    (lambda line: b"[1, 2]", "line 2: a JSON list, not an event object"),
    (lambda line: b"5", "line 2: a JSON int, not an event object"),
    (lambda line: b'{"t": 1, "type": "x\xff\xfe"}', "line 2: byte 0xff is not valid UTF-8"),
    (lambda line: line[: len(line) // 2], "line 2: not valid JSON (torn or edited)"),
    (_with_t("null"), "event 1 has no valid time"),
    (_with_t("NaN"), "event 1 has no valid time"),
    (_with_t("Infinity"), "event 1 has no valid time"),
    (_with_t("true"), "event 1 has no valid time"),
    (_with_t("-5"), "event 1 has no valid time"),
])
def test_a_damaged_timeline_line_is_a_flag_and_the_events_after_it_still_count(
        tmp_path, keys_ledger, edit, why):
    """#13 retest, new 2: a line that was JSON but not an object raised AttributeError, invalid
    UTF-8 raised UnicodeDecodeError, and a torn line mid-file silently hid every later event
    (an "aborted: cancelled" reject vanished); a `t` of null, NaN, Infinity or true passed."""
    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=b'{"events": [], "summary": {}}',
                                damage=_damage_timeline(edit)))
    flags = _flags(pre)
    assert any(f.startswith("timeline unreadable (timeline.jsonl: ") and why in f
               for f in flags), flags
    assert pre["verdict"] == "suggested_reject", pre["verdict_reasons"]
    assert any(f.startswith("session aborted at") and f.endswith("cancelled")
               for f in pre["verdict_reasons"]), pre["verdict_reasons"]
    assert pre["duration"] == 3.5


def test_a_missing_timeline_is_a_flag(tmp_path, keys_ledger):
    pre = build_prereview(_seal(
        tmp_path, *keys_ledger, liveness=b'{"events": [], "summary": {}}',
        damage=lambda bag: (bag / "data" / "timeline.jsonl").unlink()))
    assert pre["verdict"] == "needs_attention"
    assert any(f.startswith("timeline missing") for f in _flags(pre)), _flags(pre)


@pytest.mark.parametrize("rel,flag", [
    # t13c row 2: an emptied timeline was needs_attention with no finding at all
    ("data/timeline.jsonl", "timeline unreadable (timeline.jsonl: empty file, no events)"),
])
def test_an_emptied_evidence_file_is_a_named_flag(tmp_path, keys_ledger, rel, flag):
    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=b'{"events": [], "summary": {}}',
                                damage=lambda bag: (bag / rel).write_bytes(b"")))
    assert pre["verdict"] == "needs_attention"
    assert any(f.startswith(flag) for f in _flags(pre)), _flags(pre)


@pytest.mark.parametrize("rel,flag", [
    # t13c row 2: a deleted flow.yaml or report.json gave no finding
    ("data/flow.yaml", "flow script missing (flow.yaml is in the manifest but not in the "
                       "package)"),
    ("data/report.json", "package report missing (report.json is not in the package)"),
])
def test_a_deleted_evidence_file_is_a_named_flag(tmp_path, keys_ledger, rel, flag):
    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=b'{"events": [], "summary": {}}',
                                damage=lambda bag: (bag / rel).unlink()))
    assert pre["verdict"] == "needs_attention"
    assert any(f.startswith(flag) for f in _flags(pre)), _flags(pre)


def test_read_timeline_stops_quietly_at_damage_and_scan_timeline_reads_past_it(tmp_path):
    from kiosk.timeline import read_timeline, scan_timeline

    path = tmp_path / "timeline.jsonl"
    path.write_bytes(b'{"seq": 0}\n[1]\n\xff\n{"seq": 1}\n{"seq"')
    assert read_timeline(path) == [{"seq": 0}]  # a prefix, as the writer and the sealer need
    scan = scan_timeline(path)
    assert scan.events == [{"seq": 0}, {"seq": 1}]
    assert scan.problems == ["line 2: a JSON list, not an event object",
                             "line 3: byte 0xff is not valid UTF-8",
                             "line 5: not valid JSON (torn or edited)"]
    assert scan_timeline(tmp_path / "none.jsonl").problems == ["file missing"]


@pytest.mark.parametrize("content,why", [
    (b"", "empty file"),
    (b"# only a comment\n", "empty file"),
    (b"- a\n- b\n", "not a mapping (a list)"),
    (b"just text\n", "not a mapping (a str)"),
])
def test_an_empty_or_non_mapping_flow_script_is_a_flag(tmp_path, keys_ledger, content, why):
    """Retest N9: only a flow.yaml that was not YAML was flagged; an empty one, or a list,
    was read as no script at all, without a word."""
    def damage(bag):
        (bag / "data" / "flow.yaml").write_bytes(content)

    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=b"{}", damage=damage))
    assert pre["verdict"] == "needs_attention"
    assert any(f.startswith("flow script unreadable (flow.yaml: " + why) for f in _flags(pre)), \
        _flags(pre)


@pytest.mark.parametrize("event", [
    {"type": "identity_change"},  # no time at all
    {"type": "multiple_faces", "t": "abc", "data": 5},  # a timeline event's shape, not a check's
    {"type": "identity_change", "t_start": True, "t_end": None},
    {"type": "face_lost", "t_start": 3.0, "t_end": "later"},
    {"type": "too_dark", "t_start": -1.0, "t_end": 2.0},
])
def test_a_check_event_without_a_valid_time_is_unreadable_not_a_finding(tmp_path, keys_ledger,
                                                                         event):
    """Retest N9: ``{"type": "identity_change"}`` alone gave an identity_change reject at
    00:00, and a multiple_faces event without t_start a "second face 00:00–00:00"."""
    bad = json.dumps({"events": [event], "summary": {}}).encode()
    pre = build_prereview(_seal(tmp_path, *keys_ledger, liveness=bad))
    codes = [f["code"] for f in pre["findings"]]
    assert event["type"] not in codes and "identity_change" not in codes, pre["findings"]
    assert "second_face" not in codes and "face_lost" not in codes, pre["findings"]
    assert any(f.startswith("liveness results unreadable") and "event 0 malformed" in f
               for f in _flags(pre)), _flags(pre)


DEEP = b'{"summary": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize("rel,text", [
    ("data/checks/liveness.json", "liveness results unreadable"),
    ("data/report.json", "package report unreadable"),
])
def test_a_deeply_nested_json_file_is_an_unreadable_flag_and_queued_once(tmp_path, caplog, rel,
                                                                        text):
    """#13 retest F2: a deeply nested check file or report made build_prereview raise
    RecursionError, so the case never reached the queue and every poll tried it again."""
    def damage(bag):
        (bag / rel).write_bytes(DEEP)

    app = create_app(load_settings(data_dir=tmp_path / "data", liveness=False, speech=False))
    try:
        register(app, app.extensions["kiosk"], config={"poll_seconds": 0})
        k = app.extensions["kiosk"]
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"{}",
                    damage=damage)
        review = app.extensions["review"]
        with caplog.at_level(logging.INFO):
            first = review.poll()
            second = review.poll()
        assert first["enqueued"] == [bag.name] and second["enqueued"] == []
        case = review.case(bag.name)
        assert case is not None and case.verdict == "needs_attention"
        flags = [f["text"] for f in case.prereview["findings"] if f["severity"] == "flag"]
        assert any(f.startswith(text) and "nested too deeply" in f for f in flags), flags
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        app.extensions["kiosk"].shutdown()


@pytest.mark.parametrize("depth", [900, 990, 100_000])
def test_read_json_file_names_deep_nesting_whether_parsing_or_walking_hits_the_limit(tmp_path,
                                                                                     depth):
    from kiosk.errors import EvidenceError
    from kiosk.review.prereview import read_json_file

    path = tmp_path / "report.json"
    path.write_bytes(b'{"a": ' + b"[" * depth + b"]" * depth + b"}")
    with pytest.raises(EvidenceError, match="nested too deeply"):
        read_json_file(path)


def _poll_app(tmp_path, clock=None):
    app = create_app(load_settings(data_dir=tmp_path / "data", liveness=False, speech=False))
    register(app, app.extensions["kiosk"], config={"poll_seconds": 0}, clock=clock)
    return app, app.extensions["kiosk"], app.extensions["review"]


def _write(rel: str, content: bytes):
    def damage(bag):
        (bag / rel).parent.mkdir(parents=True, exist_ok=True)
        (bag / rel).write_bytes(content)
    return damage


@pytest.mark.parametrize("rel,content,text", [
    ("data/report.json", b'{"session": "x"}', "package report unreadable (report.json: session "
                                              "is not an object"),
    ("data/report.json", b'{"outcome": [1]}', "package report unreadable (report.json: outcome "
                                              "is not an object"),
    ("data/report.json", b'{"session": {"locale": [1]}}', "package report unreadable "
                                                          "(report.json: session.locale is not"),
    ("data/flow.yaml", b"id: x\nsteps: 3\n", "flow script unreadable (flow.yaml: steps is not "
                                             "a list"),
    ("data/flow.yaml", b"[" * 100_000 + b"]" * 100_000, "flow script unreadable (flow.yaml: "
                                                        "nested too deeply"),
    ("data/id_card/card.json", b'{"checks": 5}', "ID card results unreadable "
                                                 "(id_card/card.json: checks is not a list"),
])
def test_a_bag_file_of_the_wrong_shape_is_a_flag_and_the_case_is_queued_once(
        tmp_path, caplog, rel, content, text):
    """A report part that is not an object, a flow whose steps are not a list or that nests
    too deeply, a card whose checks are not a list: each raised inside build_prereview
    (AttributeError, TypeError, RecursionError), so the poller logged a traceback every 15 s
    and no auditor ever saw the case."""
    app, k, review = _poll_app(tmp_path)
    try:
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"{}",
                    damage=_write(rel, content))
        with caplog.at_level(logging.INFO):
            first = review.poll()
            second = review.poll()
        assert first["enqueued"] == [bag.name] and second["enqueued"] == []
        case = review.case(bag.name)
        assert case is not None and case.verdict == "needs_attention"
        flags = [f["text"] for f in case.prereview["findings"] if f["severity"] == "flag"]
        assert any(f.startswith(text) for f in flags), flags
        assert case.prereview["steps"], "the rest of the bag is still judged"
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        k.shutdown()


def test_content_no_rule_foresaw_queues_the_case_flagged_with_the_file_named(
        tmp_path, caplog, monkeypatch):
    """The class behind every shape above: whatever a rule trips on, the case is queued once
    with "evidence unreadable: <file>", never retried with a traceback each poll."""
    from kiosk.protocol import TimelineEvent
    from kiosk.review import prereview

    def broken(data, t, ctx):
        raise TypeError("a shape no rule foresaw")

    monkeypatch.setitem(prereview.RULES, TimelineEvent.STEP_STARTED, broken)
    app, k, review = _poll_app(tmp_path)
    try:
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"{}")
        with caplog.at_level(logging.INFO):
            first = review.poll()
            second = review.poll()
        assert first["enqueued"] == [bag.name] and second["enqueued"] == []
        case = review.case(bag.name)
        assert case is not None and case.verdict == "needs_attention"
        assert case.flow_id == FLOW.id and case.locale == "en"  # from the session row
        [finding] = case.prereview["findings"]
        assert finding["code"] == "evidence_unreadable" and finding["severity"] == "flag"
        assert finding["text"].startswith(
            "evidence unreadable: timeline.jsonl: content the pre-review cannot judge "
            "(TypeError)")
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len([r for r in caplog.records if r.levelno == logging.WARNING
                    and bag.name in r.getMessage()]) == 1
    finally:
        k.shutdown()


class _Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        import datetime as dt
        self.now += dt.timedelta(seconds=seconds)


def _tries(monkeypatch) -> list[str]:
    """Every package whose bag the review service looks up, in order."""
    from kiosk.review import service

    tried: list[str] = []
    real = service.ReviewService.bag_dir

    def bag_dir(self, case_id):
        tried.append(case_id)
        return real(self, case_id)

    monkeypatch.setattr(service.ReviewService, "bag_dir", bag_dir)
    return tried


def test_a_bag_not_here_is_retried_with_a_bounded_backoff_then_queued_flagged(
        tmp_path, caplog, monkeypatch):
    """A sealed package whose folder is not on this node (another node sealed it, or it was
    moved) was tried every poll for ever, with a traceback each time. Now it is tried again
    at 15, 30, 60 ... s (at most 300 s apart) with one WARNING, then queued flagged."""
    import shutil

    from kiosk.review import service

    clock = _Clock()
    tried = _tries(monkeypatch)
    app, k, review = _poll_app(tmp_path, clock)
    try:
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"{}")
        shutil.move(bag, tmp_path / "elsewhere")
        gaps = []
        with caplog.at_level(logging.INFO):
            last = clock.now
            for _ in range(400):  # a poll every 15 s for 100 minutes
                before = len(tried)
                enqueued = review.poll()["enqueued"]
                if len(tried) > before:
                    gaps.append((clock.now - last).total_seconds())
                    last = clock.now
                if enqueued:
                    break
                clock.advance(15)
        assert enqueued == [bag.name]
        assert gaps == [0, 15, 30, 60, 120, 240, 300][:service.RETRY_ATTEMPTS]
        case = review.case(bag.name)
        assert case is not None and case.verdict == "needs_attention"
        [finding] = case.prereview["findings"]
        assert finding["text"].startswith(
            f"evidence unreadable: {bag.name}/data/: the package folder is not on this node")
        assert review.poll()["enqueued"] == []
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len([r for r in caplog.records if r.levelno == logging.WARNING
                    and bag.name in r.getMessage()]) == 2  # waiting; then queued flagged
    finally:
        k.shutdown()


def test_a_bag_that_arrives_while_waiting_is_queued_with_its_full_prereview(
        tmp_path, monkeypatch):
    import shutil

    clock = _Clock()
    app, k, review = _poll_app(tmp_path, clock)
    try:
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"{}")
        shutil.move(bag, tmp_path / "elsewhere")
        assert review.poll()["enqueued"] == []
        shutil.move(tmp_path / "elsewhere", bag)
        clock.advance(5)
        assert review.poll()["enqueued"] == []  # its next try is 15 s after the first
        clock.advance(10)
        assert review.poll()["enqueued"] == [bag.name]
        case = review.case(bag.name)
        assert case is not None
        assert not [f for f in case.prereview["findings"] if f["code"] == "evidence_unreadable"]
        assert case.prereview["steps"]
    finally:
        k.shutdown()


def test_a_case_queued_without_its_bag_opens_in_the_console_with_its_flag(tmp_path):
    """The case page shows the flag, and GET /cases/<id>/report answers sealed_report null
    with why (it was a 500 with a traceback: the bag lookup raised outside its handler)."""
    import shutil

    from kiosk.review import service
    from kiosk.review.accounts import add_user
    from tests.test_review import PW, login, post

    clock = _Clock()
    app, k, review = _poll_app(tmp_path, clock)
    try:
        add_user(k.store, "alice", PW, "auditor")
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"{}")
        shutil.move(bag, tmp_path / "elsewhere")
        for _ in range(service.RETRY_ATTEMPTS):
            enqueued = review.poll()["enqueued"]
            clock.advance(service.RETRY_MAX_SECONDS)
        assert enqueued == [bag.name]
        alice = login(app, "alice")
        assert post(alice, "/review/api/next").status_code == 200
        page = alice.get(f"/review/cases/{bag.name}")
        assert page.status_code == 200
        assert "evidence unreadable" in page.get_data(as_text=True)
        r = alice.get(f"/review/api/cases/{bag.name}/report")
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        body = r.get_json()
        assert body["sealed_report"] is None
        assert body["sealed_report_unreadable"] == "the package folder is not on this node"
    finally:
        k.shutdown()


@pytest.mark.parametrize("failure,reason", [
    ("rule", "evidence unreadable: timeline.jsonl: content the pre-review cannot judge "
             "(TypeError): human review"),
    ("listing", "evidence unreadable by the pre-review: human review"),
])
def test_the_back_office_review_api_answers_attention_when_the_bag_cannot_be_judged(
        tmp_path, monkeypatch, caplog, failure, reason):
    """GET /api/sessions/<id>/review: a bag the pre-review cannot judge is 'attention' with
    the file named; a folder that cannot be listed (OSError) was a 500 with a traceback."""
    from kiosk.protocol import TimelineEvent
    from kiosk.review import prereview
    from kiosk.web import api
    from tests.kiosk_server import API_KEY

    if failure == "rule":
        def broken(data, t, ctx):
            raise TypeError("a shape no rule foresaw")
        monkeypatch.setitem(prereview.RULES, TimelineEvent.STEP_STARTED, broken)
    else:
        def unlistable(bag_dir):
            raise PermissionError(13, "Permission denied", str(bag_dir))
        monkeypatch.setattr(api, "build_prereview", unlistable)
    app = create_app(load_settings(data_dir=tmp_path / "data", liveness=False, speech=False,
                                   api_keys=[API_KEY]))
    k = app.extensions["kiosk"]
    try:
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"{}")
        sid = json.loads((bag / "data" / "report.json").read_text())["session"]["id"]
        with caplog.at_level(logging.INFO):
            r = app.test_client().get(f"/api/sessions/{sid}/review",
                                      headers={"X-API-Key": API_KEY})
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        assert r.get_json() == {"session_id": sid, "verdict": "attention", "reasons": [reason],
                                "steps": []}
        assert not [x for x in caplog.records if x.levelno >= logging.ERROR]
    finally:
        k.shutdown()


def test_a_full_disk_while_queueing_is_a_warning_without_a_traceback(tmp_path, caplog,
                                                                     monkeypatch):
    """t13d: with the data disk full the poller logged one ERROR with a full traceback
    ("could not enqueue package … database or disk is full"); docs/operations.md says a full
    disk never gives a traceback. It is a WARNING, and the case is queued once there is room."""
    import sqlite3

    from kiosk.review import service

    clock = _Clock()
    app, k, review = _poll_app(tmp_path, clock)
    real = service.ReviewService.enqueue
    full = {"on": True}

    def enqueue(self, *a, **kw):
        if full["on"]:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, *a, **kw)

    monkeypatch.setattr(service.ReviewService, "enqueue", enqueue)
    try:
        bag = _seal(k.settings.data_dir, k.evidence_keys, k.ledger, k.store, liveness=b"{}")
        with caplog.at_level(logging.INFO):
            assert review.poll()["enqueued"] == []
        records = [r for r in caplog.records if "could not enqueue" in r.getMessage()]
        assert records and all(r.levelno == logging.WARNING and r.exc_info is None
                               for r in records), [(r.levelname, r.getMessage()) for r in records]
        full["on"] = False
        clock.advance(15)
        assert review.poll()["enqueued"] == [bag.name]
    finally:
        k.shutdown()
