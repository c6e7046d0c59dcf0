"""Shared helpers for the benchmarks: wall time and peak memory of a block."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed(label: str) -> Iterator[dict[str, float]]:
    figures: dict[str, float] = {}
    start = time.perf_counter()
    yield figures
    figures["wall"] = time.perf_counter() - start
    # ffmpeg children are left out: a forked child starts with its parent's peak RSS on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label}: wall {figures['wall']:.2f} s, peak RSS {own:.0f} MB")
