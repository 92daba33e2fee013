"""The fields of a PRC resident ID card from OCR text boxes, by its printed labels (pure).

The OCR engine does not split a card the way it is printed. It may return a label and its
value as one box (``民族 汉``, ``姓名张三``), a label in two boxes (``姓`` ``名``), a date as one
box (``1986年2月9日``) or several. So boxes are first put on the card's own axes (deskewed by
the median slope of the long boxes, turned 180° when the card is upside down), grouped into
printed rows, and each row is read as one string that remembers which box each character came
from. A label found in a row's string gives its value: the characters after it, up to the next
label. A field's confidence is the lowest OCR confidence of the boxes its value came from,
lowered when the value was found without its label or does not look like what is printed
there (no 男/女 after 性别, no date after 出生, a name of one character).

The portrait side (人像面) gives ``name``, ``sex``, ``nation``, ``birth`` (ISO date), ``address``
and ``id_number``; the emblem side (国徽面) gives ``authority`` and ``validity``
(``YYYY.MM.DD-YYYY.MM.DD`` or ``YYYY.MM.DD-长期``).
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from dataclasses import dataclass, field

from kiosk.idcard.ocr import TextBox

FRONT_LABELS = {"name": "姓名", "sex": "性别", "nation": "民族", "birth": "出生",
                "address": "住址", "id_number": "公民身份号码"}
BACK_LABELS = {"authority": "签发机关", "validity": "有效期限"}
BACK_TITLES = ("中华人民共和国", "居民身份证")
FRONT_FIELDS = tuple(FRONT_LABELS)
BACK_FIELDS = tuple(BACK_LABELS)
# Read without its label, a value is worth less: it may be something else printed there.
UNLABELLED = 0.85
_ALL_LABELS = tuple(FRONT_LABELS.values()) + tuple(BACK_LABELS.values())
# Confusions of the recogniser in a number (letter for digit).
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1",
                                   "i": "1", "Z": "2", "S": "5", "B": "8", "x": "X", "×": "X"})
_LEAD = ":：.,，;；-_、"
_ID18 = re.compile(r"\d{17}[\dX]")
# Where an address ends at the latest: the number's label (or its start, misread) or a run of
# digits longer than any house number.
_NOT_ADDRESS = re.compile(r"公民身|身份号|号码|\d{8,}")
_DATE_ZH = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_DATE = re.compile(r"(\d{4})\D{0,2}?(\d{1,2})\D{0,2}?(\d{1,2})")
# A date's separator is a dot, but OCR reads it as other punctuation too (a comma, a
# full-width comma or stop, a middle dot, a colon: #16 retest t16c L-A, "2022.12,26-长期").
_SEP = r"[.\-/,，。·・:：_]?"
_VALIDITY = re.compile(rf"(\d{{4}}){_SEP}(\d{{2}}){_SEP}(\d{{2}})\s*[-—–~至一]+\s*"
                       rf"(长期|(\d{{4}}){_SEP}(\d{{2}}){_SEP}(\d{{2}}))")


@dataclass(frozen=True)
class Region:
    """Where (part of) a value lies in the image: the text box's ``quad`` (pixels, as the
    engine gave it) and the share of the box's text the value spans, ``start``-``end`` (0-1,
    in reading order). Used to mask the value on the image kept as evidence."""

    quad: tuple[tuple[float, float], ...]
    start: float = 0.0
    end: float = 1.0


@dataclass(frozen=True)
class CardField:
    """One field as read: ``value`` normalised (see the module doc), ``confidence`` 0-1;
    ``regions`` where it was read (filled for ``id_number`` and ``address``, for masking)."""

    name: str
    value: str
    confidence: float
    labelled: bool = True
    regions: tuple[Region, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class CardSide:
    """What one image held: ``side`` ``front`` (portrait) or ``back`` (emblem), or ``None``
    when neither side's labels were read; ``fields`` by name."""

    side: str | None
    fields: dict[str, CardField] = field(default_factory=dict)
    upside_down: bool = False
    front_labels: int = 0
    back_labels: int = 0
    boxes: tuple[TextBox, ...] = field(default=(), compare=False, repr=False)


@dataclass
class _Item:
    box: TextBox
    text: str
    x0: float
    x1: float
    y: float
    h: float


@dataclass
class _Row:
    items: list[_Item]

    @property
    def text(self) -> str:
        return "".join(i.text for i in self.items)

    @property
    def y(self) -> float:
        return statistics.fmean(i.y for i in self.items)

    def span(self, start: int, end: int) -> list[_Item]:
        """The items the characters [start, end) of ``text`` came from."""
        out, pos = [], 0
        for it in self.items:
            if pos < end and pos + len(it.text) > start:
                out.append(it)
            pos += len(it.text)
        return out


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _items(boxes: list[TextBox]) -> list[_Item]:
    boxes = [b for b in boxes if _clean(b.text)]
    long = [b.angle for b in boxes if len(_clean(b.text)) >= 3]
    angle = statistics.median(long) if long else 0.0
    c, s = math.cos(-angle), math.sin(-angle)
    out = []
    for b in boxes:
        pts = [(x * c - y * s, x * s + y * c) for x, y in b.quad]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        out.append(_Item(b, _clean(b.text), min(xs), max(xs), statistics.fmean(ys),
                         max(max(ys) - min(ys), 1.0)))
    return out


def _rows(items: list[_Item]) -> list[_Row]:
    if not items:
        return []
    tol = 0.6 * statistics.median(i.h for i in items)
    rows: list[_Row] = []
    for it in sorted(items, key=lambda i: i.y):
        if rows and abs(it.y - rows[-1].y) <= tol:
            rows[-1].items.append(it)
        else:
            rows.append(_Row([it]))
    for r in rows:
        r.items.sort(key=lambda i: i.x0)
    return rows


def _flip(items: list[_Item]) -> list[_Item]:
    return [_Item(i.box, i.text, -i.x1, -i.x0, -i.y, i.h) for i in items]


def _find(rows: list[_Row], label: str) -> tuple[int, int, int] | None:
    """(row index, start, end) of ``label`` in a row's text; the first row that has it."""
    for n, r in enumerate(rows):
        k = r.text.find(label)
        if k >= 0:
            return n, k, k + len(label)
    return None


def _after(rows: list[_Row], label: str) -> tuple[str, list[_Item], _Row] | None:
    """The row text after ``label`` up to the next label, and the items it came from."""
    hit = _find(rows, label)
    if hit is None:
        return None
    n, _, end = hit
    row = rows[n]
    rest = row.text[end:]
    stop = min([k for k in (rest.find(lb) for lb in _ALL_LABELS) if k >= 0], default=len(rest))
    lead = len(rest) - len(rest.lstrip(_LEAD))  # 住址:… — the recogniser's stray colon
    return rest[lead:stop], row.span(end + lead, end + stop), row


def _conf(items: list[_Item]) -> float:
    return round(min((i.box.confidence for i in items), default=0.0), 3)


def _orientation(items: list[_Item]) -> tuple[list[_Item], bool]:
    """The items, turned 180° when the card is upside down (the number above the name)."""
    rows = _rows(items)
    top = _find(rows, "姓名") or _find(rows, "签发机关")
    bottom = _find(rows, "公民身份号码") or _find(rows, "有效期限")
    if top and bottom and rows[bottom[0]].y < rows[top[0]].y:
        return _flip(items), True
    if not (top and bottom):
        titles = [_find(rows, t) for t in BACK_TITLES]
        if titles[0] and titles[1] and rows[titles[1][0]].y < rows[titles[0][0]].y:
            return _flip(items), True
    return items, False


def _id_number(rows: list[_Row]) -> CardField | None:
    best: CardField | None = None
    label = _find(rows, "公民身份号码") or _find(rows, "身份号码")
    for n, r in enumerate(rows):
        for it in r.items:
            digits = it.text.translate(_DIGIT_LOOKALIKES)
            m = _ID18.search(digits)
            if m is None:
                continue
            labelled = label is not None and abs(n - label[0]) <= 1
            conf = it.box.confidence * (1.0 if labelled else UNLABELLED)
            if best is None or (labelled, conf) > (best.labelled, best.confidence):
                n_chars = max(len(it.text), 1)
                region = Region(it.box.quad, m.start() / n_chars, m.end() / n_chars)
                best = CardField("id_number", m.group(), round(conf, 3), labelled, (region,))
    if best is None and label is not None:  # a number too short or too long: read as is
        row = rows[label[0]]
        digits = re.sub(r"[^0-9X]", "", row.text[label[2]:].translate(_DIGIT_LOOKALIKES))
        if len(digits) >= 6:
            used = row.span(label[2], len(row.text))
            best = CardField("id_number", digits, _conf(used),
                             regions=tuple(Region(i.box.quad) for i in used))
    return best


def _birth(rows: list[_Row]) -> CardField | None:
    got = _after(rows, "出生")
    if got is None:  # the label lost (blur, glare): a printed date anywhere on the side
        for r in rows:
            m = _DATE_ZH.search(r.text)
            if m:
                y, mo, d = (int(g) for g in m.groups())
                conf = _conf(r.span(m.start(), m.end())) * UNLABELLED
                return CardField("birth", f"{y:04d}-{mo:02d}-{d:02d}", round(conf, 3), False)
        return None
    text, items, _ = got
    m = _DATE.search(text)
    if m is None:
        return CardField("birth", text, round(_conf(items) * 0.5, 3)) if text else None
    y, mo, d = (int(g) for g in m.groups())
    return CardField("birth", f"{y:04d}-{mo:02d}-{d:02d}", _conf(items))


def _address(rows: list[_Row], stop_at: int) -> CardField | None:
    hit = _find(rows, "住址")
    if hit is None:
        return None
    n, _, end = hit
    first = rows[n]
    items = first.span(end, len(first.text))
    if not items:
        return None
    h = statistics.median(i.h for i in items)
    # Where the value starts: inside the first box when the label shares it (住址上海市...),
    # by the share of its characters before the value.
    first_at = sum(len(i.text) for i in first.items[:first.items.index(items[0])])
    inside = (end - first_at) / len(items[0].text) if end > first_at else 0.0
    x_start = items[0].x0 + inside * (items[0].x1 - items[0].x0)
    # The first line: contiguous boxes (the portrait's own text lies further right).
    line = [items[0]]
    for it in items[1:]:
        if it.x0 - line[-1].x1 > 2 * h:
            break
        line.append(it)
    last = first.items.index(line[-1])
    text = first.text[end:sum(len(i.text) for i in first.items[:last + 1])]
    used = list(line)
    for r in rows[n + 1:min(stop_at, n + 3)]:
        # Following lines start where the first line's value starts.
        cont = [it for it in r.items if abs(it.x0 - x_start) <= 2.5 * h]
        if not cont:
            break
        k = r.items.index(cont[0])
        seg = [cont[0]]
        for it in r.items[k + 1:]:
            if it.x0 - seg[-1].x1 > 2 * h:
                break
            seg.append(it)
        text += "".join(i.text for i in seg)
        used += seg
    text = text.lstrip(_LEAD)
    # The number's line below, its label misread or hidden, is never part of the address
    # (#16 retest t16c L-B: "…室公民身份号矿110102…" printed the whole number as the address).
    cut = _NOT_ADDRESS.search(text)
    if cut:
        text = text[:cut.start()].rstrip(_LEAD)
    regions = tuple(Region(i.box.quad) for i in used)
    return CardField("address", text, _conf(used), regions=regions) if text else None


def parse_side(boxes: list[TextBox]) -> CardSide:
    """The card side and its fields from one image's text boxes."""
    items, upside_down = _orientation(_items(boxes))
    rows = _rows(items)
    text = "".join(r.text for r in rows)
    front = sum(lb in text for lb in FRONT_LABELS.values())
    back = sum(lb in text for lb in BACK_LABELS.values()) + sum(t in text for t in BACK_TITLES)
    fields: dict[str, CardField] = {}
    number = _id_number(rows)
    if front >= back and (front or number):
        if number:
            fields["id_number"] = number
        for name in ("name", "nation"):
            got = _after(rows, FRONT_LABELS[name])
            if got and got[0]:
                value = re.sub(r"[^\w·]", "", got[0])
                conf = _conf(got[1])
                if name == "name" and len(value) < 2:  # a surname and a given name at least
                    conf *= 0.5
                fields[name] = CardField(name, value, round(conf, 3))
        got = _after(rows, "性别")
        if got and got[0]:
            sex = next((ch for ch in got[0] if ch in "男女"), None)
            fields["sex"] = (CardField("sex", sex, _conf(got[1])) if sex
                             else CardField("sex", got[0], round(_conf(got[1]) * 0.5, 3)))
        birth = _birth(rows)
        if birth:
            fields["birth"] = birth
        label = _find(rows, "公民身份号码") or _find(rows, "身份号码")
        address = _address(rows, label[0] if label else len(rows))
        if address:
            fields["address"] = address
        return CardSide("front", fields, upside_down, front, back, tuple(boxes))
    if back:
        got = _after(rows, "签发机关")
        if got and got[0]:
            fields["authority"] = CardField("authority", got[0], _conf(got[1]))
        for r in rows:
            m = _VALIDITY.search(r.text.translate(_DIGIT_LOOKALIKES))
            if m:
                start = f"{m.group(1)}.{m.group(2)}.{m.group(3)}"
                end = "长期" if m.group(4) == "长期" else f"{m.group(5)}.{m.group(6)}.{m.group(7)}"
                labelled = "有效期限" in r.text or any("有效期限" in q.text for q in rows)
                conf = _conf(r.span(m.start(), m.end())) * (1.0 if labelled else UNLABELLED)
                fields["validity"] = CardField("validity", f"{start}-{end}", round(conf, 3),
                                               labelled)
                break
        return CardSide("back", fields, upside_down, front, back, tuple(boxes))
    return CardSide(None, {}, upside_down, front, back, tuple(boxes))
