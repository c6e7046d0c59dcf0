"""Text + Voice -> Speech with Microsoft Edge's online neural voices (edge-tts).

The only module that imports edge_tts or aiohttp. Every fault the service is
known for (no audio, websocket errors, resets, timeouts, 403/429 handshakes)
becomes a TransientEngineError here, in one place, so the synthesis stage can
retry it; anything else is an EngineError. The websocket address can be
replaced (READALOUD_EDGE_URL, read by the CLI) for tests and relays.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import edge_tts
import edge_tts.communicate
import edge_tts.exceptions
import edge_tts.voices

from ..audio import mp3_to_wav
from ..errors import AudioError, ConfigError, EngineError, EngineUnavailable, TransientEngineError
from ..model import Boundary, Speech, Voice

TICKS_PER_SECOND = 10_000_000
SERVICE_RATE = 24_000  # audio-24khz-48kbitrate-mono-mp3
_RETRYABLE_STATUS = frozenset({403, 408, 429, 500, 502, 503, 504})
PROBE_TEXT = "你好。"
TRUNCATION_SLACK = 0.15  # seconds: word times may run a little past the last MP3 frame
PROBE_VOICE = "zh-CN-YunyangNeural"


class _Endpoint:
    """edge-tts reads its address from module globals; borrow them only while a request runs.

    Requests for the same address share the borrowed value; a request for another address
    waits until the last one is done, and the library's own value is put back every time.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._current: str | None = None
        self._users = 0

    @contextmanager
    def use(self, module: Any, name: str, value: str | None) -> Iterator[None]:
        with self._cond:
            wanted = value or "default"
            while self._users and self._current != wanted:
                self._cond.wait()
            if not self._users:
                self._saved = getattr(module, name)
                if value:
                    setattr(module, name, value)
                self._current = wanted
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                if not self._users:
                    setattr(module, name, self._saved)
                    self._current = None
                    self._cond.notify_all()


_ENDPOINT = _Endpoint()
_VOICE_LIST = _Endpoint()


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ConfigError(f"edge endpoint {url!r} must be a ws:// or wss:// address")
    # edge-tts appends "&ConnectionId=…", so the address needs a query already.
    return url if parts.query else url + ("?" if not url.endswith("?") else "") + "relay=1"


def default_url() -> str:
    return str(edge_tts.communicate.WSS_URL)  # type: ignore[attr-defined]


def voices_list_url(ws_url: str) -> str:
    """The voice list beside a websocket address: …/edge/v1?q -> https://…/voices/list?q."""
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    path = parts.path.removesuffix("/edge/v1").rstrip("/") + "/voices/list"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


class EdgeEngine:
    """Neural voices: the service's 24 kHz MP3, decoded to WAV, with a timed boundary per word."""

    name = "edge"
    max_chunk_bytes = 3000  # edge-tts cuts at 4,096 bytes of escaped text: stay well below
    reads_numbers = True
    by_clause = False
    # several sentences per request, like the edge-tts CLI (it cuts at 4,096 bytes of escaped
    # text): 4 requests for the example instead of 45, each one less throttling risk
    pack_bytes = 4000
    max_concurrency = 16

    def __init__(self, *, url: str | None = None, timeout: float = 30.0) -> None:
        self.url = check_url(url) if url else None
        self.timeout = timeout

    def close(self) -> None:
        """Nothing to let go of: each request opens and closes its own connection."""

    def synthesize(self, text: str, voice: Voice) -> Speech:
        try:
            audio, boundaries = asyncio.run(asyncio.wait_for(self._stream(text, voice), self.timeout))
        except TimeoutError as exc:
            raise TransientEngineError(f"no answer within {self.timeout:.0f} s") from exc
        except edge_tts.exceptions.NoAudioReceived as exc:
            raise TransientEngineError("the service sent no audio") from exc
        except (edge_tts.exceptions.WebSocketError, edge_tts.exceptions.UnexpectedResponse) as exc:
            raise TransientEngineError(f"websocket error: {exc}") from exc
        except edge_tts.exceptions.UnknownResponse as exc:
            raise TransientEngineError(f"unexpected answer: {exc}") from exc
        except aiohttp.ClientResponseError as exc:
            if exc.status in _RETRYABLE_STATUS:
                raise TransientEngineError(f"HTTP {exc.status} from the service") from exc
            raise EngineError(
                f"the service refused the request (HTTP {exc.status}): check the voice"
            ) from exc
        except (aiohttp.ClientError, ConnectionError, OSError) as exc:
            raise TransientEngineError(f"connection failed: {exc}") from exc
        except ValueError as exc:  # edge-tts validates voice, rate, volume and pitch
            raise EngineError(f"edge-tts rejected the voice settings: {exc}") from exc
        except edge_tts.exceptions.EdgeTTSException as exc:
            # e.g. SkewAdjustmentError: a 403 without a Date header to correct the clock by
            raise TransientEngineError(f"edge-tts failed: {type(exc).__name__}: {exc}") from exc
        if not audio:
            raise TransientEngineError("the service sent no audio")
        try:
            wav, duration = mp3_to_wav(audio, SERVICE_RATE)  # decoded once here, sliced freely later
        except AudioError as exc:
            raise TransientEngineError(f"the service's audio is damaged ({exc})") from exc
        if boundaries and duration + TRUNCATION_SLACK < boundaries[-1].end:
            # the service timed words past the audio it sent: the connection dropped mid-answer
            raise TransientEngineError(
                f"audio truncated: {duration:.1f} s received, words timed to {boundaries[-1].end:.1f} s"
            )
        return Speech(wav, "wav", duration, boundaries)

    async def _stream(self, text: str, voice: Voice) -> tuple[bytes, tuple[Boundary, ...]]:
        communicate = edge_tts.Communicate(
            text,
            voice.voice,
            rate=voice.rate,
            volume=voice.volume,
            pitch=voice.pitch,
            boundary="WordBoundary",  # word times let captions be cut mid-sentence at the right moment
            connect_timeout=min(10, int(self.timeout)),
            receive_timeout=int(self.timeout),
        )
        audio = bytearray()
        boundaries: list[Boundary] = []
        with _ENDPOINT.use(edge_tts.communicate, "WSS_URL", self.url):
            async for message in communicate.stream():
                if message["type"] == "audio":
                    audio += message["data"]
                elif message["type"] in ("WordBoundary", "SentenceBoundary"):
                    start = message["offset"] / TICKS_PER_SECOND
                    end = start + message["duration"] / TICKS_PER_SECOND
                    boundaries.append(Boundary(start, end, message["text"]))
        return bytes(audio), tuple(boundaries)


def probe(url: str | None, *, timeout: float = 5.0) -> str | None:
    """None when the service speaks a short phrase in full, else why not (one line).

    A handshake alone is not enough: a service that accepts connections and then refuses,
    drops or stays silent would fail every request of the run.
    """
    target = check_url(url) if url else None
    host = urlsplit(target or default_url()).hostname
    engine = EdgeEngine(url=target, timeout=timeout)
    try:
        speech = engine.synthesize(PROBE_TEXT, Voice("edge", PROBE_VOICE))
    except EngineError as exc:
        if isinstance(exc.__cause__, aiohttp.ClientConnectorError | ConnectionRefusedError | TimeoutError):
            return f"{host} is unreachable ({type(exc.__cause__).__name__})"
        return f"{host} did not speak a test phrase ({exc})"
    if speech.duration < 0.3:
        return f"{host} answered a test phrase with {speech.duration:.2f} s of audio"
    return None


def list_online_voices(url: str | None, *, locale: str | None = None) -> list[dict[str, Any]]:
    """Edge's voice catalogue, optionally filtered by locale prefix (zh, zh-CN…)."""
    address = voices_list_url(check_url(url)) if url else None
    try:
        with _VOICE_LIST.use(edge_tts.voices, "VOICE_LIST", address):
            found: list[dict[str, Any]] = [dict(v) for v in asyncio.run(edge_tts.list_voices())]
    except (aiohttp.ClientError, OSError, TimeoutError, edge_tts.exceptions.EdgeTTSException) as exc:
        raise EngineUnavailable(
            f"cannot list Edge voices ({type(exc).__name__}): check the network or READALOUD_EDGE_URL"
        ) from exc
    if locale:
        found = [v for v in found if str(v.get("Locale", "")).lower().startswith(locale.lower())]
    return found
