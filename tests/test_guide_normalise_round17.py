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
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


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


# -- 2: English questionnaire option letters ---------------------------------------------------

EN_OPTIONS = [
    ("A. under 1 year B. 1-3 years C. 3-5 years D. over 5 years", "en",
     "A, under 1 year; B, 1 to 3 years; C, 3 to 5 years; D, over 5 years"),
    ("(a) below RMB 100,000 (b) RMB 100,000 or more", "en",
     "A, below 100000 yuan; B, 100000 yuan or more"),
    ("Choose: A. Yes B. No", "en", "Choose: A, Yes; B, No"),
    ("(a) Yes (b) No", "en", "A, Yes; B, No"),
    ("a) Yes b) No", "en", "A, Yes; B, No"),
    ("Your answer: A. Yes B. No C. Not sure.", "en", "Your answer: A, Yes; B, No; C, Not sure."),
    # an initial, or a lone letter, is no option list
    ("John A. Smith will help.", "en", "John A. Smith will help."),
    ("Then see B.", "en", "Then see B."),
    # Mandarin's rule (round sixteen) is unchanged
    ("请回答：A.是 B.否。", "zh-CN", "请回答：A，是 B，否。"),
]


def test_english_option_letters_are_letters_with_a_pause():
    assert _misread(EN_OPTIONS) == []


def test_english_option_letters_draw_no_warning_once_read():
    assert _warnings("A. under 1 year B. 1-3 years C. 3-5 years", "en") == []


@needs_espeak
def test_espeak_says_the_option_letter_not_the_article():
    said = _espeak("(a) below RMB 100,000 (b) RMB 100,000 or more", "en")
    assert said.startswith("'eI"), said  # the letter, not a# ("uh")
    said = _espeak("A. under 1 year B. 1-3 years", "en")
    assert said.startswith("'eI") and "b'i:" in said, said


# -- 3: English "no." after a noun a number belongs to ------------------------------------------

EN_NO = [
    ("Contract no. HT-2024-0315-008.", "en",
     "Contract number H T two zero two four zero three one five -zero zero eight."),
    ("Your ID no. ends in 105X.", "en", "Your I D number ends in one zero five X."),
    ("Your order no. is 00123.", "en", "Your order number is zero zero one two three."),
    ("Enter your order no.", "en", "Enter your order number."),
    ("Enter your ID no. Then press OK.", "en", "Enter your I D number. Then press O K."),
    # the word no stays the word no
    ("Say yes or no.", "en", "Say yes or no."),
    ("Is this your card? No. It is not.", "en", "Is this your card? No. It is not."),
]


def test_english_no_after_a_noun_is_number():
    assert _misread(EN_NO) == []


def test_english_no_after_a_noun_draws_no_warning():
    assert _warnings("Your order no. is 00123.", "en") == []


@needs_espeak
def test_espeak_says_number_not_no():
    said = _espeak("Contract no. HT-2024-0315-008.", "en")
    assert "n'Vmb3" in said and "n'oU" not in said, said
    assert "n'oU" in _espeak("Say yes or no.", "en")


# -- 4: 万俟 before a title, and set phrases with a polyphone -----------------------------------

ZH_NAMES_AND_PHRASES = [
    ("您好，万俟经理为您服务。", "zh-CN", "您好，mò qí 经理为您服 wu4。"),
    ("请和万俟经理确认", "zh-CN", "请和 mò qí 经理确认"),
    ("您好，万俟女士", "zh-CN", "您好，mò qí 女士"),  # already right: unchanged
    ("您好，欧阳经理为您服务", "zh-CN", "您好，欧阳经理为您服 wu4"),
    ("一行两会", "zh-CN", "yi4 hang2 两会"),
    ("营业时间朝九晚五。", "zh-CN", "营业时间 zhao1 九晚五。"),
]


def test_compound_surname_before_a_title_and_set_phrases():
    assert _misread(ZH_NAMES_AND_PHRASES) == []


@needs_espeak
def test_espeak_says_mo_qi_and_hang():
    said = _espeak("您好，万俟经理为您服务。")
    assert "m'o51tS;h'i35" in said and "s'i" not in said, said  # mò qí, not mò sì
    assert "X'a35N" in _espeak("一行两会")  # háng, not xíng
    assert "ts.'Au55" in _espeak("朝九晚五")  # zhāo, not cháo


# -- 5: a +86 number in any grouping ---------------------------------------------------------

COUNTRY_CODES = [
    ("Call us on +86 21 9555 3 during business hours.", "en",
     "Call us on plus eight six two one nine five five five three during business hours."),
    ("+86 21 6888 1234", "en", "plus eight six two one six eight eight eight one two three four"),
]


def test_a_country_code_number_in_any_grouping_is_digits():
    assert _misread(COUNTRY_CODES) == []


# -- odd readings: digits the client reads aloud ------------------------------------------------

READ_ALOUD = [
    ("Please read the numbers on the screen: 3857", "en",
     "Please read the numbers on the screen: three eight five seven"),
    ("Read the digits 3857 aloud", "en", "Read the digits three eight five seven aloud"),
    ("Please read the following number aloud: 3857.", "en",
     "Please read the following number aloud: three eight five seven."),
    ("We read the numbers 3 times", "en", "We read the numbers 3 times"),
]


def test_english_digits_to_read_aloud_are_digits():
    assert _misread(READ_ALOUD) == []


# -- odd readings: option numbers, a staff role before a surname, 00:00 -------------------------

ODD = [
    ("1.党政机关 2.事业单位", "zh-CN", "一，党政机关 二，事业单位"),
    ("单位性质：1.党政机关", "zh-CN", "单位性质：一，党政机关"),
    ("共3.5万元", "zh-CN", "共三点五万元"),
    ("Manager Zeng will help you.", "en", "Manager Zung will help you."),
    ("Mr. Zeng will help you.", "en", "Mr. Zung will help you."),
    ("Opens at 00:00.", "en", "Opens at midnight."),
    ("From 22:00 to 00:00", "en", "From ten PM to midnight"),
    ("00:00-24:00", "en", "twelve AM to midnight"),
    # a form's box or tick at an option's start is left unsaid
    ("□是 □否", "zh-CN", "是 否"),
    ("√ 我已阅读并同意", "zh-CN", "我已阅读并同意"),
]


def test_round_seventeen_odd_readings():
    assert _misread(ODD) == []


# -- the check's false alarms -----------------------------------------------------------------

def test_no_false_alarms_on_what_is_said_right():
    assert _warnings("请勿使用123456等简单密码") == []
    assert _warnings("Do not use 123456 as your password.", "en") == []
    assert _warnings("□是 □否") == []
    assert _warnings("√ 我已阅读并同意") == []
    assert _warnings("编号No.20240603-0015") == []


def test_true_warnings_stay():
    assert _warnings("请核对123456")  # digits of no named kind
    assert len(_warnings("请在□内打√。")) == 2  # a box the text speaks of is lost


def test_a_staff_name_warning_does_not_send_the_broker_to_name():
    (msg,) = _warnings("Mr. Shan will witness.", "en")
    assert "if it is the applicant's name use {name}" in msg and "staff member" in msg, msg


def test_english_letters_that_are_no_option_list_stay():
    assert _misread([
        ("Paragraphs (a) and (b) apply.", "en", "Paragraphs (a) and (b) apply."),
        ("See sections (a), (b) and (c).", "en", "See sections (a), (b) and (c)."),
    ]) == []
    assert "Then; B" not in _misread([("Plan A. Then B. Done", "en", "")])[0][2]
