"""Schema migrations with Alembic: the one module that imports alembic.

The schema is the chain of revisions in ``versions/`` (0001: the schema as it stood before
migrations; 0002: the evidence ledger table; 0003: the node that runs each witness; 0004: the
secrets the nodes share; 0005: end reasons of up to 128 characters). Who runs them:

- **SQLite** (the embedded default): ``open_store`` (how the server and the commands open the
  store) calls ``upgrade`` at every start, so
  ``./dev.sh serve`` needs no set-up step. A database made by an older version with
  ``create_all`` (no ``alembic_version`` table) is adopted: its missing tables, columns and
  triggers are filled in, it is stamped 0001, then upgraded.
- **PostgreSQL** (several nodes): the operator runs ``kiosk db upgrade`` once per release,
  before starting the nodes; a node refuses to start (``ConfigError``) on a database that is
  not at this version's head, rather than racing other nodes to change the schema.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from kiosk import store
from kiosk.errors import ConfigError
from kiosk.evidence import keys_db, ledger_db
from kiosk.flows import versions as flow_versions
from kiosk.review import models as review_models

log = logging.getLogger(__name__)

# The newest revision in versions/ (tests check it is the script directory's head).
HEAD = "0005"
_HERE = Path(__file__).resolve().parent
# The modules whose models make the schema: importing them registers their tables on
# ``store.Base``, which adoption and ``schema_differences`` read.
MODEL_MODULES = (store, flow_versions, review_models, keys_db, ledger_db)
# Tables of revision 0001, for adopting a database made before migrations.
_BASELINE_TABLES = ("witness_sessions", "flow_versions", "flow_drafts", "review_users",
                    "review_cases", "review_decisions", "review_audit")


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_head() -> str | None:
    """The head revision of the shipped scripts (equal to ``HEAD``)."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(engine: Engine) -> str | None:
    """The database's revision; None for an empty database or one made before migrations."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def safe_url(engine: Engine) -> str:
    """The engine's URL without its password, for messages and logs."""
    return engine.url.render_as_string(hide_password=True)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to ``revision`` (adopting a pre-migration database first); returns
    ``(revision before, revision after)``. Alembic's errors (an unknown revision, a failed
    statement) propagate."""
    before = current(engine)
    if before is None and "witness_sessions" in inspect(engine).get_table_names():
        _adopt(engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)
    after = current(engine)
    if after != before:
        log.info("database %s: schema revision %s -> %s", safe_url(engine), before or "none",
                 after)
    return before, after


def _adopt(engine: Engine) -> None:
    """Stamp 0001 on a database made by ``create_all`` before migrations, after filling in
    what that version may lack (tables it never made, late columns, triggers)."""
    tables = store.Base.metadata.tables
    store.Base.metadata.create_all(engine, tables=[tables[t] for t in _BASELINE_TABLES])
    review_models.upgrade_schema(engine)
    with engine.begin() as conn:
        for stmt in flow_versions.IMMUTABLE_TRIGGERS.get(engine.dialect.name, ()):
            conn.exec_driver_sql(stmt)
        command.stamp(_config(conn), "0001")
    log.warning("database %s was made before schema migrations: adopted at revision 0001",
                safe_url(engine))


def require_current(engine: Engine) -> None:
    """ConfigError unless the database is at ``HEAD`` (how a PostgreSQL node starts)."""
    rev = current(engine)
    if rev == HEAD:
        return
    state = (f"at schema revision {rev}" if rev is not None
             else "empty or made before schema migrations")
    raise ConfigError(f"database {safe_url(engine)} is {state}; this version needs revision "
                      f"{HEAD}: run `kiosk db upgrade` once, with the same database_url "
                      "(KIOSK_DATABASE_URL), before starting the nodes")


def prepare_schema(engine: Engine) -> None:
    """Make the schema ready at start: SQLite is migrated in place (zero set-up for the
    embedded default); any other database must already be at ``HEAD`` (``kiosk db upgrade``,
    run once by the operator), else ConfigError says so."""
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    else:
        require_current(engine)


def open_store(db_url: str, sessions_dir: Path,
               min_free_mb: float = 0.0) -> store.SessionStore:
    """A ``SessionStore`` (arguments as its own) whose schema is ready (``prepare_schema``):
    how the server and the commands open the database. ConfigError as ``prepare_schema``."""
    opened = store.SessionStore(db_url, sessions_dir, min_free_mb=min_free_mb)
    prepare_schema(opened.engine)
    return opened


def schema_differences(engine: Engine) -> list:
    """What differs between the database and the models (Alembic's autogenerate diff; empty
    when they match)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                      "compare_server_default": False})
        diffs = compare_metadata(ctx, store.Base.metadata)
    return [d for d in diffs if not _is_alembic_table(d)]


def _is_alembic_table(diff) -> bool:
    return bool(isinstance(diff, tuple) and diff and diff[0] == "remove_table"
                and getattr(diff[1], "name", "") == "alembic_version")
