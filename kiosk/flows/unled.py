"""A question asked again without the words to say (no coaching after doubt).

After an answer of doubt (someone else's will, a question, a hesitation, a refusal) the step is
asked again without the phrase it asks for: ``unled_text`` cuts every sentence part that gives
the words to say, found two ways, and the conditions that lead into it:

- a request the flow checks read (``kiosk.flows.model.asked_span``: "请回答：X", "please say 'X'");
- any clause holding the step's requested ``answer`` itself, compared normalised (punctuation,
  quotes and spaces aside, case and full width folded), whatever the phrasing around it
  ("请用“X”回答", "X的话请回答X", "You can answer 'X'", "Say 'X' to confirm", "Answer X, if
  you agree").

If no question is left after the cut (the question itself held the answer), the text ends with
a neutral re-ask, ``REASK`` ("请您根据本人真实意愿回答这个问题。"), never with the words to say.
"""

from __future__ import annotations

import re
import unicodedata

from kiosk.flows.model import asked_span

# A neutral re-ask when cutting the words to say leaves no question (see the module doc).
REASK = {"zh-CN": "请您根据本人真实意愿回答这个问题。",
         "en": "Please answer this question as you truly wish."}

# The end of a sentence, and a clause inside one, in a prompt (Mandarin or English).
_SENTENCE_END = re.compile(r"[。！？!?；;]|\.(?=\s|$|[\"'”’])")
# Where a cut request ends: its sentence's end, or a colon that leads into the question
# ("请您用“X”回答：请问…？").
_CUT_END = re.compile(_SENTENCE_END.pattern + r"|[：:]")
_CLAUSE_MARK = re.compile(r"[，,、：:]")
# A clause that only sets the condition of the request ("如已了解，请回答：…", "If so, please
# answer: …"; "同意请回答：我同意"; "自愿的话，"): it goes with the request.
_CONDITION = re.compile(r"^(?:如|若|如果|假如|倘若|要是|为确认|為確認|if\b|to\s+confirm\b)|的话$",
                        re.IGNORECASE)
# A clause that only leads into the words to say ("请用", "请回答", "you can answer", "say").
_LEAD_IN = re.compile(
    r"(?:请|請|可以|可|只需|只要|直接)(?:您)?(?:用|以)?(?:回答|回复|说|說|讲|講|读|讀|念)?$"
    r"|(?:you\s+(?:can|may|could|should)\s+)?(?:please\s+)?(?:just\s+)?"
    r"(?:answer|say|reply|respond|read(?:\s+out)?)(?:\s+with)?$",
    re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")
_ZH_ASKS = re.compile(r"是否|吗|请问|是不是")
_EN_ASKS = re.compile(r"^\s*(?:do|does|did|are|is|am|have|has|had|can|could|will|would|may|"
                      r"shall|should)\b", re.IGNORECASE)
_QUOTES_AFTER = "”\"'」』’＂＇"


def _goes_with_request(clause: str) -> bool:
    clause = unicodedata.normalize("NFKC", clause).strip(" \t\n（(" + _QUOTES_AFTER + "“‘「『")
    return (not clause or bool(_CONDITION.search(clause)) or bool(_LEAD_IN.search(clause))
            or (len(clause) <= 4 and bool(_CJK.search(clause))))


def _ending(kept: str, ending: str) -> str:
    """How a sentence cut short before its request ends: its own end unless that was a
    semicolon or a plain stop after a question, which then ends as one."""
    zh = bool(_CJK.search(kept))
    if ending in ("?", "？", "!", "！"):
        return ending
    if (_ZH_ASKS.search(kept) if zh else _EN_ASKS.match(kept)):
        return "？" if zh else "?"
    return "。" if zh else "."


def _norm_chars(text: str) -> tuple[str, list[int]]:
    """``text`` normalised for comparing (NFKC, case folded, letters, digits and CJK only), with
    the index in ``text`` of each kept character."""
    out, where = [], []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c.isalnum():
                out.append(c)
                where.append(i)
    return "".join(out), where


def normalised(text: str) -> str:
    """``text`` as ``holds_answer`` compares it: punctuation, quotes and spaces removed, case
    and full width folded."""
    return _norm_chars(text)[0]


def _answer_span(text: str, answer: str) -> tuple[int, int] | None:
    """Where ``answer`` (normalised) first stands in ``text``; an English answer only on word
    boundaries ("yes" is not in "yesterday")."""
    want = normalised(answer)
    if not want:
        return None
    have, where = _norm_chars(text)
    start = have.find(want)
    while start >= 0:
        a, b = where[start], where[start + len(want) - 1] + 1
        cjk = bool(_CJK.search(answer))
        if cjk or ((a == 0 or not text[a - 1].isalnum())
                   and (b >= len(text) or not text[b].isalnum())):
            return a, b
        start = have.find(want, start + 1)
    return None


def holds_answer(text: str, answer: str) -> bool:
    """Whether ``text`` still holds the words ``answer`` (normalised, see ``normalised``)."""
    return bool(answer) and _answer_span(text, answer) is not None


def _cut(text: str, start: int, end: int) -> str:
    """``text`` without the request at ``start:end``: its sentence from the clause it starts in
    (with the conditions and lead-ins before it) to the sentence's end."""
    before = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    s0 = before[-1] if before else 0
    stop = _CUT_END.search(text, end)
    s1 = stop.end() if stop else len(text)
    while s1 < len(text) and text[s1] in _QUOTES_AFTER:
        s1 += 1
    lead = text[s0:start]
    cut = [m.start() for m in _CLAUSE_MARK.finditer(lead)]
    clauses = []
    last = 0
    for pos in cut + [len(lead)]:
        clauses.append(lead[last:pos])
        last = pos
    while clauses and _goes_with_request(_CLAUSE_MARK.sub("", clauses[-1], count=1)):
        clauses.pop()
    kept = "".join(clauses).rstrip(" ，,、：:“\"'‘「『＂＇（(")
    if kept.strip():
        kept += _ending(kept, stop.group(0) if stop and stop.group(0) not in "：:" else "")
    return text[:s0] + kept + text[s1:]


def _asks(text: str) -> bool:
    """Whether ``text`` still asks something (a sentence ending in a question mark or asking
    as a question does)."""
    for sentence in re.split(r"(?<=[。！？!?；;])|(?<=\.)\s", text):
        s = sentence.strip()
        if s and (s[-1] in "？?" or _ZH_ASKS.search(s) or _EN_ASKS.match(s)):
            return True
    return False


def unled_text(text: str, answer: str = "", locale: str = "") -> str:
    """``text`` (a prompt, shown or spoken) without the words to say and the conditions that
    lead into them (see the module doc); the question itself stays. A request inside a longer
    sentence is cut from its clause on; the rest of the sentence keeps its end. With the step's
    requested ``answer``, the result never holds it; if a cut leaves nothing that asks (and
    the text asked, or nothing is left), ``REASK`` (for ``locale``, else by the text's script)
    ends the text."""
    had_question, cut = _asks(text), False
    for _ in range(12):  # each pass removes one request; a prompt holds one or two
        span = (_answer_span(text, answer) if answer else None) or asked_span(text)
        if span is None:
            break
        text, cut = _cut(text, *span), True
    text = re.sub(r"\s{2,}", " ", text).strip()
    if answer and holds_answer(text, answer):  # never: each pass cut one; a last safeguard
        text = ""
    if cut and (had_question or not text) and not _asks(text):
        zh = locale.startswith("zh") if locale else bool(_CJK.search(text or answer))
        reask = REASK["zh-CN" if zh else "en"]
        text = (text + ("" if zh else " ") + reask).strip() if text else reask
    return text
