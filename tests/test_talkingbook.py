"""DAISY 2.02 and EPUB 3 talking books, checked by EPUBCheck, the daisy-dtb reader and the MP3s' own
decoded durations; sentence times checked against the episode's captions."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from readaloud.episode import EpisodeRecord
from tests.conftest import EXAMPLE, convert_text, example_with_formats, run_cli
from tests.validators import epubcheck, read_daisy

pytestmark = pytest.mark.validators

ESPEAK = ("--engine", "espeak")
BOOKS = ("--format", "daisy", "--format", "epub")
OPF = "{http://www.idpf.org/2007/opf}"
SMIL3 = "{http://www.w3.org/ns/SMIL}"
_VTT_CUE = re.compile(r"(\d+):(\d\d):(\d\d)\.(\d{3}) --> [^\n]+\n((?:.+\n?)+)")


def vtt_cues(text: str) -> list[tuple[float, str]]:
    """(start, text) of each cue, read with a parser of the tests' own."""
    return [
        (int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000, body.replace("\n", ""))
        for h, m, s, ms, body in _VTT_CUE.findall(text)
    ]


def decoded_seconds(path: Path) -> float:
    """What a player decodes: ffmpeg (the wheel's binary) counting the samples."""
    from imageio_ffmpeg import get_ffmpeg_exe

    done = subprocess.run(
        [get_ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    h, m, s = re.findall(r"time=(\d+):(\d+):([\d.]+)", done.stderr)[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.fixture(scope="session")
def books(example_output: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's episode, with DAISY and EPUB asked for afterwards: made from what is there."""
    return example_with_formats(example_output, tmp_path_factory.mktemp("books") / "out", "daisy", "epub")


def test_example_epub_passes_epubcheck_with_no_errors_or_warnings(books: Path) -> None:
    report = epubcheck(books / f"{books.name}.epub")
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), report.messages


def test_epub_package_declares_overlays_durations_and_accessibility(books: Path) -> None:
    record = EpisodeRecord.load(books)
    with zipfile.ZipFile(books / f"{books.name}.epub") as zf:
        names = zf.namelist()
        assert names[0] == "mimetype" and zf.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        opf = ET.fromstring(zf.read("EPUB/package.opf"))
        metas = [(m.get("property"), m.get("refines"), m.text) for m in opf.iter(f"{OPF}meta")]
        texts = {n: zf.read(n).decode("utf-8") for n in names if n.endswith(".xhtml")}
    props = {(p, t) for p, r, t in metas if r is None}
    for wanted in [
        ("schema:accessMode", "textual"),
        ("schema:accessMode", "auditory"),
        ("schema:accessibilityFeature", "synchronizedAudioText"),
        ("schema:accessibilityFeature", "tableOfContents"),
        ("schema:accessibilityFeature", "readingOrder"),
        ("schema:accessibilityHazard", "none"),
        ("media:active-class", "-epub-media-overlay-active"),
    ]:
        assert wanted in props
    assert any(p == "schema:accessibilitySummary" and t for p, t in props)

    def seconds(clock: str) -> float:
        h, m, s = clock.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    per_overlay = [seconds(t) for p, r, t in metas if p == "media:duration" and r]
    total = [seconds(t) for p, r, t in metas if p == "media:duration" and not r]
    assert len(per_overlay) == len(record.sections)
    assert total == [pytest.approx(sum(per_overlay), abs=0.0015)]
    for duration, section in zip(per_overlay, record.sections, strict=True):
        assert duration == pytest.approx(decoded_seconds(books / section.file), abs=0.05)
    # every language declaration a reader or a screen reader looks at
    for name, text in texts.items():
        assert 'lang="zh-CN"' in text and 'xml:lang="zh-CN"' in text, name


def test_daisy_reader_lists_title_then_sections_and_every_text_resolves(books: Path) -> None:
    record = EpisodeRecord.load(books)
    book = read_daisy(books / "daisy")
    assert book["title"] == record.title
    levels = [(e["level"], e["text"]) for e in book["entries"]]
    assert levels == [(1, record.title)] + [(2, s.title) for s in record.sections[1:]]
    spoken = [i.text for s in record.sections for i in s.items if i.start is not None]
    read = [p["text"] for e in book["entries"] for p in e["pars"]]
    assert read == spoken  # every SMIL text reference resolves to exactly its sentence


def test_daisy_clips_are_contiguous_in_order_and_inside_each_mp3(books: Path) -> None:
    book = read_daisy(books / "daisy")
    for entry in book["entries"]:
        clips = [c for p in entry["pars"] for c in p["clips"]]
        files = {src for src, _, _ in clips}
        assert len(files) == 1
        duration = decoded_seconds(books / "daisy" / files.pop())
        assert clips[0][1] == 0.0
        for (_, _, end), (_, begin, _) in itertools.pairwise(clips):
            assert begin == pytest.approx(end, abs=0.0005)  # contiguous
        assert all(b < e for _, b, e in clips)  # in order, none empty
        assert clips[-1][2] <= duration + 0.03
        assert clips[-1][2] == pytest.approx(duration, abs=0.06)  # the clips cover the whole file


def test_ncc_metadata_counts_and_time(books: Path) -> None:
    record = EpisodeRecord.load(books)
    ncc = ET.parse(books / "daisy" / "ncc.html").getroot()
    ns = "{http://www.w3.org/1999/xhtml}"
    meta = {m.get("name"): m.get("content") for m in ncc.iter(f"{ns}meta") if m.get("name")}
    assert meta["dc:format"] == "Daisy 2.02"
    assert meta["dc:language"] == "zh-CN"
    assert meta["dc:creator"] == record.credit
    assert meta["ncc:multimediaType"] == "audioFullText"
    assert meta["ncc:charset"] == "utf-8"
    assert meta["ncc:tocItems"] == str(len(record.sections))
    h, m, s = (int(x) for x in meta["ncc:totalTime"].split(":"))
    assert abs(h * 3600 + m * 60 + s - record.duration) <= 1
    files = [p for p in (books / "daisy").iterdir() if not p.name.startswith(".")]
    assert meta["ncc:files"] == str(len(files))
    size = sum(p.stat().st_size for p in files) / 1024
    assert abs(int(meta["ncc:kByteSize"]) - size) <= 8
    assert meta["ncc:setInfo"] == "1 of 1"
    assert {meta[k] for k in ("ncc:footnotes", "ncc:prodNotes", "ncc:sidebars", "ncc:pageNormal")} == {"0"}
    assert all(p.name.isascii() for p in files)
    declared = re.compile(r"""<\?xml version=["']1\.0["'] encoding=["']utf-8["']\?>""", re.I)
    for document in [p for p in files if p.suffix in (".html", ".smil")]:  # UTF-8 declared everywhere
        assert declared.match(document.read_text(encoding="utf-8")), document.name
    assert 'content="text/html; charset=utf-8"' in (books / "daisy" / "ncc.html").read_text(encoding="utf-8")


def test_sentence_clips_start_at_their_caption_cues(books: Path) -> None:
    """Sentence k's clip starts within 50 ms of its first caption cue in the section's VTT."""
    record = EpisodeRecord.load(books)
    book = read_daisy(books / "daisy")
    checked = 0
    for section, entry in zip(record.sections, book["entries"], strict=True):
        cues = vtt_cues((books / section.transcript).read_text(encoding="utf-8"))
        for par in entry["pars"][1:]:  # the first clip starts at 0 by design
            text, begin = par["text"], par["clips"][0][1]
            starts = [start for start, cue in cues if text.startswith(cue) or cue.startswith(text)]
            assert starts, f"no caption cue begins {text!r}"
            nearest = min(starts, key=lambda s: abs(s - begin))
            assert abs(nearest - begin) <= 0.05, (text, nearest, begin)
            checked += 1
    assert checked >= 30


def test_sentence_ids_survive_a_reconversion_of_unchanged_text(books: Path, tmp_path: Path) -> None:
    source = tmp_path / "article.txt"
    text = EXAMPLE.read_text(encoding="utf-8")
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    first = run_cli("convert", str(source), "-o", str(out), *ESPEAK, "--format", "daisy", "-q")
    assert first.returncode == 0, first.stderr
    folder = next(p.parent for p in out.glob("*/episode.json"))
    before = (folder / "daisy" / "content.html").read_text(encoding="utf-8")
    # an edit at the end: everything before it keeps its id, text and place
    source.write_text(text.replace("切实转作风提效能", "切实转变作风、提升效能"), encoding="utf-8")
    again = run_cli("convert", str(source), "-o", str(out), *ESPEAK, "--format", "daisy", "-q")
    assert again.returncode == 0, again.stderr
    after = (folder / "daisy" / "content.html").read_text(encoding="utf-8")
    assert before != after
    ids = re.compile(r'<(?:span|h[12]) id="([^"]+)">([^<]*)<')
    old, new = dict(ids.findall(before)), dict(ids.findall(after))
    assert set(old) == set(new)  # a reworded heading: same ids
    changed = [k for k in old if old[k] != new[k]]
    assert changed == ["t4-1"]  # only the heading of section 4 reads differently


def test_one_section_article_with_markup_in_its_headings(tmp_path: Path) -> None:
    folder = convert_text(
        tmp_path,
        '“<b>内幕</b>” & ‘引号’ "双引号" 的标题\n\n'
        "市里发布通知，要求各单位在月底前完成自查。通知说明了检查的范围和方法。\n",
        *BOOKS,
    )
    record = EpisodeRecord.load(folder)
    assert len(record.sections) == 1
    book = read_daisy(folder / "daisy")
    assert [(e["level"], e["text"]) for e in book["entries"]] == [(1, record.title)]
    assert "<b>" in record.title and "&" in record.title  # shown literally, never as markup
    content = ET.parse(folder / "daisy" / "content.html").getroot()
    assert record.title in ["".join(h.itertext()) for h in content.iter("{http://www.w3.org/1999/xhtml}h1")]
    report = epubcheck(folder / f"{record.slug}.epub")
    assert (report.errors, report.warnings) == (0, 0), report.messages


def _second_article(tmp_path: Path) -> Path:
    path = tmp_path / "second.txt"
    path.write_text(
        "城市书房延长开放时间\n\n"
        "本市二十家城市书房从下月起延长开放时间，工作日开放到晚上十点。\n\n"
        "读者怎么预约\n\n"
        "读者可以通过小程序预约座位，也可以拨打热线12345咨询。\n\n"
        "新增哪些服务\n\n"
        "书房将增设无障碍阅读区，为视障读者提供有声读物和助视器。\n",
        encoding="utf-8",
    )
    return path


def test_daily_edition_of_two_articles(books: Path, tmp_path: Path) -> None:
    root = books.parent
    done = run_cli("convert", str(_second_article(tmp_path)), "-o", str(root), *ESPEAK, "-q")
    assert done.returncode == 0, done.stderr
    records = [EpisodeRecord.load(p.parent) for p in root.glob("*/episode.json")]
    assert len(records) == 2
    from datetime import datetime

    date = datetime.fromisoformat(records[0].published).astimezone().strftime("%Y-%m-%d")
    made = run_cli("edition", str(root), "--date", date)
    assert made.returncode == 0, made.stderr
    edition = root / "editions" / date
    report = epubcheck(edition / f"edition-{date}.epub")
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), report.messages
    from tests.validators import ace

    assert ace(edition / f"edition-{date}.epub", tmp_path / "ace")["violations"] == []
    book = read_daisy(edition / "daisy")
    oldest_first = sorted(records, key=lambda r: r.published)
    expected = [
        (level, title)
        for r in oldest_first
        for level, title in [(1, r.title)] + [(2, s.title) for s in r.sections[1:]]
    ]
    assert [(e["level"], e["text"]) for e in book["entries"]] == expected
    for entry in book["entries"]:  # every clip's file is in the book and the clip inside it
        for par in entry["pars"]:
            for src, _begin, end in par["clips"]:
                assert end <= decoded_seconds(edition / "daisy" / src) + 0.03


def test_edition_of_a_day_without_episodes_says_so(books: Path) -> None:
    done = run_cli("edition", str(books.parent), "--date", "1999-01-01")
    assert done.returncode == 1
    assert "no episode" in done.stderr and "1999-01-01" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    bad = run_cli("edition", str(books.parent), "--date", "yesterday")
    assert bad.returncode == 2 and "2026-11-28" in bad.stderr  # the message shows the expected form
    wrong = run_cli("edition", str(books.parent), "--format", "podcast")
    assert wrong.returncode == 2 and "daisy or epub" in wrong.stderr


def test_unknown_format_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run_cli("convert", str(EXAMPLE), "-o", str(tmp_path), *ESPEAK, "--format", "mobi")
    assert done.returncode == 2
    assert "'mobi' is not one of podcast, daisy, epub" in done.stderr
    config = tmp_path / "readaloud.toml"
    config.write_text('[output]\nformats = "daisy"\n', encoding="utf-8")
    listed = run_cli("convert", str(EXAMPLE), "--config", str(config), *ESPEAK)
    assert listed.returncode == 2 and "must be a list of strings" in listed.stderr


def test_record_keeps_real_increasing_sentence_times(books: Path) -> None:
    """The record keeps each sentence's time; the book never estimates one."""
    record = json.loads((books / "episode.json").read_text(encoding="utf-8"))
    for section in record["sections"]:
        timed = [i for i in section["items"] if i["start"] is not None]
        assert timed and all(i["end"] > i["start"] for i in timed)
        assert all(a["start"] < b["start"] for a, b in itertools.pairwise(timed))
        assert timed[-1]["end"] <= section["duration"]


def test_axe_finds_no_wcag_violations_in_the_books_documents(browser, books: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Ace by DAISY needs a Chromium of its own download; axe-core (what Ace runs) in Debian's does it."""
    from tests.conftest import axe_violations
    from tests.http_server import StaticServer

    unpacked = tmp_path / "epub"
    with zipfile.ZipFile(books / f"{books.name}.epub") as zf:
        zf.extractall(unpacked)
    shutil.copytree(books / "daisy", tmp_path / "daisy")
    documents = sorted(p.relative_to(tmp_path) for p in unpacked.rglob("*.xhtml"))
    documents += [Path("daisy/ncc.html"), Path("daisy/content.html")]
    assert len(documents) == 2 + 1 + 4
    context = browser.new_context()
    page = context.new_page()
    with StaticServer(tmp_path) as server:
        for document in documents:
            page.goto(server.url + document.as_posix())
            assert axe_violations(page) == [], document
    context.close()


def test_ace_by_daisy_finds_no_accessibility_violations(books: Path, tmp_path: Path) -> None:
    """Ace by DAISY (axe-core in Debian's Chromium, plus its EPUB checks: metadata, navigation)."""
    from tests.validators import ace

    report = ace(books / f"{books.name}.epub", tmp_path / "ace")
    assert report["violations"] == []
    assert report["outcome"] == "pass"


def test_check_reads_the_books_and_names_what_is_broken(books: Path, tmp_path: Path) -> None:
    good = run_cli("check", str(books))
    assert good.returncode == 0, good.stderr
    copy = tmp_path / books.name
    shutil.copytree(books, copy)  # a real copy: the session's files stay as they are
    smil = copy / "daisy" / "03.smil"
    text = smil.read_text(encoding="utf-8")
    ends = re.findall(r'clip-end="npt=([\d.]+)s"', text)
    text = text.replace(f'clip-end="npt={ends[-1]}s"', 'clip-end="npt=9999.000s"')
    smil.write_text(text.replace('content.html#t3-2"', 'content.html#t3-999"'), encoding="utf-8")
    with zipfile.ZipFile(copy / f"{books.name}.epub") as zf:
        entries = {n: zf.read(n) for n in zf.namelist() if not n.startswith("EPUB/audio/01")}
    with zipfile.ZipFile(copy / f"{books.name}.epub", "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    bad = run_cli("check", str(copy))
    assert bad.returncode == 1
    problems = bad.stderr
    assert "03.smil: a text reference does not resolve" in problems
    assert "lies outside 03-" in problems
    assert ".epub: the manifest lists audio/01-" in problems


def test_headings_with_markup_characters_stay_text_in_every_document(tmp_path: Path) -> None:
    heading = '方案A&B <比较> 与 "结果"'
    folder = convert_text(
        tmp_path,
        "两种方案的比较\n\n"
        "市里公布了两种改造方案，并请市民投票。投票将持续到月底。\n\n"
        f"{heading}\n\n"
        "第一种方案花费较少，第二种方案工期更短。专家认为两者各有长处。\n",
        *BOOKS,
    )
    record = EpisodeRecord.load(folder)
    assert [s.title for s in record.sections] == ["两种方案的比较", heading]
    book = read_daisy(folder / "daisy")
    assert [(e["level"], e["text"]) for e in book["entries"]] == [(1, "两种方案的比较"), (2, heading)]
    assert heading in [p["text"] for e in book["entries"] for p in e["pars"]]
    with zipfile.ZipFile(folder / f"{record.slug}.epub") as zf:
        nav = ET.fromstring(zf.read("EPUB/nav.xhtml"))
    links = ["".join(a.itertext()) for a in nav.iter("{http://www.w3.org/1999/xhtml}a")]
    assert heading in links
    report = epubcheck(folder / f"{record.slug}.epub")
    assert (report.errors, report.warnings) == (0, 0), report.messages


def local_day(stamp: str) -> str:
    """The day a stored time falls on in this machine's zone (what `edition --date` means)."""
    from datetime import datetime

    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d")


def test_a_killed_runs_half_built_book_is_swept(books: Path, tmp_path: Path) -> None:
    """A run killed while building daisy/ leaves its temp folder; the next run removes it."""
    copy = tmp_path / "out"
    shutil.copytree(books.parent, copy, copy_function=os.link)
    folder = copy / books.name
    dead = folder / ".daisy.4194000.x1y2.part"  # a pid above Linux's default pid_max: not running
    dead.mkdir()
    (dead / "01.smil").write_text("<smil/>", encoding="utf-8")
    again = run_cli("convert", str(EXAMPLE), "-o", str(copy), *ESPEAK, "--format", "daisy", "-q")
    assert again.returncode == 0, again.stderr
    assert not dead.exists()  # even when the episode itself is up to date
    assert (folder / "daisy" / "ncc.html").is_file()
