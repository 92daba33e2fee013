"""Flow versions (publish, immutability, binding, diff), templates, and the preview with the real
espeak-ng guide voice."""

from __future__ import annotations

import re
import shutil
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text as sql
from sqlalchemy.exc import DatabaseError

from kiosk.flows import FlowLibrary, check_flow, load_flow
from kiosk.flows.cli import flows as flows_cli
from kiosk.flows.preview import count_prompts, preview_flow, report_lines
from kiosk.flows.templates import TEMPLATE_IDS, from_template, templates
from kiosk.flows.versions import (
    FlowVersion,
    FlowVersions,
    VersionError,
    diff_texts,
    resolve_flow,
)
from kiosk.guide import GuideVoice
from kiosk.migrations import open_store
from kiosk.resources import SHIPPED_FLOWS_DIR
from tests.databases import both_databases

FIXTURES = Path(__file__).parent / "flow_fixtures"
QUICK = (FIXTURES / "quick.yaml").read_text(encoding="utf-8")
QUICK_V2 = QUICK.replace("version: 1", "version: 2").replace('"Ready?"', '"Shall we begin?"')


@pytest.fixture()
def store(tmp_path, db_url):
    s = open_store(db_url, tmp_path / "sessions")
    yield s
    s.engine.dispose()


@pytest.fixture()
def registry(store):
    return FlowVersions(store)


class Services:
    """The store and library resolve_flow uses, on real objects (the test sets flow_versions)."""

    def __init__(self, store, flows_dir):
        self.store = store
        self.flows = FlowLibrary(flows_dir)


# -- publish and immutability ------------------------------------------------------------------

@both_databases
def test_publish_records_hash_publisher_and_time(registry):
    res = registry.publish(QUICK, "brenda", "quick.yaml")
    assert res.created
    v = res.version
    assert (v["flow_id"], v["version"], v["published_by"]) == ("quick", 1, "brenda")
    assert v["content_hash"] == load_flow("quick.yaml", QUICK).content_hash
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", v["published_at"])
    assert registry.get("quick", 1)["source"] == QUICK


@both_databases
def test_republishing_the_same_text_returns_the_same_version(registry):
    first = registry.publish(QUICK, "brenda", "quick.yaml")
    again = registry.publish(QUICK, "someone_else", "quick.yaml")
    assert not again.created and again.version == first.version
    assert again.version["published_by"] == "brenda"
    assert len(registry.versions("quick")) == 1


@both_databases
def test_changed_text_under_a_published_version_is_refused(registry):
    registry.publish(QUICK, "brenda", "quick.yaml")
    changed = QUICK.replace('"Hello."', '"Hi."')
    with pytest.raises(VersionError) as exc:
        registry.publish(changed, "mallory", "quick.yaml")
    assert str(exc.value).startswith(
        "flow 'quick' version 1 is already published with other content (sha256 ")
    assert str(exc.value).endswith("published versions are immutable, so set version: 2 to "
                                   "publish this text")
    assert registry.get("quick", 1)["source"] == QUICK


@both_databases
def test_a_version_below_the_latest_is_refused(registry):
    registry.publish(QUICK_V2, "brenda", "quick.yaml")
    with pytest.raises(VersionError, match=r"^flow 'quick' version 1 is below the latest "
                       r"published version 2; set version: 3$"):
        registry.publish(QUICK, "brenda", "quick.yaml")


@both_databases
def test_an_invalid_script_cannot_be_published(registry):
    with pytest.raises(VersionError) as exc:
        registry.publish(QUICK.replace("kind: say", "kind: sya", 1), "brenda", "quick.yaml")
    assert "cannot publish an invalid flow" in str(exc.value)
    assert exc.value.problems[0].line == 9 and "unknown kind 'sya'" in exc.value.problems[0].message
    assert registry.versions("quick") == []


@both_databases
def test_published_rows_refuse_change_through_orm_and_sql(registry, store):
    registry.publish(QUICK, "brenda", "quick.yaml")
    with store.db() as db:
        row = db.query(FlowVersion).one()
        row.source = QUICK.replace("Hello", "Bye")
        with pytest.raises(VersionError, match="is published and immutable"):
            db.commit()
    with store.db() as db:
        row = db.query(FlowVersion).one()
        db.delete(row)
        with pytest.raises(VersionError, match="cannot be deleted"):
            db.commit()
    with store.engine.begin() as conn, pytest.raises(DatabaseError, match="immutable"):
        conn.execute(sql("UPDATE flow_versions SET source = 'x'"))
    with store.engine.begin() as conn, pytest.raises(DatabaseError, match="immutable"):
        conn.execute(sql("DELETE FROM flow_versions"))
    assert registry.get("quick", 1)["source"] == QUICK


@both_databases
def test_drafts_change_freely_and_go_when_their_text_is_published(registry):
    registry.save_draft("quick", "id: quick\nbroken: [", "brenda")
    registry.save_draft("quick", QUICK, "bob")
    assert registry.draft("quick")["saved_by"] == "bob"
    registry.publish(QUICK, "bob", "quick.yaml")
    assert registry.draft("quick") is None


@both_databases
def test_resolve_flow_prefers_the_latest_published_version(registry, store, tmp_path):
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    shutil.copy(FIXTURES / "quick.yaml", flows_dir)
    services = Services(store, flows_dir)
    services.flow_versions = registry
    on_disk = load_flow(flows_dir / "quick.yaml")
    assert resolve_flow(services, "quick").content_hash == on_disk.content_hash
    registry.publish(QUICK, "brenda", "quick.yaml")
    registry.publish(QUICK_V2, "brenda", "quick.yaml")
    bound = resolve_flow(services, "quick")
    assert bound.version == 2 and bound.source_text == QUICK_V2
    assert bound.step("ready").text["en"] == "Shall we begin?"
    with pytest.raises(KeyError, match="unknown flow 'nope'"):
        resolve_flow(services, "nope")
    with pytest.raises(KeyError, match="invalid flow id"):
        resolve_flow(services, "../etc")


# -- diff ------------------------------------------------------------------------------------

def test_diff_of_two_texts():
    out = diff_texts(QUICK, QUICK_V2, "quick@1", "quick@2")
    assert out.splitlines() == [
        "--- quick@1", "+++ quick@2", "@@ -1,6 +1,6 @@",
        " # A fast 3-step flow for tests: say, question (3 s answer window), say.",
        " id: quick", "-version: 1", "+version: 2",
        " title: {zh-CN: 快速测试, en: Quick test}", " locales: [zh-CN, en]",
        " broker: {zh-CN: 示例证券, en: Example Securities}",
        "@@ -10,7 +10,7 @@", '     text: {zh-CN: "您好。", en: "Hello."}', "   - id: ready",
        "     kind: question",
        '-    text: {zh-CN: "可以开始吗？", en: "Ready?"}',
        '+    text: {zh-CN: "可以开始吗？", en: "Shall we begin?"}',
        "     expect: affirm", "     answer_seconds: 3", "   - id: bye",
    ]
    assert diff_texts(QUICK, QUICK) == ""
    assert diff_texts("a: 1", "a: 2") == "--- a\n+++ b\n@@ -1 +1 @@\n-a: 1\n+a: 2\n"


def test_cli_publish_versions_and_diff(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    v1, v2 = tmp_path / "quick.yaml", tmp_path / "v2" / "quick.yaml"
    v1.write_text(QUICK, encoding="utf-8")
    v2.parent.mkdir()
    v2.write_text(QUICK_V2, encoding="utf-8")

    r = runner.invoke(flows_cli, ["publish", str(v1), "--by", "brenda"])
    assert r.exit_code == 0, r.output
    assert re.fullmatch(r"published quick@1 sha256 [0-9a-f]{64} by brenda at \S+Z\n", r.output)
    r = runner.invoke(flows_cli, ["publish", str(v1), "--by", "bob"])
    assert r.exit_code == 0 and r.output.startswith("unchanged: this text is already published "
                                                    "as quick@1")
    v1.write_text(QUICK.replace("Hello.", "Hi."), encoding="utf-8")
    r = runner.invoke(flows_cli, ["publish", str(v1), "--by", "bob"])
    assert r.exit_code == 1 and "version 1 is already published with other content" in r.output
    r = runner.invoke(flows_cli, ["publish", str(v2), "--by", "brenda"])
    assert r.exit_code == 0, r.output

    r = runner.invoke(flows_cli, ["versions", "quick"])
    lines = r.output.splitlines()
    assert r.exit_code == 0 and len(lines) == 2
    assert lines[0].startswith("quick@2  ") and lines[0].endswith("(current)")
    assert lines[1].startswith("quick@1  ") and " brenda  sha256 " in lines[1]

    r = runner.invoke(flows_cli, ["diff", "quick@1", "quick@2"])
    assert r.exit_code == 1
    assert r.output.startswith("--- quick@1\n+++ quick@2\n@@ -1,6 +1,6 @@\n")
    assert "-version: 1\n+version: 2\n" in r.output
    r = runner.invoke(flows_cli, ["diff", "quick@latest", str(v2)])
    assert r.exit_code == 0 and r.output == f"quick@2 and {v2} are identical\n"
    r = runner.invoke(flows_cli, ["diff", "quick@7", str(v2)])
    assert r.exit_code == 1
    assert "quick@7: no such published version of 'quick' (published: 2, 1)" in r.output
    r = runner.invoke(flows_cli, ["diff", str(tmp_path / "missing.yaml"), str(v2)])
    assert r.exit_code == 1 and "no such file, and not a FLOW_ID@VERSION reference" in r.output
    r = runner.invoke(flows_cli, ["versions", "never_published"])
    assert r.exit_code == 0 and "nothing published yet" in r.output


# -- templates -------------------------------------------------------------------------------

def test_templates_are_the_three_shipped_flows_in_both_languages():
    ts = templates()
    assert [t.id for t in ts] == list(TEMPLATE_IDS) == [
        "securities_account_opening", "margin_account_risk", "fund_suitability"]
    for t in ts:
        assert set(t.flow.locales) == {"zh-CN", "en"}
        assert check_flow(t.path) == []


def test_new_flow_from_a_template(tmp_path):
    text = from_template("margin_account_risk", "my_margin")
    flow = load_flow("my_margin.yaml", text)
    assert (flow.id, flow.version) == ("my_margin", 1)
    runner = CliRunner()
    out = tmp_path / "mine.yaml"
    r = runner.invoke(flows_cli, ["new", "fund_suitability", "--id", "mine", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert check_flow(out) == [] and load_flow(out).id == "mine"
    r = runner.invoke(flows_cli, ["new", "nope", "--id", "x"])
    assert r.exit_code == 1 and "unknown template 'nope'" in r.output


# -- preview (real espeak-ng audio) -------------------------------------------------------------

@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    with GuideVoice(tmp_path_factory.mktemp("tts")) as g:
        yield g


def test_preview_times_every_prompt_from_real_audio(guide):
    flow = load_flow(FIXTURES / "quick.yaml")
    ticks = []
    previews = preview_flow(flow, guide, on_render=ticks.append)
    assert len(ticks) == count_prompts(flow) == 6
    assert [p.locale for p in previews] == ["zh-CN", "en"]
    for p in previews:
        assert [s.step_id for s in p.steps] == ["hello", "ready", "bye"]
        for s in p.steps:
            (prompt,) = s.prompts
            path = guide.cache_dir / f"{prompt.sha256}.wav"
            with wave.open(str(path)) as w:
                seconds = w.getnframes() / w.getframerate()
            assert s.spoken == pytest.approx(seconds, abs=0.001)
            assert 0.5 < s.spoken < 4.0, (p.locale, s.step_id, s.spoken)
        hello, ready, bye = p.steps
        assert hello.expected == hello.spoken and bye.expected == bye.spoken
        assert ready.expected == pytest.approx(ready.spoken + 3.0)  # the answer window
        assert p.total_seconds == pytest.approx(sum(s.expected for s in p.steps))
    en = previews[1]
    assert en.steps[0].prompts[0].text == "Hello."
    lines, warning = report_lines(en, limit=600)
    assert warning is None and lines[0] == "quick v1 · en"
    assert lines[-1] == (f"  spoken {en.spoken_seconds:.1f} s; expected witness "
                         f"{en.total_seconds:.1f} s ({round(en.total_seconds)} s)")
    _, warning = report_lines(en, limit=5)
    assert warning == (f"WARNING: quick in en is expected to take {en.total_seconds:.0f} s, "
                       "above the limit of 5 s; shorten prompts, answer windows or pauses, "
                       "or remove steps")


def test_preview_cli_on_a_shipped_flow_shows_progress_and_warns(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()  # click >= 8.2 keeps stderr apart
    shipped = SHIPPED_FLOWS_DIR / "securities_account_opening.yaml"
    flow = load_flow(shipped)
    n = count_prompts(flow, ["en"])
    r = runner.invoke(flows_cli, ["preview", str(shipped), "--locale", "en", "--limit", "30",
                                  "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 0, r.output
    assert f"Rendering {n} prompts" in r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "securities_account_opening v1 · en"
    rows = out[2:2 + len(flow.steps)]
    assert [row.split()[0] for row in rows] == [s.id for s in flow.steps]
    for row in rows:
        spoken, expected = (float(x) for x in re.findall(r"(\d+\.\d) s", row)[:2])
        assert 0.5 < spoken <= expected
    total = float(re.search(r"expected witness (\d+\.\d) s", r.stdout).group(1))
    assert total > 30
    assert out[-1] == (f"WARNING: securities_account_opening in en is expected to take "
                       f"{total:.0f} s, above the limit of 30 s; shorten prompts, answer "
                       "windows or pauses, or remove steps")
    assert len(list((tmp_path / "cache").glob("*.wav"))) == n
    r = runner.invoke(flows_cli, ["preview", str(shipped), "--locale", "fr"])
    assert r.exit_code == 1 and "has no locale 'fr'; it offers zh-CN, en" in r.stderr
