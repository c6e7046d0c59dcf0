"""Article file -> episode folder (MP3s, chapters, transcripts, episode.json); what the CLI calls."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from . import audio
from .clean import clean
from .engines.base import Engine
from .episode import RECORD_NAME, EpisodeRecord, SectionRecord
from .errors import EngineError, InputError, OutputError, ReadaloudError
from .feed import FeedSettings
from .fsutil import write_text
from .load import load_article
from .model import Article, Cue, Section, SpokenChunk, Voice
from .segment import segment
from .slug import slugify, unique_slugs
from .speech import plan_for
from .synthesize import Cache, ChunkAudio, RetryPolicy, Stats, render_all
from .transcript import caption_cues, chapters_json, layout, srt, timed_pieces, webvtt

CACHE_DIR = ".cache"
HEADING_PAUSE = 0.6
CLAUSE_PAUSE = 0.15
PRODUCED_SUFFIXES = (".mp3", ".json", ".vtt", ".srt", ".txt")


@dataclass(frozen=True)
class ConvertOptions:
    output: Path
    audio: audio.AudioSettings = audio.AudioSettings()
    feed: FeedSettings = FeedSettings()
    announce: bool = True
    lexicon: Mapping[str, str] = field(default_factory=dict)
    concurrency: int = 4
    retry: RetryPolicy = RetryPolicy()
    cover: Path | None = None


def prepare(path: Path) -> Article:
    """Stages 1-3: load, clean, segment."""
    article = segment(clean(load_article(path)))
    if not article.title or not any(s.sentences for s in article.sections):
        raise InputError(f"{path} has no article text left after cleaning: is it the right file?")
    return article


def article_identity(article: Article) -> str:
    """What makes an article itself wherever its file lives: title, credit and opening words."""
    opening = "".join(s.text for s in article.sections[0].sentences)[:80] if article.sections else ""
    key = "\n".join([article.title, article.credit or "", opening])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def article_slug(article: Article, identity: str, path: Path, output: Path) -> str:
    """The episode folder: the title's slug, unless another article has it (then a short hash is added).

    An episode is the same article when its identity matches, or when it came from the same
    file (an edited article updates its episode); moving or renaming the file keeps the folder.
    """
    slug = slugify(article.title)
    existing = output / slug / RECORD_NAME
    if existing.exists():
        try:
            record = EpisodeRecord.load(existing.parent)
        except ReadaloudError:
            return slug
        if identity != record.identity and str(path.resolve()) != record.input_path:
            slug = f"{slug}-{identity[:6]}"
    return slug


def convert(
    path: Path,
    *,
    engine: Engine,
    voice: Voice,
    options: ConvertOptions,
    now: datetime,
    stats: Stats | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_chunk: Callable[[ChunkAudio], None] | None = None,
) -> EpisodeRecord:
    """Convert one article into an episode folder under options.output.

    1. load the file and decode it (load.py)
    2. clean away pinyin, chrome, junk and repeated titles (clean.py)
    3. segment into title, credit, lead and sections of sentences (segment.py)
    4. plan engine chunks in spoken form (speech.py)
    5. synthesize every chunk, concurrently, retried, cached (synthesize.py)
    6. assemble each section as it completes: PCM on disk, loudness, MP3 (audio.py)
    7. assemble the chaptered episode, chapters JSON, VTT, SRT and text
    8. write episode.json, the record the feed is built from (feed.py)
    """
    article = prepare(path)  # 1-3
    chunks = plan_for(article, engine, lexicon=options.lexicon, announce=options.announce)  # 4
    if on_plan is not None:
        on_plan(len(chunks))
    identity = article_identity(article)
    slug = article_slug(article, identity, path, options.output)
    folder = options.output / slug
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {folder} ({exc.strerror}): choose another --output folder") from exc
    counters = stats or Stats()
    futures = render_all(  # 5
        chunks,
        engine=engine,
        voice=voice,
        cache=Cache(options.output / CACHE_DIR),
        concurrency=options.concurrency,
        retry=options.retry,
        stats=counters,
        on_done=on_chunk,
    )
    try:
        with tempfile.TemporaryDirectory(prefix=".work-", dir=options.output) as work:
            return _assemble(
                article,
                identity,
                path,
                slug,
                folder,
                Path(work),
                chunks,
                futures,
                engine=engine,
                voice=voice,
                options=options,
                now=now,
            )
    except BaseException:
        for f in futures:
            f.cancel()
        raise


def _assemble(
    article: Article,
    identity: str,
    path: Path,
    slug: str,
    folder: Path,
    work: Path,
    chunks: list[SpokenChunk],
    futures: list[Future[ChunkAudio]],
    *,
    engine: Engine,
    voice: Voice,
    options: ConvertOptions,
    now: datetime,
) -> EpisodeRecord:
    settings = options.audio
    titles = [article.title if s.heading is None else s.heading for s in article.sections]
    names = [f"{i + 1:02d}-{s}.mp3" for i, s in enumerate(unique_slugs(titles))]
    previous = _previous_record(folder)
    published = previous.published if previous else now.isoformat()
    tags = audio.Tags(
        title=article.title,
        artist=article.credit or article.source or options.feed.author,
        album=options.feed.title,
        date=published[:10],
        language="chi",
        comment=article.source or path.name,
        engine=engine.name,
        voice=voice.voice,
        cover=options.cover,
    )
    pcm_files: list[Path] = []
    section_cues: list[list[Cue]] = []
    durations: list[float] = []
    failures: list[str] = []
    total = len(article.sections)

    for n, section in enumerate(article.sections):  # 6
        mine = [(c, f) for c, f in zip(chunks, futures, strict=True) if c.section == section.index]
        done: list[ChunkAudio] = []
        for _chunk, fut in mine:
            try:
                done.append(fut.result())
            except EngineError as exc:
                where = section.heading or "lead"
                failures.append(f"{path.name}: section {n + 1} ({where}): {exc}")
                break
        if len(done) < len(mine):
            continue
        pcm = work / f"{n:03d}.pcm"
        cues = _write_section_pcm(done, pcm, settings)
        seconds = audio.encode(
            [pcm],
            folder / names[n],
            settings,
            replace(
                tags,
                title=f"{article.title} — {titles[n]}" if n else article.title,
                track=f"{n + 1}/{total}",
            ),
        )
        pcm_files.append(pcm)
        section_cues.append(cues)
        durations.append(seconds)
    if failures:
        kept = len(durations)
        raise EngineError(
            f"{failures[0]}; {kept} of {total} sections finished and kept;"
            " run the same command again to resume"
        )

    # 7: the episode is the sections with a pause between them
    gap = work / "gap.pcm"
    gap.write_bytes(audio.silence(settings.section_pause, settings.sample_rate))
    chapters, starts = layout(durations, settings.section_pause, titles)
    order = [part for i, pcm in enumerate(pcm_files) for part in ([gap, pcm] if i else [pcm])]
    total_seconds = chapters[-1].end
    episode_name = f"{slug}.mp3"
    audio.encode(
        order,
        folder / episode_name,
        settings,
        tags,
        chapters,
    )
    cues = [
        Cue(c.start + starts[i], c.end + starts[i], c.text) for i, sc in enumerate(section_cues) for c in sc
    ]
    write_text(folder / f"{slug}.chapters.json", chapters_json(chapters))
    write_text(folder / f"{slug}.vtt", webvtt(cues))
    write_text(folder / f"{slug}.srt", srt(cues))
    write_text(folder / f"{slug}.txt", article_text(article))
    section_vtts = [name.removesuffix(".mp3") + ".vtt" for name in names]
    for name, own in zip(section_vtts, section_cues, strict=True):
        write_text(folder / name, webvtt(own))  # times within the section's own MP3

    lead = (
        " ".join(s.text for s in article.sections[0].sentences) if article.sections[0].heading is None else ""
    )
    record = EpisodeRecord(  # 8
        slug=slug,
        guid=previous.guid if previous else f"readaloud:{slug}:{identity[:12]}",
        title=article.title,
        description=lead or article.title,
        credit=article.credit,
        source=article.source,
        input_path=str(path.resolve()),
        language=voice.language,
        published=published,
        updated=now.isoformat(),
        duration=round(total_seconds, 3),
        audio=episode_name,
        size=(folder / episode_name).stat().st_size,
        chapters=f"{slug}.chapters.json",
        transcript_vtt=f"{slug}.vtt",
        transcript_srt=f"{slug}.srt",
        text=f"{slug}.txt",
        engine=engine.name,
        voice=voice.voice,
        sections=tuple(
            SectionRecord(
                i,
                titles[i],
                names[i],
                round(durations[i], 3),
                (folder / names[i]).stat().st_size,
                round(starts[i], 3),
                opening=opening(article.sections[i]),
                transcript=section_vtts[i],
            )
            for i in range(total)
        ),
        identity=identity,
    )
    record.save(folder)
    _remove_stale(
        folder,
        keep={
            *names,
            *section_vtts,
            episode_name,
            RECORD_NAME,
            record.chapters,
            record.transcript_vtt,
            record.transcript_srt,
            record.text,
        },
    )
    return record


def _write_section_pcm(done: list[ChunkAudio], pcm: Path, settings: audio.AudioSettings) -> list[Cue]:
    """Join a section's chunks with pauses; caption cues from each chunk's real place in the audio."""
    writer = audio.PcmWriter(pcm, settings.sample_rate)
    groups: list[list[Cue]] = []  # one per sentence or announcement: its chunks, timed
    try:
        for i, item in enumerate(done):
            start = writer.add_chunk(item.path)
            pieces = timed_pieces(item.chunk.written, item.boundaries, start, item.duration)
            key = (item.chunk.kind, item.chunk.sentence)
            prev = done[i - 1].chunk if i else None
            if prev is not None and (prev.kind, prev.sentence) == key and key[1] >= 0:
                if item.chunk.written:
                    groups[-1].extend(pieces)
                else:  # the rest of a piece whose spoken form needed two requests
                    last = groups[-1][-1]
                    groups[-1][-1] = Cue(last.start, pieces[-1].end, last.text)
            else:
                groups.append(pieces)
            if i + 1 < len(done):
                pause = _pause_after(item.chunk, done[i + 1].chunk, settings)
                writer.write(audio.silence(pause, settings.sample_rate))
    finally:
        writer.close()
    return caption_cues(groups)


def _pause_after(chunk: SpokenChunk, following: SpokenChunk, settings: audio.AudioSettings) -> float:
    """A breath inside a sentence cut into chunks, a pause between sentences, more after a heading."""
    if chunk.kind in ("title", "heading"):
        return HEADING_PAUSE
    if (following.kind, following.sentence) == (chunk.kind, chunk.sentence) and chunk.sentence >= 0:
        return CLAUSE_PAUSE
    return settings.sentence_pause


def opening(section: Section, *, limit: int = 120) -> str:
    """The first sentences of a section, up to about `limit` characters: its feed description."""
    text = ""
    for sentence in section.sentences:
        if text and len(text) + len(sentence.text) > limit:
            break
        text += sentence.text
    return text


def article_text(article: Article) -> str:
    parts = [article.title, ""]
    for section in article.sections:
        if section.heading:
            parts += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            parts += ["".join(s.text for s in paragraph), ""]
    if article.credit:
        parts.append(article.credit)
    return "\n".join(parts).rstrip() + "\n"


def _previous_record(folder: Path) -> EpisodeRecord | None:
    if not (folder / RECORD_NAME).exists():
        return None
    try:
        return EpisodeRecord.load(folder)
    except ReadaloudError:
        return None


def _remove_stale(folder: Path, *, keep: set[str]) -> None:
    """Files of an earlier conversion whose sections no longer exist, and temp files of a killed run."""
    for item in folder.iterdir():
        produced = item.suffix in PRODUCED_SUFFIXES and item.name not in keep
        orphan = item.name.startswith(".") and item.suffix == ".part"
        if item.is_file() and (produced or orphan):
            item.unlink()
