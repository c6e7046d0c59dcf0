"""Interrupted runs: kill -9 and Ctrl-C lose at most the chunks in flight, never a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from readaloud.audio import decoded_duration
from readaloud.engines.edge import PROBE_TEXT
from tests.conftest import ROOT
from tests.edge_server import EdgeServer

ARTICLE = (  # eight headed sections: eight Edge requests (one request never spans two sections)
    "标题在这里\n导语一句话，说明这篇文章讲什么，内容足够长。\n"
    + "\n".join(
        f"第{n}个小标题\n第{n}段正文，讲述了一件需要朗读出来的事情，内容足够长。这是第{n}段的第二句话。"
        for n in range(1, 9)
    )
    + "\n"
)
CONCURRENCY = 2


def start(tmp_path: Path, server: EdgeServer) -> subprocess.Popen[str]:
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    env = {**os.environ, "READALOUD_EDGE_URL": server.url, "READALOUD_CACHE_DIR": str(tmp_path / "chunks")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "readaloud",
            "convert",
            str(article),
            "-o",
            str(tmp_path / "out"),
            "--engine",
            "edge",
            "--concurrency",
            str(CONCURRENCY),
            "--quiet",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a shell's background job ignores SIGINT and its children inherit that, so Python would
        # never raise KeyboardInterrupt: the run gets the default handling whatever started pytest
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cached(tmp_path: Path) -> int:
    return len(list((tmp_path / "chunks").glob("*/*.json")))


def wait_for_cache(tmp_path: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while cached(tmp_path) < count:
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.02)


def rerun(tmp_path: Path, server: EdgeServer) -> int:
    """Requests for the article's text (the engine probe's test phrase is not one)."""
    before = len(server.texts)
    done = start(tmp_path, server)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    return sum(1 for text in server.texts[before:] if text != PROBE_TEXT)


def test_kill_9_resumes_without_repeating_finished_chunks(edge_server: EdgeServer, tmp_path: Path) -> None:
    edge_server.delay = (0.5, 0.5)
    run = start(tmp_path, edge_server)
    wait_for_cache(tmp_path, 3)
    os.killpg(run.pid, signal.SIGKILL)
    run.communicate(timeout=30)
    kept = cached(tmp_path)
    first = sum(1 for text in edge_server.texts if text != PROBE_TEXT)
    assert not list((tmp_path / "out").glob("*/*.mp3"))  # killed long before assembly

    edge_server.delay = (0.0, 0.0)
    second = rerun(tmp_path, edge_server)
    total = cached(tmp_path)
    assert second == total - kept  # nothing finished was asked for again
    assert first + second <= total + CONCURRENCY  # lost at most the chunks in flight
    folder = next((tmp_path / "out").glob("*/episode.json")).parent
    assert not [p for p in folder.iterdir() if p.suffix == ".part"]
    for mp3 in folder.glob("*.mp3"):
        assert decoded_duration(mp3) > 1


def test_ctrl_c_says_how_to_resume(edge_server: EdgeServer, tmp_path: Path) -> None:
    edge_server.delay = (0.5, 0.5)
    run = start(tmp_path, edge_server)
    wait_for_cache(tmp_path, 1)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130
    assert "Traceback" not in err and "run the same command again" in err
    edge_server.delay = (0.0, 0.0)
    kept = cached(tmp_path)
    assert rerun(tmp_path, edge_server) == cached(tmp_path) - kept
