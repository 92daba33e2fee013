"""What a flow script's problems say: pydantic's errors mapped back to the YAML node they
concern, in the broker's words, each with the fix (``missing required field 'id'; add id: ...``).
"""

from __future__ import annotations

import difflib
import re

from pydantic_core import ErrorDetails

from kiosk.flows.model import MAX_ID_LENGTH, STEP_CLASSES, STEP_KINDS, Flow, VoiceSettings
from kiosk.flows.source import Script


def plural(n: int, word: str) -> str:
    """'1 problem', '2 problems'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def suggest(word: object, options) -> str:
    """"; did you mean 'x'?" for the closest of ``options``, or ""."""
    match = difflib.get_close_matches(str(word), sorted(options), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def or_list(items) -> str:
    """'a', 'a or b', 'a, b or c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


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


def _expected(kind: str, name, in_step_kind: str | None, script: Script) -> str:
    what = _EXPECTED[kind]
    if what == "a mapping" and name in _LOCALE_TEXT_FIELDS:
        return f"a mapping of locale to text, e.g. {script.text_example()}"
    if what == "a mapping" and name in _LOCALE_LIST_FIELDS and in_step_kind != "challenge":
        return "a mapping of locale to a list of texts, e.g. {zh-CN: [...], en: [...]}"
    if what == "a list" and name == "pool" and in_step_kind == "challenge":
        return "a list of challenges, e.g. [blink, nod]"
    return what


def _missing_hint(name: str, in_step: bool, script: Script) -> str:
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


def schema_problem(script: Script, err: ErrorDetails) -> None:
    """Report one pydantic error at the node it concerns (nothing under a refused node)."""
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
                msg += f"; it belongs to {or_list(users)} steps, so remove it here"
            else:
                msg += suggest(name, allowed) or f"; allowed: {', '.join(sorted(allowed))}"
        elif len(fparts) == 1:
            allowed = _fields_of(Flow)
            msg = (f"unknown top-level field '{name}'"
                   + (suggest(name, allowed) or f"; allowed: {', '.join(sorted(allowed))}"))
        elif len(fparts) == 3 and fparts[0] == "voice":
            allowed = _fields_of(VoiceSettings)
            msg = (f"unknown field '{name}' in {script.field(fparts[:2])}"
                   + (suggest(name, allowed) or "; allowed: rate, voice"))
        else:
            msg = f"{pre}unknown field '{fld}'; remove it"
        script.add(path, msg, key=True)
    elif kind == "union_tag_not_found":
        script.add(path, f"{pre}missing field 'kind'; add kind: {or_list(STEP_KINDS)}")
    elif kind == "union_tag_invalid":
        tag = ctx.get("tag", script.raw(path + ("kind",)))
        script.add(path + ("kind",), f"{pre}unknown kind '{tag}'; use {or_list(STEP_KINDS)}"
                   + suggest(tag, STEP_KINDS).replace("; did", " (did").replace("?", "?)"))
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
        script.add(path, f"{pre}{fld} must be {or_list(options)}, not {shown}"
                   + suggest(value, options))
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
                       f"{plural(ctx.get('min_length', 1), 'item')}")
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

