"""Flow scripts: model, loader problems (file:line:col), semantics, library, CLI, schema."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from kiosk.errors import FlowError
from kiosk.flows import (
    CHALLENGES,
    MAX_FILE_BYTES,
    Flow,
    FlowLibrary,
    Problem,
    UnknownFlowError,
    UnknownStepError,
    check_flow,
    load_flow,
)
from kiosk.flows.cli import flow_json_schema, flows
from kiosk.flows.model import speaking_seconds

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
FIXTURES = Path(__file__).resolve().parent / "flow_fixtures"
SHIPPED = sorted(FLOWS.glob("*.yaml"))
BROKEN = sorted(p for p in FIXTURES.glob("*.yaml") if p.name != "quick.yaml")
EXPECT_RE = re.compile(r"^# expect: (\d+):(\d+): (.*)$")
APPLICANT = {"name": "张三", "id_last4": "1234"}


def expectations(path: Path) -> list[tuple[int, int, str]]:
    """The ``# expect: line:col: message`` comments at the top of a fixture."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT_RE.match(line)
        if m:
            out.append((int(m[1]), int(m[2]), m[3]))
    return out


MINIMAL = """\
id: mini
version: 1
title: {zh-CN: 测试, en: Test}
locales: [zh-CN, en]
steps:
  - id: hello
    kind: say
    text: {zh-CN: 您好。, en: Hello.}
"""


# --------------------------------------------------------------------------- error classes


def test_there_is_one_fixture_per_error_class():
    assert len(BROKEN) >= 40
    for path in BROKEN:
        assert expectations(path), f"{path.name} has no '# expect:' lines"


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_fixture_reports_exactly_the_expected_problems(path: Path):
    problems = check_flow(path)
    got = [(p.line, p.col, p.message) for p in problems]
    assert got == expectations(path)
    assert all(p.file == str(path) for p in problems)
    with pytest.raises(FlowError) as info:
        load_flow(path)
    assert info.value.problems == problems


def test_several_problems_are_all_reported_in_line_order():
    problems = check_flow(FIXTURES / "several_problems.yaml")
    assert [p.line for p in problems] == [10, 11, 16, 17, 20, 24, 26]
    assert problems[3].message == (
        "step id 'hello' is already used by step 1; give every step a different id"
    )


def test_docs_quote_the_real_messages():
    """Every example message in docs/flows.md ("Every check") is what the checker prints."""
    doc = (ROOT / "docs" / "flows.md").read_text(encoding="utf-8")
    section = doc.split("## Every check")[1].split("\n## ")[0]
    quoted = re.findall(r"^\|[^|]+\| `([^`]+)`", section, flags=re.M)
    assert len(quoted) >= 45
    real = [m for p in BROKEN for _, _, m in expectations(p)] + [
        f"file is 300000 bytes; a flow script may be at most {MAX_FILE_BYTES} bytes, "
        "so shorten it",
        "byte 0xe9 is not valid UTF-8; save the file as UTF-8",
        "nesting is deeper than 12 levels; a flow script needs at most 5, so flatten this value",
        "character U+0000 (NUL) is not allowed in a flow script; delete it",
        "character U+2028 (LINE SEPARATOR) is read by YAML as a line break; delete it, "
        "or press Enter for a new line",
        "the escape here spells character U+D800 (a lone surrogate, half of a pair), which is "
        "not allowed in a flow script; delete it",
        "character U+FEFF (ZERO WIDTH NO-BREAK SPACE) is invisible (editors do not show it) but "
        "YAML reads it as part of the key, number or text here; delete it",
        "character U+202E (RIGHT-TO-LEFT OVERRIDE) is invisible and changes the order in which "
        "the text around it is displayed; delete it",
        "character U+000D (CARRIAGE RETURN) alone is read by YAML as a line break; delete it, "
        "or press Enter for a new line",
        "the escape here spells character U+202E (RIGHT-TO-LEFT OVERRIDE), which is invisible "
        "and changes the order in which the text around it is displayed; delete it",
        "tag !!int is not allowed; flow scripts are plain YAML, so remove the tag and write the "
        "value itself (a number in plain decimal digits: version: 10)",
    ]
    for message in quoted:
        longest = max(message.split("..."), key=len).strip(" ;,")
        assert any(longest in m for m in real), message


@pytest.mark.parametrize("escape, name, why", [
    ("\\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)",
     "which is invisible and changes the order in which the text around it is displayed"),
    ("\\u200b", "U+200B (ZERO WIDTH SPACE)", "which is invisible (nobody reading it sees it)"),
    ("\\ufeff", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)",
     "which is invisible (nobody reading it sees it)"),
    ("\\N", "U+0085 (a control character)", "which YAML and the page read as a line break"),
    ("\\L", "U+2028 (LINE SEPARATOR)", "which YAML and the page read as a line break"),
    ("\\P", "U+2029 (PARAGRAPH SEPARATOR)", "which YAML and the page read as a line break"),
])
def test_invisible_characters_spelled_by_an_escape_are_refused_too(escape, name, why):
    """#13 retest N3: written raw these are refused; escaped, they passed and were published
    (a right-to-left override in an English welcome text)."""
    text = MINIMAL.replace("en: Hello.}", f'en: "Hel{escape}lo."}}')
    col = MINIMAL.splitlines()[7].index("Hello") + 1
    got = [(p.line, p.col, p.message) for p in check_flow("mini.yaml", text)]
    assert len(got) == 1 and got[0][:2] == (8, col), got
    assert got[0][2].startswith(f"the escape here spells character {name}, {why}; delete it")


@pytest.mark.parametrize("value, shown", [('!!int "010"', "!!int"), ('!!int "0x1F"', "!!int"),
                                          ("!!int 010", "!!int"), ('!!float "1e3"', "!!float"),
                                          ("!!bool yes", "!!bool")])
def test_an_explicit_tag_on_a_value_is_refused(value, shown):
    """#13 retest N2: ``version: !!int "010"`` passed and loaded as version 8 (a quoted value
    with a tag skipped the leading-zero check)."""
    lines = MINIMAL.splitlines()
    (n,) = [i for i, line in enumerate(lines) if line.startswith("version:")]
    lines[n] = f"version: {value}"
    got = [(p.line, p.col, p.message) for p in check_flow("mini.yaml", "\n".join(lines) + "\n")]
    assert got and got[0][:2] == (n + 1, 10), got
    assert got[0][2].startswith(f"tag {shown} is not allowed; flow scripts are plain YAML"), got
    # !!str only makes a value text, which quoting does too: allowed.
    assert check_flow("mini.yaml", MINIMAL.replace("en: Test}", "en: !!str Test}")) == []


def test_problem_str_is_file_line_col_message():
    p = Problem("flows/x.yaml", 3, 7, "something is wrong; fix it")
    assert str(p) == "flows/x.yaml:3:7: something is wrong; fix it"


def test_file_over_the_size_cap_is_refused_without_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    assert [str(p) for p in check_flow(path)] == [
        f"{path}:1:1: file is {MAX_FILE_BYTES + 3} bytes; a flow script may be at most "
        f"{MAX_FILE_BYTES} bytes, so shorten it"
    ]
    # The same cap applies to text handed in directly (e.g. from an upload).
    assert "may be at most" in check_flow("huge.yaml", "x" * (MAX_FILE_BYTES + 1))[0].message


def test_invalid_utf8_names_line_and_column(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MINIMAL.encode().replace(b"Hello.", b"Caf\xe9."))
    col = MINIMAL.splitlines()[7].index("Hello") + 4  # characters, not bytes: 您好 count once
    assert [(p.line, p.col, p.message) for p in check_flow(path)] == [
        (8, col, "byte 0xe9 is not valid UTF-8; save the file as UTF-8")
    ]


@pytest.mark.parametrize("char, name", [("\0", "U+0000 (NUL)"), ("\x1b", "U+001B (ESCAPE)"),
                                        ("\ufffe", "U+FFFE (a non-character)")])
def test_characters_yaml_cannot_read_are_problems_at_their_place(char, name):
    text = MINIMAL.replace("Hello.", f"Hel{char}lo.")
    col = MINIMAL.splitlines()[7].index("Hello") + 4
    assert [(p.line, p.col, p.message) for p in check_flow("mini.yaml", text)] == [
        (8, col, f"character {name} is not allowed in a flow script; delete it")
    ]


@pytest.mark.parametrize("escape, name", [
    ("\\ud800", "U+D800 (a lone surrogate, half of a pair)"),
    ("\\udfff", "U+DFFF (a lone surrogate, half of a pair)"),
    ("\\x00", "U+0000 (NUL)"), ("\\uFFFF", "U+FFFF (a non-character)")])
def test_characters_spelled_by_an_escape_are_problems_at_their_text(escape, name):
    """A double-quoted YAML escape spells a character the source check never sees: a witness
    ran on a flow whose text held a lone surrogate."""
    text = MINIMAL.replace("en: Hello.}", f'en: "Hel{escape}lo."}}')
    col = MINIMAL.splitlines()[7].index("Hello") + 1
    assert [(p.line, p.col, p.message) for p in check_flow("mini.yaml", text)] == [
        (8, col, f"the escape here spells character {name}, which is not allowed in a flow "
                 "script; delete it")
    ]
    # A lone surrogate typed into the editor (not escaped) is named too, never a crash.
    raw = MINIMAL.replace("Hello.", "Hel\ud800lo.")
    assert [(p.line, p.message) for p in check_flow("mini.yaml", raw)] == [
        (8, "character U+D800 (a lone surrogate, half of a pair) is not allowed in a flow "
            "script; delete it")]
    # PyYAML does not join an escaped pair ("\\ud83d\\ude00" stays two halves), so it is named
    # too; the one escape for the character ("\\U0001F600") passes.
    assert len(check_flow("mini.yaml", MINIMAL.replace("en: Hello.}",
                                                       'en: "Hi \\ud83d\\ude00"}'))) == 1
    assert check_flow("mini.yaml", MINIMAL.replace("en: Hello.}", 'en: "Hi \\U0001F600"}')) == []


def test_unicode_line_separators_are_named_not_taken_as_line_breaks():
    text = MINIMAL.replace("Hello.", "Hel\u2028lo.")
    col = MINIMAL.splitlines()[7].index("Hello") + 4
    assert [(p.line, p.col, p.message) for p in check_flow("mini.yaml", text)] == [
        (8, col, "character U+2028 (LINE SEPARATOR) is read by YAML as a line break; delete it, "
                 "or press Enter for a new line")
    ]


@pytest.mark.parametrize("space, name", [("\u00a0", "NO-BREAK SPACE"),
                                         ("\u3000", "IDEOGRAPHIC SPACE"),
                                         ("\u200b", "ZERO WIDTH SPACE")])
def test_odd_spaces_in_indentation_are_named_on_their_own_line(space, name):
    text = MINIMAL.replace("    kind: say", space * 2 + "  kind: say")
    assert [(p.line, p.col, p.message) for p in check_flow("mini.yaml", text)] == [
        (7, 1, f"the indentation holds U+{ord(space):04X} ({name}), not an ordinary space; "
               "replace it with ordinary spaces")
    ]
    # Inside a quoted text a visible space is content, not a problem; an invisible one is
    # named there too (test_invisible_characters_are_named_at_their_place).
    quoted = check_flow("mini.yaml", MINIMAL.replace("Hello.", f'"Hello{space}there."'))
    if space == "\u200b":
        assert [p.message.split(")")[0] for p in quoted] == ["character U+200B (ZERO WIDTH SPACE"]
    else:
        assert quoted == []


@pytest.mark.parametrize("char, name", [
    ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"), ("\u200b", "ZERO WIDTH SPACE"),
    ("\u200d", "ZERO WIDTH JOINER"), ("\u2060", "WORD JOINER"), ("\u00ad", "SOFT HYPHEN"),
    ("\u3164", "HANGUL FILLER"), ("\U000e0041", "TAG LATIN CAPITAL LETTER A")])
@pytest.mark.parametrize("where, line, col", [
    (("Hello.", "Hel{c}lo."), 8, None),  # inside a text
    (("    kind: say", "    kind:{c} say"), 7, 10),  # was "invalid YAML: ... simple key"
    (("title:", "ti{c}tle:"), 3, 3),  # was "unknown top-level field"
    (("version: 1", "version: {c}1"), 2, 10),  # was "not text '\ufeff1'"
    (("Hello.", '"Hel{c}lo."'), 8, None),  # quoted
], ids=["text", "after-colon", "in-key", "in-number", "quoted"])
def test_invisible_characters_are_named_at_their_place(char, name, where, line, col):
    """A U+FEFF in the middle of a line gave a generic YAML error (or an unknown field, or a
    number read as text) without naming the character an editor does not show."""
    old, new = where
    text = MINIMAL.replace(old, new.format(c=char), 1)
    if col is None:
        col = text.splitlines()[line - 1].index(char) + 1
    problems = check_flow("mini.yaml", text)
    assert [(p.line, p.col, p.message) for p in problems] == [
        (line, col, f"character U+{ord(char):04X} ({name}) is invisible (editors do not show "
                    "it) but YAML reads it as part of the key, number or text here; delete it")]
    assert str(problems[0]).startswith(f"mini.yaml:{line}:{col}: ")


@pytest.mark.parametrize("char", ["\u202e", "\u202d", "\u2066", "\u200f", "\u061c"])
def test_bidirectional_controls_are_refused_for_what_they_do(char):
    text = MINIMAL.replace("Hello.", f"Hel{char}lo.")
    col = MINIMAL.splitlines()[7].index("Hello") + 4
    [problem] = check_flow("mini.yaml", text)
    assert (problem.line, problem.col) == (8, col)
    assert problem.message.endswith("is invisible and changes the order in which the text "
                                    "around it is displayed; delete it")


def test_a_lone_carriage_return_is_named_but_windows_line_ends_are_fine():
    assert check_flow("mini.yaml", MINIMAL.replace("\n", "\r\n")) == []
    assert check_flow("mini.yaml", "\ufeff" + MINIMAL) == []  # a BOM at the start is fine
    text = MINIMAL.replace("Hello.", "Hel\rlo.")
    col = MINIMAL.splitlines()[7].index("Hello") + 4
    assert [(p.line, p.col, p.message) for p in check_flow("mini.yaml", text)] == [
        (8, col, "character U+000D (CARRIAGE RETURN) alone is read by YAML as a line break; "
                 "delete it, or press Enter for a new line")]


@pytest.mark.parametrize("written", ["010", "0_10", "012", "-07"])
def test_octal_looking_numbers_never_load(written):
    text = MINIMAL.replace("version: 1", f"version: {written}")
    with pytest.raises(FlowError) as info:
        load_flow("mini.yaml", text)
    assert "has a leading zero" in info.value.problems[0].message
    assert (info.value.problems[0].line, info.value.problems[0].col) == (2, 10)
    # Quoted, it is text, and a version must be a number.
    quoted = check_flow("mini.yaml", MINIMAL.replace("version: 1", f'version: "{written}"'))
    assert quoted[0].message == f"version must be a whole number, not text '{written}'"


def test_plain_decimal_numbers_still_load():
    flow = load_flow("mini.yaml", MINIMAL.replace("version: 1", "version: 10"))
    assert flow.version == 10


def test_missing_file_is_a_problem_not_a_crash(tmp_path):
    problems = check_flow(tmp_path / "nope.yaml")
    assert problems[0].message == "cannot read the file (No such file or directory); check the path"


def test_alias_bomb_is_refused_quickly():
    lines = ["id: bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    problems = check_flow("bomb.yaml", "\n".join(lines) + "\n")  # refused, never expanded
    aliases = [p for p in problems if "alias" in p.message]
    assert aliases[0].message == "alias *a0 is not allowed; write the value out in full"
    assert aliases[-1].message == (
        "107 more aliases (*name) here and below; write every value out in full"
    )
    assert len(problems) <= 100


def test_python_tag_is_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    tag = f'!!python/object/apply:os.system ["touch {marker}"]'
    text = MINIMAL.replace("version: 1", f"version: {tag}")
    problems = check_flow("mini.yaml", text)
    assert problems[0].message.startswith("tag !!python/object/apply:os.system is not allowed")
    assert not marker.exists()


def test_deep_nesting_does_not_crash_the_parser():
    problems = check_flow("deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert [p.message for p in problems] == [
        "nesting is too deep to read; a flow script needs at most 5 levels, so flatten it"
    ]


def test_a_full_size_valid_flow_loads():
    steps = "".join(
        f"  - id: s{i}\n    kind: say\n    text: {{zh-CN: 您好，这是第{i}步。, en: Step {i}.}}\n"
        for i in range(2000)
    )
    text = MINIMAL.split("steps:")[0] + "steps:\n" + steps
    assert len(text.encode()) < MAX_FILE_BYTES
    flow = load_flow("mini.yaml", text)
    assert len(flow.steps) == 2000


# --------------------------------------------------------------------------- shipped flows


@pytest.mark.parametrize("path", SHIPPED + [FIXTURES / "quick.yaml"], ids=lambda p: p.stem)
def test_shipped_flows_pass_every_check(path: Path):
    assert check_flow(path) == []
    flow = load_flow(path)
    assert flow.id == path.stem
    assert flow.retention_years >= 20
    assert flow.locales == ["zh-CN", "en"]


def test_shipped_flows_are_the_expected_ones():
    assert [p.stem for p in SHIPPED] == [
        "fund_suitability", "margin_account_risk", "securities_account_opening"
    ]
    kinds = {p.stem: Counter(s.kind for s in load_flow(p).steps) for p in SHIPPED}
    for stem in ("fund_suitability", "margin_account_risk"):
        assert kinds[stem]["challenge"] == 1 and kinds[stem]["read_aloud"] == 1


def test_default_flow_steps_and_length():
    flow = load_flow(FLOWS / "securities_account_opening.yaml")
    assert [(s.id, s.kind) for s in flow.steps] == [
        ("welcome", "say"), ("identity", "read_aloud"), ("risk", "question"),
        ("consent", "question"), ("goodbye", "say"),
    ]
    assert flow.step("identity").sentence["zh-CN"] == (
        "本人{name}，身份证尾号{id_last4}，自愿在{broker}开立证券账户。"
    )
    assert flow.step("risk").expect == "affirm"
    assert "是的，我已了解" in flow.step("risk").text["zh-CN"]
    assert flow.step("consent").expect == "affirm"
    assert "您是否自愿开立证券账户？" in flow.step("consent").text["zh-CN"]
    for locale in flow.locales:
        assert 75 <= flow.estimated_seconds(locale) <= 120, locale


def test_quick_fixture_is_short():
    flow = load_flow(FIXTURES / "quick.yaml")
    assert [s.kind for s in flow.steps] == ["say", "question", "say"]
    assert flow.step("ready").answer_seconds == 3
    assert flow.estimated_seconds("en") < 10


def test_schema_json_is_in_sync_with_the_model():
    assert json.loads((FLOWS / "schema.json").read_text(encoding="utf-8")) == flow_json_schema()


# --------------------------------------------------------------------------- JSON Schema


def test_round_trip_yaml_model_json_schema():
    schema = flow_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in SHIPPED:
        flow = load_flow(path)
        dumped = flow.model_dump(mode="json")
        assert list(validator.iter_errors(dumped)) == []
        assert list(validator.iter_errors(yaml.safe_load(path.read_text("utf-8")))) == []
        again = Flow.model_validate_json(json.dumps(dumped))
        assert again.model_dump() == flow.model_dump()
        assert "source_text" not in dumped and "content_hash" not in dumped
    assert "content_hash" not in json.dumps(schema)


def test_schema_refuses_what_the_loader_refuses():
    validator = jsonschema.Draft202012Validator(flow_json_schema())
    data = yaml.safe_load(MINIMAL)
    data["steps"][0]["answer_seconds"] = 5  # not a say field
    assert list(validator.iter_errors(data))
    data = yaml.safe_load(MINIMAL)
    data["steps"].append({"id": "live", "kind": "challenge", "text": {"en": "x", "zh-CN": "x"},
                          "pool": ["smile"], "draw": 1})
    assert list(validator.iter_errors(data))


# --------------------------------------------------------------------------- model API


def test_load_keeps_source_and_hash(tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    flow = load_flow(path)
    assert flow.source_path == path
    assert flow.source_text == MINIMAL
    assert flow.content_hash == hashlib.sha256(MINIMAL.encode()).hexdigest()
    from_text = load_flow("mini.yaml", MINIMAL)
    assert from_text.content_hash == flow.content_hash


def test_flow_built_in_code_has_a_hash_of_its_dump():
    flow = Flow.model_validate(yaml.safe_load(MINIMAL))
    assert flow.source_path is None
    assert load_flow("mini.yaml", flow.source_text).model_dump() == flow.model_dump()
    assert flow.content_hash == hashlib.sha256(flow.source_text.encode()).hexdigest()


def test_step_defaults_by_kind():
    flow = load_flow(FLOWS / "fund_suitability.yaml")
    assert flow.step("welcome").retries == 0
    assert flow.step("no_guarantee").retries == 1
    assert flow.step("liveness").retries == 1
    assert flow.step("welcome").on_fail == "flag"
    assert flow.step("risk_match").answer_seconds == 5
    assert flow.step("welcome").label("zh-CN") == "欢迎"
    assert flow.step("saving").label("en") == "saving"  # no title: the id


CARD_FLOW = """\
id: card
version: 1
title: {zh-CN: 测试, en: Test}
locales: [zh-CN, en]
steps:
  - id: card
    kind: id_document
  - id: back_only
    kind: id_document
    sides: [back]
    seconds: 5
    text: {zh-CN: 请出示国徽面。, en: Show the emblem side.}
"""


def test_id_document_step_defaults_words_and_camera_time(tmp_path):
    from kiosk.witness.plan import plan_witness

    flow = load_flow(tmp_path / "card.yaml", CARD_FLOW)
    card, back = flow.step("card"), flow.step("back_only")
    assert (card.sides, card.seconds, back.sides, back.seconds) == (
        ["front", "back"], 8.0, ["back"], 5.0)
    words = flow.prompt_text(card, "zh-CN", {})
    assert words.startswith("请将身份证人像面对准摄像头") and "国徽面" in words
    assert flow.prompt_text(card, "en", {}).startswith(
        "Hold the photo side of your ID card up to the camera")
    assert flow.prompt_text(back, "en", {}) == "Show the emblem side."
    # The camera's time: seconds per side, in the estimate and in the live plan alike.
    silent = flow.step_seconds(card, "en") - flow.prompt_seconds(card, "en")
    assert silent == pytest.approx(16.0)
    planned = plan_witness(flow, "en", {"name": "A", "id_last4": "1234"}, random.Random(1))
    assert [(p.kind, p.sides, p.side_seconds, p.seconds, p.observes) for p in planned] == [
        ("id_document", ("front", "back"), 8.0, 16.0, True),
        ("id_document", ("back",), 5.0, 5.0, True)]


def test_id_document_step_is_checked_like_the_others(tmp_path):
    bad = CARD_FLOW.replace("    seconds: 5\n", "    seconds: 2\n    timeout: 6\n").replace(
        "sides: [back]", "sides: [back, side]")
    got = [(p.line, p.message) for p in check_flow(tmp_path / "card.yaml", bad)]
    assert got == [
        (10, "step 'back_only': sides item 2 must be front or back, not 'side'"),
        (11, "step 'back_only': seconds must be at least 4.0, not 2"),
    ], got
    short = CARD_FLOW.replace("    kind: id_document\n  - id: back_only",
                              "    kind: id_document\n    timeout: 10\n  - id: back_only")
    (problem,) = check_flow(tmp_path / "card.yaml", short)
    assert (problem.line, problem.col) == (8, 14)
    assert problem.message.startswith("step 'card': timeout is 10 s but the step needs about")


def test_unknown_step_is_a_key_error_and_a_flow_error():
    flow = load_flow(FIXTURES / "quick.yaml")
    with pytest.raises(KeyError):
        flow.step("nope")
    with pytest.raises(UnknownStepError, match="flow 'quick' has no step 'nope'"):
        flow.step("nope")


def test_prompt_text_fills_variables():
    flow = load_flow(FLOWS / "securities_account_opening.yaml")
    welcome = flow.prompt_text(flow.step("welcome"), "zh-CN", APPLICANT)
    assert welcome.startswith("您好，张三。我是示例证券的视频见证助手")
    assert "{" not in welcome
    identity = flow.prompt_text(flow.step("identity"), "zh-CN", APPLICANT)
    assert identity == (
        "请看着镜头，清晰地读出以下这句话：本人张三，身份证尾号1234，自愿在示例证券开立证券账户。"
    )
    en = flow.prompt_text(flow.step("identity"), "en", {"name": "Zhang San", "id_last4": "0042"})
    assert en == (
        "Please look at the camera and read the following sentence clearly: I, Zhang San, with "
        "ID number ending in 0042, voluntarily open a securities account with Example Securities."
    )
    assert flow.reading_text(flow.step("identity"), "en", {"name": "Zhang San",
                                                           "id_last4": "0042"}).startswith("I, Z")


def test_prompt_text_refuses_missing_variable_and_unknown_locale():
    flow = load_flow(FLOWS / "securities_account_opening.yaml")
    with pytest.raises(FlowError, match=r"variable \{id_last4\} has no value"):
        flow.prompt_text(flow.step("identity"), "en", {"name": "A"})
    with pytest.raises(FlowError, match="has no locale 'fr'"):
        flow.prompt_text(flow.step("welcome"), "fr", APPLICANT)


def test_prompt_text_does_not_format_attribute_lookups():
    text = MINIMAL.replace("Hello.", '"Hello {{name.__class__}} {name}."')
    flow = load_flow("mini.yaml", text)
    assert flow.prompt_text(flow.steps[0], "en", {"name": "Ann"}) == "Hello {name.__class__} Ann."


def test_draw_read_aloud_pool_is_random_within_the_pool():
    flow = load_flow(FLOWS / "fund_suitability.yaml")
    step = flow.step("statement")
    rng = random.Random(7)
    drawn = [flow.draw_read_aloud(step, "zh-CN", rng) for _ in range(200)]
    assert set(drawn) == set(step.pool["zh-CN"])  # every item comes up, nothing else
    prompt = flow.prompt_text(step, "zh-CN", APPLICANT, draw=drawn[0])
    assert prompt == "请读出以下这句话：" + drawn[0]
    with pytest.raises(FlowError, match="pass draw="):
        flow.prompt_text(step, "zh-CN", APPLICANT)


def test_draw_read_aloud_digits_and_fixed_sentence():
    flow = load_flow(FLOWS / "margin_account_risk.yaml")
    step = flow.step("presence")
    rng = random.Random(1)
    draws = [flow.draw_read_aloud(step, "en", rng) for _ in range(100)]
    assert all(len(d) == 6 and d.isdigit() for d in draws)
    assert len(set(draws)) > 90
    prompt = flow.prompt_text(step, "en", APPLICANT, draw="583920")
    assert prompt.endswith("please read out these digits: 5 8 3 9 2 0")
    assert flow.reading_text(step, "en", APPLICANT, draw="583920") == "583920"
    default = load_flow(FLOWS / "securities_account_opening.yaml")
    assert default.draw_read_aloud(default.step("identity"), "en", rng) is None


def test_draw_challenges_distinct_and_from_the_pool():
    flow = load_flow(FLOWS / "margin_account_risk.yaml")
    step = flow.step("liveness")
    rng = random.Random(3)
    seen = set()
    for _ in range(100):
        picked = flow.draw_challenges(step, rng)
        assert len(picked) == 2 and len(set(picked)) == 2
        assert set(picked) <= set(step.pool) <= CHALLENGES
        seen.add(tuple(picked))
    assert len(seen) >= 15  # 20 ordered pairs exist
    spoken = flow.prompt_text(step, "zh-CN", APPLICANT, draw=["blink", "nod"])
    assert spoken == "接下来进行活体检测，请按提示完成动作。请眨眨眼。请点点头。"
    with pytest.raises(FlowError, match="not challenge"):
        flow.draw_challenges(flow.step("welcome"), rng)


def test_speaking_time_rule():
    assert speaking_seconds("您好" * 15, "zh-CN") == pytest.approx(10.0)  # 3 chars/s
    assert speaking_seconds("one two three four five", "en") == pytest.approx(2.0)  # 2.5 w/s
    assert speaking_seconds("尾号1234", "zh-CN") == pytest.approx(2.0)  # digits one by one
    assert speaking_seconds("one two three four five", "en", rate=320) == pytest.approx(1.0)


# --------------------------------------------------------------------------- library


def test_library_gets_lists_and_refuses_path_tricks(tmp_path):
    library = FlowLibrary(FLOWS)
    assert library.get("securities_account_opening").id == "securities_account_opening"
    assert [f.id for f in library.list()] == [p.stem for p in SHIPPED]
    (tmp_path / "x.yaml").write_text(MINIMAL.replace("id: mini", "id: x"), encoding="utf-8")
    tricky = FlowLibrary(tmp_path / "sub")
    (tmp_path / "sub").mkdir()
    for bad in ("../x", "..", "x.yaml", "/etc/passwd", "X", "x\n", "", "a" * 65, "x/../x"):
        with pytest.raises(UnknownFlowError, match="invalid flow id"):
            tricky.get(bad)
    with pytest.raises(KeyError):
        library.get("no_such_flow")
    with pytest.raises(UnknownFlowError, match="unknown flow 'no_such_flow'; available: "
                                               "fund_suitability, margin_account_risk"):
        library.get("no_such_flow")


def test_library_reloads_changed_files_and_reports_broken_ones(tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    library = FlowLibrary(tmp_path)
    first = library.get("mini")
    assert library.get("mini") is first  # cached
    path.write_text(MINIMAL.replace("version: 1", "version: 2"), encoding="utf-8")
    assert library.get("mini").version == 2
    (tmp_path / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    with pytest.raises(FlowError, match=r"flow 'broken' is invalid \(4 problems\)") as info:
        library.get("broken")
    assert len(info.value.problems) == 4
    assert [f.id for f in library.list()] == ["mini"]


# --------------------------------------------------------------------------- CLI


def test_cli_check_ok_and_problems(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(flows, ["check", str(FLOWS / "securities_account_opening.yaml")])
    assert ok.exit_code == 0
    assert ok.output == f"OK {FLOWS / 'securities_account_opening.yaml'} (5 steps)\n"
    bad = FIXTURES / "several_problems.yaml"
    res = runner.invoke(flows, ["check", str(FIXTURES / "quick.yaml"), str(bad)])
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert lines[0] == f"OK {FIXTURES / 'quick.yaml'} (3 steps)"
    assert lines[1:] == [f"{bad}:{line}:{col}: {msg}" for line, col, msg in expectations(bad)]


def test_cli_schema_and_list(tmp_path):
    runner = CliRunner()
    res = runner.invoke(flows, ["schema"])
    assert res.exit_code == 0 and json.loads(res.output) == flow_json_schema()
    res = runner.invoke(flows, ["list", "--dir", str(FLOWS)])
    assert res.exit_code == 0
    assert res.output.splitlines()[2].startswith(
        "securities_account_opening  v1  5 steps  zh-CN ~")
    (tmp_path / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    res = runner.invoke(flows, ["list", "--dir", str(tmp_path)])
    assert res.exit_code == 1
    assert res.output == (f"INVALID {tmp_path / 'broken.yaml'}: 4 problem(s); "
                          f"run: kiosk flows check {tmp_path / 'broken.yaml'}\n")


def test_a_challenge_without_its_own_window_gets_the_model_default_timeout():
    """The live window (kiosk.liveness.observer) caps a challenge at the flow model's default
    step timeout, the same figure a flow gets when it gives none."""
    from types import SimpleNamespace

    from kiosk.flows.model import DEFAULT_STEP_TIMEOUT_S, PER_CHALLENGE_SECONDS, ChallengeStep
    from kiosk.liveness.observer import challenge_window_seconds

    assert ChallengeStep.model_fields["timeout"].default == DEFAULT_STEP_TIMEOUT_S
    many = int(DEFAULT_STEP_TIMEOUT_S // PER_CHALLENGE_SECONDS) + 1
    assert challenge_window_seconds(
        SimpleNamespace(seconds=None, challenges=["blink"] * many)) == DEFAULT_STEP_TIMEOUT_S
    assert challenge_window_seconds(
        SimpleNamespace(seconds=None, challenges=["blink"])) == PER_CHALLENGE_SECONDS + 1


def test_a_version_past_the_database_integer_is_refused_at_check():
    """#13 retest: version 2**63 passed `flows check`, then publishing failed with a 500."""
    text = MINIMAL.replace("version: 1", "version: 9223372036854775808")
    problems = check_flow("mini.yaml", text)
    assert [p.message for p in problems] == [
        "version must be at most 2147483647, not 9223372036854775808"], problems
    assert not check_flow("mini.yaml", MINIMAL.replace("version: 1", "version: 2147483647"))
