"""The checks pydantic cannot make: locales, variables, answers, pools, speaking time.

They run on every step that is well formed (a step with an invalid field is checked without
it), so one pass reports all problems at once.
"""

from __future__ import annotations

import math
import re

from pydantic import TypeAdapter, ValidationError

from kiosk.errors import FlowError
from kiosk.flows.messages import or_list, plural, suggest
from kiosk.flows.model import (
    CHALLENGES,
    ID_PATTERN,
    TEMPLATE_TOKEN_RE,
    VARIABLES,
    ChallengeStep,
    IdDocumentStep,
    QuestionStep,
    ReadAloudStep,
    Step,
    asked_phrase,
    challenge_words,
    estimate_values,
    id_document_text,
    parse_variable,
    prompt_seconds,
    reading_candidates,
    reading_seconds,
    step_seconds,
)
from kiosk.flows.source import Script
from kiosk.flows.unled import holds_answer, unled_text
from kiosk.guide.normalise import READINGS
from kiosk.speech.answers import (
    AnswerSpec,
    has_negation,
    judge_text,
    tokens_equal,
    understanding_only,
)

MAX_PROMPT_SECONDS = 60.0
MIN_POOL_SIZE = 5
MIN_RETENTION_YEARS = 20
READ_MARGIN_SECONDS = 1.0  # time to start speaking, added to the reading estimate

_STEP_ADAPTER: TypeAdapter = TypeAdapter(Step)
# A variable typed in Chinese input mode: full-width braces (｛name｝), one of them (｛name}),
# or a full-width colon before its reading ({id_last4：digits}). The subtitle would show it as
# typed and the voice would never say the value, so it is an error, not a guess: NFKC would
# fold it, but ｛ ｝ round words (｛注意｝) are brackets an author may mean, and a check that
# names the place teaches the author to type {name}.
_WIDE_VARIABLE = re.compile(r"[{\uff5b]\s*(?P<v>[A-Za-z_][A-Za-z0-9_]*)\s*"
                            r"(?:[:\uff1a]\s*(?P<r>[A-Za-z]+)\s*)?[}\uff5d]")


def check_semantics(script: Script) -> None:
    """Add every problem the checks find to ``script.problems`` (its data must be a mapping)."""
    _Semantics(script).run()


class _Semantics:
    def __init__(self, script: Script):
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
                          + suggest(lc, self.locales), key=True)
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
                if v is None and isinstance(lc, str):
                    # {zh-CN: 开户, 欢迎, en: ...}: YAML ends a flow mapping's unquoted value at
                    # a comma and makes the rest a key with no value
                    s.add(path + (lc,), f"{pre}{fld} has locale '{lc}' with no value: a comma "
                          "in an unquoted value inside { } ends the value and starts a new "
                          "key; quote the value (zh-CN: \"…, …\") or write one locale a line",
                          key=True)
                    continue
                s.add(path + (lc,), f"{pre}{fld} has locale '{lc}', which is not in locales "
                      f"({', '.join(self.locales)}); fix the name or add it to locales"
                      + suggest(lc, self.locales), key=True)
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
        text = self.check_wide_variables(path, text, f"{pre}{fld}")
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
                      + or_list([f"{{{name}:{r}}}" for r in READINGS])
                      + suggest(reading, READINGS))
            elif not variables:
                s.add(path, f"{pre}{fld} uses {{{name}}}, but variables are not filled in "
                      "here; write the words out")
            elif name not in VARIABLES:
                s.add(path, f"{pre}{fld} uses unknown variable {{{name}}}; use "
                      + or_list([f"{{{v}}}" for v in sorted(VARIABLES)])
                      + suggest(name, VARIABLES))
            elif name == "broker" and not self.broker:
                s.add(path, f"{pre}{fld} uses {{broker}} but the flow has no broker; add "
                      f"broker: {s.text_example()} at the top, or write the name out")

    def check_wide_variables(self, path: tuple, text: str, where: str) -> str:
        """An error at each variable written with a full-width brace or colon; returns
        ``text`` with them blanked out (so they are not reported again as lone braces)."""
        def report(m: re.Match) -> str:
            tok = m.group(0)
            wide_brace = "\uff5b" in tok or "\uff5d" in tok
            if not wide_brace and "\uff1a" not in tok:
                return tok
            ascii_form = "{" + m.group("v") + (f":{m.group('r')}" if m.group("r") else "") + "}"
            how = ("in full-width braces" if wide_brace else "with a full-width colon")
            fix = "ASCII braces" + (" and an ASCII colon" if "\uff1a" in tok else "")
            unknown = ""
            if m.group("v") not in VARIABLES:
                unknown = (f", though {m.group('v')} is not a variable either: use "
                           + or_list([f"{{{v}}}" for v in sorted(VARIABLES)])
                           + suggest(m.group("v"), VARIABLES))
            self.s.add_at(path, m.start(), f"{where} has {tok} {how} (typed in Chinese input "
                          "mode), which the voice would not fill in; write "
                          f"{ascii_form} with {fix}{unknown}")
            return " " * len(tok)

        return _WIDE_VARIABLE.sub(report, text)

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
        if isinstance(step, IdDocumentStep):
            self.check_id_document(p, pre, step)
        if self.locales is not None and clean:
            self.check_timing(p, pre, step)

    def check_answer(self, p: tuple, pre: str, step: QuestionStep, raw: dict) -> None:
        """The answer the guide asks for must be the step's ``answer`` and must be accepted."""
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
            # No coaching after doubt (kiosk.flows.unled): the retry must not hold the answer.
            if holds_answer(unled_text(step.text.get(lc, ""), requested, lc), requested):
                s.add(p + ("text", lc), f"{pre}text.{lc} would still give the answer "
                      f"'{requested}' when the step is asked again after a doubtful answer; "
                      "put the words to say in a sentence of their own, after the question")
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
                    continue
                requested = step.requested_answer(lc)
                if step.expect == "affirm" and requested and understanding_only(
                        item, lc, AnswerSpec("affirm", requested)):
                    s.add(p + ("accept", lc, j), f"{pre}accept.{lc} lists '{item}', which says "
                          f"understanding, not willingness, where the answer asked for is "
                          f"'{requested}': it is never taken as consent; remove it or rephrase")

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
                    count = plural(len(items), "sentence")
                    s.add(p + ("pool", lc), f"{pre}pool.{lc} has {count}; "
                          f"a pool needs at least {MIN_POOL_SIZE} so the investor cannot "
                          f"prepare the answer, so add {MIN_POOL_SIZE - len(items)} more")

    def check_challenge(self, p: tuple, pre: str, step: ChallengeStep) -> None:
        s = self.s
        seen: set[str] = set()
        for j, c in enumerate(step.pool):
            if c not in CHALLENGES:
                s.add(p + ("pool", j), f"{pre}unknown challenge '{c}'; use "
                      f"{or_list(sorted(CHALLENGES))}" + suggest(c, CHALLENGES))
            elif c in seen:
                s.add(p + ("pool", j), f"{pre}pool lists '{c}' twice; list each challenge once")
            seen.add(c)
        known = seen & CHALLENGES
        if step.draw > len(seen):
            s.add(p + ("draw",), f"{pre}draw is {step.draw} but pool has only "
                  f"{plural(len(seen), 'different challenge')}; lower draw or add "
                  "challenges to pool")
        for c in step.instructions or {}:
            if c not in CHALLENGES:
                s.add(p + ("instructions", c), f"{pre}instructions for unknown challenge "
                      f"'{c}'; use {or_list(sorted(CHALLENGES))}" + suggest(c, CHALLENGES),
                      key=True)
        if self.locales:
            for c in sorted(known - set(step.instructions or {})):
                for lc in self.locales:
                    if challenge_words(step, c, lc) is None:
                        s.add(p + ("pool",), f"{pre}there are no built-in words for challenge "
                              f"'{c}' in {lc}; add instructions: {{{c}: {{{lc}: ...}}}}")

    def check_id_document(self, p: tuple, pre: str, step: IdDocumentStep) -> None:
        s = self.s
        seen: set[str] = set()
        for j, side in enumerate(step.sides):
            if side in seen:
                s.add(p + ("sides", j), f"{pre}sides lists '{side}' twice; list each side "
                      "once (front, back)")
            seen.add(side)
        if step.text is None and len(seen) == len(step.sides):
            for lc in self.locales or []:
                if id_document_text(step, lc) is None:
                    s.add(p, f"{pre}there are no built-in words for an id_document step in "
                          f"{lc}; add text: {{{lc}: ...}}")

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

