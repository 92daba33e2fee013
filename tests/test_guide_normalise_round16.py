"""#15, tester round sixteen: a surname before a title after a greeting and a comma,
questionnaire option letters glued to Chinese, 上行 (goes up), English year-first dates with
two-digit years, acronym-like labels in web addresses, the surname Ng in Mandarin, and English
"est.", each as a class (written → spoken), with espeak-ng's phonemes checked for a sample."""

from __future__ import annotations

from kiosk.flows.model import fill_template
from kiosk.guide.normalise import NORMALISER_VERSION, normalise_name, speakable
from tests.guide_rows import espeak_said as _espeak_said
from tests.guide_rows import espeak_written as _espeak
from tests.guide_rows import misread as _misread
from tests.guide_rows import needs_espeak
from tests.guide_rows import warnings as _warnings


def test_the_rule_set_is_named():
    assert NORMALISER_VERSION == "speakable/30"  # bumped by round twenty-seven


# -- 1: a special surname + title opening a clause after a greeting, a comma or a colon -------

CLAUSE_SURNAMES = [
    ("您好，曾经理为您服务。", "zh-CN", "您好，zēng 经理为您服 wu4。"),
    ("早上好，单经理为您服务。", "zh-CN", "早上好，shàn 经理为您服 wu4。"),
    ("您好，查主任为您服务。", "zh-CN", "您好，zhā 主任为您服 wu4。"),
    ("您好，曾主任为您讲解。", "zh-CN", "您好，zēng 主任为您讲解。"),
    ("您好，任经理为您服务。", "zh-CN", "您好，rén 经理为您服 wu4。"),
    ("您好，华经理为您服务。", "zh-CN", "您好，huà 经理为您服 wu4。"),
    ("您好，乐经理为您服务。", "zh-CN", "您好，yuè 经理为您服 wu4。"),
    ("您好，区经理为您服务。", "zh-CN", "您好，ōu 经理为您服 wu4。"),
    ("下午好：曾总为您介绍产品。", "zh-CN", "下午好：zēng 总为您介绍产品。"),
    ("业务办理完毕，单老师请签字。", "zh-CN", "业 wu4 办理完毕，shàn 老师请签字。"),
    ("您好，查经理。", "zh-CN", "您好，zhā 经理。"),
    # words stay words, and 查 that orders a check stays chá
    ("您好，曾经理财多年。", "zh-CN", "您好，曾经理财多年。"),
    ("如有疑问，查主任的审批记录。", "zh-CN", "如有疑问，查主任的审批记录。"),
    ("您好，请查经理审批记录。", "zh-CN", "您好，请查经理审批记录。"),
    ("您好，区域经理为您服务。", "zh-CN", "您好，区域经理为您服 wu4。"),
    ("您好，中华经理人协会", "zh-CN", "您好，中华经理人协会"),
]


def test_a_surname_before_a_title_after_a_comma():
    assert _misread(CLAUSE_SURNAMES) == []


@needs_espeak
def test_espeak_says_the_surname_after_a_greeting():
    said = _espeak("您好，曾经理为您服务。")
    assert "ts'@55N" in said and "tsh'@35N" not in said, said  # zēng, not céng
    said = _espeak("您好，单经理为您服务。")
    assert "s.'a51n" in said and "t'a55n" not in said, said  # shàn, not dān
    assert "ts.'A55" in _espeak("您好，查主任为您服务。")  # zhā
    assert "tsh'@35N" in _espeak("您好，曾经理财多年。")  # céng jīng


# -- 2: a questionnaire option letter with a dot, glued to Chinese -----------------------------

OPTION_LETTERS = [
    ("您的学历是：A.高中及以下 B.大专 C.本科", "zh-CN",
     "您的学历是：A，高中及以下 B，大专 C，本科"),
    ("请回答：A.是 B.否。", "zh-CN", "请回答：A，是 B，否。"),
    ("a.是 b.否", "zh-CN", "a，是 b，否"),
    ("A．是 B．否", "zh-CN", "A，是 B，否"),
    ("A.100万以下 B.100万以上", "zh-CN", "A， yi4 百万以下 B， yi4 百万以上"),
    ("选项A. 是", "zh-CN", "选项A，是"),
    # decimals, abbreviations and section numbers are left alone
    ("利率为3.5%", "zh-CN", "利率 wei2 百分之三点五"),
    ("U.S.市场", "zh-CN", "U.S.市场"),
    ("附件A.1的内容", "zh-CN", "附件A.一的内容"),
    ("Mr.王", "zh-CN", "Mr.王"),
]


def test_option_letters_get_a_pause_not_a_dot():
    assert _misread(OPTION_LETTERS) == []


@needs_espeak
def test_espeak_says_no_space_for_an_option_letter():
    for text in ("您的学历是：A.高中及以下 B.大专 C.本科", "请回答：A.是 B.否。", "a.是 b.否",
                 "A．是 B．否", "请选择：A.同意 B.不同意。"):
        said = _espeak(text)
        assert "speI" not in said and "(en)" not in said, (text, said)
        assert "'ei51" in said, (text, said)  # the letter A is still said


# -- 3: 上行 "goes up" is shàng xíng, as 下行 is -------------------------------------------------

GOES_UP = [
    ("银行间市场利率上行。", "zh-CN", "银 hang2 间市场利率上行。"),
    ("利率上行，债券价格下行。", "zh-CN", "利率上行，债券价格下行。"),
    ("上行风险较大", "zh-CN", "上行风险较大"),
    ("上行空间有限", "zh-CN", "上行空间有限"),
    ("利率进入上行周期", "zh-CN", "利率进入上行周期"),
    ("行权价格上行", "zh-CN", "行权价格上行"),
    # 行 stays háng in its words
    ("市场上行情较好", "zh-CN", "市场上 hang2 情较好"),
    ("行情", "zh-CN", "hang2 情"),
]


def test_goes_up_is_xing():
    assert _misread(GOES_UP) == []


@needs_espeak
def test_espeak_says_shang_xing():
    for text in ("利率上行", "上行风险较大", "上行空间有限", "利率进入上行周期"):
        said = _espeak(text)
        assert "s.'a51NS;'i35N" in said and "X'a35N" not in said, (text, said)
    assert "X'a35N" in _espeak("市场上行情较好")  # háng qíng


# -- 4: English, a two-digit-year date written year first ---------------------------------------

YEAR_FIRST = [
    ("Valid until 24/12/31.", "en", "Valid until December 31, 2024."),
    ("Valid until 25/06/30.", "en", "Valid until June 30, 2025."),
    ("Ends 24/1/31.", "en", "Ends January 31, 2024."),
    ("有效期至24/12/31", "zh-CN", "有效期至二四年十二月三十一日"),
    # month first and day first stay as they were
    ("Valid until 12/31/24.", "en", "Valid until December 31, 24."),
    ("on 31/12/08", "en", "on December 31, oh eight"),
    ("born 05/10/86", "en", "born May 10, 86"),
    ("On 15/03/86.", "en", "On March 15, 86."),
    ("Valid until 31/12/24.", "en", "Valid until December 31, 24."),
]


def test_english_year_first_dates():
    assert _misread(YEAR_FIRST) == []


def test_the_check_warns_where_a_short_date_could_be_either():
    assert [w for w in _warnings("Valid until 24/12/31.", "en") if "year first" in w]
    assert [w for w in _warnings("Valid until 31/12/24.", "en") if "year first" in w]
    assert not [w for w in _warnings("Valid until 12/31/24.", "en") if "year first" in w]


@needs_espeak
def test_espeak_says_the_year_first_date():
    said = _espeak("Valid until 24/12/31.", "en")
    # "December thirty-one, two thousand twenty-four", not "December twenty-four, thirty-one"
    assert "s'Emb3T'3:t#iw'Vn" in said and "T'aUz@nd" in said, said


# -- 5: English web addresses, an acronym-like label spelled ------------------------------------

ADDRESSES = [
    ("Visit www.cicc.com today.", "en", "Visit W W W dot C I C C dot com today."),
    ("See www.citics.com.", "en", "See W W W dot C I T I C S dot com."),
    ("Email ir@citics.com", "en", "Email I R at C I T I C S dot com"),
    ("www.csrc.gov.cn", "en", "W W W dot C S R C dot gov dot cn"),
    ("www.cmbc.com.cn", "en", "W W W dot C M B C dot com dot cn"),
    # words, long labels and pinyin stay words; top-level domains stay as they were
    ("www.example.com", "en", "W W W dot example dot com"),
    ("www.eastmoney.com", "en", "W W W dot eastmoney dot com"),
    ("www.sina.com.cn", "en", "W W W dot sina dot com dot cn"),
    ("www.google.com", "en", "W W W dot google dot com"),
    ("service@htsc.com", "en", "service at H T S C dot com"),
    ("访问www.cicc.com", "zh-CN", "访问 W W W 点 C I C C 点 com"),
]


def test_acronym_like_address_labels_are_spelled():
    assert _misread(ADDRESSES) == []


@needs_espeak
def test_espeak_spells_cicc():
    said = _espeak("Visit www.cicc.com today.", "en")
    assert "s'i:;aIs'i:s'i:" in said and "s'Ik" not in said, said  # C I C C, not "sick"
    said = _espeak("www.example.com", "en")
    assert "gz'aamp@L" in said, said  # "example", a word


# -- 6: the Hong Kong surname Ng in the Mandarin flow -------------------------------------------

def _zh_greeting(name: str) -> str:
    return speakable(fill_template("您好，{name}，请确认您的身份。", {"name": normalise_name(name)},
                                   spoken_locale="zh-CN"), "zh-CN")


def test_ng_is_one_syllable_in_mandarin():
    assert _zh_greeting("Ng Wai Kit") == "您好， ng2 Wai Kit，请确认您的身份。"
    assert _zh_greeting("NG Wai Kit") == "您好， ng2 Wai Kit，请确认您的身份。"
    assert _zh_greeting("Wai Kit Ng") == "您好， Wai Kit ng2，请确认您的身份。"
    # a word with a vowel is left
    assert _zh_greeting("Ngai Ka Ho") == "您好， Ngai Ka Ho，请确认您的身份。"


@needs_espeak
def test_espeak_says_ng_as_a_syllable():
    said = _espeak_said(_zh_greeting("Ng Wai Kit"))
    assert "'N-35" in said and "ts.'i51" not in said, said  # ńg, not "en zhì"


# -- 7: English "est." before a year is "established" --------------------------------------------

ESTABLISHED = [
    ("The firm, est. 1991, is listed.", "en", "The firm, established 1991, is listed."),
    ("Est. 2005", "en", "Established 2005"),
    ("est. in 1998 by the bank", "en", "established in 1998 by the bank"),
    # an estimate stays an estimate
    ("est. 5% growth", "en", "estimated 5% growth"),
    ("est. 2000 units of sales", "en", "estimated 2000 units of sales"),
    ("Cost est. 1,500 yuan", "en", "Cost estimated 1500 yuan"),
]


def test_est_before_a_year_is_established():
    assert _misread(ESTABLISHED) == []


@needs_espeak
def test_espeak_says_established():
    said = _espeak("The firm, est. 1991, is listed.", "en")
    assert "st'ablISt" in said and "'EstIm" not in said, said


# -- the check's false alarms --------------------------------------------------------------------

def test_no_year_warning_on_a_period_things_are_kept_for():
    assert speakable("录音录像文件将保存20年。", "zh-CN") == "录音录像文件将保存二十年。"
    assert not [w for w in _warnings("录音录像文件将保存20年。") if "年" in w]
    assert not [w for w in _warnings("资料保留15年。") if "年" in w]


def test_no_digit_warning_after_a_word_ending_in_hao():
    text = "营业执照注册号110000000012345。"
    assert speakable(text, "zh-CN") == "营业执照注册号 一一零零零零零零零零一二三四五。"
    assert not [w for w in _warnings(text) if "digit" in w]
    # a day's 号 names no number: the digits after it are still a guess
    assert [w for w in _warnings("5月3号123456") if "digit" in w]


# -- ODD: a menu key after 按, a figure read back, a step counter -------------------------------

ODD = [
    ("按1查询余额", "zh-CN", "按 一 查询余额"),
    ("按1确认", "zh-CN", "按 一 确认"),
    ("请按1键", "zh-CN", "请按 一 键"),
    ("转人工请按0", "zh-CN", "转人工请按 零"),
    ("按2倍赔付", "zh-CN", "按两倍赔付"),  # a multiple, not a key
    ("按1:1比例", "zh-CN", "按一比一比例"),
    ("按3%收取", "zh-CN", "按百分之三收取"),
    ("按1年期利率", "zh-CN", "按 yi4 年期利率"),
    ("请读出数字：5291", "zh-CN", "请读出数字：五二九一"),
    ("请念出以下数字5291。", "zh-CN", "请念出以下数字 五二九一。"),
    ("读书3本", "zh-CN", "读书三本"),
    ("进度：3/5", "zh-CN", "进度：第三步，共五步"),
    ("进度：6/5", "zh-CN", "进度：五分之六"),  # no step counter
    ("Progress: 3/5", "en", "Progress: 3 of 5"),
    ("Question 3/10", "en", "Question 3 of 10"),
    ("about 3/5 of", "en", "about three fifths of"),
]


def test_menu_keys_read_back_figures_and_step_counters():
    assert _misread(ODD) == []


@needs_espeak
def test_espeak_says_the_menu_key_yi1():
    said = _espeak("按1查询余额")
    assert "j'i55" in said and "j'i51" not in said, said  # yī, no sandhi
