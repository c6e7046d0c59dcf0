"""Article -> SpokenChunk list: text as the engine should say it, in engine-sized pieces.

The transcript keeps the written sentence; the engine gets the spoken form:
1. the user lexicon (word -> how to say it), longest words first;
2. reading hints from the page (a polyphone the page disambiguated), said
   through a homophone that has only that reading;
3. service numbers digit by digit with 幺 (12345热线, 110, mobiles), for
   every engine: even neural voices read 12345 as a cardinal;
4. for engines that do not read numbers themselves: a pre-pass for the
   known slips of wetext (第2个, year ranges, COVID-19), then wetext.
Chunks break at sentence ends, and inside long sentences at commas, so no
chunk exceeds the engine's byte limit or is punctuation only.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pypinyin.constants import PINYIN_DICT

from .engines.base import Engine
from .errors import ConfigError
from .model import Article, ReadingHint, SpokenChunk
from .pinyin import contextual_reading, is_han, readings

_DIGITS = "零一二三四五六七八九"
_PHONE_DIGITS = "零幺二三四五六七八九"
_SPEAKABLE = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff]")
_SOFT_BREAK = re.compile(r"(?<=[，、,：:；;])(?![0-9])")  # after a clause mark, never inside 3,500

# Short numbers that are service lines, read digit by digit.
SERVICE_NUMBERS = frozenset(
    [
        "110",
        "112",
        "114",
        "119",
        "120",
        "122",
        "12306",
        "12308",
        "12315",
        "12318",
        "12320",
        "12329",
        "12333",
        "12338",
        "12345",
        "12348",
        "12351",
        "12355",
        "12356",
        "12358",
        "12363",
        "12365",
        "12366",
        "12369",
        "12377",
        "12380",
        "12388",
        "12393",
        "95598",
        "10086",
        "10010",
        "10000",
        "96110",
    ]
)
_SERVICE = re.compile(r"(?<![0-9.])(1[3-9]\d{9}|\d{3,5})(?![0-9.%])")
_SERVICE_CONTEXT = re.compile(r"热线|电话|拨打|致电|投诉|举报|服务|平台|专线|报警|急救|求助|“|”")


def cardinal(n: int) -> str:
    """Chinese reading of a non-negative integer below 10^12 (ordinal style: 二, not 两)."""
    if n < 10:
        return _DIGITS[n]
    units = ["", "十", "百", "千"]

    def below_10k(k: int) -> str:
        out, zero = "", False
        for power in (3, 2, 1, 0):
            d = k // 10**power % 10
            if d == 0:
                zero = bool(out)
                continue
            if zero:
                out += "零"
                zero = False
            out += _DIGITS[d] + units[power]
        return out

    parts: list[str] = []
    for group, name in ((n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")):
        if group:
            text = below_10k(group) if group < 10**4 else cardinal(group)
            if parts and group < 1000:
                text = "零" + text
            parts.append(text + name)
    text = "".join(parts)
    return text[1:] if text.startswith("一十") else text


def digit_by_digit(number: str, *, phone: bool) -> str:
    table = _PHONE_DIGITS if phone else _DIGITS
    return "".join(table[int(d)] for d in number if d.isdigit())


def speak_service_numbers(text: str) -> str:
    """12345热线 -> 幺二三四五热线; 11-digit mobiles likewise; other numbers untouched."""

    def repl(m: re.Match[str]) -> str:
        number = m.group(1)
        near = text[max(0, m.start() - 4) : m.end() + 4]
        if len(number) == 11 or (number in SERVICE_NUMBERS and _SERVICE_CONTEXT.search(near)):
            return digit_by_digit(number, phone=True)
        return number

    return _SERVICE.sub(repl, text)


_ORDINAL = re.compile(r"第(\d+)")
_YEAR_RANGE = re.compile(r"(\d{4})\s*[—–\-~～至到]\s*(\d{4})(?=\s*年)")
_LATIN_DASH_DIGIT = re.compile(r"(?<=[A-Za-z])[-‐](?=\d)")


def prepass(text: str) -> str:
    """Fix what wetext gets wrong before it sees the text."""
    text = _ORDINAL.sub(lambda m: "第" + cardinal(int(m.group(1))), text)
    text = _YEAR_RANGE.sub(
        lambda m: digit_by_digit(m.group(1), phone=False) + "到" + digit_by_digit(m.group(2), phone=False),
        text,
    )
    return _LATIN_DASH_DIGIT.sub(" ", text)


@lru_cache(maxsize=1)
def _normalizer() -> Any:
    from wetext import Normalizer

    return Normalizer(lang="zh", operator="tn")


def normalize_numbers(text: str) -> str:
    """Numbers, dates, percentages and units in words (wetext, after our pre-pass)."""
    text = prepass(text)
    if not re.search(r"\d", text):
        return text
    return str(_normalizer().normalize(text))


# ---- lexicon and reading hints -------------------------------------------------


def load_lexicon(path: Path) -> dict[str, str]:
    """A TOML lexicon: `[words]` table of written word = spoken form."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"lexicon {path} does not exist: fix the path or remove the option") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"lexicon {path} is not valid TOML ({exc}): fix it") from exc
    words = data.get("words", {})
    if not isinstance(words, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k for k, v in words.items()
    ):
        raise ConfigError(f'lexicon {path}: [words] must map words to strings, e.g. "重庆" = "崇庆"')
    return dict(words)


def apply_lexicon(text: str, lexicon: Mapping[str, str]) -> str:
    if not lexicon:
        return text
    pattern = _lexicon_pattern(tuple(sorted(lexicon, key=len, reverse=True)))
    return pattern.sub(lambda m: lexicon[m.group(0)], text)


@lru_cache(maxsize=32)
def _lexicon_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in words))


@lru_cache(maxsize=1)
def _single_reading_chars() -> dict[str, str]:
    """Toned syllable -> a common character that has only that reading."""
    out: dict[str, str] = {}
    for code, raw in PINYIN_DICT.items():
        if "," in raw or not (0x4E00 <= code <= 0x9FFF):
            continue
        ch = chr(code)
        try:
            gb = ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if 0xB0 <= gb[0] <= 0xD7 and raw not in out:  # GB2312 level 1: the common characters
            out[raw] = ch
    return out


def respell(hint: ReadingHint) -> str | None:
    """The word with each disputed polyphone replaced by an unambiguous homophone."""
    usual = contextual_reading(hint.word)
    homophones = _single_reading_chars()
    out = []
    changed = False
    for ch, wanted, theirs in zip(hint.word, hint.readings, usual, strict=False):
        if wanted != theirs and len(readings(ch)) > 1 and wanted in homophones:
            out.append(homophones[wanted])
            changed = True
        else:
            out.append(ch)
    return "".join(out) if changed else None


def hint_lexicon(hints: Iterable[ReadingHint]) -> dict[str, str]:
    found = {}
    for hint in hints:
        spelled = respell(hint)
        if spelled:
            found[hint.word] = spelled
    return found


# ---- chunks ----------------------------------------------------------------------


def split_clauses(text: str) -> list[str]:
    """A sentence cut after each clause mark (，、：；), the marks kept: written and spoken forms
    of one sentence cut into the same number of clauses."""
    return [c for c in _SOFT_BREAK.split(text) if c]


def speakable(text: str) -> bool:
    return bool(_SPEAKABLE.search(text))


def spoken_form(text: str, *, lexicon: Mapping[str, str], reads_numbers: bool) -> str:
    text = apply_lexicon(text, lexicon)
    text = speak_service_numbers(text)
    if not reads_numbers:
        text = normalize_numbers(text)
    return text


def split_to_fit(text: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    """Pieces of a sentence, cut after commas (never inside digits), each within limit."""
    if measure(text) <= limit:
        return [text]
    pieces = split_clauses(text)
    out: list[str] = []
    current = ""
    for piece in pieces:
        if current and measure(current + piece) > limit:
            out.append(current)
            current = ""
        # no comma to use: cut between Han characters. Every character counts at least one unit,
        # so a piece longer than limit is over it without measuring all of it (that was quadratic).
        while len(piece) > limit or measure(piece) > limit:
            cut = _hard_cut(piece, limit, measure)
            out.append(piece[:cut])
            piece = piece[cut:]
        current += piece
    if current:
        out.append(current)
    return _attach_unspeakable(out)


def _hard_cut(text: str, limit: int, measure: Callable[[str], int]) -> int:
    # the longest prefix within limit (measure grows with the prefix, at least a unit a character)
    low, high = 1, min(len(text), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    cut = low
    # step back out of a Latin word or a number
    back = cut
    while back > 1 and text[back - 1].isascii() and text[back - 1].isalnum() and text[back].isascii():
        back -= 1
    return back if back > 1 else cut


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


_DIGIT = re.compile(r"[0-9]")


def spoken_estimate(text: str) -> int:
    """UTF-8 size of the text once numbers are words: a digit becomes at most two Han characters."""
    return utf8_len(text) + 5 * len(_DIGIT.findall(text)) + 6 * text.count("%")


_CREDIT_ROLE = re.compile(r"(?<=[^\s·])(记者|通讯员|特约记者|见习记者|实习生)")


def spoken_credit(credit: str) -> str:
    """新华日报·交汇点记者 林元沁 -> 新华日报·交汇点 记者 林元沁 (a breath before the role)."""
    return _CREDIT_ROLE.sub(r" \1", credit, count=1)


def plan_chunks(
    article: Article,
    *,
    max_bytes: int,
    reads_numbers: bool,
    lexicon: Mapping[str, str] | None = None,
    announce: bool = True,
    by_clause: bool = False,
) -> list[SpokenChunk]:
    """Every engine request for an article, in listening order.

    Section 0 opens with the title, each headed section with its heading, and
    the last section closes with the credit (when `announce`). With `by_clause`
    (engines that report no timings inside a chunk), sentences go clause by
    clause, so every clause's time in the audio is known exactly: captions are
    cut there.
    """
    words = {**hint_lexicon(article.hints), **(lexicon or {})}
    chunks: list[SpokenChunk] = []

    def add(section: int, sentence: int, written: str, kind: str, say: Callable[[str], str] = str) -> None:
        if by_clause and kind == "sentence":
            clauses = split_clauses(written)
            if len(clauses) > 1:
                for clause in _attach_unspeakable(clauses):
                    add_piece(section, sentence, clause, kind, say)
                return
        add_piece(section, sentence, written, kind, say)

    def add_piece(section: int, sentence: int, written: str, kind: str, say: Callable[[str], str]) -> None:
        spoken_all = spoken_form(say(written), lexicon=words, reads_numbers=reads_numbers)
        if not speakable(spoken_all):
            return
        if utf8_len(spoken_all) <= max_bytes:
            chunks.append(SpokenChunk(section, sentence, written, spoken_all, kind))
            return
        measure = utf8_len if reads_numbers else spoken_estimate
        for piece in split_to_fit(written, max_bytes, measure):
            spoken = spoken_form(say(piece), lexicon=words, reads_numbers=reads_numbers)
            parts = [p for p in split_to_fit(spoken, max_bytes, utf8_len) if speakable(p)]
            for n, part in enumerate(parts):
                # the written piece goes with the first part only, so the transcript never repeats it
                chunks.append(SpokenChunk(section, sentence, piece if n == 0 else "", part, kind))

    last = len(article.sections) - 1
    for pos, section in enumerate(article.sections):
        if announce and pos == 0 and article.title:
            add(section.index, -1, article.title, "title")
        if announce and section.heading:
            add(section.index, -1, section.heading, "heading")
        for n, sentence in enumerate(section.sentences):
            add(section.index, n, sentence.text, "sentence")
        if announce and pos == last and article.credit:
            # the transcript shows the credit as written; the voice takes a breath before the role
            add(section.index, -1, article.credit, "credit", spoken_credit)
    return chunks


def _attach_unspeakable(pieces: list[str]) -> list[str]:
    """Pieces with nothing to say (a lone quote mark) join their neighbour: the one before,
    or at the start the one after. With nothing speakable at all, the pieces stay as they are."""
    merged: list[str] = []
    leading = ""
    for piece in pieces:
        if speakable(piece):
            merged.append(leading + piece)
            leading = ""
        elif merged:
            merged[-1] += piece
        else:
            leading += piece
    return merged or pieces


def plan_for(
    article: Article, engine: Engine, *, lexicon: Mapping[str, str] | None = None, announce: bool = True
) -> list[SpokenChunk]:
    """plan_chunks with the engine's own limits and habits."""
    return plan_chunks(
        article,
        max_bytes=engine.max_chunk_bytes,
        reads_numbers=engine.reads_numbers,
        lexicon=lexicon,
        announce=announce,
        by_clause=engine.by_clause,
    )


def han_count(text: str) -> int:
    return sum(1 for c in text if is_han(c))
