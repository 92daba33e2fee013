"""``kiosk flows``: check flow scripts, print the JSON Schema, list a flows directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kiosk.flows.library import FlowLibrary
from kiosk.flows.loader import analyse_flow, load_flow, speech_warnings
from kiosk.flows.model import Flow
from kiosk.locales import LOCALES


def flow_json_schema() -> dict:
    """The JSON Schema of a flow script (the same as flows/schema.json)."""
    return Flow.model_json_schema()


def unvoiced_locales(locales) -> list[str]:
    """The locales of ``locales`` the guide has no voice for (kiosk.locales.LOCALES lists
    those it has): ``flows check`` warns about them and ``flows preview`` refuses them."""
    return [lc for lc in locales if lc not in LOCALES]


def _unvoiced_message(unvoiced: list[str]) -> str:
    return (f"no guide voice for locale(s) {', '.join(unvoiced)}; the guide speaks "
            f"{', '.join(LOCALES)}")


@click.group()
def flows() -> None:
    """Broker flow scripts: check, schema, list, preview, publish, versions, diff, new."""


@flows.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def check(files: tuple[str, ...]) -> None:
    """Check flow scripts; print every problem as file:line:col: message.

    A valid flow may still get warnings (file:line:col: warning: ...) about text the guide's
    voice would say badly; they do not make the check fail.
    """
    bad = 0
    for file in files:
        flow, problems = analyse_flow(file, None)
        for problem in problems:
            click.echo(str(problem))
        if problems:
            bad += 1
        else:
            assert flow is not None
            warnings = [str(w) for w in speech_warnings(file)]
            unvoiced = unvoiced_locales(flow.locales)
            if unvoiced:
                warnings.insert(0, f"{file}:1:1: warning: {_unvoiced_message(unvoiced)}: "
                                   "`kiosk flows preview` refuses it and no witness can be "
                                   "held in it")
            for warning in warnings:
                click.echo(warning)
            note = f", {len(warnings)} speech warning(s)" if warnings else ""
            click.echo(f"OK {file} ({len(flow.steps)} steps{note})")
    if bad:
        sys.exit(1)


@flows.command()
def schema() -> None:
    """Print the JSON Schema of flow scripts (for editors and other tools)."""
    click.echo(json.dumps(flow_json_schema(), indent=2, ensure_ascii=False))


@flows.command("list")
@click.option("--dir", "flows_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Flows directory (default: the flows_dir setting).")
def list_flows(flows_dir: Path | None) -> None:
    """List the flows of a directory, with their estimated length per locale."""
    if flows_dir is None:
        from kiosk.config import load_settings

        flows_dir = load_settings().flows_dir
    if not flows_dir.is_dir():
        raise click.ClickException(f"{flows_dir}: not a directory")
    library = FlowLibrary(flows_dir)
    entries = library.scan()
    if not entries:
        click.echo(f"no flows in {flows_dir}")
        return
    broken = 0
    for path, item in entries:
        if isinstance(item, Flow):
            lengths = ", ".join(
                f"{lc} ~{item.estimated_seconds(lc):.0f} s" for lc in item.locales
            )
            title = item.title.get("en") or item.title[item.locales[0]]
            click.echo(f"{item.id}  v{item.version}  {len(item.steps)} steps  {lengths}  {title}")
        else:
            broken += 1
            click.echo(f"INVALID {path}: {len(item.problems)} problem(s); "
                       f"run: kiosk flows check {path}")
    if broken:
        sys.exit(1)


# --------------------------------------------------------------------------- preview


def _settings():
    from kiosk.config import load_settings

    return load_settings()


def _flow_from_arg(ref: str, settings) -> Flow:
    """A flow from a file path, a flow id in flows_dir, or a published FLOW_ID@VERSION."""
    from kiosk.errors import FlowError
    from kiosk.flows.versions import parse_ref

    try:
        if Path(ref).is_file():
            return load_flow(ref)
        parsed = parse_ref(ref)
        if parsed is not None:
            flow = _registry(settings).load(*parsed)
            if flow is None:
                raise click.ClickException(f"{ref}: no such published version")
            return flow
        if "/" not in ref and not ref.endswith(".yaml"):
            return FlowLibrary(settings.flows_dir).get(ref)
    except FlowError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(str(exc)) from None
    raise click.ClickException(f"{ref}: no such file, flow id or FLOW_ID@VERSION")


def _applicant_name(value: str) -> str:
    """``--name`` as intake stores a name (``normalise_name``), refused as intake refuses it."""
    from kiosk.guide.normalise import name_script_problem, normalise_name

    try:
        name = normalise_name(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from None
    problem = name_script_problem(name) if name else "is empty"
    if problem is not None:
        raise click.BadParameter(f"the name {problem}", param_hint="--name")
    return name


@flows.command()
@click.argument("flow")
@click.option("--locale", "locales", multiple=True,
              help="Locale to preview (repeatable; default: every locale of the flow).")
@click.option("--limit", type=click.FloatRange(min=1), default=None, show_default=False,
              help="Warn when the expected witness is longer than this many seconds "
                   "[default: 600].")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the audio goes (default: the server's TTS cache).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: every prompt written and as spoken, its audio file and length.")
@click.option("--name", "applicant_name", metavar="NAME",
              help="The applicant's name to fill in {name} with, to hear how the guide says "
                   "it (default: a long stand-in, 欧阳娜娜 / Maria Fernanda Lopez).")
def preview(flow: str, locales: tuple[str, ...], limit: float | None,
            cache_dir: Path | None, as_json: bool, applicant_name: str | None) -> None:
    """Render FLOW's prompts with the guide voice; print durations and the expected total.

    FLOW is a file, a flow id in the flows directory, or FLOW_ID@VERSION (published).
    """
    from kiosk.errors import GuideError
    from kiosk.flows.preview import (
        DEFAULT_LIMIT_SECONDS,
        count_prompts,
        preview_flow,
        preview_json,
        report_lines,
    )
    from kiosk.guide import GuideVoice

    settings = _settings()
    loaded = _flow_from_arg(flow, settings)
    wanted = list(locales) or list(loaded.locales)
    for lc in wanted:
        if lc not in loaded.locales:
            raise click.ClickException(f"flow '{loaded.id}' has no locale {lc!r}; it offers "
                                       f"{', '.join(loaded.locales)}")
    voices = {"zh-CN": settings.voice_zh, "en": settings.voice_en}
    rates = {"zh-CN": settings.tts_rate_zh, "en": settings.tts_rate_en}
    unvoiced = unvoiced_locales(wanted)
    if unvoiced:
        raise click.ClickException(_unvoiced_message(unvoiced))
    limit = DEFAULT_LIMIT_SECONDS if limit is None else limit
    name = None if applicant_name is None else _applicant_name(applicant_name)
    total = count_prompts(loaded, wanted)
    try:
        with GuideVoice(cache_dir or settings.tts_cache_dir, voices=voices, rates=rates,
                        timeout=settings.tts_timeout_seconds) as guide, \
                click.progressbar(length=total, label=f"Rendering {total} prompts",
                                  file=sys.stderr) as bar:
            previews = preview_flow(loaded, guide, wanted, on_render=bar.update, name=name)
    except GuideError as exc:
        raise click.ClickException(f"the guide voice failed: {exc}") from None
    if as_json:
        click.echo(json.dumps(preview_json(previews, limit), ensure_ascii=False, indent=2))
        return
    warnings = []
    for p in previews:
        lines, warning = report_lines(p, limit)
        click.echo("\n".join(lines))
        if warning:
            warnings.append(warning)
    for w in warnings:
        click.echo(w)


# --------------------------------------------------------------------------- versions


def _registry(settings):
    from kiosk.flows.versions import FlowVersions
    from kiosk.migrations import open_store

    settings.ensure_dirs()
    return FlowVersions(open_store(settings.db_url, settings.sessions_dir))


@flows.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--by", "by", required=True, help="Who publishes (recorded with the version).")
def publish(file: Path, by: str) -> None:
    """Publish FILE as an immutable version (its version: field is the version number)."""
    from kiosk.flows.versions import VersionError

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: cannot read ({exc})") from None
    try:
        result = _registry(_settings()).publish(text, by, file_name=str(file))
    except VersionError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(str(exc)) from None
    v = result.version
    if result.created:
        click.echo(f"published {v['flow_id']}@{v['version']} sha256 {v['content_hash']} "
                   f"by {v['published_by']} at {v['published_at']}")
    else:
        click.echo(f"unchanged: this text is already published as {v['flow_id']}@"
                   f"{v['version']} (sha256 {v['content_hash']}, by {v['published_by']} at "
                   f"{v['published_at']})")


@flows.command()
@click.argument("flow_id")
def versions(flow_id: str) -> None:
    """List the published versions of FLOW_ID, newest first."""
    from kiosk.flows.versions import VersionError

    try:
        rows = _registry(_settings()).versions(flow_id)
    except VersionError as exc:
        raise click.ClickException(str(exc)) from None
    if not rows:
        click.echo(f"{flow_id}: nothing published yet; witnesses use the file in flows_dir")
        return
    for i, v in enumerate(rows):
        current = "  (current)" if i == 0 else ""
        click.echo(f"{v['flow_id']}@{v['version']}  {v['published_at']}  {v['published_by']}  "
                   f"sha256 {v['content_hash'][:16]}{current}")


@flows.command()
@click.argument("a")
@click.argument("b")
def diff(a: str, b: str) -> None:
    """Unified diff of two scripts: files or published FLOW_ID@VERSION (or @latest).

    Exits 0 when they are equal, 1 when they differ (like diff(1)).
    """
    from kiosk.flows.versions import VersionError, diff_texts, parse_ref, read_ref

    registry = None
    if any(parse_ref(r) and not Path(r).exists() for r in (a, b)):
        registry = _registry(_settings())
    try:
        label_a, text_a = read_ref(a, registry)
        label_b, text_b = read_ref(b, registry)
    except VersionError as exc:
        raise click.ClickException(str(exc)) from None
    out = diff_texts(text_a, text_b, label_a, label_b)
    if not out:
        click.echo(f"{label_a} and {label_b} are identical")
        return
    click.echo(out, nl=False)
    sys.exit(1)


# --------------------------------------------------------------------------- templates


@flows.command("new")
@click.argument("template", required=False)
@click.option("--id", "new_id", help="Id of the new flow (also the file name).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write it (default: ID.yaml in the current directory).")
def new(template: str | None, new_id: str | None, output: Path | None) -> None:
    """Start a flow from a TEMPLATE; without arguments, list the templates."""
    from kiosk.flows.templates import TemplateError, from_template, templates

    if template is None:
        for t in templates():
            click.echo(f"{t.id}  {len(t.flow.steps)} steps  {', '.join(t.flow.locales)}  "
                       f"{t.flow.title.get('en', '')}")
        return
    if not new_id:
        raise click.ClickException("give the new flow an id: --id my_flow")
    try:
        text = from_template(template, new_id)
    except TemplateError as exc:
        raise click.ClickException(str(exc)) from None
    output = output or Path(f"{new_id}.yaml")
    if output.exists():
        raise click.ClickException(f"{output} exists; choose another --output")
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output} from template {template}; edit it, then: "
               f"kiosk flows check {output}")
