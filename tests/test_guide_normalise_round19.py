"""#15, tester round nineteen: a clock time or a ratio typed right after a label's colon
(见证时间：14:35, 比例：1:2; the full-width colon is folded to ":" first) was read as bare
numbers with the colon between them (十四：三十五); 24 of the tester's 41 such texts."""

from __future__ import annotations

import pytest

from tests.guide_rows import espeak_said as _espeak_said
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak

ROWS = [
    ("见证时间：14:35", "zh-CN", "见证时间：十四点三十五分"),
    ("见证时间:14:35", "zh-CN", "见证时间：十四点三十五分"),
    ("截止时间：15:00", "zh-CN", "截止时间：十五点"),
    ("比例：1:2", "zh-CN", "比例：一比二"),
    ("营业时间：8:30-17:00", "zh-CN", "营业时间：八点三十分到十七点"),
    ("开户时间：09:00—16:00", "zh-CN", "开户时间：九点到十六点"),
    ("Time:14:35", "en", "Time: two thirty five PM"),  # a space after the colon (round 20)
    # the label's colon only: a digit before the colon is still the middle of a chain
    ("版本1:2:3:4", "zh-CN", "版本一：二：三：四"),
]


@pytest.mark.parametrize("written,locale,expected", ROWS, ids=[r[0] for r in ROWS])
def test_a_time_or_ratio_after_a_labels_colon(written, locale, expected):
    assert _misread([(written, locale, expected)]) == []


@needs_espeak
def test_espeak_says_the_hour_and_minute_after_the_label():
    assert _espeak("见证时间：14:35") == _espeak_said("见证时间：十四点三十五分")
    assert _espeak("比例：1:2") == _espeak_said("比例：一比二")
