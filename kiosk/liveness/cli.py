"""``kiosk analyze`` (one recording) and ``kiosk liveness-eval`` (synthetic live/attack corpus).

The evaluation reports ISO/IEC 30107-3 style error rates of this active liveness check on
synthetic clips: APCER per attack species (share of attack presentations accepted) and BPCER
(share of live presentations rejected). It is a regression measure, not a certification.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from kiosk.errors import KioskError
from kiosk.liveness.challenges import CHALLENGE_KINDS


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--challenge",
    "challenges",
    multiple=True,
    type=click.Choice(CHALLENGE_KINDS),
    help="Challenges asked, in order (each starts when the previous one ends).",
)
@click.option("--timeout", default=6.0, show_default=True, help="Seconds allowed per challenge.")
@click.option(
    "--id-photo", type=click.Path(path_type=Path), help="ID photo to match the face against."
)
@click.option("--no-identity", is_flag=True, help="Skip dlib descriptors (identity continuity).")
@click.option(
    "--model", "model_path", type=click.Path(path_type=Path), help="face_landmarker.task to use."
)
@click.option(
    "--signals",
    "signals_out",
    type=click.Path(path_type=Path),
    help="Also write per-frame signals (JSONL).",
)
def analyze(
    recording, as_json, challenges, timeout, id_photo, no_identity, model_path, signals_out
):
    """Run the face checks (and optional active liveness challenges) over RECORDING."""
    from kiosk.liveness.analyzer import analyze_video
    from kiosk.liveness.session_checks import assess

    try:
        id_desc = None
        if id_photo is not None:
            from kiosk.liveness.identity import FaceDescriber

            id_desc = FaceDescriber().describe_file(id_photo)
        result = analyze_video(recording, model_path=model_path, describe=not no_identity)
        report = result.report(challenges, timeout, id_descriptor=id_desc)
    except (KioskError, ValueError, FileNotFoundError) as exc:
        raise _fail(exc) from exc
    ok, reasons = assess(report)
    out = report.to_dict()
    out["summary"].update(
        {
            "checks_hold": ok,
            "reasons": reasons,
            "ms_per_frame": round(result.ms_per_frame, 2),
        }
    )
    if signals_out:
        with open(signals_out, "w", encoding="utf-8") as fh:
            for s in result.signals:
                fh.write(json.dumps(s.to_dict()) + "\n")
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    s = out["summary"]
    click.echo(
        f"{recording}: {s['frames']} frames, {s['duration_s']} s, "
        f"face present {s['face_present_ratio']:.0%}"
    )
    for e in out["events"]:
        click.echo(f"  {e['t_start']:8.2f} - {e['t_end']:8.2f}  {e['type']:<16} score {e['score']}")
    for v in out["challenges"]:
        click.echo(
            f"  challenge {v['kind']}: {'passed' if v['passed'] else 'FAILED ' + v['reason']}"
        )
    click.echo("checks hold" if ok else "checks do not hold: " + "; ".join(reasons))


def _corpus(faces, seeds, size):
    """(species or 'live', ClipSpec, challenges) for every presentation of the evaluation."""
    from kiosk.testing.faces import SEQUENCE, ClipSpec

    for seed in range(seeds):
        for face in faces:

            def spec(kind, face=face, seed=seed):
                return ClipSpec(face, kind, size=size, seed=seed)

            for kind in CHALLENGE_KINDS:
                yield "live", spec(kind), (kind,)
            yield "live", spec("sequence"), SEQUENCE
            yield "live", spec("neutral"), ()
            for species in ("still", "drift", "tilt", "no_response", "no_face"):
                for kind in CHALLENGE_KINDS:
                    yield species, spec(species), (kind,)
            yield "two_faces", spec("two_faces"), SEQUENCE
            yield "swap", spec("swap"), SEQUENCE


@click.command("liveness-eval")
@click.option(
    "--faces", default="astronaut,hopper", show_default=True, help="Comma-separated face names."
)
@click.option(
    "--seeds", default=1, show_default=True, help="Variants per clip (sway, noise, drift)."
)
@click.option("--size", default="640x480", show_default=True, help="Frame size WxH.")
@click.option("--timeout", default=6.0, show_default=True, help="Seconds allowed per challenge.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="List every presentation.")
def liveness_eval(faces, seeds, size, timeout, as_json, verbose):
    """Run the synthetic live and attack corpus through the active liveness check."""
    from kiosk.liveness.analyzer import analyze_video
    from kiosk.liveness.session_checks import assess
    from kiosk.testing.faces import clip_path

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError as exc:
        raise click.BadParameter(
            f"expected WxH such as 640x480, got {size!r}", param_hint="--size"
        ) from exc
    face_list = [f.strip() for f in faces.split(",") if f.strip()]
    analyses: dict = {}
    rows = []
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        for species, spec, challenges in _corpus(face_list, seeds, (w, h)):
            if spec not in analyses:
                analyses[spec] = analyze_video(clip_path(spec))
            result = analyses[spec]
            ok, reasons = assess(result.report(challenges, timeout))
            rows.append((species, spec, challenges, ok, reasons))
            if verbose:
                click.echo(
                    f"{species:<12} {spec.face:<10} {spec.kind:<11} "
                    f"{','.join(challenges) or '-':<40} "
                    f"{'ACCEPT' if ok else 'reject'}  {reasons[0] if reasons else ''}",
                    err=True,
                )
    except (KioskError, ValueError) as exc:
        raise _fail(exc) from exc
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    live = [r for r in rows if r[0] == "live"]
    species_names = sorted({r[0] for r in rows if r[0] != "live"})
    apcer = {}
    for sp in species_names:
        rs = [r for r in rows if r[0] == sp]
        apcer[sp] = {
            "presentations": len(rs),
            "accepted": sum(r[3] for r in rs),
            "apcer": sum(r[3] for r in rs) / len(rs),
        }
    bpcer = sum(not r[3] for r in live) / len(live) if live else 0.0
    frames = sum(len(a.signals) for a in analyses.values())
    landmark_s = sum(a.landmark_s for a in analyses.values())
    desc_n = sum(len(a.descriptors) for a in analyses.values())
    desc_s = sum(a.descriptor_s for a in analyses.values())
    an_cpu = sum(a.cpu_s for a in analyses.values())
    an_wall = sum(a.wall_s for a in analyses.values())
    an_s = an_wall / sum(a.signals[-1].t + 1 / 15 for a in analyses.values() if a.signals)
    out = {
        "method": (
            "active liveness check on synthetic clips "
            "(ISO/IEC 30107-3 style figures; not a certification)"
        ),
        "apcer": apcer,
        "apcer_worst": max((v["apcer"] for v in apcer.values()), default=0.0),
        "bpcer": bpcer,
        "bona_fide_presentations": len(live),
        "bona_fide_rejected": [
            {"clip": f"{r[1].face}/{r[1].kind}", "challenges": list(r[2]), "reasons": r[4]}
            for r in live
            if not r[3]
        ],
        "clips": len(analyses),
        "frames": frames,
        "landmark_ms_per_frame": round(1000 * landmark_s / frames, 2) if frames else None,
        "descriptor_ms_each": round(1000 * desc_s / desc_n, 1) if desc_n else None,
        # While analysing (decode + landmarks + descriptors), process CPU over wall time.
        "analysis_cpu_percent_of_one_core": round(100 * an_cpu / an_wall, 1) if an_wall else None,
        "analysis_s_per_media_s": round(an_s, 3),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
    }
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(out["method"])
    click.echo(f"{'attack species':<14} {'presentations':>13} {'accepted':>9} {'APCER':>7}")
    for sp, v in apcer.items():
        click.echo(f"{sp:<14} {v['presentations']:>13} {v['accepted']:>9} {v['apcer']:>7.1%}")
    click.echo(f"{'worst':<14} {'':>13} {'':>9} {out['apcer_worst']:>7.1%}")
    click.echo(f"BPCER {bpcer:.1%} over {len(live)} bona fide presentations")
    for r in out["bona_fide_rejected"]:
        click.echo(f"  rejected live {r['clip']} {r['challenges']}: {'; '.join(r['reasons'])}")
    click.echo(
        f"{frames} frames in {len(analyses)} clips: "
        f"landmarker {out['landmark_ms_per_frame']} ms/frame, "
        f"descriptor {out['descriptor_ms_each']} ms each; analysis CPU "
        f"{out['analysis_cpu_percent_of_one_core']}% of one core, "
        f"{out['analysis_s_per_media_s']} s per "
        f"media second (offline, every frame); total {out['wall_s']} s incl. any clip synthesis"
    )
    if out["apcer_worst"] > 0 or bpcer > 0.05:
        sys.exit(1)
