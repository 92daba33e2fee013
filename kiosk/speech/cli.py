"""``kiosk speech-eval``: intent accuracy, false consent and ms per answer on synthetic answers."""

from __future__ import annotations

import time

import click
import numpy as np

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
    from kiosk.speech.corpus import make_corpus
    from kiosk.speech.decide import decide
    from kiosk.speech.recognize import Expected, Recognizer

    rec = Recognizer(whisper_model_dir=whisper_model_dir, zh_engine=zh_engine,
                     en_engine=en_engine)
    consent = Expected("affirm")
    total_false = 0
    for loc in locales:
        t0 = time.perf_counter()
        items = make_corpus(loc, n, seed=seed, noisy=not clean)
        synth_s = time.perf_counter() - t0
        rec.verify(items[0].pcm, loc, consent)  # warm-up: model loading is not per-answer cost
        correct, false_accepts, false_stops, ms, outcomes = 0, 0, 0, [], {}
        per_intent: dict[str, list[int]] = {}
        for it in items:
            ans = rec.verify(it.pcm, loc, consent)
            dec = decide(ans, consent, attempt=0, max_retries=0)
            ok = ans.intent == it.intent
            correct += ok
            per_intent.setdefault(it.intent, [0, 0])
            per_intent[it.intent][0] += ok
            per_intent[it.intent][1] += 1
            outcomes[dec.outcome] = outcomes.get(dec.outcome, 0) + 1
            if dec.outcome == "pass" and it.intent != "affirm":
                false_accepts += 1
            if dec.outcome == "stop" and it.intent != "deny":
                false_stops += 1  # the session would end although no refusal was spoken
            ms.append(ans.ms)
            if verbose:
                click.echo(f"  {'ok ' if ok else 'BAD'} {it.intent:8} {it.text!r:32} {it.voice:24} "
                           f"{it.wpm} {it.noise}/{it.snr_db:g} -> {ans.intent} "
                           f"{ans.transcript!r} {ans.score:.2f} {dec.outcome}")
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
