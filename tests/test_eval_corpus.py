"""How ``kiosk eval`` builds its cases (no synthesis: a recording builder stands in)."""

import itertools
import random
from pathlib import Path

import pytest

from kiosk.config import Settings
from kiosk.errors import ConfigError
from kiosk.evaluation import corpus as c
from kiosk.flows import FlowLibrary
from kiosk.testing.voices import voices
from kiosk.witness.plan import plan_witness


class RecordingBuilder:
    """Stands in for CaseBuilder: records what would be said, makes no media."""

    def __init__(self):
        self.faces = [c.FaceClip(f"{p}-{s}", Path(f"/{p}-{s}.mp4"), p, s, "test", "test")
                      for p in ("ann", "bob") for s in c.SPLITS]
        self.said: list[tuple[str, str, float]] = []
        self.swaps: list[float] = []
        self.overlaps: list[tuple] = []

    def say(self, voice, text, speed=1.0):
        self.said.append((voice.id, text, speed))
        return Path(f"/{voice.id}-{len(self.said)}.wav")

    def overlap(self, voice, text, coach, coach_text, speed=1.0, gain_db=-8.0, offset_s=0.2):
        self.say(voice, text, speed)
        self.say(coach, coach_text, speed)
        self.overlaps.append((voice.id, text, coach.id, coach_text, speed, gain_db, offset_s))
        return Path(f"/overlap-{len(self.overlaps)}.wav")

    def looped(self, face, seconds):
        return face.file

    def id_photo(self, face):
        return Path(f"/{face.id}.jpg")

    def frame(self, face, t):
        return Path(f"/{face.id}-{t}.jpg")

    def still(self, face):
        return Path(f"/{face.id}-still.mp4")

    def swap(self, a, b, a_seconds=15.0):
        self.swaps.append(a_seconds)
        return Path(f"/{a.id}-{b.id}-{a_seconds}.mp4")

    def silent(self, face):
        return Path(f"/{face.id}-silent.mp4")

    def talking(self, face, seconds):
        return face.file


@pytest.fixture(scope="module")
def flow():
    return FlowLibrary(Settings().flows_dir).get("securities_account_opening")


@pytest.mark.parametrize("split", list(c.HOLDOUT_ROUNDS))
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_holdout_split_says_new_things_with_validation_voices(flow, locale, split):
    b_val, b_hold = RecordingBuilder(), RecordingBuilder()
    val = c.build_cases(flow, locale, "validation", b_val, genuine=6)
    hold = c.build_cases(flow, locale, split, b_hold, genuine=6)
    assert {x.split for x in hold} == {split} and len(hold) == len(val)
    validation_voices = {v.id for v in voices(locale, "validation")}
    assert {v for v, _, _ in b_hold.said} <= validation_voices
    assert all("-validation" in str(x.video) for x in hold)
    # New applicants, ID numbers and speaking rates: no utterance of validation is reused.
    round_ = c.HOLDOUT_ROUNDS[split]
    assert {x.name for x in hold} <= set(round_.names[locale])
    assert not {x.name for x in hold} & set(c.APPLICANT_NAMES[locale])
    assert not {x.id_number for x in hold} & {x.id_number for x in val}
    assert {s for _, _, s in b_hold.said} <= set(round_.speeds)
    assert len({s for _, _, s in b_hold.said}) > 1
    assert not set(b_hold.said) & set(b_val.said)
    assert all("@" in x.voice for x in hold)


@pytest.mark.parametrize("first, second", list(itertools.combinations(c.HOLDOUT_ROUNDS, 2)))
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_no_holdout_round_repeats_another(flow, locale, first, second):
    b1, b2 = RecordingBuilder(), RecordingBuilder()
    one = c.build_cases(flow, locale, first, b1, genuine=6)
    two = c.build_cases(flow, locale, second, b2, genuine=6)
    assert not {x.name for x in one} & {x.name for x in two}
    assert not {x.id_number for x in one} & {x.id_number for x in two}
    assert not {x.id_number[-4:] for x in two} & {x.id_number[-4:] for x in one}  # said aloud
    assert not set(b1.said) & set(b2.said)  # no voice says the same text at the same rate


def test_every_round_declares_its_own_applicants_rates_and_numbers():
    """A round's whole definition is new, not only the part 6 genuine cases draw: no two rounds
    (nor a round and the tuning/validation applicants, the wrong name or the validation rate
    1.0) share an applicant or a speaking rate, and each has its own seed, salt and offset."""
    rounds = list(c.HOLDOUT_ROUNDS.values())
    for locale in ("zh-CN", "en"):
        names = [n for r in rounds for n in r.names[locale]]
        assert len(names) == len(set(names)), locale
        assert not set(names) & {*c.APPLICANT_NAMES[locale], c.WRONG_NAME[locale]}
    speeds = [s for r in rounds for s in r.speeds]
    assert len(speeds) == len(set(speeds)) and 1.0 not in speeds
    for attr in ("seed", "id_salt", "id_offset"):
        values = [getattr(r, attr) for r in rounds]
        assert len(values) == len(set(values)), attr


def test_the_command_offers_every_split():
    from kiosk.evaluation.cli import SPLIT_CHOICES

    assert tuple(SPLIT_CHOICES) == c.CASE_SPLITS


def test_an_unknown_split_is_refused(flow):
    with pytest.raises(ConfigError, match="split must be one of tuning, validation, holdout"):
        c.build_cases(flow, "en", "test", RecordingBuilder(), genuine=1)


def test_the_swap_is_mid_session_and_the_late_swap_after_the_answers(flow):
    b = RecordingBuilder()
    cases = c.build_cases(flow, "en", "validation", b, genuine=1)
    species = {x.species: x for x in cases}
    assert {"swap", "late_swap"} <= set(species)
    assert b.swaps == [8.0, 15.0]  # in SPECIES order
    assert species["swap"].video != species["late_swap"].video


@pytest.mark.parametrize("split", ["validation", "holdout10"])
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_overlap_attack_refuses_under_another_voices_quieter_consent(flow, locale, split):
    b = RecordingBuilder()
    cases = c.build_cases(flow, locale, split, b, genuine=2)
    case = next(x for x in cases if x.species == "overlap")
    assert case.attacked_step == "consent" and case.answers["consent"].name == "overlap-1.wav"
    [(voice, text, coach, coach_text, speed, gain, offset)] = b.overlaps
    split_voices = {v.id for v in voices(locale, "validation")}
    assert voice != coach and {voice, coach} <= split_voices
    assert text == c.ATTACK_SPEECH[locale]["overlap"]
    # The coach says the consent as the guide requests it.
    assert coach_text == flow.step("consent").answer[locale]
    assert gain == -8.0 and 0.15 <= offset <= 0.30
    assert case.voice.split("@")[0] == voice


def test_the_overlap_mix_puts_the_quieter_voice_in_late(tmp_path):
    import wave

    import numpy as np

    from kiosk.speech.audio import pcm_from_file

    class Tones(c.CaseBuilder):
        def say(self, voice, text, speed=1.0):
            out = self.work / f"{voice}.wav"
            freq = 440.0 if voice == "inv" else 660.0
            t = np.arange(8000) / 16000
            with wave.open(str(out), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(16000)
                w.writeframes((10000 * np.sin(2 * np.pi * freq * t)).astype(np.int16).tobytes())
            return out

    path = Tones(tmp_path, []).overlap("inv", "no", "coach", "yes", 1.0, -8.0, 0.25)
    pcm = pcm_from_file(path).astype(np.float32)
    assert pcm.size == 8000 + 4000  # 0.5 s, and the coach's 0.5 s starting 0.25 s in
    alone = np.sqrt(np.mean(pcm[-3000:] ** 2))  # the coach alone, at the end
    assert 20 * np.log10(alone / (10000 / np.sqrt(2))) == pytest.approx(-8.0, abs=0.5)


def test_the_run_reports_the_overlap_attack_with_the_other_species():
    from kiosk.evaluation.run import CaseResult, format_table, summarise

    passed = CaseResult("zh-CN-overlap-11", "zh-CN", "overlap", "zh-yunxi", "f", "finished",
                        "clear", answers=[{"step": "consent", "outcome": "pass"}],
                        attacked_step="consent")
    summary = summarise([passed])
    assert summary["zh-CN"]["attacks"]["overlap"]["n"] == 1
    assert summary["zh-CN"]["consent_false_accepts"] == 1
    assert "overlap" in format_table(summary, [passed])


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_coach_says_the_requested_consent_in_another_voice_over_a_silent_investor(
        flow, locale):
    """The lip-movement attack: the words are right, the voice and the silent face are not."""
    b = RecordingBuilder()
    cases = c.build_cases(flow, locale, "tuning", b, genuine=1)
    genuine = cases[0]
    (coach,) = [k for k in cases if k.species == "coach"]
    assert coach.video.name.endswith("-silent.mp4")
    assert coach.attacked_step is None  # the right words: passing the step is no false consent

    def said(path):  # RecordingBuilder.say names the n-th utterance /{voice}-{n}.wav
        return b.said[int(path.stem.rsplit("-", 1)[1]) - 1]

    (step,) = [k for k, path in coach.answers.items() if said(path)[0] != coach.voice]
    assert step == c._consent_step(genuine_plan_steps(flow, locale))
    assert said(coach.answers[step])[1] == said(genuine.answers[step])[1]
    assert set(coach.answers) == set(genuine.answers)


def genuine_plan_steps(flow, locale):
    return plan_witness(flow, locale, {"name": "x", "id_last4": "1234"}, random.Random(0))


def test_the_coach_takes_the_next_clip_with_a_still_mouth_with_its_id_photo(flow):
    """A clip without a still mouth (ConfigError from ``silent``): the next one is used."""

    class EndsMidWord(RecordingBuilder):
        def silent(self, face):
            if face.person == "ann":
                raise ConfigError(f"{face.id}: no 0.3 s of silence after its speech")
            return super().silent(face)

    b = EndsMidWord()
    (coach,) = [k for k in c.build_cases(flow, "en", "tuning", b, genuine=0)
                if k.species == "coach"]
    assert coach.face == "bob-tuning" and coach.video == Path("/bob-tuning-silent.mp4")
    assert coach.id_photo == Path("/bob-tuning.jpg")

    class NeverSilent(RecordingBuilder):
        def silent(self, face):
            raise ConfigError("no silence")

    with pytest.raises(ConfigError, match="no face clip has a still mouth"):
        c.build_cases(flow, "en", "tuning", NeverSilent(), genuine=0)


def test_a_holdout_coach_without_a_still_validation_mouth_takes_a_tuning_face_and_says_so(flow):
    """No validation clip of the corpus has a still mouth: the holdout's coach case then plays a
    tuning face, named as such in ``face``, with the validation voices; a validation face with
    one is preferred."""

    class OnlyTuningStill(RecordingBuilder):
        def silent(self, face):
            if face.split != "tuning" or face.person != "bob":
                raise ConfigError(f"{face.id}: no still mouth")
            return super().silent(face)

    (coach,) = [k for k in c.build_cases(flow, "en", "holdout18", OnlyTuningStill(), genuine=0)
                if k.species == "coach"]
    assert coach.video == Path("/bob-tuning-silent.mp4")
    assert coach.id_photo == Path("/bob-tuning.jpg")
    assert coach.face == "bob-tuning (tuning: no validation clip has a still mouth)"
    assert coach.voice.split("@")[0] in {v.id for v in c.voices("en", "validation")}

    class ValidationStill(RecordingBuilder):
        def silent(self, face):
            if face.person != "ann":
                raise ConfigError(f"{face.id}: no still mouth")
            return super().silent(face)

    (coach,) = [k for k in c.build_cases(flow, "en", "holdout18", ValidationStill(), genuine=0)
                if k.species == "coach"]
    assert coach.face == "ann-validation"


def test_talking_segments_join_short_pauses_and_drop_long_ones():
    spans = [(0.5, 2.0), (2.2, 3.0), (4.0, 5.5), (6.4, 7.0)]
    assert c.talking_segments(spans, pad=0.1, max_pause=0.3) == [
        (0.4, 3.1), (3.9, 5.6), (6.3, 7.1)]
    assert c.talking_segments([(0.05, 1.0)], pad=0.1) == [(0.0, 1.1)]
    assert c.talking_segments([]) == []


def test_the_talking_footage_keeps_only_frames_of_speech(tmp_path, monkeypatch):
    """Each frame of a made clip shows its own index as its brightness; the talking footage
    must hold only frames inside the kept segments (a pause between sentences, where a short
    answer fell with a closed mouth, is cut out)."""
    import subprocess

    import numpy as np

    fps, n = 25, 100  # 4 s
    raw = np.stack([np.full((64, 64, 3), 20 + 2 * i, np.uint8) for i in range(n)])
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x64",
                    "-r", str(fps), "-i", "-", "-c:v", "libx264", "-qp", "0", "-pix_fmt",
                    "yuv444p", str(clip)], input=raw.tobytes(), check=True)
    spans = [(0.2, 1.0), (1.1, 1.6), (2.8, 3.6)]  # a 1.2 s pause from 1.6 to 2.8
    monkeypatch.setattr(c, "_clip_speech", lambda path: (spans, 4.0))
    face = c.FaceClip("clip", clip, "someone", "tuning", "test", "test")
    out = c.CaseBuilder(tmp_path / "work", [face]).talking(face, 3.0)
    frames = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-vf",
                             "crop=iw/8:ih/8,scale=1:1", "-f", "rawvideo", "-pix_fmt", "gray",
                             "-"], capture_output=True, check=True).stdout
    levels = np.frombuffer(frames, np.uint8).astype(float)  # the middle of each frame
    index = np.round((levels - 20) / 2).astype(int)
    t = index / fps
    kept = c.talking_segments(spans)
    inside = [any(a - 0.05 <= x <= b + 0.05 for a, b in kept) for x in t]
    outside = sorted({round(float(x), 2) for x, ok in zip(t, inside, strict=True) if not ok})
    assert all(inside), outside
    assert not any(1.8 <= x <= 2.6 for x in t)  # the pause is gone
    assert t.max() >= 3.4 and t.min() <= 0.2  # both ends are there


# -- the coach's still mouth, measured by the face analysis on a rendered face -------------

@pytest.fixture(scope="module")
def still_then_speaking(tmp_path_factory):
    """A rendered face (``kiosk.testing.faces``, through the real landmarker): 2 s with the
    mouth at rest (0-2 s), then 3.2 s in which the mouth opens and closes (about 3.0-4.1 s)."""
    from kiosk.testing.faces import ClipSpec, iter_frames, write_video

    rest = ClipSpec("astronaut", "neutral", seconds=2.0)
    moving = ClipSpec("astronaut", "open_mouth")
    frames = [f for spec in (rest, moving) for _, f in iter_frames(spec)]
    clip = tmp_path_factory.mktemp("coach") / "clip.mp4"
    write_video(frames, clip)
    return c.FaceClip("clip", clip, "someone", "tuning", "test", "test")


def test_a_moving_mouth_is_not_still_and_a_mouth_at_rest_is(still_then_speaking):
    clip = still_then_speaking.file
    rest = c.mouth_still(clip, 0.0, 1.6)
    moving = c.mouth_still(clip, 2.6, 4.6)
    assert rest["still"] and rest["spread_max"] <= c.COACH_STILL_SPREAD, rest
    assert not moving["still"] and moving["spread_max"] > c.COACH_STILL_SPREAD, moving
    assert rest["face_frames"] == rest["frames"] >= 20


def test_the_coach_takes_the_still_stretch_not_the_longer_moving_one(
        still_then_speaking, tmp_path, monkeypatch):
    """Without speech before 1.8 s and after 1.9 s: the silence after the speech is longer
    but holds the moving mouth; the one before the first speech is still and is taken, from
    the cache the second time."""
    monkeypatch.setattr(c, "_clip_speech", lambda path: ([(1.8, 1.9)], 5.2))
    builder = c.CaseBuilder(tmp_path / "work", [still_then_speaking])
    assert c._silent_parts(still_then_speaking.file) == [(0.0, 1.5), (2.2, 5.2)]
    assert builder.still_mouth(still_then_speaking) == (0.0, 1.5)

    def measured_again(*args):
        raise AssertionError("measured again")

    monkeypatch.setattr(c, "mouth_still", measured_again)
    assert builder.still_mouth(still_then_speaking) == (0.0, 1.5)
    assert len(list((tmp_path / "work" / "video").glob("clip-still-mouth-*.json"))) == 1


def test_a_clip_whose_only_silence_moves_its_mouth_has_no_coach(
        still_then_speaking, tmp_path, monkeypatch):
    """Speech heard until 2.5 s: 0-0.2 s is too short, and after it the mouth moves."""
    monkeypatch.setattr(c, "_clip_speech", lambda path: ([(0.5, 2.5)], 5.2))
    builder = c.CaseBuilder(tmp_path / "work", [still_then_speaking])
    with pytest.raises(ConfigError, match=r"no still mouth .* measured: 2\.80-5\.20 s: 1 s "
                                          r"mouth spread up to 0\.\d+"):
        builder.silent(still_then_speaking, 3.0)
