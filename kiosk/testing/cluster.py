"""A whole cluster on one machine, loopback only: ``./dev.sh cluster`` and the cluster test.

``LocalCluster(run_dir).up()`` starts, each on 127.0.0.1 at its own port:

- Redis (``kiosk.testing.redis``): the message queue, node registry and pins;
- PostgreSQL (``kiosk.testing.postgres``; as root it runs as the ``postgres`` user), migrated
  with ``kiosk db upgrade``;
- moto (``kiosk.testing.moto``) with an Object Lock bucket for the sealed evidence
  (GOVERNANCE mode: moto is no WORM store);
- ``nodes`` kiosk node processes (``kiosk serve --demo --gunicorn``, ``node-a``,
  ``node-b``, ...), each with its own data folder under ``run_dir``, routed by path
  (``node_routing = "path"``, kiosk.cluster.routing). With no more nodes than usable cores
  (``pin``, the default) each node process is pinned to its own cores (CPU affinity, round
  robin: ``cores_for``), so its default capacity (``witnesses_per_core`` x the cores it may
  run on, kiosk.witness.admission) counts those cores, not the whole machine's;
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

Live witnesses get ``KIOSK_DRAIN_GRACE_SECONDS`` (from ``env`` or the environment; default
5 s) to finish when a node stops. ``down()`` also removes the nodes' data folders (their
evidence and upload records name objects in the database and moto, which stop with it); the
logs stay.

``python -m kiosk.testing.cluster up|down|env|stop-node NAME|start-node NAME [--run DIR]
[--port N] [--own-session] [--no-pin]`` is the command line (``./dev.sh cluster ...``).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
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
DRAIN_GRACE = "KIOSK_DRAIN_GRACE_SECONDS"
DEFAULT_DRAIN_GRACE_S = 5.0
DRAIN_FINALISE_S = 60.0  # the nodes' drain_finalise_seconds (its default)
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


def cores_for(nodes: int, usable: list[int]) -> list[list[int] | None]:
    """The cores each of ``nodes`` node processes is pinned to: round robin over ``usable``
    (core numbers, as ``os.sched_getaffinity`` gives them), so each gets its own; None for
    every node (no pinning) when there are more nodes than cores."""
    cores = sorted(usable)
    if nodes > len(cores):
        return [None] * nodes
    return [cores[i::nodes] for i in range(nodes)]


def _usable_cores() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


class LocalCluster:
    """See the module docstring. ``env`` adds settings (``KIOSK_...``) to every node (kept in
    ``cluster.json``, so a node started again later gets them too); ``own_session``: every
    process in a session of its own (setsid) instead of the caller's; ``pin``: each node
    process on its own cores (``cores_for``). A ``LocalCluster(run_dir)`` made later (another
    command) reads the running cluster's port, nodes and settings from ``cluster.json``."""

    def __init__(self, run_dir: Path, *, nodes: int = 2, port: int = 8080,
                 env: dict[str, str] | None = None, own_session: bool = False,
                 pin: bool = True) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.run_dir = Path(run_dir).resolve()
        self.pids = self.run_dir / "pids"
        self.names = [f"node-{chr(ord('a') + i)}" for i in range(nodes)]
        self.port = port
        self.extra_env = dict(env or {})
        self.own_session = own_session
        self.pin = pin
        self.state: dict = {}

    def _load(self) -> None:
        """The saved state of a cluster started from this run folder, when there is one: its
        port, nodes and node settings win over this object's defaults."""
        state_file = self.run_dir / STATE
        if self.state or not state_file.is_file():
            return
        self.state = json.loads(state_file.read_text())
        self.port = int(self.state.get("port", self.port))
        self.names = list(self.state.get("nodes", {})) or self.names
        self.extra_env = {**self.state.get("env", {}), **self.extra_env}

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
        self.state = {}
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
        self.state["port"] = self.port
        grace = self.extra_env.get(DRAIN_GRACE) or os.environ.get(DRAIN_GRACE)
        self.state["env"] = {**self.extra_env,
                             DRAIN_GRACE: grace or f"{DEFAULT_DRAIN_GRACE_S:g}"}
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
        pins = (cores_for(len(self.names), _usable_cores()) if self.pin
                else [None] * len(self.names))
        self.state["nodes"] = {name: {"port": free_port(), "data_dir": str(self.run_dir / name),
                                      "cores": cores}
                               for name, cores in zip(self.names, pins, strict=True)}
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
        self._load()
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
            "KIOSK_PUBLIC_URL": self.state.get("balancer", self.url),
            "KIOSK_TRUSTED_PROXY_HOPS": "1",
            "KIOSK_API_KEYS": self.state["api_key"],
            "KIOSK_EVIDENCE_S3_BUCKET": BUCKET,
            "KIOSK_EVIDENCE_S3_ENDPOINT_URL": self.state["moto"]["url"],
            "KIOSK_EVIDENCE_S3_REGION": moto_testing.REGION,
            "KIOSK_EVIDENCE_S3_ACCESS_KEY_ID": moto_testing.ACCESS_KEY,
            "KIOSK_EVIDENCE_S3_SECRET_ACCESS_KEY": moto_testing.SECRET_KEY,
            "KIOSK_EVIDENCE_S3_LOCK_MODE": "GOVERNANCE",
            # A local cluster stops in seconds: live witnesses get 5 s (unless the settings
            # or the environment say otherwise), then end and are sealed.
            DRAIN_GRACE: f"{DEFAULT_DRAIN_GRACE_S:g}",
            **self.state.get("env", {}),
            **self.extra_env,
        }

    def drain_grace(self) -> float:
        """Seconds a stopping node gives its live witnesses (``KIOSK_DRAIN_GRACE_SECONDS``)."""
        self._load()
        return float(self.state.get("env", {}).get(DRAIN_GRACE, DEFAULT_DRAIN_GRACE_S))

    def cores(self, name: str) -> list[int] | None:
        """The cores node ``name`` is pinned to, None when it is not pinned."""
        self._load()
        cores = self.state["nodes"][name].get("cores")
        return list(cores) if cores else None

    def cli_env(self) -> dict[str, str]:
        """The settings a ``kiosk`` command needs to work on this cluster's shared state
        (``kiosk ledger verify``, ``kiosk evidence verify s3://...``): the database, Redis and
        the object store. Only moto's local test keys, never the API key."""
        env = self._node_env(self.names[0])
        keys = ("KIOSK_DATABASE_URL", "KIOSK_REDIS_URL", "KIOSK_EVIDENCE_S3_BUCKET",
                "KIOSK_EVIDENCE_S3_ENDPOINT_URL", "KIOSK_EVIDENCE_S3_REGION",
                "KIOSK_EVIDENCE_S3_ACCESS_KEY_ID", "KIOSK_EVIDENCE_S3_SECRET_ACCESS_KEY",
                "KIOSK_EVIDENCE_S3_LOCK_MODE")
        return {k: env[k] for k in keys}

    def start_node(self, name: str, *, wait: bool = True, timeout: float = 300.0) -> None:
        """Start node ``name`` (again, after ``kill_node``): gunicorn's master and worker in a
        process group of their own, in the caller's session unless ``own_session``."""
        self._load()
        if name not in self.state.get("nodes", {}):
            raise ValueError(f"no node {name!r} in this cluster "
                             f"({', '.join(self.state.get('nodes', {})) or 'not running'})")
        if self.pid(name) is not None:
            raise RuntimeError(f"{name} is running already")
        env = kiosk_env({**os.environ, **self._node_env(name)})
        args = [sys.executable, "-m", "kiosk.cli", "serve", "--demo", "--gunicorn"]
        cores = self.cores(name)
        if cores:
            # Pinned in the child itself before the node starts (and so before it counts its
            # cores), then exec'd in place: the pid stays the node's.
            args = [sys.executable, "-c",
                    "import os, sys; os.sched_setaffinity(0, {int(c) for c in "
                    "sys.argv[1].split(',')}); os.execv(sys.executable, "
                    "[sys.executable, *sys.argv[2:]])",
                    ",".join(str(c) for c in cores), *args[1:]]
        with open(self.run_dir / f"{name}.log", "ab") as log:
            proc = spawn_kept(args,
                              own_session=self.state.get("own_session", self.own_session),
                              env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.run_dir)
        self._keep_pid(name, proc.pid)
        if wait:
            self.wait_ready(name, timeout)

    def node_url(self, name: str) -> str:
        self._load()
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

    def stop_node(self, name: str) -> None:
        """Stop node ``name`` as ``down`` does (SIGTERM: it drains, its live witnesses get
        ``drain_grace`` s, then end and are sealed); ``start_node`` starts it again."""
        self._load()
        self._stop(name, timeout=self.drain_grace() + DRAIN_FINALISE_S + 30, group=True)

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
        """Stop everything this run folder started (nodes drain for ``drain_grace`` s and
        seal what is live) and remove what it made but the logs: the servers' folders, the
        nodes' data folders (their evidence and upload records name rows and objects that
        go with the database and moto) and ``cluster.json``; the names stopped. Safe to
        call twice, or when nothing runs."""
        stopped = self.running()
        state_file = self.run_dir / STATE
        self._load()
        self._stop("balancer", timeout=10)
        names = sorted(p.stem for p in self.pids.glob("node-*.pid"))
        for name in names:  # all drain at once
            self._signal(name, signal.SIGTERM)
        for name in names:  # gunicorn waits drain_grace_seconds + drain_finalise_seconds
            self._stop(name, timeout=self.drain_grace() + DRAIN_FINALISE_S + 30, group=True,
                       signalled=True)
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
        for node in self.state.get("nodes", {}).values():
            folder = Path(node.get("data_dir", ""))
            if folder.is_dir() and folder.parent == self.run_dir:  # never outside the run
                shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(self.run_dir / "balancer", ignore_errors=True)
        state_file.unlink(missing_ok=True)
        self.state = {}
        return stopped


@click.group()
def main() -> None:
    """A local cluster on loopback (./dev.sh cluster)."""


_RUN = click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path),
                    default=Path(".cluster"), show_default=True, help="pid files, logs, data")


def _capacity(cluster: LocalCluster, name: str) -> str:
    """The node's own ``/api/capacity`` figure, as it reports it."""
    try:
        return str(requests.get(cluster.node_url(name) + "/api/capacity",
                                timeout=10).json()["capacity"])
    except (requests.RequestException, ValueError, KeyError):
        return "?"


def _describe_node(cluster: LocalCluster, name: str) -> str:
    cores = cluster.cores(name)
    where = (f"pinned to core{'s' if len(cores) > 1 else ''} {','.join(map(str, cores))}"
             if cores else "not pinned (every core)")
    return (f"    {name}  {cluster.node_url(name)}  {where}, "
            f"capacity {_capacity(cluster, name)}")


def _env_lines(cluster: LocalCluster) -> list[str]:
    return [f"export {k}={shlex.quote(v)}" for k, v in cluster.cli_env().items()]


@main.command()
@_RUN
@click.option("--port", type=int, default=8080, show_default=True, help="the balancer's port")
@click.option("--nodes", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option("--own-session", is_flag=True,
              help="run every process in a session of its own (setsid): it survives whatever "
                   "ends this terminal's whole session, but nice no longer ranks the nodes "
                   "against investors started from here (a scheduler autogroup each)")
@click.option("--no-pin", is_flag=True,
              help="do not pin each node process to its own cores (each then counts every "
                   "core of the machine for its capacity)")
def up(run_dir: Path, port: int, nodes: int, own_session: bool, no_pin: bool) -> None:
    """Start Redis, PostgreSQL, moto, the nodes and nginx; print the balancer's URL."""
    cluster = LocalCluster(run_dir, nodes=nodes, port=port, own_session=own_session,
                           pin=not no_pin)
    try:
        url = cluster.up()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Witness Kiosk cluster behind nginx: {url}/  (the demo page)")
    click.echo(f"  {nodes} node{'s' if nodes > 1 else ''} (reach them only through nginx; "
               "direct addresses for checks):")
    for name in cluster.names:
        click.echo(_describe_node(cluster, name))
    if not no_pin and cluster.cores(cluster.names[0]) is None:
        click.echo("  more nodes than cores: not pinned, so each node counts every core; "
                   "set KIOSK_NODE_CAPACITY")
    click.echo(f"  API key: {cluster.state['api_key']}   logs: {cluster.run_dir}/node-*.log   "
               f"drain grace: {cluster.drain_grace():g} s ({DRAIN_GRACE})")
    click.echo("  kiosk commands on this cluster's database, Redis and object store "
               "(local test credentials; `./dev.sh cluster env` prints them again):")
    for line in _env_lines(cluster):
        click.echo("    " + line)
    click.echo("  stop or start one node: ./dev.sh cluster stop-node NAME | start-node NAME")
    click.echo("  stop it all (and delete its database and data): ./dev.sh cluster down")


@main.command()
@_RUN
def down(run_dir: Path) -> None:
    """Stop everything ``up`` started from this run folder and delete its data (logs stay)."""
    stopped = LocalCluster(run_dir).down()
    click.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


def _running_cluster(run_dir: Path) -> LocalCluster:
    cluster = LocalCluster(run_dir)
    if not (cluster.run_dir / STATE).is_file():
        raise click.ClickException(f"no cluster was started from {cluster.run_dir}")
    return cluster


@main.command()
@_RUN
def env(run_dir: Path) -> None:
    """Print the ``export`` lines a ``kiosk`` command needs for this cluster (eval them)."""
    for line in _env_lines(_running_cluster(run_dir)):
        click.echo(line)


@main.command("stop-node")
@_RUN
@click.argument("name")
def stop_node(run_dir: Path, name: str) -> None:
    """Stop one node (it drains: live witnesses get the drain grace, then are sealed)."""
    cluster = _running_cluster(run_dir)
    if name not in cluster.names:
        raise click.ClickException(f"no node {name!r}: {', '.join(cluster.names)}")
    if cluster.pid(name) is None:
        raise click.ClickException(f"{name} is not running")
    cluster.stop_node(name)
    click.echo(f"stopped: {name}")


@main.command("start-node")
@_RUN
@click.argument("name")
def start_node(run_dir: Path, name: str) -> None:
    """Start one node again (after stop-node, or a crash) and wait until it is ready."""
    cluster = _running_cluster(run_dir)
    try:
        cluster.start_node(name)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("started:")
    click.echo(_describe_node(cluster, name))


if __name__ == "__main__":
    main()
