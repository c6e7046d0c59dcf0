"""Edge synthesis of the example against the loopback server at 500 ms per request: our requests
and wall time at the default concurrency, next to the edge-tts CLI's on the same clean text.

Goals: at most 8 requests for the example; our wall at most the CLI's.

    python bench/synth.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.edge_server import EdgeServer, Running

from readaloud.engines.edge import EdgeEngine
from readaloud.pipeline import article_text, prepare
from readaloud.speech import plan_for
from readaloud.synthesize import DEFAULT_CONCURRENCY, Cache, Stats, render_all
from readaloud.voices import resolve_voice

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "suchao-second-venue.txt"
EDGE_TTS_CLI = """
import sys
import edge_tts.communicate
edge_tts.communicate.WSS_URL = sys.argv.pop(1)  # the loopback server instead of Microsoft's
from edge_tts.util import main
main()
"""


def main() -> None:
    voice = resolve_voice("yunyang")
    article = prepare(EXAMPLE)
    with Running(EdgeServer(delay=(0.5, 0.5))) as server, tempfile.TemporaryDirectory() as tmp:
        engine = EdgeEngine(url=server.url)
        chunks = plan_for(article, engine, lexicon={}, announce=True)
        stats = Stats()
        start = time.perf_counter()
        for future in render_all(
            chunks, engine=engine, voice=voice, cache=Cache(Path(tmp) / "c"), stats=stats
        ):
            future.result()
        ours = time.perf_counter() - start
        ours_requests = server.ssml_requests

        text = Path(tmp) / "clean.txt"
        text.write_text(article_text(article), encoding="utf-8")
        before = server.ssml_requests
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", EDGE_TTS_CLI, server.url + "&relay=1", "--voice", voice.voice,
             "--file", str(text), "--write-media", str(Path(tmp) / "cli.mp3")],
            check=True, capture_output=True,
        )  # fmt: skip
        cli = time.perf_counter() - start
        cli_requests = server.ssml_requests - before
    print(f"load average {os.getloadavg()[0]:.2f}; loopback server answers each request after 500 ms")
    print(
        f"readaloud: {ours_requests} requests (goal <= 8), {ours:.2f} s at concurrency {DEFAULT_CONCURRENCY}"
    )
    print(f"edge-tts CLI, same clean text: {cli_requests} requests, {cli:.2f} s (process start included)")
    print(f"ratio readaloud / CLI: {ours / cli:.2f} (goal <= 1)")


if __name__ == "__main__":
    main()
