"""Output folder -> list of problems a listener or a podcast directory would hit (empty = fine)."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import audio
from .episode import RECORD_NAME, EpisodeRecord, load_records
from .errors import ReadaloudError
from .feed import FEED_NAME, NS, FeedSettings
from .mp3 import read_layout
from .publish import NCC, episode_targets
from .transcript import read_cue_times

DURATION_TOLERANCE = 0.1  # seconds
LOUDNESS_TOLERANCE = 1.0  # LU
CHAPTER_TOLERANCE = 0.05  # about two MP3 frames


def check_output(path: Path, *, feed: FeedSettings | None = None) -> list[str]:
    """Check one episode folder, or an output root with all its episodes and feed.xml."""
    if not path.is_dir():
        return [f"{path} is not a folder"]
    if (path / RECORD_NAME).exists():
        return check_episode(path)
    problems: list[str] = []
    try:
        records = load_records(path)
    except ReadaloudError as exc:
        return [str(exc)]
    if not records:
        return [f"{path} holds no episodes: run `readaloud convert` first"]
    for record in records:
        problems += check_episode(path / record.slug)
    feed_path = path / FEED_NAME
    if feed_path.exists():
        problems += check_feed(feed_path, path)
    else:
        problems.append(f"{FEED_NAME} is missing: run `readaloud feed`")
    return problems


def check_episode(folder: Path, *, decode: bool = True) -> list[str]:
    """Everything a listener or app would trip over in one episode folder.

    decode=False (the gate before publishing) reads frames, tags and texts but leaves out
    decoding each MP3 with ffmpeg to measure it; the loudness was measured in-process on
    what went into the encoder and is in the record.
    """
    try:
        record = EpisodeRecord.load(folder)
    except ReadaloudError as exc:
        return [str(exc)]
    problems: list[str] = []
    name = record.slug
    missing = [f for f in record.files() if not (folder / f).is_file()]
    if missing:
        return [f"{name}: missing {', '.join(missing)}"]

    def measure(file: str, duration: float) -> None:
        try:
            shape = read_layout(folder / file)
        except ReadaloudError as exc:
            problems.append(f"{name}/{file}: {exc}")
            return
        if shape.trailing:
            problems.append(f"{name}/{file}: {shape.trailing} bytes after the last MP3 frame")
        if abs(shape.duration - duration) > DURATION_TOLERANCE:
            problems.append(
                f"{name}/{file}: its frames hold {shape.duration:.2f} s but the record says {duration:.2f} s"
            )
        if not decode:
            return
        try:
            played, level = audio.measure(folder / file)
        except ReadaloudError as exc:
            problems.append(f"{name}/{file}: {exc}")
            return
        if abs(played - duration) > DURATION_TOLERANCE:
            problems.append(f"{name}/{file}: plays {played:.2f} s but the record says {duration:.2f} s")
        if abs(level.integrated - audio.TARGET_LUFS) > LOUDNESS_TOLERANCE:
            problems.append(f"{name}/{file}: loudness {level.integrated} LUFS, target {audio.TARGET_LUFS}±1")
        if level.true_peak > audio.TARGET_TRUE_PEAK:
            problems.append(f"{name}/{file}: true peak {level.true_peak} dBTP above {audio.TARGET_TRUE_PEAK}")

    measure(record.audio, record.duration)
    for section in record.sections:
        measure(section.file, section.duration)
        if section.loudness is not None and abs(section.loudness - audio.TARGET_LUFS) > LOUDNESS_TOLERANCE:
            problems.append(f"{name}/{section.file}: levelled to {section.loudness} LUFS, not the target")
    if (folder / record.audio).stat().st_size != record.size:
        problems.append(f"{name}: {record.audio} size differs from the record (feed enclosure length)")

    try:
        chapters = audio.read_chapters(folder / record.audio)
        stored = audio.stored_chapter_starts(folder / record.audio)
    except ReadaloudError as exc:
        return [*problems, f"{name}: {exc}"]
    if stored != sorted(stored):
        problems.append(f"{name}: ID3 chapter frames are stored out of time order (players list them so)")
    if len(chapters) != len(record.sections):
        problems.append(f"{name}: {len(chapters)} ID3 chapters for {len(record.sections)} sections")
    for chapter, section in zip(chapters, record.sections, strict=False):
        if abs(chapter.start - section.start) > CHAPTER_TOLERANCE:
            problems.append(
                f"{name}: chapter {chapter.title!r} starts at {chapter.start}, section at {section.start}"
            )
    starts = [c.start for c in chapters]
    if starts != sorted(starts) or any(c.end > record.duration + CHAPTER_TOLERANCE for c in chapters):
        problems.append(f"{name}: chapters stored out of time order or past the end")

    try:
        doc = json.loads((folder / record.chapters).read_text(encoding="utf-8"))
        json_starts = [c["startTime"] for c in doc["chapters"]]
        if doc.get("version") != "1.2.0" or json_starts != sorted(json_starts):
            problems.append(f"{name}: chapters JSON is not version 1.2.0 in ascending order")
        if any(c["endTime"] > record.duration + CHAPTER_TOLERANCE for c in doc["chapters"]):
            problems.append(f"{name}: a JSON chapter ends after the audio")
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"{name}: chapters JSON unreadable ({exc})")

    for transcript in (record.transcript_vtt, record.transcript_srt):
        times = read_cue_times((folder / transcript).read_text(encoding="utf-8"))
        if not times:
            problems.append(f"{name}/{transcript}: no cues")
        elif any(s > e or e > record.duration + DURATION_TOLERANCE for s, e in times):
            problems.append(f"{name}/{transcript}: a cue is reversed or runs past the audio")
        elif [s for s, _ in times] != sorted(s for s, _ in times):
            problems.append(f"{name}/{transcript}: cues out of order")
    books = episode_targets(folder, record)
    if (books["daisy"] / NCC).exists():
        problems += [f"{name}/{books['daisy'].name}: {p}" for p in check_daisy(books["daisy"], record)]
    if books["epub"].exists():
        problems += [f"{name}/{books['epub'].name}: {p}" for p in check_epub(books["epub"])]
    return problems


_XHTML = "{http://www.w3.org/1999/xhtml}"


def check_daisy(book: Path, record: EpisodeRecord) -> list[str]:
    """What a DAISY player trips over: a navigation link, text reference or audio file that is not
    there, clips out of order, with gaps, or past the end of their MP3."""
    try:
        ncc = ET.parse(book / NCC).getroot()
        content = ET.parse(book / "content.html").getroot()
    except (OSError, ET.ParseError) as exc:
        return [f"unreadable ({exc}): convert again with --format daisy"]
    ids = {e.get("id") for e in content.iter() if e.get("id")}
    durations = {s.file: s.duration for s in record.sections}
    problems: list[str] = []
    smil_ids: dict[str, set[str | None]] = {}
    for link in ncc.iter(f"{_XHTML}a"):
        file, _, anchor = link.get("href", "").partition("#")
        if file not in smil_ids:
            try:
                smil_ids[file] = {e.get("id") for e in ET.parse(book / file).getroot().iter()}
            except (OSError, ET.ParseError):
                smil_ids[file] = set()
        if anchor not in smil_ids[file]:
            problems.append(f"{NCC} links to {file}#{anchor}, which is not there")
    for smil in sorted(book.glob("*.smil")):
        if smil.name == "master.smil":
            continue
        clips = []
        for par in ET.parse(smil).getroot().iter("par"):
            text = par.find("text")
            if text is None or text.get("src", "").partition("#")[2] not in ids:
                problems.append(f"{smil.name}: a text reference does not resolve in content.html")
            for clip in par.iter("audio"):
                begin = float(clip.get("clip-begin", "npt=0s")[4:-1])
                end = float(clip.get("clip-end", "npt=0s")[4:-1])
                clips.append((clip.get("src", ""), begin, end))
        for src, begin, end in clips:
            if src not in durations or not (book / src).is_file():
                problems.append(f"{smil.name}: audio {src} is missing")
            elif end > durations[src] + CHAPTER_TOLERANCE or begin >= end:
                problems.append(f"{smil.name}: clip {begin}-{end} s lies outside {src}")
        if any(abs(a[2] - b[1]) > 0.001 for a, b in itertools.pairwise(clips)):
            problems.append(f"{smil.name}: clips leave gaps or overlap")
    return problems


def check_epub(path: Path) -> list[str]:
    """The container rules every reading system relies on, and a manifest that matches the files."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if names[:1] != ["mimetype"] or zf.read("mimetype") != b"application/epub+zip":
                return ["mimetype is not the first, uncompressed entry"]
            package = ET.fromstring(zf.read("EPUB/package.opf"))
    except (OSError, KeyError, zipfile.BadZipFile, ET.ParseError) as exc:
        return [f"unreadable ({exc}): convert again with --format epub"]
    opf = "{http://www.idpf.org/2007/opf}"
    return [
        f"the manifest lists {item.get('href')}, which is not in the file"
        for item in package.iter(f"{opf}item")
        if f"EPUB/{item.get('href')}" not in names
    ]


_REQUIRED_CHANNEL = (
    "title",
    "description",
    "language",
    "itunes:image",
    "itunes:category",
    "itunes:explicit",
    "itunes:author",
    "itunes:owner",
    "podcast:guid",
    "atom:link",
)


def check_feed(feed_path: Path, root: Path) -> list[str]:
    """Apple's required tags, enclosures that match files, links that resolve inside root."""
    problems: list[str] = []
    try:
        tree = ET.parse(feed_path)
    except ET.ParseError as exc:
        return [f"{FEED_NAME} is not well-formed XML ({exc})"]
    channel = tree.getroot().find("channel")
    if channel is None:
        return [f"{FEED_NAME} has no <channel>"]

    def q(tag: str) -> str:
        prefix, _, local = tag.rpartition(":")
        return f"{{{NS[prefix]}}}{local}" if prefix else tag

    for tag in _REQUIRED_CHANNEL:
        if channel.find(q(tag)) is None:
            problems.append(f"{FEED_NAME}: channel lacks <{tag}> (Apple Podcasts requires it)")
    self_link = channel.find(q("atom:link"))
    base = self_link.get("href", "").rsplit("/", 1)[0] + "/" if self_link is not None else ""
    for item in channel.findall("item"):
        title = item.findtext("title", "?")
        enclosure = item.find("enclosure")
        if item.find("guid") is None or enclosure is None:
            problems.append(f"{FEED_NAME}: item {title!r} lacks a guid or an enclosure")
            continue
        for node in [enclosure, *item.findall(q("podcast:chapters")), *item.findall(q("podcast:transcript"))]:
            url = node.get("url", "")
            local = root / unquote(urlsplit(url).path.rsplit("/", 2)[-2]) / unquote(url.rsplit("/", 1)[-1])
            if not url.startswith(base) or not local.is_file():
                problems.append(f"{FEED_NAME}: {url} does not point to a file in {root}")
            elif node is enclosure and str(local.stat().st_size) != enclosure.get("length"):
                problems.append(f"{FEED_NAME}: enclosure length of {title!r} differs from the file size")
    return problems
