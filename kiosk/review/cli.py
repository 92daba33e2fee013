"""``kiosk users``: console accounts (auditor, supervisor, broker_admin)."""

from __future__ import annotations

import sys

import click

from kiosk.review.models import ROLES


def _store(config):
    from kiosk.config import load_settings
    from kiosk.migrations import open_store

    settings = load_settings(config)
    settings.ensure_dirs()
    return open_store(settings.db_url, settings.sessions_dir)


@click.group()
def users() -> None:
    """Review console accounts."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line "
              "of standard input instead of prompting.")
@click.option("--languages", default="", help="Comma list of case languages, e.g. zh-CN,en "
              "(empty: any).")
@click.option("--flows", default="", help="Comma list of flow ids this reviewer may take "
              "(empty: any).")
@click.option("--config", type=click.Path(dir_okay=False), help="Settings file (YAML).")
def add(username, role, password_stdin, languages, flows, config) -> None:
    """Create a console account with an argon2-hashed password."""
    from kiosk.review.accounts import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = add_user(_store(config), username, password, role, languages=languages,
                        flows=flows)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.username} ({user.role})"
               + (f", languages {languages}" if languages else "")
               + (f", flows {flows}" if flows else ""))


@users.command("list")
@click.option("--config", type=click.Path(dir_okay=False), help="Settings file (YAML).")
def list_(config) -> None:
    """Show every account (never the password hash)."""
    from sqlalchemy import select

    from kiosk.review.models import StaffUser

    with _store(config).db() as db:
        for u in db.scalars(select(StaffUser).order_by(StaffUser.id)):
            lock = f" locked until {u.locked_until:%Y-%m-%d %H:%M}Z" if u.locked_until else ""
            click.echo(f"{u.id}\t{u.username}\t{u.role}\t{u.languages_csv or '*'}\t"
                       f"{u.flows_csv or '*'}{lock}")
