"""Load and check flow scripts, reporting every problem as ``file:line:col: message``.

The YAML is composed (never constructed) with PyYAML's SafeLoader so that every value keeps
its line and column; only plain YAML types are accepted. Pydantic errors are mapped back to
the node they concern, and the semantic checks (locales, variables, speaking time, ...) run
on every step that is well formed, so one pass reports all problems at once.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from kiosk.errors import FlowError
from kiosk.flows.model import (
    CHALLENGES,
    ID_PATTERN,
    LOCALE_PATTERN,
    MAX_ID_LENGTH,
    STEP_CLASSES,
    STEP_KINDS,
    TEMPLATE_TOKEN_RE,
    VARIABLES,
    ChallengeStep,
    Flow,
    QuestionStep,
    ReadAloudStep,
    Step,
    VoiceSettings,
    asked_phrase,
    challenge_words,
    estimate_values,
    parse_variable,
    prompt_seconds,
    reading_candidates,
    reading_seconds,
    step_seconds,
)
from kiosk.guide.normalise import READINGS

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 12  # the deepest legal value (steps/N/instructions/blink/en) is 5 levels down
MAX_PROMPT_SECONDS = 60.0
MIN_POOL_SIZE = 5
MIN_RETENTION_YEARS = 20
READ_MARGIN_SECONDS = 1.0
MAX_PROBLEMS = 100  # a hostile file can have thousands; the first hundred are enough to act on
MAX_ALIAS_REPORTS = 3  # time to start speaking, added to the reading estimate

_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
_ALIAS_TAG = "tag:kiosk:alias"  # stands in for a refused alias; reported once, at compose time
_STEP_ADAPTER: TypeAdapter = TypeAdapter(Step)


# Plain decimal numbers only. YAML 1.1 also reads 010 as octal 8, 0x1f as 31, 1_000 as 1000 and
# 1:30 as 90 (base 60), while 08 stays text: a broker writing "version: 010" means ten.
_NUMBER_TAGS = {_YAML + "int", _YAML + "float", _YAML + "str"}
_DECIMAL_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_DECIMAL_FLOAT = re.compile(r"[-+]?(0|[1-9][0-9]*)?\.[0-9]*([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)"
                            r"|\.(nan|NaN|NAN)")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+(\.[0-9_]*)?([eE][-+]?[0-9]+)?")


def _number_problem(node: yaml.ScalarNode) -> str | None:
    """Why a plain scalar that is, or looks like, a number other than plain decimal is refused."""
    text = node.value
    quote = f'or quote it ("{text}") if it is text'
    if _LEADING_ZERO.fullmatch(text):
        sign = "-" if text.startswith("-") else ""
        digits = text.lstrip("+-").replace("_", "").lstrip("0")
        plain = sign + ("0" + digits if digits.startswith(".") else digits or "0")
        if node.tag == _YAML + "int":
            why = f"YAML reads it as octal, so {text} would be {int(text.replace('_', ''), 8)}"
        elif node.tag == _YAML + "str":
            why = ("YAML reads such numbers as octal, and as 8 and 9 are not octal digits, "
                   f"{text} would be text")
        else:
            why = "YAML numbers must not start with 0"
        return f"number {text} has a leading zero: {why}; write {plain}, {quote}"
    if node.tag == _YAML + "int" and not _DECIMAL_INT.fullmatch(text):
        lower = text.lower()
        kind = ("a hexadecimal" if "x" in lower else "a binary" if "b" in lower
                else "a base-60" if ":" in text else "an")
        value = yaml.constructor.SafeConstructor().construct_yaml_int(node)
        return (f"number {text} is {kind} integer that YAML reads as {value}; write it in plain "
                f"decimal digits ({value}), {quote}")
    if node.tag == _YAML + "float" and not _DECIMAL_FLOAT.fullmatch(text):
        fvalue = yaml.constructor.SafeConstructor().construct_yaml_float(node)
        return (f"number {text} is read by YAML as {fvalue:g}; write it in plain decimal digits "
                f"({fvalue:g}), {quote}")
    return None


@dataclass(frozen=True)
class Problem:
    """One problem in a flow script, at a 1-based line and column."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


# --------------------------------------------------------------------------- reading


class _Composer(yaml.SafeLoader):
    """SafeLoader that records aliases instead of sharing nodes (no alias bombs)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.alias_marks: list[tuple[yaml.Mark, str]] = []

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            self.alias_marks.append((event.start_mark, event.anchor))
            return yaml.ScalarNode(_ALIAS_TAG, "", event.start_mark, event.end_mark)
        return super().compose_node(parent, index)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _suggest(word: object, options) -> str:
    match = difflib.get_close_matches(str(word), sorted(options), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _or_list(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


class _Script:
    """One script being checked: its node index, raw data and the problems found so far."""

    def __init__(self, file: str, stem: str | None):
        self.file = file
        self.stem = stem
        self.problems: list[Problem] = []
        # path (tuple of keys / indices) -> (key node or None, value node)
        self.index: dict[tuple, tuple[yaml.Node | None, yaml.Node]] = {}
        self.poisoned: set[tuple] = set()
        self.data: object = None
        self._constructor = yaml.constructor.SafeConstructor()

    # -- problems ------------------------------------------------------------------------

    def add_mark(self, mark: yaml.Mark | None, message: str) -> None:
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.problems.append(Problem(self.file, line, col, message))

    def add(self, path: tuple, message: str, key: bool = False) -> None:
        """A problem at the node of ``path`` (its key with ``key=True``), or its nearest parent."""
        p = path
        while p not in self.index and p:
            p = p[:-1]
        key_node, node = self.index.get(p, (None, None))
        target = key_node if key and key_node is not None and p == path else node
        self.add_mark(target.start_mark if target is not None else None, message)

    def is_poisoned(self, path: tuple) -> bool:
        return any(path[: len(p)] == p for p in self.poisoned)

    # -- building plain data from nodes ----------------------------------------------------

    def build(self, node: yaml.Node, path: tuple, depth: int = 0):
        if depth > MAX_DEPTH:
            self.add_mark(node.start_mark, f"nesting is deeper than {MAX_DEPTH} levels; "
                          "a flow script needs at most 5, so flatten this value")
            self.poisoned.add(path)
            return None
        if node.tag == _ALIAS_TAG:
            self.poisoned.add(path)
            return None
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in _SCALAR_TAGS:
                return self._refuse_tag(node, path)
            if node.tag == _YAML + "timestamp":
                return node.value  # a date-like text (2026-01-01) is just text here
            if node.style is None and node.tag in _NUMBER_TAGS:
                problem = _number_problem(node)
                if problem:
                    self.add_mark(node.start_mark, problem)
                    self.poisoned.add(path)
                    return None
            return self._constructor.construct_object(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _YAML + "seq":
                return self._refuse_tag(node, path)
            out = []
            for i, item in enumerate(node.value):
                self.index[path + (i,)] = (None, item)
                out.append(self.build(item, path + (i,), depth + 1))
            return out
        if node.tag != _YAML + "map":
            return self._refuse_tag(node, path)
        out_map: dict = {}
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _YAML + "merge":
                self.add_mark(key_node.start_mark,
                              "merge keys (<<) are not allowed; write the keys out in full")
                self.poisoned.add(path)
                continue
            if key_node.tag == _ALIAS_TAG:
                continue
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _YAML + "str"):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "..."
                self.add_mark(key_node.start_mark,
                              f"key {shown!r} is not text; quote it (\"{shown}\") "
                              "or use a field name")
                continue
            key = key_node.value
            if key in seen:
                first = seen[key].start_mark.line + 1
                self.add_mark(key_node.start_mark,
                              f"duplicate key '{key}' (first on line {first}); "
                              "keep only one of them")
            seen[key] = key_node
            self.index[path + (key,)] = (key_node, value_node)
            out_map[key] = self.build(value_node, path + (key,), depth + 1)
        return out_map

    def _refuse_tag(self, node: yaml.Node, path: tuple):
        self.add_mark(node.start_mark,
                      f"tag {_short_tag(node.tag)} is not allowed; flow scripts are plain YAML "
                      "(text, numbers, lists, mappings), so remove the tag")
        self.poisoned.add(path)
        return None

    # -- describing places -----------------------------------------------------------------

    def raw(self, path: tuple):
        cur = self.data
        for part in path:
            try:
                cur = cur[part]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                return None
        return cur

    def step_name(self, i: int) -> str:
        sid = self.raw(("steps", i, "id"))
        if isinstance(sid, str) and re.fullmatch(ID_PATTERN, sid):
            return f"step '{sid}'"
        return f"step {i + 1}"

    def prefix(self, path: tuple) -> tuple[str, tuple]:
        """('step 'x': ', rest of the path) for a path inside a step, else ('', path)."""
        if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
            return self.step_name(path[1]) + ": ", path[2:]
        return "", path

    @staticmethod
    def field(parts: tuple) -> str:
        out = ""
        for p in parts:
            out += f" item {p + 1}" if isinstance(p, int) else (f".{p}" if out else str(p))
        return out

    def got(self, path: tuple) -> str:
        """How a value appears in the YAML, for 'must be X, not Y' messages."""
        entry = self.index.get(path)
        node = entry[1] if entry else None
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        value = self.raw(path)
        if value is None:
            return "empty"
        if isinstance(value, bool):
            return f"{str(value).lower()} (YAML reads yes, no, on and off as true or false)"
        if isinstance(value, (int, float)):
            return f"the number {value}"
        if isinstance(value, str):
            shown = value if len(value) <= 30 else value[:27] + "..."
            return f"text {shown!r}"
        return type(value).__name__

    def locales(self) -> list[str] | None:
        loc = self.raw(("locales",))
        if isinstance(loc, list) and loc and all(
            isinstance(x, str) and re.fullmatch(LOCALE_PATTERN, x) for x in loc
        ):
            return list(dict.fromkeys(loc))
        return None

    def text_example(self) -> str:
        locales = self.locales() or ["zh-CN", "en"]
        return "{" + ", ".join(f"{lc}: ..." for lc in locales) + "}"


# --------------------------------------------------------------------------- schema errors

_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_LOCALE_TEXT_FIELDS = {"title", "text", "broker", "sentence", "answer"}
_LOCALE_LIST_FIELDS = {"pool", "phrases", "accept", "refuse"}


def _expected(kind: str, name, in_step_kind: str | None, script: _Script) -> str:
    what = _EXPECTED[kind]
    if what == "a mapping" and name in _LOCALE_TEXT_FIELDS:
        return f"a mapping of locale to text, e.g. {script.text_example()}"
    if what == "a mapping" and name in _LOCALE_LIST_FIELDS and in_step_kind != "challenge":
        return "a mapping of locale to a list of texts, e.g. {zh-CN: [...], en: [...]}"
    if what == "a list" and name == "pool" and in_step_kind == "challenge":
        return "a list of challenges, e.g. [blink, nod]"
    return what


def _missing_hint(name: str, in_step: bool, script: _Script) -> str:
    if name in _LOCALE_TEXT_FIELDS:
        return f"add {name}: {script.text_example()}"
    hints = {
        "id": "add id: a unique name such as welcome" if in_step else
        f"add id: {script.stem or 'the_file_name'}",
        "version": "add version: 1",
        "locales": "add locales: [zh-CN, en]",
        "steps": "add steps: with a list of at least one step",
        "expect": "add expect: affirm, deny or phrases",
        "pool": "add pool: [blink, nod, turn_left, turn_right, open_mouth]",
        "draw": "add draw: 1 (how many challenges to draw)",
        "seconds": "add seconds: 3 (the length of the pause)",
        "voice": "add voice: an espeak-ng voice such as gmw/en-us",
    }
    return hints.get(name, f"add {name}")


def _fields_of(cls) -> set[str]:
    return set(cls.model_fields)


def _schema_problem(script: _Script, err: ErrorDetails) -> None:
    loc = tuple(err["loc"])
    # Resolve the error location to a node path, dropping the discriminator tag pydantic adds.
    path: tuple = ()
    rest: tuple = ()
    for i, part in enumerate(loc):
        if path + (part,) in script.index:
            path = path + (part,)
            continue
        if len(path) == 2 and path[0] == "steps" and part in STEP_CLASSES:
            continue
        rest = loc[i:]
        break
    if script.is_poisoned(path):
        return
    kind = err["type"]
    ctx = err.get("ctx") or {}
    pre, fparts = script.prefix(path)
    fld = script.field(fparts)
    name = fparts[-1] if fparts else None
    in_step = pre != ""
    step_kind = script.raw(path[:2] + ("kind",)) if in_step else None
    value = script.raw(path)

    if kind == "missing":
        missing = rest[-1] if rest else name
        where = f"{fld}: " if fld else ""
        script.add(path, f"{pre}{where}missing required field '{missing}'; "
                   f"{_missing_hint(str(missing), in_step and not fparts, script)}")
    elif kind == "extra_forbidden":
        if in_step and len(fparts) == 1:
            cls = STEP_CLASSES.get(str(step_kind))
            allowed = _fields_of(cls) if cls else set()
            users = [k for k, c in STEP_CLASSES.items() if name in c.model_fields]
            msg = f"{pre}unknown field '{name}' for a {step_kind} step"
            if users:
                msg += f"; it belongs to {_or_list(users)} steps, so remove it here"
            else:
                msg += _suggest(name, allowed) or f"; allowed: {', '.join(sorted(allowed))}"
        elif len(fparts) == 1:
            allowed = _fields_of(Flow)
            msg = (f"unknown top-level field '{name}'"
                   + (_suggest(name, allowed) or f"; allowed: {', '.join(sorted(allowed))}"))
        elif len(fparts) == 3 and fparts[0] == "voice":
            allowed = _fields_of(VoiceSettings)
            msg = (f"unknown field '{name}' in {script.field(fparts[:2])}"
                   + (_suggest(name, allowed) or "; allowed: rate, voice"))
        else:
            msg = f"{pre}unknown field '{fld}'; remove it"
        script.add(path, msg, key=True)
    elif kind == "union_tag_not_found":
        script.add(path, f"{pre}missing field 'kind'; add kind: {_or_list(STEP_KINDS)}")
    elif kind == "union_tag_invalid":
        tag = ctx.get("tag", script.raw(path + ("kind",)))
        script.add(path + ("kind",), f"{pre}unknown kind '{tag}'; use {_or_list(STEP_KINDS)}"
                   + _suggest(tag, STEP_KINDS).replace("; did", " (did").replace("?", "?)"))
    elif kind in _EXPECTED:
        if in_step and not fparts:
            script.add(path, f"{pre}must be a mapping (id: ..., kind: ..., text: ...), "
                       f"not {script.got(path)}")
        else:
            expected = _expected(kind, name if not isinstance(name, int) else fparts[-2],
                                 step_kind, script)
            script.add(path, f"{pre}{fld} must be {expected}, not {script.got(path)}")
    elif kind == "literal_error":
        options = [o.strip().strip("'") for o in re.split(r",| or ", ctx.get("expected", ""))]
        options = [o for o in options if o]
        shown = repr(value) if isinstance(value, str) else script.got(path)
        script.add(path, f"{pre}{fld} must be {_or_list(options)}, not {shown}"
                   + _suggest(value, options))
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
                 "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}[kind]
        script.add(path, f"{pre}{fld} must be {bound[0]} {ctx.get(bound[1])}, not {value}")
    elif kind == "too_short":
        if fparts == ("steps",):
            script.add(path, "steps is empty; add at least one step")
        elif fparts == ("locales",):
            script.add(path, "locales is empty; list at least one, e.g. [zh-CN, en]")
        elif name == "pool":
            script.add(path, f"{pre}pool is empty; list at least one challenge, "
                       "e.g. [blink, nod]")
        else:
            script.add(path, f"{pre}{fld} must have at least "
                       f"{_plural(ctx.get('min_length', 1), 'item')}")
    elif kind == "string_too_short":
        script.add(path, f"{pre}{fld} is empty; write a value")
    elif kind == "string_too_long":
        script.add(path, f"{pre}{fld} is {len(value)} characters long; "
                   f"use at most {ctx.get('max_length')}")
    elif kind == "string_pattern_mismatch":
        if name == "id":
            better = re.sub(r"[^a-z0-9_]+", "_", str(value).lower()).strip("_") or "step"
            script.add(path, f"{pre}id '{value}' may use only lowercase letters, digits and _; "
                       f"write e.g. {better[:MAX_ID_LENGTH]}")
        elif fparts[:1] == ("locales",):
            script.add(path, f"{fld} '{value}' is not a locale tag; write it like zh-CN or en")
        elif name == "voice":
            script.add(path, f"{fld} '{value}' is not an espeak-ng voice name; "
                       "write e.g. gmw/en-us or sit/cmn-latn-pinyin")
        else:
            script.add(path, f"{pre}{fld} has an invalid format: {err['msg']}")
    else:
        script.add(path, f"{pre}{fld}: {err['msg']}" if fld else f"{pre}{err['msg']}")


# --------------------------------------------------------------------------- semantics


class _Semantics:
    def __init__(self, script: _Script):
        self.s = script
        self.locales = script.locales()
        broker = script.raw(("broker",))
        self.broker = broker if isinstance(broker, dict) else None
        voice = script.raw(("voice",))
        self.rates: dict[str, int] = {}
        if isinstance(voice, dict):
            for lc, v in voice.items():
                if isinstance(v, dict) and isinstance(v.get("rate"), int) and v["rate"] > 0:
                    self.rates[lc] = v["rate"]

    def run(self) -> None:
        s = self.s
        data = s.data
        assert isinstance(data, dict)
        self.check_locales_list()
        fid = data.get("id")
        if (isinstance(fid, str) and s.stem is not None and fid != s.stem
                and re.fullmatch(ID_PATTERN, fid)):
            s.add(("id",), f"id '{fid}' does not match the file name '{s.stem}.yaml'; "
                  f"rename the file to {fid}.yaml or set id: {s.stem}")
        years = data.get("retention_years")
        if (isinstance(years, int) and not isinstance(years, bool)
                and 1 <= years < MIN_RETENTION_YEARS):
            s.add(("retention_years",), f"retention_years is {years}; evidence must be kept at "
                  f"least {MIN_RETENTION_YEARS} years, so set retention_years: "
                  f"{MIN_RETENTION_YEARS} or more")
        self.check_texts(("title",), variables=False)
        self.check_texts(("broker",), variables=False)
        if isinstance(data.get("voice"), dict) and self.locales:
            for lc in data["voice"]:
                if lc not in self.locales:
                    s.add(("voice", lc), f"voice has locale '{lc}', which is not in locales "
                          f"({', '.join(self.locales)}); remove it or add it to locales"
                          + _suggest(lc, self.locales), key=True)
        steps = data.get("steps")
        if isinstance(steps, list):
            self.check_step_ids(steps)
            for i, raw in enumerate(steps):
                if not isinstance(raw, dict) or s.is_poisoned(("steps", i)):
                    continue
                self.check_step_texts(("steps", i), raw)
                step, clean = _lenient_step(raw)
                if step is not None:
                    self.check_step(("steps", i), step, raw, clean)

    def check_locales_list(self) -> None:
        loc = self.s.raw(("locales",))
        if not isinstance(loc, list):
            return
        seen: dict[str, int] = {}
        for i, lc in enumerate(loc):
            if isinstance(lc, str) and lc in seen:
                self.s.add(("locales", i), f"locales lists '{lc}' twice; remove one")
            elif isinstance(lc, str):
                seen[lc] = i

    def check_step_ids(self, steps: list) -> None:
        seen: dict[str, int] = {}
        for i, raw in enumerate(steps):
            sid = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(sid, str):
                continue
            if sid in seen:
                self.s.add(("steps", i, "id"), f"step id '{sid}' is already used by step "
                           f"{seen[sid] + 1}; give every step a different id")
            else:
                seen[sid] = i

    # -- texts ---------------------------------------------------------------------------

    def check_texts(self, path: tuple, variables: bool = True, lists: bool = False,
                    what: str = "text") -> None:
        """Every locale present, no others, no blanks, only known variables."""
        s = self.s
        value = s.raw(path)
        if not isinstance(value, dict) or s.is_poisoned(path):
            return
        pre, parts = s.prefix(path)
        fld = s.field(parts)
        locales = self.locales or []
        for lc in locales:
            if lc not in value:
                example = "[...]" if lists else "..."
                s.add(path, f"{pre}{fld} has no {lc} {what}; add {lc}: {example} "
                      f"(every text needs {', '.join(locales)})")
        for lc, v in value.items():
            if self.locales is not None and lc not in self.locales:
                s.add(path + (lc,), f"{pre}{fld} has locale '{lc}', which is not in locales "
                      f"({', '.join(self.locales)}); fix the name or add it to locales"
                      + _suggest(lc, self.locales), key=True)
                continue
            if lists:
                if not isinstance(v, list):
                    continue
                if not v:
                    s.add(path + (lc,), f"{pre}{fld}.{lc} is empty; add at least one {what}")
                first: dict[str, int] = {}
                for j, item in enumerate(v):
                    if not isinstance(item, str):
                        continue
                    self.check_one(path + (lc, j), item, variables)
                    norm = item.strip()
                    if norm in first:
                        s.add(path + (lc, j), f"{pre}{fld}.{lc} item {j + 1} repeats item "
                              f"{first[norm] + 1}; make every {what} different")
                    else:
                        first[norm] = j
            elif isinstance(v, str):
                self.check_one(path + (lc,), v, variables)

    def check_one(self, path: tuple, text: str, variables: bool) -> None:
        s = self.s
        pre, parts = s.prefix(path)
        fld = s.field(parts)
        if not text.strip():
            s.add(path, f"{pre}{fld} is empty; write the words to use")
            return
        for m in TEMPLATE_TOKEN_RE.finditer(text):
            tok = m.group(0)
            if tok in ("{{", "}}"):
                continue
            name = m.group(1)
            reading = None
            if name is not None:
                name, reading = parse_variable(name)
            if name is None:
                s.add(path, f"{pre}{fld} has a lone '{tok}'; write {tok}{tok} for a brace, "
                      "or {name} for a variable")
            elif reading is not None and reading not in READINGS:
                s.add(path, f"{pre}{fld} reads {{{name}}} as '{reading}'; write "
                      + _or_list([f"{{{name}:{r}}}" for r in READINGS])
                      + _suggest(reading, READINGS))
            elif not variables:
                s.add(path, f"{pre}{fld} uses {{{name}}}, but variables are not filled in "
                      "here; write the words out")
            elif name not in VARIABLES:
                s.add(path, f"{pre}{fld} uses unknown variable {{{name}}}; use "
                      + _or_list([f"{{{v}}}" for v in sorted(VARIABLES)])
                      + _suggest(name, VARIABLES))
            elif name == "broker" and not self.broker:
                s.add(path, f"{pre}{fld} uses {{broker}} but the flow has no broker; add "
                      f"broker: {s.text_example()} at the top, or write the name out")

    # -- steps ---------------------------------------------------------------------------

    def check_step_texts(self, p: tuple, raw: dict) -> None:
        """The texts of a step, from the raw data (so they are checked even if it is invalid)."""
        kind = raw.get("kind")
        self.check_texts(p + ("text",))
        self.check_texts(p + ("title",), variables=False)
        if kind == "question":
            self.check_texts(p + ("phrases",), variables=False, lists=True, what="phrase")
            self.check_texts(p + ("answer",), variables=False)
            self.check_texts(p + ("accept",), variables=False, lists=True, what="answer")
            self.check_texts(p + ("refuse",), variables=False, lists=True, what="refusal")
        elif kind == "read_aloud":
            self.check_texts(p + ("sentence",))
            self.check_texts(p + ("pool",), lists=True, what="sentence")
        elif kind == "challenge" and isinstance(raw.get("instructions"), dict):
            for c in raw["instructions"]:
                if c in CHALLENGES:
                    self.check_texts(p + ("instructions", c))

    def check_step(self, p: tuple, step, raw: dict, clean: bool) -> None:
        """Checks that need the step's model; timing only if every field was valid.

        Presence is judged on ``raw``: a field dropped for being invalid is not 'missing'.
        """
        s = self.s
        pre, _ = s.prefix(p)
        if isinstance(step, QuestionStep):
            if step.expect == "phrases" and "phrases" not in raw:
                s.add(p + ("expect",), f"{pre}expect is phrases but no phrases are given; add "
                      "phrases: {zh-CN: [...], en: [...]} with the accepted answers")
            elif step.expect != "phrases" and step.phrases is not None:
                s.add(p + ("phrases",), f"{pre}phrases are only used with expect: phrases; "
                      "remove them or set expect: phrases", key=True)
            self.check_answer(p, pre, step, raw)
        if isinstance(step, ReadAloudStep):
            self.check_read_aloud(p, pre, step, raw)
        if isinstance(step, ChallengeStep):
            self.check_challenge(p, pre, step)
        if self.locales is not None and clean:
            self.check_timing(p, pre, step)

    def check_answer(self, p: tuple, pre: str, step: QuestionStep, raw: dict) -> None:
        """The answer the guide asks for must be the step's ``answer`` and must be accepted."""
        from kiosk.speech.answers import AnswerSpec, has_negation, judge_text, tokens_equal

        s = self.s
        wanted = {"affirm": "affirm", "deny": "deny", "phrases": "phrase"}[step.expect]
        meaning = {"affirm": "a yes", "deny": "a no", "phrase": "one of the step's phrases"}
        for lc in self.locales or sorted(step.text):
            asked = asked_phrase(step.text.get(lc, ""))
            own = (step.answer or {}).get(lc)
            if own is not None and asked and not tokens_equal(own, asked, lc):
                s.add(p + ("answer", lc), f"{pre}answer.{lc} is '{own}' but the text asks the "
                      f"investor to say '{asked}'; make them the same")
                continue
            requested, accepted, refuse = step.answer_spec(lc)
            if not requested:
                continue
            try:
                spec = AnswerSpec(step.expect, requested, accepted, refuse)
            except ValueError as exc:
                s.add(p, f"{pre}{exc}")
                continue
            judged = judge_text(requested, lc, spec)
            if step.expect == "deny":
                # The answer joins the refusals, so it always "is" one: judge it on its own.
                judged = judge_text(requested, lc, AnswerSpec("deny", None, (), refuse))
            if judged.intent != wanted:
                where = p + (("answer", lc) if own is not None else ("text", lc))
                heard = {"deny": "a refusal", "affirm": "a yes", "phrase": "a phrase"}.get(
                    judged.intent, "unclear")
                s.add(where, f"{pre}the requested answer '{requested}' would be heard as "
                      f"{heard} ({judged.reason}), but expect is {step.expect}, which needs "
                      f"{meaning[wanted]}; change the answer or expect")

        for lc, items in (step.refuse or {}).items():
            for j, item in enumerate(items):
                if judge_text(item, lc).intent == "affirm":
                    s.add(p + ("refuse", lc, j), f"{pre}refuse.{lc} lists '{item}', which is a "
                          "yes: saying it would stop the witness as declined; remove it")
        for lc, items in (step.accept or {}).items():
            for j, item in enumerate(items):
                if has_negation(item, lc):
                    s.add(p + ("accept", lc, j), f"{pre}accept.{lc} lists '{item}', which holds "
                          "a negation and is never taken as consent; remove it or rephrase")

    def check_read_aloud(self, p: tuple, pre: str, step: ReadAloudStep, raw: dict) -> None:
        s = self.s
        given = [f for f in ("sentence", "pool", "digits") if raw.get(f) is not None]
        if not given:
            s.add(p, f"{pre}a read_aloud step needs one of sentence, pool or digits; add one")
        elif len(given) > 1:
            s.add(p + (given[1],), f"{pre}has both {given[0]} and {given[1]}; keep only one "
                  "of sentence, pool or digits", key=True)
        if step.pool is not None and self.locales:
            for lc, items in step.pool.items():
                if lc in self.locales and 0 < len(items) < MIN_POOL_SIZE:
                    count = _plural(len(items), "sentence")
                    s.add(p + ("pool", lc), f"{pre}pool.{lc} has {count}; "
                          f"a pool needs at least {MIN_POOL_SIZE} so the investor cannot "
                          f"prepare the answer, so add {MIN_POOL_SIZE - len(items)} more")

    def check_challenge(self, p: tuple, pre: str, step: ChallengeStep) -> None:
        s = self.s
        seen: set[str] = set()
        for j, c in enumerate(step.pool):
            if c not in CHALLENGES:
                s.add(p + ("pool", j), f"{pre}unknown challenge '{c}'; use "
                      f"{_or_list(sorted(CHALLENGES))}" + _suggest(c, CHALLENGES))
            elif c in seen:
                s.add(p + ("pool", j), f"{pre}pool lists '{c}' twice; list each challenge once")
            seen.add(c)
        known = seen & CHALLENGES
        if step.draw > len(seen):
            s.add(p + ("draw",), f"{pre}draw is {step.draw} but pool has only "
                  f"{_plural(len(seen), 'different challenge')}; lower draw or add "
                  "challenges to pool")
        for c in step.instructions or {}:
            if c not in CHALLENGES:
                s.add(p + ("instructions", c), f"{pre}instructions for unknown challenge "
                      f"'{c}'; use {_or_list(sorted(CHALLENGES))}" + _suggest(c, CHALLENGES),
                      key=True)
        if self.locales:
            for c in sorted(known - set(step.instructions or {})):
                for lc in self.locales:
                    if challenge_words(step, c, lc) is None:
                        s.add(p + ("pool",), f"{pre}there are no built-in words for challenge "
                              f"'{c}' in {lc}; add instructions: {{{c}: {{{lc}: ...}}}}")

    def check_timing(self, p: tuple, pre: str, step) -> None:
        """Prompt length, the answer window of read_aloud, and the step timeout."""
        s = self.s
        assert self.locales is not None
        need_total, worst_locale = 0.0, None
        for lc in self.locales:
            try:
                spoken = prompt_seconds(step, lc, self.broker, self.rates.get(lc))
                total = step_seconds(step, lc, self.broker, self.rates.get(lc))
            except (KeyError, TypeError, ValueError, FlowError):
                continue  # a missing text or bad template, reported by the text checks
            if spoken > MAX_PROMPT_SECONDS:
                s.add(p + ("text", lc), f"{pre}the {lc} prompt takes about {spoken:.0f} s to "
                      f"speak (limit {MAX_PROMPT_SECONDS:.0f} s); shorten it or split it over "
                      "two steps")
            if total > need_total:
                need_total, worst_locale = total, lc
        if isinstance(step, ReadAloudStep):
            self.check_answer_window(p, pre, step)
        if worst_locale is not None and step.timeout < need_total:
            where = p + ("timeout",) if p + ("timeout",) in s.index else p
            s.add(where, f"{pre}timeout is {step.timeout:g} s but the step needs about "
                  f"{need_total:.0f} s in {worst_locale} (speaking, answer window, pauses); "
                  f"set timeout: {math.ceil(need_total)} or more")

    def check_answer_window(self, p: tuple, pre: str, step: ReadAloudStep) -> None:
        s = self.s
        worst, worst_lc = 0.0, None
        for lc in self.locales or []:
            try:
                values = estimate_values(self.broker, lc)
                texts = reading_candidates(step, lc, values)
            except (KeyError, TypeError, ValueError, FlowError):
                continue
            seconds = max((reading_seconds(t, lc) for t in texts), default=0.0)
            if seconds > worst:
                worst, worst_lc = seconds, lc
        need = worst + READ_MARGIN_SECONDS
        if worst_lc is not None and step.answer_seconds < need:
            what = {"sentence": "sentence", "pool": "longest pool sentence",
                    "digits": "digits"}
            kind = next(k for k in what if getattr(step, k) is not None)
            where = p + ("answer_seconds",) if p + ("answer_seconds",) in s.index else p
            s.add(where, f"{pre}answer_seconds is {step.answer_seconds:g} but reading the "
                  f"{worst_lc} {what[kind]} takes about {need:.0f} s; set answer_seconds: "
                  f"{math.ceil(need)} or more")


def _lenient_step(raw: dict):
    """(step model, True) if valid; else the model without its invalid fields and False.

    None when a required field is missing or the kind is unknown: nothing can be checked.
    """
    data = dict(raw)
    for _ in range(3):
        try:
            return _STEP_ADAPTER.validate_python(data), data == raw
        except ValidationError as exc:
            for err in exc.errors():
                loc = err["loc"]
                if len(loc) < 2 or (err["type"] == "missing" and len(loc) == 2):
                    return None, False
                if loc[1] == "kind":
                    return None, False
                if loc[1] == "id":
                    data["id"] = "invalid_id"  # reported already; keep checking the rest
                else:
                    data.pop(loc[1], None)
    return None, False


# --------------------------------------------------------------------------- entry points


def _utf8_problem(raw: bytes, exc: UnicodeDecodeError) -> tuple[int, int]:
    before = raw[: exc.start]
    line = before.count(b"\n") + 1
    line_start = before[before.rfind(b"\n") + 1:]
    return line, len(line_start.decode("utf-8", "replace").lstrip("\ufeff")) + 1


# What YAML refuses to read at all (its reader's rule), and what it reads as a line break
# although editors do not, which would shift every later line number.
_UNREADABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD"
                         "\U00010000-\U0010FFFF]")
_HIDDEN_BREAKS = "\x85\u2028\u2029"
# Spaces that look like spaces but are not YAML indentation (copied from a web page, Word, or
# typed with a Chinese input method).
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]")
_CONTROL_NAMES = {0x00: "NUL", 0x07: "BELL", 0x08: "BACKSPACE", 0x0B: "LINE TABULATION",
                  0x0C: "FORM FEED", 0x1B: "ESCAPE", 0x7F: "DELETE"}


def _char_name(ch: str) -> str:
    name = (_CONTROL_NAMES.get(ord(ch)) or unicodedata.name(ch, "")
            or ("a control character" if unicodedata.category(ch) == "Cc" else "a non-character"))
    return f"U+{ord(ch):04X} ({name})"


def _character_problems(file: str, body: str) -> list[Problem]:
    """Characters YAML cannot read or misreads, at their line and column as an editor shows
    them, before YAML sees the text (YAML would stop at the first, or report it a line late)."""
    problems: list[Problem] = []
    for n, line in enumerate(body.split("\n"), start=1):
        for m in _UNREADABLE.finditer(line):
            problems.append(Problem(file, n, m.start() + 1,
                                    f"character {_char_name(m.group())} is not allowed in a "
                                    "flow script; delete it"))
        for i, ch in enumerate(line):
            if ch in _HIDDEN_BREAKS:
                problems.append(Problem(file, n, i + 1,
                                        f"character {_char_name(ch)} is read by YAML as a line "
                                        "break; delete it, or press Enter for a new line"))
        indent = len(line) - len(line.lstrip(" -\u00a0\u1680\u2000\u2001\u2002\u2003\u2004"
                                               "\u2005\u2006\u2007\u2008\u2009\u200a\u200b"
                                               "\u202f\u205f\u3000\ufeff"))
        odd = _ODD_SPACES.search(line, 0, indent)
        if odd is not None and line[indent:indent + 1] not in ("", "#"):
            problems.append(Problem(file, n, odd.start() + 1,
                                    f"the indentation holds {_char_name(odd.group())}, not an "
                                    "ordinary space; replace it with ordinary spaces"))
        if len(problems) > MAX_PROBLEMS:
            break
    return problems


def analyse_flow(path: Path | str, text: str | None = None) -> tuple[Flow | None, list[Problem]]:
    """The flow (None if invalid) and every problem, sorted by line and column."""
    p = Path(path)
    file = str(path)
    stem = p.stem if p.name else None
    script = _Script(file, stem)
    if text is None:
        try:
            size = p.stat().st_size
            if size > MAX_FILE_BYTES:
                script.add_mark(None, f"file is {size} bytes; a flow script may be at most "
                                f"{MAX_FILE_BYTES} bytes, so shorten it")
                return None, script.problems
            raw = p.read_bytes()
        except OSError as exc:
            script.add_mark(None, f"cannot read the file ({exc.strerror or exc}); check the path")
            return None, script.problems
    else:
        raw = text.encode("utf-8")
    if len(raw) > MAX_FILE_BYTES:
        script.add_mark(None, f"file is {len(raw)} bytes; a flow script may be at most "
                        f"{MAX_FILE_BYTES} bytes, so shorten it")
        return None, script.problems
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _utf8_problem(raw, exc)
        script.problems.append(Problem(file, line, col, f"byte 0x{raw[exc.start]:02x} is not "
                                       "valid UTF-8; save the file as UTF-8"))
        return None, script.problems
    body = source[1:] if source.startswith("\ufeff") else source
    script.problems.extend(_character_problems(file, body))
    if script.problems:
        return None, _sorted(script.problems)
    composer = None
    try:
        composer = _Composer(body)
        root = composer.get_single_node()
    except yaml.MarkedYAMLError as exc:
        what = exc.problem or "syntax error"
        if exc.context:
            what = f"{exc.context}, {what}"
        fix = ("check the indentation and quote texts that contain ': ' or start with a symbol"
               if "another document" not in what else
               "a flow file holds one flow, so remove the '---' and what follows or split the file")
        script.add_mark(exc.problem_mark, f"invalid YAML: {what}; {fix}")
        return None, script.problems
    except yaml.YAMLError as exc:
        script.add_mark(getattr(exc, "problem_mark", None), f"invalid YAML: {exc}")
        return None, script.problems
    except RecursionError:
        script.add_mark(None, "nesting is too deep to read; a flow script needs at most "
                        "5 levels, so flatten it")
        return None, script.problems
    finally:
        if composer is not None:
            composer.dispose()
    assert composer is not None  # built, or the except clauses above returned
    for mark, anchor in composer.alias_marks[:MAX_ALIAS_REPORTS]:
        script.add_mark(mark, f"alias *{anchor} is not allowed; write the value out in full")
    extra = len(composer.alias_marks) - MAX_ALIAS_REPORTS
    if extra > 0:
        script.add_mark(composer.alias_marks[MAX_ALIAS_REPORTS][0],
                        f"{extra} more alias{'es' if extra > 1 else ''} (*name) here and below; "
                        "write every value out in full")
    if root is None:
        script.add_mark(None, "file is empty; a flow needs id, version, title, locales and steps")
        return None, script.problems
    script.index[()] = (None, root)
    script.data = script.build(root, ())
    if not isinstance(script.data, dict):
        if not script.is_poisoned(()):
            script.add(() , "a flow script must be a mapping of fields (id: ..., steps: ...), "
                       f"not {script.got(())}")
        return None, _sorted(script.problems)
    flow = None
    try:
        flow = Flow.model_validate(script.data)
    except ValidationError as exc:
        for err in exc.errors():
            _schema_problem(script, err)
    _Semantics(script).run()
    problems = _sorted(script.problems)
    if problems:
        return None, problems
    assert flow is not None
    flow._set_source(p if text is None else (p if p.name else None), source, raw)
    return flow, problems


def _sorted(problems: list[Problem]) -> list[Problem]:
    out = sorted(dict.fromkeys(problems), key=lambda q: (q.line, q.col))
    if len(out) > MAX_PROBLEMS:
        last = out[MAX_PROBLEMS - 1]
        out = out[: MAX_PROBLEMS - 1] + [Problem(
            last.file, last.line, last.col,
            f"{len(out) - MAX_PROBLEMS + 1} more problems from here on; fix the ones above first",
        )]
    return out


def check_flow(path: Path | str, text: str | None = None) -> list[Problem]:
    """Every problem in a flow script (empty when it is valid)."""
    return analyse_flow(path, text)[1]


def load_flow(path: Path | str, text: str | None = None) -> Flow:
    """Load a flow script; raises FlowError listing every problem in ``.problems``."""
    flow, problems = analyse_flow(path, text)
    if problems:
        raise FlowError(
            f"{path}: {_plural(len(problems), 'problem')} in the flow script; "
            f"first: {problems[0].line}:{problems[0].col}: {problems[0].message}",
            problems=problems,
        )
    assert flow is not None
    return flow


class UnknownFlowError(FlowError, KeyError):
    """No flow with that id in the library."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_FLOW_ID_RE = re.compile(rf"[a-z0-9_]{{1,{MAX_ID_LENGTH}}}")


class FlowLibrary:
    """The flows of one directory, by id; reloads a file when it changes on disk."""

    def __init__(self, flows_dir: Path | str):
        self.flows_dir = Path(flows_dir)
        self._cache: dict[str, tuple[tuple[int, int], Flow]] = {}
        self._lock = threading.Lock()

    def path_for(self, flow_id: str) -> Path:
        """The file of a flow id; refuses anything but [a-z0-9_] (no paths, no dots)."""
        if not isinstance(flow_id, str) or not _FLOW_ID_RE.fullmatch(flow_id):
            raise UnknownFlowError(
                f"invalid flow id {str(flow_id)[:80]!r}: use lowercase letters, digits and _"
            )
        return self.flows_dir / f"{flow_id}.yaml"

    def get(self, flow_id: str) -> Flow:
        """The valid flow with this id; UnknownFlowError or FlowError (with problems) if not."""
        path = self.path_for(flow_id)
        try:
            st = path.stat()
        except OSError:
            available = ", ".join(self.ids()) or "none"
            raise UnknownFlowError(f"unknown flow '{flow_id}'; available: {available}") from None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(flow_id)
            if cached and cached[0] == stamp:
                return cached[1]
        flow, problems = analyse_flow(path, None)
        if problems:
            log.error("flow %s is invalid: %s", flow_id, "; ".join(map(str, problems[:5])))
            # No directory in the message: callers may show it to the investor.
            raise FlowError(f"flow '{flow_id}' is invalid ({_plural(len(problems), 'problem')});"
                            f" run: kiosk flows check {path.name}", problems=problems)
        assert flow is not None
        with self._lock:
            self._cache[flow_id] = (stamp, flow)
        return flow

    def ids(self) -> list[str]:
        """Ids of every *.yaml file whose name is a valid flow id."""
        if not self.flows_dir.is_dir():
            return []
        return sorted(p.stem for p in self.flows_dir.glob("*.yaml")
                      if _FLOW_ID_RE.fullmatch(p.stem))

    def scan(self) -> list[tuple[Path, Flow | FlowError]]:
        """Every flow file with its flow or the error that keeps it from loading."""
        out: list[tuple[Path, Flow | FlowError]] = []
        for fid in self.ids():
            try:
                out.append((self.path_for(fid), self.get(fid)))
            except FlowError as exc:
                out.append((self.path_for(fid), exc))
        return out

    def list(self) -> list[Flow]:
        """Every valid flow, by id; invalid files are logged and left out."""
        return [f for _, f in self.scan() if isinstance(f, Flow)]


# --------------------------------------------------------------------------- speech warnings

_SPOKEN_FIELDS = ("text", "sentence", "pool", "instructions", "broker")


def speech_warnings(path: Path | str, text: str | None = None) -> list[Problem]:
    """What the guide's voice would say badly in a valid flow's spoken texts, as warnings.

    Each is at the character's ``file:line:col`` (the start of the text when the text spans
    lines). See ``kiosk.guide.normalise.speech_issues`` for what is reported. An unreadable or
    invalid file gives no warnings: ``check_flow`` reports it.
    """
    from kiosk.guide.normalise import speech_issues

    file = str(path)
    try:
        body = Path(path).read_text(encoding="utf-8") if text is None else text
        body = body.lstrip("\ufeff")  # the text the marks index
        composer = _Composer(body)
        try:
            root = composer.get_single_node()
        finally:
            composer.dispose()
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return []
    if root is None:
        return []
    script = _Script(file, None)
    script.index[()] = (None, root)
    script.data = script.build(root, ())
    locales = script.locales() or []
    out: list[Problem] = []
    for where, (_, node) in script.index.items():
        if not (isinstance(node, yaml.ScalarNode) and isinstance(node.value, str)):
            continue
        locale = next((p for p in where if isinstance(p, str) and p in locales), None)
        if locale is None or not any(f in where for f in _SPOKEN_FIELDS):
            continue
        if where[:1] == ("steps",) and len(where) > 2 and where[2] not in _SPOKEN_FIELDS:
            continue
        # Variables are read by their own readings: blank them out, keeping offsets.
        spoken = TEMPLATE_TOKEN_RE.sub(lambda m: " " * len(m.group(0)), node.value)
        issues = list(speech_issues(spoken, locale))
        places = _value_positions(body, node, [issue.offset for issue in issues])
        for issue, (line, col) in zip(issues, places, strict=True):
            out.append(Problem(file, line, col,
                               f"warning: {script.prefix(where)[0]}{issue.message}"))
    return _sorted(out)


def _value_positions(body: str, node: yaml.ScalarNode,
                     offsets: list[int]) -> list[tuple[int, int]]:
    """1-based (line, column) in ``body`` of the characters at ``offsets`` in a scalar's value.

    The value is its source with quotes, indentation, block headers (| >) and line folding
    taken out, so its characters other than spaces and line breaks appear in the source in
    order: each is found after the one before (one pass over the scalar). A character written
    as an escape ("\\u00e9") is not in the source: it is placed at the scalar's start.
    """
    start_mark = node.start_mark
    start, end = start_mark.index, node.end_mark.index
    source, value = body[start:end], node.value
    # Where in the source each value character is (-1 for one not found).
    at: list[int] = []
    pos = source.find("\n") + 1 if node.style in ("|", ">") else 1 if node.style else 0
    for ch in value[:max(offsets, default=-1) + 1]:
        found = -1 if ch in " \t\n" else source.find(ch, pos)
        at.append(found)
        pos = found + 1 if found >= 0 else pos
    # Count lines as YAML's reader does for its marks, walking from the scalar's start.
    places: dict[int, tuple[int, int]] = {}
    line, col, walked = start_mark.line, start_mark.column, start
    for target in sorted({start + max(at[o], 0) for o in offsets}):
        for i in range(walked, target):
            ch = body[i]
            if ch in "\n\x85\u2028\u2029" or (ch == "\r" and body[i + 1:i + 2] != "\n"):
                line, col = line + 1, 0
            elif ch != "\ufeff":
                col += 1
        walked = target
        places[target] = (line + 1, col + 1)
    return [places[start + max(at[o], 0)] for o in offsets]
