"""``kiosk db upgrade|current``: the database schema (kiosk.migrations)."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.errors import KioskError


def _engine(config):
    from sqlalchemy import create_engine

    from kiosk.config import load_settings
    from kiosk.store import _create_private_file

    try:
        settings = load_settings(config)
    except KioskError as exc:
        raise click.ClickException(str(exc)) from exc
    url = settings.db_url
    if url.startswith("sqlite:///"):
        settings.ensure_dirs()
        _create_private_file(Path(url.removeprefix("sqlite:///")))
    return create_engine(url)


@click.group()
def db() -> None:
    """The database schema: migrate it, or show its revision."""


@db.command()
@click.option("--revision", default="head", show_default=True,
              help="Target revision (the shipped ones are 0001, 0002, ...).")
@click.option("--config", type=click.Path(dir_okay=False), help="Settings file (YAML).")
def upgrade(revision, config) -> None:
    """Migrate the database (database_url / KIOSK_DATABASE_URL) to REVISION.

    Run it once per release before starting PostgreSQL nodes; SQLite migrates itself at
    start. A database made before migrations is adopted first."""
    from kiosk import migrations

    engine = _engine(config)
    try:
        before, after = migrations.upgrade(engine, revision)
    except Exception as exc:  # alembic's CommandError, a failed statement, a refused login
        raise click.ClickException(f"database {migrations.safe_url(engine)}: upgrade to "
                                   f"{revision} failed: {exc}") from exc
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"database {migrations.safe_url(engine)}: already at revision {after}")
    else:
        click.echo(f"database {migrations.safe_url(engine)}: revision {before or 'none'} -> "
                   f"{after}")


@db.command()
@click.option("--config", type=click.Path(dir_okay=False), help="Settings file (YAML).")
def current(config) -> None:
    """Show the database's schema revision; exit 1 when it is not this version's head."""
    from kiosk import migrations

    engine = _engine(config)
    try:
        rev = migrations.current(engine)
    except Exception as exc:
        raise click.ClickException(f"database {migrations.safe_url(engine)}: {exc}") from exc
    finally:
        engine.dispose()
    at_head = rev == migrations.HEAD
    click.echo(f"database {migrations.safe_url(engine)}: revision {rev or 'none'}"
               f"{' (head)' if at_head else f'; this version needs {migrations.HEAD}'}")
    if not at_head:
        raise SystemExit(1)
