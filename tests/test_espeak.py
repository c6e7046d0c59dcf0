"""The offline engine: real libespeak-ng, in-process and in a process pool."""

from __future__ import annotations

import array
import io
import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from readaloud.engines.espeak import EspeakEngine
from readaloud.errors import EngineError
from readaloud.model import Speech, Voice

CMN = Voice("espeak", "cmn")


def pcm(speech: Speech) -> tuple[array.array[int], int]:
    with wave.open(io.BytesIO(speech.audio)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return array.array("h", w.readframes(w.getnframes())), w.getframerate()


def rms(samples: array.array[int]) -> float:
    return (sum(s * s for s in samples) / len(samples)) ** 0.5


def test_speaks_chinese_into_audible_audio() -> None:
    speech = EspeakEngine(workers=1).synthesize("今天天气很好，我们一起去公园散步。", CMN)
    samples, rate = pcm(speech)
    assert rate == 22050
    assert speech.duration == pytest.approx(len(samples) / rate)
    assert rms(samples) > 500  # well above silence (0) and dither
    bounds = speech.boundaries  # one per word, from espeak's word events
    text, at = "今天天气很好，我们一起去公园散步。", 0
    for b in bounds:  # each word's text is found, in order (espeak may report a word shorter)
        at = text.index(b.text, at) + len(b.text)
    assert len(bounds) >= 10
    assert bounds[0].start >= 0 and bounds[-1].end <= speech.duration
    assert all(a.start < b.start and a.end <= b.start + 1e-9 for a, b in itertools.pairwise(bounds))


def test_length_grows_with_text() -> None:
    engine = EspeakEngine(workers=1)
    short = engine.synthesize("你好。", CMN).duration
    longer = engine.synthesize("你好。今天天气很好，我们一起去公园散步，然后回家吃饭。", CMN).duration
    assert longer > 3 * short


def test_rate_option_speeds_it_up() -> None:
    engine = EspeakEngine(workers=1)
    text = "今天天气很好，我们一起去公园散步。"
    assert (
        engine.synthesize(text, Voice("espeak", "cmn", rate="+50%")).duration
        < 0.8 * engine.synthesize(text, CMN).duration
    )


def test_unknown_voice_is_a_clear_error() -> None:
    with pytest.raises(EngineError, match="no voice 'no-such-voice'"):
        EspeakEngine(workers=1).synthesize("你好", Voice("espeak", "no-such-voice"))


def test_process_pool_uses_separate_processes_and_matches_in_process_output() -> None:
    texts = [f"这是第{n}句测试的话，长度各不相同{'。' * n}" for n in range(1, 7)]
    alone = [EspeakEngine(workers=1).synthesize(t, CMN) for t in texts]
    pooled_engine = EspeakEngine(workers=2)
    try:
        with ThreadPoolExecutor(max_workers=pooled_engine.max_concurrency) as threads:
            pooled = list(threads.map(lambda t: pooled_engine.synthesize(t, CMN), texts))
        assert len(multiprocessing.active_children()) >= 2
    finally:
        pooled_engine.close()
    # libespeak-ng carries a little state between calls (pauses shift by ~10 ms): same speech within 2%
    assert [s.duration for s in pooled] == pytest.approx([s.duration for s in alone], rel=0.02)
    assert [rms(pcm(s)[0]) for s in pooled] == pytest.approx([rms(pcm(s)[0]) for s in alone], rel=0.05)


def _children(pid: int) -> set[int]:
    """Every process whose parent is pid, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


_POOL_HOLDER = """
import os, sys, time
from readaloud.engines.espeak import EspeakEngine
from readaloud.model import Voice
engine = EspeakEngine(workers=2)
for text in ("你好。", "世界。", "再见。", "明天见。"):
    engine.synthesize(text, Voice("espeak", "cmn"))
print("ready", flush=True)
time.sleep(600)
"""


def test_workers_leave_when_their_parent_is_killed(tmp_path: Path) -> None:
    """kill -9 of a process with an espeak pool: its workers and the resource tracker exit within seconds."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _POOL_HOLDER], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    workers = _children(holder.pid)
    assert len(workers) >= 2, "the pool never started its workers"
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=10)
    deadline = time.monotonic() + 8
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"{len(left)} worker processes outlived their parent"
