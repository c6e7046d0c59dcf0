"""Text preparation (load, clean, segment, plan) on unpunctuated Han: 100k vs 400k characters.

Goal: 400k take at most 4.5x the time of 100k (linear, not quadratic). Prints throughput.

    python bench/textprep.py
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readaloud.engines.registry import SPECS, EngineSettings
from readaloud.pipeline import prepare
from readaloud.speech import plan_for

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "suchao-second-venue.txt"


def main() -> None:
    rng = random.Random(0)
    han = [c for c in EXAMPLE.read_text(encoding="utf-8") if "\u4e00" <= c <= "\u9fff"]
    settings = EngineSettings(cache_dir=Path(tempfile.gettempdir()) / "readaloud-bench")
    timings: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (100_000, 400_000):
            path = Path(tmp) / f"{size}.txt"
            path.write_text("长文\n" + "".join(rng.choice(han) for _ in range(size)) + "\n", encoding="utf-8")
            for name in ("espeak", "edge"):
                engine = SPECS[name].build(settings)
                start = time.perf_counter()
                chunks = plan_for(prepare(path), engine, lexicon={}, announce=True)
                wall = time.perf_counter() - start
                timings[(name, size)] = wall
                rate = size / wall / 1000
                print(f"{name:>6} {size:>7,} chars: {wall:.2f} s, {rate:.0f}k chars/s, {len(chunks)} chunks")
                engine.close()
    print(f"load average {os.getloadavg()[0]:.2f}")
    for name in ("espeak", "edge"):
        ratio = timings[(name, 400_000)] / timings[(name, 100_000)]
        print(f"{name}: 400k / 100k = {ratio:.2f} (goal <= 4.5)")


if __name__ == "__main__":
    main()
