"""Cleaning throughput on >= 10 MB of varied noisy text (target: >= 5 MB/s on one core).

python bench/clean.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readaloud.clean import clean

ROOT = Path(__file__).resolve().parents[1]


def corpus(size: int) -> str:
    rng = random.Random(7)
    lines = ROOT.joinpath("examples", "suchao-second-venue.txt").read_text(encoding="utf-8").splitlines()
    extra = [
        row.split("\t")[0]
        for row in ROOT.joinpath("tests", "data", "annotations.tsv").read_text(encoding="utf-8").splitlines()
        if row and not row.startswith("#")
    ]
    pool = [line for line in lines[3:-8] if line] + extra + ["qwkjdhaskjd", "æ–°åŽç¤¾", "分享到：微信"]
    out, total = ["标题"], 0
    while total < size:
        line = rng.choice(pool)
        out.append(line)
        total += len(line.encode("utf-8")) + 1
    return "\n".join(out)


def main() -> None:
    text = corpus(10 * 1024 * 1024)
    megabytes = len(text.encode("utf-8")) / 1e6
    clean("标题\n互动(hùdòng)")  # load pypinyin's tables outside the timing
    start = time.perf_counter()
    result = clean(text)
    wall = time.perf_counter() - start
    print(
        f"clean: {megabytes:.1f} MB in {wall:.2f} s = {megabytes / wall:.1f} MB/s "
        f"({len(result.removals)} removals)"
    )


if __name__ == "__main__":
    main()
