"""A throw-away PostgreSQL server for tests: Debian's binaries, a temp folder, loopback only.

``TempPostgres().start()`` runs ``initdb`` and ``pg_ctl start`` in a fresh folder under /tmp,
listening on 127.0.0.1 at a free port and on a unix socket in that folder; ``stop()`` stops
it and removes the folder. PostgreSQL refuses to run as root, so as root the server runs as
the ``postgres`` user (``runuser -u postgres --``) in a folder it owns. Durability is switched
off (``fsync=off``): the data is thrown away anyway.

``find_bindir()`` locates the binaries; ``ensure_installed()`` installs Debian's
``postgresql`` package with apt when they are missing and we are root, and otherwise returns
why not (the tests skip with that reason).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from kiosk.testing.procs import free_port

_DEBIAN_ROOT = Path("/usr/lib/postgresql")


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding initdb and pg_ctl, else the folder of
    an ``initdb`` on PATH, else None."""
    if _DEBIAN_ROOT.is_dir():
        versions = sorted((p for p in _DEBIAN_ROOT.iterdir() if p.name.isdigit()),
                          key=lambda p: int(p.name), reverse=True)
        for v in versions:
            if (v / "bin" / "initdb").is_file() and (v / "bin" / "pg_ctl").is_file():
                return v / "bin"
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def ensure_installed() -> tuple[Path | None, str]:
    """(binaries folder, "") when PostgreSQL is there or could be installed; (None, reason)
    otherwise. Installs the Debian package ``postgresql`` with apt-get only as root."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir, ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, ("PostgreSQL is not installed and this is not root: install it with "
                      "`sudo apt-get install postgresql` (./dev.sh test does this as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return None, f"{' '.join(cmd)} failed: {done.stderr.strip()[-400:]}"
    bindir = find_bindir()
    return (bindir, "") if bindir else (None, "apt-get installed postgresql, but no initdb")


class TempPostgres:
    """One PostgreSQL server in a temp folder; ``url(db)`` gives a SQLAlchemy URL."""

    def __init__(self, bindir: Path, user: str = "postgres"):
        self.bindir = Path(bindir)
        self.user = user  # the database superuser's name
        self.as_root = os.geteuid() == 0
        self.dir: Path | None = None
        self.port = 0

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=self.dir or tempfile.gettempdir())
        if done.returncode != 0:
            log = ""
            if self.dir is not None and (self.dir / "server.log").is_file():
                log = (self.dir / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): "
                               f"{done.stderr.strip()[-1000:]}\n{log}")
        return done

    def start(self) -> TempPostgres:
        """initdb and start; RuntimeError with the server's log when it does not come up."""
        self.dir = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", self.user,
                  "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C")
        for attempt in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=100")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-o", opts,
                          "-l", str(self.dir / "server.log"), "-w", "-t", "60", "start")
                return self
            except RuntimeError:
                if attempt == 2:
                    self.stop()
                    raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                          "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database with a random name; returns its name."""
        name = "t_" + uuid.uuid4().hex[:16]
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()
