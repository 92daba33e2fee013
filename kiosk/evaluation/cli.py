"""``kiosk eval``: run the corpus's cases as whole witnesses and print the tables."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click

from kiosk.locales import LOCALES

# kiosk.evaluation.corpus.CASE_SPLITS, written out so `kiosk --help` need not import the corpus
# (0.8 s); tests/test_eval_corpus.py keeps the two equal.
SPLIT_CHOICES = ["tuning", "validation", "holdout", "holdout2", "holdout3", "holdout4",
                 "holdout5", "holdout6", "holdout7", "holdout8",
                 "holdout9", "holdout10", "holdout11", "holdout12", "holdout13",
                 "holdout14", "holdout15", "holdout16",
                 "holdout17", "holdout18", "holdout19",
                 "holdout20", "holdout21",
                 "holdout22", "holdout23",
                 "holdout24", "holdout25", "holdout26",
                 "holdout27"]


@click.command("eval")
@click.option("--faces", "faces_manifest", required=True, envvar="KIOSK_EVAL_FACES",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="faces.json listing the real face clips (docs/evaluation.md)")
@click.option("--split", type=click.Choice(SPLIT_CHOICES),
              default="validation", show_default=True,
              help="which voices and faces to use; holdout, holdout2 ... holdout27: validation "
                   "voices and faces saying new applicants' details at new speaking rates")
@click.option("--locale", "locales", multiple=True, type=click.Choice(LOCALES),
              default=LOCALES, show_default=True)
@click.option("--flow", default="securities_account_opening", show_default=True)
@click.option("--genuine", default=10, show_default=True, type=click.IntRange(0, 500),
              help="genuine witnesses per locale")
@click.option("--attacks/--no-attacks", default=True, show_default=True)
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--work", type=click.Path(file_okay=False, path_type=Path),
              help="cache for videos and audio (default: the model cache)")
@click.option("--server", help="a running server (default: start one on loopback)")
@click.option("--api-key", envvar="KIOSK_API_KEY", help="its back-office key")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="write the summary and every case here")
def evaluate(faces_manifest: Path, split: str, locales: tuple[str, ...], flow: str, genuine: int,
             attacks: bool, concurrency: int, work: Path | None, server: str | None,
             api_key: str | None, json_out: Path | None) -> None:
    """Run genuine witnesses and attacks end to end and report how the judgement did."""
    from kiosk.config import Settings
    from kiosk.evaluation.corpus import CaseBuilder, build_cases, load_faces
    from kiosk.evaluation.run import format_table, run_cases, summarise, write_json
    from kiosk.flows import FlowLibrary
    from kiosk.speech.models import cache_root

    faces = load_faces(faces_manifest)
    the_flow = FlowLibrary(Settings().flows_dir).get(flow)
    builder = CaseBuilder(work or cache_root() / "eval", faces)
    cases = []
    t0 = time.perf_counter()
    for locale in locales:
        built = build_cases(the_flow, locale, split, builder, genuine)
        cases += built if attacks else [c for c in built if c.species == "genuine"]
    click.echo(f"{len(cases)} cases built in {time.perf_counter() - t0:.0f} s", err=True)

    def progress(r):
        click.echo(f"  {r.case:<28} {r.verdict or r.error}", err=True)

    if server:
        if not api_key:
            raise click.UsageError("--server needs --api-key")
        results = run_cases(cases, server, api_key, flow, concurrency, progress)
    else:
        from kiosk.testing.server import API_KEY, ServerProcess

        with tempfile.TemporaryDirectory(prefix="kiosk-eval-") as tmp:
            proc = ServerProcess(Path(tmp) / "data", Settings().flows_dir,
                                 KIOSK_SPEECH_PRELOAD="true", KIOSK_DEMO="false")
            with proc:
                results = run_cases(cases, proc.url, API_KEY, flow, concurrency, progress)
    summary = summarise(results)
    click.echo(format_table(summary, results))
    if json_out:
        write_json(json_out, summary, results)
