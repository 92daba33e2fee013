"""``kiosk evidence verify|show|hold|delete|pubkey|bench`` and ``kiosk ledger verify|export``."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

import click

from kiosk.errors import KioskError
from kiosk.evidence import EvidencePaths
from kiosk.evidence.keys import EvidenceKeys, load_public_keys
from kiosk.evidence.ledger import Ledger
from kiosk.evidence.ledger_db import DbLedger
from kiosk.evidence.verify import UnsafeArchive, read_bag_info, safe_extract, verify_package


def _paths() -> EvidencePaths:
    from kiosk.config import load_settings

    try:
        return EvidencePaths.under(load_settings().data_dir)
    except KioskError as exc:
        raise click.ClickException(str(exc)) from exc


def _ledger(ledger_path: str | None) -> Ledger:
    """The ledger FILE given, else the installation's: the ``evidence_ledger`` table when
    database_url is PostgreSQL (kiosk.evidence.ledger_db), else its ledger file."""
    if ledger_path:
        return Ledger(Path(ledger_path))
    from kiosk.config import load_settings
    from kiosk.evidence.ledger_db import open_ledger

    try:
        settings = load_settings()
    except KioskError as exc:
        raise click.ClickException(str(exc)) from exc
    return open_ledger(settings.db_url, EvidencePaths.under(settings.data_dir).ledger)


def _shared_keyring() -> dict | None:
    """With several nodes (``Settings.shared_state``) the installation's keyring from its
    database (kiosk.evidence.keys_db); None for one node (its keys folder)."""
    from kiosk.config import load_settings

    settings = load_settings()
    if not settings.shared_state:
        return None
    from sqlalchemy import create_engine

    from kiosk.evidence.keys_db import DbEvidenceKeys

    engine = create_engine(settings.db_url)
    try:
        return DbEvidenceKeys(engine).keyring()
    finally:
        engine.dispose()


def _trusted(pubkeys: tuple[str, ...], keys_dir: str | None) -> dict:
    """Given PEMs, plus the installation's keyring (read only: nothing is created): the
    shared one in the database with several nodes, else its keys folder."""
    ring: dict = {}
    kdir = Path(keys_dir) if keys_dir else (None if pubkeys else _paths().keys_dir)
    try:
        shared = _shared_keyring() if kdir is not None and not keys_dir else None
        if shared is not None:
            ring.update(shared)
        elif kdir is not None:
            ring.update(EvidenceKeys(kdir).keyring())
        ring.update(load_public_keys(pubkeys))
    except KioskError as exc:
        raise click.ClickException(str(exc)) from exc
    return ring


def _open_bag(package: str, tmp: Path) -> Path:
    p = Path(package)
    if p.is_dir():
        return p
    if p.is_file():
        try:
            return safe_extract(p, tmp)
        except UnsafeArchive as exc:
            raise click.ClickException(str(exc)) from exc
    raise click.ClickException(f"{p}: no such package folder or archive")


@click.group()
def evidence() -> None:
    """Sealed evidence packages: verify, show, legal hold, delete after retention."""


def _download(url: str, version_id: str | None, tmp: Path) -> Path:
    """``s3://bucket/key`` downloaded into ``tmp`` (the endpoint and credentials of the
    ``evidence_s3_*`` settings; the bucket from the URL)."""
    from kiosk.config import load_settings

    # boto3 loads only for an s3:// package (kiosk.evidence.objectstore is its one importer).
    from kiosk.evidence.objectstore import ObjectStore, parse_s3_url

    try:
        loc = parse_s3_url(url)
        store = ObjectStore.from_settings(load_settings(), bucket=loc.bucket)
        assert store is not None  # a bucket is given
        name = PurePosixPath(loc.key).name
        dest = tmp / (name if name.endswith(".tar") else f"{name}.tar")
        return store.download(loc, dest, version_id)
    except (KioskError, ValueError, OSError) as exc:
        raise click.ClickException(f"{url}: cannot be verified: {exc}") from exc


@evidence.command()
@click.argument("package")
@click.option("--ledger", "ledger_path", type=click.Path(), help="Also check the ledger entry.")
@click.option("--pubkey", "pubkeys", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Trusted public key PEM (repeatable). Without it the local keyring is used.")
@click.option("--keys-dir", type=click.Path(file_okay=False), help="Keyring folder to trust.")
@click.option("--version-id", help="With s3://: this object version (default: the current).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(package, ledger_path, pubkeys, keys_dir, version_id, as_json) -> None:
    """Fully verify PACKAGE (folder, .tar or s3://bucket/key of a .tar): every byte,
    signature, timeline, ledger. An s3:// archive is downloaded to a temporary folder first
    (endpoint and credentials from the evidence_s3_* settings)."""
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-verify-"))
    try:
        if package.startswith("s3://"):
            path = _download(package, version_id, tmp)
        else:
            path = Path(package)
            if version_id:
                raise click.UsageError("--version-id is for s3:// packages only")
            if not path.exists():
                raise click.ClickException(f"{package}: no such package folder or archive")
        rep = verify_package(path, keyring=_trusted(pubkeys, keys_dir),
                             ledger=Path(ledger_path) if ledger_path else None)
    except (KioskError, OSError) as exc:  # a message, never a traceback
        raise click.ClickException(f"{package}: cannot be verified: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if as_json:
        click.echo(json.dumps({"ok": rep.ok, "package_id": rep.package_id,
                               "key_id": rep.key_id, "problems": rep.problems,
                               "seconds": round(rep.seconds, 3)}, ensure_ascii=False))
    elif rep.ok:
        size, _, count = rep.info.get("Payload-Oxum", "?.?").partition(".")
        click.echo(f"OK: package {rep.package_id} verified (signed by key {rep.key_id}, "
                   f"{count} files, {size} bytes re-hashed, {rep.seconds:.2f} s)")
    else:
        click.echo(f"FAILED: package {rep.package_id or package}: "
                   f"{len(rep.problems)} problem(s)")
        for p in rep.problems:
            click.echo(f"  - {p}")
    sys.exit(0 if rep.ok else 1)


@evidence.command()
@click.argument("package", type=click.Path(exists=True))
@click.option("--ledger", "ledger_path", type=click.Path(), help="Show ledger records too.")
def show(package, ledger_path) -> None:
    """Show what PACKAGE holds: session, outcome, retention, legal hold (no verification)."""
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-show-"))
    try:
        bag = _open_bag(package, tmp)
        info = read_bag_info(bag)
        for k, v in info.items():
            click.echo(f"{k}: {v}")
        rpath = bag / "data" / "report.json"
        if rpath.is_file():
            report = json.loads(rpath.read_text(encoding="utf-8"))
            click.echo(f"steps: {len(report.get('steps', []))}, "
                       f"checks: {len(report.get('checks', []))}, "
                       f"events: {report.get('timeline', {}).get('events')}")
            for n in report.get("notes", []):
                click.echo(f"note: {n}")
        if ledger_path:
            pid = info.get("External-Identifier", bag.name)
            for rec in Ledger(Path(ledger_path)).records(pid):
                click.echo(f"ledger entry {rec['seq']}: "
                           f"{json.dumps(rec['record'], ensure_ascii=False)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _hold_state(info: dict, ledger: Ledger | None, package_id: str) -> tuple[bool, str]:
    on = info.get("Legal-Hold", "false").lower() == "true"
    why = "Legal-Hold: true in bag-info.txt at sealing"
    if ledger is not None:
        for rec in ledger.records(package_id):
            r = rec.get("record", {})
            if r.get("type") == "legal_hold":
                on = bool(r.get("on"))
                why = f"ledger entry {rec['seq']}: {r.get('reason') or 'no reason given'}"
    return on, why


@evidence.command()
@click.argument("package", type=click.Path(exists=True))
@click.option("--ledger", "ledger_path", type=click.Path(), help="Ledger file (default: ours).")
@click.option("--on/--off", "on", default=True, help="Place or lift the hold.")
@click.option("--reason", required=True, help="Why (case number, order).")
@click.option("--by", "by", default="cli", help="Who decides.")
def hold(package, ledger_path, on, reason, by) -> None:
    """Place or lift a legal hold on PACKAGE (recorded in the ledger)."""
    info = read_bag_info(Path(package)) if Path(package).is_dir() else {}
    pid = info.get("External-Identifier") or Path(package).name.removesuffix(".tar")
    ledger = _ledger(ledger_path)
    idx = ledger.append_record(pid, {"type": "legal_hold", "on": on, "reason": reason,
                                     "by": by})
    click.echo(f"legal hold {'placed on' if on else 'lifted from'} {pid} (ledger entry {idx})")
    _bucket_hold(pid, on)


def _bucket_hold(pid: str, on: bool) -> None:
    """With evidence_s3_bucket set: the same hold on the stored object version. Not stored
    yet: the uploader applies the ledger's hold when it uploads."""
    from kiosk.config import load_settings

    settings = load_settings()
    if not settings.evidence_s3_bucket:
        return
    from kiosk.evidence.uploads import read_receipt

    if read_receipt(settings.evidence_receipts_dir, pid) is None:
        click.echo(f"{pid} is not in the bucket yet: its upload carries the hold")
        return
    # boto3 loads only with a bucket configured (kiosk.evidence.objectstore).
    from kiosk.evidence.objectstore import ObjectStore

    store = ObjectStore.from_settings(settings)
    assert store is not None
    try:
        version = store.set_legal_hold(pid, on)
    except KioskError as exc:
        raise click.ClickException(f"the ledger records the hold, but the bucket refused: "
                                   f"{exc}") from exc
    click.echo(f"object {store.location(pid)} (version {version}): legal hold "
               f"{'ON' if on else 'OFF'}")


@evidence.command()
@click.argument("package", type=click.Path(exists=True))
@click.option("--ledger", "ledger_path", type=click.Path(), help="Ledger file (default: ours).")
@click.option("--reason", default="retention period ended", help="Recorded in the ledger.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(package, ledger_path, reason, yes) -> None:
    """Delete PACKAGE (folder and .tar) once its retention ended and no legal hold applies."""
    p = Path(package)
    bag = p if p.is_dir() else p.with_name(p.name.removesuffix(".tar"))
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-delete-"))
    try:
        info = read_bag_info(_open_bag(package, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    pid = info.get("External-Identifier") or bag.name
    ledger = _ledger(ledger_path)
    until_s = info.get("Retain-Until")
    if not until_s:
        raise click.ClickException(f"refused: package {pid} has no Retain-Until in bag-info.txt,"
                                   " so its retention cannot be shown to have ended")
    until = date.fromisoformat(until_s)
    today = datetime.now(UTC).date()
    if today < until:
        raise click.ClickException(
            f"refused: package {pid} must be kept until {until_s} "
            f"({info.get('Retention-Years', '?')}-year retention from "
            f"{info.get('Retention-From', '?')}); {(until - today).days} days remain")
    on, why = _hold_state(info, ledger, pid)
    if on:
        raise click.ClickException(f"refused: package {pid} is under legal hold ({why})")
    _refuse_unstored(pid)
    if not yes:
        click.confirm(f"Delete package {pid} for good?", abort=True)
    archive = bag.with_name(f"{bag.name}.tar")
    idx = ledger.append_record(pid, {"type": "deleted", "reason": reason,
                                     "retain_until": until_s})
    if bag.is_dir():
        shutil.rmtree(bag)
    archive.unlink(missing_ok=True)
    click.echo(f"deleted package {pid} (ledger entry {idx})")


def _refuse_unstored(pid: str) -> None:
    """With evidence_s3_bucket set, the local archive is the upload's only source until a
    receipt confirms the upload: it is not deleted before."""
    from kiosk.config import load_settings
    from kiosk.evidence.uploads import read_receipt

    try:
        settings = load_settings()
    except KioskError as exc:
        raise click.ClickException(str(exc)) from exc
    if settings.evidence_s3_bucket and read_receipt(settings.evidence_receipts_dir,
                                                    pid) is None:
        raise click.ClickException(f"refused: package {pid} is not confirmed in the bucket "
                                   f"{settings.evidence_s3_bucket} yet; its local archive is "
                                   "the upload's only source")


@evidence.command()
def uploads() -> None:
    """List sealed archives not yet confirmed in the object store (evidence_s3_bucket)."""
    from kiosk.config import load_settings
    from kiosk.evidence.uploads import pending_uploads

    settings = load_settings()
    if not settings.evidence_s3_bucket:
        raise click.ClickException("evidence_s3_bucket is not set: archives stay local only")
    pending = pending_uploads(EvidencePaths.under(settings.data_dir).packages_dir,
                              settings.evidence_receipts_dir)
    for pid in pending:
        click.echo(pid)
    click.echo(f"{len(pending)} archive(s) waiting for s3://{settings.evidence_s3_bucket}/"
               f"{settings.evidence_s3_prefix}")


def _key_entries(keys_dir: str | None) -> tuple[list, str]:
    """The installation's keys (kiosk.evidence.keys.KeyEntry, current first) and where they
    were read: ``keys_dir`` when given; else, with several nodes (``Settings.shared_state``),
    the shared keyring in the database; else this node's keys folder. Creates nothing."""
    if keys_dir:
        kdir = Path(keys_dir)
        return EvidenceKeys(kdir).entries(), str(kdir)
    from kiosk.config import load_settings

    try:
        settings = load_settings()
    except KioskError as exc:
        raise click.ClickException(str(exc)) from exc
    if not settings.shared_state:
        kdir = EvidencePaths.under(settings.data_dir).keys_dir
        return EvidenceKeys(kdir).entries(), str(kdir)
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from kiosk.evidence.keys_db import DbEvidenceKeys

    engine = create_engine(settings.db_url)
    where = f"the shared keyring (evidence_keys table of {engine.url.render_as_string()})"
    try:
        return DbEvidenceKeys(engine).entries(), where
    except SQLAlchemyError as exc:
        raise click.ClickException(f"{where}: not readable ({type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0]}); is the database migrated "
                                   "(kiosk db upgrade)?") from exc
    finally:
        engine.dispose()


@evidence.command()
@click.option("--keys-dir", type=click.Path(file_okay=False),
              help="A node's keys folder. Default: the installation's keys (the shared "
                   "keyring in the database with several nodes, else data_dir/keys).")
@click.option("--current", "current_only", is_flag=True,
              help="Only the current key's bare PEM (one key, for tools that read one).")
@click.option("--json", "as_json", is_flag=True,
              help="As GET /api/evidence/public-keys: current_key_id and {key_id: PEM}.")
def pubkey(keys_dir, current_only, as_json) -> None:
    """Print the installation's public signing keys, current and retired, with their ids.

    Give the output to whoever verifies packages: it is one file they pass as
    ``kiosk evidence verify PACKAGE --pubkey FILE`` (every key in it is trusted, so packages
    signed before a rotation verify too). Each key is a PEM block after a line
    ``# kiosk evidence key <id> current|retired <when>``. Nothing is ever created.
    """
    try:
        entries, where = _key_entries(keys_dir)
    except KioskError as exc:
        raise click.ClickException(str(exc)) from exc
    current = next((e for e in entries if e.current), None)
    if current is None:
        raise click.ClickException(f"{where}: no signing key yet (the server creates one on "
                                   "first start)")
    if as_json:
        click.echo(json.dumps({"current_key_id": current.key_id,
                               "keys": {e.key_id: e.pem().decode("ascii") for e in entries}},
                              indent=2))
        return
    if current_only:
        click.echo(current.pem().decode("ascii"), nl=False)
        return
    for e in entries:
        when = f"since {e.created}" if e.current else f"retired {e.retired or 'unknown'}"
        click.echo(f"# kiosk evidence key {e.key_id} {'current' if e.current else 'retired'}"
                   f" ({when})")
        click.echo(e.pem().decode("ascii"), nl=False)
    click.echo(f"{len(entries)} key(s) from {where}; current {current.key_id}", err=True)


@evidence.command("bench")
@click.option("--size-mb", default=30, show_default=True)
def bench_cmd(size_mb) -> None:
    """Time sealing a synthetic session, with and without precomputed hashes."""
    from kiosk.testing.seal_bench import bench_seal

    bench_seal(size_mb=size_mb)


@click.group()
def ledger() -> None:
    """The append-only ledger of sealed packages."""


@ledger.command("verify")
@click.option("--ledger", "ledger_path", type=click.Path(), help="Default: ours.")
@click.option("--packages", "packages_dir", type=click.Path(file_okay=False),
              help="Also match the ledger against the packages in this folder.")
@click.option("--pubkey", "pubkeys", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Check entry signatures against these keys.")
def ledger_verify(ledger_path, packages_dir, pubkeys) -> None:
    """Check the chain, signatures and (with --packages) that no package was removed,
    added or replaced."""
    led = _ledger(ledger_path)
    ring = load_public_keys(pubkeys) if pubkeys else None
    problems = led.verify(Path(packages_dir) if packages_dir else None, keyring=ring)
    if problems:
        click.echo(f"FAILED: ledger {led.label}: {len(problems)} problem(s)")
        for p in problems:
            click.echo(f"  - {p}")
        sys.exit(1)
    n = len(led.entries())
    click.echo(f"OK: ledger {led.label}: {n} entries, chain intact"
               + (f", matches {packages_dir}" if packages_dir else ""))


@ledger.command("export")
@click.argument("out", type=click.Path(dir_okay=False))
def ledger_export(out) -> None:
    """Write the installation's ledger (on PostgreSQL: the evidence_ledger table) to OUT as
    the JSONL file form, for offline checks (kiosk ledger verify --ledger OUT)."""
    led = _ledger(None)
    dest = Path(out)
    if isinstance(led, DbLedger):
        n = led.export(dest)
    else:
        shutil.copyfile(led.path, dest)
        n = len(Ledger(dest).entries())
    click.echo(f"exported {n} entries from {led.label} to {dest}")
