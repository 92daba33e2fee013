"""Measure the forced choice that settles an ambiguous ID tail (docs/evaluation.md).

Readings of the identity sentence with a tail that holds a doubled digit, said as written
(genuine) and with a neighbour tail (wrong: 7000 for 7700), by the natural test voices of one
split (``kiosk.testing.voices``) at two speaking rates, are decoded greedily as the Whisper
worker does (``whisper_proc._transcribe``, in this process); every transcript whose tail is
ambiguous (``answers.ambiguous_tails``) is scored by ``whisper_proc._forced_choice`` with the
candidates written in Arabic and in Chinese digits, and the CPU time of that extra call is
taken (``time.process_time`` of this process: the call's whole cost, the encoder included).

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_forced_choice.py --split tuning --out t.json
    PYTHONPATH=$PWD .venv/bin/python scripts/bench_forced_choice.py --report t.json [v.json]
    PYTHONPATH=$PWD .venv/bin/python scripts/bench_forced_choice.py --split validation --e2e

``--e2e`` hears each reading through ``Recognizer.verify`` instead (speech detection, the
worker, the forced choice, the beam's alternatives) and counts what passed: the figures to
quote. ``--english`` reads the English sentence; ``--limit N`` only the first N tails.

The report prints, per text form and score (the tail's tokens: ``answers.tail_score``; the
whole text), each margin's genuine readings settled and wrong readings accepted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

TEXT = "本人{name}，身份证尾号{tail}，自愿在示例证券开立证券账户。"
EN_TEXT = ("I, {name}, with ID number ending in {tail}, voluntarily open a securities account "
           "with Example Securities.")
# (tail, the wrong tail read for it): one doubled digit each, the neighbour the same digits
# with the repeat moved or said once more.
PAIRS = {"tuning": [("7700", "7000"), ("3115", "3155"), ("6620", "6220"), ("4227", "4277"),
                    ("5337", "5377"), ("9119", "9199"), ("1190", "1900"), ("2884", "2844")],
         "validation": [("7700", "7000"), ("3115", "3155"), ("6620", "6220"), ("8008", "8000"),
                        ("0552", "0522"), ("3667", "3677"), ("2006", "2066"), ("4113", "4133")]}
SPEEDS = {"tuning": (1.0, 0.9), "validation": (1.05, 0.92)}
NAMES = ("张三", "李娜", "王伟")
EN_NAMES = ("Alex Chen", "Maria Lopez", "David Brown")


def _pcm(voice, text: str, speed: float, folder: Path) -> bytes:
    from kiosk.speech.audio import pcm_from_file
    from kiosk.testing import voices as tv

    pcm = pcm_from_file(tv.say_to_file(voice, text, folder, speed))
    return np.concatenate([np.zeros(8000, np.int16), pcm, np.zeros(12000, np.int16)]).tobytes()


def measure(split: str, folder: Path, english: bool, limit: int = 0) -> list[dict]:
    from kiosk.speech import answers, models, textnorm
    from kiosk.speech import whisper_proc as wp
    from kiosk.testing import voices as tv

    wp._init(str(models.bundled_whisper_dir()), 2)
    locale = "en" if english else "zh-CN"
    rows = []
    for voice in tv.voices(locale, split):
        for k, (tail, wrong) in enumerate(PAIRS[split][:limit or None]):
            name = (EN_NAMES if english else NAMES)[k % 3]
            speed = SPEEDS[split][k % 2]
            hotwords = f"{name} Example Securities" if english else f"{name} 示例证券"
            for kind, said in (("genuine", tail), ("wrong", wrong)):
                text = (EN_TEXT if english else TEXT).format(name=name, tail=tail)
                pcm = _pcm(voice, text.replace(tail, said), speed, folder)
                raw = wp._transcribe(pcm, "en" if english else "zh", hotwords)[0][0].strip()
                heard = textnorm.display_text(raw, locale)
                required = (name, tail, "Example Securities" if english else "示例证券")
                r = answers.score_reading(heard, text, locale, required)
                row = {"voice": voice.id, "speed": speed, "tail": tail, "said": said,
                       "kind": kind, "heard": heard, "passed": r.passed,
                       "ambiguous": bool(r.ambiguous), "missing": list(r.missing)}
                choices = answers.ambiguous_tails(heard, locale, required)
                if choices:
                    c = choices[0]
                    row["candidates"] = list(c.candidates)
                    row["chinese"] = c.chinese
                    for form in ("arabic", "chinese"):
                        written = c.texts(heard, form)
                        texts = [t for t, _, _ in written]
                        spans = [(a, b) for _, a, b in written]
                        t0 = time.process_time()
                        toks = wp._forced_choice(pcm, "en" if english else "zh", hotwords, texts)
                        row[f"cpu_{form}"] = time.process_time() - t0
                        row[form] = {
                            "tail": [answers.tail_score(tk, t, a, b)
                                     for tk, t, (a, b) in zip(toks, texts, spans, strict=True)],
                            "whole": [sum(lp for _, lp in tk) for tk in toks]}
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
    return rows


def end_to_end(split: str, folder: Path, english: bool, limit: int = 0) -> list[dict]:
    """Each reading heard by ``Recognizer.verify`` (speech detection, the Whisper worker, the
    forced choice, the beam's alternatives): the figures to quote."""
    from kiosk.speech.audio import pcm_from_file
    from kiosk.speech.expected import Expected
    from kiosk.speech.recognize import Recognizer
    from kiosk.testing import voices as tv

    rec = Recognizer()
    locale = "en" if english else "zh-CN"
    rows = []
    for voice in tv.voices(locale, split):
        for k, (tail, wrong) in enumerate(PAIRS[split][:limit or None]):
            name = (EN_NAMES if english else NAMES)[k % 3]
            speed = SPEEDS[split][k % 2]
            text = (EN_TEXT if english else TEXT).format(name=name, tail=tail)
            exp = Expected("read_aloud", text=text, required=(
                name, tail, "Example Securities" if english else "示例证券"))
            for kind, said in (("genuine", tail), ("wrong", wrong)):
                pcm = pcm_from_file(tv.say_to_file(voice, text.replace(tail, said), folder,
                                                   speed))
                pcm = np.concatenate([np.zeros(8000, np.int16), pcm, np.zeros(12000, np.int16)])
                ans = rec.verify(pcm, locale, exp)
                row = {"voice": voice.id, "speed": speed, "tail": tail, "said": said,
                       "kind": kind, "heard": ans.transcript, "intent": ans.intent,
                       "note": ans.note}
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
    for kind in ("genuine", "wrong"):
        mine = [r for r in rows if r["kind"] == kind]
        forced = [r for r in mine if "forced choice" in r["note"]]
        print(f"{kind}: {sum(r['intent'] == 'phrase' for r in mine)}/{len(mine)} passed; "
              f"forced choice ran on {len(forced)}, passed by it "
              f"{sum(r['intent'] == 'phrase' for r in forced)}")
    return rows


def report(paths: list[str]) -> None:
    for path in paths:
        rows = json.loads(Path(path).read_text())
        amb = [r for r in rows if "candidates" in r]
        print(f"{path}: {len(rows)} readings; genuine passed on text "
              f"{sum(r['passed'] for r in rows if r['kind'] == 'genuine')}/"
              f"{sum(r['kind'] == 'genuine' for r in rows)}; wrong passed on text "
              f"{sum(r['passed'] for r in rows if r['kind'] == 'wrong')}; ambiguous: genuine "
              f"{sum(r['kind'] == 'genuine' for r in amb)}, wrong "
              f"{sum(r['kind'] == 'wrong' for r in amb)}")
        if amb:
            cpu = sorted(r["cpu_arabic"] for r in amb) + sorted(r["cpu_chinese"] for r in amb)
            print(f"  extra call CPU s: median {np.median(cpu):.2f}, max {max(cpu):.2f}")
        for form in ("arabic", "chinese"):
            for score in ("tail", "whole"):
                line = []
                for margin in (0.0, 0.5, 1.0, 2.0, 3.0, 4.0):
                    ok = sum(1 for r in amb if r["kind"] == "genuine"
                             and all(r[form][score][0] - s >= margin
                                     for s in r[form][score][1:]))
                    bad = sum(1 for r in amb if r["kind"] == "wrong"
                              and all(r[form][score][0] - s >= margin
                                      for s in r[form][score][1:]))
                    line.append(f"m{margin:g}: {ok}/{bad}")
                gaps = sorted(round(r[form][score][0] - max(r[form][score][1:]), 1)
                              for r in amb if r["kind"] == "wrong")
                print(f"  {form:7} {score:5} genuine settled/wrong accepted  {'  '.join(line)}"
                      f"   wrong gaps {gaps}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="tuning")
    ap.add_argument("--english", action="store_true")
    ap.add_argument("--limit", type=int, default=0, help="only the first N tails")
    ap.add_argument("--out")
    ap.add_argument("--wav", default="/tmp/kiosk-forced-choice-wav")
    ap.add_argument("--report", nargs="*")
    ap.add_argument("--e2e", action="store_true", help="through Recognizer.verify instead")
    a = ap.parse_args()
    if a.report:
        report(a.report)
        return
    if a.e2e:
        rows = end_to_end(a.split, Path(a.wav), a.english, a.limit)
        Path(a.out or f"forced-e2e-{a.split}.json").write_text(json.dumps(rows,
                                                                          ensure_ascii=False))
        return
    rows = measure(a.split, Path(a.wav), a.english, a.limit)
    Path(a.out or f"forced-{a.split}.json").write_text(json.dumps(rows, ensure_ascii=False))
    report([a.out or f"forced-{a.split}.json"])


if __name__ == "__main__":
    main()
