"""The example through the loopback Edge server with 500 ms latency per request.

Prints wall time at concurrency 1 and at the default (4), their ratio, and an unchanged re-run.

    python bench/synth.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._measure import timed
from tests.edge_server import EdgeServer, Running

from readaloud.engines.edge import EdgeEngine
from readaloud.pipeline import prepare
from readaloud.speech import plan_chunks
from readaloud.synthesize import Cache, Stats, render_all
from readaloud.voices import resolve_voice

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "suchao-second-venue.txt"


def main() -> None:
    engine_voice = resolve_voice("yunyang")
    chunks = plan_chunks(prepare(EXAMPLE), max_bytes=EdgeEngine.max_chunk_bytes, reads_numbers=True)
    walls = {}
    with Running(EdgeServer(delay=(0.5, 0.5))) as server:
        engine = EdgeEngine(url=server.url)
        for concurrency in (1, 4):
            with tempfile.TemporaryDirectory() as cache_dir:
                cache = Cache(Path(cache_dir))
                with timed(f"{len(chunks)} chunks at concurrency {concurrency}") as figures:
                    for f in render_all(
                        chunks, engine=engine, voice=engine_voice, cache=cache, concurrency=concurrency
                    ):
                        f.result()
                walls[concurrency] = figures["wall"]
                if concurrency == 4:
                    stats = Stats()
                    with timed("unchanged re-run") as _:
                        for f in render_all(
                            chunks, engine=engine, voice=engine_voice, cache=cache, stats=stats
                        ):
                            f.result()
                    print(f"  engine requests on re-run: {stats.requests}")
    print(f"speed-up at concurrency 4: {walls[1] / walls[4]:.2f}x")


if __name__ == "__main__":
    main()
