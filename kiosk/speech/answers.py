"""What a heard answer means: the flow's requested answer, built-in lexicons, negation, reading.

Pure functions over a recogniser's transcript (no audio, no engine). ``judge_text`` turns a
transcript into an intent for a question step; ``score_reading`` compares a transcript with
the sentence an investor was asked to read.

The rules, in the order they apply:

1. The transcript is normalised (``kiosk.speech.textnorm``): simplified characters, digits,
   punctuation and spaces dropped; hesitations and intensifiers (嗯, 啊, 非常, 当然, 没错,
   "uh", "well") are set aside.
   **A question** is never an answer (``is_question``: a question mark, 吗 / 呢 / 么 / 嘛,
   an English tag such as "…, do I" or "…, right"), nor is an answer that **cites someone
   else's will** (``cites_another_will``: 工作人员让我说是的, "the clerk said just say yes"):
   both are ``unclear``, whatever else they say. So is **someone else reading for the
   investor** (``done_by_another``: 我儿子帮我读的, "my son read it for me") and **a hedge or
   a reservation** (``hedges``: 我觉得是自愿的, 应该是, 好吧, 是的吧, 但是我有点担心; "I think
   so", "probably", "whatever", "yes, but I'm worried"; a 吧 that ends a clause, unless it is
   the broker's own wording), judged after a negation and another's will. **A decided phrase**
   (我考虑好了, 我已经想清楚了, "I've made up my mind", "I have thought it through") is set
   aside before the hedge check and the matching (``set_aside_decided``): it is neither a
   hedge nor, alone, an answer; 是的，我考虑好了，我自愿 is the yes it holds.
2. **A refusal** is a transcript made of nothing but refusals (不愿意, 我再想想, "no, I don't").
3. **A negation anywhere** (不, 没, 别, 拒绝, 否, 未, 算了, 再想想; "no", "not", "never",
   "disagree", "refuse") means the answer is never consent: a mix such as 是的，我不愿意 is
   ``unclear`` and is asked again, then sent to a person. A clause that only says nobody
   forced the investor (没人逼我, 不是被迫的, "nobody is forcing me") is neither a negation nor
   another's will: it is set aside and the rest judged by every rule, taken only when it is
   the wanted answer (``set_aside_unforced``: 是的，我自愿，没人逼我 passes, 没有，没人逼我 does
   not). To a deny step, a no followed only by clauses that say nobody did it is that no
   (``_nobody_did``: 没有，没人承诺过; "No, nobody promised me anything.").
4. **Understanding is not willingness.** On a step whose requested answer says the investor is
   willing (是的，我自愿 / 我同意 / "yes, I do" / "I agree"), an answer that says only
   understanding (了解, 明白, 清楚, 知道, 懂; "understand", "understood", "I see", "got it")
   and no word of willingness is ``unclear``: asked again, saying what to say
   (``understanding_only``). A bare yes still passes.
5. **Consent** is a transcript made of nothing but accepted answers, back to back: the step's
   requested answer, the step's extra accepted answers, and the built-in lexicon of natural
   ways to say yes. Characters are compared first, then their toneless pinyin (homophones
   such as 是得 for 是的 are the recogniser's spelling, not the investor's words).
6. **A paraphrase** of the requested answer is consent too: it holds a word of the step's
   meaning (willingness or understanding, ``step_meaning``) and nothing but a short list of
   plain words besides (是的，是我自己愿意的; 清楚，都看过了; "yes, it's my own decision").
   Another person, an order, a reason or a "but" leaves it unclear (``_paraphrase``).
7. Anything else is ``unclear``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kiosk.speech import textnorm

# The natural ways to say yes / no (issue #12's lists, plus common variants). The flow's own
# requested and extra answers are added per step.
# Verbs of assent, said with or without 我 / 已 / 已经 before and 了 after ("我已经了解了").
_ZH_ASSENT_VERBS = ("了解", "明白", "清楚", "理解", "知道", "阅读", "阅读并理解", "同意", "确认",
                    "愿意", "自愿")
ZH_CONSENT = tuple(dict.fromkeys(
    ("是", "是的", "对", "对的", "好", "好的", "可以", "行", "我是自愿的", "是我本人", "我本人",
     "本人", "没错", "没问题", "没有问题", "当然", "当然了", "那当然", "当然可以", "肯定", "确实",
     "绝对")
    + tuple(f"{pre}{verb}{post}" for verb in _ZH_ASSENT_VERBS
            for pre in ("", "我", "已", "我已", "已经", "我已经") for post in ("", "了"))
))
ZH_REFUSAL = (
    "不", "不是", "不愿意", "我不愿意", "不自愿", "我不自愿", "不同意", "我不同意", "不了解",
    "我不了解", "不清楚", "我不清楚", "没有", "我没有", "拒绝", "我拒绝", "算了", "再想想",
    "我再想想", "我再想一想", "不要", "我不要", "不行", "不对", "不明白", "我不明白", "否",
    "不确认", "我不确认", "不想", "我不想", "不用了", "不开了", "我不开了", "没想好",
    "我还没想好", "还没想好", "不理解", "我不理解", "不知道", "我不知道",
)
# The plain no that a deny step ("has anyone promised you returns?") takes as its answer, with
# the step's own. The other refusals are not a no to a question of fact: 不知道 / 不清楚 / 再想想
# / 我拒绝, "not sure" / "not really" / "let me think" / "I refuse" refuse to consent but do not
# say nobody did it; on a deny step they are asked again (#12 fresh tester, nineteenth session:
# "Not really." passed as the no).
ZH_DENIALS = ("不", "不是", "不是的", "没有", "我没有", "没有的", "否", "从来没有", "从没有",
              "都没有", "并没有")
# (当然了 is not one: it would take 了 from 当然了解; 当然了 alone is in ZH_CONSENT.)
ZH_AFFIRMATIVE_INTENSIFIERS = ("当然", "那当然", "没错", "确实", "肯定", "绝对", "真的")
# Hesitations, politeness and intensifiers: set aside before matching ("嗯，是的，谢谢").
ZH_FILLERS = (
    "嗯", "啊", "呃", "额", "哦", "噢", "唉", "诶", "欸", "呀", "啦", "哈",
    # 那 ("well, ..."): Whisper base writes a leading 嗯 as 那 (嗯，是的 as 那是的, issue #12).
    "那", "那个", "那么", "就是", "谢谢", "非常", "很", "完全", "十分", "都", "也",
    # Affirmative intensifiers ("of course", "right", "indeed"): 当然是自愿的, 没错，我自愿的
    # (#12 fresh tester). Set aside like 非常, they make a yes of nothing; a negation, a question
    # or another's will is judged on the whole transcript first (当然不是自愿的 stays no
    # consent). 的确 is left out: it would take 的 from 是的确认.
    *ZH_AFFIRMATIVE_INTENSIFIERS,
)
# A breath or a 嗯 before 是 that Whisper base writes as a syllable of its own: 只是的我自愿
# (holdout 13, zh-yunxia, both attempts), 以是的我自愿 and 你是得握自愿 (tuning voices). Set
# aside only right before 是 at the start of an answer, like the fillers (那 is one).
ZH_ONSETS_BEFORE_SHI = frozenset("只之知支以已一依你而")
# A negation anywhere means "not consent"; 没错 ("right") and 没问题 / 没有问题 ("no problem",
# a common yes: every tuning voice's 没问题 was heard exactly and was refused before) are the
# exceptions, and 没事 / 没关系 ("it's fine"; an unbiased decode of zh-xiaobei's 是的，我自愿
# heard 没事的,我自愿 and vetoed the consent), which are not consent by themselves.
# 不是没问题 is a negated negation, never consent (_ZH_DOUBLE_NEGATION).
# 并非 / 绝非 / 非自愿 (#12 fresh tester, fourteenth session: 本人…并非自愿在示例证券开立证券账户
# was read aloud and passed): 非 alone is left out, as in 非常愿意.
ZH_NEGATIONS = ("不", "没", "别", "拒绝", "否", "未", "算了", "再想想", "勿", "莫", "并非", "绝非",
                "非自愿", "非本人")
ZH_NEGATION_EXCEPTIONS = ("没错", "没有问题", "没问题", "没事", "没关系")

EN_CONSENT = (
    "yes", "yeah", "yep", "yup", "yes i do", "i do", "i agree", "agreed", "i understand",
    "understood", "i do understand", "i have", "i have read it", "i have read and understood",
    "i confirm", "confirmed", "correct", "that is correct", "that is right", "sure",
    "of course", "absolutely", "certainly", "definitely", "affirmative", "okay", "ok",
    "i accept", "i consent", "i am willing", "voluntarily", "i do it voluntarily", "i am",
    "it is me", "i did", "right", "that is right", "all right", "alright", "yes please",
)
EN_REFUSAL = (
    "no", "nope", "nah", "no i do not", "i do not", "i do not agree", "i disagree",
    "i do not understand", "i refuse", "not really", "i am not sure", "not sure",
    "i need to think", "let me think", "i have not", "not yet", "i do not want to",
    "i will not", "never", "i decline", "i do not consent", "i am not willing",
)
EN_DENIALS = ("no", "nope", "nah", "no i do not", "i do not", "i have not", "no i have not",
              "never", "no never")
EN_FILLERS = ("uh", "um", "er", "erm", "ah", "hmm", "mm", "well", "oh", "please",
              "thank", "thanks", "you", "very", "much", "fully", "completely")
EN_NEGATIONS = ("no", "not", "never", "nope", "nah", "disagree", "refuse", "decline",
                "neither", "nor", "without", "involuntarily", "unwilling", "unwillingly")
# "不是没有", "没有不同意", "不拒绝": a negated negation is neither a clear yes nor a clear no.
_ZH_DOUBLE_NEGATION = re.compile(r"(不|没有?|并非|并不|未)[是再]?(不|没|拒绝|否|反对)")
# A question is not an answer: "是吧？", "同意？", "yes?", "Yes, I do?" (the recogniser's question
# mark), and the Mandarin question particles 吗 / 呢 / 么 (是么, not 那么 / 这么 / 多么 / 要么) /
# 嘛 (是嘛 "is that so?", 好嘛 a reluctant "fine") wherever they are. 吧 without a question
# mark is a hedge, not a question (``hedges``: 是的吧, 可以吧, 好吧).
_QUESTION = re.compile(r"[?？]|吗|呢|嘛|(?<![那这多要])么")
# An English tag question at the end, which Whisper writes without its question mark as often
# as with it: "yes, I do, do I", "I agree, is it", "yes I do, right", "yes, huh".
_EN_TAG_AUXILIARIES = frozenset(("do", "does", "did", "am", "is", "are", "was", "were", "have",
                                 "has", "had", "will", "would", "can", "could", "should",
                                 "shall", "may", "must"))
_EN_TAG_PRONOUNS = frozenset(("i", "you", "we", "they", "he", "she", "it", "that", "this"))
# ...but "right" ends a yes in "that is right", "all right" and a bare "right" / "yes, right".
_EN_RIGHT_AS_YES_AFTER = frozenset(("that", "is", "all", "quite", "exactly", "yes", "yeah"))


def is_question(text: str, locale: str) -> bool:
    """Whether ``text`` (a transcript) asks rather than answers: a question mark anywhere (the
    recogniser heard a rising tone), a Mandarin question particle (``_QUESTION``), or an English
    tag at the end: an auxiliary and a pronoun ("…, do I", "…, is it"), "…, right" after two or
    more words (not "that is right" / "all right"), "eh" or "huh"."""
    if _QUESTION.search(textnorm.fold(text)):
        return True
    if is_zh(locale):
        return False
    words = textnorm.en_tokens(text)
    if len(words) >= 2 and words[-2] in _EN_TAG_AUXILIARIES and words[-1] in _EN_TAG_PRONOUNS:
        return True
    if len(words) >= 3 and words[-1] == "right" and words[-2] not in _EN_RIGHT_AS_YES_AFTER:
        return True
    return bool(words) and words[-1] in ("eh", "huh")
# "Yeah, right" / "oh right" is said in doubt as often as in assent: asked again, never consent
# (a bare "right" or "that's right" is a yes).
_EN_DOUBT = re.compile(r"\b(?:yeah|yea|ya|oh)\W*right\b", re.IGNORECASE)

# --- willingness is not understanding (#12 fresh tester) ---------------------------------------
# A step whose requested answer says the investor is *willing* (是的，我自愿 / 我同意 / "yes, I
# do" / "I agree" / "I am willing") is a willingness step. On it, an answer whose only content
# besides a yes is *understanding* (是的，我已了解 / 我明白 / 清楚; "yes, I understand" /
# "understood" / "I see" / "got it") is not consent: it is asked again, saying what to say.
# A bare yes (是的 / 对 / "yes") still passes; a step whose requested answer is about
# understanding (是的，我已了解) still takes 了解 / 明白 / 清楚.
ZH_WILLING = ("自愿", "愿意", "意愿", "情愿", "同意", "主动", "自己的决定", "自己决定", "我的决定",
              "自己要")
ZH_UNDERSTANDING = ("了解", "明白", "清楚", "知道", "懂", "理解", "阅读", "看过", "读过", "看完",
                    "读完", "看了", "读了")
EN_WILLING = ("willing", "willingly", "voluntarily", "voluntary", "agree", "consent", "freely",
              "free will", "my own decision", "my decision", "my own choice", "my choice",
              "want to", "choose to", "decided")
EN_UNDERSTANDING = ("understand", "understood", "see", "got it", "get it", "know", "clear",
                    "aware", "read", "gone through", "went through")
# A natural paraphrase of the requested answer ("是的，是我自己愿意的", "清楚，都看过了", "yes,
# it's my own decision") is consent only when it holds the step's kind of word (willingness or
# understanding) and nothing but these words besides: anything else (another person, an order,
# a reason, a "but") leaves it unclear. Negations, questions and double negations never get here.
ZH_PARAPHRASE_CHARS = frozenset(
    "是的对好嗯我自己本人都已经了过这些个也完全全部非常很十分仔细认真确实真的就开户立证券账风险"
    "内容条款说明书声明提示出于来办心甘情愿意决定主动的啊呀")
EN_PARAPHRASE_WORDS = frozenset((
    "yes", "yeah", "yep", "i", "am", "it", "is", "this", "that", "my", "own", "of", "free",
    "will", "a", "the", "do", "did", "doing", "to", "open", "opening", "account", "all",
    "everything", "whole", "entirely", "completely", "fully", "totally", "really", "indeed",
    "and", "have", "has", "myself", "decision", "choice", "want", "choose", "decided",
    "willing", "willingly", "voluntarily", "voluntary", "agree", "freely", "consent",
    "understand", "understood", "read", "clear", "aware", "know", "gone", "went", "through",
    "risk", "risks", "statement", "disclosure", "carefully", "absolutely", "certainly",
    "definitely", "sure", "okay", "ok", "of", "on", "course", "these", "terms"))
# Someone else's will, an order, a reason or a "but": never a paraphrase of consent, whatever
# the other words (the whitelists above already leave them out; these say why).
ZH_COERCION = ("让", "叫", "要求", "逼", "迫", "被", "教", "替", "帮", "必须", "只好", "得不",
               "别人", "有人", "他", "她", "们", "骗", "劝", "代", "但", "可是", "不过")
EN_COERCION = ("told", "tell", "made me", "make me", "making me", "forced", "force", "pressure",
               "pressured", "asked", "must", "have to", "has to", "had to", "someone",
               "somebody", "they", "staff", "against", "because", "but", "help", "helping",
               "said", "say", "me", "son", "daughter", "boss", "wife", "husband")

# --- another person's will (#12 fresh tester) ---------------------------------------------------
# An answer that cites someone else's instruction (工作人员让我说是的, 他们叫我这么说, "the clerk
# said just say yes", "my son said I should agree", "I was told to say yes") is never consent,
# whatever else it says, and is asked again without the words to say (``observer.retry_hint``).
# The structure, not a list of sentences: someone else + a verb of telling, asking or wanting +
# me / an answer; or an instruction to the speaker in the passive; or force or obligation.
# Merely naming a person is not another's will ("yes, I spoke with my advisor and I agree"):
# such an answer is still not consent (its extra words are not a paraphrase's), but it is asked
# again with the words to say. "You" is not another person: the investor speaks to the kiosk,
# whose own prompt gives the words to say ("as you said, yes").
ZH_OTHERS = ("他们", "她们", "(?<!其)他", "她", "别人", "有人", "人家", "对方", "工作人员",
             "客户经理", "理财经理", "经理", "业务员", "销售", "柜员", "营业员", "员工", "中介",
             "老板", "领导", "家人", "家里人", "家里", "儿子", "女儿", "孩子", "老公", "老婆",
             "丈夫", "妻子", "爱人", "朋友", "亲戚", "父母", "爸爸", "妈妈", "爸", "妈", "哥哥",
             "姐姐", "弟弟", "妹妹", "同事", "师傅", "老师", "律师", "顾问", "你们", "介绍人")
_ZH_OTHER = "(?:" + "|".join(ZH_OTHERS) + ")"
ZH_ANOTHER_WILL = re.compile(
    # X 让我 / 叫我 / 要我 / 逼我 …: an instruction to me (not 让我想想, "let me think")
    "(?:让|叫|喊|要|逼|迫|劝|教|替|代|吩咐|嘱咐|交代|交待|安排|指示|命令|要求|说服|强迫|逼迫|催|骗)"
    "(?:我|咱|俺)(?!想|考虑|看看|再想|再看)"
    # someone else says, tells, advises, wants or decides (我儿子说可以, 工作人员说回答是的就行)
    f"|{_ZH_OTHER}(?:都|也|就|还|跟我|和我|对我|给我)?"
    "(?:说|讲|告诉|建议|吩咐|交代|安排|要求|让|叫|要|决定|同意了)"
    # told in the passive, force, obligation, following another's words
    "|被(?:要求|叫|让|逼|迫|强迫|胁迫|安排|指使|命令|吩咐|劝|说服|骗)|逼|迫|必须|只好|只能|不得不"
    f"|[按照听](?:着|照)?(?:我的?)?{_ZH_OTHER}(?:的|说|要求|意思|安排)")
_EN_OTHER = (r"(?:he|she|they|someone|somebody|everyone|everybody|people|"
             r"(?:the|my|a|an|his|her|their|our|your|this|that)\s+(?:\w+\s+)?"
             r"(?:clerk|agent|staff|staffer|manager|advisor|adviser|broker|banker|salesman|"
             r"saleswoman|salesperson|sales|representative|rep|officer|employee|teller|"
             r"consultant|planner|guy|man|woman|lady|person|people|son|daughter|wife|husband|"
             r"mother|father|mom|mum|dad|parents|parent|brother|sister|friend|friends|boss|"
             r"family|children|kids|child|relative|relatives|uncle|aunt|cousin|boyfriend|"
             r"girlfriend|partner|colleague|neighbour|neighbor|lawyer|guardian|carer|"
             r"caregiver|nephew|niece|grandson|granddaughter|bank|company|firm))")
EN_ANOTHER_WILL = re.compile(
    # someone told / asked / made / wants me
    r"\b(?:told|tells|asked|asks|instructed|instructs|ordered|orders|advised|advises|urged|"
    r"urges|coached|made|makes|forced|forces|forcing|pressured|pressures|pressuring|"
    r"persuaded|convinced|wants|wanted|needs|needed|paid|pays|expects|expected)\s+(?:me|us)\b"
    rf"|\b{_EN_OTHER}\s+(?:\w+\s+)?(?:tell|ask|make|want|need|force|pressure|push|get)\s+"
    r"(?:me|us)\b"
    # someone else said / told / asked / wants / suggested / decided
    rf"|\b{_EN_OTHER}\s+(?:\w+\s+)?(?:said|says|say|told|tells|asked|asks|wants|wanted|"
    r"suggested|suggests|recommended|recommends|insisted|insists|instructed|ordered|advised|"
    r"advises|thinks|thought|decided|decides)\b"
    # told in the passive ("I was told to say yes"), an instruction quoted, force, obligation
    r"|\b(?:was|were|been|being|am|are|is|get|got|getting)\s+(?:\w+\s+)?(?:told|asked|"
    r"instructed|ordered|made|forced|pressured|coached|persuaded|paid|urged|advised|pushed)"
    r"\s+to\b"
    r"|\b(?:just|only|supposed to|should|must|have to|has to|had to|need to|needs to)\s+"
    r"(?:say|answer)\b"
    r"|\b(?:forced|pressured|pressure|coerced|threatened|have to|had to|has to|must)\b",
    re.IGNORECASE)


# --- a hedge or a reservation (#12 fresh tester, hedge12) ---------------------------------------
# A yes said with a hedge (我觉得是自愿的, 我想是的, 应该是自愿的, 大概是吧, "I think so", "I guess
# so", "probably, yes", "sure, whatever") or with a worry (是的，但是我还有点担心, "yes, but I'm
# scared") is never consent and is doubt: asked again WITHOUT the words to say (the witness
# judge codes it "hesitation"), and a later yes is for a human to judge. 想 as "think" is a
# hedge only as 我想是 / 我想应该 / 我想大概 / 我想可能 (the last three by their own word):
# 我想开户 / 我想要 is wanting, not a hedge. 好吧 is reluctant consent. "I think" / "I guess" /
# "I suppose" / "I believe" anywhere is a hedge; "I have thought about it and I agree" is not
# (a considered yes, in the past tense: not a hedge, though not a paraphrase either).
ZH_HEDGES = ("觉得", "我想是", "想必", "应该", "大概", "可能", "也许", "或许", "估计", "好像",
             "似乎", "算是", "差不多", "说不定", "好吧", "行吧", "随便", "无所谓", "都行",
             # a worry or a reservation
             "担心", "担忧", "害怕", "怕", "顾虑", "紧张", "忧虑", "但是", "可是", "不过", "然而",
             "有点", "有些")
EN_HEDGES = re.compile(
    r"\bi\s+(?:\w+\s+)?(?:think|guess|suppose|believe|reckon|imagine)\b|\bi would say\b"
    r"|\b(?:think|guess|suppose|believe|reckon)\s+so\b"
    r"|\b(?:probably|maybe|perhaps|possibly|presumably|likely|kind of|kinda|sort of|sorta|"
    r"whatever|more or less|if you say so|not mind|"
    r"worried|worry|worries|scared|afraid|nervous|anxious|concerned|concern|concerns|"
    r"reservations?|hesitant|uneasy|but|though|although|however)\b")


# --- a considered decision is not hesitation ------------------------------------------------
# 我考虑好了 / 我想好了 / 考虑清楚了 / 我已经想清楚了, "I've made up my mind" / "I have thought it
# through" / "I've decided" say the investor HAS thought, alone or with a yes (是的，我考虑好了，
# 我自愿). Their 考虑 / 想 are the very words of a hesitation (我再考虑一下, 我再想想, "let me think
# about it"), so the witness judge coded such a yes "hesitation" and asked again without the
# words to say. ``set_aside_decided`` takes them out before the hedge and hesitation checks and
# before matching (not before the negation, question or another's-will checks, which read the
# whole transcript). Not decided, and kept: a thought still to come, told by a word of it in
# the clause before the phrase (ZH_NOT_YET_DECIDED: 我还没想好, 我要想清楚, 我会好好考虑清楚的,
# 让我考虑清楚, 请您考虑清楚) or by 再 / 后 / 以后 / 才 right after it (想好再说); in English the
# words must stand side by side ("I have not decided", "I need to think" are not set aside).
ZH_DECIDED = re.compile(
    "(?:我|本人)?(?:已经|已|都|早就|早已|现在)?(?:认真|仔细|好好)?地?"
    "(?:考虑|想)(?:得|的)?(?:很|非常|十分)?(?:好|清楚|明白|过)(?:了|(?![再后以之才就]))")
ZH_NOT_YET_DECIDED = frozenset("没不未别再还要会得该能先让等容叫请")
_ZH_CLAUSE_BREAK = re.compile(r"[,.;:!?，。；：！？、\s]")
EN_DECIDED = re.compile(
    r"(?:\bi\s+(?:have\s+|had\s+|am\s+)?(?:already\s+|now\s+|just\s+|really\s+|carefully\s+)?"
    r"(?:made\s+up\s+my\s+mind|decided|thought\s+(?:it\s+|this\s+|that\s+)?(?:through|over|"
    r"about\s+it|about\s+this|carefully)|considered\s+it(?:\s+carefully)?)\b"
    r"|\bmy\s+mind\s+is\s+made\s+up\b)"
    # the "and" / "so" that joins it to the answer ("I've thought it over and yes, I do")
    r"(?:\s+(?:and|so|now)\b)?")


def set_aside_decided(text: str, locale: str) -> str:
    """``text`` (a transcript) without the phrases of a decision already taken (``ZH_DECIDED``
    / ``EN_DECIDED``), each replaced by a clause break: what the hedge and hesitation checks
    and the lexicon read. Mandarin keeps its punctuation (simplified, NFKC); English comes back
    as its normalised words (``textnorm.en_tokens``). Nothing else is changed, so a negation
    or a 再想想 beside a decided phrase is still there."""
    if is_zh(locale):
        text = textnorm.to_simplified(textnorm.fold(text))
        out, last = [], 0
        for m in ZH_DECIDED.finditer(text):
            clause = _ZH_CLAUSE_BREAK.split(text[:m.start()])[-1]
            if not ZH_NOT_YET_DECIDED & set(clause):
                out += [text[last:m.start()], "，"]
                last = m.end()
        return "".join(out) + text[last:]
    return EN_DECIDED.sub(",", " ".join(textnorm.en_tokens(text)))


# Sentence-final 吧 is hedge wording: 是的吧 / 我自愿吧 / 可以吧 / 好吧 guess or give in ("yes, I
# suppose"), never consent, asked again as doubt. The recogniser leaves out commas as often as
# not (是吧我自愿), so a 吧 anywhere ends a clause, except in the nouns 酒吧 / 网吧 / 吧台. A 吧
# of the broker's own wording (an accepted answer 开始吧) is not a hedge: the character before
# it and 吧 are a pair of that wording. With a question mark it is a question (``is_question``).
_ZH_BA = re.compile("(?<![酒网])吧(?!台)")


def _hedging_ba(chars: str, mine: str) -> bool:
    """Whether ``chars`` (a Mandarin transcript's characters) holds a 吧 of hedging, not one of
    ``mine`` (the step's own wording, its characters run together)."""
    return any(m.start() == 0 or chars[m.start() - 1] + "吧" not in mine
               for m in _ZH_BA.finditer(chars))


def hedges(text: str, locale: str, own: Sequence[str] = ()) -> bool:
    """Whether ``text`` (a transcript) hedges or holds a reservation (``ZH_HEDGES`` /
    ``EN_HEDGES``, a 吧 that ends a clause): never consent (``judge_text``), and doubt for the
    witness judge. A word that is in one of ``own`` (the step's requested answer and accepted
    phrases, such as 我已了解投资可能亏损) is the broker's own wording, not a hedge. A decided
    phrase (我考虑好了, "I've made up my mind") is set aside first (``set_aside_decided``)."""
    text = set_aside_decided(text, locale)
    if is_zh(locale):
        mine = "".join(textnorm.zh_tokens("".join(own)))
        keys = [k for k in ZH_HEDGES if k not in mine]
        chars = textnorm.zh_tokens(text)
        return _has_any(chars, keys, True) or _hedging_ba("".join(chars), mine)
    mine_en = " " + " ".join(textnorm.en_tokens(" , ".join(own))) + " "
    return any(f" {m.group(0)} " not in mine_en
               for m in EN_HEDGES.finditer(" ".join(textnorm.en_tokens(text))))


# --- someone else did the investor's part (#12 fresh tester, hedge12) --------------------------
# "My son read it for me", 我儿子帮我读的, 是别人替我看的: the investor may not have read or
# understood it themselves. Never consent; the witness judge codes it "coerced" (asked again to
# answer for themselves, never given the words to say). Merely being shown or told something
# by the staff (工作人员给我看了风险揭示书) is not this.
ZH_DONE_BY_ANOTHER = re.compile(
    "(?:帮|替|代|为)(?:我|咱|俺)(?:读|念|看|填|签|写|弄|办|操作|答|回答)"
    # (not 在家里读的, "read at home")
    f"|(?<!在){_ZH_OTHER}(?:都|也|就|已经|已)?(?:给我|跟我|对我)?(?:读|念)(?:的|过|了|完|给)")
EN_DONE_BY_ANOTHER = re.compile(
    r"\b(?:read|went through|gone through|filled|signed|did|done|handled|answered)\s+"
    r"(?:\w+\s+){0,3}?(?:for|to)\s+(?:me|us)\b"
    rf"|\b{_EN_OTHER}\s+(?:\w+\s+)?(?:read|reads|went through|has read|had read|filled|"
    r"signed|handled|answered)\b", re.IGNORECASE)


def done_by_another(text: str, locale: str) -> bool:
    """Whether ``text`` says someone else read, filled in or answered for the investor
    (``ZH_DONE_BY_ANOTHER`` / ``EN_DONE_BY_ANOTHER``): never consent (``judge_text``)."""
    if is_zh(locale):
        return ZH_DONE_BY_ANOTHER.search("".join(textnorm.zh_tokens(text))) is not None
    return EN_DONE_BY_ANOTHER.search(" ".join(textnorm.en_tokens(text))) is not None


def cites_another_will(text: str, locale: str) -> bool:
    """Whether ``text`` (a transcript) speaks of someone else's will or an order
    (``ZH_ANOTHER_WILL`` / ``EN_ANOTHER_WILL``: someone else + told / asked / said / 让 / 叫 /
    要求 + me or an answer, an instruction in the passive, force or obligation). Such an answer
    is never consent (``judge_text``). That nobody forced the investor (没人逼我, 不是被迫的,
    "nobody is forcing me": ``set_aside_unforced``) is not another's will."""
    text = set_aside_unforced(text, locale)  # 没人逼我 / "nobody is forcing me" is free will
    if is_zh(locale):
        return ZH_ANOTHER_WILL.search("".join(textnorm.zh_tokens(text))) is not None
    return EN_ANOTHER_WILL.search(" ".join(textnorm.en_tokens(text))) is not None


EN_QUESTION_OPENERS = frozenset(("is", "are", "am", "do", "does", "did", "must", "should", "can",
                                 "could", "will", "would", "have", "has", "shall", "may",
                                 "what", "why", "how", "who", "when", "where"))

INTENTS = ("affirm", "deny", "phrase", "unclear")
EXPECTS = ("affirm", "deny", "phrases")


def is_zh(locale: str) -> bool:
    return locale.lower().startswith(("zh", "cmn"))


@dataclass(frozen=True)
class AnswerSpec:
    """What one question step accepts in one locale.

    ``expect``: affirm (a yes), deny (a no) or phrases (one of ``accept``). ``requested`` is
    the answer the guide asks for ("是的，我自愿"): it always counts as the wanted answer.
    ``accept`` / ``refuse`` extend the built-in lexicons for this step.
    """

    expect: str = "affirm"
    requested: str | None = None
    accept: tuple[str, ...] = ()
    refuse: tuple[str, ...] = ()

    def __post_init__(self):
        if self.expect not in EXPECTS:
            raise ValueError(f"expect {self.expect!r} is not one of {', '.join(EXPECTS)}")
        if self.expect == "phrases" and not (self.requested or any(a.strip() for a in self.accept)):
            raise ValueError("expect 'phrases' needs a requested answer or accepted phrases")


@dataclass(frozen=True)
class TextJudgement:
    """What a transcript means for a step: ``intent`` one of INTENTS, and why."""

    intent: str
    reason: str
    words: tuple[str, ...] = ()  # the normalised tokens that were judged

    def __post_init__(self):
        if self.intent not in INTENTS:
            raise ValueError(f"intent {self.intent!r} is not one of {', '.join(INTENTS)}")


@dataclass(frozen=True)
class _Phrases:
    tokens: tuple[tuple[str, ...], ...]
    syllables: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, texts: Iterable[str], locale: str) -> _Phrases:
        toks = [tuple(textnorm.tokens(t, locale)) for t in texts]
        toks = [t for t in dict.fromkeys(toks) if t]
        syls = [tuple(textnorm.zh_syllables(list(t))) for t in toks] if is_zh(locale) else []
        return cls(tuple(toks), tuple(syls))

    def cover(self, toks: Sequence[str], syls: Sequence[str] | None) -> bool:
        if covered_by(toks, self.tokens):
            return True
        return syls is not None and covered_by(syls, self.syllables)


def covered_by(words: Sequence[str], phrases: Sequence[Sequence[str]]) -> bool:
    """Whether ``words`` is one or more of ``phrases`` back to back, and nothing else."""
    if not words:
        return False
    ok = [True] + [False] * len(words)  # ok[i]: words[:i] is covered
    for i in range(len(words)):
        if ok[i]:
            for p in phrases:
                if p and tuple(words[i : i + len(p)]) == tuple(p):
                    ok[i + len(p)] = True
    return ok[-1]


def _strip(words: list[str], fillers: Sequence[Sequence[str]]) -> list[str]:
    """``words`` without filler phrases (longest first)."""
    out: list[str] = []
    i = 0
    ordered = sorted(fillers, key=len, reverse=True)
    while i < len(words):
        for f in ordered:
            if f and tuple(words[i : i + len(f)]) == tuple(f):
                i += len(f)
                break
        else:
            out.append(words[i])
            i += 1
    return out


def tokens_equal(a: str, b: str, locale: str) -> bool:
    """Whether two texts are the same words once normalised (punctuation, width, script)."""
    return textnorm.tokens(a, locale) == textnorm.tokens(b, locale)


def _has_any(words: Sequence[str], keys: Iterable[str], zh: bool) -> bool:
    """Whether one of ``keys`` is in ``words`` (characters run together in Mandarin, whole
    words in English)."""
    if zh:
        chars = "".join(words)
        if any(k in chars for k in keys):
            return True
        # A word of two or more characters also by its toneless syllables: the recogniser's
        # homophones (请处 for 清楚, 指导 for 知道, 自缘 for 自愿) are not the investor's words.
        syls = textnorm.zh_syllables(list(words))
        return any(len(k) > 1 and _contains(syls, textnorm.zh_syllables(list(k))) for k in keys)
    padded = " " + " ".join(words) + " "
    return any(f" {k} " in padded for k in keys)


def step_meaning(locale: str, spec: AnswerSpec) -> str:
    """What the step's requested answer says: "willingness" (是的，我自愿 / "yes, I do" / "I
    agree"), "understanding" (是的，我已了解 / "yes, I understand") or "" (是的，我确认, a bare
    yes, no requested answer)."""
    if spec.expect != "affirm" or not spec.requested:
        return ""
    zh = is_zh(locale)
    words = textnorm.tokens(spec.requested, locale)
    if _has_any(words, ZH_WILLING if zh else EN_WILLING, zh) \
            or (not zh and words[-2:] == ["i", "do"]):
        return "willingness"
    if _has_any(words, ZH_UNDERSTANDING if zh else EN_UNDERSTANDING, zh):
        return "understanding"
    return ""


def understanding_only(text: str, locale: str, spec: AnswerSpec) -> bool:
    """Whether ``text`` answers a willingness step with understanding only: it says 了解 / 明白 /
    清楚 / 知道 / 懂 ("understand", "understood", "I see", "got it") and no word of
    willingness. Such an answer is never consent there (#12 fresh tester: 是的，我已了解 and
    "Yes, I understand" passed 是的，我自愿 / "yes, I do"). The 清楚 / 明白 of a decided phrase
    (考虑清楚了, 我已经想明白了: ``set_aside_decided``) is a decision, not understanding."""
    if step_meaning(locale, spec) != "willingness":
        return False
    text = set_aside_decided(text, locale)
    zh = is_zh(locale)
    if zh and not textnorm.zh_tokens(text) and re.fullmatch(r"[a-z ]+", text.strip().lower()):
        # The pinyin grammar's transcript ("shi de wo ming bai"): its syllables, as words.
        words = text.lower().split()
        return (_has_any(words, [textnorm.toneless_pinyin(k) for k in ZH_UNDERSTANDING], False)
                and not _has_any(words, [textnorm.toneless_pinyin(k) for k in ZH_WILLING],
                                 False))
    words = textnorm.tokens(text, locale)
    return (_has_any(words, ZH_UNDERSTANDING if zh else EN_UNDERSTANDING, zh)
            and not _has_any(words, ZH_WILLING if zh else EN_WILLING, zh))


@functools.lru_cache(maxsize=8)
def _paraphrase_syllables(chars: frozenset[str]) -> frozenset[str]:
    return frozenset(textnorm.zh_syllables(sorted(chars)))


def _paraphrase(words: Sequence[str], locale: str, spec: AnswerSpec) -> bool:
    """Whether ``words`` (fillers set aside; no negation, question or double negation) is a
    natural paraphrase of the step's requested answer: it holds a word of the step's meaning
    (``step_meaning``), every other word is one of ``ZH_PARAPHRASE_CHARS`` /
    ``EN_PARAPHRASE_WORDS``, and no ``ZH_COERCION`` / ``EN_COERCION`` marker is in it."""
    meaning = step_meaning(locale, spec)
    if not meaning or not words:
        return False
    zh = is_zh(locale)
    keys = {("willingness", True): ZH_WILLING, ("willingness", False): EN_WILLING,
            ("understanding", True): ZH_UNDERSTANDING,
            ("understanding", False): EN_UNDERSTANDING}[(meaning, zh)]
    if not _has_any(words, keys, zh) or _has_any(words, ZH_COERCION if zh else EN_COERCION, zh):
        return False
    if zh:
        # Each character is one of the plain words, or sounds like one (开护 for 开户).
        allowed = ZH_PARAPHRASE_CHARS | set("".join(keys))
        sounds = _paraphrase_syllables(frozenset(allowed))
        return all(w in allowed or syl in sounds
                   for w, syl in zip(words, textnorm.zh_syllables(list(words)), strict=True))
    # "Is this voluntary" / "do I have to" heard without its question mark is a question.
    return words[0] not in EN_QUESTION_OPENERS and all(w in EN_PARAPHRASE_WORDS for w in words)


def has_negation(text: str, locale: str, words: Sequence[str] | None = None) -> bool:
    """Whether the transcript holds a negation anywhere (the consent veto).

    ``words``: the transcript's tokens without fillers, where a Mandarin negation may hide as
    a homophone (部 / 步 / 布 for 不) that the recogniser chose. A clause that only says nobody
    forced the investor (没人逼我, 不是被迫的, "nobody is forcing me": ``set_aside_unforced``) is
    not a negation; the rest of the transcript is read as ever.
    """
    text = set_aside_unforced(text, locale)  # 没人逼我, "nobody is forcing me": not a no
    if is_zh(locale):
        chars = "".join(textnorm.zh_tokens(text))
        for exc in ZH_NEGATION_EXCEPTIONS:
            chars = chars.replace(exc, "")
        if any(n in chars for n in ZH_NEGATIONS):
            return True
        return "bu" in textnorm.zh_syllables(list(words if words is not None else chars))
    return any(w in EN_NEGATIONS for w in textnorm.en_tokens(text))


@functools.lru_cache(maxsize=4)
def _refusals(locale: str) -> _Phrases:
    """Every built-in refusal (``ZH_REFUSAL`` / ``EN_REFUSAL``), a plain no or not."""
    return _Phrases.of(list(ZH_REFUSAL if is_zh(locale) else EN_REFUSAL), locale)


@functools.lru_cache(maxsize=256)
def _lexicon(locale: str, spec: AnswerSpec) -> tuple[_Phrases, _Phrases, _Phrases, tuple]:
    zh = is_zh(locale)
    consent = list(ZH_CONSENT if zh else EN_CONSENT)
    refusal = list(ZH_REFUSAL if zh else EN_REFUSAL)
    fillers = [tuple(textnorm.tokens(f, locale)) for f in (ZH_FILLERS if zh else EN_FILLERS)]
    wanted = [spec.requested] if spec.requested else []
    wanted += list(spec.accept)
    phrases: list[str] = []
    if spec.expect == "affirm":
        consent += wanted
    elif spec.expect == "deny":
        refusal = list(ZH_DENIALS if zh else EN_DENIALS) + wanted
    else:
        phrases = wanted
    refusal += list(spec.refuse)
    return (_Phrases.of(consent, locale), _Phrases.of(refusal, locale),
            _Phrases.of(phrases, locale), tuple(fillers))


def judge_text(text: str, locale: str, spec: AnswerSpec | None = None) -> TextJudgement:
    """The intent of one transcript for a question step (see the module docstring).

    ``locale``: 'zh-CN' / 'zh' or 'en'. Returns ``deny`` for a clear refusal, ``affirm`` (or
    ``phrase`` for expect phrases) for a clear wanted answer with no negation, else ``unclear``.
    """
    spec = spec or AnswerSpec()
    consent, refusal, phrases, fillers = _lexicon(locale, spec)
    zh = is_zh(locale)
    if not textnorm.tokens(text, locale):
        return TextJudgement("unclear", "no words in the transcript")
    # That nobody forced the investor (是的，我自愿，没人逼我; 不是被迫的，是我自己愿意的; "yes,
    # nobody forced me") is set aside and the rest judged on its own, every check again; it is
    # taken only when the rest is the wanted answer. Otherwise the whole transcript is judged
    # as heard: 没有，没人逼我 stays unclear, never a refusal (nor a step's own phrase 没有).
    unforced = set_aside_unforced(text, locale)
    if (unforced != text and spec.expect != "deny" and textnorm.tokens(unforced, locale)
            and not has_negation(unforced, locale)):
        rest = judge_text(unforced, locale, spec)
        if rest.intent in ("affirm", "phrase"):
            return TextJudgement(rest.intent, f"{rest.reason}, and that nobody forced them",
                                 rest.words)
    # The words matched: a decided phrase set aside (是的，我考虑好了，我自愿 is 是的，我自愿).
    # Alone it is judged as said (I've decided: a paraphrase; 我想好了: not an accepted answer).
    undecided = set_aside_decided(text, locale)
    said = undecided if textnorm.tokens(undecided, locale) else text
    raw = textnorm.tokens(said, locale)
    words = _strip(raw, fillers) or raw
    if zh and len(words) > 2 and words[0] in ZH_ONSETS_BEFORE_SHI and words[1] == "是":
        words = words[1:]
    syls = textnorm.zh_syllables(words) if zh else None
    if is_question(text, locale):
        return TextJudgement("unclear", "a question, not an answer", tuple(words))
    if not zh and _EN_DOUBT.search(text):
        return TextJudgement("unclear", "'yeah, right' may be doubt: asked again", tuple(words))
    if zh and any(_ZH_DOUBLE_NEGATION.search("".join(textnorm.zh_tokens(clause)))
                  for clause in _ZH_CLAUSE_BREAK.split(textnorm.fold(text))):
        # Within a clause: 没有，没人承诺过 is two denials, not 没有没 (#12 fresh tester, 17th
        # session); a recogniser that leaves the comma out still makes it unclear (safe side).
        return TextJudgement("unclear", "a negated negation: neither yes nor no", tuple(words))
    negated = has_negation(text, locale, words)
    # Someone else's will never lets an answer be taken as wanted (a refusal is judged as ever).
    another = cites_another_will(text, locale)
    if phrases.tokens and phrases.cover(words, syls):
        # The broker's own phrases come first; one may itself be negative ("没有"), otherwise
        # a negation vetoes it.
        own = any(has_negation("".join(p) if zh else " ".join(p), locale) for p in phrases.tokens)
        if negated and not own:
            return TextJudgement("unclear", "a negation was heard", tuple(words))
        if another:
            return TextJudgement("unclear", ANOTHER_WILL, tuple(words))
        return TextJudgement("phrase", "one of the step's phrases", tuple(words))
    if refusal.cover(words, syls):
        return TextJudgement("deny", "the no asked for, and nothing else"
                             if spec.expect == "deny" else "a refusal, and nothing else",
                             tuple(words))
    if spec.expect == "deny" and _nobody_did(text, locale, spec, refusal, fillers):
        return TextJudgement("deny", "a no, then that nobody did it", tuple(words))
    deny_step = spec.expect == "deny"
    if deny_step and _refusals(locale).cover(words, syls):
        return TextJudgement("unclear", NOT_THE_NO, tuple(words))
    if negated:
        return TextJudgement("unclear", NO_AMONG_OTHER_WORDS if deny_step
                             else "a negation was heard: never consent", tuple(words))
    if another:
        return TextJudgement("unclear", _on_step(ANOTHER_WILL, spec), tuple(words))
    if done_by_another(text, locale):
        return TextJudgement("unclear", _on_step(DONE_BY_ANOTHER, spec), tuple(words))
    if hedges(text, locale, _own_answers(spec)):
        return TextJudgement("unclear", _on_step(HEDGE, spec), tuple(words))
    if understanding_only(text, locale, spec):
        return TextJudgement("unclear", UNDERSTANDING_ONLY, tuple(words))
    if consent.cover(words, syls) or (zh and consent.cover(raw, None)):
        # (raw: a yes made only of intensifiers, 当然了, which setting them aside would empty)
        return TextJudgement("affirm", "accepted answers, and nothing else", tuple(words))
    if spec.expect == "affirm" and _paraphrase(words, locale, spec):
        return TextJudgement("affirm", "a paraphrase of the requested answer", tuple(words))
    return TextJudgement("unclear", "not an accepted answer", tuple(words))


# "Nobody did it" after the no a deny step asks for: 没有，没人承诺过 / 没有，没有人跟我说过保本
# (#12 fresh tester, seventeenth session: refused as "a negated negation" or as a negation);
# "No, nobody promised me anything." / "No, no one has." (eighteenth session: refused as a
# negation; the recogniser writes "no one" as "no 1"). An exception in the same clause (除了经理,
# "except the manager") says someone did: never this.
_ZH_NOBODY = re.compile(r"^(?:没有?人|谁都没|谁也没|从来没|从没|都没有?人)")
# "Nobody" as Whisper writes it ("no one" as "no 1").
_EN_NOBODY_WORDS = r"nobody(?:'s)?|no body|no 1|noone|not anybody|not anyone"
_EN_NOBODY = re.compile(rf"^(?:{_EN_NOBODY_WORDS}|"
                        r"none of (?:them|us|the \w+|your \w+|our \w+)|never)\b")
_ZH_SAVE = ("除", "以外", "之外", "只有", "就是")
_EN_SAVE = frozenset(("except", "apart", "besides", "other", "than", "unless", "until", "only",
                      "save", "excluding", "else", "but"))
_EN_CLAUSE_BREAK = re.compile(r"[,.;:!?]")


def _saves_someone(said: str, zh: bool) -> bool:
    """Whether a clause (its tokens run together, or joined by spaces in English) makes an
    exception to "nobody" (除了经理, "except the manager", "nobody but ...")."""
    return any(k in said for k in _ZH_SAVE) if zh else bool(_EN_SAVE & set(said.split()))


def _nobody_did(text: str, locale: str, spec: AnswerSpec, refusal: _Phrases,
                fillers: Sequence) -> bool:
    """Whether ``text`` to a deny step is its no (a refusal or the step's own answer) followed
    only by clauses that say nobody did it (``_ZH_NOBODY`` / ``_EN_NOBODY``), none of them a
    question, a hedge, a doubled negation or an exception (``_ZH_SAVE`` / ``_EN_SAVE``). A
    clause is what punctuation (or, in Mandarin, a space) marks: without it, never this."""
    zh = is_zh(locale)
    split = textnorm.zh_tokens if zh else textnorm.en_tokens
    breaks = _ZH_CLAUSE_BREAK if zh else _EN_CLAUSE_BREAK
    clauses = [c for c in breaks.split(textnorm.fold(text))
               if _strip(split(c), fillers)]  # a lone 嗯 / "um" is no clause
    if len(clauses) < 2:
        return False
    first = _strip(split(clauses[0]), fillers)
    if not refusal.cover(first, textnorm.zh_syllables(first) if zh else None):
        return False
    for clause in clauses[1:]:
        said = ("" if zh else " ").join(split(clause))
        nobody = (_ZH_NOBODY if zh else _EN_NOBODY).match(said)
        rest = said[nobody.end():] if nobody else ""
        if (nobody is None or is_question(clause, locale)
                or hedges(clause, locale, _own_answers(spec))
                or has_negation(rest, locale)  # 没人不承诺, "nobody did not": doubled
                or _saves_someone(said, zh)):
            return False
    return True


# --- nobody forced me (#12 fresh tester, eighteenth session) -----------------------------------
# 是的，我自愿，没人逼我 / 是的，我自愿，没有人强迫我 / 不是被迫的，是我自己愿意的 / "Yes, I do.
# Nobody is forcing me." were refused: 没 / 不 / "no one" were a negation, 逼 / 迫 / "forcing me"
# another's will. A clause that says only that nobody forced, pushed or made the investor (no
# object after it: 没人让我来 is not one) is neither; it is set aside (``set_aside_unforced``)
# and the rest must be the wanted answer by every rule (``judge_text``). Not set aside: 是不是被
# 迫的 / 有没有人逼我 (asked, not said), 被迫的 (forced), and "nobody told / asked me" (nobody
# informed or consulted me, not that nobody made me), nor a clause that says it only of now:
# 现在没人逼我了 / 已经没人逼我 ("nobody forces me any more", so someone did; nineteenth session).
ZH_UNFORCED = re.compile(
    "(?<![是有])(?<!现在)(?<!目前)(?<!如今)(?<!已经)(?<!暂时)(?<!这次)(?<!今天)(?<!这回)"
    "(?:我|本人)?(?:从来|根本|完全|绝对|也|都|并)?"
    "(?:(?:没有?人|没有谁|谁都没有?|谁也没有?|没有任何人|没有别人)"
    "(?:逼|强迫|逼迫|胁迫|强制|迫使|让|叫|要求|催|劝)(?:过|着)?(?:我|俺)"
    "|(?:没有?|不是|并非|并不是)被(?:人)?(?:逼|迫|强迫|逼迫|胁迫|强制)(?:过|着)?)"
    "(?:的|过|啊|呀)*"
    "(?=$|[,.;:!?，。；：！？、\\s]|是|我|对|好|本人)")
_EN_NOBODY_WHO = rf"(?:{_EN_NOBODY_WORDS})(?: else)?"
EN_UNFORCED = re.compile(
    rf"(?:^|(?<= ))(?:{_EN_NOBODY_WHO}(?: (?:is|was|has|had|did|ever|been|really))*"
    r" (?:forcing|forced|forces|force|pressuring|pressured|pressures|pressure|pushing|pushed|"
    r"pushes|push|making|made|makes|make|coercing|coerced|coerces|coerce|threatening|"
    r"threatened) me"
    r"|i (?:(?:am|was|have|had) )?(?:not|never) (?:been |being )?(?:forced|pressured|pushed|"
    r"coerced|threatened|made))"
    r"(?: (?:to do (?:this|it|that)|do (?:this|it|that)|into (?:this|it|that|anything)|to|"
    r"at all|by anyone|by anybody|by anyone else))?$")


def set_aside_unforced(text: str, locale: str) -> str:
    """``text`` (a transcript) without the clauses that only say nobody forced the investor
    (``ZH_UNFORCED`` / ``EN_UNFORCED``), each replaced by a clause break, or ``text`` itself
    when it holds none. Mandarin comes back simplified and folded (NFKC) with its punctuation;
    an English clause (between punctuation) that ends with one keeps its other words."""
    if is_zh(locale):
        folded = textnorm.to_simplified(textnorm.fold(text))
        out = ZH_UNFORCED.sub("，", folded)
        return text if out == folded else out
    parts = re.split(r"([,.;:!?])", textnorm.fold(text))
    changed = False
    for i in range(0, len(parts), 2):
        said = " ".join(textnorm.en_tokens(parts[i]))
        m = EN_UNFORCED.search(said)
        if m:
            parts[i], changed = " " + said[:m.start()].strip(), True
    return "".join(parts) if changed else text


def _on_step(reason: str, spec: AnswerSpec) -> str:
    """``reason`` in the words of a deny step, where the answer wanted is a no: "never
    consent" there would say the opposite of what is at stake."""
    return reason.replace("never consent", NEVER_THE_NO) if spec.expect == "deny" else reason


UNDERSTANDING_ONLY = "understanding only, not willingness: asked again"
ANOTHER_WILL = "it speaks of someone else's will or an order: never consent, asked again"
HEDGE = "a hedge or a reservation (I think, probably, but, worried): never consent, asked again"
DONE_BY_ANOTHER = "someone else read or answered for the investor: never consent, asked again"
# On a deny step (the wanted answer is a no: has anyone promised you returns?).
NEVER_THE_NO = "never taken as the no asked for"
NOT_THE_NO = ("a refusal or doubt (not sure, not really, let me think), not the no asked for: "
              "asked again")
NO_AMONG_OTHER_WORDS = "a no among other words that may say otherwise: not a clear no, asked again"


# --- read-aloud -------------------------------------------------------------------------------

# A reading passes when its error rate (CER for Mandarin, WER for English) is at most this and
# every required item (the name, the ID tail) was heard exactly. Measured in docs/evaluation.md.
READING_MAX_ERROR = 0.25


@dataclass(frozen=True)
class ReadingScore:
    """How closely a transcript follows the sentence to read.

    ``error_rate`` is the edit distance over the expected length: characters (zh, the better
    of characters and toneless pinyin) or words (en); ``score`` is ``1 - error_rate`` clipped
    to 0..1; ``missing`` lists required items (name, ID digits) not heard exactly;
    ``tolerated`` says, for the evidence, which recogniser's slip was let stand in a required
    item that counts as heard ("the digits heard with a doubled digit said once");
    ``ambiguous`` says why a required digit string heard with such a slip was not let stand
    (``SLIP_AMBIGUOUS``: another string of its length is heard the same way); that item is
    also in ``missing``.
    """

    score: float
    error_rate: float
    unit: str
    missing: tuple[str, ...]
    expected: str
    heard: str
    tolerated: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.error_rate <= READING_MAX_ERROR and not self.missing


def _negations(text: str, locale: str) -> int:
    if is_zh(locale):
        chars = "".join(textnorm.zh_tokens(text))
        return sum(chars.count(n) for n in ZH_NEGATIONS)
    return sum(1 for w in textnorm.en_tokens(text) if w in EN_NEGATIONS)


def _names_as_written(heard: str, required: Sequence[str]) -> str:
    """A Mandarin ``heard`` with each stretch that sounds like one of the ``required`` names
    (``_said_like``, syllable by syllable) written as that name, for counting negations: a
    surname that sounds like a negation is the name, not a negation added (holdout 19,
    seventeenth session: 卜佳慧 read as asked and heard as 不佳慧 was "a reading that negates
    the statement"). Digit items are left alone."""
    hyp = textnorm.zh_tokens(heard)
    for item in required:
        part = textnorm.zh_tokens(item)
        if not part or any(t.isdigit() for t in part):
            continue
        n = len(part)
        for i in range(len(hyp) - n + 1):
            if hyp[i:i + n] != part and _said_like(hyp[i:i + n], part):
                hyp[i:i + n] = part
    return "".join(hyp)


def _edit_rate(ref: Sequence[str], hyp: Sequence[str]) -> float:
    from rapidfuzz.distance import Levenshtein

    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(list(ref), list(hyp)) / len(ref)


def _contains(seq: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return n == 0 or any(tuple(seq[i : i + n]) == tuple(part) for i in range(len(seq) - n + 1))


def _digit_groups(seq: Sequence[str]) -> list[list[str]]:
    """The maximal runs of digits (and the check letter X) in a token list."""
    return [list(seq[a:b]) for a, b in _digit_spans(seq)]


def _digit_spans(seq: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of each maximal run of digits (and the check letter X) in a token list."""
    spans: list[tuple[int, int]] = []
    for i, t in enumerate(seq):
        if t.isdigit() or t == "X":
            if spans and spans[-1][1] == i:
                spans[-1] = (spans[-1][0], i + 1)
            else:
                spans.append((i, i + 1))
    return spans


# How each digit is read aloud in Mandarin (1 also as 幺 yao, 2 also as 两 liang).
_ZH_DIGIT_READINGS = {"0": ("ling",), "1": ("yi", "yao"), "2": ("er", "liang"), "3": ("san",),
                      "4": ("si",), "5": ("wu",), "6": ("liu",), "7": ("qi",), "8": ("ba",),
                      "9": ("jiu",)}


def _syllable_options(token: str) -> tuple[str, ...]:
    if token in _ZH_DIGIT_READINGS:
        return _ZH_DIGIT_READINGS[token]
    return (textnorm.zh_syllables([token])[0],)


# The sounds that many Mandarin speakers (and recognisers) merge: front and back nasal
# finals, l/n, and the flat and retroflex sibilants (平翘舌: z/zh, c/ch, s/sh; Whisper base
# wrote a spoken 三 as 善 shan). These are the standard "fuzzy pinyin" (模糊音) pairs of
# Chinese input methods. No digit reading turns into another digit's through them (ling/lin,
# liu/niu, san/shan, si/shi: no digit is read with zh, ch or sh).
_FUZZY_FINALS = (("ing", "in"), ("eng", "en"), ("ang", "an"))
_FUZZY_INITIALS = (("l", "n"), ("z", "zh"), ("c", "ch"), ("s", "sh"))


def fuzzy_pinyin(syllable: str) -> str:
    """One canonical form of a toneless syllable under the fuzzy pairs (lin and ling: lin)."""
    for long, short in _FUZZY_FINALS:
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
            break
    for a, b in _FUZZY_INITIALS:
        if syllable.startswith(b):
            syllable = a + syllable[len(b):]
            break
    return syllable


_ZH_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j",
                "q", "x", "r", "z", "c", "s", "y", "w")


def _initial_final(syllable: str) -> tuple[str, str]:
    """A toneless syllable split into its initial (zh, b, ...; "" for none) and final."""
    initial = next((i for i in _ZH_INITIALS if syllable.startswith(i)), "")
    return initial, syllable[len(initial):]


def _sounds_alike(a: str, b: str) -> bool:
    """Whether two toneless syllables of a NAME sound alike: equal up to the fuzzy pairs
    (``fuzzy_pinyin``: ming/min, chen/ceng, zhou/zou), up to a written zero initial (yao/ao),
    or with the same initial as written and finals apart only by a nasal ending or e/o (闵
    min heard as 米 mi, 曾 ceng as 从 cong). Until the eighteenth session any two syllables
    0.75 alike in letters did, and that let another name through with another initial
    (#12: 戴明 read for 戴晴 passed, ming/qing; so did zhang/chang and liang/jiang)."""
    if a == b or fuzzy_pinyin(a) == fuzzy_pinyin(b):
        return True
    if (a[:1] in "yw") != (b[:1] in "yw") and a.lstrip("yw") == b.lstrip("yw"):
        return True
    # the same initial as written (l/n folded let 娜 na stand for 丽 li: 单丽丽 passed for 单丽娜,
    # #12 eighteenth-session tester), finals apart only by a nasal ending or e/o
    (ia, fa), (ib, fb) = _initial_final(a), _initial_final(b)
    return ia == ib and (fa.rstrip("ng") == fb.rstrip("ng")
                         or fa.replace("o", "e") == fb.replace("o", "e"))


# Numerals that are not digits: written by the recogniser, they mean their number, so their
# sound never stands for a digit (一二三十 is not 1234, though shi and si are fuzzy pairs).
_ZH_NUMBER_WORDS = frozenset("十拾百佰千仟万萬亿億")


def _said_like(hyp: Sequence[str], part: Sequence[str], strict: bool = False) -> bool:
    """Whether ``part`` was said somewhere in ``hyp``, syllable by syllable alike (Mandarin):
    a name Whisper base wrote as a near homophone (赵敏 as 照明), or ID digits written as
    characters read like them (2224 as 222死, 0740 as 邻期四邻). A digit must be read as
    that digit, up to the fuzzy pairs (``fuzzy_pinyin``: lin is 0, liang is never 0); only
    name syllables may merely sound alike. ``strict``: no token that even reads like a digit
    right before or after the digits (for a tolerated slip: 537期 is not 5337 said 537)."""
    want = [(_syllable_options(t), t.isdigit()) for t in part]
    found = None if any(d for _, d in want) else textnorm.zh_surname("".join(part))
    if found is not None:
        # A surname read otherwise than its character's common reading (卜 is bǔ as a surname,
        # bo in 萝卜): the name is said with the surname's reading (holdout 19: 卜佳慧 heard as
        # 不佳慧 was "not heard").
        for k, syl in enumerate(found[1].split()[:len(found[0])]):
            plain = "".join(c for c in unicodedata.normalize("NFD", syl.replace("ü", "v"))
                            if not unicodedata.combining(c))
            want[k] = ((plain, *want[k][0]), False)
    got = [_syllable_options(t)[0] for t in hyp]
    n = len(want)

    def alike(heard: str, g: str, opts: tuple[str, ...], digit: bool) -> bool:
        if digit:
            if heard in _ZH_NUMBER_WORDS:  # 十 is ten, never a 4 heard as shi
                return False
            return g in opts or fuzzy_pinyin(g) in {fuzzy_pinyin(o) for o in opts}
        # a heard character with more than one reading (藏 cang / zang: 臧文静 heard as 藏文静
        # without the bias, holdout 22) may be read either way
        return any(_sounds_alike(r, w) for r in textnorm.zh_readings(heard) or (g,)
                   for w in opts)

    def bounded(i: int) -> bool:  # digits are a whole group: no digit right before or after
        if not any(d for _, d in want):
            return True
        before = hyp[i - 1] if i > 0 else ""
        after = hyp[i + n] if i + n < len(hyp) else ""
        if strict:
            return not (_reads_as_digit(before) or _reads_as_digit(after))
        return not (before.isdigit() or after.isdigit())

    return any(bounded(i) and all(alike(h, g, opts, digit) for h, g, (opts, digit)
                                  in zip(hyp[i:i + n], got[i:i + n], want, strict=True))
               for i in range(len(got) - n + 1))


_DIGIT_SOUNDS = frozenset(fuzzy_pinyin(o) for opts in _ZH_DIGIT_READINGS.values() for o in opts)


def _reads_as_digit(token: str) -> bool:
    """Whether a heard Mandarin token is a digit or a character read like one (期 for 7)."""
    if not token or token in _ZH_NUMBER_WORDS:
        return False
    if token.isdigit() or token == "X":
        return True
    return fuzzy_pinyin(_syllable_options(token)[0]) in _DIGIT_SOUNDS


# Alternative digit readings folded onto the first (幺 yao is 1, 两 liang is 2), on both sides.
_ZH_READING_FOLD = {alt: opts[0] for opts in _ZH_DIGIT_READINGS.values() for alt in opts[1:]}


def _sounds(tokens: Sequence[str]) -> list[str]:
    """Mandarin tokens as the syllables they sound like, for the reading's pinyin error rate:
    toneless pinyin, digits as their readings (1482 and 以四把二 are both yi si ba er), the
    fuzzy pairs folded (``fuzzy_pinyin``)."""
    out = []
    for tok, syl in zip(tokens, textnorm.zh_syllables(list(tokens)), strict=True):
        syl = _ZH_DIGIT_READINGS[tok][0] if tok in _ZH_DIGIT_READINGS else syl
        out.append(fuzzy_pinyin(_ZH_READING_FOLD.get(syl, syl)))
    return out


def _runs(seq: Sequence[str]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for t in seq:
        if out and out[-1][0] == t:
            out[-1] = (t, out[-1][1] + 1)
        else:
            out.append((t, 1))
    return out


# What a tolerated difference in a heard digit string is called in the evidence.
DOUBLED_SAID_ONCE = "a doubled digit said once"
# What a reading that adds a "not" (不自愿, 并非自愿) is missing, in ``Reading.missing``.
NEGATION_ADDED = "a negation that is not in the text"
REPEAT_ONE_OFF = "a repeated digit said once more or less"
# Why a slip was NOT let stand: the heard digits are as well another string of the same length
# with a repeat said once more or less (700 is 7700 with 77 said once, and 7000 with 000 said
# twice), so they do not tell which tail was read (#12 fresh tester: 7000 read for 7700 passed).
SLIP_AMBIGUOUS = ("a repeat said once more or less, but another digit string of the same length "
                  "is heard the same way")


def _digits_heard(group: Sequence[str], part: Sequence[str]) -> str | None:
    """How a whole group of heard digits is the expected digit string: ``""`` when exactly,
    the tolerance's name when it differs only in ONE run of a repeated digit, else None.

    Tolerated: a run of three or more heard once more or less (``REPEAT_ONE_OFF``: Whisper
    writes a spoken 0002 as 002 and 8888 as 88888), and a doubled digit heard once
    (``DOUBLED_SAID_ONCE``: Whisper base writes a spoken 三一一五 as 315 and 四二二七 as 427;
    holdouts 4, 9 and 12). 0022, 0202, 12345 for 0002 / 1234, 31155 or 3155 for 3115, and 35
    or 311 for 3115 never pass; nor does a single digit heard twice (25355 for 2535). A
    tolerated slip is let stand only when it settles the string (``_slip_settles``): 315 is
    3115, 3315 or 3155 as well, so it is not heard (``SLIP_AMBIGUOUS``); 888 is only 8888."""
    if list(group) == list(part):
        return ""
    a, b = _runs(group), _runs(part)
    if [d for d, _ in a] != [d for d, _ in b]:
        return None
    diffs = [(x, y) for (_, x), (_, y) in zip(a, b, strict=True) if x != y]
    if len(diffs) != 1:
        return None
    heard, want = diffs[0]
    if abs(heard - want) == 1 and max(heard, want) >= 3:
        return REPEAT_ONE_OFF
    return DOUBLED_SAID_ONCE if (heard, want) == (1, 2) else None


def _explanations(heard: Sequence[str], size: int) -> set[tuple[str, ...]]:
    """Every digit string of ``size`` characters that ``heard`` is, exactly or by one
    tolerated slip (``_digits_heard``): one run of ``heard`` one longer or one shorter.
    315 gives 3315, 3115 and 3155 for size 4; 700 gives 7700 and 7000; 888 only 8888."""
    out = {tuple(heard)} if len(heard) == size else set()
    runs = _runs(heard)
    for i, (_, count) in enumerate(runs):
        for changed in (count - 1, count + 1):
            if changed < 1:
                continue
            q = [d for j, (d, n) in enumerate(runs) for _ in range(changed if j == i else n)]
            if len(q) == size and _digits_heard(heard, q) is not None:
                out.add(tuple(q))
    return out


def _slip_settles(heard: Sequence[str], part: Sequence[str]) -> bool:
    """Whether a slip heard as ``heard`` can only be ``part``: no other digit string of the same
    length gives ``heard`` by a tolerated slip (``_explanations``). A collapse that has two
    or more runs left never settles (315 is 3115, 3315 or 3155: each a single digit away from
    the others), nor does 002 for 0002 (0022); one digit repeated does (888 for 8888), and so
    does a run heard once more (88888 for 8888, 00002 for 0002)."""
    return _explanations(heard, len(part)) == {tuple(part)}


def _one_repeat_said_once(part: Sequence[str]) -> list[tuple[list[str], str]]:
    """``part`` with one repeat of a repeated digit left out, each way it can be, with the
    tolerance's name: 3115 gives 315 (``DOUBLED_SAID_ONCE``), 8888 gives 888
    (``REPEAT_ONE_OFF``), 1234 gives nothing."""
    out: list[tuple[list[str], str]] = []
    for (digit, n), start in zip(_runs(part), _run_starts(part), strict=True):
        if n >= 2 and digit.isdigit():
            short = list(part[:start]) + list(part[start + 1:])
            out.append((short, DOUBLED_SAID_ONCE if n == 2 else REPEAT_ONE_OFF))
    return out


def _run_starts(seq: Sequence[str]) -> list[int]:
    return [i for i in range(len(seq)) if i == 0 or seq[i] != seq[i - 1]]


# An English name written another way by the recogniser: its letters, run together, at least
# this alike (rapidfuzz ratio) to a run of heard words. Leah Novak heard as "Lee Novak" is
# 0.82, Noah Bennett as "know a Bennett" 0.87, Mei Lin Ong as "may Lin Ong" 0.78; another
# applicant's name is under 0.5. (0.8 until the eighteenth session, when the given names' own
# checks, first sound and consonants, made the run's letters a looser first filter; at 0.8
# "Lin Ong" alone stood for Mei Lin Ong.)
NAME_SPELLING_SIMILARITY = 0.75
NAME_SPELLING_MIN_LETTERS = 8  # shorter names must be heard as written (John Li is not Jon Li)
# The surname, the name's last word, must be heard as written or spelled nearly so, word by
# word: the same first letter and at least this alike (Schultz as Shultz is 0.92). The whole
# name's letters run together let another surname through when the first name carried it
# (#12 tester: Emily Walker read as "Emily Walters" passed, 0.87; so did Zhang / Wang, Miller /
# Mills, Carter / Porter, Chen / Cheng).
SURNAME_SPELLING_SIMILARITY = 0.9
# ...and the given name(s), the letters of the run's other words, at least this alike to the
# given names' letters (Leah heard as Lee 0.57, Noah as "know a" 0.67): the whole name's
# letters let another given name through on a long surname (#12 fresh tester, seventeenth
# session: "I, Peter Holloway" and "Sarah Holloway" passed for Mark Holloway, 0.22 and 0.44;
# Mike for Mark is 0.50).
GIVEN_NAME_SPELLING_SIMILARITY = 0.55
# A Chinese name read in English (王建国 as "Wang Jianguo", ``textnorm.romanised_name``): the
# surname stands first, where an English given name would, and one syllable makes another
# name, so it must have its first letter and be at least this alike (Wong for Wang 0.75; Zhang
# for Wang 0.67 and Li fail); the given name is checked as an English surname.
CHINESE_SURNAME_SIMILARITY = 0.75


# How an English word's first sound is written, for the given-name check: a silent first
# letter (Noah heard as "know a"), ph, and c/q read as k or s.
_EN_FIRST_SOUND = (("kn", "n"), ("gn", "n"), ("wr", "r"), ("ps", "s"), ("ph", "f"),
                   ("wh", "w"))


def _first_sound(word: str) -> str:
    """The first sound of an English word, as one letter: know → n, Phil → f, Cath → k,
    Cecil → s, Quinn → k (a name and the name heard must begin alike: "Tina Patel" for Nina
    Patel was 0.75 alike in its given name and passed, #12 eighteenth session)."""
    w = word.lower()
    for prefix, sound in _EN_FIRST_SOUND:
        if w.startswith(prefix):
            return sound
    if w[:1] == "c":
        return "s" if w[1:2] in ("e", "i", "y") else "k"
    return {"q": "k", "x": "z"}.get(w[:1], w[:1])


# Letter groups that are one consonant sound, for ``_consonants`` (upper case: a sound of
# its own, never a letter left over).
_EN_CONSONANT_GROUPS = (("sch", "s"), ("tch", "C"), ("ch", "C"), ("ck", "k"), ("ph", "f"),
                        ("th", "T"), ("sh", "S"), ("gh", ""), ("qu", "kw"), ("x", "ks"),
                        ("q", "k"), ("z", "s"))


def _consonants(word: str) -> str:
    """An English name's consonant sounds in order, from its letters: vowels and the
    semi-vowels h, w, y left out, a silent first letter dropped (``_first_sound``), c read as
    k or s, doubles once ("Evan" vn, "Ethan" Tn, "Leah" and "Lee" l, "Lena" ln, "know a" n,
    "Callum" and "Calum" klm, "Sophia" and "Sofia" sf). Given names one consonant apart are
    other names (#12, eighteenth session: Evan read for Ethan and Lena for Leah passed)."""
    w = "".join(c for c in word.lower() if c.isalpha())
    for prefix, sound in _EN_FIRST_SOUND:
        if w.startswith(prefix):
            w = sound + w[len(prefix):]
            break
    for group, sound in _EN_CONSONANT_GROUPS:
        w = w.replace(group, sound)
    w = "".join(("s" if w[i + 1:i + 2] in ("e", "i", "y") else "k") if c == "c" else c
                for i, c in enumerate(w))
    out = ""
    for c in w:
        if c in "aeiouhwy" or (out and out[-1] == c):
            continue
        out += c
    return out


def _same_consonants(heard: str, given: str, surname: str) -> bool:
    """Whether a given name ``heard`` has the consonants of ``given`` (``_consonants``), or
    those and the first of ``surname`` run into it ("I rent Takahashi" for Ren Takahashi)."""
    h, g = _consonants(heard), _consonants(given)
    return h == g or (h[:-1] == g and heard[-1:].lower() == surname[:1].lower()
                      and h[-1:] == _consonants(surname)[:1])


def _spelled_alike(hyp: Sequence[str], part: Sequence[str],
                   given_similarity: float = GIVEN_NAME_SPELLING_SIMILARITY,
                   given_first_letter: bool = False) -> bool:
    """Whether the English name ``part`` was said in ``hyp`` as words spelled another way:
    Whisper writes homophones of a name (Leah as Lee, "I, Noah" as "I know a"). The name's
    letters run together are compared with every run of one word fewer to one word more,
    also run together, and the run must hold the surname as written or nearly so
    (``SURNAME_SPELLING_SIMILARITY``, same first letter) and, in its other words, the given
    names spelled nearly so (``given_similarity``) beginning with the same sound
    (``_first_sound``: Nina is not Tina) and with the same consonants (``_consonants``: Evan
    is not Ethan, Lee is Leah), and with ``given_first_letter`` the same
    first letter: a romanised Chinese name's surname, ``CHINESE_SURNAME_SIMILARITY``); digits
    never count as a name."""
    from rapidfuzz import fuzz

    name = "".join(part)
    if len(name) < NAME_SPELLING_MIN_LETTERS or any(t.isdigit() for t in part):
        return False
    surname = part[-1]

    def is_surname(w: str) -> bool:
        return w == surname or (w[:1] == surname[:1] and fuzz.ratio(w, surname) / 100.0
                                >= SURNAME_SPELLING_SIMILARITY)

    def has_names(run: Sequence[str]) -> bool:
        # the surname as one word or two run together, and the given names in the rest
        for j in range(len(run)):
            for k in (j + 1, j + 2):
                if k <= len(run) and is_surname("".join(run[j:k])):
                    if len(part) == 1:
                        return True
                    given, words = "".join(part[:-1]), [*run[:j], *run[k:]]
                    # the rest, or the rest after a word before the name ("I may Lin Ong")
                    for rest in ("".join(words), "".join(words[1:]) if j > 1 else ""):
                        if rest and fuzz.ratio(given, rest) / 100.0 >= given_similarity \
                                and _first_sound(rest) == _first_sound(given) \
                                and _same_consonants(rest, given, surname) \
                                and (not given_first_letter or rest[:1] == given[:1]):
                            return True
        return False

    for n in range(max(1, len(part) - 1), len(part) + 2):
        for i in range(len(hyp) - n + 1):
            run = hyp[i:i + n]
            if any(t.isdigit() for t in run):
                continue
            if fuzz.ratio(name, "".join(run)) / 100.0 >= NAME_SPELLING_SIMILARITY \
                    and has_names(run):
                return True
    return False


def _heard_item(hyp: Sequence[str], part: Sequence[str], zh: bool) -> str | None:
    """How a required item was heard: ``""`` when as asked, the name of a tolerated
    difference (``DOUBLED_SAID_ONCE``, ``REPEAT_ONE_OFF``), ``SLIP_AMBIGUOUS`` when a digit
    string was heard with such a difference that another string of its length gives too (not
    heard: ``_slip_settles``), or None when not heard.

    A name must be there exactly, or as syllables that sound alike (Mandarin), or as words
    spelled another way (English, ``_spelled_alike``). A digit string must be one whole group
    of digits (``_digits_heard``), or in Mandarin characters read exactly like those digits
    (``_said_like``; 53期 for 537); in both, one repeat of a repeated digit may be heard once
    (53期 for 5337), and nothing else; and such a slip only when it settles which string was
    read (``_slip_settles``). An English organisation's name (``_is_organisation``) must have
    each of its own words heard as written or spelled nearly so (``_words_spelled_alike``)."""
    if all(t.isdigit() or t == "X" for t in part):
        hows = []
        for a, b in _digit_spans(hyp):
            how = _digits_heard(hyp[a:b], part)
            if how == "":
                return ""
            # A slip is let stand only when no character read like a digit is next to the
            # group (537期 is 5377 heard, not 5337 said 537).
            if how is not None and not (zh and (_reads_as_digit(hyp[a - 1] if a else "")
                                                or _reads_as_digit(hyp[b] if b < len(hyp)
                                                                   else ""))):
                hows.append(how if _slip_settles(hyp[a:b], part) else SLIP_AMBIGUOUS)
        if zh and _said_like(hyp, part):
            return ""
        if hows:
            return next((how for how in hows if how != SLIP_AMBIGUOUS), SLIP_AMBIGUOUS)
        if zh:
            return next(((how if _slip_settles(short, part) else SLIP_AMBIGUOUS)
                         for short, how in _one_repeat_said_once(part)
                         if _said_like(hyp, short, strict=True)), None)
        return None
    if _contains(hyp, part):
        return ""
    if zh:
        heard = _said_like(hyp, part)
    elif _is_organisation(part):
        heard = _words_spelled_alike(hyp, [w for w in part if w not in EN_ORGANISATION_WORDS])
    else:
        heard = _spelled_alike(hyp, part)
    return "" if heard else None


# Words that make an English required item an organisation's name (the broker: "Example
# Securities", "Golden Harbor Securities"): such a name is words spelled as in a dictionary,
# so each of its own words must be heard, not only its letters run together (with which
# "Silver Harbor Securities" is 0.82 alike to "Golden Harbor Securities"); these words
# themselves are common to many brokers and left to the error rate. A person named with one
# of them (a surname Bank) is held to the stricter rule: asked again, never a false accept.
EN_ORGANISATION_WORDS = frozenset((
    "securities", "security", "bank", "banking", "capital", "co", "company", "corp",
    "corporation", "ltd", "limited", "inc", "llc", "plc", "group", "holdings", "financial",
    "finance", "investment", "investments", "brokerage", "brokers", "futures", "partners",
    "trust", "asset", "assets", "management", "wealth", "markets", "the", "and", "of"))


def _is_organisation(part: Sequence[str]) -> bool:
    return any(w in EN_ORGANISATION_WORDS for w in part) and not any(w.isdigit() for w in part)


def _word_alike(heard: str, want: str) -> bool:
    from rapidfuzz import fuzz

    return heard == want or (heard[:1] == want[:1] and fuzz.ratio(heard, want) / 100.0
                             >= SURNAME_SPELLING_SIMILARITY)


def _words_spelled_alike(hyp: Sequence[str], words: Sequence[str]) -> bool:
    """Whether ``words`` (an organisation's own words, in order) were heard one after another
    in ``hyp``, each as written or spelled nearly so (same first letter, at least
    ``SURNAME_SPELLING_SIMILARITY`` alike: Harbour for Harbor), a word also as two heard words
    run together (Hua Tai for Huatai) or two words as one heard (Goldenharbor). With no own
    words (a name of organisation words only) the item must be heard as written."""
    if not words:
        return False
    want = list(words)

    def match(i: int, j: int) -> bool:  # hyp[i:] begins with want[j:]
        if j == len(want):
            return True
        if i >= len(hyp):
            return False
        if _word_alike(hyp[i], want[j]) and match(i + 1, j + 1):
            return True
        if i + 1 < len(hyp) and _word_alike(hyp[i] + hyp[i + 1], want[j]) and match(i + 2, j + 1):
            return True
        return (j + 1 < len(want) and _word_alike(hyp[i], want[j] + want[j + 1])
                and match(i + 1, j + 2))

    return any(match(i, 0) for i in range(len(hyp)))


# What Whisper writes for 叉 (chā), the X of an ID tail read aloud, besides 叉 itself (which
# ``textnorm`` reads as X next to a digit): 一零五叉 heard as 一零五查 (#12 fresh tester); on
# the tuning voices 查 (7 of 12 readings), 差 (2) and 茶 (1).
ZH_X_SOUNDALIKES = frozenset("查差插茶察擦杈嚓")


def _x_as_heard(hyp: list[str], parts: Sequence[Sequence[str]]) -> list[str]:
    """``hyp`` with a character written for 叉 (``ZH_X_SOUNDALIKES``) read as X, only where a
    required ID tail that holds an X is then heard exactly, X at its X position (尾号105X read
    一零五查); nowhere else, so no other reading is loosened (1058 read 一零五查 stays wrong)."""
    out = list(hyp)
    for part in parts:
        if "X" not in part or not all(t.isdigit() or t == "X" for t in part):
            continue
        for i, t in enumerate(out):
            if t in ZH_X_SOUNDALIKES:
                trial = out[:i] + ["X"] + out[i + 1:]
                if _heard_item(out, part, True) is None \
                        and _heard_item(trial, part, True) is not None:
                    out = trial
    return out


# --- settling an ambiguous tail by forced choice ----------------------------------------------
# A digit group written in the transcript: ASCII or full-width digits, or Chinese digits read
# one by one (七七零零).
_WRITTEN_DIGITS = re.compile(f"[0-9０-９{''.join(textnorm.ZH_DIGIT_CHARS)}]+")
ZH_DIGIT_OF = {v: k for k, v in textnorm.ZH_DIGIT_CHARS.items() if k not in "〇幺两"}


def _digit_read(ch: str) -> str | None:
    """The digit a heard Mandarin character is read as (期 7, 是 4 by the fuzzy pairs, 7 7),
    or None."""
    if "0" <= ch <= "9":
        return ch
    if "０" <= ch <= "９":  # full-width
        return str(ord(ch) - ord("０"))
    if ch in textnorm.ZH_DIGIT_CHARS:
        return textnorm.ZH_DIGIT_CHARS[ch]
    if not _reads_as_digit(ch):
        return None
    sound = fuzzy_pinyin(_syllable_options(ch)[0])
    return next((d for d, opts in _ZH_DIGIT_READINGS.items()
                 if any(fuzzy_pinyin(o) == sound for o in opts)), None)


# What Whisper base writes between digits read one by one: 3-1-5, 7 0 0, 7·0·0.
_DIGIT_SEPARATORS = frozenset("-‐‑–— ·")
_EN_WRITTEN_DIGITS = re.compile(r"[0-9](?:[-‐‑–— ·]?[0-9])*")


def _written_groups(heard: str, zh: bool) -> list[tuple[int, int, str]]:
    """(start, end, digits) of each digit group written in ``heard``: a run of digits, with
    the separators Whisper writes between them (3-1-5); in Mandarin also with the characters
    read like digits next to them (53期 is 537, 起00 is 700), as long as the run holds a
    written digit."""
    if not zh:
        return [(m.start(), m.end(), "".join(c for c in m.group(0) if c.isdigit()))
                for m in _EN_WRITTEN_DIGITS.finditer(heard)]
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(heard):
        j, digits = i, list[str]()
        while j < len(heard):
            d = _digit_read(heard[j])
            if d is None and digits and heard[j] in _DIGIT_SEPARATORS \
                    and j + 1 < len(heard) and _digit_read(heard[j + 1]) is not None:
                j += 1
                continue
            if d is None:
                break
            digits.append(d)
            j += 1
        if j > i and _WRITTEN_DIGITS.search(heard[i:j]):
            out.append((i, j, "".join(digits)))
        i = max(j, i + 1)
    return out


@dataclass(frozen=True)
class TailChoice:
    """A required digit string heard with a slip that does not settle it (``SLIP_AMBIGUOUS``),
    and what the audio must choose between: ``heard[start:end]`` is the written digit group
    (700), ``candidates`` every string of the item's length it is with one repeat said once
    more or less, the item itself first (7700, then 7000). ``chinese``: the group was written
    in Chinese digits (七零零)."""

    item: str
    start: int
    end: int
    candidates: tuple[str, ...]
    chinese: bool

    def texts(self, heard: str, form: str = "heard") -> list[tuple[str, int, int]]:
        """``heard`` with the group replaced by each candidate, in ``candidates``' order, as
        (text, start, end of the candidate in it), written in Arabic digits
        (``form="arabic"``), Chinese digits (``"chinese"``) or as the group was written
        (``"heard"``)."""
        chinese = self.chinese if form == "heard" else form == "chinese"
        out = []
        for c in self.candidates:
            written = "".join(ZH_DIGIT_OF[d] for d in c) if chinese else c
            out.append((heard[:self.start] + written + heard[self.end:], self.start,
                        self.start + len(written)))
        return out


def ambiguous_tails(heard: str, locale: str, required: Sequence[str] = ()) -> list[TailChoice]:
    """The required digit strings of a reading that ``heard`` (a transcript) holds only with a
    slip that does not settle them (``score_reading``'s ``ambiguous``), each with its written
    group and its candidates (``TailChoice``): the audio may still tell them apart
    (``settled_by_forced_choice``). In Mandarin the group takes in the characters read like
    digits next to it (42期 is 427: 4227, 4277 or 4427); 537期 for 5337 is 5377 heard, not a
    collapse, and is not one."""
    zh = is_zh(locale)
    hyp = textnorm.tokens(heard, locale)
    out: list[TailChoice] = []
    for item in required:
        part = textnorm.tokens(item, locale)
        if not part or not all(t.isdigit() for t in part) \
                or _heard_item(hyp, part, zh) != SLIP_AMBIGUOUS:
            continue
        for start, end, digits in _written_groups(heard, zh):
            if _digits_heard(list(digits), part) is None:
                continue
            others = sorted("".join(c) for c in _explanations(list(digits), len(part))
                            if list(c) != part)
            if others:
                out.append(TailChoice(item, start, end, ("".join(part), *others),
                                      not heard[start:end].isascii()))
                break
    return out


# How far (natural log, over the tail's own tokens) the shown tail's forced score must beat
# every neighbour's for the audio to settle it; set on the tuning voices
# (scripts/bench_forced_choice.py, docs/evaluation.md "settled by forced choice").
FORCED_CHOICE_MARGIN = 4.0
# How the candidates are written for the forced choice: "chinese" (七七零零), "arabic" (7700)
# or "heard" (as the heard group was written); measured on the tuning voices (above).
FORCED_CHOICE_FORM = "chinese"


def covering_tokens(tokens: Sequence[tuple[int, float]], text: str, start: int,
                    end: int) -> list[int]:
    """The indices of the tokens of ``text`` that cover its characters ``start:end``, from
    ``tokens`` [(UTF-8 bytes, log probability)] in order: a token counts when any of its bytes
    falls in the span's bytes (a Chinese character is often split over two tokens)."""
    lo = len(text[:start].encode("utf-8"))
    hi = len(text[:end].encode("utf-8"))
    out, at = [], 0
    for i, (n, _) in enumerate(tokens):
        if at < hi and at + n > lo:
            out.append(i)
        at += n
    return out


def tail_score(tokens: Sequence[tuple[int, float]], text: str, start: int, end: int) -> float:
    """The log probability of the tokens of ``text`` that cover its characters
    ``start:end`` (a tail, ``covering_tokens``), from ``tokens`` [(UTF-8 bytes, log
    probability)] in order; a tail's tokens are followed by its next one, which is conditioned
    on the whole tail (七七零零 followed by 自, or 700 by a comma)."""
    covering = covering_tokens(tokens, text, start, end)
    total = sum(tokens[i][1] for i in covering)
    if covering and covering[-1] < len(tokens) - 1:
        total += tokens[covering[-1] + 1][1]
    return total


def settled_by_forced_choice(choice: TailChoice, scores: Sequence[float],
                             margin: float = FORCED_CHOICE_MARGIN) -> tuple[bool, str]:
    """Whether the forced scores (one per ``choice.candidates``, the shown tail first) settle
    the tail as the shown one: it must beat every neighbour by ``margin``. With the evidence's
    words: "7700 -3.1 vs 7000 -7.9"."""
    note = " vs ".join(f"{c} {s:.1f}" for c, s in zip(choice.candidates, scores, strict=True))
    own, others = scores[0], scores[1:]
    return bool(others) and all(own - s >= margin for s in others), note


def _required_tokens(item: str, locale: str) -> list[str]:
    """A required item's tokens; in English, a Chinese name (shown in characters in the English
    sentence, "I, 王建国, ...") as the pinyin words the recogniser writes (``textnorm.
    romanised_name``), its given name in the place of a surname, checked as strictly (#12
    fresh tester, seventeenth session: in English the name was never checked, so "Wang
    Jianhua" and "Wang Zhiqiang" passed for 王建国)."""
    if not is_zh(locale) and textnorm.has_cjk(item):
        return textnorm.romanised_name(item)
    return textnorm.tokens(item, locale)


# How many tokens either side of where a Mandarin name was to be read it may be heard.
NAME_WINDOW_SLACK = 2


def _where_read(ref: Sequence[str], hyp: Sequence[str], part: Sequence[str]) -> list[str]:
    """The stretch of the Mandarin ``hyp`` aligned with ``part`` in ``ref`` (toneless
    syllables, ``_sounds``), ``NAME_WINDOW_SLACK`` tokens wider either side; all of ``hyp``
    when ``part`` is not in ``ref``. A name is heard where it was to be read: 郑明 read for
    郑强 passed because 证券 further on sounds like 郑强 (zheng quan, zheng qiang; #12,
    eighteenth session)."""
    from rapidfuzz.distance import Levenshtein

    n = len(part)
    start = next((i for i in range(len(ref) - n + 1) if list(ref[i:i + n]) == list(part)), None)
    if start is None:
        return list(hyp)
    end = start + n
    lo, hi = len(hyp), 0
    for op in Levenshtein.opcodes(_sounds(ref), _sounds(hyp)):
        if op.src_end <= start or op.src_start >= end:
            if not (op.tag == "insert" and start <= op.src_start <= end):
                continue
        lo, hi = min(lo, op.dest_start), max(hi, op.dest_end)
    if lo > hi:
        return list(hyp)
    return list(hyp[max(0, lo - NAME_WINDOW_SLACK):hi + NAME_WINDOW_SLACK])


def score_reading(heard: str, expected: str, locale: str,
                  required: Sequence[str] = (),
                  settled: dict[str, str] | None = None) -> ReadingScore:
    """Compare what was heard with the sentence to read (digits normalised both ways).

    ``required``: texts that must be heard exactly (after normalisation; homophones allowed in
    Mandarin, spellings in English), such as the applicant's name, the ID tail and the
    broker's name (``Flow.reading_required``). A digit string may differ only in one repeat
    of a repeated digit (``_digits_heard``: the recogniser's slip, since the text to read is
    shown on screen), and only when no other string of its length is heard the same way
    (``_slip_settles``); ``ReadingScore.tolerated`` says what was let stand,
    ``ReadingScore.ambiguous`` what was not. ``settled``: required digit strings heard with
    such a slip that the audio settled (``settled_by_forced_choice``), each with its scores
    for the evidence; they count as heard, with that note in ``tolerated``.
    """
    zh = is_zh(locale)
    ref, hyp = textnorm.tokens(expected, locale), textnorm.tokens(heard, locale)
    if zh:
        hyp = _x_as_heard(hyp, [textnorm.tokens(r, locale) for r in required])
        rate = min(_edit_rate(ref, hyp), _edit_rate(_sounds(ref), _sounds(hyp)))
    else:
        rate = _edit_rate(ref, hyp)
    missing: list[str] = []
    tolerated: list[str] = []
    ambiguous: list[str] = []
    for item in required:
        part = _required_tokens(item, locale)
        if not part:
            continue
        if not zh and textnorm.has_cjk(item):
            how = "" if _contains(hyp, part) or _spelled_alike(
                hyp, part, CHINESE_SURNAME_SIMILARITY, given_first_letter=True) else None
        elif zh and not all(t.isdigit() or t == "X" for t in part):
            how = _heard_item(_where_read(ref, hyp, part), part, zh)
        else:
            how = _heard_item(hyp, part, zh)
        if how == SLIP_AMBIGUOUS and settled and item in settled:
            tolerated.append(f"the digits heard with {REPEAT_ONE_OFF}, settled by forced "
                             f"choice: {settled[item]}")
        elif how is None or how == SLIP_AMBIGUOUS:
            missing.append(item)
            if how == SLIP_AMBIGUOUS:
                ambiguous.append(f"the digits heard with {how}")
        elif how:
            tolerated.append(f"the digits heard with {how}")
    said = _names_as_written(heard, required) if zh else heard
    if _negations(said, locale) > _negations(expected, locale):
        # "…不自愿在…开立账户" / "do not voluntarily open": a reading that negates the statement.
        missing.append(NEGATION_ADDED)
    joiner = "" if zh else " "
    return ReadingScore(round(max(0.0, 1.0 - rate), 4), round(rate, 4),
                        "character" if zh else "word", tuple(missing),
                        joiner.join(ref), joiner.join(hyp), tuple(tolerated), tuple(ambiguous))


# --- the recogniser's alternatives ------------------------------------------------------------

# The requested answer must be at least this long (syllables / words) for an alternative
# hypothesis to stand for it: "是的，我自愿" (5) and "yes, I do" (3) may, a bare 是 or "yes" never.
ALTERNATIVE_MIN_UNITS = 3
# ...and the recogniser's best hypothesis must be this close to it (edit rate over its units):
# the same utterance misheard in a syllable or two, not other speech.
ALTERNATIVE_MAX_DISTANCE = 0.5


def _own_answers(spec: AnswerSpec) -> list[str]:
    """The step's requested answer and its own accepted phrases (never the built-in lexicon)."""
    return [t for t in ((spec.requested or ""),) + tuple(spec.accept) if t.strip()]


def _doubtful(text: str, locale: str, spec: AnswerSpec) -> bool:
    """A negation, a question, a hedge, another's reading or a refusal in ``text``."""
    return bool(textnorm.tokens(text, locale)) and (
        has_negation(text, locale) or is_question(text, locale)
        or hedges(text, locale, _own_answers(spec)) or done_by_another(text, locale)
        or judge_text(text, locale, spec).intent == "deny")


def requested_rescuable(best: str, locale: str, spec: AnswerSpec) -> bool:
    """Whether an unclear answer may be rescued by the recogniser's alternatives at all, before
    paying for them: the step asks for an answer of its own at least
    ``ALTERNATIVE_MIN_UNITS`` long, ``best`` holds no negation, question or refusal, and
    ``best`` is within ``ALTERNATIVE_MAX_DISTANCE`` of that answer. Off-script speech is not
    decoded a second time (it cost about 1 s a window)."""
    own = _own_answers(spec)
    if spec.expect == "deny" or not own or _doubtful(best, locale, spec) \
            or understanding_only(best, locale, spec):
        return False
    zh = is_zh(locale)
    best_units = _units(textnorm.tokens(best, locale), zh)
    return any(len(ref) >= ALTERNATIVE_MIN_UNITS
               and _edit_rate(ref, best_units) <= ALTERNATIVE_MAX_DISTANCE
               for ref in (_units(textnorm.tokens(p, locale), zh) for p in own))


def requested_among_alternatives(best: str, alternatives: Sequence[str], locale: str,
                                 spec: AnswerSpec) -> str | None:
    """Which of the recogniser's other hypotheses is the step's requested answer, if the best one
    was merely misheard (Whisper base writes 是的我已了解 as 是的物意了解 and keeps 是的我已了解
    among its beam's five): the alternative, or None.

    ``best`` is the transcript judged ``unclear``; ``alternatives`` the beam's hypotheses for the
    same audio (``best`` may be among them). An alternative counts only when all of these hold:

    - it is the requested answer or one of the step's own accepted phrases (``spec.requested``,
      ``spec.accept``), never only the built-in lexicon, and that answer is at least
      ``ALTERNATIVE_MIN_UNITS`` long;
    - no hypothesis at all (best or alternative) holds a negation, a question or a refusal;
    - the best hypothesis is within ``ALTERNATIVE_MAX_DISTANCE`` of the requested answer
      (toneless syllables in Mandarin, words in English).
    """
    if not requested_rescuable(best, locale, spec):
        return None
    if any(_doubtful(text, locale, spec) for text in alternatives):
        return None
    zh = is_zh(locale)
    wanted = _Phrases.of(_own_answers(spec), locale)
    for text in alternatives:
        toks = textnorm.tokens(text, locale)
        if toks and wanted.cover(toks, textnorm.zh_syllables(toks) if zh else None):
            return text
    return None


# 莫 (mo) in a second decode, where the wanted answer has 我 (wo): a genuine 是的，我自愿 by a
# tuning voice (zh-xiaoni) was heard greedily as 是的 握自愿 and by the biased beam as 是的 莫自愿
# on a machine whose CPU decodes a little differently (2026-12-03), and the 莫 vetoed the
# consent. 莫 stays a negation (莫得, 莫要: "don't" in south-western Mandarin) except where
# reading it as 我 makes the hypothesis, syllable for syllable, the step's own requested or
# accepted answer: nobody refuses by saying the requested answer with one "wo" said "mo".
ZH_MO_FOR_WO = ("莫", "我")


def _mo_is_wo(text: str, spec: AnswerSpec) -> bool:
    """Whether ``text`` (a Mandarin hypothesis) is one of ``spec``'s own answers once each 莫
    in it is read as 我 (``ZH_MO_FOR_WO``), compared in toneless syllables."""
    mo, wo = ZH_MO_FOR_WO
    if mo not in text:
        return False
    heard = textnorm.zh_syllables(textnorm.zh_tokens(text.replace(mo, wo)))
    own = [spec.requested, *spec.accept] if spec.requested else list(spec.accept)
    return any(heard == textnorm.zh_syllables(textnorm.zh_tokens(o)) for o in own if o)


def doubt_among(texts: Sequence[str], locale: str, spec: AnswerSpec) -> str | None:
    """The first of ``texts`` that holds a negation or is a refusal, or None. (Not a question:
    a beam writes "Yes?" beside "Yes." for the same word, which is punctuation, not a no; nor
    a Mandarin 莫 heard for the 我 of the step's own answer, ``ZH_MO_FOR_WO``.)"""
    return next((t for t in texts if textnorm.tokens(t, locale) and (
        has_negation(t, locale) or judge_text(t, locale, spec).intent == "deny")
        and not (is_zh(locale) and _mo_is_wo(t, spec))), None)


def unconfirmed_consent(best: str, unbiased: Sequence[str], locale: str, spec: AnswerSpec,
                        require_wanted: bool = False) -> str | None:
    """Why a consent heard in ``best`` does not stand, or None when it does (issue #12: a
    refusal said over a quieter "是的，我自愿" was heard as the consent, because the decode was
    biased towards the lexicon and the requested answer).

    ``unbiased`` are the hypotheses of a beam search of the same audio without any bias, best
    first. The consent stands only when none of them holds a negation or is a refusal
    (``doubt_among``). With ``require_wanted`` one of them must also be the wanted answer
    itself (``judge_text`` affirm or phrase). The engine does NOT ask for that: measured, it
    turned away 5 more of 25 equal-level two-voice mixes of the #12 tester, but also 11 of 170
    genuine Mandarin consents of the seen holdout rounds (是的，我已了解 by zh-yunxi, heard
    without bias as 试到我去了解) and a tuning voice's 是的，我已了解; it adds no catch at all
    where the coach is 6-10 dB quieter.
    """
    heard = [t for t in unbiased if textnorm.tokens(t, locale)]
    doubt = doubt_among(heard, locale, spec)
    if doubt is not None:
        return f"heard as {best!r}, but a decode without bias heard {doubt!r}: never consent"
    if not require_wanted:
        return None
    if not any(judge_text(t, locale, spec).intent in ("affirm", "phrase") for t in heard):
        unb = heard[0] if heard else ""
        return (f"heard as {best!r} only with the decoding bias; without it {unb!r}: "
                "a consent never rests on the bias alone")
    return None


# A required item of a reading that is the broker's name, not the applicant's (Mandarin: its
# last characters; English: ``_is_organisation``): only the applicant's name is confirmed by
# a decode without bias (``unconfirmed_name``).
ZH_ORGANISATION_SUFFIXES = ("证券", "银行", "公司", "期货", "基金", "集团", "信托", "保险")
# A name heard without bias stands for the name when its words run together are at least this
# alike to the name's letters, and its first word and surname begin with the name's sounds.
UNBIASED_NAME_SIMILARITY = 0.75
# ...and a given name heard beginning with another vowel, at least this alike in letters.
UNBIASED_GIVEN_SIMILARITY = 0.6
# How many of the best hypotheses of the decode without bias may hold the name.
UNBIASED_NAME_HYPOTHESES = 2


def reading_names(required: Sequence[str], locale: str) -> list[str]:
    """The applicant's name(s) among a reading's ``required`` items: not digits, not the
    broker's name."""
    out = []
    for item in required:
        part = _required_tokens(item, locale)
        if not part or any(t.isdigit() for t in part):
            continue
        if is_zh(locale) and item.endswith(ZH_ORGANISATION_SUFFIXES):
            continue
        if not is_zh(locale) and _is_organisation(part):
            continue
        out.append(item)
    return out


def _loosely_named(hyp: Sequence[str], part: Sequence[str]) -> bool:
    """Whether the English name ``part`` may be what a decode WITHOUT bias wrote in ``hyp``:
    a run of words whose letters are ``UNBIASED_NAME_SIMILARITY`` alike to the name's, whose
    first word begins with the name's first sound and which holds a word beginning with the
    surname's (``_first_sound``). Whisper without the name's bias misspells a rare name
    (Holm as "home", Osei as "Osai", Lindqvist as "Lindfist") but keeps its sounds' order;
    Galloway for Holloway and "a Carter" for Emily Carter are other names."""
    from rapidfuzz import fuzz

    name = "".join(part)
    first, surname = _first_sound(part[0]), _first_sound(part[-1])

    def is_surname(w: str) -> bool:  # any vowel for a vowel: Okafor heard as "Akaffer"
        s = _first_sound(w)
        return s == surname or (s in "aeiou" and surname in "aeiou")

    given = "".join(part[:-1]) or part[0]

    def begins_alike(run: Sequence[str]) -> bool:
        # the name's first sound; or a vowel for its vowel when the given name's letters are
        # there ("I ameka Nwasu" for Emeka Nwosu, holdout 21), not "I am a Carter" for Emily
        s = _first_sound(run[0])
        return s == first or (s in "aeiou" and first in "aeiou" and fuzz.ratio(
            given, "".join(run[:-1]) or run[0]) / 100.0 >= UNBIASED_GIVEN_SIMILARITY)

    for n in range(max(1, len(part) - 1), len(part) + 2):
        for i in range(len(hyp) - n + 1):
            run = hyp[i:i + n]
            if any(t.isdigit() for t in run) or not begins_alike(run):
                continue
            if fuzz.ratio(name, "".join(run)) / 100.0 >= UNBIASED_NAME_SIMILARITY and (
                    len(part) == 1 or any(is_surname(w) for w in run[1:])):
                return True
    return False


def name_prefix(expected: str, required: Sequence[str], locale: str) -> str | None:
    """The text to read up to the end of the applicant's name (``reading_names``), for a
    decode that needs go no further; None when a name is not in the text as written (a
    Chinese name in an English sentence is, in characters)."""
    ends = [expected.find(n) + len(n) for n in reading_names(required, locale)
            if expected.find(n) >= 0]
    return expected[:max(ends)] if ends else None


def unconfirmed_name(unbiased: Sequence[str], expected: str, required: Sequence[str],
                     locale: str) -> str | None:
    """Why a reading that passed does not stand, or None when it does: its applicant's name
    (``reading_names``) must also be in one of ``unbiased``, the hypotheses of a beam search
    of the same audio WITHOUT the name's decoding bias (issue #12, second fresh tester: given
    the name as hotwords, Whisper heard 单丽娜 for a spoken 单美娜, "Emily Carter" for "Emma
    Carter", "Mark Holloway" for "Mark Galloway"). Mandarin: heard as asked or syllable by
    syllable alike (``_said_like``) where the name was to be read (``_where_read``); English:
    loosely (``_loosely_named``), since without the bias Whisper misspells rare names.

    Only the first ``UNBIASED_NAME_HYPOTHESES`` of ``unbiased`` count (further down a beam
    of five, "Emily Carter" stood beside "I am a Carter" for a spoken "Emma Carter").

    Measured (eighteenth session, the Whisper worker's beams stored for 36 Mandarin and 26
    English genuine readings of seen rounds' applicants and the testers' files, and as many
    readings of a name one syllable or word off): it turned away 3 of 3 Mandarin and 2 of 3
    English near names that passed the text rules with the bias, and 1 of 31 Mandarin and 2
    of 26 English genuine readings that passed (慕容秋 heard 慕容修; "rent Akahashi", "may
    lean on" for Mei Lin Ong): those are asked again, then referred (docs/evaluation.md, *The
    name heard without bias*)."""
    zh = is_zh(locale)
    ref = textnorm.tokens(expected, locale)
    hyps = [textnorm.tokens(h, locale) for h in unbiased[:UNBIASED_NAME_HYPOTHESES]
            if h.strip()]
    for item in reading_names(required, locale):
        part = _required_tokens(item, locale)
        if zh:
            ok = any(_heard_item(_where_read(ref, h, part), part, True) == "" for h in hyps)
        else:
            ok = any(_contains(h, part) or _loosely_named(h, part) for h in hyps)
        if not ok:
            heard = " ".join(unbiased[:1]).strip()
            return (f"the name {item!r} was heard only with the decoding bias towards it; "
                    f"without it: {heard!r}")
    return None


# A Mandarin given name heard otherwise without the bias (蒲海涛 as 谱海托, tao as tuo; holdout
# 23) stands when, teacher-forced without the bias, each of its characters heard otherwise is
# at most this many nats less likely than the one heard (``heard_given_name``,
# ``WhisperEngine._given_name_likely``). Measured (nineteenth session, seen readings): the
# genuine given-name characters heard otherwise were 0.3 to 2.9 nats less likely; a given name
# one character off, 5.9 nats or more (王建华 for 王建国; most beyond 10). The surname gets no
# such leave: 黄 read for 王 was 2.5 nats MORE likely than 王 (wang and huang merge in many
# accents), so a surname must be heard alike, as before.
ZH_GIVEN_MAX_LOG_ODDS = 4.0


def heard_given_name(unbiased: str, expected: str, name: str) -> tuple[str, tuple[int, ...]] | None:
    """Where the Mandarin ``name`` was to be read in ``expected``, what ``unbiased`` (a
    hypothesis decoded without the bias) holds instead: ``(heard, positions)``, ``heard`` as
    many characters as the name with its surname (compound ones whole: 欧阳, 端木) alike
    syllable by syllable (``_sounds_alike``, any reading of a heard character), and
    ``positions`` the given-name characters (indices into ``name``) NOT alike, to be weighed
    by the model (``ZH_GIVEN_MAX_LOG_ODDS``). None when no such stretch exists, or when every
    character is alike (the beam rule's business)."""
    part = textnorm.tokens(name, "zh-CN")
    n = len(part)
    if n < 2 or not all(textnorm.zh_readings(t) for t in part):
        return None
    head = 2 if n > 2 and name[:2] in textnorm.ZH_COMPOUND_SURNAMES else 1
    stretch = _where_read(textnorm.tokens(expected, "zh-CN"),
                          textnorm.tokens(textnorm.to_simplified(unbiased), "zh-CN"), part)
    want = [_syllable_options(t) for t in part]
    best: tuple[str, tuple[int, ...]] | None = None
    for i in range(len(stretch) - n + 1):
        window = stretch[i:i + n]
        if not all(textnorm.zh_readings(t) for t in window):
            continue
        alike = [any(_sounds_alike(r, w) for r in textnorm.zh_readings(h) for w in opts)
                 for h, opts in zip(window, want, strict=True)]
        if not all(alike[:head]):
            continue
        off = tuple(k for k in range(head, n) if not alike[k])
        if off and (best is None or len(off) < len(best[1])):
            best = ("".join(window), off)
    return best


# An English name heard spelled otherwise (the text rules let "Diana Whitfield" stand for Dana
# Whitfield: one letter apart) stands only when, teacher-forced without the bias, the name as
# written is at most this many nats less likely than as heard (``heard_spelling``,
# ``WhisperEngine._spelled_otherwise``). Measured (nineteenth session, the seen readings that
# passed with the name heard spelled otherwise): genuine -0.7 or above (may Lin Ong, rent
# Takahashi, and as Mikkelsen), except Lee for Leah (-6.6, now asked again); near names -6.2 or
# below (Diana for Dana -11.3, Tina for Nina -9.3, Evan for Ethan -8.8, Lena for Leah -6.2).
EN_SPELLING_MAX_LOG_ODDS = 4.0


def heard_spelling(heard: str, name: str) -> tuple[str, str] | None:
    """How the English ``name`` was heard in ``heard`` (a transcript) when the text rules took
    words spelled otherwise for it (``_spelled_alike``): ``(name as written, as heard)``, both
    as title-cased words joined by spaces ("Dana Whitfield", "Diana Whitfield"), the shortest
    such run of as many words as the name; None when the name was heard as written, or not at
    all, or only as more or fewer words."""
    hyp = textnorm.en_tokens(heard)
    part = textnorm.en_tokens(name)
    if not part or _contains(hyp, part) or not _spelled_alike(hyp, part):
        return None
    # Only as many words as the name: another name is spelled word for word ("Diana
    # Whitfield"); a rare name heard as more or fewer words is Whisper writing a word it does
    # not know ("Chuck Umeca Obi" for Chukwuemeka Obi, holdout 24: its common words are far
    # likelier than the rare name's tokens, 13.7 and 18.3 nats, and two genuine readings were
    # lost to this check before it was limited so).
    n = len(part)
    for i in range(len(hyp) - n + 1):
        run = hyp[i:i + n]
        if _spelled_alike(run, part):
            return (" ".join(w.title() for w in part), " ".join(w.title() for w in run))
    return None


# The hundred commonest Chinese surnames (``textnorm.ZH_SURNAMES_BY_RANK``), most of the
# population between them. A surname heard as one of these, or as a syllable one of them is
# read with, is another family's name, never the applicant's rare surname heard otherwise:
# 黄 read for 王 is 2.5 nats MORE likely than 王 without the bias (nineteenth session), so the
# model's weighing cannot tell them apart (``heard_name``).
ZH_COMMON_SURNAMES = frozenset(textnorm.ZH_SURNAMES_BY_RANK[:100])
# A name heard otherwise (by the first decode, or without the bias) stands when, teacher-
# forced without the bias, the name as written is at most this many nats less likely than as
# heard, and what was heard is not plainly another name (``heard_name``). The same bound as
# ``ZH_GIVEN_MAX_LOG_ODDS`` and ``EN_SPELLING_MAX_LOG_ODDS``, of which this is the general case.
NAME_MAX_LOG_ODDS = 4.0


@functools.cache
def _common_surname_readings() -> frozenset[str]:
    return frozenset(r for c in ZH_COMMON_SURNAMES for r in textnorm.zh_readings(c))


@dataclass(frozen=True)
class HeardName:
    """How a Mandarin name to read was heard (``heard_name``).

    ``written``/``heard``: the name as written and the stretch heard where it was to be read,
    each as text to teacher-force after the sentence's opening; ``repaired``: the transcript
    with the name put in the heard stretch's place (a reading that must then pass as asked);
    ``weigh``: which characters of the name (same length) are to be weighed one by one, each
    within ``NAME_MAX_LOG_ODDS``; empty means the whole name is weighed at once."""

    written: str
    heard: str
    repaired: str
    weigh: tuple[int, ...] = ()


def _aligned_stretch(ref: Sequence[str], hyp: Sequence[str], start: int,
                     end: int) -> tuple[int, int] | None:
    """The stretch ``hyp[lo:hi]`` of Mandarin tokens aligned (Levenshtein over toneless
    syllables) with ``ref[start:end]``; None when nothing of ``hyp`` is there."""
    from rapidfuzz.distance import Levenshtein

    lo, hi = len(hyp), 0
    for op in Levenshtein.opcodes(_sounds(ref), _sounds(hyp)):
        s, e = max(op.src_start, start), min(op.src_end, end)
        if op.tag == "equal":
            if s < e:
                lo = min(lo, op.dest_start + s - op.src_start)
                hi = max(hi, op.dest_start + e - op.src_start)
        elif op.src_end > start and op.src_start < end or (
                op.tag == "insert" and start <= op.src_start <= end):
            lo, hi = min(lo, op.dest_start), max(hi, op.dest_end)
    return (lo, hi) if lo < hi else None


def heard_name(heard: str, expected: str, name: str, locale: str) -> HeardName | None:
    """How the applicant's ``name`` (in ``expected``, the sentence to read) was heard in
    ``heard``, when it was heard otherwise and may still be the name mis-spelled by the
    recogniser, for the model to weigh (``NAME_MAX_LOG_ODDS``); None when it was heard as
    written, not at all, or as plainly another name:

    - Mandarin, as many characters: the surname (compound ones whole) alike syllable by
      syllable, or heard as a syllable no common surname has (``ZH_COMMON_SURNAMES``: 栾
      luan heard as 览 lan stands to be weighed, 王 heard as 黄 or 理 does not); ``weigh``
      lists the characters heard otherwise, each weighed alone.
    - Mandarin, one character fewer: the surname dropped (雍晓岚 heard as 晓岚), the rest alike.
    - English: never (see the comment in the code); None."""
    if not is_zh(locale):
        # English names are not weighed: sums over different tokens are not comparable. Fewer
        # tokens weigh less ("Emma Carter" read for Emily Carter, heard "I am a Carter", had
        # the written name likelier than "Am A Carter"), a written name that is the heard
        # one's first tokens costs nothing ("Rhiannon Llewell" stood at 0.0 nats against a
        # spoken Llewellyn), and "Niamh Donaghy" stood for a spoken Donoghue, heard "Am
        # Donacue", at 2.1 nats (twentieth session, the fresh tester).
        return None
    ref = textnorm.tokens(expected, locale)
    hyp = textnorm.tokens(textnorm.to_simplified(heard), locale)
    part = textnorm.tokens(name, locale)
    n = len(part)
    start = next((i for i in range(len(ref) - n + 1) if list(ref[i:i + n]) == list(part)), None)
    if not part or start is None:
        return None
    at = _aligned_stretch(ref, hyp, start, start + n)
    if at is None:
        return None
    lo, hi = at
    if list(hyp[lo:hi]) == list(part):
        return None
    repaired = "".join(list(hyp[:lo]) + list(part) + list(hyp[hi:]))
    # a heard numeral is a token of its digit (零五月 as 0 5 月): written back as the numeral
    got = [textnorm.ZH_NUMERALS.get(t, t) for t in hyp[lo:hi]]
    if not all(textnorm.zh_readings(t) for t in part + got):
        return None
    want = [_syllable_options(t) for t in part]

    def alike(h: str, k: int) -> bool:
        return any(_sounds_alike(r, w) for r in textnorm.zh_readings(h) for w in want[k])

    if len(got) == n:
        off = tuple(k for k in range(n) if not alike(got[k], k))
        # another family's name: a common surname's syllable other than the written one
        # where the surname begins (刘 liu for 钮 niu is alike, l/n, and still another family;
        # a compound surname's second character is not a surname: 令狐 heard 零五, wu as 吴)
        if any(_sounds_alike(r, c) and r not in textnorm.zh_readings(part[0])
               for r in textnorm.zh_readings(got[0]) for c in _common_surname_readings()):
            return None
        return HeardName(name, "".join(got), repaired, off) if off else None
    # a one-character surname dropped, the given name alike (雍晓岚 heard 晓岚, 栾志诚 heard
    # 志诚: the surname Whisper does not know). Not a given-name character: 欧阳娜 read for
    # 欧阳娜娜 was only 4.1 nats less likely than as written (twentieth session).
    if (len(got) == n - 1 and n >= 3 and name[:2] not in textnorm.ZH_COMPOUND_SURNAMES
            and all(alike(g, j) for j, g in enumerate(got, start=1))):
        return HeardName(name, "".join(got), repaired)
    return None


# A reading whose required part (name, ID tail) was misheard may be rescued by an alternative
# only when the best transcript already had that part within this many units (toneless
# syllables in Mandarin, words in English): 司律三期 for 4637 (one syllable), never another
# name or another tail read on purpose.
READING_ALTERNATIVE_MAX_UNITS_OFF = 1


def _units(tokens: Sequence[str], zh: bool) -> list[str]:
    return _sounds(tokens) if zh else list(tokens)


def _nearly_heard(hyp: Sequence[str], part: Sequence[str], zh: bool, off: int) -> bool:
    """Whether ``part`` is in ``hyp`` with at most ``off`` units substituted (same length)."""
    from rapidfuzz.distance import Hamming

    h, p = _units(hyp, zh), _units(part, zh)
    n = len(p)
    return any(Hamming.distance(h[i:i + n], p) <= off for i in range(len(h) - n + 1))


def reading_rescuable(best: str, expected: str, locale: str,
                      required: Sequence[str] = ()) -> bool:
    """Whether a failed reading may be rescued by the recogniser's alternatives at all: the
    best transcript follows the sentence (error rate within ``READING_MAX_ERROR``), adds no
    negation, and each required part it misses is in it with at most
    ``READING_ALTERNATIVE_MAX_UNITS_OFF`` unit wrong and is a digit string (so another name
    or another ID tail, read on purpose, is never rescued; a name is heard as written or as
    its homophones, ``_heard_item``, or not at all)."""
    zh = is_zh(locale)
    first = score_reading(best, expected, locale, required)
    if first.passed or first.error_rate > READING_MAX_ERROR:
        return False
    hyp = textnorm.tokens(best, locale)
    for item in first.missing:
        part = _required_tokens(item, locale) if item in required else []
        if not all(t.isdigit() or t == "X" for t in part):
            # A name a word (English) or a syllable (Mandarin) off is another name: Peter for
            # Mark; 单丽华 read on purpose for 单丽娜 was put back by an alternative (#12 fresh
            # tester, seventeenth session). Only digits are rescued.
            return False
        if not part or not _nearly_heard(hyp, part, zh, READING_ALTERNATIVE_MAX_UNITS_OFF):
            return False
    return True


def reading_among_alternatives(best: str, alternatives: Sequence[str], expected: str,
                               locale: str, required: Sequence[str] = ()) -> str | None:
    """Which of the recogniser's other hypotheses is the sentence read as asked, if the best one
    only misheard a required part by a syllable (Whisper base writes 4637 as 司律三期 and keeps
    四六三期 in all five hypotheses of its beam): the alternative, or None.

    The best transcript must be ``reading_rescuable``; no hypothesis may negate the statement
    (more negations than the text); the alternative must pass ``score_reading`` in full. When
    the best one heard a digit string with a slip that does not settle which string was read
    (``ReadingScore.ambiguous``: 700 for 7700 or 7000), no hypothesis may hold another whole
    digit string of that length (7000).
    """
    if not reading_rescuable(best, expected, locale, required):
        return None
    base = _negations(expected, locale)
    if any(_negations(text, locale) > base for text in alternatives):
        return None
    if score_reading(best, expected, locale, required).ambiguous:
        digits = [textnorm.tokens(r, locale) for r in required]
        digits = [p for p in digits if p and all(t.isdigit() or t == "X" for t in p)]
        for text in alternatives:
            groups = _digit_groups(textnorm.tokens(text, locale))
            if any(len(g) == len(p) and g != p for g in groups for p in digits):
                return None
    for text in alternatives:
        if score_reading(text, expected, locale, required).passed:
            return text
    return None
