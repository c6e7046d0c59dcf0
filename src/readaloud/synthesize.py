"""SpokenChunk list -> ChunkAudio list, in order: concurrent, retried, cached.

Cache: one entry per (engine, voice settings, spoken text, format version),
named by the SHA-256 of that key, under OUTPUT/.cache. An entry is the audio
file plus a JSON record holding the audio's own SHA-256; the record is written
last (atomically), so a run killed mid-way leaves either a whole entry or
none, and a damaged entry fails its checksum and is redone.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from .engines.base import Engine, percent
from .errors import EngineError, TransientEngineError
from .fsutil import write_bytes, write_text
from .model import Boundary, Speech, SpokenChunk, Voice
from .speech import han_count

CACHE_VERSION = 1
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
# The fastest any voice speaks, generously: Chinese runs at 4-6 syllables a second, English
# at 2.5-3.5 words; a digit is at least half a syllable whether read "二零" or "two thousand".
FASTEST_HAN_PER_SECOND = 12.0
FASTEST_WORDS_PER_SECOND = 6.0
FASTEST_DIGITS_PER_SECOND = 16.0
PACK_JOINER = "\n"
_STOPPED = re.compile(r"[。！？!?.…；;][”’」』）)]*\s*$")
SHORTEST_CHECKED = 0.8  # seconds: below this, a short answer cannot be told from a fast one
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?")
_OTHER_LETTERS = re.compile(r"[\u0400-\u04ff\u3040-\u30ff\uac00-\ud7af]")


@dataclass(frozen=True)
class ChunkAudio:
    chunk: SpokenChunk
    path: Path
    format: str
    duration: float
    boundaries: tuple[Boundary, ...]
    cached: bool
    start: float = 0.0  # where this chunk's audio begins in the file (a packed request's is shared)
    group: int = -1  # the request it came from: chunks of one request carry the service's own pauses
    whole: bool = True  # False: the chunk is the part [start, start + duration) of a shared file


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass
class Stats:
    """Counters for the run summary (shared across threads)."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    encodes: int = 0  # MP3 encoder runs
    skipped: int = 0  # articles whose episode was already up to date
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                setattr(self, key, getattr(self, key) + value)


def engine_tag(engine: Engine) -> str:
    """The engine's name, plus its `revision` when it has one: an engine whose output changes
    bumps its revision, and only its own cache entries are made again."""
    revision = getattr(engine, "revision", 0)
    return f"{engine.name}@{revision}" if revision else engine.name


def cache_key(engine: str, voice: Voice, spoken: str) -> str:
    key = json.dumps(
        [CACHE_VERSION, engine, voice.voice, voice.rate, voice.pitch, voice.volume, spoken],
        ensure_ascii=False,
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Cache:
    """Chunks by key under root; `older` roots (a cache folder an earlier readaloud kept inside
    the output folder) are read too, never written, so nobody synthesizes twice."""

    def __init__(self, root: Path, *, older: Sequence[Path] = ()) -> None:
        self.root = root
        self.older = tuple(older)

    def _paths(self, key: str, root: Path | None = None) -> tuple[Path, Path]:
        folder = (root or self.root) / key[:2]
        return folder / f"{key}.json", folder / key

    def get(self, key: str) -> tuple[Path, str, float, tuple[Boundary, ...]] | None:
        for root in (self.root, *self.older):
            found = self._get(key, root)
            if found is not None:
                return found
        return None

    def _get(self, key: str, root: Path) -> tuple[Path, str, float, tuple[Boundary, ...]] | None:
        record_path, audio_base = self._paths(key, root)
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            audio = audio_base.with_suffix("." + record["format"])
            if hashlib.sha256(audio.read_bytes()).hexdigest() != record["sha256"]:
                return None
            bounds = tuple(Boundary(**b) for b in record["boundaries"])
            return audio, str(record["format"]), float(record["duration"]), bounds
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged: synthesize again

    def put(self, key: str, audio: bytes, fmt: str, duration: float, bounds: Sequence[Boundary]) -> Path:
        record_path, audio_base = self._paths(key)
        path = audio_base.with_suffix("." + fmt)
        write_bytes(path, audio)
        record = {
            "format": fmt,
            "duration": duration,
            "sha256": hashlib.sha256(audio).hexdigest(),
            # by hand: dataclasses.asdict deep-copies, and a chunk has a boundary per word
            "boundaries": [{"start": b.start, "end": b.end, "text": b.text} for b in bounds],
        }
        write_text(record_path, json.dumps(record, ensure_ascii=False))
        return path

    def entries(self) -> Iterator[Path]:
        if self.root.is_dir():
            yield from self.root.glob("*/*.json")


def shortest_speech(text: str, rate: str = "+0%") -> float:
    """The least time any voice could take to say text, whatever its language: a lower bound."""
    han = han_count(text)
    words = len(_LATIN_WORD.findall(text))
    digits = sum(c.isdigit() for c in text)
    others = len(_OTHER_LETTERS.findall(text))  # kana, hangul, Cyrillic: about a syllable each
    seconds = (
        (han + others) / FASTEST_HAN_PER_SECOND
        + words / FASTEST_WORDS_PER_SECOND
        + digits / FASTEST_DIGITS_PER_SECOND
    )
    return seconds / (1 + max(0.0, percent(rate, what="rate")))


def check_length(chunk: SpokenChunk, duration: float, voice: Voice) -> None:
    """Audio far shorter than the text needs is a silent truncation, in any language."""
    shortest = shortest_speech(chunk.spoken, voice.rate)
    if shortest >= SHORTEST_CHECKED and duration < shortest:
        raise TransientEngineError(
            f"audio truncated: {duration:.1f} s for text that takes at least {shortest:.1f} s"
        )


def group_text(chunks: Sequence[SpokenChunk]) -> str:
    """What one request says for these chunks: a lone chunk as it is; several, each ending in a
    full stop (a heading has none, and the voice would run on into the next sentence)."""
    if len(chunks) == 1:
        return chunks[0].spoken
    return PACK_JOINER.join(c.spoken if _STOPPED.search(c.spoken) else c.spoken + "。" for c in chunks)


def groups(chunks: Sequence[SpokenChunk], limit: int) -> list[list[int]]:
    """Consecutive chunks of one section packed into requests of at most `limit` bytes of text;
    limit 0 keeps every chunk on its own."""
    out: list[list[int]] = []
    size = 0
    for i, chunk in enumerate(chunks):
        cost = len(chunk.spoken.encode("utf-8")) + len(PACK_JOINER) + 3
        if out and limit and chunks[out[-1][-1]].section == chunk.section and size + cost <= limit:
            out[-1].append(i)
            size += cost
        else:
            out.append([i])
            size = cost
    return out


def split_group(
    chunks: Sequence[SpokenChunk], duration: float, bounds: Sequence[Boundary]
) -> list[tuple[float, float, tuple[Boundary, ...]]]:
    """Where each chunk of a packed request is in its audio: (start, length, its own boundaries).

    Each word the service timed is found in the request's text, in order, which tells whose
    it is; a chunk runs from halfway through the pause before its first word to halfway
    through the pause after its last, so every cut falls in silence.
    """
    if len(chunks) == 1:
        return [(0.0, duration, tuple(bounds))]
    text = group_text(chunks)
    ends, at = [], 0
    for c in chunks:  # where each chunk's text ends in the request's text
        at = text.index(c.spoken, at) + len(c.spoken)
        ends.append(at)
    owner: list[list[Boundary]] = [[] for _ in chunks]
    cursor, k = 0, 0
    for b in bounds:
        found = text.find(b.text, cursor) if b.text else -1
        if found >= 0:
            cursor = found + len(b.text)
            while k + 1 < len(chunks) and found >= ends[k]:
                k += 1
        owner[k].append(b)
    firsts = [o[0].start if o else None for o in owner]
    lasts = [max(b.end for b in o) if o else None for o in owner]
    cuts = [0.0]
    for i in range(1, len(chunks)):
        first, last = firsts[i], lasts[i - 1]
        if first is None or last is None:  # no word found: share the time by length of text
            share = sum(len(c.spoken) for c in chunks[:i]) / max(1, sum(len(c.spoken) for c in chunks))
            cut = duration * share
        else:
            cut = (last + first) / 2 if first >= last else first
        cuts.append(min(max(cut, cuts[-1]), duration))
    cuts.append(duration)
    return [
        (
            cuts[i],
            cuts[i + 1] - cuts[i],
            tuple(Boundary(max(0.0, b.start - cuts[i]), max(0.0, b.end - cuts[i]), b.text) for b in owner[i]),
        )
        for i in range(len(chunks))
    ]


def render_group(
    chunks: Sequence[SpokenChunk],
    group: int,
    *,
    engine: Engine,
    voice: Voice,
    cache: Cache,
    retry: RetryPolicy,
    stats: Stats,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> list[ChunkAudio]:
    """One request for several chunks (or a cache hit), split back into the chunks' own audio."""
    text = group_text(chunks)
    key = cache_key(engine_tag(engine), voice, text)
    hit = cache.get(key)
    if hit is not None:
        stats.add(cache_hits=1)
        path, fmt, duration, bounds = hit
        cached = True
    else:
        speech = _request(text, chunks[0], engine=engine, voice=voice, retry=retry, stats=stats,
                          sleep=sleep, rng=rng)  # fmt: skip
        path = cache.put(key, speech.audio, speech.format, speech.duration, speech.boundaries)
        fmt, duration, bounds, cached = speech.format, speech.duration, speech.boundaries, False
    return [
        ChunkAudio(chunk, path, fmt, length, own, cached, start=start, group=group, whole=len(chunks) == 1)
        for chunk, (start, length, own) in zip(chunks, split_group(chunks, duration, bounds), strict=True)
    ]


def _request(
    text: str,
    first: SpokenChunk,
    *,
    engine: Engine,
    voice: Voice,
    retry: RetryPolicy,
    stats: Stats,
    sleep: Callable[[float], None],
    rng: random.Random | None,
) -> Speech:
    rng = rng or random.Random()
    last: TransientEngineError | None = None
    for attempt in range(retry.attempts):
        if attempt:
            stats.add(retries=1)
            sleep(retry.delay(attempt - 1, rng))
        stats.add(requests=1)
        try:
            speech = engine.synthesize(text, voice)
            check_length(replace(first, spoken=text), speech.duration, voice)
        except TransientEngineError as exc:
            last = exc
            continue
        return speech
    raise TransientEngineError(f"{last} (gave up after {retry.attempts} attempts)")


def render_all(
    chunks: Sequence[SpokenChunk],
    *,
    engine: Engine,
    voice: Voice,
    cache: Cache,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry: RetryPolicy | None = None,
    stats: Stats | None = None,
    on_done: Callable[[ChunkAudio], None] | None = None,
) -> list[Future[ChunkAudio]]:
    """Start every request; one future per chunk, in input order. The caller waits on them.

    An engine with `pack_bytes` (Edge) gets several sentences per request, up to that
    size: fewer requests (each one a throttling risk), each cached as a whole, so a
    one-sentence edit asks again for its own request only.
    """
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise EngineError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}")
    workers = min(concurrency, engine.max_concurrency)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="synth")
    policy = retry or RetryPolicy()
    counters = stats or Stats()
    futures: list[Future[ChunkAudio]] = [Future() for _ in chunks]

    def job(number: int, members: list[int]) -> None:
        for i in members:
            if not futures[i].set_running_or_notify_cancel():
                return  # the run is being abandoned
        try:
            done = render_group([chunks[i] for i in members], number, engine=engine, voice=voice,
                                cache=cache, retry=policy, stats=counters)  # fmt: skip
        except BaseException as exc:
            for i in members:
                futures[i].set_exception(exc)
            return
        for i, item in zip(members, done, strict=True):
            futures[i].set_result(item)
            if on_done is not None:
                on_done(item)

    for number, members in enumerate(groups(chunks, getattr(engine, "pack_bytes", 0))):
        pool.submit(job, number, members)
    pool.shutdown(wait=False)
    return futures
