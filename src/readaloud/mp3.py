"""MP3 file bytes -> frames, and frames of several files -> one gapless file. Pure bytes, no decoding.

An episode is its section MP3s joined frame by frame, so each file is encoded
exactly once. That is exact because every section comes from the same encoder
settings (CBR, one sample rate, mono) and each starts a fresh bit reservoir:
a joined frame decodes to the very samples it did in its own file. The joined
file gets a new Info (Xing) frame with the total frame count and a LAME tag
whose encoder delay is the first file's and whose padding is the last one's,
so players trim exactly the priming and padding of the ends; the priming and
padding where two sections meet stay in, as a few ms more of the pause.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import AudioError

DECODER_DELAY = 529  # samples every MP3 decoder adds; LAME tags count only the encoder's
_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)  # MPEG-1 layer III
_RATES = (44100, 48000, 32000)
_TOC = 100
_CRC_COVERS = 190  # bytes of the Info frame the LAME tag's own CRC protects


@dataclass(frozen=True)
class Mp3Layout:
    """Where a file's audio frames are and how many samples of them are real audio."""

    audio_start: int  # byte offset of the first audio frame (after ID3 and the Info frame)
    audio_end: int  # byte offset just past the last frame
    frames: int
    sample_rate: int
    delay: int  # encoder delay from the LAME tag
    padding: int
    info_frame: bytes
    music_crc: int  # the LAME tag's CRC-16 of the audio frames
    trailing: int  # bytes after the last frame that are not an ID3v1 tag (should be 0)

    @property
    def samples(self) -> int:
        """Decoded samples once priming and padding are trimmed: what a player plays."""
        return self.frames * 1152 - self.delay - self.padding

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate


def _id3_size(data: bytes) -> int:
    if data[:3] != b"ID3" or len(data) < 10:
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size + (10 if data[5] & 0x10 else 0)


def _frame_size(header: int) -> tuple[int, int] | None:
    """(bytes, sample rate) of an MPEG-1 layer III frame, or None if header is not one."""
    if header >> 21 != 0x7FF or (header >> 19) & 3 != 3 or (header >> 17) & 3 != 1:
        return None
    bitrate = (header >> 12) & 15
    rate = (header >> 10) & 3
    if bitrate in (0, 15) or rate == 3:
        return None
    sample_rate = _RATES[rate]
    return 144_000 * _BITRATES[bitrate] // sample_rate + ((header >> 9) & 1), sample_rate


def _info_offset(header: int) -> int:
    """Where "Info"/"Xing" starts in the first frame: after the header and side information."""
    mono = (header >> 6) & 3 == 3
    return 4 + (17 if mono else 32)


def crc16(data: bytes) -> int:
    """CRC-16 (polynomial 0x8005, reflected, start 0): what LAME tags use."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def read_layout(path: Path) -> Mp3Layout:
    """The same, reading only frame headers: an episode of hours is never held in memory."""
    with path.open("rb") as handle:
        return _layout(handle, path.name)


def _layout(handle: BinaryIO, name: str) -> Mp3Layout:
    head = handle.read(10)
    start = _id3_size(head)
    handle.seek(start)
    first_bytes = handle.read(4)
    first = int.from_bytes(first_bytes, "big")
    parsed = _frame_size(first) if len(first_bytes) == 4 else None
    if parsed is None:
        raise AudioError(f"{name} does not start with an MPEG-1 layer III frame")
    info_size, sample_rate = parsed
    info = first_bytes + handle.read(info_size - 4)
    at = _info_offset(first)
    if info[at : at + 4] not in (b"Info", b"Xing"):
        raise AudioError(f"{name} has no Info frame: it was not written by readaloud's encoder")
    lame = at + 8 + 4 + 4 + _TOC + 4  # tag, flags, frames, bytes, TOC, quality
    packed = int.from_bytes(info[lame + 21 : lame + 24], "big")
    delay, padding = packed >> 12, packed & 0xFFF
    music_crc = int.from_bytes(info[lame + 32 : lame + 34], "big")
    pos, frames = start + info_size, 0
    size = handle.seek(0, io.SEEK_END)
    while pos + 4 <= size:
        handle.seek(pos)
        parsed = _frame_size(int.from_bytes(handle.read(4), "big"))
        if parsed is None or pos + parsed[0] > size:
            break
        pos += parsed[0]
        frames += 1
    handle.seek(pos)
    rest = handle.read(129)
    trailing = size - pos - (128 if rest[:3] == b"TAG" and size - pos == 128 else 0)
    return Mp3Layout(start + info_size, pos, frames, sample_rate, delay, padding, info, music_crc, trailing)


def info_frame(template: bytes, *, frames: int, size: int, delay: int, padding: int, crc: int) -> bytes:
    """An Info frame like template's, describing `frames` audio frames of `size` bytes in all."""
    out = bytearray(template)
    header = int.from_bytes(out[:4], "big")
    at = _info_offset(header)
    out[at + 4 : at + 8] = (0x0F).to_bytes(4, "big")  # frames, bytes, TOC and quality present
    out[at + 8 : at + 12] = frames.to_bytes(4, "big")
    out[at + 12 : at + 16] = size.to_bytes(4, "big")
    for i in range(_TOC):  # CBR: byte position grows in step with time
        out[at + 16 + i] = min(255, i * 256 // _TOC)
    lame = at + 16 + _TOC + 4
    out[lame + 21 : lame + 24] = ((delay << 12) | padding).to_bytes(3, "big")
    out[lame + 28 : lame + 32] = size.to_bytes(4, "big")
    out[lame + 32 : lame + 34] = crc.to_bytes(2, "big")
    out[lame + 34 : lame + 36] = b"\0\0"
    out[lame + 34 : lame + 36] = crc16(bytes(out[:_CRC_COVERS])).to_bytes(2, "big")
    return bytes(out)


@dataclass(frozen=True)
class Joined:
    starts: tuple[int, ...]  # first sample of each part in the joined file (after trimming)
    samples: int  # samples a player plays
    sample_rate: int

    def seconds(self, sample: int) -> float:
        return sample / self.sample_rate


def join(parts: list[Path], target: Path) -> Joined:
    """Write the audio frames of parts, in order, as one MP3 at target (no tags; not atomic)."""
    layouts = [read_layout(p) for p in parts]
    if not layouts:
        raise AudioError("nothing to join")
    first, last = layouts[0], layouts[-1]
    if len({(x.sample_rate, x.delay, len(x.info_frame)) for x in layouts}) != 1:
        raise AudioError("sections were encoded with different settings: convert with --force")
    frames = sum(x.frames for x in layouts)
    starts, before = [], 0
    crc = 0
    size = len(first.info_frame) + sum(x.audio_end - x.audio_start for x in layouts)
    with target.open("wb") as out:
        out.write(b"\0" * len(first.info_frame))  # the Info frame goes in once the CRC is known
        for path, part in zip(parts, layouts, strict=True):
            # a part's first real sample sits `delay` samples into its frames, as in the whole
            starts.append(before * 1152)
            length = part.audio_end - part.audio_start
            crc = crc16_combine(crc, part.music_crc, length)
            with path.open("rb") as source:  # copied in blocks: a section of hours stays out of memory
                source.seek(part.audio_start)
                while length > 0:
                    block = source.read(min(length, 1 << 20))
                    if not block:
                        raise AudioError(f"{path.name} ended before its last frame")
                    out.write(block)
                    length -= len(block)
            before += part.frames
        out.seek(0)
        out.write(
            info_frame(
                first.info_frame, frames=frames, size=size, delay=first.delay, padding=last.padding, crc=crc
            )
        )
    samples = frames * 1152 - first.delay - last.padding
    return Joined(tuple(starts), samples, first.sample_rate)


def _zero_byte(crc: int) -> int:
    for _ in range(8):
        crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _apply(operator: list[int], crc: int) -> int:
    """operator[i] is the image of bit i: the CRC register map is linear over GF(2)."""
    out = 0
    for i in range(16):
        if crc >> i & 1:
            out ^= operator[i]
    return out


def crc16_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """CRC of A followed by B from the CRCs of each and B's length (zlib's crc32_combine, for CRC-16).

    The CRC has no initial value or final XOR, so crc(A+B) is crc(A) run through len(B)
    zero bytes, XOR crc(B); running through n zero bytes is a 16x16 bit matrix to the n-th power.
    """
    step = [_zero_byte(1 << i) for i in range(16)]  # one zero byte
    result = crc_a
    while length_b:
        if length_b & 1:
            result = _apply(step, result)
        step = [_apply(step, column) for column in step]
        length_b >>= 1
    return result ^ crc_b
