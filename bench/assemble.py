"""Assembly cost and memory: the example, and a synthetic 100,000-character article (offline).

Peak RSS must stay below 400 MB for the long article.

    python bench/assemble.py [--chars 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._measure import timed

from readaloud.engines.espeak import EspeakEngine
from readaloud.pipeline import ConvertOptions, convert
from readaloud.voices import resolve_voice

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "suchao-second-venue.txt"


def long_article(chars: int) -> str:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    body = [line for line in lines[3:-8] if len(line) > 60]
    out, n, k = ["一篇很长的合成文章"], 0, 0
    while n < chars:
        if k % 6 == 0:
            out.append(f"第{k // 6 + 1}部分 继续阅读")
        out.append(body[k % len(body)])
        n += len(body[k % len(body)])
        k += 1
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=100_000)
    args = parser.parse_args()
    voice = resolve_voice("espeak-cmn")
    with tempfile.TemporaryDirectory() as tmp:
        article = Path(tmp) / "long.txt"
        article.write_text(long_article(args.chars), encoding="utf-8")
        for label, path in (("example", EXAMPLE), (f"{args.chars:,}-character article", article)):
            with timed(f"assemble {label}"):
                record = convert(
                    path,
                    engine=EspeakEngine(),
                    voice=voice,
                    options=ConvertOptions(output=Path(tmp) / "out"),
                    now=datetime.now(UTC),
                )
            print(f"  {len(record.sections)} sections, {record.duration / 60:.1f} min of audio")


if __name__ == "__main__":
    main()
