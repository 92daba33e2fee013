"""Running a test on both database engines: SQLite (the embedded default) and PostgreSQL.

``@both_databases`` parametrises the ``db_url`` fixture (tests/conftest.py): "sqlite" gives
the default file URL under the test's tmp_path/data; "postgresql" gives a fresh database on
the session's throw-away server (kiosk.testing.postgres), migrated to head with
``kiosk.migrations.upgrade`` as an operator's ``kiosk db upgrade`` would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

both_databases = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


@contextmanager
def migrated_database(server) -> Iterator[str]:
    """A fresh database on ``server`` (kiosk.testing.postgres), migrated to head; its URL.
    Dropped afterwards."""
    from sqlalchemy import create_engine

    from kiosk import migrations

    name = server.create_database()
    url = server.url(name)
    engine = create_engine(url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()
    try:
        yield url
    finally:
        server.drop_database(name)
