"""The CLI on the bundled example: files, durations, chapters, tags, transcripts, loudness."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from readaloud.audio import decoded_duration, ffmpeg, loudness, probe
from readaloud.episode import EpisodeRecord
from readaloud.transcript import read_cue_times

SECTION_PAUSE = 1.2  # the default AudioSettings.section_pause
HEADINGS = [
    "开门领题，坚持问需于民问计于民",
    "一线解题，变“问题清单”为“幸福清单”",
    "担当作为，切实转作风提效能",
]
TITLE = "打造“苏超”赛区“第二现场”！江苏这样办好让群众可感可及的实事"


def sections(folder: Path) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]-*.mp3"))


def test_one_mp3_per_section_with_ascii_names(example_episode: Path) -> None:
    files = sections(example_episode)
    assert [f.name[:3] for f in files] == ["01-", "02-", "03-", "04-"]
    for f in [*files, *example_episode.iterdir()]:
        assert f.name.isascii() and " " not in f.name
    assert (example_episode / f"{example_episode.name}.mp3").is_file()


def test_section_files_are_mono_speech_of_plausible_length(example_episode: Path) -> None:
    total = 0.0
    for f in sections(example_episode):
        info = probe(f)
        assert info.channels == 1 and info.sample_rate == 44100 and info.bitrate_kbps == 64
        total += decoded_duration(f)
    # ~2,700 characters of Mandarin: several minutes at any sane speaking rate (3-8 chars/s)
    assert 2700 / 8 < total < 2700 / 3


JOIN_SLACK = 0.06  # where two section files meet, their encoder priming and padding stay in: < 2 frames


def test_episode_is_the_sections_joined(example_episode: Path) -> None:
    parts = [decoded_duration(f) for f in sections(example_episode)]
    episode = decoded_duration(example_episode / f"{example_episode.name}.mp3")
    assert sum(parts) <= episode <= sum(parts) + JOIN_SLACK * (len(parts) - 1)


def test_each_section_but_the_last_ends_with_the_pause(example_episode: Path) -> None:
    """The pause between sections lives at the end of each section file, so joining them is the episode."""
    files = sections(example_episode)
    for f in files:
        raw = subprocess.run(
            [ffmpeg(), "-v", "error", "-i", str(f), "-f", "s16le", "-ac", "1", "-ar", "16000", "-"],
            capture_output=True,
            check=True,
        ).stdout
        pcm = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768
        tail = pcm[-int(16000 * (SECTION_PAUSE - 0.1)) :]
        speech_before = pcm[-int(16000 * (SECTION_PAUSE + 2)) : -int(16000 * SECTION_PAUSE)]
        quiet = np.sqrt(np.mean(tail**2)) < 0.003
        assert quiet == (f != files[-1]), f.name
        assert np.sqrt(np.mean(speech_before**2)) > 0.01  # speech right before it


def test_id3_chapters_fall_on_section_starts(example_episode: Path) -> None:
    episode = example_episode / f"{example_episode.name}.mp3"
    chapters = probe(episode).chapters  # ffmpeg's own reading of the CHAP frames
    assert [c.title for c in chapters] == [TITLE, *HEADINGS]
    parts = [decoded_duration(f) for f in sections(example_episode)]
    start = 0.0
    for chapter, length in zip(chapters, parts, strict=True):
        # a chapter starts where its section's frames start: after the sections before it
        # and their priming and padding (under two frames each)
        assert start - 0.001 <= chapter.start <= start + 0.001 + JOIN_SLACK
        start = chapter.start + length
    assert abs(chapters[-1].end - decoded_duration(episode)) < 0.03
    tags = ID3(episode)
    toc = tags.getall("CTOC")[0]
    assert toc.child_element_ids == [
        c.element_id for c in sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    ]


def test_chapters_json_matches_id3(example_episode: Path) -> None:
    doc = json.loads((example_episode / f"{example_episode.name}.chapters.json").read_text(encoding="utf-8"))
    assert doc["version"] == "1.2.0"
    id3 = sorted(
        ID3(example_episode / f"{example_episode.name}.mp3").getall("CHAP"), key=lambda c: c.start_time
    )
    assert len(doc["chapters"]) == len(id3) == 4
    duration = MP3(example_episode / f"{example_episode.name}.mp3").info.length
    previous = -1.0
    for item, frame in zip(doc["chapters"], id3, strict=True):
        assert isinstance(item["startTime"], int | float) and isinstance(item["title"], str)
        assert item["startTime"] > previous
        previous = item["startTime"]
        assert abs(item["startTime"] * 1000 - frame.start_time) <= 1
        assert item["title"] == frame.sub_frames["TIT2"].text[0]
        assert item["endTime"] <= duration + 0.05


def test_tags_read_back(example_episode: Path) -> None:
    files = sections(example_episode)
    for n, f in enumerate(files, start=1):
        tags = ID3(f)
        assert tags.version[:2] == (2, 3)
        assert tags["TRCK"].text[0] == f"{n}/{len(files)}"
        assert tags["TPE1"].text[0] == "新华日报·交汇点记者 林元沁"
        assert tags.getall("TXXX:readaloud:engine")[0].text[0] == "espeak"
        assert tags.getall("TXXX:readaloud:voice")[0].text[0] == "cmn"
        assert tags["TLAN"].text[0] == "chi"
    assert ID3(files[1])["TIT2"].text[0].endswith(HEADINGS[0])


def test_loudness_is_podcast_target(example_episode: Path) -> None:
    for f in [*sections(example_episode), example_episode / f"{example_episode.name}.mp3"]:
        level = loudness(f)  # ffmpeg ebur128 on the written file
        assert -17.0 <= level.integrated <= -15.0, (f.name, level)
        assert level.true_peak <= -1.0, (f.name, level)


def test_transcript_cues_cover_engine_timings(example_episode: Path) -> None:
    record = EpisodeRecord.load(example_episode)
    vtt = (example_episode / record.transcript_vtt).read_text(encoding="utf-8")
    srt = (example_episode / record.transcript_srt).read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    times = read_cue_times(vtt)
    assert times == read_cue_times(srt)
    # written form, not spoken: the transcript says 97.84%, not 百分之九十七点八四
    flat = vtt.replace("\n", "")
    assert "97.84%" in flat and "百分之九十七" not in flat
    assert "12345" in flat and "幺二三四五" not in flat
    assert "hùdòng" not in flat and "相关推荐" not in flat
    starts = [s for s, _ in times]
    assert starts == sorted(starts)
    assert all(e <= record.duration + 0.05 for _, e in times)
    # every section starts with its first cue (the heading), at the chapter start
    for section in record.sections[1:]:
        nearest = min(abs(s - section.start) for s in starts)
        assert nearest < 0.25
    for line in srt.splitlines():
        assert len(line) <= 40


def test_check_passes_on_fresh_output(example_output: Path) -> None:
    from readaloud.check import check_output

    assert check_output(example_output) == []


def test_check_reports_a_damaged_episode(example_output: Path, tmp_path: Path) -> None:
    import shutil

    from readaloud.check import check_output

    copy = tmp_path / "copy"
    shutil.copytree(example_output, copy)
    episode = next(copy.glob("*/episode.json")).parent
    audio = episode / f"{episode.name}.mp3"
    audio.write_bytes(audio.read_bytes()[: audio.stat().st_size // 2])
    problems = check_output(copy)
    assert any("plays" in p for p in problems)
    assert any("enclosure length" in p or "size differs" in p for p in problems)


@pytest.mark.parametrize("name", ["txt"])
def test_read_along_text_has_headings(example_episode: Path, name: str) -> None:
    text = (example_episode / f"{example_episode.name}.{name}").read_text(encoding="utf-8")
    assert text.startswith(TITLE)
    for heading in HEADINGS:
        assert f"## {heading}" in text
    assert "相关推荐" not in text and "hùdòng" not in text


def test_chapter_frames_are_stored_in_time_order(example_episode: Path) -> None:
    episode = example_episode / f"{example_episode.name}.mp3"
    from readaloud.audio import chapter_starts_in_file_order

    stored = chapter_starts_in_file_order(episode.read_bytes())
    assert len(stored) == 4 and stored == sorted(stored)
    listed = [c.start for c in probe(episode).chapters]  # ffmpeg lists them as stored
    assert listed == sorted(listed)


def _ffmpeg_chapters(path: Path) -> list[tuple[float, str]]:
    import re
    import subprocess

    from readaloud.audio import ffmpeg

    text = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    starts = [float(m) for m in re.findall(r"Chapter #\d+[:.]\d+: start (\d+\.\d+)", text)]
    titles = re.findall(r"Chapter #.*\n\s+Metadata:\n\s+title\s*: (.*)", text)
    return list(zip(starts, titles, strict=True))


@pytest.mark.parametrize(
    ("suffix", "codec"), [(".m4a", ["-c:a", "aac", "-b:a", "32k"]), (".mka", ["-c", "copy"])]
)
def test_chapters_survive_a_transcode(
    example_episode: Path, tmp_path: Path, suffix: str, codec: list[str]
) -> None:
    """What Apple's chapter format (M4A) and Matroska keep of our chapters, through the bundled ffmpeg."""
    import subprocess

    from readaloud.audio import ffmpeg

    episode = example_episode / f"{example_episode.name}.mp3"
    target = tmp_path / f"episode{suffix}"
    subprocess.run([ffmpeg(), "-v", "error", "-i", str(episode), *codec, str(target)], check=True)
    chapters = _ffmpeg_chapters(target)
    assert [t for _, t in chapters] == [TITLE, *HEADINGS]
    starts = [s for s, _ in chapters]
    assert starts == sorted(starts) and all(b - a > 5 for a, b in itertools.pairwise(starts))


def test_date_is_a_v23_frame(example_episode: Path) -> None:
    tags = ID3(example_episode / f"{example_episode.name}.mp3", translate=False)
    assert tags.version[:2] == (2, 3)
    assert "TDRC" not in tags
    record = EpisodeRecord.load(example_episode)
    year, month, day = record.published[:10].split("-")
    assert str(tags["TYER"]) == year and str(tags["TDAT"]) == day + month


def test_check_notices_chapter_frames_stored_out_of_order(example_output: Path, tmp_path: Path) -> None:
    import shutil

    from readaloud.audio import _frames, _tag_body
    from tests.conftest import run_cli

    copy = tmp_path / "out"
    shutil.copytree(example_output, copy, ignore=shutil.ignore_patterns(".cache"))
    episode = next(copy.glob("*/episode.json")).parent
    mp3 = episode / f"{episode.name}.mp3"
    data = bytearray(mp3.read_bytes())
    begin, end = _tag_body(bytes(data))
    frames = _frames(bytes(data[begin:end]))
    chaps = [f for f in frames if f[:4] == b"CHAP"]
    shuffled = b"".join([f for f in frames if f[:4] != b"CHAP"] + chaps[::-1])
    data[begin : begin + len(shuffled)] = shuffled
    mp3.write_bytes(bytes(data))
    done = run_cli("check", str(copy))
    assert done.returncode == 1 and "out of time order" in done.stderr


def test_a_strict_v23_reader_sees_the_date_and_the_chapters_in_order(example_episode: Path) -> None:
    """eyeD3 ignores TDRC in a v2.3 tag and lists CHAP frames as stored."""
    import eyed3

    episode = eyed3.load(str(example_episode / f"{example_episode.name}.mp3"))
    assert episode is not None and episode.tag is not None
    record = EpisodeRecord.load(example_episode)
    assert str(episode.tag.getBestDate())[:10] == record.published[:10]
    assert [c.title for c in episode.tag.chapters] == [TITLE, *HEADINGS]
