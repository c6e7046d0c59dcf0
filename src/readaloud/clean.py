"""Noisy scraped text -> Cleaned (title, body lines, credit) + a report of every removal.

What goes, in order, line by line:
1. pinyin annotations verified against the characters before them (pinyin.py);
   a group that is certainly pinyin (tone marks or digits, real syllables) but
   reads no preceding word is removed too and reported as "pinyin-unverified":
   a listener would only hear it spelled out letter by letter;
2. junk lines (random Latin letters, mojibake, symbol rows);
3. the title repeated at the top or further down;
4. page chrome: lines that are wholly furniture (a label alone or with a short
   value) in the header block or after the last paragraph, and the trailing block
   of related links and comment widgets (cut from its first marker only when no
   body paragraph follows, so a story that mentions 评论 keeps its text);
5. the byline, kept as the article's credit instead of a body paragraph.
Then ASCII , : ; ! ? between Chinese characters become full-width.

Nothing here guesses: text we cannot classify stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .model import Cleaned, ReadingHint, Removal
from .pinyin import (
    contextual_reading,
    count_han,
    has_han,
    is_pinyin_text,
    match_reading,
    readings,
    syllable,
)

_GROUP = re.compile(r"[(（]([^()（）\n]{1,80})[)）]")
_SPACES = re.compile(r"[ \t\u3000\xa0\u2002\u2003\u200b\ufeff]+")
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_BEFORE = f"[{_HAN_CLASS}”’」』）)》】。，、！？：；]"
_ASCII_TO_FULL = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？"}
_PUNCT_NEAR_HAN = re.compile(
    rf"(?<={_CJK_BEFORE})[,:;!?](?![0-9A-Za-z/])|[,:;!?](?=\s*[{_HAN_CLASS}“‘「『（(《【])"
)

# Page furniture: a label alone, or a label and a short value ("责任编辑：王敏"), and only in
# the header block (before the first paragraph) or the trailing block (after the last one).
_CHROME_LABEL = re.compile(
    r"^【?(?:分享到|分享至|分享|扫一扫|扫码|打印本页|打印|关闭窗口|关闭|返回顶部|返回首页|字号|字体|"
    r"收藏|点赞|举报|纠错|责任编辑|编辑|校对|审核|审校|监制|来源|发布时间|发布日期|浏览次数|阅读量|"
    r"原标题|首页|当前位置|您当前的位置|你 ?发表评论|发表评论|我要评论|网友评论|暂无评论)"
)
_WELCOME = re.compile(r"^欢迎(?:您)?(?:访问|光临|关注|使用|登录|进入)?[^，。！？,.!?]{0,12}$")
_SEPARATORS = "】]:：>»/|"
_NAME_LIKE = re.compile(
    r"[\u4e00-\u9fff·]{2,5}(?:[ 、][\u4e00-\u9fff·]{2,5})*|[\d\-:/ 年月日时分]+|[A-Za-z .]{2,24}"
)
_CLAUSE_MARK = re.compile(r"[。！？；，,!?;]")
_CHROME_VALUE_MAX = 24
_FIELD_BREAK = re.compile(r"\s+(?=" + _CHROME_LABEL.pattern.removeprefix("^") + ")")

# Lines that open the trailing block of related links and comment widgets.
_TRAILER_START = re.compile(
    r"^【?(?:相关推荐|相关阅读|相关新闻|相关文章|相关链接|相关报道|延伸阅读|推荐阅读|热门推荐|热点推荐|"
    r"热门文章|猜你喜欢|为你推荐|精彩推荐|评论列表|网友评论|发表评论|我要评论|暂无评论|全部评论|"
    r"上一篇|下一篇|分享到|分享至|扫一扫|责任编辑|版权所有|免责声明|版权声明|返回顶部|打印本页|关闭窗口)"
)
_BODY_LIKE_MIN = 40
_SENTENCE_END = re.compile(r"[。！？!?…][”’」』)）]*$")

_BYLINE = re.compile(
    r"^[（(]?(?P<credit>.{0,24}?(?:记者|通讯员|特约记者|见习记者|实习生|撰稿|撰文|作者|文|图)"
    r"\s*[/／:：]?\s*[\u4e00-\u9fff·]{2,5}(?:[\s、，,]+[\u4e00-\u9fff·]{2,5}){0,4})[）)]?$"
)
_SOURCE = re.compile(r"^来源[:：]\s*(?P<source>[^\s].{0,30}?)\s*$")
_BYLINE_MAX = 50


@dataclass
class _Line:
    number: int
    text: str  # after annotation removal and punctuation fixes
    raw: str  # as the page had it (whitespace trimmed), for the report


@dataclass
class _Report:
    removals: list[Removal] = field(default_factory=list)
    hints: dict[str, ReadingHint] = field(default_factory=dict)

    def remove(self, number: int, text: str, reason: str) -> None:
        self.removals.append(Removal(number, text, reason))


def strip_annotations(line: str, number: int, report: _Report) -> str:
    """Drop parenthesized pinyin that reads the characters right before it."""
    out: list[str] = []
    last = 0
    for m in _GROUP.finditer(line):
        out.append(line[last : m.start()])
        last = m.end()
        before = "".join(out)
        inner = m.group(1)
        found = match_reading(before, inner)
        if found is not None:
            report.remove(number, m.group(0), "pinyin")
            if found.exact:
                _note_hint(found.word, tuple(s.marked for s in found.syllables), report)
        elif is_pinyin_text(inner):
            report.remove(number, m.group(0), "pinyin-unverified")
        else:
            out.append(m.group(0))
    out.append(line[last:])
    return "".join(out)


_SANDHI_CHARS = frozenset("一不")


def _note_hint(word: str, given: tuple[str, ...], report: _Report) -> None:
    if word not in report.hints and disambiguates(word, given):
        report.hints[word] = ReadingHint(word, given)


@lru_cache(maxsize=16384)  # pages annotate the same words again and again
def disambiguates(word: str, given: tuple[str, ...]) -> bool:
    """Does the page's reading differ from pypinyin's on a polyphonic character?

    Tone sandhi of 一/不 and neutral-tone spellings are not disagreements.
    """
    if len(given) != len(word):
        return False
    usual = contextual_reading(word)
    if len(usual) != len(word):
        return False
    for ch, mine, theirs in zip(word, given, usual, strict=True):
        if ch in _SANDHI_CHARS or len(readings(ch)) < 2 or mine == theirs:
            continue
        a, b = _plain_tone(mine), _plain_tone(theirs)
        if a[0] != b[0] or (a[1] and b[1] and a[1] != b[1]):
            return True
    return False


def _plain_tone(marked: str) -> tuple[str, str]:
    s = syllable(marked)
    return s.plain, s.numbered[len(s.numbered.rstrip("1234")) :]


def fullwidth_punctuation(line: str) -> str:
    """ASCII , : ; ! ? touching Chinese become full-width; 1,400 and Latin text stay."""
    while True:  # a converted mark makes its ASCII neighbour "touch Chinese" too
        fixed = _PUNCT_NEAR_HAN.sub(lambda m: _ASCII_TO_FULL[m.group(0)], line)
        if fixed == line:
            return fixed
        line = fixed


def junk_reason(line: str) -> str | None:
    """Why a line is noise no listener wants, or None."""
    if has_han(line):
        return "junk" if _is_mojibake(line) else None
    if _is_mojibake(line):
        return "junk"
    words = re.findall(r"[A-Za-z]+", line)
    if not words:
        # digits and symbols only: separators, counters, timestamps
        return "junk"
    if len(words) < 3 or not re.search(r"\s", line.strip()):
        return "junk"
    if re.search(r"https?://|www\.", line):
        return "junk"
    return None


def _is_mojibake(line: str) -> bool:
    """UTF-8 bytes shown through Latin-1/CP1252 or GBK: re-encoding recovers real UTF-8."""
    latin = sum(1 for c in line if "\u0080" <= c <= "\u00ff")
    if latin >= 3 and latin >= len(line) * 0.2:
        return True
    for codec in ("gb18030", "cp1252", "latin-1"):
        try:
            raw = line.replace("\ufffd", "").encode(codec)
        except UnicodeEncodeError:
            continue
        if raw.isascii():
            return False
        # a few bytes may have been lost to U+FFFD when the page was mis-decoded
        fixed = raw.decode("utf-8", errors="replace")
        broken = fixed.count("\ufffd")
        han = count_han(fixed)
        return fixed != line and han >= 2 and broken * 2 <= han
    return False


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _is_chrome_line(text: str) -> bool:
    """Wholly page furniture: a label alone or with a short value, never a clause of prose;
    or a row of such fields ("发布时间：2026-11-25 来源：滨海日报 字号：[大 中 小] 打印本页")."""
    fields = _FIELD_BREAK.split(text.strip())
    if len(fields) > 1:
        return all(_is_chrome_field(f) for f in fields)
    return _is_chrome_field(text)


def _is_chrome_field(text: str) -> bool:
    if _WELCOME.match(text) and len(text) <= 16:
        return True
    m = _CHROME_LABEL.match(text)
    if not m:
        return False
    rest = text[m.end() :].strip()
    if not rest.strip("】]"):
        return True
    if rest[0] in _SEPARATORS:
        value = rest[1:].strip()
        return len(value) <= _CHROME_VALUE_MAX and not _CLAUSE_MARK.search(value)
    # "编辑 王敏" is a credit line; "编辑 部署的新规定…" is a sentence that starts with a verb
    return text[m.end() : m.end() + 1].isspace() and bool(_NAME_LIKE.fullmatch(rest))


def _body_span(lines: list[_Line]) -> tuple[int, int]:
    """Indices of the first and last paragraph-like lines: furniture sits outside them."""
    body = [i for i, line in enumerate(lines) if _is_paragraph(line.text)]
    return (body[0], body[-1]) if body else (len(lines), -1)


def _is_paragraph(text: str) -> bool:
    return len(text) >= _BODY_LIKE_MIN or (len(text) >= 16 and bool(_SENTENCE_END.search(text)))


def _trailer_start(lines: list[_Line]) -> int | None:
    """Index of the first trailing-block marker with no body paragraph after it."""
    start = None
    for i in range(len(lines) - 1, -1, -1):
        text = lines[i].text
        if _is_paragraph(text) and not _TRAILER_START.match(text):
            break
        if len(text) <= 30 and _TRAILER_START.match(text):
            start = i
    return start


def _byline(text: str) -> str | None:
    if len(text) > _BYLINE_MAX or "。" in text:
        return None
    m = _BYLINE.match(text)
    return m.group("credit").strip() if m else None


def clean(text: str) -> Cleaned:
    """Remove pinyin noise, duplicate titles, chrome and junk; keep every real word."""
    report = _Report()
    lines: list[_Line] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        original = _SPACES.sub(" ", raw).strip()
        if not original:
            continue
        line = _SPACES.sub(" ", strip_annotations(original, number, report)).strip()
        if not line:
            continue
        reason = junk_reason(line)
        if reason:
            report.remove(number, line, reason)
            continue
        lines.append(_Line(number, fullwidth_punctuation(line), original))

    title = ""
    if lines:
        first = lines.pop(0)
        title = re.sub(r"^#+\s*", "", first.text)
    kept: list[_Line] = []
    for item in lines:
        if _norm(re.sub(r"^#+\s*", "", item.text)) == _norm(title):
            report.remove(item.number, item.raw, "duplicate-title")
        else:
            kept.append(item)

    cut = _trailer_start(kept)
    if cut is not None:
        for item in kept[cut:]:
            report.remove(item.number, item.raw, "boilerplate")
        kept = kept[:cut]

    credit: str | None = None
    source: str | None = None
    body: list[str] = []
    first_paragraph, last_paragraph = _body_span(kept)
    for i, item in enumerate(kept):
        near_edge = i < 3 or i >= len(kept) - 3
        m_source = _SOURCE.match(item.text)
        if m_source and source is None:
            source = m_source.group("source")
            report.remove(item.number, item.raw, "source")
            continue
        found = _byline(item.text) if near_edge else None
        if found and credit is None:
            credit = found
            report.remove(item.number, item.raw, "byline")
            continue
        furniture_place = i < first_paragraph or i > last_paragraph
        if furniture_place and _is_chrome_line(item.text):
            report.remove(item.number, item.raw, "boilerplate")
            continue
        body.append(item.text)

    return Cleaned(
        title=title,
        body=tuple(body),
        credit=credit,
        source=source,
        removals=tuple(sorted(report.removals, key=lambda r: r.line)),
        hints=tuple(report.hints.values()),
    )
