"""The YAML source of a flow script, with the line and column of every value.

The YAML is composed (never constructed) with PyYAML's SafeLoader so that every value keeps
its line and column; only plain YAML types are accepted. ``Script`` keeps an index from each
value's path (a tuple of keys and list indices) to its node, and the problems found so far,
each at a 1-based ``file:line:col``. Characters YAML cannot read or misreads are reported
before YAML sees the text, at the column an editor shows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kiosk.flows.model import ID_PATTERN, LOCALE_PATTERN
from kiosk.protocol import LOCALES

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 12  # the deepest legal value (steps/N/instructions/blink/en) is 5 levels down
MAX_PROBLEMS = 100  # a hostile file can have thousands; the first hundred are enough to act on
MAX_ALIAS_REPORTS = 3  # aliases reported one by one; the rest in one problem

_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
_ALIAS_TAG = "tag:kiosk:alias"  # stands in for a refused alias; reported once, at compose time


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


class Composer(yaml.SafeLoader):
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

    def compose_scalar_node(self, anchor):
        tag = self.peek_event().tag
        node = super().compose_scalar_node(anchor)
        # Written by hand (!!int "010"), not resolved from the value: Script.build refuses it.
        node.explicit_tag = tag not in (None, "!")
        return node


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag


class Script:
    """One script being checked: its node index, raw data and the problems found so far."""

    def __init__(self, file: str, stem: str | None):
        self.file = file
        self.stem = stem
        self.problems: list[Problem] = []
        # path (tuple of keys / indices) -> (key node or None, value node)
        self.index: dict[tuple, tuple[yaml.Node | None, yaml.Node]] = {}
        self.poisoned: set[tuple] = set()
        self.data: object = None
        self.body: str | None = None  # the text the marks index (set by read_script)
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

    def add_at(self, path: tuple, offset: int, message: str) -> None:
        """A problem at character ``offset`` of the text value at ``path`` (its exact line and
        column; the value's start when the value is not a scalar with its source read)."""
        _, node = self.index.get(path, (None, None))
        if self.body is None or not isinstance(node, yaml.ScalarNode):
            self.add(path, message)
            return
        ((line, col),) = value_positions(self.body, node, [offset])
        self.problems.append(Problem(self.file, line, col, message))

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
            if getattr(node, "explicit_tag", False) and node.tag != _YAML + "str":
                # !!int "010" is 8 and !!int "0x1F" is 31: a tag skips the checks on how a
                # number is written, which see only plain scalars (#13 retest N2).
                self.add_mark(node.start_mark,
                              f"tag {_short_tag(node.tag)} is not allowed; flow scripts are "
                              "plain YAML, so remove the tag and write the value itself (a "
                              "number in plain decimal digits: version: 10)")
                self.poisoned.add(path)
                return None
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
        cur: Any = self.data  # nested dicts and lists; a wrong kind is caught below
        for part in path:
            try:
                cur = cur[part]
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
        locales = self.locales() or list(LOCALES)
        return "{" + ", ".join(f"{lc}: ..." for lc in locales) + "}"



# --------------------------------------------------------------------------- characters


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
# Characters an editor does not show: Unicode's format characters (category Cf: U+FEFF, the
# zero-width spaces and joiners, the soft hyphen, tag characters) plus the fillers that render
# as nothing. YAML reads them as part of a key, a number or a text (``title`` with a U+FEFF
# inside is an unknown field; ``kind:`` followed by one is a YAML error), so each is named at
# its place. The bidirectional controls among them also change the order in which a text is
# displayed, which in a consent or risk text shown to the investor is worse than noise.
_INVISIBLE_EXTRA = "\u034f\u115f\u1160\u3164\uffa0"
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROL_NAMES = {0x00: "NUL", 0x07: "BELL", 0x08: "BACKSPACE", 0x0B: "LINE TABULATION",
                  0x0C: "FORM FEED", 0x1B: "ESCAPE", 0x7F: "DELETE"}


def _char_name(ch: str) -> str:
    if unicodedata.category(ch) == "Cs":
        return f"U+{ord(ch):04X} (a lone surrogate, half of a pair)"
    name = (_CONTROL_NAMES.get(ord(ch)) or unicodedata.name(ch, "")
            or ("a control character" if unicodedata.category(ch) == "Cc" else "a non-character"))
    return f"U+{ord(ch):04X} ({name})"


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_EXTRA


def _invisible_problem(ch: str) -> str:
    if ch in _BIDI_CONTROLS:
        return (f"character {_char_name(ch)} is invisible and changes the order in which the "
                "text around it is displayed; delete it")
    return (f"character {_char_name(ch)} is invisible (editors do not show it) but YAML "
            "reads it as part of the key, number or text here; delete it")


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
        indent_named = odd is not None and line[indent:indent + 1] not in ("", "#")
        if indent_named:
            assert odd is not None
            problems.append(Problem(file, n, odd.start() + 1,
                                    f"the indentation holds {_char_name(odd.group())}, not an "
                                    "ordinary space; replace it with ordinary spaces"))
        for i, ch in enumerate(line):
            if _invisible(ch) and not (indent_named and i < indent):
                problems.append(Problem(file, n, i + 1, _invisible_problem(ch)))
            elif ch == "\r" and i < len(line) - 1:  # a lone CR (a CR LF ends the line)
                problems.append(Problem(file, n, i + 1,
                                        "character U+000D (CARRIAGE RETURN) alone is read by "
                                        "YAML as a line break; delete it, or press Enter for a "
                                        "new line"))
        if len(problems) > MAX_PROBLEMS:
            break
    return problems



def value_positions(body: str, node: yaml.ScalarNode,
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


# --------------------------------------------------------------------------- reading a file


@dataclass(frozen=True)
class SourceText:
    """A flow script as read: its bytes and their UTF-8 text (a leading BOM kept)."""

    raw: bytes
    text: str


# A key typed with a full-width colon (text：, - id： welcome): YAML reads it as text and
# then fails lines later with "could not find expected ':'".
_WIDE_COLON_KEY = re.compile(r"^[ ]*(?:-[ ]+)?(?P<k>[A-Za-z_][A-Za-z0-9_-]*)[ ]*(?P<c>\uff1a)")


def _wide_colon_key(body: str, mark: yaml.Mark | None) -> tuple[int, int, str] | None:
    """(line, column, key) of the first key with a full-width colon up to the line YAML
    stopped at, or None."""
    last = mark.line if mark is not None else body.count("\n")
    for n, line in enumerate(body.split("\n")[:last + 1], start=1):
        m = _WIDE_COLON_KEY.match(line)
        if m is not None:
            return n, m.start("c") + 1, m.group("k")
    return None


def read_script(path: Path | str, text: str | None = None) -> tuple[Script, SourceText | None]:
    """Read and compose a flow script (the file at ``path``, or ``text`` named ``path``).

    Returns the script (its ``data`` built from the YAML, its node index filled) and the text
    read; the text is None when the file could not be read or composed at all, and then the
    script's ``problems`` say why, ready to report. Never raises for bad input.
    """
    p = Path(path)
    file = str(path)
    stem = p.stem if p.name else None
    script = Script(file, stem)
    if text is None:
        try:
            size = p.stat().st_size
            if size > MAX_FILE_BYTES:
                script.add_mark(None, f"file is {size} bytes; a flow script may be at most "
                                f"{MAX_FILE_BYTES} bytes, so shorten it")
                return script, None
            raw = p.read_bytes()
        except OSError as exc:
            script.add_mark(None, f"cannot read the file ({exc.strerror or exc}); check the path")
            return script, None
    else:
        raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate is named below
    if len(raw) > MAX_FILE_BYTES:
        script.add_mark(None, f"file is {len(raw)} bytes; a flow script may be at most "
                        f"{MAX_FILE_BYTES} bytes, so shorten it")
        return script, None
    try:
        source = text if text is not None else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _utf8_problem(raw, exc)
        script.problems.append(Problem(file, line, col, f"byte 0x{raw[exc.start]:02x} is not "
                                       "valid UTF-8; save the file as UTF-8"))
        return script, None
    body = source[1:] if source.startswith("\ufeff") else source
    script.problems.extend(_character_problems(file, body))
    if script.problems:
        script.problems = sorted_problems(script.problems)
        return script, None
    composer = None
    try:
        composer = Composer(body)
        root = composer.get_single_node()
    except yaml.MarkedYAMLError as exc:
        what = exc.problem or "syntax error"
        if exc.context:
            what = f"{exc.context}, {what}"
        wide = _wide_colon_key(body, exc.problem_mark)
        if wide is not None:
            line, col, key = wide
            script.problems.append(Problem(file, line, col, f"the key {key} is followed by a "
                                           "full-width colon ： (typed in Chinese input mode); "
                                           f"type an ASCII colon: {key}:"))
            return script, None
        if "'\\t'" in what:
            script.add_mark(exc.problem_mark, "a tab is used for indentation here, and YAML "
                            "allows only spaces; indent with spaces (set your editor to insert "
                            "spaces for Tab)")
            return script, None
        fix = ("check the indentation and quote texts that contain ': ' or start with a symbol"
               if "another document" not in what else
               "a flow file holds one flow, so remove the '---' and what follows or split the file")
        script.add_mark(exc.problem_mark, f"invalid YAML: {what}; {fix}")
        return script, None
    except yaml.YAMLError as exc:
        script.add_mark(getattr(exc, "problem_mark", None), f"invalid YAML: {exc}")
        return script, None
    except RecursionError:
        script.add_mark(None, "nesting is too deep to read; a flow script needs at most "
                        "5 levels, so flatten it")
        return script, None
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
        return script, None
    escaped = _escaped_character_problems(file, root)
    if escaped:
        script.problems.extend(escaped)
        script.problems = sorted_problems(script.problems)
        return script, None
    script.index[()] = (None, root)
    script.body = body
    script.data = script.build(root, ())
    return script, SourceText(raw, source)


def _escaped_character_problems(file: str, root: yaml.Node) -> list[Problem]:
    """Characters a flow script may not hold that a double-quoted escape ("\\ud800", "\\x00",
    "\\uFFFF", "\\u202e", "\\u200b", "\\N") spelled, so the source check above did not see
    them: each at its scalar's start. The loaded text is checked, so every character the source
    check refuses written raw is refused here written as an escape (#13 retest N3: a bidi
    control escaped in a welcome text was published). A lone surrogate is not a Unicode
    character: the text could not be encoded, stored or shown."""
    problems: list[Problem] = []
    stack: list[yaml.Node] = [root]
    while stack and len(problems) <= MAX_PROBLEMS:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            why = _escaped_problem(node.value)
            if why is not None:
                mark = node.start_mark
                problems.append(Problem(file, mark.line + 1, mark.column + 1,
                                        f"the escape here spells character {why}"))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return problems


def _escaped_problem(value: str) -> str | None:
    """What is wrong with the first character of a loaded text that the source check refuses
    when written raw (the message's tail, after "the escape here spells character "), or
    None."""
    for ch in value:
        if _UNREADABLE.fullmatch(ch):
            return f"{_char_name(ch)}, which is not allowed in a flow script; delete it"
        if ch in _HIDDEN_BREAKS:
            return (f"{_char_name(ch)}, which YAML and the page read as a line break; delete "
                    "it, or write \\n for a new line")
        if _invisible(ch):
            if ch in _BIDI_CONTROLS:
                return (f"{_char_name(ch)}, which is invisible and changes the order in which "
                        "the text around it is displayed; delete it")
            return f"{_char_name(ch)}, which is invisible (nobody reading it sees it); delete it"
    return None


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    """Problems without repeats, by line and column; past ``MAX_PROBLEMS``, one that says so."""
    out = sorted(dict.fromkeys(problems), key=lambda q: (q.line, q.col))
    if len(out) > MAX_PROBLEMS:
        last = out[MAX_PROBLEMS - 1]
        out = out[: MAX_PROBLEMS - 1] + [Problem(
            last.file, last.line, last.col,
            f"{len(out) - MAX_PROBLEMS + 1} more problems from here on; fix the ones above first",
        )]
    return out
