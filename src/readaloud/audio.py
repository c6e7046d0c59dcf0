"""Chunk audio -> section and episode MP3s: joins, pauses, loudness, encoding, ID3 tags.

The only user of pydub, ffmpeg and mutagen. Audio is assembled section by
section into raw PCM files on disk (never one in-memory buffer for a whole
book), normalized to the spoken-word podcast target with ffmpeg's two-pass
loudnorm, then encoded as CBR MP3 so seeking and chapter jumps stay exact.
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import AudioError
from .fsutil import atomic_path
from .level import Meter, apply, choose_gain, predict
from .model import Chapter
from .mp3 import join, read_layout

TARGET_LUFS = -16.0
TARGET_TRUE_PEAK = -1.0  # dBTP ceiling for spoken-word podcasts
# The limiter holds true peaks (4x oversampled) under TARGET_TRUE_PEAK - LIMITER_MARGIN; the
# margin is for the MP3 encoder's overshoot at 64 kbit/s. Measured on the example: with a 50 ms
# release the overshoot grew with the limiting (0.9 dB for espeak, 1.9 dB for kokoro at +15 dB
# of gain); with the 20 ms release now used, the encoded files stay 1.5-2.2 dB under -1 dBTP.
LIMITER_MARGIN = 2.5
FADE_MS = 8  # removes clicks where chunks meet
# LAME spends few bits near the top of a 24 kHz voice's band at speech bitrates; what it leaves
# there came out as peaks 1.9 dB over the limiter's ceiling for kokoro. Cutting at 10 kHz (speech
# carries nothing a listener needs above it) brought that to 0.7 dB at no cost in loudness.
ENCODER_CUTOFF = 10_000
# LAME at speech bitrates drops quiet high-frequency detail that K-weighting counts: the encoded
# file measured 0.45 LU below its PCM for espeak (by ffmpeg's ebur128 and by level.Meter alike).
ENCODER_LOSS = 0.4
EDGE_RATE = 24_000  # Edge's MP3s are 24 kHz
METER_BLOCK = 2  # seconds of audio measured at a time


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


def _read_wav(
    source: Path | bytes, start: float = 0.0, length: float | None = None
) -> tuple[NDArray[np.int16], int]:
    """A chunk: 16-bit mono WAV (a cache file, or in memory), read in-process by pydub with short
    fades at both ends; or the part of one that a packed request's chunk occupies."""
    with source.open("rb") if isinstance(source, Path) else io.BytesIO(source) as handle:
        segment = _pydub().AudioSegment.from_file(handle, format="wav")  # given a path, pydub leaks it
    if segment.sample_width != 2 or segment.channels != 1:
        segment = segment.set_sample_width(2).set_channels(1)
    if start or length is not None:
        end = len(segment) if length is None else round((start + length) * 1000)
        segment = segment[round(start * 1000) : end]
    fade = min(FADE_MS, len(segment) // 4)
    if fade > 0:
        segment = segment.fade_in(fade).fade_out(fade)
    return np.frombuffer(segment.raw_data, dtype="<i2"), int(segment.frame_rate)


def mp3_to_wav(data: bytes, rate: int) -> tuple[bytes, float]:
    """An MP3 in memory -> a 16-bit mono WAV at `rate` and its exact duration (one ffmpeg run)."""
    from .engines.base import wav_bytes

    result = subprocess.run(
        [ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-f", "mp3", "-i", "pipe:0",
         "-f", "s16le", "-ac", "1", "-ar", str(rate), "pipe:1"],
        input=data, capture_output=True, check=False,
    )  # fmt: skip
    if result.returncode != 0 or not result.stdout:
        raise AudioError(
            f"ffmpeg could not decode the service's MP3: {result.stderr.decode('utf-8', 'replace')[:120]}"
        )
    return wav_bytes(result.stdout, rate), len(result.stdout) / 2 / rate


def silence(seconds: float, sample_rate: int) -> bytes:
    return b"\0\0" * round(seconds * sample_rate)


class PcmWriter:
    """Appends mono s16le audio to a file at the engine's own rate and knows where each piece starts.

    The rate is the first chunk's; a chunk at another rate is resampled to it. (Measuring
    here, as chunks arrive, was tried: it held the GIL that espeak's audio callback needs
    and made the example 0.3 s slower; the encoder threads measure instead.)
    """

    def __init__(self, path: Path, rate: int | None = None) -> None:
        self.path = path
        self.rate = rate
        self.samples = 0
        self._file = path.open("wb")

    @property
    def seconds(self) -> float:
        return self.samples / self.rate if self.rate else 0.0

    def write(self, pcm: bytes) -> None:
        self._file.write(pcm)
        self.samples += len(pcm) // 2

    def pause(self, seconds: float) -> None:
        self.write(silence(seconds, self.rate or EDGE_RATE))

    def add_chunk(self, source: Path, fmt: str, start: float = 0.0, length: float | None = None) -> float:
        """Append one chunk (or its part of a shared file) with short fades at both ends;
        returns where it starts."""
        if fmt == "wav":
            pcm, rate = _read_wav(source, start, length)
        else:  # an Edge MP3 cached before Edge's answers were decoded at synthesis
            rate = self.rate or EDGE_RATE
            pcm, _ = _read_wav(mp3_to_wav(source.read_bytes(), rate)[0])
        if self.rate is None:
            self.rate = rate
        elif rate != self.rate:
            from scipy.signal import resample_poly

            factor = math.gcd(rate, self.rate)
            resampled = resample_poly(pcm.astype(np.float32), self.rate // factor, rate // factor)
            pcm = np.clip(np.round(resampled), -32768, 32767).astype("<i2")
        start = self.seconds
        self.write(pcm.tobytes())
        return start

    def close(self) -> None:
        self._file.close()


def _pcm_blocks(path: Path, rate: int) -> Iterator[NDArray[np.float32]]:
    """A PCM file as float blocks of two seconds: bounded memory for any length, and small enough
    that numpy reuses its buffers (10 s blocks cost 0.4 s more system time for the example)."""
    size = rate * METER_BLOCK * 2
    with path.open("rb") as f:
        while block := f.read(size):
            yield np.frombuffer(block, dtype="<i2").astype(np.float32) / 32768.0


def analyse_pcm(path: Path, rate: int) -> Meter:
    """One in-process pass over a PCM file: loudness, and energy and true peak per 5 ms bin."""
    meter = Meter(rate, peaks=True)
    for block in _pcm_blocks(path, rate):
        meter.add(block)
    meter.close()
    return meter


@dataclass(frozen=True)
class Encoded:
    duration: float  # seconds a player plays, exact to the sample
    loudness: float  # LUFS the file should measure: predicted in-process, less the encoder's loss


def encode(
    pcm: Path,
    rate: int,
    target: Path,
    settings: AudioSettings,
    tags: Tags,
    *,
    tail: float = 0.0,
) -> Encoded:
    """Level a section's PCM to the loudness target, peaks limited, and encode it once as a tagged MP3.

    One in-process pass measures (loudness, and energy and true peak per 5 ms bin, from
    which the gain that lands on target after limiting is worked out); a second levels
    the PCM and streams it into one ffmpeg process. `tail` seconds of silence are added at
    the end (the pause before the next section, so the episode is the section files
    joined). The MP3 appears atomically.
    """
    if pcm.stat().st_size == 0:
        raise AudioError(f"nothing to encode for {target.name}: the engine produced no audio")
    ceiling = TARGET_TRUE_PEAK - LIMITER_MARGIN
    meter = analyse_pcm(pcm, rate)
    gain = choose_gain(meter, settings.loudness + ENCODER_LOSS, ceiling)
    expected = predict(meter, gain, ceiling) - ENCODER_LOSS
    cmd = [
        ffmpeg(), "-hide_banner", "-nostdin", "-v", "error",
        "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
        "-c:a", "libmp3lame", "-b:a", settings.bitrate, "-ar", str(settings.sample_rate), "-ac", "1",
        "-cutoff", str(ENCODER_CUTOFF),
        "-write_xing", "1", "-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3", "-y",
    ]  # fmt: skip
    with atomic_path(target) as tmp:
        with subprocess.Popen([*cmd, str(tmp)], stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            assert proc.stdin is not None
            try:
                blocks = _pcm_blocks(pcm, rate)
                for item in apply(blocks, meter=meter, gain_db=gain, ceiling_db=ceiling):
                    # 16 bits is what the chunks were made in; half the bytes through the pipe of floats
                    proc.stdin.write(np.round(item * 32767).astype("<i2").tobytes())
                if tail > 0:
                    proc.stdin.write(silence(tail, rate))
                proc.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg stopped early: its own message follows
            errors = proc.stderr.read() if proc.stderr else b""
        if proc.returncode != 0:
            tail_line = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
            raise AudioError(f"ffmpeg failed while encoding {target.name}: {tail_line[0]}")
        write_tags(tmp, tags)
        duration = read_layout(tmp).duration
    return Encoded(duration, round(expected, 2))


def join_episode(parts: Sequence[Path], target: Path, tags: Tags, titles: Sequence[str]) -> list[Chapter]:
    """The episode: the section MP3s' frames joined (no encode), chapters where each begins."""
    with atomic_path(target) as tmp:
        joined = join(list(parts), tmp)
        starts = [joined.seconds(s) for s in joined.starts]
        ends = [*starts[1:], joined.seconds(joined.samples)]
        chapters = [
            Chapter(round(a, 3), round(b, 3), t) for a, b, t in zip(starts, ends, titles, strict=True)
        ]
        write_tags(tmp, tags, chapters)
    return chapters


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


def stored_chapter_starts(path: Path) -> list[int]:
    """Start times (ms) of a file's CHAP frames in the order they are stored; reads only the tag."""
    with path.open("rb") as f:
        head = f.read(10)
        if head[:3] != b"ID3":
            return []
        _, end = _tag_body(head)
        f.seek(0)
        return chapter_starts_in_file_order(f.read(end))


def read_chapters(path: Path) -> list[Chapter]:
    """The ID3 chapters as mutagen reads them, in time order (an independent reader from ffmpeg's)."""
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        tag = ID3(str(path))
    except ID3NoHeaderError:
        return []
    except Exception as exc:  # mutagen raises many kinds for a damaged tag
        raise AudioError(f"{path.name}: unreadable ID3 tag ({exc})") from exc
    found = []
    for frame in tag.getall("CHAP"):
        title = frame.sub_frames.get("TIT2")
        found.append(
            Chapter(frame.start_time / 1000, frame.end_time / 1000, str(title.text[0]) if title else "")
        )
    return sorted(found, key=lambda c: c.start)


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


def measure(path: Path) -> tuple[float, Loudness]:
    """Played duration and loudness of a file in one decode (ebur128, ITU-R BS.1770)."""
    return _ebur128(["-i", str(path)], f"measuring {path.name}")


def loudness(path: Path) -> Loudness:
    """Integrated loudness and true peak of a file by ffmpeg's ebur128 filter."""
    return measure(path)[1]
