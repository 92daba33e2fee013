"""``kiosk idcard``: read a resident ID card from images; measure the reader on synthetic cards.

``kiosk idcard read FRONT.jpg [--back BACK.jpg] [--name N --id-number X] [--face F] --json``
prints the fields with their confidences and every cross-check, the screen-photo check
(``card_not_screen_photo``, kiosk.idcard.recapture) among them. It exits 1 with one line
naming the image for an image that is too large, unreadable, not a card or the wrong side.
``--id-number`` and ``--name`` are taken as ``POST /api/sessions`` takes them: full-width
forms folded, a number that is not a valid resident ID number refused (exit 2), the name
normalised.

``kiosk idcard bench --cards N`` renders N made-up cards (``kiosk.testing.idcards``), shows
each through every distortion, and reports field accuracy per field and per distortion, the
cross-check outcomes and the time per card.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

import click

from kiosk.idcard.reader import CardLimits

EXIT_BAD_IMAGE = 1


def _applicant_number(ctx: click.Context, param: click.Parameter, value: str | None
                      ) -> str | None:
    """The number as intake takes it (``kiosk.witness.intake.Applicant``)."""
    from kiosk.guide.normalise import fold
    from kiosk.identity.numbers import IdNumberError, IdType, characters_problem, parse_id_number

    if value is None:
        return None
    text = fold(value).strip()
    problem = characters_problem(text)
    if problem is not None:
        raise click.BadParameter(problem)
    try:
        return parse_id_number(IdType.PRC_RESIDENT_ID, text).number
    except IdNumberError as exc:
        raise click.BadParameter(str(exc)) from None


def _applicant_name(ctx: click.Context, param: click.Parameter, value: str | None
                    ) -> str | None:
    from kiosk.guide.normalise import normalise_name

    if value is None:
        return None
    try:
        return normalise_name(value) or None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _read_bytes(path: Path, limits: CardLimits) -> bytes:
    """The file's bytes; refused from its size before it is read when over the cap."""
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise click.ClickException(f"{path.name} is {size} bytes; the limit is "
                                       f"{limits.max_bytes} (--max-bytes)")
        return path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{path.name}: cannot be read ({exc.strerror})") from None


@click.group("idcard")
def idcard() -> None:
    """Read PRC resident ID cards (OCR) and check them against the applicant."""


@idcard.command("read")
@click.argument("front", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--back", type=click.Path(dir_okay=False, path_type=Path),
              help="the emblem side (签发机关, 有效期限)")
@click.option("--name", callback=_applicant_name,
              help="the applicant's name, as the broker sent it")
@click.option("--id-number", callback=_applicant_number,
              help="the applicant's resident ID number, as the broker sent it")
@click.option("--face", type=click.Path(dir_okay=False, path_type=Path),
              help="a photo of the applicant's face, to compare with the card's portrait")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="the witness day for the expiry check (default: today)")
@click.option("--max-bytes", default=CardLimits().max_bytes, show_default=True,
              type=click.IntRange(1000, 100_000_000), help="largest image file accepted")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def read(front: Path, back: Path | None, name: str | None, id_number: str | None,
         face: Path | None, day, max_bytes: int, as_json: bool) -> None:
    """Read FRONT (the portrait side) and optionally BACK; print fields and checks."""
    from kiosk.idcard.reader import CardImageError, read_card
    from kiosk.idcard.recapture import screen_signs
    from kiosk.identity.checks import cross_check, overall, portrait_distance
    from kiosk.liveness.id_photo import PhotoTooLarge, decode_rgb
    from kiosk.witness.id_card import screen_check

    limits = CardLimits(max_bytes=max_bytes)
    front_bytes = _read_bytes(front, limits)
    back_bytes = _read_bytes(back, limits) if back else None
    try:
        reading = read_card(front_bytes, back_bytes, limits=limits, front_name=front.name,
                            back_name=back.name if back else "back")
    except CardImageError as exc:
        if as_json:
            click.echo(json.dumps({"error": exc.code, "message": str(exc)}, ensure_ascii=False))
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_BAD_IMAGE)
    found = distance = None
    if face is not None:
        try:
            face_rgb = decode_rgb(_read_bytes(face, limits), face.name, max_bytes=max_bytes)
        except (PhotoTooLarge, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        found, distance = portrait_distance(reading.front_rgb, face_rgb, reading.front)
    witness_day = day.date() if day else date.today()
    checks = cross_check(reading.fields, day=witness_day, applicant_name=name,
                         applicant_number=id_number, portrait_distance=distance,
                         portrait_found=found, back_received=back_bytes is not None)
    # The same measure and rule as a witness's card (card.json's ``screen`` per side).
    screens = {"front": screen_signs(reading.front_rgb).to_dict()}
    if reading.back_rgb is not None:
        screens["back"] = screen_signs(reading.back_rgb).to_dict()
    checks.append(screen_check({side: {"screen": sc} for side, sc in screens.items()}))
    out = reading.to_dict() | {"screen": screens, "checks": [c.to_dict() for c in checks],
                               "overall": overall(checks).value}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for key, f in out["fields"].items():
        click.echo(f"{key:<10} {f['confidence']:.2f}  {f['value']}")
    for c in out["checks"]:
        click.echo(f"{c['status']:<12} {c['name']}: {c['detail']}")
    click.echo(f"overall: {out['overall']}  ({out['seconds']:.2f} s)")


@idcard.command("bench")
@click.option("--cards", default=10, show_default=True, type=click.IntRange(1, 500),
              help="made-up cards, each shown through every distortion")
@click.option("--seed", default=1, show_default=True)
@click.option("--faces/--no-faces", default=True, show_default=True,
              help="also compare each card's portrait with the face it was made from (dlib)")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="write the summary and every card here")
def bench(cards: int, seed: int, faces: bool, json_out: Path | None) -> None:
    """Field accuracy per field and per distortion, cross-checks, and time per card."""
    from kiosk.idcard.fields import BACK_FIELDS, FRONT_FIELDS
    from kiosk.idcard.ocr import shared_reader
    from kiosk.idcard.reader import CardImageError, read_card
    from kiosk.identity.checks import cross_check, overall, portrait_distance
    from kiosk.testing.faces import face_photo
    from kiosk.testing.idcards import (
        DISTORTIONS,
        make_person,
        photograph,
        render_back,
        render_front,
    )

    t0 = time.perf_counter()
    shared_reader()
    load_s = time.perf_counter() - t0
    today = date.today()
    rows: list[dict] = []
    walls: list[float] = []
    cpus: list[float] = []
    for i in range(cards):
        person = make_person(seed * 1000 + i, today)
        front, back = render_front(person, i), render_back(person, i)
        want = {"name": person.name, "sex": person.sex, "nation": person.nation,
                "birth": person.birth.isoformat(), "address": person.address,
                "id_number": person.id_number, "authority": person.authority,
                "validity": person.validity}
        face_rgb = face_photo(person.face) if faces else None
        for d in DISTORTIONS:
            fb, bb = photograph(front, d, i), photograph(back, d, i + 7)
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                reading = read_card(fb, bb)
                got = {k: f.value for k, f in reading.fields.items()}
                error = None
            except CardImageError as exc:
                reading, got, error = None, {}, exc.code
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            checks = []
            if reading is not None:
                found = distance = None
                if face_rgb is not None:
                    found, distance = portrait_distance(reading.front_rgb, face_rgb, reading.front)
                checks = cross_check(reading.fields, day=today, applicant_name=person.name,
                                     applicant_number=person.id_number,
                                     portrait_distance=distance, portrait_found=found)
            rows.append({"card": i, "distortion": d, "error": error,
                         "correct": {k: got.get(k) == v for k, v in want.items()},
                         "checks": {c.name: c.status.value for c in checks},
                         "overall": overall(checks).value if checks else "error",
                         "seconds": round(walls[-1], 3)})
    fields = FRONT_FIELDS + BACK_FIELDS
    per_distortion = {d: {f: _share(r["correct"][f] for r in rows if r["distortion"] == d)
                          for f in fields} for d in DISTORTIONS}
    per_field = {f: _share(r["correct"][f] for r in rows) for f in fields}
    check_names = sorted({n for r in rows for n in r["checks"]})
    checks_summary = {n: _counts(r["checks"].get(n) for r in rows if r["checks"])
                      for n in check_names}
    walls.sort()
    summary = {
        "cards": cards, "images": 2 * len(rows), "model_load_s": round(load_s, 2),
        "field_accuracy": per_field, "field_accuracy_by_distortion": per_distortion,
        "checks": checks_summary, "overall": _counts(r["overall"] for r in rows),
        "seconds_per_card": {"mean": round(sum(walls) / len(walls), 3),
                             "p50": round(walls[len(walls) // 2], 3),
                             "p95": round(walls[min(len(walls) - 1, int(0.95 * len(walls)))], 3),
                             "cpu_mean": round(sum(cpus) / len(cpus), 3)},
    }
    click.echo(_table(summary, fields))
    if json_out:
        json_out.write_text(json.dumps({"summary": summary, "cards": rows}, ensure_ascii=False,
                                       indent=2), encoding="utf-8")


def _share(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 3) if values else 0.0


def _counts(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        if v is not None:
            out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def _table(summary: dict, fields: tuple[str, ...]) -> str:
    head = f"{'distortion':<11}" + "".join(f"{f[:9]:>10}" for f in fields)
    lines = [head]
    for d, acc in summary["field_accuracy_by_distortion"].items():
        lines.append(f"{d:<11}" + "".join(f"{acc[f]:>10.2f}" for f in fields))
    lines.append(f"{'all':<11}" + "".join(f"{summary['field_accuracy'][f]:>10.2f}"
                                          for f in fields))
    lines.append("checks: " + "; ".join(f"{n} {c}" for n, c in summary["checks"].items()))
    lines.append(f"overall: {summary['overall']}")
    s = summary["seconds_per_card"]
    lines.append(f"seconds per card (front + back): mean {s['mean']}, p50 {s['p50']}, "
                 f"p95 {s['p95']}, CPU {s['cpu_mean']}; model load {summary['model_load_s']} s")
    return "\n".join(lines)
