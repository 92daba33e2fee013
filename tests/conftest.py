import os
from pathlib import Path

import pytest

from kiosk.testing.streams import barcode_y4m, speech_wav, tone_wav
from tests.databases import migrated_database

# Browser tests need Debian's chromium; CI installs it (dev.sh test).
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def barcode_video(media_dir) -> Path:
    """A 4 s 640x480 15 fps Y4M whose frames carry their number."""
    return barcode_y4m(media_dir / "barcode.y4m", seconds=4.0)


@pytest.fixture(scope="session")
def tone_audio(media_dir) -> Path:
    return tone_wav(media_dir / "tone.wav", seconds=3.0, freq=440.0)


@pytest.fixture(scope="session")
def yes_audio(media_dir) -> Path:
    return speech_wav(media_dir / "yes.wav", "yes, I understand", lead_silence=0.3,
                      trail_silence=0.5)


@pytest.fixture()
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture()
def kiosk_server(tmp_path):
    from tests.kiosk_server import KioskServer

    server = KioskServer(tmp_path / "data").start()
    yield server
    server.stop()
    if os.environ.get("KIOSK_TEST_SHOW_LOG"):
        print(server.log())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test proves nothing: dev.sh installs everything, so a skip is a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI, where every dependency must be installed: {reason}"


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server on 127.0.0.1 for the whole test run (kiosk.testing.postgres);
    installed with apt when missing and we are root, else the test skips saying why."""
    from kiosk.testing.postgres import TempPostgres, ensure_installed

    bindir, why = ensure_installed()
    if bindir is None:
        pytest.skip(why)
    server = TempPostgres(bindir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    """A redis-server on 127.0.0.1 for the whole test run (kiosk.testing.redis), without
    persistence; installed with apt when missing and we are root, else the test skips."""
    from kiosk.testing.redis import TempRedis, ensure_installed

    binary, why = ensure_installed()
    if binary is None:
        pytest.skip(why)
    server = TempRedis(binary).start()
    yield server
    server.stop()


@pytest.fixture()
def db_url(request, tmp_path):
    """A database URL: SQLite under tmp_path/data by default; with ``@both_databases``
    (tests/databases.py) also a fresh PostgreSQL database, migrated to head."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'kiosk.sqlite3'}"
        return
    assert kind == "postgresql", kind
    with migrated_database(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture(scope="module")
def rec():
    """One real Recognizer for a test module's spoken answers; its Whisper workers closed
    after the module."""
    from kiosk.speech.recognize import Recognizer  # models load only where a test asks

    r = Recognizer()
    yield r
    for loc in ("en", "zh"):
        engine = r.engine_for(loc)
        if hasattr(engine, "close"):
            engine.close()
