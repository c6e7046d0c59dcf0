"""A loopback server that speaks the Edge read-aloud websocket protocol, with fault injection.

It answers `Path:speech.config` + `Path:ssml` text frames the way the real
service does: `turn.start`, binary `Path:audio` frames (2-byte big-endian
header length, headers, MP3 bytes), `audio.metadata` messages (a
SentenceBoundary, or a WordBoundary per word when the client's speech.config
asks for them; one boundary a message, offsets in 100 ns ticks), a final
empty audio frame, `turn.end`. The audio is a real 24 kHz / 48 kbit/s mono
MP3 made by ffmpeg, one tone per sentence, lasting as long as the text would
take to say (5 characters a second).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import subprocess
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from html import unescape

from aiohttp import WSMsgType, web

from readaloud.audio import ffmpeg

CHARS_PER_SECOND = 5.0
TICKS = 10_000_000
FAULTS = ("no_audio", "reset", "timeout", "403", "429", "truncate", "cut")


@dataclass
class EdgeServer:
    faults: deque[str] = field(default_factory=deque)  # consumed one per connection
    persistent: str | None = None  # applied to every connection while set
    delay: tuple[float, float] = (0.0, 0.0)  # random extra latency per request
    ssml_requests: int = 0
    connections: int = 0
    active: int = 0
    max_active: int = 0
    texts: list[str] = field(default_factory=list)
    fail_texts: set[str] = field(default_factory=set)  # requests holding these always get no audio
    healthy_first: int = 0  # with `persistent`: this many requests are served well before it applies
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _mp3_cache: dict[int, bytes] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return (
            f"ws://127.0.0.1:{self.port}/consumer/speech/synthesize/readaloud/edge/v1?TrustedClientToken=test"
        )

    def _next_fault(self) -> str | None:
        with self._lock:
            if self.faults:
                return self.faults.popleft()
            if self.healthy_first > 0:
                self.healthy_first -= 1
                return None
            return self.persistent

    def mp3(self, seconds: float) -> bytes:
        ms = max(100, round(seconds * 1000))
        if ms not in self._mp3_cache:
            out = subprocess.run(
                [
                    ffmpeg(),
                    "-v",
                    "error",
                    "-f",
                    "lavfi",
                    "-i",
                    f"sine=frequency=220:duration={ms / 1000}",
                    "-af",
                    "volume=-12dB",
                    "-ar",
                    "24000",
                    "-ac",
                    "1",
                    "-c:a",
                    "libmp3lame",
                    "-b:a",
                    "48k",
                    "-write_xing",
                    "0",
                    "-id3v2_version",
                    "0",
                    "-f",
                    "mp3",
                    "-",
                ],
                capture_output=True,
                check=True,
            )
            self._mp3_cache[ms] = out.stdout
        return self._mp3_cache[ms]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fault = self._next_fault()
        with self._lock:
            self.connections += 1
        if fault in ("403", "429"):
            return web.Response(status=int(fault), text="refused by test server")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            await self._serve(ws, fault)
        finally:
            with self._lock:
                self.active -= 1
        return ws

    async def _serve(self, ws: web.WebSocketResponse, fault: str | None) -> None:
        words = False  # what the client's speech.config asked for
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            head, _, body = msg.data.partition("\r\n\r\n")
            if "Path:speech.config" in head:
                words = '"wordBoundaryEnabled":"true"' in body
                continue
            if "Path:ssml" not in head:
                continue
            text = unescape(re.sub(r"<[^>]+>", "", body)).strip()
            with self._lock:
                self.ssml_requests += 1
                self.texts.append(text)
            if any(failing in text for failing in self.fail_texts):
                fault = "no_audio"
            low, high = self.delay
            if high:
                await asyncio.sleep(random.uniform(low, high))
            rid = uuid.uuid4().hex
            if fault == "timeout":
                await asyncio.sleep(3600)
            if fault == "reset":
                assert ws._req is not None and ws._req.transport is not None
                ws._req.transport.abort()
                return
            await ws.send_str(_text_frame(rid, "turn.start", {"context": {"serviceTag": "test"}}))
            if fault != "no_audio":
                seconds = len(text) / CHARS_PER_SECOND
                audio = self.mp3(seconds / 10 if fault == "truncate" else seconds)
                spoken = len(audio) / 6000 - 0.1
                found = _word_boundaries(text, spoken) if words else [_boundary(text, 0.05, spoken)]
                for boundary in found:  # like the service: one metadata message per boundary
                    await ws.send_str(_text_frame(rid, "audio.metadata", {"Metadata": [boundary]}))
                for start in range(0, len(audio), 4096):
                    if fault == "cut" and start >= len(audio) // 3:  # the connection drops mid-audio
                        assert ws._req is not None and ws._req.transport is not None
                        ws._req.transport.abort()
                        return
                    await ws.send_bytes(_audio_frame(rid, audio[start : start + 4096]))
                await ws.send_bytes(_audio_frame(rid, b""))
            await ws.send_str(_text_frame(rid, "turn.end", {}))

    async def voices(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"ShortName": "zh-CN-YunyangNeural", "Gender": "Male", "Locale": "zh-CN"},
                {"ShortName": "zh-CN-XiaoxiaoNeural", "Gender": "Female", "Locale": "zh-CN"},
                {"ShortName": "en-US-EmmaNeural", "Gender": "Female", "Locale": "en-US"},
            ]
        )


def _boundary(text: str, start: float, seconds: float, kind: str = "SentenceBoundary") -> dict[str, object]:
    return {
        "Type": kind,
        "Data": {
            "Offset": round(start * TICKS),
            "Duration": round(seconds * TICKS),
            "text": {"Text": text, "Length": len(text), "BoundaryType": kind},
        },
    }


def _word_boundaries(text: str, seconds: float) -> list[dict[str, object]]:
    """Like the service: one boundary per word (here a Han character, a Latin word or a number),
    none for punctuation, spread over the speech."""
    words = re.findall(r"[A-Za-z0-9]+|[\u4e00-\u9fff]", text) or [text]
    step = seconds / len(words)
    return [_boundary(w, 0.05 + i * step, step, "WordBoundary") for i, w in enumerate(words)]


def _text_frame(rid: str, path: str, body: object) -> str:
    return (
        f"X-RequestId:{rid}\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}\r\n\r\n"
        + json.dumps(body)
    )


def _audio_frame(rid: str, data: bytes) -> bytes:
    # The real service puts X-RequestId first: the client glues the length prefix to the first key.
    content = "Content-Type:audio/mpeg\r\n" if data else ""
    header = f"X-RequestId:{rid}\r\n{content}Path:audio\r\n".encode()
    return len(header).to_bytes(2, "big") + header + data


class Running:
    """Runs an EdgeServer on 127.0.0.1 in a thread of its own."""

    def __init__(self, server: EdgeServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None

    def __enter__(self) -> EdgeServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self.server

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/consumer/speech/synthesize/readaloud/edge/v1", self.server.handle)
        app.router.add_get("/consumer/speech/synthesize/readaloud/voices/list", self.server.voices)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets if site._server else []
        self.server.port = sockets[0].getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        assert self.runner is not None
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
