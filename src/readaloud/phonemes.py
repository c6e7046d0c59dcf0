"""Spoken Mandarin text -> the phoneme string the Kokoro-82M v1.0 model reads.

The v1.0 model was trained on an IPA-like alphabet (see KOKORO_VOCAB): each
Mandarin syllable is its initial, its final, and a tone arrow placed after
the vowel nucleus (→ first, ↗ second, ↓ third, ↘ fourth; no arrow for the
neutral tone). Syllables of one word are written together, words are
separated by spaces, and punctuation is kept as ASCII marks the model knows.

The readings are ours, not a front end's: the spoken-form stage has already
written numbers, service numbers, the lexicon and the page's own reading
hints into the text, and here pypinyin gives each word its reading. On top
of that, what speakers do and pypinyin does not:

- tone sandhi: 不 before a fourth tone, 一 before other tones (but not in
  numbers or ordinals), third tone before third tone;
- erhua: 这儿, 一点儿 become one rhotic syllable, while 女儿, 婴儿 keep 儿;
- Latin: acronyms are spelled (AI, GDP), English words are read through an
  English phonemizer passed in by the caller (espeak-ng), and nothing is
  dropped: without one, words are spelled letter by letter.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_finals, to_initials

# The v1.0 model's symbol table (178 ids, 114 used), as exported with the
# int8 ONNX model by the kokoro-onnx project (MIT). Index 0 is the pad.
KOKORO_VOCAB: dict[str, int] = {
    ";": 1, ":": 2, ",": 3, ".": 4, "!": 5, "?": 6, "—": 9, "…": 10, '"': 11, "(": 12, ")": 13,
    "“": 14, "”": 15, " ": 16, "\u0303": 17, "ʣ": 18, "ʥ": 19, "ʦ": 20, "ʨ": 21, "ᵝ": 22,
    "\uab67": 23, "A": 24, "I": 25, "O": 31, "Q": 33, "S": 35, "T": 36, "W": 39, "Y": 41, "ᵊ": 42,
    "a": 43, "b": 44, "c": 45, "d": 46, "e": 47, "f": 48, "h": 50, "i": 51, "j": 52, "k": 53,
    "l": 54, "m": 55, "n": 56, "o": 57, "p": 58, "q": 59, "r": 60, "s": 61, "t": 62, "u": 63,
    "v": 64, "w": 65, "x": 66, "y": 67, "z": 68, "ɑ": 69, "ɐ": 70, "ɒ": 71, "æ": 72, "β": 75,
    "ɔ": 76, "ɕ": 77, "ç": 78, "ɖ": 80, "ð": 81, "ʤ": 82, "ə": 83, "ɚ": 85, "ɛ": 86, "ɜ": 87,
    "ɟ": 90, "ɡ": 92, "ɥ": 99, "ɨ": 101, "ɪ": 102, "ʝ": 103, "ɯ": 110, "ɰ": 111, "ŋ": 112,
    "ɳ": 113, "ɲ": 114, "ɴ": 115, "ø": 116, "ɸ": 118, "θ": 119, "œ": 120, "ɹ": 123, "ɾ": 125,
    "ɻ": 126, "ʁ": 128, "ɽ": 129, "ʂ": 130, "ʃ": 131, "ʈ": 132, "ʧ": 133, "ʊ": 135, "ʋ": 136,
    "ʌ": 138, "ɣ": 139, "ɤ": 140, "χ": 142, "ʎ": 143, "ʒ": 147, "ʔ": 148, "ˈ": 156, "ˌ": 157,
    "ː": 158, "ʰ": 162, "ʲ": 164, "↓": 169, "→": 171, "↗": 172, "↘": 173, "ᵻ": 177,
}  # fmt: skip

TONES = {"1": "→", "2": "↗", "3": "↓", "4": "↘", "5": ""}

_INITIALS = {
    "b": "p", "p": "pʰ", "m": "m", "f": "f", "d": "t", "t": "tʰ", "n": "n", "l": "l",
    "g": "k", "k": "kʰ", "h": "x", "j": "ʨ", "q": "ʨʰ", "x": "ɕ",
    "zh": "\uab67", "ch": "\uab67ʰ", "sh": "ʂ", "r": "ɻ", "z": "ʦ", "c": "ʦʰ", "s": "s",
}  # fmt: skip

# final -> (up to and including the nucleus, coda after the tone arrow)
_FINALS = {
    "a": ("a", ""), "ai": ("ai", ""), "an": ("a", "n"), "ang": ("a", "ŋ"), "ao": ("au", ""),
    "e": ("ɤ", ""), "ei": ("ei", ""), "en": ("ə", "n"), "eng": ("ə", "ŋ"), "er": ("ɚ", ""),
    "i": ("i", ""), "ia": ("ja", ""), "ian": ("jɛ", "n"), "iang": ("ja", "ŋ"), "iao": ("jau", ""),
    "ie": ("je", ""), "in": ("i", "n"), "iou": ("jou", ""), "ing": ("i", "ŋ"), "iong": ("jʊ", "ŋ"),
    "io": ("jɔ", ""), "ong": ("ʊ", "ŋ"), "ou": ("ou", ""), "u": ("u", ""), "ua": ("wa", ""),
    "uai": ("wai", ""), "uan": ("wa", "n"), "uang": ("wa", "ŋ"), "uei": ("wei", ""),
    "uen": ("wə", "n"), "ueng": ("wə", "ŋ"), "uo": ("wo", ""), "o": ("wo", ""), "v": ("y", ""),
    "ve": ("ɥe", ""), "van": ("ɥɛ", "n"), "vn": ("y", "n"), "ê": ("ɛ", ""),
}  # fmt: skip

# Syllables with no ordinary initial + final split.
_WHOLE = {"m": ("m", ""), "n": ("n", ""), "ng": ("ŋ", ""), "hm": ("hm", ""), "hng": ("hŋ", ""),
          "o": ("ɔ", ""), "yo": ("jɔ", ""), "er": ("ɚ", ""), "ê": ("ɛ", "")}  # fmt: skip

_PUNCTUATION = {
    "，": ",", "、": ",", ",": ",", "。": ".", "．": ".", ".": ".", "！": "!", "!": "!", "？": "?",
    "?": "?", "：": ":", ":": ":", "；": ";", ";": ";", "…": "…", "—": "—", "–": "—", "-": "—",
    "“": "“", "”": "”", "‘": "“", "’": "”", '"': '"', "《": "“", "》": "”", "「": "“", "」": "”",
    "『": "“", "』": "”", "【": "“", "】": "”", "〈": "“", "〉": "”", "（": "(", "）": ")",
    "(": "(", ")": ")", "[": "(", "]": ")",
}  # fmt: skip
_PAUSES = ",.;:!?…—"
_NUMERALS = set("零〇一二三四五六七八九十百千万亿两")
_ORDINAL_BEFORE = set("第初月周")  # 第一, 初一, 十月一日, 周一
_ORDINAL_AFTER = set("月号日")  # 一月, 一号
# Words ending in 儿 where 儿 is a syllable of its own (a child, a son), not erhua.
_REAL_ER = (
    "女儿", "儿女", "婴儿", "幼儿", "孤儿", "健儿", "男儿", "患儿", "少儿", "宠儿", "胎儿", "孙儿",
    "侄儿", "妻儿", "弃儿", "犬儿", "乳儿", "混血儿", "流浪儿", "新生儿", "早产儿", "低保儿", "留守儿",
)  # fmt: skip
_DIGITS = "零一二三四五六七八九"
_LETTER_NAMES = {  # English letter names in the model's alphabet, for acronyms
    "a": "ˈA", "b": "bˈi", "c": "sˈi", "d": "dˈi", "e": "ˈi", "f": "ˈɛf", "g": "ʤˈi", "h": "ˈAʧ",
    "i": "ˈI", "j": "ʤˈA", "k": "kˈA", "l": "ˈɛl", "m": "ˈɛm", "n": "ˈɛn", "o": "ˈO", "p": "pˈi",
    "q": "kjˈu", "r": "ˈɑɹ", "s": "ˈɛs", "t": "tˈi", "u": "jˈu", "v": "vˈi", "w": "dˈʌbᵊlju",
    "x": "ˈɛks", "y": "wˈI", "z": "zˈi",
}  # fmt: skip
_TOKENS = re.compile(
    r"(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+)"
    r"|(?P<latin>[A-Za-z]+(?:['’][A-Za-z]+)*)"
    r"|(?P<digits>[0-9]+)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.S,
)

#: what the caller passes to read English: text -> phonemes in the model's alphabet
English = Callable[[str], str]


@dataclass
class Syllable:
    """One spoken syllable: its character, pinyin (toneless) and tone digit 1-5."""

    char: str
    base: str
    tone: str
    erhua: bool = False

    def phonemes(self) -> str:
        head, coda = split_syllable(self.base)
        if self.erhua:
            coda = "ɻ" if coda != "ŋ" else "ŋɻ"
        return head + TONES[self.tone] + coda


@lru_cache(maxsize=2048)
def split_syllable(base: str) -> tuple[str, str]:
    """'zhuang' -> ('ꭧwa', 'ŋ'): everything up to the tone arrow, and the coda after it."""
    if base in _WHOLE:
        return _WHOLE[base]
    initial = to_initials(base, strict=True)
    final = to_finals(base, strict=True)
    if initial in ("zh", "ch", "sh", "r", "z", "c", "s") and final == "i":
        return _INITIALS[initial] + "ɨ", ""
    if not final and initial == "r":  # a bare erhua syllable pypinyin wrote as "r"
        return "ɚ", ""
    if final not in _FINALS or (initial and initial not in _INITIALS):
        raise ValueError(f"not a Mandarin syllable: {base!r}")
    nucleus, coda = _FINALS[final]
    return _INITIALS.get(initial, "") + nucleus, coda


def syllables_of(word: str) -> list[Syllable]:
    """pypinyin's reading of one word (its phrase table first), one Syllable per character."""
    out: list[Syllable] = []
    marks = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True, errors=_no_reading)
    for ch, mark in zip(word, marks, strict=True):
        if not mark or not mark[-1].isdigit():
            continue  # a character pypinyin has no reading for: nothing we could say
        out.append(Syllable(ch, mark[:-1].replace("ü", "v"), mark[-1]))
    return out


def _no_reading(chars: str) -> Any:
    return [""] * len(chars)  # one empty reading per character keeps the zip above aligned


def _is_erhua(word: str) -> bool:
    return len(word) >= 2 and word.endswith("儿") and not word.endswith(_REAL_ER)


def apply_sandhi(words: list[list[Syllable]]) -> None:
    """Tone changes across one run of Han text, in place (一, 不, then 3-3)."""
    flat = [s for w in words for s in w]
    for i, syl in enumerate(flat):
        before = flat[i - 1] if i else None
        after = flat[i + 1] if i + 1 < len(flat) else None
        if syl.char == "不" and syl.base == "bu" and after is not None:
            if before is not None and before.char == after.char:
                syl.tone = "5"  # 是不是, 好不好
            elif after.tone == "4":
                syl.tone = "2"
        elif syl.char == "一" and syl.base == "yi":
            syl.tone = _yi_tone(before, after)
    # third tone before third tone: within a word all but the last of a run of
    # thirds rise; across words only where a one-syllable word leans on its neighbour
    for n, word in enumerate(words):
        for i in range(len(word) - 1):
            if word[i].tone == "3" and word[i + 1].tone == "3":
                word[i].tone = "2"
        following = words[n + 1] if n + 1 < len(words) else []
        leans = len(word) == 1 or len(following) == 1
        if word and following and leans and word[-1].tone == "3" and following[0].tone == "3":
            word[-1].tone = "2"


def _yi_tone(before: Syllable | None, after: Syllable | None) -> str:
    if after is None:
        return "1"  # 统一, 唯一, and 一 said alone
    numeric = (before is not None and (before.char in _NUMERALS or before.char in _ORDINAL_BEFORE)) or (
        after.char in _NUMERALS or after.char in _ORDINAL_AFTER
    )
    if numeric:
        return "1"
    if before is not None and before.char == after.char:
        return "5"  # 看一看
    return "2" if after.tone in ("4", "5") else "4"


def han_phonemes(run: str, segment: Callable[[str], list[str]]) -> str:
    """A run of Han characters -> phoneme words separated by spaces."""
    words: list[list[Syllable]] = []
    for word in segment(run):
        syls = syllables_of(word)
        if _is_erhua(word) and len(syls) >= 2 and syls[-1].char == "儿":
            syls.pop()
            syls[-1].erhua = True
        if syls:
            words.append(syls)
    apply_sandhi(words)
    return " ".join("".join(s.phonemes() for s in w) for w in words)


def spell(letters: str) -> str:
    return " ".join(_LETTER_NAMES[c] for c in letters.lower() if c in _LETTER_NAMES)


def _is_acronym(word: str) -> bool:
    """GDP, AI, WTO, x: capitals, a single letter, or no vowel to read it by."""
    vowelless = not any(c in "aeiouy" for c in word.lower())
    return (word.isupper() and len(word) <= 6) or len(word) == 1 or vowelless


def latin_phonemes(word: str, english: English | None) -> str:
    """An acronym is spelled; a word is read through the English phonemizer when there is one."""
    if english is None or _is_acronym(word):
        return spell(word)
    return english(word)


def _words(text: str) -> Iterator[tuple[str, str]]:
    for m in _TOKENS.finditer(unicodedata.normalize("NFKC", text)):
        kind = m.lastgroup or "other"
        yield kind, m.group(0)


def cut_words(text: str) -> list[str]:
    """Han text cut into words (jieba, with the trimmed word list)."""
    return list(_segmenter()(text))


@lru_cache(maxsize=1)
def _segmenter() -> Callable[[str], Iterator[str]]:
    """jieba with its dictionary cut to the 138k words seen five times or more (and every
    single character): the same cuts on news text, for 26 MB of memory instead of 61."""
    import logging
    from importlib import resources

    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces its dictionary on stderr otherwise
    words = resources.files("readaloud") / "data" / "jieba-common.txt"
    tokenizer = jieba.Tokenizer(dictionary=str(words))
    # jieba names its prefix-dictionary cache (3 MB, in the temp folder) after the dictionary's
    # path, so every checkout left one more; named after the content, they share one
    digest = hashlib.sha256(words.read_bytes()).hexdigest()[:16]
    tokenizer.cache_file = f"readaloud-jieba-{digest}.cache"
    return tokenizer.cut  # type: ignore[no-any-return]


def to_phonemes(
    text: str,
    *,
    english: English | None = None,
    segment: Callable[[str], list[str]] = cut_words,
) -> str:
    """The whole spoken text as the model's phoneme string (symbols outside KOKORO_VOCAB never appear)."""
    parts: list[str] = []  # phoneme words and punctuation marks, in order

    def mark(symbol: str) -> None:
        if parts and parts[-1] in _PAUSES and symbol in _PAUSES:  # "，、", "……", "，。": one pause
            if symbol in ",;:" or parts[-1] == symbol:
                return
            if parts[-1] in ",;:":
                parts.pop()  # the stronger mark wins
        parts.append(symbol)

    for kind, piece in _words(text):
        if kind == "han":
            parts.append(han_phonemes(piece, segment))
        elif kind == "latin":
            parts.append(latin_phonemes(piece, english))
        elif kind == "digits":  # the spoken-form stage reads numbers; what is left is said digit by digit
            parts.append(han_phonemes("".join(_DIGITS[int(d)] for d in piece), segment))
        elif kind == "other" and piece in _PUNCTUATION:
            mark(_PUNCTUATION[piece])
        # spaces, emoji, symbols and private-use characters carry no speech
    return _join(parts)


def _join(parts: list[str]) -> str:
    out = ""
    opening = "“("
    for part in parts:
        if not part:
            continue
        if part in _PUNCTUATION.values():
            if part in opening:
                out += (" " if out and not out.endswith(" ") else "") + part
            else:
                out = out.rstrip(" ") + part + " "
        else:
            if out and not out.endswith((" ", *opening)):
                out += " "
            out += part
    return "".join(c for c in out.strip() if c in KOKORO_VOCAB)


def tokens(phonemes: str) -> list[int]:
    return [KOKORO_VOCAB[c] for c in phonemes if c in KOKORO_VOCAB]


# ---- English through espeak-ng's IPA --------------------------------------------------

# espeak-ng writes some sounds as two symbols (tied with ^ here) where the model
# has one letter, and a few it does not know at all.
_ESPEAK_TO_KOKORO = sorted(
    {
        "a^ɪ": "I", "a^ʊ": "W", "e^ɪ": "A", "o^ʊ": "O", "ə^ʊ": "O", "ɔ^ɪ": "Y", "d^ʒ": "ʤ", "t^ʃ": "ʧ",
        "ɚ": "əɹ", "ɝ": "ɜɹ", "r": "ɹ", "x": "k", "ç": "k", "ɐ": "ə", "ɬ": "l", "ɾ": "T", "ʔ": "t",
        "ɜː": "ɜɹ", "ɪə": "iə", "ː": "", "e": "A", "o": "ɔ", "\u0303": "", "ʲ": "",
    }.items(),
    key=lambda kv: -len(kv[0]),
)  # fmt: skip


def from_espeak(ipa: str) -> str:
    """espeak-ng en-us IPA (ties as ^) -> the model's English alphabet."""
    out = re.sub(r"(\S)\u0329", r"ᵊ\1", ipa)
    for old, new in _ESPEAK_TO_KOKORO:
        out = out.replace(old, new)
    return "".join(c for c in out.replace("^", "") if c in KOKORO_VOCAB)
