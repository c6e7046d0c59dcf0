"""The command line: help, clear one-line errors, and the small commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, run_cli


@pytest.mark.parametrize(
    "command", ["convert", "clean", "outline", "voices", "check", "feed", "remove", "init", "cache"]
)
def test_help_explains_every_command(command: str) -> None:
    done = run_cli(command, "--help")
    assert done.returncode == 0 and "Usage" in done.stdout


def one_line_error(done) -> str:  # type: ignore[no-untyped-def]
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_missing_file(tmp_path: Path) -> None:
    line = one_line_error(
        run_cli("convert", str(tmp_path / "nope.txt"), "-o", str(tmp_path), "--engine", "espeak")
    )
    assert "does not exist" in line


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    line = one_line_error(run_cli("clean", str(tmp_path / "empty.txt")))
    assert "is empty" in line


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_bytes(b"\x00\x01\x02" * 100)
    assert "binary" in one_line_error(run_cli("clean", str(tmp_path / "x.txt")))


def test_folder_without_articles(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    line = one_line_error(
        run_cli("convert", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--engine", "espeak")
    )
    assert "holds no articles" in line


def test_unwritable_output(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    line = one_line_error(run_cli("convert", str(EXAMPLE), "-o", str(blocker / "out"), "--engine", "espeak"))
    assert "cannot write" in line and "-o" in line


def test_unknown_voice() -> None:
    line = one_line_error(run_cli("convert", str(EXAMPLE), "--voice", "nobody", "--engine", "espeak"))
    assert "unknown voice 'nobody'" in line


def test_clean_report_and_json() -> None:
    done = run_cli("clean", str(EXAMPLE), "--report")
    assert done.returncode == 0 and "(hùdòng)" not in done.stdout
    assert "boilerplate" in done.stderr and "相关推荐" in done.stderr
    data = json.loads(run_cli("clean", str(EXAMPLE), "--json").stdout)
    assert data["credit"] == "新华日报·交汇点记者 林元沁"
    assert {"line", "text", "reason"} == set(data["removals"][0])


def test_outline_and_spoken() -> None:
    data = json.loads(run_cli("outline", str(EXAMPLE), "--json").stdout)
    assert [s["heading"] for s in data["sections"]][1:] == [
        "开门领题，坚持问需于民问计于民",
        "一线解题，变“问题清单”为“幸福清单”",
        "担当作为，切实转作风提效能",
    ]
    spoken = run_cli("outline", str(EXAMPLE), "--spoken").stdout
    assert "百分之九十七点八四" in spoken and "幺二三四五" in spoken and "97.84%" not in spoken


def test_voices_lists_presets() -> None:
    out = run_cli("voices").stdout
    for name in ("yunyang", "xiaoxiao", "yunxi", "xiaoyi", "hsiaochen", "hiugaai", "espeak-cmn"):
        assert name in out


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    assert "base_url" in (tmp_path / "readaloud.toml").read_text(encoding="utf-8")
    assert "already exists" in one_line_error(run_cli("init", cwd=tmp_path))
    done = run_cli("feed", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_remove_unknown_slug(tmp_path: Path) -> None:
    assert "no episode" in one_line_error(run_cli("remove", "../etc", "-o", str(tmp_path)))


def test_many_articles_one_failing_then_remove(tmp_path: Path) -> None:
    import feedparser

    good = tmp_path / "in" / "good.txt"
    good.parent.mkdir()
    good.write_text("好消息标题\n这是一篇很短的文章，只有一句话。\n", encoding="utf-8")
    (tmp_path / "in" / "bad.txt").write_bytes(b"")
    out = tmp_path / "out"
    done = run_cli("convert", str(tmp_path / "in"), "-o", str(out), "--engine", "espeak")
    assert done.returncode == 1
    assert "bad.txt" in done.stderr and "is empty" in done.stderr and "1/2 converted" in done.stderr
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert [e.title for e in feed.entries] == ["好消息标题"]

    slug = next(out.glob("*/episode.json")).parent.name
    assert run_cli("remove", slug, "-o", str(out)).returncode == 0
    assert not (out / slug).exists()
    assert feedparser.parse((out / "feed.xml").read_bytes()).entries == []


def test_chunks_are_cached_outside_the_published_folder(tmp_path: Path) -> None:
    """The output folder is what gets published: the chunk cache lives elsewhere (--cache-dir here,
    the user cache folder by default), and `cache info` / `clear` work on it."""
    import re

    article = tmp_path / "a.txt"
    article.write_text("标题\n第一句话，内容足够长。第二句话，也足够长。\n", encoding="utf-8")
    out, chunks = tmp_path / "out", tmp_path / "chunks"
    done = run_cli("convert", str(article), "-o", str(out), "--engine", "espeak", "--cache-dir", str(chunks))
    assert done.returncode == 0, done.stderr
    assert not (out / ".cache").exists()
    stored = len(list(chunks.glob("*/*.json")))
    info = run_cli("cache", "info", "--cache-dir", str(chunks)).stdout
    assert int(re.search(r"(\d+) chunks", info).group(1)) == stored > 3
    again = run_cli(
        "convert", str(article), "-o", str(out), "--engine", "espeak", "--cache-dir", str(chunks), "--force"
    )
    assert f"engine requests 0, cache hits {stored}" in again.stderr
    assert run_cli("cache", "clear", "--cache-dir", str(chunks)).returncode == 0
    assert not chunks.exists()
    assert "0 chunks" in run_cli("cache", "info", "--cache-dir", str(chunks)).stdout


def test_an_old_cache_inside_the_output_is_still_read_and_can_be_adopted(tmp_path: Path) -> None:
    """Folders converted by an earlier readaloud keep their chunks in OUTPUT/.cache: they are read
    (nothing is synthesized again), and `cache adopt` moves them out of the published tree."""
    article = tmp_path / "a.txt"
    article.write_text("标题\n第一句话，内容足够长。第二句话，也足够长。\n", encoding="utf-8")
    out, chunks = tmp_path / "out", tmp_path / "chunks"
    first = run_cli(
        "convert", str(article), "-o", str(out), "--engine", "espeak", "--cache-dir", str(out / ".cache")
    )
    assert first.returncode == 0, first.stderr
    stored = len(list((out / ".cache").glob("*/*.json")))
    again = run_cli(
        "convert", str(article), "-o", str(out), "--engine", "espeak", "--cache-dir", str(chunks), "--force"
    )
    assert f"engine requests 0, cache hits {stored}" in again.stderr
    assert not chunks.exists() or not list(chunks.glob("*/*.json"))  # read, not copied
    moved = run_cli("cache", "adopt", "-o", str(out), "--cache-dir", str(chunks))
    assert moved.returncode == 0, moved.stderr
    assert not (out / ".cache").exists()
    assert len(list(chunks.glob("*/*.json"))) == stored


def test_configured_cover_is_embedded_and_checked(tmp_path: Path) -> None:
    from mutagen.id3 import ID3

    from readaloud.feed import plain_cover

    out = tmp_path / "out"
    out.mkdir()
    (out / "art.png").write_bytes(plain_cover(size=1000))  # too small for Apple
    config = tmp_path / "readaloud.toml"
    config.write_text('[feed]\nimage = "art.png"\n[output]\ndir = "out"\n', encoding="utf-8")
    article = tmp_path / "a.txt"
    article.write_text("封面测试\n这是一篇很短的文章，只有一句话。\n", encoding="utf-8")
    done = run_cli("convert", str(article), "--engine", "espeak", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1000x1000" in done.stderr and "1400 to 3000" in done.stderr
    mp3 = next(out.glob("*/[0-9][0-9]-*.mp3"))
    [picture] = ID3(mp3).getall("APIC")
    assert picture.mime == "image/png" and picture.data == (out / "art.png").read_bytes()
    assert 'href="https://example.com/podcast/art.png"' in (out / "feed.xml").read_text(encoding="utf-8")


def test_a_broken_ffmpeg_on_path_is_not_used(tmp_path: Path) -> None:
    """The pinned binary is used, whatever PATH holds; READALOUD_FFMPEG is the way to choose another."""
    import os

    bad = tmp_path / "bin"
    bad.mkdir()
    (bad / "ffmpeg").write_text("#!/bin/sh\necho 'error while loading shared libraries' >&2\nexit 127\n")
    (bad / "ffmpeg").chmod(0o755)
    article = tmp_path / "a.txt"
    article.write_text("标题在这里\n这是一段足够长的正文，用来检查编码器的选择。\n", encoding="utf-8")
    path = f"{bad}{os.pathsep}{os.environ['PATH']}"
    done = run_cli(
        "convert", str(article), "-o", str(tmp_path / "out"), "--engine", "espeak", env={"PATH": path}
    )
    assert done.returncode == 0, done.stderr
    done = run_cli(
        "convert", str(article), "-o", str(tmp_path / "out2"), "--engine", "espeak", "--quiet",
        env={"READALOUD_FFMPEG": str(tmp_path / "missing-ffmpeg")},
    )  # fmt: skip
    assert done.returncode == 1 and "READALOUD_FFMPEG" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_no_noise_at_exit(tmp_path: Path) -> None:
    """The espeak worker pool is shut down by the CLI, not left to the interpreter's exit hooks,
    which now and then printed "Exception ignored … Bad file descriptor"."""
    article = tmp_path / "a.txt"
    article.write_text("标题在这里\n这是第一句，足够长了。这是第二句，也足够长。\n", encoding="utf-8")
    for n in range(5):
        done = run_cli(
            "convert", str(article), "-o", str(tmp_path / f"out{n}"), "--engine", "espeak", "--quiet"
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ('[speech]\nconcurrency = "four"\n', "concurrency"),
        ("[output]\ndir = 7\n", "dir"),
        ("[speech]\nretries = -1\n", "retries"),
        ("[output]\nsample_rate = -5\n", "sample_rate"),
        ('[output]\nbitrate = "loud"\n', "bitrate"),
        ('[feed]\nlanguage = "klingon"\n', "language"),
        ('[feed]\ntitle = ""\n', "title"),
        ("feed = 1\n", "feed"),
        ('[speech]\nengine = "siri"\n', "engine"),
        ("[output]\nsection_pause = 99\n", "section_pause"),
        ('[feed]\nimage = "missing.jpg"\n', "missing.jpg"),
    ],
)
def test_bad_config_values_are_one_line_before_any_work(tmp_path: Path, toml: str, names: str) -> None:
    config = tmp_path / "readaloud.toml"
    config.write_text(toml, encoding="utf-8")
    article = tmp_path / "a.txt"
    article.write_text("标题\n正文内容足够长，可以朗读。\n", encoding="utf-8")
    done = run_cli(
        "convert", str(article), "-o", str(tmp_path / "out"), "--config", str(config), "--engine", "espeak"
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0] and "Traceback" not in done.stderr
    assert not list((tmp_path / "out").glob("*/*.mp3"))


def test_check_notices_junk_after_the_last_frame(example_output: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(example_output, copy)
    episode = next(copy.glob("*/episode.json")).parent
    mp3 = episode / f"{episode.name}.mp3"
    mp3.write_bytes(mp3.read_bytes() + b"\0" * 53_000)
    done = run_cli("check", str(copy))
    assert done.returncode == 1
    assert "bytes after the last MP3 frame" in done.stderr
