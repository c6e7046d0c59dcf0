"""The engine interface: text + Voice -> Speech (audio and sentence timings).

An engine is anything with these attributes and one method; it needs no
import of ours beyond the model types, so outside engines can plug in.
"""

from __future__ import annotations

import io
import wave
from typing import Protocol, runtime_checkable

from ..errors import ConfigError
from ..model import Speech, Voice

#: where an engine with a model may run (`--device`)
DEVICES = ("auto", "cpu", "cuda")


def check_device(device: str) -> str:
    if device not in DEVICES:
        raise ConfigError(f"unknown device {device!r}: use one of {', '.join(DEVICES)}")
    return device


@runtime_checkable
class Engine(Protocol):
    name: str
    #: largest spoken chunk, in UTF-8 bytes, that one request may carry
    max_chunk_bytes: int
    #: True when the engine reads digits, dates and % itself (neural voices do)
    reads_numbers: bool
    #: how many requests may run at once without harming the engine
    max_concurrency: int
    #: True when sentences should be sent clause by clause: local engines, where a request
    #: costs nothing and no timing is reported inside one, so captions get exact clause times
    by_clause: bool

    def synthesize(self, text: str, voice: Voice) -> Speech:
        """Speak one chunk; raise TransientEngineError for faults worth a retry."""
        ...

    def close(self) -> None:
        """Let go of worker processes or sessions; the engine is not used afterwards."""
        ...


def percent(value: str, *, what: str) -> float:
    """'+10%' -> 0.10; the form edge-tts takes for rate and volume."""
    text = value.strip()
    if not text.endswith("%"):
        raise ConfigError(f"{what} {value!r} must look like +10% or -5%")
    try:
        return float(text[:-1]) / 100
    except ValueError as exc:
        raise ConfigError(f"{what} {value!r} must look like +10% or -5%") from exc


def hertz(value: str) -> float:
    text = value.strip()
    if not text.endswith("Hz"):
        raise ConfigError(f"pitch {value!r} must look like +5Hz or -10Hz")
    try:
        return float(text[:-2])
    except ValueError as exc:
        raise ConfigError(f"pitch {value!r} must look like +5Hz or -10Hz") from exc


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    """16-bit mono PCM -> a WAV file in memory, the form local engines hand to the cache."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()
