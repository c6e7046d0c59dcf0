"""(characters, parenthesized text) -> is it the reading of those characters?

Scraped pages insert pinyin after words: 互动(hùdòng), 第二(dìèr), 學(xué).
We never guess syllable boundaries from the Latin string (dìèr, xīān and
fāngàn split more than one way). Instead we ask whether the annotation can be
built by joining one reading of each preceding Han character, in order, using
every reading pypinyin knows for that character (heteronyms included).

Exact tones are tried first, then a tone-insensitive match, so that pages
that drop tones, write tone numbers (hu4dong4), spell ü as v or u, or mark
the neutral tone differently still match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PINYIN_DICT

MAX_SPAN = 8  # longest word an annotation is checked against

# Combining marks after NFD: the four tones, and the diaeresis of ü.
_TONE_OF_MARK = {"\u0304": "1", "\u0301": "2", "\u030c": "3", "\u0300": "4"}
_DIAERESIS = "\u0308"
_SEPARATORS = re.compile(r"[\s'’‘`\-·]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def is_han(ch: str) -> bool:
    return bool(_HAN.fullmatch(ch))


def count_han(text: str) -> int:
    return len(_HAN.findall(text))


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


@dataclass(frozen=True)
class Syllable:
    marked: str  # as pypinyin writes it: "zhòng", "lǜ", "zi"
    numbered: str  # "zhong4", "lv4", "zi" (neutral: no digit)
    plain: str  # "zhong", "lu", "zi": no tone, ü folded to u


def _split_marks(text: str) -> tuple[str, str]:
    """'zhòng' -> ('zhong', '4'); 'lǜ' -> ('lv', '4'); neutral -> ('zi', '')."""
    base: list[str] = []
    tone = ""
    for ch in unicodedata.normalize("NFD", text.lower()):
        if ch in _TONE_OF_MARK:
            tone = _TONE_OF_MARK[ch]
        elif ch == _DIAERESIS:
            if base and base[-1] == "u":
                base[-1] = "v"
        elif ch == "ü":
            base.append("v")
        else:
            base.append(ch)
    return "".join(base), tone


def syllable(marked: str) -> Syllable:
    base, tone = _split_marks(marked)
    return Syllable(marked, base + tone, base.replace("v", "u"))


@lru_cache(maxsize=65536)
def readings(ch: str) -> tuple[Syllable, ...]:
    """Every reading of one character; 儿 also reads as the erhua 'r'."""
    raw = PINYIN_DICT.get(ord(ch))
    if not raw:
        return ()
    found = tuple(syllable(r) for r in raw.split(","))
    if ch in "儿兒":
        found += (Syllable("r", "r", "r"),)
    return found


@lru_cache(maxsize=1)
def all_plain_syllables() -> frozenset[str]:
    """Every toneless syllable pypinyin knows: the alphabet of real pinyin."""
    out = {"r"}
    for raw in PINYIN_DICT.values():
        for r in raw.split(","):
            out.add(syllable(r).plain)
    return frozenset(out)


_ANNOTATION_CHARS = re.compile(r"[a-z0-5\s'’‘`\-·\u0300\u0301\u0304\u030c\u0308]+")


def looks_like_latin_reading(text: str) -> bool:
    """Only Latin letters, tone marks, tone digits and separators: a candidate annotation."""
    folded = unicodedata.normalize("NFD", text.lower()).replace("ü", "u\u0308")
    return bool(_ANNOTATION_CHARS.fullmatch(folded)) and any(c.isalpha() for c in folded)


@dataclass(frozen=True)
class Annotation:
    """An annotation prepared for matching."""

    kind: str  # "marked", "numbered" or "plain": how its tones are written
    exact: str  # compared with the reading form of the same kind
    plain: str  # tone-insensitive form


@lru_cache(maxsize=8192)
def prepare(text: str) -> Annotation:
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFC", text.strip().lower()))
    compact = compact.replace("u:", "ü")
    nfd = unicodedata.normalize("NFD", compact)
    if any(m in nfd for m in _TONE_OF_MARK):
        kind, exact = "marked", compact.replace("v", "ü")
    elif any(c.isdigit() for c in compact):
        kind, exact = "numbered", compact.replace("ü", "v").replace("0", "").replace("5", "")
    else:
        kind, exact = "plain", compact.replace("ü", "u").replace("v", "u")
    base, _ = _split_marks(re.sub(r"[0-5]", "", compact))
    return Annotation(kind, exact, base.replace("v", "u"))


def _lossy(s: Syllable) -> str:
    """The syllable as PDF extraction leaves it when every non-ASCII letter is dropped:
    běi -> bi, jīng -> jng, lǜ -> l."""
    return "".join(c for c in s.marked if c.isascii())


def _form(s: Syllable, kind: str) -> str:
    if kind == "lossy":
        return _lossy(s)
    if kind == "marked":
        return s.marked
    if kind == "numbered":
        return s.numbered
    return s.plain


def _segment(chars: str, target: str, kind: str) -> tuple[Syllable, ...] | None:
    """One reading per character, joined, equal to target (an erhua 'r' may trail)."""

    memo: dict[tuple[int, int], tuple[Syllable, ...] | None] = {}

    def walk(i: int, pos: int) -> tuple[Syllable, ...] | None:
        if (i, pos) not in memo:
            memo[(i, pos)] = _walk(i, pos)
        return memo[(i, pos)]

    def _walk(i: int, pos: int) -> tuple[Syllable, ...] | None:
        if i == len(chars):
            rest = target[pos:]
            return () if rest in ("", "r") else None
        for s in readings(chars[i]):
            form = _form(s, kind)
            if form and target.startswith(form, pos):
                tail = walk(i + 1, pos + len(form))
                if tail is not None:
                    return (s, *tail)
        return None

    return walk(0, 0)


LOSSY_MIN = 3  # letters an annotation needs before its tone-stripped form is trusted


@dataclass(frozen=True)
class Match:
    word: str
    syllables: tuple[Syllable, ...]
    exact: bool  # tones matched as written


def match_reading(before: str, annotation: str) -> Match | None:
    """Is `annotation` the reading of the last 1..8 Han characters of `before`?"""
    return _match(before[-MAX_SPAN:], annotation)


@lru_cache(maxsize=16384)  # pages repeat their annotations (群众(qúnzhòng) …)
def _match(before: str, annotation: str) -> Match | None:
    if not looks_like_latin_reading(annotation):
        return None
    ann = prepare(annotation)
    if not ann.plain:
        return None
    han = []
    for ch in reversed(before[-MAX_SPAN:]):
        if not is_han(ch):
            break
        han.append(ch)
    tail = "".join(reversed(han))
    if not tail:
        return None
    for kind, target, exact in ((ann.kind, ann.exact, True), ("plain", ann.plain, False)):
        for k in range(1, len(tail) + 1):
            word = tail[-k:]
            found = _segment(word, target, kind)
            if found is not None:
                return Match(word, found, exact and ann.kind != "plain")
    short_ok = annotation.strip().islower()  # "(q)" after 区 yes; "(B)" or "(CN)" are letters, not pinyin
    if ann.kind == "plain" and ann.plain.isascii() and (len(ann.plain) >= LOSSY_MIN or short_ok):
        # toned vowels lost in PDF extraction: 北京(bijng). Only when some syllable really lost a
        # letter, so a plain abbreviation that happens to fit the consonants is not taken for one.
        for k in range(1, len(tail) + 1):
            word = tail[-k:]
            found = _segment(word, ann.plain, "lossy")
            if found is not None and any(_lossy(s) != s.plain for s in found):
                return Match(word, found, False)
    return None


@lru_cache(maxsize=4096)
def is_pinyin_text(annotation: str) -> bool:
    """True when the text is certainly pinyin: tone marks or digits, and real syllables only."""
    if not looks_like_latin_reading(annotation):
        return False
    ann = prepare(annotation)
    if ann.kind == "plain":
        return False  # "ai", "china": could be English or an acronym, so not certain
    syllables = all_plain_syllables()

    @cache
    def splits(pos: int) -> bool:
        if pos == len(ann.plain):
            return True
        return any(
            ann.plain.startswith(s, pos) and splits(pos + len(s))
            for s in syllables_starting(ann.plain[pos])
            if s in syllables
        )

    return splits(0)


@lru_cache(maxsize=64)
def syllables_starting(letter: str) -> tuple[str, ...]:
    return tuple(sorted((s for s in all_plain_syllables() if s.startswith(letter)), key=len, reverse=True))


def contextual_reading(word: str) -> tuple[str, ...]:
    """pypinyin's own reading of a word, used to spot a page's disambiguation."""
    return tuple(lazy_pinyin(word, style=Style.TONE, neutral_tone_with_five=False))
