"""The pre-review of the identity check's findings (issue #12, holdout 7): a change of person
the session ended too soon to confirm, and face time that could not be compared, each need a
human; a confirmed change stays a suggested reject."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from kiosk.evidence import EvidenceKeys, Ledger, seal_package
from kiosk.review.prereview import build_prereview
from kiosk.review.sample import make_session_dir


def sealed_with(tmp_path: Path, liveness: dict) -> Path:
    """A finished, clear sample session whose ``checks/liveness.json`` is ``liveness``."""
    keys = EvidenceKeys(tmp_path / "keys")
    keys.ensure()
    sdir = tmp_path / "sessions" / ("e" * 32)
    make_session_dir(sdir, "e" * 32, seconds=3.0, flagged=False)
    (sdir / "checks").mkdir(exist_ok=True)
    (sdir / "checks" / "liveness.json").write_text(json.dumps(liveness), encoding="utf-8")
    res = seal_package(sdir, tmp_path / "evidence", keys,
                       Ledger(tmp_path / "ledger.jsonl", keys=keys))
    return res.bag_dir


def liveness(*events: dict) -> dict:
    return {"available": True, "ok": True, "reasons": [], "events": list(events),
            "summary": {"identity_consistent": True}, "challenges": []}


def test_an_unconfirmed_change_at_the_end_needs_attention(tmp_path):
    assert build_prereview(sealed_with(tmp_path / "clean", liveness()))["verdict"] == "clear"
    pre = build_prereview(sealed_with(tmp_path, liveness(
        {"type": "identity_unconfirmed", "t_start": 16.2, "t_end": 16.6, "score": 0.84,
         "samples": 2})))
    assert pre["verdict"] == "needs_attention"
    f = [f for f in pre["findings"] if f["code"] == "identity_unconfirmed"]
    assert len(f) == 1 and f[0]["severity"] == "flag" and f[0]["t"] == 16.2
    assert re.fullmatch(r"a face unlike the enrolled person's from 00:16 to the end of the "
                        r"session, too short to confirm a change of person: check who is on "
                        r"camera at the end", f[0]["text"]), f[0]["text"]
    assert any(m["kind"] == "flag" and m["t"] == 16.2 for m in pre["markers"])


@pytest.mark.parametrize("to_end,until", [(True, "the end of the session"), (False, "00:14")])
def test_face_time_that_could_not_be_compared_needs_attention(tmp_path, to_end, until):
    pre = build_prereview(sealed_with(tmp_path, liveness(
        {"type": "identity_unverified", "t_start": 9.5, "t_end": 14.9, "score": 5.4,
         "reasons": {"face turned": 2, "face too small": 20}, "to_end": to_end})))
    assert pre["verdict"] == "needs_attention"
    f = [f for f in pre["findings"] if f["code"] == "identity_unverified"]
    assert len(f) == 1 and f[0]["severity"] == "flag"
    assert f[0]["text"] == (f"for 5 s (00:09 to {until}) the face on camera could not be "
                            "compared with the enrolled one: too small (too far from the "
                            "camera), turned away")


def test_a_confirmed_change_stays_a_suggested_reject(tmp_path):
    pre = build_prereview(sealed_with(tmp_path, liveness(
        {"type": "identity_change", "t_start": 15.6, "t_end": 19.0, "score": 0.85},
        {"type": "identity_unverified", "t_start": 19.0, "t_end": 24.0, "score": 5.0,
         "reasons": {"face too small": 20}, "to_end": True})))
    assert pre["verdict"] == "suggested_reject"
    # ... and the auditor still sees both findings.
    codes = {f["code"]: f["severity"] for f in pre["findings"]}
    assert codes["identity_change"] == "reject" and codes["identity_unverified"] == "flag"


def test_a_still_image_not_judged_for_want_of_frames_needs_attention_never_reject(tmp_path):
    """Issues #13 F4 / #17: load starved the analysis; that must never become a reject."""
    starved = liveness()
    starved["summary"].update(still_image_suspected=False, still_image_unjudged=(
        "analysis starved: 3 usable frame pairs over 0.4 s (41 frames over 24.0 s), too few "
        "to judge"))
    pre = build_prereview(sealed_with(tmp_path / "starved", starved))
    assert pre["verdict"] == "needs_attention"
    f = [f for f in pre["findings"] if f["code"].startswith("still_image")]
    assert [(x["code"], x["severity"]) for x in f] == [("still_image_unjudged", "flag")]
    assert f[0]["text"] == ("liveness.json: not enough frames to judge a still image (analysis "
                            "starved: 3 usable frame pairs over 0.4 s (41 frames over 24.0 s), "
                            "too few to judge): review the face by hand")
    still = liveness()
    still["summary"].update(still_image_suspected=True, still_image_unjudged=None)
    pre = build_prereview(sealed_with(tmp_path / "still", still))
    assert pre["verdict"] == "suggested_reject"
    assert [x["code"] for x in pre["findings"] if x["severity"] == "reject"] == ["still_image"]


def test_malformed_reasons_are_a_flag_not_an_error(tmp_path):
    pre = build_prereview(sealed_with(tmp_path, liveness(
        {"type": "identity_unverified", "t_start": 1.0, "t_end": 6.0, "score": 5.0,
         "reasons": ["face too small"]})))
    assert pre["verdict"] == "needs_attention"
    f = [f for f in pre["findings"] if f["code"] == "identity_unverified"]
    assert len(f) == 1 and f[0]["text"].endswith("no reason recorded")


# -- real public-domain footage (operator's corpus, when present) -----------------------------
# The corpus is not in the repository (docs/evaluation.md): KIOSK_FACES=/path/to/faces.json
# runs the tests below; without it they are not collected (a skip would fail CI).

FACES_JSON = Path(os.environ["KIOSK_FACES"]) if os.environ.get("KIOSK_FACES") else None
SWAP_A, SWAP_B = "obama_weekly_address_sentence2_short", "biden_white_house"


def _clips() -> dict:
    from kiosk.evaluation.corpus import load_faces

    if FACES_JSON is None or not FACES_JSON.is_file():
        return {}
    return {c.id: c for c in load_faces(FACES_JSON)}


def _liveness_of(video: Path, spoken=()) -> dict:
    """The face checks of a recording analysed at one frame in three: about the 5 frames a
    second the live path analysed in holdout 7 on a loaded machine (``spoken``: the answers
    heard, ``SpokenAnswer``)."""
    from kiosk.liveness.analyzer import analyze_frames
    from kiosk.testing.faces import read_video

    a = analyze_frames((t, f) for i, (t, f) in enumerate(read_video(video)) if i % 3 == 0)
    return {"available": True, "ok": True, "reasons": [], **a.report(spoken=spoken).to_dict()}


if {SWAP_A, SWAP_B} <= set(_clips()):  # collected only with the corpus (see above)

    def test_real_swap_in_the_last_seconds_needs_at_least_attention_genuine_stays_clear(
            tmp_path):
        """Holdout 7: Obama, then Biden (his face at the 90 px gate) for the last seconds was
        cleared. Here Biden has the last 5 s of a 17 s witness."""
        from kiosk.evaluation.corpus import CaseBuilder

        clips = _clips()
        builder = CaseBuilder(tmp_path / "work", list(clips.values()))
        swap = _liveness_of(builder.swap(clips[SWAP_A], clips[SWAP_B], 12.0, 17.0))
        kinds = {e["type"] for e in swap["events"]}
        assert kinds & {"identity_change", "identity_unconfirmed", "identity_unverified"}, swap
        pre = build_prereview(sealed_with(tmp_path / "swap", swap))
        assert pre["verdict"] in ("needs_attention", "suggested_reject"), pre["findings"]

        genuine = _liveness_of(builder.looped(clips[SWAP_A], 17.0))
        assert not [e for e in genuine["events"] if e["type"].startswith("identity")], genuine
        assert build_prereview(sealed_with(tmp_path / "genuine", genuine))["verdict"] == "clear"

    def test_real_late_swap_after_the_last_answer_is_not_cleared_genuine_stays_clear(
            tmp_path):
        """Holdout 11 (zh-CN-late_swap-18): the last answer ended at 15.1 s, Biden sat from
        15 s to the end at 17.1 s, his face at the 90 px gate and never compared: cleared.
        The person on camera after the last answer must now be confirmed."""
        from kiosk.evaluation.corpus import CaseBuilder
        from kiosk.liveness.session_checks import SpokenAnswer

        # Where the speaking-seen check looks does not matter here: the answers end at 15.1 s.
        spoken = (SpokenAnswer("risk", ((9.0, 10.0),)), SpokenAnswer("consent", ((14.0, 15.1),)))
        clips = _clips()
        builder = CaseBuilder(tmp_path / "work", list(clips.values()))
        swap = _liveness_of(builder.swap(clips[SWAP_A], clips[SWAP_B], 15.0, 17.1), spoken)
        assert swap["summary"]["identity_end_confirmed"] is False, swap["summary"]
        assert "identity_end_unconfirmed" in {e["type"] for e in swap["events"]}
        pre = build_prereview(sealed_with(tmp_path / "swap", swap))
        assert pre["verdict"] in ("needs_attention", "suggested_reject"), pre["findings"]
        assert "identity_end_unconfirmed" in {f["code"] for f in pre["findings"]}

        genuine = _liveness_of(builder.looped(clips[SWAP_A], 17.1), spoken)
        assert genuine["summary"]["identity_end_confirmed"] is True, genuine["summary"]
        assert not [e for e in genuine["events"] if e["type"].startswith("identity")], genuine


def test_a_check_files_finding_belongs_to_the_step_running_at_its_time(tmp_path):
    """The face analysis's results are read after the timeline: a face lost during the first
    step is that step's, not the last one's (an ID card step's span was shown under the
    goodbye)."""
    pre = build_prereview(sealed_with(tmp_path, liveness(
        {"type": "face_lost", "t_start": 0.4, "t_end": 0.9, "score": 0.5})))
    (f,) = [f for f in pre["findings"] if f["code"] == "face_lost"]
    first, last = pre["steps"][0], pre["steps"][-1]
    assert first["start"] <= 0.4 <= first["end"] and first["step"] != last["step"]
    assert f["step"] is None  # placed by its time
    assert [m["text"] for m in first["moments"]] == [f["text"]]
    assert f["text"] not in last["reasons"]


def test_a_person_not_confirmed_after_the_last_answer_needs_attention(tmp_path):
    """Holdout 11's zh-CN-late_swap-18 was cleared: B sat only after the last answer, never
    compared. Now the case goes to a human, with what was seen after the answer."""
    pre = build_prereview(sealed_with(tmp_path, liveness(
        {"type": "identity_end_unconfirmed", "t_start": 15.1, "t_end": 17.1, "score": 2.2,
         "answer_end": 15.1, "last_match": 14.9, "far_samples": 0,
         "reasons": {"face too small": 4}})))
    assert pre["verdict"] == "needs_attention"
    f = [f for f in pre["findings"] if f["code"] == "identity_end_unconfirmed"]
    assert len(f) == 1 and f[0]["severity"] == "flag" and f[0]["t"] == 15.1
    assert f[0]["text"] == ("the person on camera could not be confirmed after the last "
                            "answer (00:15 to the end of the session: samples too small (too "
                            "far from the camera)): check who is on camera at the end")
    far = build_prereview(sealed_with(tmp_path / "far", liveness(
        {"type": "identity_end_unconfirmed", "t_start": 15.1, "t_end": 17.1, "score": 2.2,
         "far_samples": 2, "reasons": {}})))
    assert [f["text"] for f in far["findings"] if f["code"] == "identity_end_unconfirmed"] == [
        "the person on camera could not be confirmed after the last answer (00:15 to the end "
        "of the session: 2 samples unlike the enrolled face): check who is on camera at the "
        "end"]
    assert far["verdict"] == "needs_attention"


def _id_summary(distance):
    return {"available": True, "ok": False, "reasons": [], "events": [], "challenges": [],
            "summary": {"identity_consistent": True, "id_match_distance": distance,
                        "id_match": distance is not None and distance <= 0.6}}


def test_an_id_photo_of_another_person_is_a_suggested_reject_a_doubt_needs_attention(tmp_path):
    """#12 fresh tester: a wrong ID photo was only needs-attention. Clearly another person (the
    distance at or over ``id_mismatch_distance``, from good samples) suggests a reject; a
    borderline distance stays a flag; a genuine match stays clear."""
    from kiosk.liveness.session_checks import SessionCheckParams

    far = SessionCheckParams().id_mismatch_distance
    pre = build_prereview(sealed_with(tmp_path / "other", _id_summary(round(far + 0.05, 4))))
    assert pre["verdict"] == "suggested_reject"
    f = [f for f in pre["findings"] if f["code"] == "face_mismatch"]
    assert len(f) == 1 and f[0]["severity"] == "reject"
    assert f[0]["text"].startswith("the face on camera is another person than the ID photo")
    pre = build_prereview(sealed_with(tmp_path / "doubt", _id_summary(0.65)))
    assert pre["verdict"] == "needs_attention"
    assert [f["severity"] for f in pre["findings"] if f["code"] == "face_match"] == ["flag"]
    assert build_prereview(sealed_with(tmp_path / "same", _id_summary(0.41)))["verdict"] == "clear"


def test_an_id_photo_no_good_sample_could_be_compared_with_needs_attention(tmp_path):
    pre = build_prereview(sealed_with(tmp_path, _id_summary(None)))
    assert pre["verdict"] == "needs_attention"
    assert any(f["code"] == "face_match" and "could not be compared with the ID photo"
               in f["text"] for f in pre["findings"])


def test_a_coach_answering_for_a_still_face_is_named_as_another_person(tmp_path):
    """#12 fresh tester: the coach case read only "still image suspected". When answers were
    heard while the face on camera did not speak (or a second person was in view), the finding
    names that first, with the motion figures the still-image judgement rests on."""
    evidence = {"still": True, "why": None, "speed": 0.0034, "blinks": 0}
    coach = liveness(*[{"type": "answer_not_seen_spoken", "t_start": t, "t_end": t + 1.5,
                        "score": 0.004, "step": step}
                       for t, step in ((5.0, "identity"), (12.0, "risk"), (18.0, "consent"))])
    coach["summary"].update(still_image_suspected=True, still_evidence=evidence)
    pre = build_prereview(sealed_with(tmp_path / "coach", coach))
    (f,) = [x for x in pre["findings"] if x["code"] == "still_image"]
    assert f["text"] == (
        "liveness.json: another person may have answered for the investor (3 answers were "
        "heard while this face did not speak); the face on camera showed no natural motion "
        "(median landmark speed 0.0034 frame widths/s; a still image is under 0.01): a still "
        "image, or a person keeping still while someone else spoke")
    assert pre["verdict"] == "suggested_reject"
    alone = liveness()
    alone["summary"].update(still_image_suspected=True, still_evidence=evidence)
    (f,) = [x for x in build_prereview(sealed_with(tmp_path / "alone", alone))["findings"]
            if x["code"] == "still_image"]
    assert f["text"] == ("liveness.json: still image suspected: no natural motion of the face "
                         "(median landmark speed 0.0034 frame widths/s; a still image is under "
                         "0.01)")
    blinked = liveness()
    blinked["summary"].update(still_image_suspected=True,
                              still_evidence={**evidence, "blinks": 2})
    pre = build_prereview(sealed_with(tmp_path / "blinked", blinked))
    (f,) = [x for x in pre["findings"] if x["code"] == "still_image"]
    assert f["text"].endswith("a still image is under 0.01), though it blinked 2 times (a "
                              "picture does not): check for a live person keeping still")
    assert pre["verdict"] == "suggested_reject"  # a blink never clears a face that did not move
