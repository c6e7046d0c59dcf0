"""Episode records -> the RSS feed (and the plain cover it falls back on).

The RSS is built with ElementTree (never by string concatenation) in the
RSS 2.0 + itunes + podcast (Podcasting 2.0) + atom + content namespaces.
It is rebuilt from the episode records alone (episode.py), so `readaloud
feed` needs nothing but the output folder.
"""

from __future__ import annotations

import re
import struct
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from .episode import EpisodeRecord, SectionRecord, load_records
from .errors import FeedError
from .fsutil import exclusive, private_dir, write_bytes, write_text

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
FEED_NAME = "feed.xml"

# Apple Podcasts categories and their subcategories.
APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": (
        "Alternative Health",
        "Fitness",
        "Medicine",
        "Mental Health",
        "Nutrition",
        "Sexuality",
    ),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga",
        "Automotive",
        "Aviation",
        "Crafts",
        "Games",
        "Hobbies",
        "Home & Garden",
        "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News",
        "Daily News",
        "Entertainment News",
        "News Commentary",
        "Politics",
        "Sports News",
        "Tech News",
    ),
    "Religion & Spirituality": (
        "Buddhism",
        "Christianity",
        "Hinduism",
        "Islam",
        "Judaism",
        "Religion",
        "Spirituality",
    ),
    "Science": (
        "Astronomy",
        "Chemistry",
        "Earth Sciences",
        "Life Sciences",
        "Mathematics",
        "Natural Sciences",
        "Nature",
        "Physics",
        "Social Sciences",
    ),
    "Society & Culture": (
        "Documentary",
        "Personal Journals",
        "Philosophy",
        "Places & Travel",
        "Relationships",
    ),
    "Sports": (
        "Baseball",
        "Basketball",
        "Cricket",
        "Fantasy Sports",
        "Football",
        "Golf",
        "Hockey",
        "Rugby",
        "Running",
        "Soccer",
        "Swimming",
        "Tennis",
        "Volleyball",
        "Wilderness",
        "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}


def parse_category(value: str) -> tuple[str, str | None]:
    """'News/Daily News' -> ('News', 'Daily News'), checked against Apple's list."""
    main, _, sub = (part.strip() for part in value.partition("/"))
    if main not in APPLE_CATEGORIES:
        raise FeedError(f"category {value!r} is not one of Apple's: use e.g. 'News/Daily News'")
    if sub and sub not in APPLE_CATEGORIES[main]:
        allowed = ", ".join(APPLE_CATEGORIES[main]) or "none"
        raise FeedError(f"category {value!r}: {main} has subcategories {allowed}")
    return main, sub or None


# ---- the RSS feed ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedSettings:
    title: str = "readaloud"
    description: str = "Chinese news articles, read aloud."
    base_url: str = "https://example.com/podcast/"
    link: str | None = None
    author: str = "readaloud"
    owner_name: str = "readaloud"
    owner_email: str = "podcast@example.com"
    image: str | None = None  # file name inside the output root, or an absolute URL
    category: str = "News/Daily News"
    language: str = "zh-cn"
    explicit: bool = False
    locked: bool = False
    mode: str = "episodes"  # or "sections"


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FeedError(f"base_url {url!r} must be an http(s) address, e.g. https://example.com/podcast/")
    return url if url.endswith("/") else url + "/"


def podcast_guid(feed_url: str) -> str:
    """UUIDv5 of the feed URL without scheme and trailing slash (Podcasting 2.0)."""
    bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", feed_url, flags=re.I).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def url_for(base: str, *parts: str) -> str:
    return check_base_url(base) + "/".join(quote(p, safe="") for p in parts)


def _el(parent: ET.Element, tag: str, content: str | None = None, /, **attrs: str) -> ET.Element:
    """A child element; `content` is its text, keyword arguments its attributes."""
    prefix, _, local = tag.rpartition(":")
    name = f"{{{NS[prefix]}}}{local}" if prefix else tag
    node = ET.SubElement(parent, name, attrs)
    if content is not None:
        node.text = content
    return node


def _episode_description(record: EpisodeRecord) -> str:
    titles = [s.title for s in record.sections[1:]] if len(record.sections) > 1 else []
    listing = "\n".join(f"{i}. {t}" for i, t in enumerate(titles, start=1))
    return record.description + ("\n\n本期章节：\n" + listing if listing else "") + _voice_line(record)


def _voice_line(record: EpisodeRecord) -> str:
    """Listeners are told the voice is synthetic, and which engine and voice read it."""
    return f"\n\n合成语音朗读：{record.voice}（{record.engine}）"


def build_feed(
    records: Sequence[EpisodeRecord],
    settings: FeedSettings,
    *,
    now: datetime,
    pages: frozenset[str] = frozenset(),
) -> bytes:
    """The feed; `pages` names the episodes that have a listening page (their item links to it)."""
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    base = check_base_url(settings.base_url)
    feed_url = base + FEED_NAME
    main, sub = parse_category(settings.category)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _el(rss, "channel")
    _el(channel, "title", settings.title)
    _el(channel, "description", settings.description)
    _el(channel, "link", settings.link or base)
    _el(channel, "language", settings.language)
    _el(channel, "generator", "readaloud")
    _el(channel, "lastBuildDate", format_datetime(now))
    _el(channel, "atom:link", href=feed_url, rel="self", type="application/rss+xml")
    _el(channel, "itunes:author", settings.author)
    owner = _el(channel, "itunes:owner")
    _el(owner, "itunes:name", settings.owner_name)
    _el(owner, "itunes:email", settings.owner_email)
    if settings.image:
        image_url = settings.image if "://" in settings.image else url_for(base, settings.image)
        _el(channel, "itunes:image", href=image_url)
    category = _el(channel, "itunes:category", text=main)  # Apple reads the attribute
    if sub:
        _el(category, "itunes:category", text=sub)
    _el(channel, "itunes:explicit", "true" if settings.explicit else "false")
    # a sections feed is a series to hear in order; an episodes feed is newest first
    _el(channel, "itunes:type", "serial" if settings.mode == "sections" else "episodic")
    _el(channel, "podcast:guid", podcast_guid(feed_url))
    _el(channel, "podcast:locked", "yes" if settings.locked else "no", owner=settings.owner_email)
    _el(channel, "podcast:txt", "true", purpose="ai-content")

    for number, record in enumerate(records):
        if settings.mode == "sections":
            for section in record.sections:
                _section_item(channel, record, section, base, season=len(records) - number)
        else:
            _episode_item(channel, record, base, page=record.slug in pages)
    ET.indent(rss, space="  ")
    body: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def _item(
    channel: ET.Element,
    record: EpisodeRecord,
    base: str,
    *,
    title: str,
    guid: str,
    description: str,
    file: str,
    size: int,
    duration: float,
    published: datetime | None = None,
) -> ET.Element:
    """One <item> with what every episode needs: text, guid, date, enclosure, duration."""
    item = _el(channel, "item")
    _el(item, "title", title)
    _el(item, "description", description)
    _el(item, "content:encoded", "".join(f"<p>{_escape(p)}</p>" for p in description.split("\n") if p))
    _el(item, "guid", guid, isPermaLink="false")
    _el(item, "pubDate", format_datetime(published or datetime.fromisoformat(record.published)))
    _el(item, "itunes:author", record.credit or record.source or "readaloud")
    _el(item, "itunes:explicit", "false")
    _el(item, "enclosure", url=url_for(base, record.slug, file), length=str(size), type="audio/mpeg")
    _el(item, "itunes:duration", str(round(duration)))
    _el(item, "itunes:episodeType", "full")
    return item


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _episode_item(channel: ET.Element, record: EpisodeRecord, base: str, *, page: bool = False) -> None:
    item = _item(
        channel,
        record,
        base,
        title=record.title,
        guid=record.guid,
        description=_episode_description(record),
        file=record.audio,
        size=record.size,
        duration=record.duration,
    )
    if record.link or page:  # the article's own page, else its listening page ("open in browser")
        _el(item, "link", record.link or url_for(base, record.slug, "index.html"))
    _el(
        item,
        "podcast:chapters",
        url=url_for(base, record.slug, record.chapters),
        type="application/json+chapters",
    )
    for file, kind in ((record.transcript_vtt, "text/vtt"), (record.transcript_srt, "application/x-subrip")):
        _transcript(item, record, base, file, kind)


def _transcript(item: ET.Element, record: EpisodeRecord, base: str, file: str, kind: str) -> None:
    _el(
        item,
        "podcast:transcript",
        url=url_for(base, record.slug, file),
        type=kind,
        language=record.language.lower(),
        rel="captions",
    )


def _section_item(
    channel: ET.Element, record: EpisodeRecord, section: SectionRecord, base: str, *, season: int
) -> None:
    """One section as an item: its own text and transcript, dated a second after the one before it,
    so apps that sort by date keep reading order; the item links to the whole episode."""
    item = _item(
        channel,
        record,
        base,
        title=record.title if section.index == 0 else f"{record.title}：{section.title}",
        guid=f"{record.guid}#s{section.index}",
        description=(section.opening or record.description) + _voice_line(record),
        file=section.file,
        size=section.size,
        duration=section.duration,
        published=datetime.fromisoformat(record.published) + timedelta(seconds=section.index),
    )
    _el(item, "link", record.link or url_for(base, record.slug, record.audio))
    _el(item, "itunes:season", str(season))  # one article, one season: numbers never collide
    _el(item, "itunes:episode", str(section.index + 1))
    if section.transcript:
        _transcript(item, record, base, section.transcript, "text/vtt")


DEFAULT_COVER = "cover.png"


def plain_cover(size: int = 1400, rgb: tuple[int, int, int] = (0x1F, 0x4E, 0x79)) -> bytes:
    """A solid square PNG: Apple requires some artwork, and this one needs no download."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size, 9))
        + chunk(b"IEND", b"")
    )


def write_feed(root: Path, settings: FeedSettings, *, now: datetime) -> Path:
    """Rebuild OUTPUT/feed.xml from the episode records, atomically.

    With no image configured, a plain generated cover.png is used so the feed
    still carries the artwork Apple Podcasts requires.
    """
    if settings.image is None:
        cover = root / DEFAULT_COVER
        if not cover.exists():
            write_bytes(cover, plain_cover())
        settings = replace(settings, image=DEFAULT_COVER)
    target = root / FEED_NAME
    # Runs converting into the same folder each rebuild the feed when done. Reading the records
    # and writing the feed under one lock means the last run to finish sees every episode.
    with exclusive(private_dir(root) / LOCK_NAME):
        records = load_records(root)
        pages = frozenset(r.slug for r in records if (root / r.slug / "index.html").is_file())
        write_text(target, build_feed(records, settings, now=now, pages=pages).decode("utf-8"))
    return target


LOCK_NAME = "feed.lock"
