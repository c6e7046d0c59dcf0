from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edge_server import EdgeServer, Running

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "suchao-second-venue.txt"
DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite tests/golden/ from the code.")


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """golden(name, text): compare with tests/golden/name, or rewrite it with --update-golden."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"no golden file {name}: run pytest --update-golden and review the diff"
        assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"

    return check


@pytest.fixture
def edge_server() -> Iterator[EdgeServer]:
    with Running(EdgeServer()) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_real_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach Microsoft: the Edge address points at a closed loopback port."""
    monkeypatch.setenv("READALOUD_EDGE_URL", "ws://127.0.0.1:9/closed?x=1")


@pytest.fixture(autouse=True)
def _own_chunk_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The CLI keeps chunks in the user cache folder: each test gets a cache of its own instead."""
    monkeypatch.setenv("READALOUD_CACHE_DIR", str(tmp_path_factory.mktemp("chunks")))


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    """The installed CLI in a subprocess, exactly as a user runs it."""
    import os
    import subprocess
    import sys

    full_env = {**os.environ, **(env or {}), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "readaloud", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="session")
def example_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example converted offline through the real CLI, once per test run."""
    root = tmp_path_factory.mktemp("out")
    done = run_cli(
        "convert",
        str(EXAMPLE),
        "-o",
        str(root),
        "--engine",
        "espeak",
        "--base-url",
        "https://podcast.example.org/news/",
        env={"READALOUD_EDGE_URL": ""},
    )
    assert done.returncode == 0, done.stderr
    return root


def example_with_formats(example_output: Path, root: Path, *formats: str) -> Path:
    """The example's output copied (hard links) to root and converted again asking for more formats:
    the episode is up to date, so only the formats are made. Returns the episode folder."""
    import os
    import shutil

    shutil.copytree(example_output, root, copy_function=os.link)
    asked = [arg for name in ("podcast", *formats) for arg in ("--format", name)]
    done = run_cli(
        "convert", str(EXAMPLE), "-o", str(root), "--engine", "espeak", *asked,
        "--base-url", "https://podcast.example.org/news/",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "unchanged" in done.stderr  # nothing synthesized or encoded again for the new formats
    return next(p.parent for p in root.glob("*/episode.json"))


def convert_text(folder: Path, text: str, *options: str) -> Path:
    """An article written to folder/article.txt and converted with espeak into folder/out, through
    the CLI; returns its episode folder."""
    source = folder / "article.txt"
    source.write_text(text, encoding="utf-8")
    done = run_cli("convert", str(source), "-o", str(folder / "out"), "--engine", "espeak", *options, "-q")
    assert done.returncode == 0, done.stderr
    return next(p.parent for p in (folder / "out").glob("*/episode.json"))


@pytest.fixture(scope="session")
def example_episode(example_output: Path) -> Path:
    folders = [p.parent for p in example_output.glob("*/episode.json")]
    assert len(folders) == 1
    return folders[0]


@pytest.fixture(scope="session")
def kokoro_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder of our own, so the model is joined from the installed parts in this run."""
    return tmp_path_factory.mktemp("kokoro-cache")


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium, headless, driven by Playwright (its own browser download is unreachable)."""
    from playwright.sync_api import sync_playwright

    from tests.validators import chromium

    path = chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, headless=True, args=BROWSER_ARGS)
        yield launched
        launched.close()


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's WCAG 2.x A/AA violations on the page as it is now, one line each."""
    from tests.validators import axe_script

    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
