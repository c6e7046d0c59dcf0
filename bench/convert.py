"""The offline example through the real CLI: cold convert vs one bare ffmpeg encode, ffmpeg processes,
and an unchanged re-run.

    python bench/convert.py

Prints, in one run:
- the cold convert's wall time (espeak, empty cache and output folder), CLI start-up included;
- the wall time of one bare ffmpeg encode of the same episode's audio at the same settings;
- their ratio (goal: 1.5 or less);
- ffmpeg processes the convert started (goal: sections + 1 or fewer), counted by a wrapper
  that READALOUD_FFMPEG points at;
- the unchanged re-run: wall time, engine requests and encodes (goal: 0, 0, 1 s or less).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "suchao-second-venue.txt"


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "readaloud", *args], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return wall, done.stderr


def main() -> None:
    real = _ffmpeg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        log = work / "ffmpeg-calls"
        shim = work / "ffmpeg"
        shim.write_text(f'#!/bin/sh\necho x >> "{log}"\nexec "{real}" "$@"\n')
        shim.chmod(0o755)
        env = {
            **os.environ,
            "READALOUD_FFMPEG": str(shim),
            "READALOUD_EDGE_URL": "",
            "XDG_CACHE_HOME": str(work / "cache"),
            "COLUMNS": "200",
        }
        out = work / "out"
        args = ["convert", str(EXAMPLE), "-o", str(out), "--engine", "espeak"]
        cold, _ = _run(args, env)
        processes = len(log.read_text().splitlines()) if log.exists() else 0
        record = json.loads(next(out.glob("*/episode.json")).read_text(encoding="utf-8"))
        sections = len(record["sections"])

        # the same audio, encoded once by a bare ffmpeg at the same settings
        episode = out / record["slug"] / record["audio"]
        pcm = work / "episode.pcm"
        subprocess.run(
            [
                real,
                "-v",
                "error",
                "-i",
                str(episode),
                "-f",
                "s16le",
                "-ac",
                "1",
                "-ar",
                "22050",
                "-y",
                str(pcm),
            ],
            check=True,
        )
        start = time.perf_counter()
        subprocess.run(
            [real, "-v", "error", "-f", "s16le", "-ar", "22050", "-ac", "1", "-i", str(pcm),
             "-c:a", "libmp3lame", "-b:a", "64k", "-ar", "44100", "-ac", "1", "-y", str(work / "bare.mp3")],
            check=True,
        )  # fmt: skip
        bare = time.perf_counter() - start

        log.unlink(missing_ok=True)
        again, stderr = _run(args, env)
        rerun_processes = len(log.read_text().splitlines()) if log.exists() else 0
        summary = [line for line in stderr.splitlines() if line.startswith("engine requests")]

    load = os.getloadavg()[0]
    print(f"audio: {record['duration'] / 60:.1f} min in {sections} sections; load average {load:.2f}")
    print(f"cold convert (CLI, espeak): {cold:.2f} s")
    print(f"one bare ffmpeg encode of the episode audio: {bare:.2f} s")
    print(f"ratio: {cold / bare:.2f} (goal <= 1.5)")
    print(f"ffmpeg processes in the cold convert: {processes} (goal <= sections + 1 = {sections + 1})")
    counts = summary[0] if summary else ""
    print(f"unchanged re-run: {again:.2f} s, ffmpeg processes {rerun_processes}; {counts}")


if __name__ == "__main__":
    main()
