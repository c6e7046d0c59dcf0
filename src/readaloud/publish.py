"""Episode records -> the formats a publisher asked for besides the podcast episode itself.

podcast  the episode folder's MP3s, chapters and transcripts, and feed.xml (always made; the
         feed is rebuilt when "podcast" is among the formats)
daisy    <slug>/daisy/: a DAISY 2.02 talking book
epub     <slug>/<slug>.epub: EPUB 3 with Media Overlays
web      index.html and <slug>/index.html: listening pages (web.py), rebuilt with the feed

Each is made from the record and the section MP3s alone, so it can be made again
at any time without synthesis, and is only rewritten when the episode changed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .episode import RECORD_NAME, EpisodeRecord
from .feed import FeedSettings

if TYPE_CHECKING:
    from .talkingbook import Book

FORMATS = ("podcast", "daisy", "epub", "web")
EDITION_FORMATS = ("daisy", "epub")
DAISY_DIR = "daisy"
NCC = "ncc.html"  # a DAISY book's entry point, what players open
EDITIONS_DIR = "editions"


def episode_targets(folder: Path, record: EpisodeRecord) -> dict[str, Path]:
    """Where an episode's talking books are: format -> path."""
    return {"daisy": folder / DAISY_DIR, "epub": folder / f"{record.slug}.epub"}


def edition_targets(output: Path, date: str) -> dict[str, Path]:
    """Where a daily edition's books are: format -> path."""
    folder = output / EDITIONS_DIR / date
    return {"daisy": folder / DAISY_DIR, "epub": folder / f"edition-{date}.epub"}


def shared_formats(formats: tuple[str, ...]) -> tuple[str, ...]:
    """What `feed` and `remove` rebuild: always the feed, and the pages when web is configured."""
    return tuple(dict.fromkeys(("podcast", *formats)))


def write_episode_formats(
    folder: Path, record: EpisodeRecord, formats: tuple[str, ...], feed: FeedSettings, *, force: bool = False
) -> list[Path]:
    """The talking books of one episode that are missing or older than its record; what was written."""
    from .fsutil import sweep_parts
    from .talkingbook import episode_book

    sweep_parts(folder)  # a book half-built by a run that was killed
    made = (folder / RECORD_NAME).stat().st_mtime
    wanted = [
        (name, target)
        for name, target in episode_targets(folder, record).items()
        if name in formats and (force or not target.exists() or target.stat().st_mtime < made)
    ]
    if not wanted:
        return []
    book = episode_book(folder, record, publisher=feed.title, author=feed.author)
    return [_write(name, book, target) for name, target in wanted]


def write_edition(
    output: Path, date: str, formats: tuple[str, ...], feed: FeedSettings, records: list[EpisodeRecord]
) -> list[Path]:
    """One day's episodes as one book per format, under OUTPUT/editions/DATE/."""
    from .talkingbook import edition_book

    book = edition_book(output, records, date, publisher=feed.title, author=feed.author)
    targets = edition_targets(output, date)
    return [_write(name, book, targets[name]) for name in formats]


def _write(name: str, book: Book, target: Path) -> Path:
    if name == "daisy":
        from .daisy import write_daisy

        write_daisy(book, target)
    else:
        from .epub import write_epub

        write_epub(book, target)
    return target


def write_shared(root: Path, formats: tuple[str, ...], feed: FeedSettings, *, now: datetime) -> list[Path]:
    """What is made from all the episodes together: feed.xml, the listening pages."""
    from .feed import write_feed

    written = []
    if "web" in formats:  # first: the feed links each item to its page
        from .web import write_site

        written += write_site(root, feed)
    if "podcast" in formats:
        written.append(write_feed(root, feed, now=now))
    return written
