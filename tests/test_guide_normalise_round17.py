"""#15, tester round seventeen: step counters before a full stop, English questionnaire option
letters, English "no." before a code, 万俟 after a greeting, 一行两会, and +86 numbers in any
grouping, each as a class (written → spoken), with espeak-ng's phonemes checked for a sample."""

from __future__ import annotations

from kiosk.guide.normalise import NORMALISER_VERSION
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import warnings as _warnings


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/21"


# -- 1: a step counter N/M whatever punctuation follows it ------------------------------------

STEP_COUNTERS = [
    ("Progress: 3/10.", "en", "Progress: 3 of 10."),
    ("Step 2/5.", "en", "Step 2 of 5."),
    ("Page 1/3.", "en", "Page 1 of 3."),
    ("Question 3/10; next", "en", "Question 3 of 10; next"),
    ("Item 4/4!", "en", "Item 4 of 4!"),
    ("进度：3/10。", "zh-CN", "进度：第三步，共十步。"),
    ("题目3/10。", "zh-CN", "题目第三题，共十题。"),
    ("第3/10题。", "zh-CN", "第三题，共十题。"),
    ("页码：2/5，", "zh-CN", "页码：第二页，共五页，"),
    # a fraction or decimal after the counter's word is no counter
    ("Step 3/10.5 litres", "en", "Step 3 or 10.5 litres"),
]


def test_a_step_counter_before_punctuation():
    assert _misread(STEP_COUNTERS) == []


@needs_espeak
def test_espeak_says_of_not_tenths():
    said = _espeak("Progress: 3/10.", "en")
    assert "Vvt'En" in said, said  # of ten
    assert "t'EnTs" not in said, said  # "three tenths" before the fix
