"""Timed written text -> what players show: caption cues, WebVTT, SRT and Podcasting 2.0 chapters JSON.

Captions follow the rules subtitle readers expect: a cue is at most two lines,
a line at most 18 full-width characters (Latin letters and digits are narrower:
about 42 of them fill a line), and a cue lasts at most about 7 seconds where
the text allows. Lines and cues are cut at clause punctuation first, then
between words (jieba), never inside a word, a number or a percentage.

Times come from the audio: the synthesis stage gives each spoken piece (a
clause, for local engines) its real start and end. Only where one piece is
too long for one cue is it shared out in proportion to the text's width,
because the engine reported nothing finer inside it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

from .model import Boundary, Chapter, Cue
from .phonemes import cut_words
from .speech import split_clauses

LINE_WIDTH = 18 * 7  # in sevenths of a full-width character
MAX_LINES = 2
MAX_SECONDS = 7.0
_TOKEN = re.compile(
    r"(?P<number>[0-9]+(?:[.,:/][0-9]+)*%?)"  # 97.84%, 3,500, 10:30: one token
    r"|(?P<latin>[A-Za-z]+(?:['’.-][A-Za-z]+)*)"
    r"|(?P<han>[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.S,
)
_CLAUSE_END = set("，、；：。！？…,;:!?")
_CLOSING = set("，、；：。！？…,;:!?”’）》」』】)]%")  # never at the start of a line
_OPENING = set("“‘（《「『【([")  # never at the end of a line


def char_width(ch: str) -> int:
    """Sevenths of a full-width character: 42 Latin letters fill the 18 of a line."""
    return 3 if ch.isascii() else 7


def width(text: str) -> int:
    ascii_count = len(text.encode("ascii", "ignore"))  # the same sum as char_width's, at C speed
    return 7 * len(text) - 4 * ascii_count


def warm() -> None:
    """Load the word list now (about 0.4 s), while the engine works, not when captions are due."""
    cut_words("预备")


def tokens(text: str) -> list[str]:
    """Pieces a line may break between: words (jieba for Han), numbers, Latin words, marks."""
    return list(_tokens(text))


@lru_cache(maxsize=4096)  # the layout tries the same text at several widths
def _tokens(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        if m.lastgroup == "han":
            out.extend(cut_words(m.group(0)))
        else:
            out.append(m.group(0))
    # punctuation sticks to its word: closing marks to the one before, opening marks to the one after
    glued: list[str] = []
    for tok in out:
        if glued and (tok[0] in _CLOSING or glued[-1][-1] in _OPENING):
            glued[-1] += tok
        else:
            glued.append(tok)
    return tuple(glued)


def line_starts(text: str, limit: int = LINE_WIDTH) -> list[int]:
    """Where each line begins in `text`: as few lines as the width allows, as even as the words
    allow (no one-word last line), breaking between tokens and after a clause where possible."""
    return list(_line_starts(text, limit))


@lru_cache(maxsize=4096)
def _line_starts(text: str, limit: int) -> tuple[int, ...]:
    greedy = _greedy_starts(text, limit)
    if len(greedy) == 1:
        return tuple(greedy)
    for target in range(-(-width(text) // len(greedy)), limit, 7):  # from an even share upwards
        even = _greedy_starts(text, target)
        if len(even) == len(greedy):
            return tuple(even)
    return tuple(greedy)


def _greedy_starts(text: str, limit: int) -> list[int]:
    """Fill each line as far as `limit`; a clause end wins if it leaves the line half full."""
    starts = [0]
    line: list[str] = []  # tokens of the current line
    at = 0  # offset of the current token in text
    for tok in _tokens(text):
        if line and width("".join(line) + tok.rstrip()) > limit:
            cut = len(line)
            for i in range(len(line) - 1, 0, -1):
                if line[i - 1].rstrip()[-1:] in _CLAUSE_END and width("".join(line[:i])) * 2 >= limit:
                    cut = i
                    break
            starts.append(at - sum(len(t) for t in line[cut:]))
            line = line[cut:]
        line.append(tok)
        while width("".join(line).strip()) > limit:  # a token wider than a line
            begin = starts[-1]
            starts.append(begin + _fit(text[begin:], limit))
            line = [text[starts[-1] : at + len(tok)]]
        at += len(tok)
    return starts


def wrap(text: str, limit: int = LINE_WIDTH) -> list[str]:
    """The lines of a cue as shown: at most `limit` wide each."""
    bounds = [*line_starts(text, limit), len(text)]
    lines = (text[a:b].strip() for a, b in itertools.pairwise(bounds))
    return [line for line in lines if line]


def _fit(text: str, limit: int) -> int:
    used = 0
    for i, ch in enumerate(text):
        used += char_width(ch)
        if used > limit:
            return max(1, i)
    return len(text)


def timed_pieces(written: str, bounds: Sequence[Boundary], offset: float, duration: float) -> list[Cue]:
    """One chunk's written text as timed pieces, from the engine's boundaries.

    Where the engine timed each word and every word is found, in order, in the written
    text, each piece runs from one word to the next (punctuation goes with the word before
    it). Where it timed each clause, the written text's clauses take those times. Otherwise
    (one boundary, or a spoken form that differs, like 幺二三四五 for 12345) the chunk is
    one piece from its first sound to its last.
    """
    begin = offset + (bounds[0].start if bounds else 0.0)
    end = offset + (bounds[-1].end if bounds else duration)
    if len(bounds) < 2:
        return [Cue(begin, end, written)]
    positions = []
    at = 0
    for bound in bounds:
        found = written.find(bound.text, at)
        if not bound.text or found < 0:
            clauses = split_clauses(written)
            if len(clauses) == len(bounds):  # the same clauses, said in another form
                timed = zip(bounds, clauses, strict=True)
                return [Cue(offset + b.start, offset + b.end, clause) for b, clause in timed]
            return [Cue(begin, end, written)]
        positions.append(found)
        at = found + len(bound.text)
    positions[0] = 0  # leading punctuation goes with the first word
    cuts = [*positions, len(written)]
    starts = [offset + b.start for b in bounds]
    return [
        Cue(starts[i], starts[i + 1] if i + 1 < len(bounds) else end, written[cuts[i] : cuts[i + 1]])
        for i in range(len(bounds))
    ]


def caption_cues(groups: Sequence[Sequence[Cue]]) -> list[Cue]:
    """Caption cues from timed pieces (clauses, or words where the engine timed words), one
    group per sentence (or title, heading, credit).

    Pieces of a group are joined while the cue still fits two lines and seven
    seconds; when the next one does not fit, the cue ends at its last clause
    end if that leaves at least a full line, else where it is. A piece that
    alone is too long is cut by lines, its time shared out by width inside it.
    Cues never span two groups.
    """
    cues: list[Cue] = []
    for group in groups:
        held: list[Cue] = []  # pieces of the cue being built
        for piece in (part for whole in group for part in _fit_piece(whole)):
            while held and not _fits(_text(held) + piece.text, piece.end - held[0].start):
                cut = _clause_cut(held)
                cues.append(_join(held[:cut]))
                held = held[cut:]
            held.append(piece)
        if held:
            cues.append(_join(held))
    return cues


def _text(pieces: Sequence[Cue]) -> str:
    return "".join(p.text for p in pieces)


def _join(pieces: Sequence[Cue]) -> Cue:
    return Cue(pieces[0].start, pieces[-1].end, _text(pieces))


def _clause_cut(held: Sequence[Cue]) -> int:
    """How many held pieces close the cue: up to the last clause end past one full line, else all."""
    for cut in range(len(held) - 1, 0, -1):
        if held[cut - 1].text.rstrip()[-1:] in _CLAUSE_END and width(_text(held[:cut])) >= LINE_WIDTH:
            return cut
    return len(held)


def _fits(text: str, seconds: float) -> bool:
    return len(wrap(text)) <= MAX_LINES and seconds <= MAX_SECONDS


def _fit_piece(piece: Cue) -> Iterator[Cue]:
    """A piece as cues of at most two lines and about seven seconds, timed by width inside it."""
    starts = line_starts(piece.text)
    seconds = piece.end - piece.start
    per_cue = 1 if seconds > MAX_SECONDS and len(starts) > 1 else MAX_LINES  # long in time: a line a cue
    if len(starts) <= per_cue:
        yield piece
        return
    bounds = [*starts[::per_cue], len(piece.text)]
    texts = [piece.text[a:b] for a, b in itertools.pairwise(bounds)]
    total = max(1, width(piece.text))
    start = piece.start
    for text in texts:
        end = start + seconds * width(text) / total
        yield Cue(start, end, text)
        start = end


# ---- files ---------------------------------------------------------------------------------


def _clock(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cue_blocks(cues: Sequence[Cue], sep: str) -> list[str]:
    out: list[str] = []
    for i, cue in enumerate(cues, start=1):
        out += [str(i), f"{_clock(cue.start, sep)} --> {_clock(cue.end, sep)}", *wrap(cue.text), ""]
    return out


def webvtt(cues: Sequence[Cue]) -> str:
    return "\n".join(["WEBVTT", "", *_cue_blocks(cues, ".")])


def srt(cues: Sequence[Cue]) -> str:
    return "\n".join(_cue_blocks(cues, ","))


_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[.,](\d{3}) --> (\d+):(\d{2}):(\d{2})[.,](\d{3})")


def read_cue_times(text: str) -> list[tuple[float, float]]:
    """(start, end) of each cue in a VTT or SRT file."""
    out = []
    for m in _TIME.finditer(text):
        g = [int(x) for x in m.groups()]
        out.append(
            (g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000, g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000)
        )
    return out


def chapters_json(chapters: Sequence[Chapter]) -> str:
    """Podcasting 2.0 JSON chapters, version 1.2.0."""
    body = {
        "version": "1.2.0",
        "chapters": [
            {"startTime": round(c.start, 3), "endTime": round(c.end, 3), "title": c.title} for c in chapters
        ],
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
