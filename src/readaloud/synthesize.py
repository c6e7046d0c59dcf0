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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .engines.base import Engine, percent
from .errors import EngineError, TransientEngineError
from .fsutil import write_bytes, write_text
from .model import Boundary, SpokenChunk, Voice
from .speech import han_count

CACHE_VERSION = 1
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
# The fastest any voice speaks, generously: Chinese runs at 4-6 syllables a second, English
# at 2.5-3.5 words; a digit is at least half a syllable whether read "二零" or "two thousand".
FASTEST_HAN_PER_SECOND = 12.0
FASTEST_WORDS_PER_SECOND = 6.0
FASTEST_DIGITS_PER_SECOND = 16.0
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


def cache_key(engine: str, voice: Voice, spoken: str) -> str:
    key = json.dumps(
        [CACHE_VERSION, engine, voice.voice, voice.rate, voice.pitch, voice.volume, spoken],
        ensure_ascii=False,
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.json", folder / key

    def get(self, key: str) -> tuple[Path, str, float, tuple[Boundary, ...]] | None:
        record_path, audio_base = self._paths(key)
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
            "boundaries": [asdict(b) for b in bounds],
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


def render_chunk(
    chunk: SpokenChunk,
    *,
    engine: Engine,
    voice: Voice,
    cache: Cache,
    retry: RetryPolicy,
    stats: Stats,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> ChunkAudio:
    key = cache_key(engine.name, voice, chunk.spoken)
    hit = cache.get(key)
    if hit is not None:
        stats.add(cache_hits=1)
        return ChunkAudio(chunk, hit[0], hit[1], hit[2], hit[3], cached=True)
    rng = rng or random.Random()
    last: TransientEngineError | None = None
    for attempt in range(retry.attempts):
        if attempt:
            stats.add(retries=1)
            sleep(retry.delay(attempt - 1, rng))
        stats.add(requests=1)
        try:
            speech = engine.synthesize(chunk.spoken, voice)
            check_length(chunk, speech.duration, voice)
        except TransientEngineError as exc:
            last = exc
            continue
        path = cache.put(key, speech.audio, speech.format, speech.duration, speech.boundaries)
        return ChunkAudio(chunk, path, speech.format, speech.duration, speech.boundaries, cached=False)
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
    """Start every chunk; futures come back in input order. The caller waits on them."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise EngineError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}")
    workers = min(concurrency, engine.max_concurrency)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="synth")
    policy = retry or RetryPolicy()
    counters = stats or Stats()

    def job(chunk: SpokenChunk) -> ChunkAudio:
        done = render_chunk(chunk, engine=engine, voice=voice, cache=cache, retry=policy, stats=counters)
        if on_done is not None:
            on_done(done)
        return done

    futures = [pool.submit(job, chunk) for chunk in chunks]
    pool.shutdown(wait=False)
    return futures
