"""`readaloud --help` against the --help of a minimal two-command typer app (goal: at most 1.5x).

    python bench/startup.py [--runs 15]
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

MINIMAL = """\
import typer

app = typer.Typer()


@app.command()
def one(name: str) -> None:
    print(name)


@app.command()
def two(name: str) -> None:
    print(name)


app()
"""


def median_wall(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal.py"
        minimal.write_text(MINIMAL, encoding="utf-8")
        base = median_wall([sys.executable, str(minimal), "--help"], runs)
    ours = median_wall([sys.executable, "-m", "readaloud", "--help"], runs)
    print(f"load average {os.getloadavg()[0]:.2f}; median of {runs} runs")
    print(f"minimal typer app --help: {base * 1000:.0f} ms")
    print(f"readaloud --help:         {ours * 1000:.0f} ms")
    print(f"ratio: {ours / base:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
