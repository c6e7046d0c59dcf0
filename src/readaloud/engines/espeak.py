"""Text + Voice -> Speech with libespeak-ng, in-process through ctypes (offline).

The library and its data (with the Mandarin dictionary) come from the
espeakng-loader wheel. libespeak-ng keeps global state and is not
thread-safe, so every call goes through one lock; it synthesizes hundreds of
times faster than real time, so the lock is never the bottleneck (ffmpeg is).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..errors import EngineError, EngineUnavailable
from ..model import Boundary, Speech, Voice
from .base import hertz, percent, wav_bytes

_SYNCHRONOUS = 2
_UTF8 = 1
_PHONEME_EVENTS_OFF = 0
_END_PAUSE = 0x1000
_RATE, _VOLUME, _PITCH = 1, 2, 3
_EVENT_END_LIST, _EVENT_WORD, _EVENT_SENTENCE, _EVENT_MSG_END = 0, 1, 2, 5
_DEFAULT_WPM = 175


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)
_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def _library() -> tuple[Any, int]:
    """Load and initialize libespeak-ng once per process."""
    if "lib" not in _STATE:
        try:
            import espeakng_loader

            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data = espeakng_loader.get_data_path().encode()
        except (ImportError, OSError) as exc:
            raise EngineUnavailable(
                f"cannot load libespeak-ng ({exc}): reinstall readaloud so espeakng-loader is present"
            ) from exc
        rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, data, 0)
        if rate <= 0:
            raise EngineUnavailable("libespeak-ng failed to initialize: reinstall espeakng-loader")
        _STATE["lib"], _STATE["rate"] = lib, rate
        _STATE["callback"] = _CALLBACK(_collect)
        lib.espeak_SetSynthCallback(_STATE["callback"])
    return _STATE["lib"], _STATE["rate"]


def _collect(wav: Any, count: int, events: Any) -> int:
    if count > 0:
        _STATE["pcm"].append(ctypes.string_at(wav, count * 2))
    i = 0
    while events[i].type != _EVENT_END_LIST:
        ev = events[i]
        _STATE["events"].append((ev.type, ev.audio_position, ev.text_position, ev.length))
        i += 1
    return 0


class EspeakEngine:
    """Offline Mandarin (voice `cmn`), 16-bit mono PCM at the library's rate (22,050 Hz).

    By default it speaks in this process, one chunk at a time: at about 1,400 times
    real time one core is plenty, and the other cores are busy encoding (a pool of
    two workers made the example's conversion 0.5 s slower on two cores). With
    workers > 1, chunks are spoken in a pool of processes, each with its own copy of
    libespeak-ng, spawned (not forked: the synthesis stage runs threads) on the
    first request.
    """

    name = "espeak"
    max_chunk_bytes = 1500
    reads_numbers = False
    by_clause = True

    def __init__(self, *, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self.max_concurrency = self.workers
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def synthesize(self, text: str, voice: Voice) -> Speech:
        if self.workers == 1:
            return speak(text, voice)
        try:
            return self._executor().submit(speak, text, voice).result()
        except BrokenProcessPool as exc:
            raise EngineUnavailable(
                "an espeak-ng worker process died: run again, or use --concurrency 1"
            ) from exc

    def _executor(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_start,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None


ORPHAN_POLL = 0.5  # seconds between a worker's checks that its parent still lives


def _worker_start(parent: int) -> None:
    """In each worker: load the library, and leave as soon as the parent is gone.

    A parent killed with SIGKILL cannot shut its pool down; without this its workers
    (and multiprocessing's resource tracker, which waits for them) lived on for good.
    The worker notices it was adopted (its parent id changes) within ORPHAN_POLL.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL)
        os._exit(0)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()
    _library()


def speak(text: str, voice: Voice) -> Speech:
    """Synthesize in this process; one call at a time, because the library has global state."""
    with _LOCK:
        lib, rate = _library()
        if lib.espeak_SetVoiceByName(voice.voice.encode()) != 0:
            raise EngineError(f"espeak-ng has no voice {voice.voice!r}: use 'cmn' (run `readaloud voices`)")
        lib.espeak_SetParameter(_RATE, round(_DEFAULT_WPM * (1 + percent(voice.rate, what="rate"))), 0)
        lib.espeak_SetParameter(_VOLUME, max(0, round(100 * (1 + percent(voice.volume, what="volume")))), 0)
        lib.espeak_SetParameter(_PITCH, min(100, max(0, round(50 + hertz(voice.pitch) / 2))), 0)
        _STATE["pcm"], _STATE["events"] = [], []
        data = text.encode("utf-8")
        status = lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _END_PAUSE | _UTF8, None, None)
        lib.espeak_Synchronize()
        if status != 0:
            raise EngineError(f"espeak-ng failed on a chunk (status {status}): {text[:30]}…")
        pcm = b"".join(_STATE["pcm"])
        events = list(_STATE["events"])
    duration = len(pcm) / 2 / rate
    return Speech(wav_bytes(pcm, rate), "wav", duration, _boundaries(events, duration, text))


Event = tuple[int, int, int, int]  # kind, audio position (ms), text position (1-based), length


def _boundaries(events: list[Event], duration: float, text: str) -> tuple[Boundary, ...]:
    """A boundary per word event, with the word's text; each word lasts until the next starts,
    the last until the end of the message. With no word events, one boundary for the chunk."""
    words = sorted((ms, at, n) for kind, ms, at, n in events if kind == _EVENT_WORD and n > 0)
    ends = [ms for kind, ms, _, _ in events if kind == _EVENT_MSG_END]
    end = min(duration, max(ends) / 1000) if ends else duration
    if not words:
        return (Boundary(0.0, end, text),)
    starts = [min(ms / 1000, end) for ms, _, _ in words]
    return tuple(
        Boundary(start, max(start, starts[i + 1] if i + 1 < len(starts) else end), text[at - 1 : at - 1 + n])
        for i, (start, (_, at, n)) in enumerate(zip(starts, words, strict=True))
    )


_IPA = 0x02
_TIE = 0x80 | (ord("^") << 8)  # join the letters of one phoneme with ^ (t^ʃ, a^ɪ)


def english_ipa(text: str) -> str:
    """English text -> IPA from the en-us voice, phonemes of several letters tied with ^.

    The neural engine reads Latin words through this: the library is already
    here, in-process, and its English is good.
    """
    with _LOCK:
        lib, _ = _library()
        if lib.espeak_SetVoiceByName(b"en-us") != 0:
            raise EngineError("espeak-ng has no en-us voice: reinstall espeakng-loader")
        convert = lib.espeak_TextToPhonemes
        convert.restype = ctypes.c_char_p
        convert.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        pointer = ctypes.c_char_p(text.encode("utf-8"))
        words: list[str] = []
        while pointer.value:
            found = convert(ctypes.byref(pointer), _UTF8, _IPA | _TIE)
            if found:
                words.append(found.decode("utf-8", "replace"))
    return " ".join(w.strip() for w in words if w.strip())
