"""Plain data passed between the stages: frozen dataclasses, nothing else.

load -> str; clean -> Cleaned; segment -> Article; speech -> SpokenChunk list;
synthesize -> ChunkAudio list; audio -> SectionFile / EpisodeFiles; feed reads EpisodeRecord.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Removal:
    """One thing the cleaner took out, for the report."""

    line: int  # 1-based line number in the loaded text
    text: str
    reason: str  # "pinyin", "pinyin-unverified", "boilerplate", "duplicate-title", "junk"


@dataclass(frozen=True)
class ReadingHint:
    """A reading the page itself gave for a word (a verified pinyin annotation)."""

    word: str
    readings: tuple[str, ...]  # one toned syllable per character, e.g. ("chóng", "qìng")


@dataclass(frozen=True)
class Cleaned:
    """The cleaner's output: body lines without noise, plus what it learned."""

    title: str
    body: tuple[str, ...]
    credit: str | None
    source: str | None
    removals: tuple[Removal, ...]
    hints: tuple[ReadingHint, ...]

    @property
    def text(self) -> str:
        head = [self.title] if self.title else []
        tail = [self.credit] if self.credit else []
        return "\n".join([*head, *self.body, *tail]) + "\n"


@dataclass(frozen=True)
class Sentence:
    text: str  # written form, as the transcript shows it


@dataclass(frozen=True)
class Section:
    index: int  # 0 = lead
    heading: str | None  # None for the lead
    paragraphs: tuple[tuple[Sentence, ...], ...]

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        return tuple(s for p in self.paragraphs for s in p)

    @property
    def chars(self) -> int:
        return sum(len(s.text) for s in self.sentences) + len(self.heading or "")


@dataclass(frozen=True)
class Article:
    title: str
    credit: str | None
    source: str | None
    sections: tuple[Section, ...]
    hints: tuple[ReadingHint, ...] = ()
    date: str | None = None  # ISO 8601, from the page (a web page's own publication date)
    url: str | None = None  # the page's canonical address: the article's identity when known


@dataclass(frozen=True)
class SpokenChunk:
    """One engine request: what is written (transcript) and what is said."""

    section: int
    sentence: int  # index within the section's cue list (-1 for announcements)
    written: str
    spoken: str
    kind: str = "sentence"  # "title", "heading", "sentence", "credit"


@dataclass(frozen=True)
class Voice:
    """A fully resolved voice: which engine and how it should sound."""

    engine: str
    voice: str
    rate: str = "+0%"
    pitch: str = "+0Hz"
    volume: str = "+0%"
    language: str = "zh-CN"
    name: str = ""
    description: str = ""
    fallback: str | None = None


@dataclass(frozen=True)
class Boundary:
    """Where the engine says a sentence is heard inside one chunk's audio."""

    start: float  # seconds
    end: float
    text: str


@dataclass(frozen=True)
class Speech:
    """What an engine returns for one chunk."""

    audio: bytes
    format: str  # "wav" or "mp3"
    duration: float  # seconds
    boundaries: tuple[Boundary, ...]


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Chapter:
    start: float
    end: float
    title: str


@dataclass(frozen=True)
class SectionFile:
    index: int
    title: str
    path: str  # file name inside the episode folder
    duration: float


@dataclass(frozen=True)
class EpisodeFiles:
    slug: str
    audio: str
    duration: float
    sections: tuple[SectionFile, ...]
    chapters: tuple[Chapter, ...]
    cues: tuple[Cue, ...] = field(default=())
