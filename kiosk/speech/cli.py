"""``kiosk speech-eval``: intent accuracy, false consent and ms per answer on synthetic answers."""

from __future__ import annotations

import time

import click
import numpy as np

from kiosk.identity.numbers import IdType
from kiosk.speech.recognize import EN_ENGINES, ZH_ENGINES


@click.command("speech-eval")
@click.option("--n", "n", default=40, show_default=True, type=click.IntRange(1, 2000),
              help="answers per locale")
@click.option("--locale", "locales", multiple=True, type=click.Choice(["en", "zh"]),
              default=("en", "zh"), show_default=True)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--whisper-model-dir", type=click.Path(file_okay=False), default=None,
              help="faster-whisper model directory for Mandarin (default: the bundled base)")
@click.option("--zh-engine", type=click.Choice(ZH_ENGINES),
              default="auto", show_default=True, help="Mandarin engine")
@click.option("--en-engine", type=click.Choice(EN_ENGINES), default="auto",
              show_default=True, help="English engine (auto: the grammar, then Whisper)")
@click.option("--clean", is_flag=True, help="no added noise (voices and speeds still vary)")
@click.option("-v", "--verbose", is_flag=True, help="print every answer")
def speech_eval(n: int, locales: tuple[str, ...], seed: int, whisper_model_dir: str | None,
                zh_engine: str, en_engine: str, clean: bool, verbose: bool) -> None:
    """Synthesise answers with espeak-ng (voices, speeds, noise) and score the recogniser."""
    from kiosk.session import PlannedStep, settle
    from kiosk.speech.corpus import make_corpus
    from kiosk.speech.decide import decide
    from kiosk.speech.expected import Expected
    from kiosk.speech.recognize import Recognizer

    rec = Recognizer(whisper_model_dir=whisper_model_dir, zh_engine=zh_engine,
                     en_engine=en_engine)
    consent = Expected("affirm")
    # Each answer as the only try at a consent question (no retries).
    question = PlannedStep(id="consent", kind="question", text="", title="", expect="affirm")
    total_false = 0
    for loc in locales:
        t0 = time.perf_counter()
        items = make_corpus(loc, n, seed=seed, noisy=not clean)
        synth_s = time.perf_counter() - t0
        rec.verify(items[0].pcm, loc, consent)  # warm-up: model loading is not per-answer cost
        correct, false_accepts, false_stops = 0, 0, 0
        ms: list[float] = []
        outcomes: dict[str, int] = {}
        per_intent: dict[str, list[int]] = {}
        for it in items:
            ans = rec.verify(it.pcm, loc, consent)
            outcome, _next = settle(question, 0, decide(ans, consent).outcome)
            ok = ans.intent == it.intent
            correct += ok
            per_intent.setdefault(it.intent, [0, 0])
            per_intent[it.intent][0] += ok
            per_intent[it.intent][1] += 1
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome == "pass" and it.intent != "affirm":
                false_accepts += 1
            if outcome == "stop" and it.intent != "deny":
                false_stops += 1  # the session would end although no refusal was spoken
            ms.append(ans.ms)
            if verbose:
                click.echo(f"  {'ok ' if ok else 'BAD'} {it.intent:8} {it.text!r:32} {it.voice:24} "
                           f"{it.wpm} {it.noise}/{it.snr_db:g} -> {ans.intent} "
                           f"{ans.transcript!r} {ans.score:.2f} {outcome}")
        total_false += false_accepts
        engine = rec.engine_for(loc)
        click.echo(f"{loc}: engine {engine.name if engine else 'none'}; intent accuracy "
                   f"{correct}/{len(items)} ({100 * correct / len(items):.1f}%); "
                   f"false accepts of consent {false_accepts}; "
                   f"{np.mean(ms):.0f} ms per answer (p95 {np.percentile(ms, 95):.0f}); "
                   f"synthesis {synth_s:.1f} s")
        click.echo("    by true intent: " + ", ".join(
            f"{k} {v[0]}/{v[1]}" for k, v in sorted(per_intent.items())))
        click.echo("    outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
                   + f"; stops without a spoken refusal {false_stops}")
    if total_false:
        raise click.ClickException(f"{total_false} false accepts of consent")


class _JsonErrors(click.Command):
    """A command whose errors, with ``--json``, are also one JSON object on stdout,
    ``{"error": message, "exit_code": n}``, so a broker's script reads one format; the
    message still goes to stderr and the exit code is click's (2 for bad usage, 1 otherwise).
    """

    def make_context(self, info_name, args, parent=None, **extra):
        wants_json = "--json" in args
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:  # bad usage: a missing file, an unknown choice
            if wants_json:
                _echo_error(exc)
            raise

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if ctx.params.get("as_json"):
                _echo_error(exc)
            raise


def _echo_error(exc: click.ClickException) -> None:
    import json

    click.echo(json.dumps({"error": exc.format_message(), "exit_code": exc.exit_code},
                          ensure_ascii=False))


@click.command("answer", cls=_JsonErrors)
@click.argument("audio", type=click.Path(exists=True, dir_okay=False))
@click.option("--flow", "flow_ref", required=True,
              help="a flow id from the flows folder, or a flow YAML file")
@click.option("--step", "step_id", required=True, help="the question or read_aloud step")
@click.option("--locale", default="zh-CN", show_default=True)
@click.option("--name", default="张三", show_default=True, help="the applicant's name")
@click.option("--id-number", default="110102199003078888", show_default=True,
              help="the applicant's ID number (its last 4 characters fill {id_last4})")
@click.option("--id-type", default="prc_resident_id", show_default=True,
              type=click.Choice([t.value for t in IdType]),
              help="the document type of --id-number, checked as the REST API checks it")
@click.option("--attempt", default=0, show_default=True, type=click.IntRange(0, 3),
              help="0 for the first answer; a retry is asked while attempt < the step's retries")
@click.option("--zh-engine", type=click.Choice(ZH_ENGINES), default="auto", show_default=True)
@click.option("--en-engine", type=click.Choice(EN_ENGINES), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the result as one JSON object")
def answer(audio: str, flow_ref: str, step_id: str, locale: str, name: str, id_number: str,
           id_type: str, attempt: int, zh_engine: str, en_engine: str, as_json: bool) -> None:
    """Judge AUDIO as the investor's answer to one step of a flow, as a live witness would.

    Prints outcome (pass | stop | retry | flag), what was heard, the intent, the score and the
    engine. Brokers use it to try a script's questions with their own recordings. With --json:
    ``heard`` is the recogniser's transcript; ``shown`` what the investor's page would show
    ("" when it shows nothing but "we could not hear that clearly"; for a passing reading, the
    text to read where it was heard alike); ``note`` why the engine and its checks decided
    so; ``reason`` the decision rule's outcome; ``ms`` the time taken.
    """
    import json
    import random
    from pathlib import Path

    from kiosk.config import Settings
    from kiosk.errors import FlowError
    from kiosk.flows import FlowLibrary, load_flow
    from kiosk.identity.numbers import IdNumberError, parse_id_number
    from kiosk.session import settle
    from kiosk.speech.audio import pcm_from_file
    from kiosk.speech.decide import decide
    from kiosk.speech.observer import expected_for, shown_words
    from kiosk.speech.recognize import Recognizer
    from kiosk.witness.plan import plan_witness

    try:
        id_number = parse_id_number(id_type, id_number.strip()).number
    except IdNumberError as exc:  # the words the REST API answers with (422)
        raise click.BadParameter(str(exc), param_hint="--id-number") from exc
    try:
        path = Path(flow_ref)
        flow = (load_flow(path) if path.suffix in (".yaml", ".yml") and path.is_file()
                else FlowLibrary(Settings().flows_dir).get(flow_ref))
        if locale not in flow.locales:
            raise click.BadParameter(f"flow '{flow.id}' has locales {', '.join(flow.locales)}",
                                     param_hint="--locale")
        variables = {"name": name, "id_last4": id_number[-4:]}
        plan = {s.id: s for s in plan_witness(flow, locale, variables, random.Random(0))}
    except FlowError as exc:
        raise click.ClickException(str(exc)) from exc
    step = plan.get(step_id)
    if step is None or not step.listens:
        listening = [s.id for s in plan.values() if s.listens]
        raise click.BadParameter(f"'{step_id}' is not a question or read_aloud step of "
                                 f"'{flow.id}'; use one of: {', '.join(listening)}",
                                 param_hint="--step")
    expected = expected_for(step)
    try:
        pcm16 = pcm_from_file(audio)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"{audio}: not a readable audio file ({exc})") from exc
    window = step.answer_seconds or step.seconds
    heard_s = len(pcm16) / 16000.0
    if window and heard_s > window + 2.0:
        # A live witness closes the answer window after ``window`` seconds (or at the end of
        # speech); this command judges the whole file.
        click.echo(f"note: {audio} lasts {heard_s:.0f} s; a live witness listens about "
                   f"{window:.0f} s for step '{step_id}', so only what is said then would be "
                   "heard; the whole file is judged here", err=True)
    rec = Recognizer(zh_engine=zh_engine, en_engine=en_engine)
    ans = rec.verify(pcm16, locale, expected)
    dec = decide(ans, expected)
    outcome, _next = settle(step, attempt, dec.outcome)  # the state machine's retry rule
    out = {"outcome": outcome, "heard": ans.transcript, "shown": shown_words(ans, expected, locale),
           "intent": ans.intent, "score": ans.score, "engine": ans.engine, "note": ans.note,
           "reason": dec.reason, "ms": ans.ms}
    if outcome == "stop" and attempt == 0:
        # the state machine confirms a first refusal once (kiosk.session.transition)
        out["next"] = "confirm: the witness asks once more; a second refusal ends it declined"
    if step.kind == "read_aloud":
        out["expected_text"] = expected.text
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        for k, v in out.items():
            click.echo(f"{k:>13}: {v}")
