"""The listening pages in a real browser: Debian's Chromium driven by Playwright, axe-core for WCAG,
keyboard-only use, playback against the cue times, no script, and hostile article text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from readaloud.episode import EpisodeRecord
from tests.conftest import ROOT, axe_violations, convert_text, example_with_formats, run_cli
from tests.http_server import StaticServer
from tests.test_talkingbook import vtt_cues

pytestmark = pytest.mark.validators

ESPEAK = ("--engine", "espeak")
PAGES = ("--format", "podcast", "--format", "web")
ARTIFACTS = ROOT / "test-output"
SHORT = (
    "社区食堂开门了\n\n"
    "本周一，社区食堂正式开门。午餐有三种套餐可选。老人凭卡可以打八折。\n\n"
    "怎么预约\n\n"
    "居民可以提前一天电话预约。食堂每天上午十一点开饭。\n"
)
HOSTILE_TITLE = '<script>alert("title")</script>标题 & "引号" </textarea>'
HOSTILE = (
    f"{HOSTILE_TITLE}\n\n"
    "第一段说明情况，其中有 <b>粗体</b> & 符号。它还有第二句话。\n\n"
    "<img src=x onerror=alert(2)>小标题\n\n"
    '这一句藏着 </textarea><script>alert(3)</script> 和 "引号"，必须原样显示。\n'
)


@pytest.fixture(scope="session")
def site(example_output: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The example's output with the pages asked for afterwards, served on loopback."""
    root = example_with_formats(example_output, tmp_path_factory.mktemp("site") / "out", "web").parent
    with StaticServer(root) as server:
        yield server.url, root


@pytest.fixture(scope="session")
def short_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = convert_text(tmp_path_factory.mktemp("short"), SHORT, *PAGES).parent
    with StaticServer(root) as server:
        yield server.url, root


def _episode(root: Path) -> EpisodeRecord:
    return EpisodeRecord.load(next(p.parent for p in root.glob("*/episode.json")))


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert errors == []  # the page's own script never throws


def _open(page, url: str, record: EpisodeRecord) -> None:  # type: ignore[no-untyped-def]
    """The episode's page, once the audio element knows its duration (seeking works from then)."""
    page.goto(f"{url}{record.slug}/index.html")
    page.wait_for_function("() => document.getElementById('audio').readyState >= 1")


def _tab_to(page, selector: str, *, limit: int = 80) -> None:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_axe_finds_no_wcag_violations_on_index_and_episode(browser, site) -> None:  # type: ignore[no-untyped-def]
    url, root = site
    record = _episode(root)
    context = browser.new_context(bypass_csp=True)  # only so axe itself can be injected
    page = context.new_page()
    for address in (url + "index.html", f"{url}{record.slug}/index.html"):
        page.goto(address)
        page.wait_for_load_state("load")
        assert axe_violations(page) == [], address
    for scheme in ("dark", "light"):
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{url}{record.slug}/index.html")
        assert axe_violations(page) == [], scheme
    context.close()


def test_index_lists_episodes_newest_first_with_facts(page, site) -> None:  # type: ignore[no-untyped-def]
    url, root = site
    record = _episode(root)
    page.goto(url + "index.html")
    item = page.locator("ol.episodes li").first
    assert item.locator("a").inner_text() == record.title
    facts = item.locator(".meta").inner_text()
    assert record.published[:4] in facts and "4 节" in facts and "12分" in facts
    assert page.locator('link[rel="alternate"][type="application/rss+xml"]').count() == 1
    assert "https://podcast.example.org/news/feed.xml" in page.locator(".subscribe").inner_text()


def test_keyboard_only_play_chapters_space_and_speed(page, site) -> None:  # type: ignore[no-untyped-def]
    url, root = site
    record = _episode(root)
    _open(page, url, record)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    _tab_to(page, 'button[data-action="play"]')
    focused = page.get_by_role("button", name="播放")
    assert focused.evaluate("e => e === document.activeElement")

    # Enter on chapter 3 seeks to its start and marks it current
    third = record.sections[2]
    chapter = page.locator("button.chapter").nth(2)
    for _ in range(40):
        page.keyboard.press("Tab")
        if chapter.evaluate("e => e === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached chapter 3")
    assert third.title in chapter.inner_text()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('audio').currentTime > 0")
    at = page.evaluate("document.getElementById('audio').currentTime")
    # it plays on at once, so the time read back includes what played since (exact: next test)
    assert 0 <= at - third.start <= 0.6
    assert chapter.get_attribute("aria-current") == "true"
    assert page.locator("button.chapter[aria-current]").count() == 1

    # Space on the text (not a control) toggles playback
    _tab_to(page, ".transcript .s")
    playing = page.evaluate("!document.getElementById('audio').paused")
    page.keyboard.press(" ")
    assert page.evaluate("!document.getElementById('audio').paused") != playing
    page.keyboard.press(" ")
    assert page.evaluate("!document.getElementById('audio').paused") == playing

    # speed: the buttons and + / -
    assert page.evaluate("document.getElementById('audio').playbackRate") == 1
    page.keyboard.press("+")
    assert page.evaluate("document.getElementById('audio').playbackRate") == 1.25
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert page.evaluate("document.getElementById('audio').playbackRate") == 0.75
    page.get_by_role("button", name="加快语速").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.getElementById('audio').playbackRate") == 1.0

    # keys typed into a form field are the field's: Space ticks the box, playback is left alone
    page.locator("#follow").focus()
    before = page.evaluate("document.getElementById('audio').paused")
    page.keyboard.press(" ")
    assert page.evaluate("document.getElementById('audio').paused") == before
    assert page.locator("#follow").is_checked() is False


def test_enter_on_chapter_or_sentence_seeks_to_its_start(page, site) -> None:  # type: ignore[no-untyped-def]
    url, root = site
    record = _episode(root)
    _open(page, url, record)
    page.evaluate(
        """() => { const a = document.getElementById('audio');
        a.muted = true;
        a.addEventListener('seeking', () => { window.seekTo = a.currentTime; }); }"""
    )
    chapter = page.locator("button.chapter").nth(2)
    chapter.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.seekTo !== undefined")
    assert abs(page.evaluate("window.seekTo") - record.sections[2].start) <= 0.1
    assert chapter.get_attribute("aria-current") == "true"
    sentence = page.locator(".transcript .s").nth(5)
    sentence.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => Math.abs(window.seekTo - {sentence.get_attribute('data-start')}) < 0.1")
    assert sentence.get_attribute("aria-current") == "true"


def test_highlight_follows_playback_at_the_cue_times(page, short_site) -> None:  # type: ignore[no-untyped-def]
    url, root = short_site
    record = _episode(root)
    _open(page, url, record)
    page.evaluate(
        """() => {
        window.changes = [];
        const audio = document.getElementById('audio');
        new MutationObserver(records => {
            for (const r of records) {
                if (r.target.getAttribute('aria-current') === 'true' && r.target.classList.contains('s'))
                    changes.push([audio.currentTime, parseFloat(r.target.dataset.start)]);
            }
        }).observe(document.querySelector('.transcript'),
                   {subtree: true, attributes: true, attributeFilter: ['aria-current']});
    }"""
    )
    page.evaluate("document.getElementById('audio').playbackRate = 2")  # media time is what counts
    _tab_to(page, 'button[data-action="play"]')
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.getElementById('audio').ended", timeout=int(record.duration * 2000) + 10000
    )
    changes = page.evaluate("window.changes")
    spans = page.locator(".transcript .s").count()
    assert len(changes) >= spans - 1  # every sentence was highlighted in turn
    starts = [start for _, start in changes]
    assert starts == sorted(starts)
    # each change happened at a caption cue's start in the episode's VTT (the file players read)
    cues = [
        start
        for start, _ in vtt_cues((root / record.slug / record.transcript_vtt).read_text(encoding="utf-8"))
    ]
    off = [(t, min(cues, key=lambda c: abs(c - t))) for t, _ in changes]
    late = [(t, cue) for t, cue in off if abs(t - cue) > 0.3]
    assert late == [], late
    print(f"highlight: {len(off)} changes, at most {max(abs(t - c) for t, c in off):.3f} s from a cue start")


def test_page_without_javascript_still_has_audio_chapters_and_text(browser, site) -> None:  # type: ignore[no-untyped-def]
    url, root = site
    record = _episode(root)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{url}{record.slug}/index.html")
    assert page.locator("audio[controls]").count() == 1
    links = page.locator("a.chapter")
    assert links.count() == len(record.sections)
    for n, section in enumerate(record.sections):
        assert links.nth(n).get_attribute("href") == f"{record.audio}#t={section.start:.3f}"
    shown = page.locator(".transcript").inner_text().replace("\n", "")
    for section in record.sections:
        for item in section.items:
            if item.kind != "title":
                assert item.text in shown
    assert page.locator("#controls").is_hidden()  # no dead buttons without the script
    context.close()


def test_hostile_article_text_shows_literally_and_runs_nothing(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = convert_text(tmp_path, HOSTILE, *PAGES).parent
    record = _episode(root)
    assert "<script>" in record.title  # the cleaner kept it as text: the page must show it as text
    dialogs: list[str] = []
    console: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    with StaticServer(root) as server:
        for address in (server.url + "index.html", f"{server.url}{record.slug}/index.html"):
            page.goto(address)
            page.wait_for_load_state("load")
            assert page.locator("script:not([src])").count() == 0  # nothing injected became a script
            assert page.locator("main img:not(.cover)").count() == 0
        assert page.locator("h1").inner_text() == record.title
        text = page.locator(".transcript").inner_text()
        assert "</textarea><script>alert(3)</script>" in text
        assert "<img src=x onerror=alert(2)>" in text
        assert page.title().startswith(record.title)
    assert dialogs == []
    assert [c for c in console if "alert" in c or "Refused" in c] == []


def test_screenshots_at_1280_and_at_200_percent_zoom(browser, site) -> None:  # type: ignore[no-untyped-def]
    """For review: test-output/episode-1280x800.png and episode-200pct.png."""
    url, root = site
    record = _episode(root)
    ARTIFACTS.mkdir(exist_ok=True)
    for name, options in [
        ("episode-1280x800.png", {"viewport": {"width": 1280, "height": 800}}),
        ("episode-200pct.png", {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}),
    ]:
        context = browser.new_context(**options)
        page = context.new_page()
        page.goto(f"{url}{record.slug}/index.html")
        page.wait_for_load_state("load")
        # at 200% the page reflows: nothing wider than the window, no sideways scrolling
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        path = ARTIFACTS / name
        page.screenshot(path=str(path), full_page=False)
        assert path.stat().st_size > 10_000
        print(f"screenshot: {path}")
        context.close()


def test_resume_offer_after_a_reload(page, site) -> None:  # type: ignore[no-untyped-def]
    url, root = site
    record = _episode(root)
    address = f"{url}{record.slug}/index.html"
    page.goto(address)
    page.wait_for_function("() => document.getElementById('audio').readyState >= 1")
    assert page.locator("#resume").is_hidden()  # nothing to resume on a first visit
    page.evaluate("() => { const a = document.getElementById('audio'); a.currentTime = 95; a.pause(); }")
    page.wait_for_function("() => document.getElementById('audio').currentTime > 94")
    page.evaluate("() => document.getElementById('audio').dispatchEvent(new Event('pause'))")
    page.reload()
    page.wait_for_function("() => document.getElementById('audio').readyState >= 1")
    offer = page.locator("#resume")
    assert offer.is_visible() and "1:35" in offer.inner_text()
    page.get_by_role("button", name="从 1:35 继续收听").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('audio').currentTime >= 95")
    assert page.evaluate("document.getElementById('audio').currentTime") < 96


def test_chapter_change_is_announced_politely_and_not_per_sentence(page, site) -> None:  # type: ignore[no-untyped-def]
    url, root = site
    record = _episode(root)
    _open(page, url, record)
    page.evaluate("document.getElementById('audio').play = () => Promise.resolve()")
    announcer = page.locator("#announcer")
    assert announcer.get_attribute("aria-live") == "polite"
    assert announcer.inner_text() == ""  # nothing said at page load
    page.evaluate(
        """() => { window.said = [];
        const a = document.getElementById('announcer');
        new MutationObserver(() => said.push(a.textContent)).observe(a, {childList: true, characterData: true, subtree: true});
    }"""
    )
    page.locator("button.chapter").nth(2).click()
    third, fourth = record.sections[2].start, record.sections[3].start
    inside = [
        n
        for n, start in enumerate(
            page.locator(".transcript .s").evaluate_all("e => e.map(x => +x.dataset.start)")
        )
        if third < start < fourth
    ]
    assert len(inside) >= 3
    for n in inside[:3]:  # three sentences of the same chapter: no word
        page.locator(".transcript .s").nth(n).click()
    page.wait_for_timeout(100)
    assert page.evaluate("window.said") == [f"第3节：{record.sections[2].title}"]
    page.locator(".transcript .s").nth(inside[-1] + 1).click()  # the first sentence of chapter 4
    page.wait_for_timeout(100)
    assert page.evaluate("window.said")[-1] == f"第4节：{record.sections[3].title}"
    assert len(page.evaluate("window.said")) == 2
    assert page.locator("[aria-live]").count() == 2  # the announcer and the speed readout only


def test_autoscroll_follows_the_sentence_and_can_be_switched_off(page, site) -> None:  # type: ignore[no-untyped-def]
    url, root = site
    record = _episode(root)
    page.emulate_media(reduced_motion="reduce")  # jumps, not smooth scrolling: positions settle at once
    _open(page, url, record)
    page.evaluate("() => { const a = document.getElementById('audio'); a.muted = true; a.play(); }")
    page.wait_for_function("() => !document.getElementById('audio').paused")
    page.evaluate(f"() => document.getElementById('audio').currentTime = {record.sections[3].start + 20}")
    page.wait_for_function("() => window.scrollY > 500")
    page.locator("#follow").uncheck()
    page.evaluate("() => window.scrollTo(0, 0)")
    page.evaluate(f"() => document.getElementById('audio').currentTime = {record.sections[2].start + 20}")
    page.wait_for_timeout(400)
    assert page.evaluate("window.scrollY") == 0


def test_feed_command_rebuilds_the_pages(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, root = site
    config = tmp_path / "readaloud.toml"
    config.write_text('[output]\nformats = ["podcast", "web"]\n', encoding="utf-8")
    record = _episode(root)
    (root / "index.html").unlink()
    (root / record.slug / "index.html").unlink()
    done = run_cli("feed", "-o", str(root), "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert (root / "index.html").is_file() and (root / record.slug / "index.html").is_file()
    assert record.title in (root / "index.html").read_text(encoding="utf-8")


def test_pages_link_the_talking_books_and_editions(browser, short_site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, root = short_site
    record = _episode(root)
    config = tmp_path / "readaloud.toml"
    config.write_text('[output]\nformats = ["podcast", "daisy", "epub", "web"]\n', encoding="utf-8")
    again = run_cli("convert", record.input_path, "-o", str(root), *ESPEAK, "--config", str(config), "-q")
    assert again.returncode == 0, again.stderr
    from tests.test_talkingbook import local_day

    day = local_day(record.published)
    made = run_cli("edition", str(root), "--date", day, "--config", str(config))
    assert made.returncode == 0, made.stderr
    context = browser.new_context(bypass_csp=True)  # for axe only
    page = context.new_page()
    page.goto(f"{url}{record.slug}/index.html")
    downloads = page.locator("#downloads-h + ul a")
    hrefs = [downloads.nth(n).get_attribute("href") for n in range(downloads.count())]
    assert f"{record.slug}.epub" in hrefs and "daisy/ncc.html" in hrefs
    for href in hrefs:  # every download is there
        assert page.request.get(f"{url}{record.slug}/{href}").status == 200, href
    page.goto(url + "index.html")
    editions = page.locator("#editions-h + ul a")
    links = [editions.nth(n).get_attribute("href") for n in range(editions.count())]
    assert links == [f"editions/{day}/edition-{day}.epub", f"editions/{day}/daisy/ncc.html"]
    for href in links:
        assert page.request.get(url + href).status == 200, href
    assert axe_violations(page) == []
    context.close()


def test_transcript_is_one_tab_stop_with_arrows_between_sentences(page, site) -> None:  # type: ignore[no-untyped-def]
    url, root = site
    record = _episode(root)
    _open(page, url, record)
    sentences = page.locator(".transcript .s")
    assert page.locator(".transcript [tabindex='0']").count() == 1
    _tab_to(page, ".transcript .s")
    first = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == sentences.nth(2).inner_text()
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.textContent") == sentences.nth(1).inner_text() != first
    page.keyboard.press("Tab")  # one more Tab leaves the transcript, however long it is
    assert page.evaluate("!document.activeElement.classList.contains('s')")
    page.keyboard.press("Shift+Tab")  # and comes back to the sentence last visited
    assert page.evaluate("document.activeElement.textContent") == sentences.nth(1).inner_text()


def test_feed_items_link_to_their_listening_pages(site) -> None:  # type: ignore[no-untyped-def]
    import feedparser

    _, root = site
    record = _episode(root)
    feed = feedparser.parse((root / "feed.xml").read_bytes())
    assert not feed.bozo
    base = feed.feed.link  # the channel's link is the published folder (another test rebuilds the feed)
    assert feed.entries[0].link == f"{base}{record.slug}/index.html"
