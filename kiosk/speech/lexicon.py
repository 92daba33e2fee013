"""The answer words the engines listen for: consents, refusals, fillers, digits, hotwords.

English words are in the CMU dictionary's spelling; Mandarin ones in toneless pinyin (the
pinyin grammar's dictionary, ``kiosk.speech.phones``), except ``ZH_HOTWORDS``, which are
characters (Whisper's decoding bias). What a transcript *means* is decided from the flow's
requested answer and ``kiosk.speech.answers``; these lists only shape what is heard.
"""

# Every English consent contains "yes": "i agree" / "i understand" alone were dropped after
# "I do not agree" was heard as "i agree" (the "do not" swallowed) and passed as consent.
# The guide asks for "yes, I understand" / "yes, I do" anyway.
EN_AFFIRM = ["yes", "yes i understand", "yes i do", "yes i agree", "yes i have",
             "yes that is right", "yes i confirm"]
EN_DENY = ["no", "i do not", "i disagree", "no i do not", "no i don't", "i don't", "i don't agree",
           "i do not agree", "no i disagree", "i don't understand", "i do not understand",
           "i refuse", "no i refuse"]
# Short common words and hesitations: other speech is absorbed here instead of by an answer.
EN_FILLERS = ["uh", "um", "the", "a", "well", "so", "what", "maybe", "wait", "please", "okay",
              "sure", "hmm"]
EN_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
             "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}

ZH_AFFIRM = ["shi de", "shi", "dui", "hao de", "wo tong yi", "tong yi", "ming bai",
             "wo ming bai", "shi de wo tong yi", "dui wo tong yi", "shi de wo ming bai"]
ZH_DENY = ["bu", "bu shi", "bu tong yi", "wo bu tong yi", "bu dui", "bu ming bai",
           "wo bu ming bai", "mei you", "bu yao", "bu xing", "ju jue", "wo ju jue", "bu yuan yi",
           "wo bu yuan yi"]
# Extra pronunciation for the negation: a missed "bu" turns a refusal into consent, so it gets
# more ways to match than other syllables (unaspirated b is heard as p). More variants (B UH,
# B AH, P UH) were measured: they turn a clean "wo tong yi" into "wo bu ...".
ZH_VARIANTS = {"bu": ["B UW", "P UW"]}
ZH_FILLERS = ["en", "a", "na", "ge", "zhe", "ni", "qing", "zai", "shuo", "yi", "bian", "shen",
              "me", "deng", "xia", "ma", "ne", "ba", "wen"]
# Whisper's decoding bias (see WhisperEngine): the Mandarin answer lexicon in characters.
ZH_HOTWORDS = ["是的", "是", "对", "好的", "我同意", "同意", "明白", "我明白",
               "不", "不是", "不同意", "我不同意", "不对", "不明白", "我不明白",
               "没有", "不要", "不行", "我拒绝", "拒绝", "不愿意", "我不愿意"]
ZH_DIGITS = {"ling": "0", "yi": "1", "yao": "1", "er": "2", "liang": "2", "san": "3", "si": "4",
             "wu": "5", "liu": "6", "qi": "7", "ba": "8", "jiu": "9"}
