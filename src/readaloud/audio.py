"""Chunk audio -> section and episode MP3s: joins, pauses, loudness, encoding, ID3 tags.

The only user of pydub, ffmpeg and mutagen. Audio is assembled section by
section into raw PCM files on disk (never one in-memory buffer for a whole
book), normalized to the spoken-word podcast target with ffmpeg's two-pass
loudnorm, then encoded as CBR MP3 so seeking and chapter jumps stay exact.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import AudioError
from .fsutil import atomic_path
from .model import Chapter

TARGET_LUFS = -16.0
TARGET_TRUE_PEAK = -1.0  # dBTP ceiling for spoken-word podcasts
# The limiter works on samples; peaks between samples and the MP3 encoder's overshoot come on
# top. 1 dB and a 2 ms lookahead were enough for espeak, not for the neural voice (-0.8 dBTP
# after encoding); 2 dB and 5 ms are.
LIMITER_MARGIN = 2.0
LOUDNESS_SLACK = 0.6  # LU from the target that an encoded file may be off before it is redone
FADE_MS = 8  # removes clicks where chunks meet


@dataclass(frozen=True)
class AudioSettings:
    sample_rate: int = 44100
    bitrate: str = "64k"
    sentence_pause: float = 0.35  # added between chunks
    section_pause: float = 1.2  # between sections in the episode
    loudness: float = TARGET_LUFS


@dataclass(frozen=True)
class Tags:
    title: str
    artist: str
    album: str
    date: str  # YYYY-MM-DD
    language: str  # ISO 639-2, "chi"
    comment: str
    engine: str
    voice: str
    track: str | None = None  # "n/N"
    cover: Path | None = None


@lru_cache(maxsize=1)
def ffmpeg() -> str:
    """The ffmpeg binary pinned by the imageio-ffmpeg wheel, or the one READALOUD_FFMPEG names.

    Not whatever `ffmpeg` is on PATH: a system ffmpeg that is broken or old must not
    break conversions that the pinned binary does right.
    """
    chosen = os.environ.get("READALOUD_FFMPEG")
    if chosen:
        if not (shutil.which(chosen) or Path(chosen).is_file()):
            raise AudioError(f"READALOUD_FFMPEG={chosen} is not an executable: fix or unset it")
        return chosen
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise AudioError(
            "no ffmpeg found: reinstall readaloud (imageio-ffmpeg) or set READALOUD_FFMPEG"
        ) from exc


@lru_cache(maxsize=1)
def _pydub() -> Any:
    with warnings.catch_warnings():
        # pydub warns at import when ffmpeg is not on PATH (we hand it our own binary)
        # and, through audioop, about Python 3.13 (audioop-lts covers that).
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import pydub
    pydub.AudioSegment.converter = ffmpeg()
    return pydub


def run_ffmpeg(args: Sequence[str], *, what: str) -> subprocess.CompletedProcess[bytes]:
    cmd = [ffmpeg(), "-hide_banner", "-nostdin", *args]
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0:
        tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise AudioError(f"ffmpeg failed while {what}: {tail[0]}")
    return result


def decode(path: Path, sample_rate: int) -> Any:
    """Any audio file -> mono 16-bit pydub segment at sample_rate (ffmpeg's resampler)."""
    out = run_ffmpeg(
        ["-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(sample_rate), "-"],
        what=f"decoding {path.name}",
    )
    return _pydub().AudioSegment(data=out.stdout, sample_width=2, frame_rate=sample_rate, channels=1)


def silence(seconds: float, sample_rate: int) -> bytes:
    return b"\0\0" * round(seconds * sample_rate)


class PcmWriter:
    """Appends mono s16le audio to a file and knows exactly where each piece starts."""

    def __init__(self, path: Path, sample_rate: int) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.samples = 0
        self._file = path.open("wb")

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate

    def write(self, pcm: bytes) -> None:
        self._file.write(pcm)
        self.samples += len(pcm) // 2

    def add_chunk(self, source: Path) -> float:
        """Append one chunk with short fades at both ends; returns its start time."""
        start = self.seconds
        segment = decode(source, self.sample_rate)
        fade = min(FADE_MS, len(segment) // 4)
        if fade > 0:
            segment = segment.fade_in(fade).fade_out(fade)
        self.write(segment.raw_data)
        return start

    def close(self) -> None:
        self._file.close()


def _pcm_input(paths: Iterable[Path], sample_rate: int) -> list[str]:
    joined = "|".join(str(p) for p in paths)
    return ["-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", f"concat:{joined}"]


def _ebur128(inputs: list[str], what: str, *, chain: str | None = None) -> tuple[float, Loudness]:
    """Decode once, through an optional filter chain: (played seconds, loudness) by ebur128."""
    filters = "ebur128=peak=true" if chain is None else f"{chain},ebur128=peak=true"
    result = run_ffmpeg([*inputs, "-af", filters, "-f", "null", "-"], what=what)
    text = result.stderr.decode("utf-8", "replace")
    summary = text[text.rfind("Summary:") :]
    i = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    tp = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if not i or not tp:
        raise AudioError(f"could not measure loudness while {what}")
    return _played(text, what), Loudness(float(i.group(1)), float(tp.group(1)))


def _played(ffmpeg_log: str, what: str) -> float:
    """The last progress time ffmpeg printed: how much audio it decoded."""
    times = re.findall(r"time=(\d+):(\d+):(\d+\.\d+)", ffmpeg_log)
    if not times:
        raise AudioError(f"nothing was decoded while {what}")
    h, m, sec = times[-1]
    return int(h) * 3600 + int(m) * 60 + float(sec)


def gain_chain(gain: float, peak_after_gain: float, margin: float = LIMITER_MARGIN) -> str:
    """A linear gain, plus a lookahead limiter when the gain pushes peaks near the ceiling.

    The gain keeps the speech's own dynamics; the limiter sits `margin` dB under
    the ceiling because peaks between samples and MP3 encoding add overshoot.
    """
    chain = f"volume={gain:.2f}dB"
    if peak_after_gain > TARGET_TRUE_PEAK - margin:
        ceiling = 10 ** ((TARGET_TRUE_PEAK - margin) / 20)
        chain += f",alimiter=limit={ceiling:.4f}:level=false:attack=5:release=60"
    return chain


def normalizing_chain(
    inputs: list[str],
    what: str,
    measured: Loudness,
    *,
    loudness: float,
    margin: float = LIMITER_MARGIN,
) -> str:
    """From the input's loudness, then refined: limiting lowers loudness, so the chain's own output
    is re-measured."""
    if measured.integrated == float("-inf"):
        return "anull"  # silence: nothing to normalize
    gain = loudness - measured.integrated
    chain = gain_chain(gain, measured.true_peak + gain, margin)
    for _ in range(2):
        _, result = _ebur128(inputs, what, chain=chain)
        miss = loudness - result.integrated
        if abs(miss) <= 0.3:
            break
        gain += miss
        chain = gain_chain(gain, measured.true_peak + gain, margin)
    return chain


def _encode_mp3(inputs: list[str], chain: str, out: Path, settings: AudioSettings, *, what: str) -> None:
    run_ffmpeg(
        [
            *inputs,
            "-af",
            chain,
            "-c:a",
            "libmp3lame",
            "-b:a",
            settings.bitrate,
            "-ar",
            str(settings.sample_rate),
            "-ac",
            "1",
            "-write_xing",
            "1",
            "-f",
            "mp3",
            "-y",
            str(out),
        ],
        what=what,
    )


def encode(
    pcm_files: Sequence[Path],
    target: Path,
    settings: AudioSettings,
    tags: Tags,
    chapters: Sequence[Chapter] = (),
) -> float:
    """Loudness-normalize and encode PCM files (played in order) into one tagged MP3.

    Returns the duration in seconds. The MP3 appears atomically.
    """
    inputs = _pcm_input(pcm_files, settings.sample_rate)
    total_samples = sum(p.stat().st_size // 2 for p in pcm_files)
    duration = total_samples / settings.sample_rate
    if duration <= 0:
        raise AudioError(f"nothing to encode for {target.name}: the engine produced no audio")
    margin, aim = LIMITER_MARGIN, settings.loudness
    what = f"measuring {target.name}"
    _, measured = _ebur128(inputs, what)
    with atomic_path(target) as tmp:
        # MP3 encoding changes both loudness (its low-pass takes energy the loudness weighting
        # counts: about 0.9 LU for the neural voice) and peaks (overshoot). What counts is the
        # file, so it is measured and, if off, encoded again aiming to correct.
        for _ in range(4):
            chain = normalizing_chain(inputs, what, measured, loudness=aim, margin=margin)
            _encode_mp3(inputs, chain, tmp, settings, what=f"encoding {target.name}")
            level = measure(tmp)[1]
            miss = settings.loudness - level.integrated
            over = level.true_peak - TARGET_TRUE_PEAK
            if chain == "anull" or (abs(miss) <= LOUDNESS_SLACK and over <= 0):
                break
            aim += miss
            margin += max(0.0, over + 1.0)  # overshoot varies from one encode to the next
        write_tags(tmp, tags, chapters)
    return duration


def write_tags(path: Path, tags: Tags, chapters: Sequence[Chapter] = ()) -> None:
    """ID3v2.3: text frames, cover, engine/voice, and CHAP/CTOC for chapters."""
    from mutagen.id3 import (
        APIC,
        CHAP,
        COMM,
        CTOC,
        ID3,
        TALB,
        TDAT,
        TIT2,
        TLAN,
        TPE1,
        TRCK,
        TXXX,
        TYER,
        CTOCFlags,
    )

    id3 = ID3()
    id3.add(TIT2(encoding=1, text=[tags.title]))
    id3.add(TPE1(encoding=1, text=[tags.artist]))
    id3.add(TALB(encoding=1, text=[tags.album]))
    # ID3v2.3 has no TDRC (that is v2.4): the year and the day go in TYER and TDAT (DDMM)
    year, month, day = tags.date.split("-")
    id3.add(TYER(encoding=1, text=[year]))
    id3.add(TDAT(encoding=1, text=[day + month]))
    id3.add(TLAN(encoding=1, text=[tags.language]))
    id3.add(COMM(encoding=1, lang=tags.language[:3], desc="", text=[tags.comment]))
    id3.add(TXXX(encoding=1, desc="readaloud:engine", text=[tags.engine]))
    id3.add(TXXX(encoding=1, desc="readaloud:voice", text=[tags.voice]))
    if tags.track:
        id3.add(TRCK(encoding=1, text=[tags.track]))
    if tags.cover is not None:
        mime = "image/png" if tags.cover.suffix.lower() == ".png" else "image/jpeg"
        id3.add(APIC(encoding=1, mime=mime, type=3, desc="Cover", data=tags.cover.read_bytes()))
    if chapters:
        ids = [f"chp{i}" for i in range(len(chapters))]
        id3.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=1, text=[tags.title])],
            )
        )
        for cid, chapter in zip(ids, chapters, strict=True):
            id3.add(
                CHAP(
                    element_id=cid,
                    start_time=round(chapter.start * 1000),
                    end_time=round(chapter.end * 1000),
                    sub_frames=[TIT2(encoding=1, text=[chapter.title])],
                )
            )
    id3.save(str(path), v2_version=3)
    if chapters:
        order_chapter_frames(path)


def _frames(tag: bytes) -> list[bytes]:
    """The frames of an ID3v2.3 tag body, each with its 10-byte header; padding dropped."""
    frames, at = [], 0
    while at + 10 <= len(tag) and tag[at : at + 4].strip(b"\0"):
        size = int.from_bytes(tag[at + 4 : at + 8], "big")
        frames.append(tag[at : at + 10 + size])
        at += 10 + size
    return frames


def _tag_body(data: bytes) -> tuple[int, int]:
    """Where the tag's frames start and end in a file that begins with an ID3v2 header."""
    if data[:3] != b"ID3":
        raise AudioError("no ID3v2 tag at the start of the file")
    size = 0
    for byte in data[6:10]:  # syncsafe: seven bits a byte
        size = (size << 7) | (byte & 0x7F)
    return 10, 10 + size


def _chapter_start(frame: bytes) -> int:
    """A CHAP frame's start time in ms: it follows the null-terminated element id."""
    after_id = frame.index(b"\0", 10) + 1
    return int.from_bytes(frame[after_id : after_id + 4], "big")


def chapter_starts_in_file_order(data: bytes) -> list[int]:
    """Start times (ms) of the CHAP frames as they are stored, for checks and tests."""
    begin, end = _tag_body(data)
    return [_chapter_start(x) for x in _frames(data[begin:end]) if x[:4] == b"CHAP"]


def order_chapter_frames(path: Path) -> None:
    """Store CTOC, then CHAP frames by start time (mutagen orders frames by size).

    Players and ffmpeg read chapters in file order: out of order, a transcode to
    M4A mixed them up and a copy to MKA kept one of four. Only the order of
    frames changes; the tag keeps its size, so the audio does not move.
    """
    with path.open("r+b") as f:
        head = f.read(10)
        begin, end = _tag_body(head)
        f.seek(0)
        data = f.read(end)
        frames = _frames(data[begin:end])
        toc = [x for x in frames if x[:4] == b"CTOC"]
        chapters = [x for x in frames if x[:4] == b"CHAP"]
        pictures = [x for x in frames if x[:4] == b"APIC"]
        rest = [x for x in frames if x[:4] not in (b"CTOC", b"CHAP", b"APIC")]
        body = b"".join([*rest, *toc, *sorted(chapters, key=_chapter_start), *pictures])
        f.seek(begin)
        f.write(body + b"\0" * (end - begin - len(body)))


# ---- reading files back (checks and tests) ----------------------------------------


@dataclass(frozen=True)
class Probe:
    duration: float
    sample_rate: int
    channels: int
    bitrate_kbps: int | None
    chapters: tuple[Chapter, ...]


def probe(path: Path) -> Probe:
    """What ffmpeg itself reads from a file header (ffprobe may be absent)."""
    result = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, check=False)
    text = result.stderr.decode("utf-8", "replace")
    d = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", text)
    a = re.search(r"Audio: \w+.*?, (\d+) Hz, (mono|stereo)(?:.*?, (\d+) kb/s)?", text)
    if not d or not a:
        raise AudioError(f"{path.name} is not readable audio")
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3))
    chapters = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        c = re.search(r"Chapter #\d+[:.]\d+: start (\d+\.\d+), end (\d+\.\d+)", line)
        if c:
            title = ""
            for follow in lines[i + 1 : i + 4]:
                t = re.match(r"\s+title\s*:\s*(.*)$", follow)
                if t:
                    title = t.group(1).strip()
                    break
            chapters.append(Chapter(float(c.group(1)), float(c.group(2)), title))
    bitrate = int(a.group(3)) if a.group(3) else None
    return Probe(duration, int(a.group(1)), 1 if a.group(2) == "mono" else 2, bitrate, tuple(chapters))


def decoded_duration(path: Path, *, rate: int = 48_000) -> float:
    """Duration by decoding every frame, to the sample: what a player really plays.

    ffmpeg's progress line is rounded to 10 ms, too coarse to add up sections against
    chapter marks, so the decoded samples are counted instead.
    """
    command = [ffmpeg(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as decoder:
        out, err = decoder.stdout, decoder.stderr
        size = 0
        while out is not None and (block := out.read(1 << 20)):
            size += len(block)
        errors = err.read() if err is not None else b""
    if decoder.returncode != 0 or size == 0:
        raise AudioError(f"decoding {path.name} failed: {errors.decode('utf-8', 'replace').strip()[:200]}")
    return size / 2 / rate


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS
    true_peak: float  # dBTP


def measure(path: Path) -> tuple[float, Loudness]:
    """Played duration and loudness of a file in one decode (ebur128, ITU-R BS.1770)."""
    return _ebur128(["-i", str(path)], f"measuring {path.name}")


def loudness(path: Path) -> Loudness:
    """Integrated loudness and true peak of a file by ffmpeg's ebur128 filter."""
    return measure(path)[1]
