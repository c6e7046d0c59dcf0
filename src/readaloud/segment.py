"""Cleaned -> Article: title, credit, a lead and sections of sentences.

Scraped text has no markup, so a heading is recognized by its shape and
position: a short line (4-40 characters) that does not end a sentence,
followed by a body paragraph; or an explicit form (Markdown `#`, 【…】,
一、 （二） 第三部分 1. ①). A quoted line is never a heading. Paragraphs
before the first heading form the lead.
"""

from __future__ import annotations

import re

from .model import Article, Cleaned, Section, Sentence

HEADING_MIN, HEADING_MAX = 4, 40
_ENDS_SENTENCE = re.compile(r"[。！？!?…；;：:][”’」』\"')）]*$")
_MARKDOWN = re.compile(r"^#{1,6}\s+(?P<text>.+)$")
_BRACKETED = re.compile(r"^【(?P<text>[^】]{2,38})】$")
_NUMBERED = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十]{1,3}[）)]|"
    r"第[一二三四五六七八九十百0-9]{1,4}[部分章节篇]+[、：:\s]?|\d{1,2}[.．、]\s*(?=\D)|[①-⑳])"
)
_QUOTED = re.compile(r"^[“「『\"'‘].*[”」』\"'’]$")

_TERMINATORS = frozenset("。！？；…")
_ASCII_TERMINATORS = frozenset("!?;")
_CLOSERS = frozenset("”’」』\"')）》】")


def heading_text(line: str, *, next_line: str | None, prev_is_heading: bool) -> str | None:
    """The heading a line stands for, or None when it is body text."""
    m = _MARKDOWN.match(line)
    if m:
        return m.group("text").strip()
    if next_line is None or _QUOTED.match(line):
        return None
    m = _BRACKETED.match(line)
    if m:
        return m.group("text").strip()
    short = len(line) <= HEADING_MAX and not _ENDS_SENTENCE.search(line) and "。" not in line
    if not short:
        return None
    if _NUMBERED.match(line):
        return line
    if len(line) < HEADING_MIN or prev_is_heading:
        return None
    # A bare heading introduces a real paragraph, longer than itself.
    if len(next_line) >= max(2 * len(line), 20) or _ENDS_SENTENCE.search(next_line):
        return line
    return None


def split_sentences(paragraph: str) -> tuple[Sentence, ...]:
    """Sentences at 。！？；… (and !?; not followed by Latin or digits), closing quotes kept.

    A plain scan: every character of the paragraph lands in exactly one sentence.
    """
    found: list[str] = []
    start = i = 0
    n = len(paragraph)
    while i < n:
        ch = paragraph[i]
        nxt = paragraph[i + 1] if i + 1 < n else ""
        ends = ch in _TERMINATORS or (ch in _ASCII_TERMINATORS and not (nxt.isascii() and nxt.isalnum()))
        i += 1
        if not ends:
            continue
        while i < n and (paragraph[i] in _TERMINATORS or paragraph[i] in _ASCII_TERMINATORS):
            i += 1
        while i < n and paragraph[i] in _CLOSERS:
            i += 1
        found.append(paragraph[start:i])
        start = i
    if start < n:
        found.append(paragraph[start:])
    return tuple(Sentence(t.strip()) for t in found if t.strip())


def segment(cleaned: Cleaned) -> Article:
    """Group body lines into a lead and headed sections."""
    sections: list[Section] = []
    heading: str | None = None
    paragraphs: list[tuple[Sentence, ...]] = []
    lines = list(cleaned.body)
    prev_is_heading = False

    def close() -> None:
        if heading is not None or paragraphs:
            sections.append(Section(len(sections), heading, tuple(paragraphs)))

    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        found = heading_text(line, next_line=nxt, prev_is_heading=prev_is_heading)
        prev_is_heading = found is not None
        if found is not None:
            close()
            heading, paragraphs = found, []
        else:
            sentences = split_sentences(line)
            if sentences:
                paragraphs.append(sentences)
    close()
    if sections and sections[0].heading is not None:
        # No lead: keep index 0 for the lead anyway so chapter numbering stays stable.
        sections = [Section(i + 1, s.heading, s.paragraphs) for i, s in enumerate(sections)]
    return Article(
        title=cleaned.title,
        credit=cleaned.credit,
        source=cleaned.source,
        sections=tuple(sections),
        hints=cleaned.hints,
    )
