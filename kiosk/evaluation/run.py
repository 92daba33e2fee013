"""Runs evaluation cases as whole witnesses (``kiosk simulate`` against a real server) and
summarises them: genuine sessions auto-cleared, attacks cleared (must be 0), false consents,
identity false changes, and the time from the end of an answer window to its verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kiosk.evaluation.corpus import SPECIES, Case
from kiosk.protocol import referred_step


@dataclass
class CaseResult:
    """What one whole witness ended as."""

    case: str
    locale: str
    species: str
    voice: str
    face: str
    state: str | None
    verdict: str | None  # clear | attention | reject | None (no pre-review)
    reasons: list[str] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    error: str | None = None
    attacked_step: str | None = None
    session_id: str | None = None
    busy_refusals: int = 0  # joins refused for want of a place, each retried after the wait
    busy_waited_s: float = 0.0
    offer_answer_ms: float | None = None  # the simulated page's offer sent -> answer received
    # The investor's leans on framing hints: (clip time in s, zoom) (kiosk simulate --follow-hints)
    leans: list = field(default_factory=list)
    # How the witness ended when it did not finish (``aborted: declined``, ``referred:<step>``)
    end_reason: str | None = None

    @property
    def cleared(self) -> bool:
        return self.verdict == "clear"

    @property
    def referred(self) -> bool:
        """The witness was referred to a human agent (``kiosk.protocol.REFERRED``)."""
        return referred_step(self.end_reason) is not None


def run_case(case: Case, server: str, api_key: str, flow: str,
             timeout: float = 300.0) -> CaseResult:
    """One witness through ``kiosk simulate`` in its own process."""
    cmd = [sys.executable, "-m", "kiosk.cli", "simulate", "--server", server, "--api-key", api_key,
           "--video", str(case.video), "--locale", case.locale, "--flow", flow,
           "--prompt-time", "instant", "--name", case.name, "--id-number", case.id_number,
           "--id-photo", str(case.id_photo), "--timeout", str(timeout), "--json"]
    for step, path in case.answers.items():
        cmd += ["--answer", f"{step}={path}"]
    base = CaseResult(case.id, case.locale, case.species, case.voice, case.face, None, None,
                      attacked_step=case.attacked_step)
    try:
        # The simulated investors encode video like a browser would; on the server's own
        # machine they run at the lowest priority, so that they take what the server leaves.
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 120,
                              preexec_fn=_lowest_priority)
    except subprocess.TimeoutExpired:
        base.error = "simulate timed out"
        return base
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{")), None)
    if line is None:
        base.error = f"simulate exited {proc.returncode}: {proc.stderr[-500:]}"
        return base
    out = json.loads(line)
    review = out.get("review") or {}
    base.state = out.get("state")
    base.end_reason = out.get("reason")
    base.session_id = out.get("session_id")
    base.verdict = review.get("verdict")
    base.reasons = list(review.get("reasons") or [])
    base.answers = list(out.get("answers") or [])
    base.busy_refusals = int(out.get("busy_refusals") or 0)
    base.busy_waited_s = float(out.get("busy_waited_s") or 0.0)
    base.offer_answer_ms = out.get("offer_answer_ms")
    base.leans = list(out.get("leans") or [])
    if out.get("errors"):
        base.error = json.dumps(out["errors"], ensure_ascii=False)[:300]
    return base


def _lowest_priority() -> None:
    os.nice(19)


def run_cases(cases: list[Case], server: str, api_key: str, flow: str, concurrency: int = 2,
              progress=None) -> list[CaseResult]:
    """Every case, ``concurrency`` at a time; ``progress(result)`` after each."""
    results: list[CaseResult] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for res in pool.map(lambda c: run_case(c, server, api_key, flow), cases):
            results.append(res)
            if progress is not None:
                progress(res)
    return results


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(q * (len(v) - 1))))], 3)


def summarise(results: list[CaseResult]) -> dict:
    """Per locale: genuine verdict counts, attacks cleared per species, false consents, latency."""
    out: dict = {}
    for locale in sorted({r.locale for r in results}):
        rs = [r for r in results if r.locale == locale]
        genuine = [r for r in rs if r.species == "genuine"]
        verdicts = Counter(r.verdict or "none" for r in genuine)
        attacks = {}
        for sp in SPECIES:
            these = [r for r in rs if r.species == sp]
            if these:
                attacks[sp] = {"n": len(these), "cleared": sum(r.cleared for r in these),
                               "verdicts": dict(Counter(r.verdict or "none" for r in these))}
        # A refused, dodged or wrongly read answer that passed anyway.
        false_consents = sum(
            1 for r in rs if r.attacked_step is not None
            for a in r.answers if a.get("step") == r.attacked_step and a.get("outcome") == "pass")
        identity_false = sum(1 for r in genuine
                             if any("different person" in x for x in r.reasons))
        latency = [a["verdict_after_s"] for r in rs for a in r.answers
                   if a.get("verdict_after_s") is not None]
        out[locale] = {
            "genuine": {"n": len(genuine), "clear": verdicts.get("clear", 0),
                        # ended early: a human agent finishes them (on_fail: refer)
                        "referred": sum(r.referred for r in genuine),
                        "attention": verdicts.get("attention", 0),
                        "reject": verdicts.get("reject", 0),
                        "no_verdict": verdicts.get("none", 0),
                        "cleared_ratio": round(verdicts.get("clear", 0) / len(genuine), 3)
                        if genuine else None},
            "attacks": attacks,
            "attacks_cleared": sum(a["cleared"] for a in attacks.values()),
            "consent_false_accepts": false_consents,
            "identity_false_changes": identity_false,
            "verdict_latency_s": {"n": len(latency), "p50": _pct(latency, 0.5),
                                  "p95": _pct(latency, 0.95)},
        }
    return out


def format_table(summary: dict, results: list[CaseResult]) -> str:
    """The summary as the tables an operator reads."""
    lines = []
    for locale, s in summary.items():
        g = s["genuine"]
        lines.append(f"== {locale} ==")
        lines.append(f"genuine witnesses: {g['n']}  auto-cleared {g['clear']} "
                     f"({(g['cleared_ratio'] or 0):.0%})  needs attention {g['attention']}  "
                     f"suggested reject {g['reject']}  no verdict {g['no_verdict']}  "
                     f"referred to a human {g.get('referred', 0)}")
        lines.append(f"{'attack':<16}{'n':>4}{'cleared':>9}  verdicts")
        for sp, a in s["attacks"].items():
            lines.append(f"{sp:<16}{a['n']:>4}{a['cleared']:>9}  {a['verdicts']}")
        lat = s["verdict_latency_s"]
        lines.append(f"false accepts (attacked answers passed): {s['consent_false_accepts']}   "
                     f"identity false "
                     f"changes: {s['identity_false_changes']}   answer end -> verdict: "
                     f"p50 {lat['p50']} s, p95 {lat['p95']} s (n={lat['n']})")
        for r in results:
            if r.locale == locale and ((r.species == "genuine") != r.cleared or r.error):
                why = "; ".join(r.reasons[:3]) or r.error or ""
                lines.append(f"  {r.case} [{r.voice}, {r.face}]: {r.verdict} — {why[:220]}")
    return "\n".join(lines)


def write_json(path: Path, summary: dict, results: list[CaseResult]) -> None:
    path.write_text(json.dumps({"summary": summary, "cases": [asdict(r) for r in results]},
                               ensure_ascii=False, indent=2), encoding="utf-8")
