"""Article file -> episode folder (MP3s, chapters, transcripts, episode.json); what the CLI calls."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

from . import audio
from .check import check_episode
from .clean import clean
from .engines.base import Engine
from .episode import CACHE_DIR, RECORD_NAME, EpisodeRecord, SectionRecord, TimedText
from .errors import EngineError, InputError, OutputError, ReadaloudError
from .feed import FeedSettings
from .fsutil import pid_alive, private_dir, sweep_parts, write_text
from .load import load_document
from .model import Article, Cue, Section, SpokenChunk, Voice
from .segment import segment
from .slug import slugify, unique_slugs
from .speech import plan_for
from .synthesize import Cache, ChunkAudio, RetryPolicy, Stats, cache_key, engine_tag, render_all
from .transcript import caption_cues, chapters_json, srt, timed_pieces, webvtt
from .transcript import warm as warm_captions

WORK_PREFIX = ".work-"
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
    force: bool = False  # redo articles whose file and settings have not changed
    # where synthesized chunks are kept; None keeps them in OUTPUT/.cache (the CLI passes the
    # user cache folder, so the output folder holds only what gets published)
    cache_dir: Path | None = None


def prepare(path: Path, *, url: str | None = None) -> Article:
    """Stages 1-3: load, clean, segment. A web page's own title, author, date and address win."""
    page = load_document(path, url=url)
    article = segment(clean(page.text))
    if not article.title or not any(s.sentences for s in article.sections):
        raise InputError(f"{url or path} has no article text left after cleaning: is it the right page?")
    return replace(
        article,
        title=page.title or article.title,
        credit=article.credit or page.credit,
        date=page.date,
        url=page.url or url,
    )


def article_identity(article: Article) -> str:
    """What makes an article itself wherever its file lives: its canonical address when it has one
    (a re-fetch of the page updates the same episode), else its title, credit and opening words."""
    if article.url:
        return hashlib.sha256(article.url.encode("utf-8")).hexdigest()[:16]
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


RECIPE_VERSION = 6  # bump when the same inputs would now give different files


def recipe(data: bytes, *parts: object) -> str:
    """A hash of everything an output is made from."""
    digest = hashlib.sha256(data)
    digest.update(json.dumps([RECIPE_VERSION, *parts], ensure_ascii=False, default=str).encode("utf-8"))
    return digest.hexdigest()[:24]


def article_recipe(
    path: Path, engine: Engine, voice: Voice, options: ConvertOptions, url: str | None = None
) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""  # load_article reports it properly
    return recipe(
        data,
        engine_tag(engine),  # a new engine revision sounds different: the article is made again
        asdict(voice),
        asdict(options.audio),
        options.announce,
        sorted(options.lexicon.items()),
        options.feed.title,
        options.feed.author,
        _digest(options.cover),
        url,
    )


def _digest(path: Path | None) -> str | None:
    """What a file holds, for a recipe (the cover is embedded in every MP3)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def unchanged(path: Path, output: Path, article_recipe: str) -> EpisodeRecord | None:
    """The episode already made from this very file with these very settings, if it is intact."""
    if not article_recipe:
        return None
    where = str(path.resolve())
    for folder in output.glob(f"*/{RECORD_NAME}"):
        try:
            record = EpisodeRecord.load(folder.parent)
        except ReadaloudError:
            continue
        if record.input_path != where or record.recipe != article_recipe:
            continue
        sizes = [(record.audio, record.size), *((s.file, s.size) for s in record.sections)]
        intact = all(_size(folder.parent / f) == n for f, n in sizes) and all(
            (folder.parent / f).is_file() for f in record.files()
        )
        return record if intact else None
    return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


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
    url: str | None = None,
) -> EpisodeRecord:
    """Convert one article into an episode folder under options.output (url: where the file was
    fetched from, for a page that names no canonical address of its own).

    0. skip it when its file and every setting are as they were for its existing episode
    1. load the file and decode it (load.py)
    2. clean away pinyin, chrome, junk and repeated titles (clean.py)
    3. segment into title, credit, lead and sections of sentences (segment.py)
    4. plan engine chunks in spoken form (speech.py)
    5. synthesize every chunk, concurrently, retried, cached (synthesize.py)
    6. assemble each section as it completes: PCM, loudness and limiting in-process, one
       encode per section MP3 (audio.py), in parallel; an unchanged section keeps its MP3
    7. join the section MP3s into the chaptered episode (mp3.py); chapters JSON, VTT, SRT, text
    8. check the new episode like `readaloud check` does; only a sound one is published:
       its files replace the old ones, episode.json (what the feed is built from) last
    """
    made_from = article_recipe(path, engine, voice, options, url)
    if not options.force:
        same = unchanged(path, options.output, made_from)  # 0
        if same is not None:
            if on_plan is not None:
                on_plan(0)
            counters_skip = stats or Stats()
            counters_skip.add(skipped=1)
            return same
    article = prepare(path, url=url)  # 1-3
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
        cache=_cache(options),
        concurrency=options.concurrency,
        retry=options.retry,
        stats=counters,
        on_done=on_chunk,
    )
    _warm()  # the main thread would only wait for the first chunks meanwhile
    private = private_dir(options.output)
    _remove_dead_work(private)
    sweep_parts(options.cache_dir or options.output / CACHE_DIR, pattern="*/.*.part")
    sweep_parts(folder)
    try:
        with tempfile.TemporaryDirectory(prefix=f"{WORK_PREFIX}{os.getpid()}-", dir=private) as work:
            staged = Path(work) / "episode"
            staged.mkdir()
            record = _assemble(
                url,
                article,
                identity,
                made_from,
                path,
                slug,
                folder,
                Path(work),
                staged,
                chunks,
                futures,
                engine=engine,
                voice=voice,
                options=options,
                now=now,
                stats=counters,
            )
            problems = check_episode(staged, decode=False)  # 8
            if problems:
                raise OutputError(
                    f"{path.name}: the new episode failed a check ({problems[0]}); nothing was published"
                )
            _publish(staged, folder, record)
            return record
    except BaseException:
        for f in futures:
            f.cancel()
        raise


def _assemble(
    origin: str | None,
    article: Article,
    identity: str,
    made_from: str,
    path: Path,
    slug: str,
    folder: Path,
    work: Path,
    staged: Path,
    chunks: list[SpokenChunk],
    futures: list[Future[ChunkAudio]],
    *,
    engine: Engine,
    voice: Voice,
    options: ConvertOptions,
    now: datetime,
    stats: Stats,
) -> EpisodeRecord:
    settings = options.audio
    titles = [article.title if s.heading is None else s.heading for s in article.sections]
    names = [f"{i + 1:02d}-{s}.mp3" for i, s in enumerate(unique_slugs(titles))]
    previous = _previous_record(folder)
    published = previous.published if previous else (article.date or now.isoformat())
    kept = {s.file: s for s in previous.sections} if previous else {}
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
    total = len(article.sections)
    cover = _digest(options.cover)
    section_cues: list[list[Cue]] = []
    section_spans: list[_Spans] = []
    made: list[Future[_Made]] = []
    failures: list[str] = []
    # one more encoder than cores: a section that finishes synthesis late need not queue behind two
    encoder = ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) + 1, thread_name_prefix="encode")
    try:
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
            if failures:
                break
            pcm = work / f"{n:03d}.pcm"
            cues, spans, rate = _write_section_pcm(done, pcm, settings)
            section_cues.append(cues)
            section_spans.append(spans)
            section_tags = replace(
                tags,
                title=f"{article.title} — {titles[n]}" if n else article.title,
                track=f"{n + 1}/{total}",
            )
            tail = settings.section_pause if n + 1 < total else 0.0
            keys = [cache_key(engine_tag(engine), voice, c.chunk.spoken) for c in done]
            mine_recipe = recipe(b"", keys, asdict(settings), tail, asdict(section_tags), cover)
            old = kept.get(names[n])
            if old is not None and old.recipe == mine_recipe and _size(folder / names[n]) == old.size:
                _link_or_copy(folder / names[n], staged / names[n])  # unchanged: no encode
                reused: Future[_Made] = Future()
                reused.set_result(_Made(old.duration, old.loudness, mine_recipe, encoded=False))
                made.append(reused)
                continue
            target = staged / names[n]
            made.append(
                encoder.submit(_encode_section, pcm, rate, target, settings, section_tags, tail, mine_recipe)
            )
        if failures:
            finished = sum(1 for f in futures if f.done() and not f.cancelled() and f.exception() is None)
            raise EngineError(
                f"{failures[0]}; {finished} of {len(chunks)} chunks are cached;"
                " run the same command again to resume"
            )
        results = [f.result() for f in made]
    finally:
        encoder.shutdown(wait=True, cancel_futures=True)
    stats.add(encodes=sum(r.encoded for r in results))

    # 7: the episode is the section files joined, each with the pause after it
    episode_name = f"{slug}.mp3"
    chapters = audio.join_episode([staged / n for n in names], staged / episode_name, tags, titles)
    starts = [c.start for c in chapters]
    cues = [
        Cue(c.start + starts[i], c.end + starts[i], c.text) for i, sc in enumerate(section_cues) for c in sc
    ]
    write_text(staged / f"{slug}.chapters.json", chapters_json(chapters))
    write_text(staged / f"{slug}.vtt", webvtt(cues))
    write_text(staged / f"{slug}.srt", srt(cues))
    write_text(staged / f"{slug}.txt", article_text(article))
    section_vtts = [name.removesuffix(".mp3") + ".vtt" for name in names]
    for name, timed in zip(section_vtts, section_cues, strict=True):
        write_text(staged / name, webvtt(timed))  # times within the section's own MP3

    lead = (
        " ".join(s.text for s in article.sections[0].sentences) if article.sections[0].heading is None else ""
    )
    record = EpisodeRecord(
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
        duration=round(chapters[-1].end, 3),
        audio=episode_name,
        size=(staged / episode_name).stat().st_size,
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
                round(results[i].duration, 3),
                (staged / names[i]).stat().st_size,
                round(starts[i], 3),
                opening=opening(article.sections[i]),
                transcript=section_vtts[i],
                recipe=results[i].recipe,
                loudness=results[i].loudness,
                items=section_items(article, i, section_spans[i]),
            )
            for i in range(total)
        ),
        identity=identity,
        recipe=made_from,
        link=article.url,
        origin=origin,
    )
    record.save(staged)
    return record


@dataclass(frozen=True)
class _Made:
    """What became of one section's MP3."""

    duration: float
    loudness: float | None
    recipe: str
    encoded: bool


def _cache(options: ConvertOptions) -> Cache:
    legacy = options.output / CACHE_DIR
    if options.cache_dir is None:
        return Cache(legacy)
    return Cache(options.cache_dir, older=[legacy] if legacy.is_dir() else [])


def _warm() -> None:
    """Load jieba's word list in this thread while the engine speaks, not when captions are due."""
    warm_captions()


def _encode_section(
    pcm: Path,
    rate: int,
    target: Path,
    settings: audio.AudioSettings,
    tags: audio.Tags,
    tail: float,
    own: str,
) -> _Made:
    done = audio.encode(pcm, rate, target, settings, tags, tail=tail)
    return _Made(done.duration, done.loudness, own, encoded=True)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _publish(staged: Path, folder: Path, record: EpisodeRecord) -> None:
    """Move a checked episode into place: its files first, episode.json last, then stale files go.

    A crash part-way leaves the old record, so the next run converts the article again.
    """
    for item in sorted(staged.iterdir()):
        if item.name != RECORD_NAME:
            os.replace(item, folder / item.name)
    os.replace(staged / RECORD_NAME, folder / RECORD_NAME)
    _remove_stale(folder, keep={RECORD_NAME, *record.files()})


def _remove_dead_work(output: Path) -> None:
    """Work folders of runs that were killed (their process is gone)."""
    for work in output.glob(f"{WORK_PREFIX}*"):
        pid = work.name[len(WORK_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(work, ignore_errors=True)


_Spans = dict[tuple[str, int], tuple[float, float]]  # (kind, sentence) -> where it is heard


def _write_section_pcm(
    done: list[ChunkAudio], pcm: Path, settings: audio.AudioSettings
) -> tuple[list[Cue], _Spans, int]:
    """Join a section's chunks with pauses; caption cues and each sentence's span from each
    chunk's real place in the audio."""
    writer = audio.PcmWriter(pcm)
    groups: list[list[Cue]] = []  # one per sentence or announcement: its chunks, timed
    keys: list[tuple[str, int]] = []
    try:
        for i, item in enumerate(done):
            part = None if item.whole else item.duration
            start = writer.add_chunk(item.path, item.format, item.start, part)
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
                keys.append(key)
            # within one packed request the service's own pause is already in the audio
            if i + 1 < len(done) and done[i + 1].group != item.group:
                writer.pause(_pause_after(item.chunk, done[i + 1].chunk, settings))
    finally:
        writer.close()
    spans: _Spans = {}
    for key, group in zip(keys, groups, strict=True):
        if group:  # a long title may take two requests: its span covers both
            start, end = spans.get(key, (group[0].start, group[-1].end))
            spans[key] = (min(start, group[0].start), max(end, group[-1].end))
    return caption_cues(groups), spans, writer.rate or audio.EDGE_RATE


def section_items(article: Article, pos: int, spans: _Spans) -> tuple[TimedText, ...]:
    """A section's text as the talking books and the web page show it, each piece timed."""
    section = article.sections[pos]

    def timed(kind: str, sentence: int, paragraph: int, text: str) -> TimedText:
        start, end = spans.get((kind, sentence), (None, None))
        return TimedText(kind, paragraph, text, _ms(start), _ms(end))

    items = []
    if pos == 0 and article.title:
        items.append(timed("title", -1, -1, article.title))
    if section.heading:
        items.append(timed("heading", -1, -1, section.heading))
    n = 0
    for p, paragraph in enumerate(section.paragraphs):
        for sentence in paragraph:
            items.append(timed("sentence", n, p, sentence.text))
            n += 1
    if pos == len(article.sections) - 1 and article.credit:
        items.append(timed("credit", -1, -1, article.credit))
    return tuple(items)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


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
        if item.is_file() and item.suffix in PRODUCED_SUFFIXES and item.name not in keep:
            item.unlink()
    sweep_parts(folder)
