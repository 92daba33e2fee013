"""The broker's dry run follows the live kiosk's retry rule: static/broker/settle.js, run under
node, against kiosk.session.settle for every retries / on_fail / attempt / outcome."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.protocol import StepOutcome
from kiosk.session import ANSWER_KINDS, OBSERVED_KINDS, PlannedStep, settle

STATIC = Path(__file__).resolve().parent.parent / "static"
NODE = shutil.which("node") or shutil.which("nodejs")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (Debian: nodejs)")

ON_FAIL = ("retry", "flag", "refer", "abort")
OUTCOMES = [str(o) for o in StepOutcome]
CASES = [{"retries": r, "on_fail": f, "attempt": a, "outcome": o}
         for r, f, a, o in itertools.product(range(4), ON_FAIL, range(5), OUTCOMES)]


def run_settle_js(tmp_path: Path, script: str) -> object:
    (tmp_path / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
    shutil.copy(STATIC / "broker" / "settle.js", tmp_path / "settle.js")
    proc = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_dry_run_settles_every_attempt_as_the_live_kiosk(tmp_path):
    script = ("import { settle } from './settle.js';"
              f"const cases = {json.dumps(CASES)};"
              "process.stdout.write(JSON.stringify(cases.map(c => settle("
              "{retries: c.retries, on_fail: c.on_fail}, c.attempt, c.outcome))));")
    page = run_settle_js(tmp_path, script)
    server = [list(settle(PlannedStep(id="s", kind="question", text="?", title="s",
                                      retries=c["retries"], on_fail=c["on_fail"]),
                          c["attempt"], c["outcome"]))
              for c in CASES]
    differ = [(c, p, s) for c, p, s in zip(CASES, page, server, strict=True) if p != s]
    assert differ == [], differ[:5]


def test_the_dry_run_fails_each_kind_as_the_live_kiosk_judges_it(tmp_path):
    failed = run_settle_js(tmp_path, "import { FAILED_OUTCOME } from './settle.js';"
                                     "process.stdout.write(JSON.stringify(FAILED_OUTCOME));")
    assert set(failed) == ANSWER_KINDS | OBSERVED_KINDS
    # An answer not made out is a retry (kiosk.speech.decide); a challenge not seen is a flag
    # (kiosk.liveness.observer.FaceObserver.challenge_outcome); an ID is never judged by itself
    # (kiosk.witness.judge.ObserverJudge); a card side not usable is not read
    # (kiosk.witness.live_card.LiveCard.keep).
    assert failed == {"question": StepOutcome.RETRY, "read_aloud": StepOutcome.RETRY,
                      "challenge": StepOutcome.FLAG, "show_id": StepOutcome.UNVERIFIED,
                      "id_document": StepOutcome.UNVERIFIED}
