"""Every file the server writes under its data folder is written then renamed
(``kiosk.atomic_files``), so that a full disk or a kill leaves the old file or none, never a
torn one (#13 item 6). Key-frame JPEGs were saved in place.

An AST scan of ``kiosk/`` lists each call that writes a file in place: ``open``/``os.open``/
``os.fdopen``/``Path.open`` for writing, ``write_bytes``/``write_text``, ``shutil.copy*``,
``np.save*``, ``cv2.imwrite``, PIL's ``save`` and ``av.open``/``wave.open``/``tarfile.open``
for writing, unless what they write to is an ``io.BytesIO`` made in the same function. Each
such call must be in ``IN_PLACE`` with the reason it is not a torn-file risk; a new one fails
here until it goes through ``kiosk.atomic_files`` or is listed with its reason.
``kiosk/testing`` (test fixtures) and ``kiosk/atomic_files.py`` (the helper) are not scanned.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KIOSK = Path(__file__).resolve().parent.parent / "kiosk"
SKIP = ("testing/", "atomic_files.py")

# path::function: call -> why it may write in place
IN_PLACE = {
    # Append-only logs: each record is appended and fsynced; readers stop at (timeline) or
    # refuse (ledger) a torn last line, so a rename of the whole file would gain nothing.
    "kiosk/timeline.py::__init__: os.open": "the timeline, append-only with fsync",
    "kiosk/evidence/ledger.py::_append: os.open": "the ledger, append-only under flock",
    "kiosk/evidence/ledger.py::_append: os.fdopen": "the ledger, append-only under flock",
    # The live recording is a stream (crash-tolerant MKV), remuxed to a temporary file that
    # is renamed into place when complete (media/remux.py).
    "kiosk/media/recorder.py::_run_writer: open": "the live MKV stream",
    "kiosk/media/recorder.py::_open_container: av.open": "muxes into the stream above",
    "kiosk/media/remux.py::finalise_recording: av.open": "writes <name>.part, renamed after",
    # A bag is written into a private work folder renamed into place when complete, and its
    # archive to a hidden temporary file renamed after it is synced.
    "kiosk/evidence/package.py::_create: os.open": "a file of a bag's private work folder",
    "kiosk/evidence/package.py::_create: os.fdopen": "a file of a bag's private work folder",
    "kiosk/evidence/package.py::_write_tar: tarfile.open": "the archive's temporary file",
    "kiosk/store.py::_create_private_file: os.open": "an empty 0600 file SQLite then opens",
    # Temporary files renamed into place by their callers.
    "kiosk/speech/engines/grammar.py::_write_dict: tmp.write_text": "tmp, then replace()",
    "kiosk/speech/models.py::join_parts: open": "a temporary folder renamed into place",
    "kiosk/speech/models.py::join_parts: shutil.copyfile": "a temporary folder renamed after",
    "kiosk/evaluation/corpus.py::overlap: wave.open": "tmp.wav, then replace()",
    "kiosk/evidence/objectstore.py::download: open": "a new file ('xb') in the verifier's "
                                                     "temporary folder",
    # Files the operator names on the command line, or test corpora and benchmarks: never
    # in the data folder.
    "kiosk/evidence/cli.py::ledger_export: shutil.copyfile": "kiosk ledger export FILE",
    "kiosk/evidence/ledger_db.py::export: open": "kiosk ledger export FILE",
    "kiosk/flows/cli.py::new: output.write_text": "kiosk flows new FILE",
    "kiosk/liveness/cli.py::analyze: open": "kiosk analyze --signals FILE",
    "kiosk/idcard/cli.py::bench: json_out.write_text": "kiosk idcard bench --json FILE",
    "kiosk/loadtest.py::loadtest: json_out.write_text": "kiosk loadtest --json FILE",
    "kiosk/bench.py::run_mode: (flows / 'bench.yaml').write_text": "the benchmark's folder",
    "kiosk/bench.py::run_mode: open": "the benchmark server's log",
    "kiosk/evaluation/corpus.py::swap: listing.write_text": "an ffmpeg list in a temp folder",
    "kiosk/evaluation/run.py::write_json: path.write_text": "an evaluation report FILE",
    "kiosk/media/packet_camera.py::encode_vp8: av.open": "the load test's per-process clip",
    "kiosk/guide/worker.py::main: os.open": "/dev/null over the worker's stdout",
    "kiosk/guide/worker.py::main: os.fdopen": "the worker's protocol pipe (a dup of fd 1)",
    # The sample sessions of `kiosk review sample` and the tests: made once, before any
    # reader, in a folder nothing else uses.
    "kiosk/review/sample.py::write_webm: av.open": "sample data",
    "kiosk/review/sample.py::make_session_dir: (sdir / 'flow.yaml').write_text": "sample data",
    "kiosk/review/sample.py::make_session_dir: (sdir / 'session.json').write_text":
        "sample data",
    "kiosk/review/sample.py::make_session_dir: face.crop((120, 0, 300, 220)).save":
        "sample data",
    "kiosk/review/sample.py::make_session_dir: face.resize((256, 256)).save": "sample data",
    "kiosk/review/sample.py::make_session_dir: (sdir / 'prompts' / f'{digest}.wav')"
    ".write_bytes": "sample data",
    "kiosk/review/sample.py::make_session_dir: (sdir / 'checks' / 'liveness.json')"
    ".write_text": "sample data",
}

WRITE_MODES = set("wax+")
FILE_OPENERS = {"av", "wave", "tarfile"}  # module.open(target, mode)
COPIES = {"copy", "copy2", "copyfile"}
NUMPY_SAVES = {"save", "savez", "savez_compressed", "savetxt"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _mode(call: ast.Call, position: int) -> str | None:
    arg: ast.expr | None = call.args[position] if len(call.args) > position else None
    for kw in call.keywords:
        if kw.arg == "mode":
            arg = kw.value
    if arg is None:
        return None
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else "?"


def _writes(mode: str | None) -> bool:
    return mode is not None and (mode == "?" or bool(WRITE_MODES & set(mode)))


def _in_memory_names(fn: ast.AST) -> set[str]:
    """Names assigned an ``io.BytesIO()`` (or ``BytesIO()``) in this function."""
    names = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and _dotted(node.value.func) in ("io.BytesIO", "BytesIO"):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _first_arg_in_memory(call: ast.Call, memory: set[str]) -> bool:
    return bool(call.args) and isinstance(call.args[0], ast.Name) and call.args[0].id in memory


def _in_place_write(call: ast.Call, memory: set[str]) -> str | None:
    """The call (as written) when it writes a file in place, else None."""
    name = _dotted(call.func)
    last = name.rsplit(".", 1)[-1]
    head = name.rsplit(".", 1)[0] if "." in name else ""
    shown = ast.unparse(call.func)
    if name == "open":
        return shown if _writes(_mode(call, 1)) else None
    if last == "open" and head not in FILE_OPENERS | {"os"}:
        # Path.open(mode): a string first argument or mode=; Image.open(path) reads
        first = call.args[0] if call.args else None
        literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        mode = _mode(call, 0) if literal or any(k.arg == "mode" for k in call.keywords) \
            else None
        return shown if _writes(mode) else None
    if name == "os.fdopen":
        return shown if _writes(_mode(call, 1)) else None
    if name == "os.open":
        flags = ast.unparse(call.args[1]) if len(call.args) > 1 else ""
        return shown if any(f in flags for f in ("O_WRONLY", "O_RDWR", "O_CREAT")) else None
    if head in FILE_OPENERS and last == "open":
        if _first_arg_in_memory(call, memory):
            return None
        return shown if _writes(_mode(call, 1)) else None
    if last in ("write_bytes", "write_text"):
        return shown
    if head == "shutil" and last in COPIES:
        return shown
    if head in ("np", "numpy") and last in NUMPY_SAVES:
        return None if _first_arg_in_memory(call, memory) else shown
    if name == "cv2.imwrite":
        return shown
    if last == "save" and isinstance(call.func, ast.Attribute) and call.args:
        return None if _first_arg_in_memory(call, memory) else shown
    return None


def in_place_writes(root: Path = KIOSK) -> dict[str, int]:
    """``path::function: call`` -> how many such calls, for every in-place write found."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(SKIP):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree)
                     if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        owner: dict[ast.AST, ast.AST] = {}
        for fn in functions:  # innermost function wins: walked outer first
            for node in ast.walk(fn):
                owner[node] = fn
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = owner.get(node)
            memory = _in_memory_names(fn) if fn is not None else set()
            name = _in_place_write(node, memory)
            if name is not None:
                where = getattr(fn, "name", "<module>")
                key = f"kiosk/{rel}::{where}: {name}"
                found[key] = found.get(key, 0) + 1
    return found


def test_every_in_place_write_in_kiosk_is_listed_with_its_reason():
    found = in_place_writes()
    new = sorted(set(found) - set(IN_PLACE))
    gone = sorted(set(IN_PLACE) - set(found))
    assert not new, ("write these with kiosk.atomic_files (write_atomic, write_json_atomic, "
                     "copy_atomic), or list them in IN_PLACE with the reason:\n"
                     + "\n".join(new))
    assert not gone, "IN_PLACE lists writes that are no longer there:\n" + "\n".join(gone)


@pytest.mark.parametrize("source,expected", [
    ("def f(p):\n    p.write_bytes(b'x')\n", "f: p.write_bytes"),
    ("def f(img, p):\n    img.save(p, 'JPEG')\n", "f: img.save"),
    ("def f(img):\n    import io\n    buf = io.BytesIO()\n    img.save(buf, 'JPEG')\n", None),
    ("def f(p):\n    with open(p, 'wb') as fh:\n        pass\n", "f: open"),
    ("def f(p):\n    with open(p, 'rb') as fh:\n        pass\n", None),
    ("def f(p):\n    with p.open('a') as fh:\n        pass\n", "f: p.open"),
    ("def f(p):\n    Image.open(p)\n", None),
    ("def f(p, m):\n    with open(p, m) as fh:\n        pass\n", "f: open"),
    ("def f(p):\n    (p / 'a').write_text('x')\n", "f: (p / 'a').write_text"),
    ("def f(p):\n    av.open(p, 'w', format='webm')\n", "f: av.open"),
    ("def f(a, b):\n    shutil.copyfile(a, b)\n", "f: shutil.copyfile"),
    ("def f(p, a):\n    np.save(p, a)\n", "f: np.save"),
    ("def f(p, a):\n    cv2.imwrite(p, a)\n", "f: cv2.imwrite"),
    ("def f(p):\n    os.open(p, os.O_WRONLY | os.O_CREAT)\n", "f: os.open"),
    ("def f(p):\n    os.open(p, os.O_RDONLY)\n", None),
])
def test_the_scan_finds_in_place_writes_and_leaves_reads_and_memory_alone(tmp_path, source,
                                                                         expected):
    """The scanner itself: it must find what it is for, or the test above proves nothing."""
    pkg = tmp_path / "kiosk"
    pkg.mkdir()
    (pkg / "mod.py").write_text(source, encoding="utf-8")
    found = in_place_writes(pkg)
    assert list(found) == ([f"kiosk/mod.py::{expected}"] if expected else [])


def test_a_key_frame_that_meets_a_full_disk_leaves_no_torn_jpeg(tmp_path, monkeypatch):
    """Key frames were saved in place by PIL: a full disk left a torn JPEG in the evidence."""
    import errno
    import os

    from PIL import Image

    from kiosk import atomic_files
    from kiosk.errors import StorageFull
    from kiosk.media.keyframes import _save_image

    img = Image.new("RGB", (1280, 720), (90, 120, 150))
    path = tmp_path / "step_1.jpg"
    _save_image(img, path)
    whole = path.read_bytes()
    assert whole.startswith(b"\xff\xd8") and whole.endswith(b"\xff\xd9")
    assert path.stat().st_mode & 0o777 == 0o600  # evidence: 0600, whatever the umask

    written = []

    def full_after_a_few_bytes(fd, data):
        if written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(len(data))
        return os.write(fd, bytes(data[:100]))

    monkeypatch.setattr(atomic_files.os, "write", full_after_a_few_bytes)
    with pytest.raises(StorageFull):
        _save_image(Image.new("RGB", (640, 480), (10, 10, 10)), path)
    assert path.read_bytes() == whole  # the old key frame, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_1.jpg"]  # no temporary left
