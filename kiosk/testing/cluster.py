"""A whole cluster on one machine, loopback only: ``./dev.sh cluster`` and the cluster test.

``LocalCluster(run_dir).up()`` starts, each on 127.0.0.1 at its own port:

- Redis (``kiosk.testing.redis``): the message queue, node registry and pins;
- PostgreSQL (``kiosk.testing.postgres``; as root it runs as the ``postgres`` user), migrated
  with ``kiosk db upgrade``;
- moto (``kiosk.testing.moto``) with an Object Lock bucket for the sealed evidence
  (GOVERNANCE mode: moto is no WORM store);
- ``nodes`` kiosk node processes (``kiosk serve --demo --gunicorn``, ``node-a``,
  ``node-b``, ...), each with its own data folder under ``run_dir``, routed by path
  (``node_routing = "path"``, kiosk.cluster.routing);
- nginx as the balancer (``kiosk.cluster.routing.balancer_config``) on ``port``,

and returns the balancer's URL. Every process outlives the command that started it
(``kiosk.testing.procs.spawn_kept``: stdin from /dev/null, a process group of its own, so
neither a Ctrl-C nor the closing of the terminal reaches it); its pid (with its start time,
so a recycled pid is never signalled) is kept under ``run_dir/pids/``, and ``down()`` (from
any process) stops exactly those. The nodes' logs are ``run_dir/<node>.log``.

By default every process stays in the starting command's session, hence in its scheduler
autogroup (Linux): simulated investors started from that terminal (``kiosk loadtest
--server``, ``kiosk eval``) at nice 19 then leave the nodes the cores. In a session of its
own (``own_session``, ``up --own-session``: setsid, as before) a node is in an autogroup of its
own, and nice no longer ranks it against the investors: each node would get as much CPU as all
the investors together, and the nodes lose media under load. Use it only where something
ends the whole session of the starting terminal (a job runner that kills by session id).

``python -m kiosk.testing.cluster up|down [--run DIR] [--port N] [--own-session]`` is the
command line.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from kiosk.cluster.routing import BalancedNode, balancer_config
from kiosk.testing import moto as moto_testing
from kiosk.testing.postgres import TempPostgres
from kiosk.testing.postgres import ensure_installed as postgres_installed
from kiosk.testing.procs import free_port, kiosk_env, spawn_kept
from kiosk.testing.redis import TempRedis
from kiosk.testing.redis import ensure_installed as redis_installed

BUCKET = "kiosk-evidence"
STATE = "cluster.json"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in NGINX_CANDIDATES if Path(p).is_file()), None)


def _start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), None when it is gone or a
    zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)  # our own child (the test): collect it
    except ChildProcessError:
        pass  # started by another command (./dev.sh cluster): init reaps it


class LocalCluster:
    """See the module docstring. ``env`` adds settings (``KIOSK_...``) to every node;
    ``own_session``: every process in a session of its own (setsid) instead of the caller's."""

    def __init__(self, run_dir: Path, *, nodes: int = 2, port: int = 8080,
                 env: dict[str, str] | None = None, own_session: bool = False) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.run_dir = Path(run_dir).resolve()
        self.pids = self.run_dir / "pids"
        self.names = [f"node-{chr(ord('a') + i)}" for i in range(nodes)]
        self.port = port
        self.extra_env = dict(env or {})
        self.own_session = own_session
        self.state: dict = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ pids

    def _keep_pid(self, name: str, pid: int) -> None:
        self.pids.mkdir(parents=True, exist_ok=True)
        (self.pids / f"{name}.pid").write_text(f"{pid} {_start_time(pid) or ''}\n")

    def pid(self, name: str) -> int | None:
        """The pid of ``name`` while that very process runs, else None."""
        path = self.pids / f"{name}.pid"
        if not path.is_file():
            return None
        pid_s, _, started = path.read_text().strip().partition(" ")
        pid = int(pid_s)
        _reap(pid)
        return pid if started and _start_time(pid) == started else None

    def _signal(self, name: str, sig: int, *, group: bool = False) -> int | None:
        pid = self.pid(name)
        if pid is not None:
            try:
                (os.killpg if group else os.kill)(pid, sig)
            except ProcessLookupError:
                return None
        return pid

    def _wait_gone(self, name: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.pid(name) is not None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def _stop(self, name: str, *, timeout: float = 30.0, group: bool = False,
              signalled: bool = False) -> None:
        """SIGTERM (unless ``signalled`` already), then SIGKILL after ``timeout`` s (the
        whole process group with ``group``); forgets the pid file."""
        running = self.pid(name) if signalled else self._signal(name, signal.SIGTERM)
        if running is not None and not self._wait_gone(name, timeout):
            self._signal(name, signal.SIGKILL, group=group)
            self._wait_gone(name, 10)
        (self.pids / f"{name}.pid").unlink(missing_ok=True)

    def running(self) -> list[str]:
        return sorted(p.stem for p in self.pids.glob("*.pid") if self.pid(p.stem) is not None)

    # ------------------------------------------------------------------ up

    def up(self, timeout: float = 300.0) -> str:
        """Start everything and wait until every node is ready; the balancer's URL.
        RuntimeError (after stopping what had started) when a piece does not come up."""
        if self.running():
            raise RuntimeError(f"a cluster from {self.run_dir} is still running "
                               f"({', '.join(self.running())}): stop it first (down)")
        nginx = find_nginx()
        if nginx is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx-light)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_services()
            for name in self.names:
                self.start_node(name, wait=False)
            self._start_balancer(nginx)
            for name in self.names:
                self.wait_ready(name, timeout)
        except BaseException:
            self.down()
            raise
        return self.url

    def _save(self) -> None:
        (self.run_dir / STATE).write_text(json.dumps(self.state, indent=1))

    def _start_services(self) -> None:
        redis_bin, why = redis_installed()
        if redis_bin is None:
            raise RuntimeError(why)
        pg_bin, why = postgres_installed()
        if pg_bin is None:
            raise RuntimeError(why)
        ok, why = moto_testing.available()
        if not ok:
            raise RuntimeError(why)
        self.state["own_session"] = self.own_session
        redis = TempRedis(redis_bin)
        redis.detached = True
        redis.own_session = self.own_session
        redis.start()
        assert redis.proc is not None
        self._keep_pid("redis", redis.proc.pid)
        self.state["redis"] = {"url": redis.url(), "dir": str(redis.dir)}
        self._save()
        pg = TempPostgres(pg_bin).start()
        self.state["postgres"] = {"bindir": str(pg_bin), "dir": str(pg.dir),
                                  "url": pg.url(pg.create_database())}
        self._save()
        moto = moto_testing.TempMoto()
        moto.detached = True
        moto.own_session = self.own_session
        moto.start()
        assert moto.proc is not None
        self._keep_pid("moto", moto.proc.pid)
        self.state["moto"] = {"url": moto.url(), "log": str(moto.log)}
        self.state["api_key"] = secrets.token_urlsafe(24)
        self.state["nodes"] = {name: {"port": free_port(), "data_dir": str(self.run_dir / name)}
                               for name in self.names}
        self.state["balancer"] = self.url
        self._save()
        self._make_bucket(moto.url())
        done = subprocess.run([sys.executable, "-m", "kiosk.cli", "db", "upgrade"],
                              env=kiosk_env({**os.environ, **self._node_env(self.names[0])}),
                              capture_output=True, text=True, cwd=self.run_dir, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"kiosk db upgrade failed: {done.stderr[-2000:]}")

    @staticmethod
    def _make_bucket(endpoint: str) -> None:
        import boto3  # the object store's client; kiosk.evidence.objectstore is the product's

        client = boto3.client("s3", endpoint_url=endpoint, region_name=moto_testing.REGION,
                              aws_access_key_id=moto_testing.ACCESS_KEY,
                              aws_secret_access_key=moto_testing.SECRET_KEY)
        client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)

    def _node_env(self, name: str) -> dict[str, str]:
        node = self.state["nodes"][name]
        return {
            "KIOSK_HOST": "127.0.0.1",
            "KIOSK_PORT": str(node["port"]),
            "KIOSK_NODE_ID": name,
            "KIOSK_DATA_DIR": node["data_dir"],
            "KIOSK_DATABASE_URL": self.state["postgres"]["url"],
            "KIOSK_REDIS_URL": self.state["redis"]["url"],
            "KIOSK_NODE_ROUTING": "path",
            # Links go through the balancer, which this node believes (one proxy hop).
            "KIOSK_PUBLIC_URL": self.url,
            "KIOSK_TRUSTED_PROXY_HOPS": "1",
            "KIOSK_API_KEYS": self.state["api_key"],
            "KIOSK_EVIDENCE_S3_BUCKET": BUCKET,
            "KIOSK_EVIDENCE_S3_ENDPOINT_URL": self.state["moto"]["url"],
            "KIOSK_EVIDENCE_S3_REGION": moto_testing.REGION,
            "KIOSK_EVIDENCE_S3_ACCESS_KEY_ID": moto_testing.ACCESS_KEY,
            "KIOSK_EVIDENCE_S3_SECRET_ACCESS_KEY": moto_testing.SECRET_KEY,
            "KIOSK_EVIDENCE_S3_LOCK_MODE": "GOVERNANCE",
            # A local cluster stops in seconds: live witnesses get 5 s, then end and are sealed.
            "KIOSK_DRAIN_GRACE_SECONDS": "5",
            **self.extra_env,
        }

    def start_node(self, name: str, *, wait: bool = True, timeout: float = 300.0) -> None:
        """Start node ``name`` (again, after ``kill_node``): gunicorn's master and worker in a
        process group of their own, in the caller's session unless ``own_session``."""
        if not self.state:
            self.state = json.loads((self.run_dir / STATE).read_text())
        env = kiosk_env({**os.environ, **self._node_env(name)})
        with open(self.run_dir / f"{name}.log", "ab") as log:
            proc = spawn_kept([sys.executable, "-m", "kiosk.cli", "serve", "--demo",
                               "--gunicorn"],
                              own_session=self.state.get("own_session", self.own_session),
                              env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.run_dir)
        self._keep_pid(name, proc.pid)
        if wait:
            self.wait_ready(name, timeout)

    def node_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.state['nodes'][name]['port']}"

    def wait_ready(self, name: str, timeout: float = 300.0) -> None:
        """Until the node answers ``/api/ready`` 200; RuntimeError with its log if it dies
        or is not ready within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid(name) is None:
                raise RuntimeError(f"{name} exited:\n{self.log(name)}")
            try:
                if requests.get(self.node_url(name) + "/api/ready", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} was not ready in {timeout} s:\n{self.log(name)}")

    def log(self, name: str) -> str:
        path = self.run_dir / f"{name}.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def kill_node(self, name: str) -> None:
        """kill -9 the node's master and worker at once (a power loss)."""
        self._signal(name, signal.SIGKILL, group=True)
        self._wait_gone(name, 10)
        (self.pids / f"{name}.pid").unlink(missing_ok=True)

    def _start_balancer(self, nginx: str) -> None:
        prefix = self.run_dir / "balancer"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        nodes = [BalancedNode(name, f"127.0.0.1:{self.state['nodes'][name]['port']}")
                 for name in self.names]
        conf = prefix / "nginx.conf"
        conf.write_text(balancer_config(nodes, f"127.0.0.1:{self.port}", str(prefix),
                                        user="root" if os.geteuid() == 0 else ""))
        with open(prefix / "stderr.log", "ab") as err:
            proc = spawn_kept([nginx, "-p", str(prefix), "-c", str(conf), "-e",
                               str(prefix / "error.log"), "-g", "daemon off;"],
                              own_session=self.own_session,
                              stdout=subprocess.DEVNULL, stderr=err)
        self._keep_pid("balancer", proc.pid)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.pid("balancer") is None:
                raise RuntimeError("nginx exited: "
                                   + (prefix / "error.log").read_text(errors="replace")[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"nginx did not listen on {self.port}")

    # ------------------------------------------------------------------ down

    def down(self) -> list[str]:
        """Stop everything this run folder started (nodes drain for 5 s and seal what is
        live); the names stopped. Safe to call twice, or when nothing runs."""
        stopped = self.running()
        state_file = self.run_dir / STATE
        if not self.state and state_file.is_file():
            self.state = json.loads(state_file.read_text())
        self._stop("balancer", timeout=10)
        names = sorted(p.stem for p in self.pids.glob("node-*.pid"))
        for name in names:  # all drain at once
            self._signal(name, signal.SIGTERM)
        for name in names:  # gunicorn waits drain_grace_seconds + drain_finalise_seconds
            self._stop(name, timeout=90, group=True, signalled=True)
        self._stop("moto", timeout=10)
        self._stop("redis", timeout=10)
        pg = self.state.get("postgres")
        if pg and pg.get("dir"):
            server = TempPostgres(Path(pg["bindir"]))
            server.dir = Path(pg["dir"])
            server.stop()  # pg_ctl stop (as the postgres user), then removes its folder
            stopped.append("postgres")
        for key in ("redis", "moto"):
            where = self.state.get(key, {})
            if where.get("dir"):
                shutil.rmtree(where["dir"], ignore_errors=True)
            if where.get("log"):
                Path(where["log"]).unlink(missing_ok=True)
        state_file.unlink(missing_ok=True)
        self.state = {}
        return stopped


@click.group()
def main() -> None:
    """A local cluster on loopback (./dev.sh cluster)."""


@main.command()
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".cluster"), show_default=True, help="pid files, logs, data")
@click.option("--port", type=int, default=8080, show_default=True, help="the balancer's port")
@click.option("--nodes", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option("--own-session", is_flag=True,
              help="run every process in a session of its own (setsid): it survives whatever "
                   "ends this terminal's whole session, but nice no longer ranks the nodes "
                   "against investors started from here (a scheduler autogroup each)")
def up(run_dir: Path, port: int, nodes: int, own_session: bool) -> None:
    """Start Redis, PostgreSQL, moto, the nodes and nginx; print the balancer's URL."""
    cluster = LocalCluster(run_dir, nodes=nodes, port=port, own_session=own_session)
    try:
        url = cluster.up()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Witness Kiosk cluster ({nodes} nodes) behind nginx: {url}/  (demo: {url}/)")
    click.echo("  nodes: " + ", ".join(f"{n} {cluster.node_url(n)}" for n in cluster.names))
    click.echo(f"  API key: {cluster.state['api_key']}   logs: {cluster.run_dir}/node-*.log")
    click.echo("  stop it with: ./dev.sh cluster down")


@main.command()
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".cluster"), show_default=True)
def down(run_dir: Path) -> None:
    """Stop everything ``up`` started from this run folder."""
    stopped = LocalCluster(run_dir).down()
    click.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


if __name__ == "__main__":
    main()
