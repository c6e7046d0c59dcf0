"""What the extra formats cost once the audio exists, and what a news page costs to read.

    python bench/formats.py [--runs 5]

1. converts the bundled example with espeak (not timed: the audio all formats reuse)
2. DAISY, EPUB and the listening pages made again from the record, each timed (median of runs)
3. an unchanged re-run of the CLI asking for every format (goal: still about a second)
4. a news page of the test corpus through trafilatura and the cleaner (median of runs)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "suchao-second-venue.txt"
PAGE = ROOT / "tests" / "data" / "pages" / "pinyin-report.html"


def median_time(runs: int, work) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from readaloud.episode import load_records
    from readaloud.feed import FeedSettings
    from readaloud.pipeline import prepare
    from readaloud.publish import write_episode_formats
    from readaloud.web import write_site

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        env = {**os.environ, "READALOUD_CACHE_DIR": str(Path(tmp) / "chunks")}
        every = ["--format", "podcast", "--format", "daisy", "--format", "epub", "--format", "web"]
        command = [sys.executable, "-m", "readaloud", "convert", str(EXAMPLE), "-o", str(out), "-q"]
        subprocess.run([*command, "--engine", "espeak", *every], check=True, env=env)
        record = load_records(out)[0]
        folder = out / record.slug
        feed = FeedSettings()
        for name in ("daisy", "epub"):
            took = median_time(
                args.runs, lambda n=name: write_episode_formats(folder, record, (n,), feed, force=True)
            )
            print(f"{name} from the record: {took * 1000:.0f} ms")
        took = median_time(args.runs, lambda: write_site(out, feed))
        print(f"listening pages (index + episode): {took * 1000:.0f} ms")
        epub = folder / f"{record.slug}.epub"
        audio = sum((folder / s.file).stat().st_size for s in record.sections)
        print(
            f"EPUB size {epub.stat().st_size / 1e6:.2f} MB"
            f" (section MP3s {audio / 1e6:.2f} MB, stored as they are)"
        )
        again = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([*command, "--engine", "espeak", *every], check=True, env=env)
            again.append(time.perf_counter() - start)
        print(f"unchanged re-run with every format: {statistics.median(again):.2f} s (median of {args.runs})")
        prepare(PAGE)  # trafilatura's and jieba's first-use loading, not per page
        took = median_time(args.runs, lambda: prepare(PAGE))
        print(
            f"news page through trafilatura and the cleaner: {took * 1000:.0f} ms"
            f" ({PAGE.stat().st_size} bytes)"
        )


if __name__ == "__main__":
    main()
