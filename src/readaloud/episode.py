"""Episode folders <-> EpisodeRecord: episode.json, the record the feed and checks are built from."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import FeedError, InputError
from .fsutil import write_text

RECORD_NAME = "episode.json"
CACHE_DIR = ".cache"  # the synthesis cache, under the output root


@dataclass(frozen=True)
class TimedText:
    """One piece of a section's text and where it is heard in the section's MP3.

    kind is "title", "heading", "sentence" or "credit"; paragraph counts the
    section's paragraphs (-1 for the others). start and end are None for text
    that is not spoken (an announcement left out, or only punctuation).
    """

    kind: str
    paragraph: int
    text: str
    start: float | None
    end: float | None


@dataclass(frozen=True)
class SectionRecord:
    index: int
    title: str
    file: str
    duration: float
    size: int
    start: float  # where it starts in the episode
    opening: str = ""  # its first sentences (the item description in a sections feed)
    transcript: str = ""  # its own WebVTT, timed within its MP3
    recipe: str = ""  # hash of everything its MP3 is made from: same recipe, same file
    loudness: float | None = None  # LUFS measured on what went into the encoder
    items: tuple[TimedText, ...] = ()  # its text, sentence by sentence, timed (talking books, the web page)


@dataclass(frozen=True)
class EpisodeRecord:
    slug: str
    guid: str
    title: str
    description: str
    credit: str | None
    source: str | None
    input_path: str
    language: str
    published: str  # ISO 8601, set on first conversion and kept
    updated: str
    duration: float
    audio: str
    size: int
    chapters: str
    transcript_vtt: str
    transcript_srt: str
    text: str
    engine: str
    voice: str
    sections: tuple[SectionRecord, ...] = field(default=())
    identity: str = ""  # pipeline.article_identity; empty in records written before it existed
    recipe: str = ""  # hash of the input file and every setting: same recipe, nothing to redo
    link: str | None = None  # the article's own web page (canonical URL), when it came from one
    origin: str | None = None  # the address it was fetched from, when that differs

    def files(self) -> list[str]:
        """Every file of the episode folder this record describes (itself not included)."""
        names = [self.audio, self.chapters, self.transcript_vtt, self.transcript_srt, self.text]
        names += [s.file for s in self.sections]
        return names + [s.transcript for s in self.sections if s.transcript]

    def save(self, folder: Path) -> None:
        write_text(folder / RECORD_NAME, json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> EpisodeRecord:
        path = folder / RECORD_NAME
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            known = {f.name for f in fields(SectionRecord)}
            data["sections"] = tuple(
                SectionRecord(
                    **{k: v for k, v in s.items() if k in known and k != "items"},
                    items=tuple(TimedText(**item) for item in s.get("items", ())),
                )
                for s in data.get("sections", ())
            )
            # a record from a newer readaloud may carry more: what this one knows is enough
            return cls(**{k: v for k, v in data.items() if k in {f.name for f in fields(cls)}})
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise FeedError(
                f"{path} is unreadable ({exc}): re-convert that article or remove its folder"
            ) from exc


def load_records(root: Path) -> list[EpisodeRecord]:
    """Every episode under the output root, newest first (then by slug, for stable order)."""
    if not root.is_dir():
        return []
    records = [EpisodeRecord.load(p.parent) for p in sorted(root.glob(f"*/{RECORD_NAME}"))]
    return sorted(records, key=lambda r: (r.published, r.slug), reverse=True)


def remove_episode(output: Path, slug: str) -> Path:
    folder = output / slug
    if "/" in slug or slug.startswith(".") or not (folder / RECORD_NAME).exists():
        raise InputError(f"no episode {slug!r} in {output}: `readaloud feed --list` shows the slugs")
    shutil.rmtree(folder)
    return folder
