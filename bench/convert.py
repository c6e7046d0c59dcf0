"""Convert the bundled example offline: wall time, peak memory, real-time factor.

python bench/convert.py
"""

from __future__ import annotations

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


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        options = ConvertOptions(output=Path(out))
        voice = resolve_voice("espeak-cmn")
        for label in ("cold (empty cache)", "warm (cache hit)"):
            with timed(f"convert {label}") as figures:
                record = convert(
                    EXAMPLE, engine=EspeakEngine(), voice=voice, options=options, now=datetime.now(UTC)
                )
            print(
                f"  audio {record.duration:.1f} s, real-time factor {record.duration / figures['wall']:.1f}x"
            )


if __name__ == "__main__":
    main()
