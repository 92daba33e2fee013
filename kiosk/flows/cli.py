"""``kiosk flows``: check flow scripts, print the JSON Schema, list a flows directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kiosk.flows.loader import FlowLibrary, analyse_flow
from kiosk.flows.model import Flow


def flow_json_schema() -> dict:
    """The JSON Schema of a flow script (the same as flows/schema.json)."""
    return Flow.model_json_schema()


@click.group()
def flows() -> None:
    """Broker flow scripts: check, schema, list."""


@flows.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def check(files: tuple[str, ...]) -> None:
    """Check flow scripts; print every problem as file:line:col: message."""
    bad = 0
    for file in files:
        flow, problems = analyse_flow(file, None)
        for problem in problems:
            click.echo(str(problem))
        if problems:
            bad += 1
        else:
            assert flow is not None
            click.echo(f"OK {file} ({len(flow.steps)} steps)")
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
