"""Episode records -> Book: what the talking-book formats (DAISY 2.02, EPUB 3) are written from.

A book is a list of parts, one per section MP3 of an episode: the audio is the
section file as it is (never synthesized or encoded again), and each part's
text is its title, heading, sentences and credit, each timed in that MP3 by
the synthesis itself (the record's items).

A reader plays a book clip by clip, so each timed piece of text is given a
clip that runs from where it starts to where the next one starts (the pause
after it included): the clips of a part are contiguous, the first starts at 0
and the last ends at the end of the file. Text that is not spoken keeps its id
and place in the text, without a clip of its own.

Ids are positions, never counters of the whole book, so a re-conversion of
unchanged text gives every sentence the same id, and a reader's bookmarks hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from .episode import EpisodeRecord, TimedText
from .errors import InputError
from .xmlout import Element, sub

HEADING_LEVEL = {"title": 1, "heading": 2}


@dataclass(frozen=True)
class Clip:
    id: str  # of its element in the text, e.g. "t2-5": part 2, piece 5
    kind: str  # "title", "heading", "sentence", "credit"
    paragraph: int  # -1 outside paragraphs
    text: str
    begin: float | None  # seconds in the part's MP3; None when not spoken
    end: float | None


@dataclass(frozen=True)
class Part:
    """One section: one MP3, one SMIL file, one EPUB content document."""

    key: str  # file stem in the book: "01", or "a2-01" in an edition
    level: int  # 1 for an article's opening section, 2 for the sections under it
    title: str  # what navigation shows
    audio: Path  # the section MP3 in its episode folder
    audio_name: str  # its name inside the book
    duration: float
    clips: tuple[Clip, ...]

    @property
    def timed(self) -> tuple[Clip, ...]:
        return tuple(c for c in self.clips if c.begin is not None)

    def anchor(self, clip: Clip) -> Clip | None:
        """The timed clip a reader lands on for clip: itself, or the next spoken one."""
        start = next(n for n, c in enumerate(self.clips) if c.id == clip.id)
        return next((c for c in self.clips[start:] if c.begin is not None), None)

    def headings(self) -> list[tuple[int, Clip]]:
        """(level, clip) for each title and heading in this part; the part's title if none is there."""
        found = [(HEADING_LEVEL[c.kind], c) for c in self.clips if c.kind in HEADING_LEVEL]
        if self.level == 2:
            found = [(2, c) for _, c in found]
        if found:
            return found
        first = self.clips[0]
        return [(self.level, Clip(first.id, "heading", -1, self.title, first.begin, first.end))]


@dataclass(frozen=True)
class Book:
    identifier: str
    title: str
    creator: str
    publisher: str
    narrator: str
    language: str
    date: str  # YYYY-MM-DD
    modified: str  # YYYY-MM-DDThh:mm:ssZ
    parts: tuple[Part, ...]

    @property
    def duration(self) -> float:
        return sum(p.duration for p in self.parts)


def episode_book(folder: Path, record: EpisodeRecord, *, publisher: str, author: str) -> Book:
    """One episode as a book: its title at level 1, its sections at level 2."""
    return Book(
        identifier=record.guid,
        title=record.title,
        creator=record.credit or record.source or author,
        publisher=publisher,
        narrator=f"{record.engine} {record.voice}",
        language=record.language,
        date=local_date(record.published),
        modified=_utc(record.updated),
        parts=_parts(folder, record, prefix=""),
    )


def edition_book(
    output: Path, records: list[EpisodeRecord], date: str, *, publisher: str, author: str
) -> Book:
    """The episodes first published on `date`, oldest first, as one book: an h1 per article."""
    chosen = sorted(
        (r for r in records if local_date(r.published) == date), key=lambda r: (r.published, r.slug)
    )
    if not chosen:
        raise InputError(
            f"no episode in {output} was published on {date}: `readaloud feed --list` shows the dates"
        )
    parts = tuple(p for n, r in enumerate(chosen) for p in _parts(output / r.slug, r, prefix=f"a{n + 1}-"))
    voices = sorted({f"{r.engine} {r.voice}" for r in chosen})
    return Book(
        identifier=f"readaloud:edition:{publisher}:{date}",
        title=f"{publisher} {date}",
        creator=author,
        publisher=publisher,
        narrator=", ".join(voices),
        language=chosen[0].language,
        date=date,
        modified=max(_utc(r.updated) for r in chosen),
        parts=parts,
    )


def _parts(folder: Path, record: EpisodeRecord, *, prefix: str) -> tuple[Part, ...]:
    if any(not s.items for s in record.sections):
        raise InputError(
            f"{record.slug} was converted by an older readaloud that kept no sentence times:"
            f" run `readaloud convert --force {record.input_path}`"
        )
    parts = []
    for n, section in enumerate(record.sections):
        key = f"{prefix}{n + 1:02d}"
        parts.append(
            Part(
                key=key,
                level=1 if n == 0 else 2,
                title=record.title if n == 0 else section.title,
                audio=folder / section.file,
                audio_name=f"{prefix}{section.file}",
                duration=section.duration,
                clips=_clips(section.items, section.duration, ident=f"{prefix}t{n + 1}"),
            )
        )
    return tuple(parts)


def _clips(items: tuple[TimedText, ...], duration: float, *, ident: str) -> tuple[Clip, ...]:
    starts = [i.start for i in items if i.start is not None]
    follows = iter([*starts[1:], duration])
    clips = []
    first = True
    for n, item in enumerate(items):
        begin = end = None
        if item.start is not None:
            begin = 0.0 if first else item.start  # the first clip takes any silence before it
            end = max(begin, min(next(follows), duration))
            first = False
        clips.append(Clip(f"{ident}-{n + 1}", item.kind, item.paragraph, item.text, begin, end))
    return tuple(clips)


class _Piece(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def paragraph(self) -> int: ...


_P = TypeVar("_P", bound=_Piece)


def layout(pieces: Iterable[_P]) -> Iterator[tuple[str, _P]]:
    """Where each piece of a section's text goes in a document: ("h1" or "h2", piece) for the title
    and headings, ("p", piece) for the first sentence of a paragraph, ("p.credit", piece) for the
    credit, ("span", piece) for a sentence that goes on the paragraph before it."""
    current: int | None = None
    for piece in pieces:
        if piece.kind in HEADING_LEVEL:
            current = None
            yield f"h{HEADING_LEVEL[piece.kind]}", piece
        elif piece.kind == "credit":
            current = None
            yield "p.credit", piece
        elif piece.paragraph != current:
            current = piece.paragraph
            yield "p", piece
        else:
            yield "span", piece


def add_text(parent: Element, clips: Iterable[Clip]) -> None:
    """A part's text into an (X)HTML parent, as `layout` places it: an element with its id per piece."""
    paragraph = parent
    for place, clip in layout(clips):
        if place.startswith("h"):
            sub(parent, place, {"id": clip.id}, clip.text)
            continue
        if place != "span":
            paragraph = sub(parent, "p", {"class": "credit"} if place == "p.credit" else {})
        sub(paragraph, "span", {"id": clip.id}, clip.text)


def local_date(stamp: str) -> str:
    """The day a stored time falls on where the publisher runs readaloud (the machine's zone)."""
    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d")


def _utc(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock(seconds: float, *, fraction: bool = True) -> str:
    """h:mm:ss.fff (SMIL clock value, media:duration); hh:mm:ss without the fraction."""
    ms = round(seconds * 1000) if fraction else round(seconds) * 1000
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}" if fraction else f"{h:02d}:{m:02d}:{s:02d}"
