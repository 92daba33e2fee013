"""Load and check flow scripts, reporting every problem as ``file:line:col: message``.

The pipeline: ``kiosk.flows.source`` reads the YAML with the mark of every value,
``kiosk.flows.messages`` maps pydantic's errors back to those marks, and
``kiosk.flows.checks`` adds what pydantic cannot check. The library of a directory is
``kiosk.flows.library.FlowLibrary``.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from kiosk.errors import FlowError
from kiosk.flows.checks import check_semantics
from kiosk.flows.messages import plural, schema_problem
from kiosk.flows.model import TEMPLATE_TOKEN_RE, Flow, parse_variable
from kiosk.flows.source import (
    Composer,
    Problem,
    Script,
    read_script,
    sorted_problems,
    value_positions,
)
from kiosk.guide.normalise import Issue, speech_issues


def analyse_flow(path: Path | str, text: str | None = None) -> tuple[Flow | None, list[Problem]]:
    """The flow (None if invalid) and every problem, sorted by line and column.

    ``text`` is the script itself when given (``path`` then only names it in problems);
    otherwise the file at ``path`` is read. Never raises for a bad script.
    """
    p = Path(path)
    script, source = read_script(path, text)
    if source is None:
        return None, script.problems
    if not isinstance(script.data, dict):
        if not script.is_poisoned(()):
            script.add(() , "a flow script must be a mapping of fields (id: ..., steps: ...), "
                       f"not {script.got(())}")
        return None, sorted_problems(script.problems)
    flow = None
    try:
        flow = Flow.model_validate(script.data)
    except ValidationError as exc:
        for err in exc.errors():
            schema_problem(script, err)
    check_semantics(script)
    problems = sorted_problems(script.problems)
    if problems:
        return None, problems
    assert flow is not None
    flow._set_source(p if text is None else (p if p.name else None), source.text, source.raw)
    return flow, problems


def check_flow(path: Path | str, text: str | None = None) -> list[Problem]:
    """Every problem in a flow script (empty when it is valid)."""
    return analyse_flow(path, text)[1]


def load_flow(path: Path | str, text: str | None = None) -> Flow:
    """Load a flow script; raises FlowError listing every problem in ``.problems``."""
    flow, problems = analyse_flow(path, text)
    if problems:
        raise FlowError(
            f"{path}: {plural(len(problems), 'problem')} in the flow script; "
            f"first: {problems[0].line}:{problems[0].col}: {problems[0].message}",
            problems=problems,
        )
    assert flow is not None
    return flow


# --------------------------------------------------------------------------- speech warnings

_SPOKEN_FIELDS = ("text", "sentence", "pool", "instructions", "broker")


def _reading_misfits(text: str, broker: object) -> list[Issue]:
    """A declared reading that does not fit the variable's value: {name:digits} (a name is
    never digits), {id_last4:name}, {broker:digits} on a broker name with letters."""
    out = []
    for m in TEMPLATE_TOKEN_RE.finditer(text):
        if m.group(1) is None:
            continue
        name, reading = parse_variable(m.group(1))
        if reading is None:
            continue
        tok = m.group(0)
        if name == "name" and reading in ("digits", "number"):
            out.append(Issue(m.start(), f"{tok} reads the applicant's name as {reading}, but a "
                             "name is not digits; write {name}"))
        elif name == "id_last4" and reading == "name":
            out.append(Issue(m.start(), f"{tok} reads the ID's last digits as a name (a "
                             "cardinal); write {id_last4} for digits or {id_last4:number}"))
        elif name == "broker" and reading in ("digits", "number") and isinstance(broker, str) \
                and not re.fullmatch(r"[\d\s-]+", broker):
            how = ("would spell" if reading == "digits" else "cannot read as a number")
            what = ("one character at a time" if reading == "digits" else "and reads it as text")
            out.append(Issue(m.start(), f"{tok} {how} {broker} {what}; write {{broker}}"))
    return out


def speech_warnings(path: Path | str, text: str | None = None) -> list[Problem]:
    """What the guide's voice would say badly in a valid flow's spoken texts, as warnings.

    Each is at the character's ``file:line:col`` (the start of the text when the text spans
    lines). See ``kiosk.guide.normalise.speech_issues`` for what is reported. An unreadable or
    invalid file gives no warnings: ``check_flow`` reports it.
    """
    file = str(path)
    try:
        body = Path(path).read_text(encoding="utf-8") if text is None else text
        body = body.lstrip("\ufeff")  # the text the marks index
        composer = Composer(body)
        try:
            root = composer.get_single_node()
        finally:
            composer.dispose()
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return []
    if root is None:
        return []
    script = Script(file, None)
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
        try:
            issues = list(speech_issues(spoken, locale))
        except Exception as exc:  # a rule's fault is a finding, not a traceback
            issues = [Issue(0, f"the guide's speech rules failed on this text "
                               f"({type(exc).__name__}: {str(exc)[:80]}); please report it, "
                               f"and reword the text until it is fixed")]
        issues += _reading_misfits(node.value, script.raw(("broker", locale)))
        places = value_positions(body, node, [issue.offset for issue in issues])
        for issue, (line, col) in zip(issues, places, strict=True):
            out.append(Problem(file, line, col,
                               f"warning: {script.prefix(where)[0]}{issue.message}"))
    return sorted_problems(out)
