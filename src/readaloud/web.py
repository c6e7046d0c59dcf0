"""Episode records -> static listening pages: OUTPUT/index.html and OUTPUT/<slug>/index.html.

The pages need nothing but the output folder: no CDN, no build step, nothing
fetched from elsewhere, and they work from any static host or from file://.
Without JavaScript a page is complete: the audio element with native controls,
chapter links as media fragments (#t=) and the whole transcript. With it,
player.js (shipped in the package, copied to OUTPUT/assets/) adds the buttons,
chapter seeking, the read-along highlight, shortcuts and resume.

Pages are ElementTrees serialized as HTML, so article text (untrusted) is
escaped everywhere it lands, text or attribute. Sentence and chapter times are
data-* attributes from the record: the same synthesis timings the VTT is made
from. A Content-Security-Policy allows only the page's own files.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from .episode import EpisodeRecord, load_records
from .feed import DEFAULT_COVER, FeedSettings
from .fsutil import update_bytes, write_text
from .publish import EDITIONS_DIR, NCC, edition_targets, episode_targets
from .talkingbook import layout, local_date

INDEX = "index.html"
ASSETS = "assets"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " media-src 'self'; base-uri 'none'; form-action 'none'"
)
SPEEDS = (0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
SHORTCUTS = [
    ("空格", "播放或暂停"),
    ("J 或 ←", "后退15秒"),
    ("L 或 →", "前进30秒"),
    ("[", "上一节"),
    ("]", "下一节"),
    ("- 或 +", "放慢或加快语速"),
    ("↑ 或 ↓", "在文字稿里移到上一句或下一句"),
    ("回车", "从文字稿里选中的句子开始播放"),
]


def write_site(root: Path, feed: FeedSettings) -> list[Path]:
    """Every page and the player's files, from the records in root; each file replaced atomically."""
    records = load_records(root)
    for name in ("player.js", "player.css"):
        data = files("readaloud").joinpath("data", "web", name).read_bytes()
        update_bytes(root / ASSETS / name, data)
    cover = _cover(root, feed)
    written = []
    for record in records:
        target = root / record.slug / INDEX
        folder = root / record.slug
        books = [(record.text, "文字稿（纯文本）"), (record.transcript_vtt, "字幕（WebVTT）")]
        books += _books(folder, episode_targets(folder, record))
        write_text(target, _html(episode_page(record, feed, cover=cover, books=books)))
        written.append(target)
    days = sorted((d.name for d in (root / EDITIONS_DIR).glob("*")), reverse=True)
    editions = [(day, _books(root / EDITIONS_DIR / day, edition_targets(root, day))) for day in days]
    write_text(root / INDEX, _html(index_page(records, feed, cover=cover, editions=editions)))
    return [root / INDEX, *written]


def _books(folder: Path, targets: dict[str, Path]) -> list[tuple[str, str]]:
    """(link relative to folder, label) for each talking book in targets that exists."""
    found = []
    if targets["epub"].is_file():
        found.append((targets["epub"].relative_to(folder).as_posix(), "EPUB 有声书（文字与朗读同步）"))
    if (targets["daisy"] / NCC).is_file():
        ncc = (targets["daisy"] / NCC).relative_to(folder).as_posix()
        found.append((ncc, "DAISY 有声书（读屏设备和盲人读书机）"))
    return found


def _cover(root: Path, feed: FeedSettings) -> str | None:
    name = feed.image or DEFAULT_COVER
    return name if "://" not in name and (root / name).is_file() else None


def _html(root: ET.Element) -> str:
    return "<!DOCTYPE html>\n" + ET.tostring(root, encoding="unicode", method="html") + "\n"


def minutes(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on."""
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _facts(record: EpisodeRecord) -> list[str]:
    length = spoken_length(record.duration)
    return [local_date(record.published), f"时长 {length}", f"{len(record.sections)} 节"]


def spoken_length(seconds: float) -> str:
    total = round(seconds)
    m, s = divmod(total, 60)
    return f"{m}分{s}秒" if m else f"{s}秒"


def _page(title: str, *, up: str, feed: FeedSettings) -> tuple[ET.Element, ET.Element, ET.Element]:
    html = ET.Element("html", {"lang": "zh-CN"})
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "meta", {"charset": "utf-8"})
    ET.SubElement(head, "meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"})
    ET.SubElement(head, "meta", {"http-equiv": "Content-Security-Policy", "content": CSP})
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "link", {"rel": "stylesheet", "href": f"{up}{ASSETS}/player.css"})
    ET.SubElement(
        head,
        "link",
        {"rel": "alternate", "type": "application/rss+xml", "title": feed.title, "href": f"{up}feed.xml"},
    )
    body = ET.SubElement(html, "body")
    ET.SubElement(body, "a", {"class": "skip", "href": "#main"}).text = "跳到主要内容"
    return html, head, body


def _subscribe(parent: ET.Element, feed: FeedSettings, *, up: str) -> None:
    box = ET.SubElement(parent, "section", {"class": "subscribe", "aria-labelledby": "subscribe-h"})
    ET.SubElement(box, "h2", {"id": "subscribe-h"}).text = "订阅"
    p = ET.SubElement(box, "p")
    p.text = "在播客应用里选择“通过网址添加节目”（或“添加 RSS 订阅”），粘贴这个地址："
    url = f"{feed.base_url}feed.xml"
    ET.SubElement(p, "a", {"href": f"{up}feed.xml"}).text = url
    p2 = ET.SubElement(box, "p")
    p2.text = "新节目发布后会自动出现在应用里。"


def _cover_image(parent: ET.Element, cover: str | None, feed: FeedSettings, *, up: str) -> None:
    if cover:
        ET.SubElement(
            parent,
            "img",
            {
                "class": "cover",
                "src": f"{up}{cover}",
                "alt": f"{feed.title}的封面",
                "width": "160",
                "height": "160",
            },
        )


def index_page(
    records: list[EpisodeRecord],
    feed: FeedSettings,
    *,
    cover: str | None,
    editions: Sequence[tuple[str, list[tuple[str, str]]]] = (),
) -> ET.Element:
    html, _, body = _page(feed.title, up="", feed=feed)
    header = ET.SubElement(body, "header")
    _cover_image(header, cover, feed, up="")
    main = ET.SubElement(body, "main", {"id": "main"})
    ET.SubElement(main, "h1").text = feed.title
    ET.SubElement(main, "p").text = feed.description
    ET.SubElement(main, "h2", {"id": "episodes-h"}).text = "全部节目（最新的在前）"
    listing = ET.SubElement(main, "ol", {"class": "episodes", "aria-labelledby": "episodes-h"})
    for record in records:
        item = ET.SubElement(listing, "li")
        ET.SubElement(item, "a", {"href": f"{record.slug}/{INDEX}"}).text = record.title
        meta = ET.SubElement(item, "p", {"class": "meta"})
        meta.text = " · ".join(_facts(record))
    if not records:
        ET.SubElement(main, "p").text = "还没有节目。"
    if any(links for _, links in editions):
        ET.SubElement(main, "h2", {"id": "editions-h"}).text = "每日合集（有声书）"
        days = ET.SubElement(main, "ul", {"aria-labelledby": "editions-h"})
        for day, links in editions:
            if links:
                item = ET.SubElement(days, "li")
                item.text = f"{day}："
                for n, (href, label) in enumerate(links):
                    link = ET.SubElement(item, "a", {"href": f"{EDITIONS_DIR}/{day}/{href}"})
                    link.text = label
                    link.tail = "；" if n + 1 < len(links) else ""
    _subscribe(main, feed, up="")
    return html


def episode_page(
    record: EpisodeRecord, feed: FeedSettings, *, cover: str | None, books: Sequence[tuple[str, str]] = ()
) -> ET.Element:
    html, head, body = _page(f"{record.title} - {feed.title}", up="../", feed=feed)
    ET.SubElement(head, "script", {"src": f"../{ASSETS}/player.js", "defer": "defer"}).text = ""
    nav = ET.SubElement(body, "nav", {"aria-label": "网站"})
    ET.SubElement(nav, "a", {"href": f"../{INDEX}"}).text = f"返回{feed.title}的全部节目"
    main = ET.SubElement(body, "main", {"id": "main", "data-episode": record.slug})
    _cover_image(main, cover, feed, up="../")
    ET.SubElement(main, "h1").text = record.title
    facts = _facts(record)
    if record.credit:
        facts.append(record.credit)
    ET.SubElement(main, "p", {"class": "meta"}).text = " · ".join(facts)

    player = ET.SubElement(main, "section", {"class": "player", "aria-label": "播放器"})
    audio = ET.SubElement(
        player, "audio", {"id": "audio", "controls": "controls", "preload": "metadata", "src": record.audio}
    )
    ET.SubElement(
        audio,
        "track",
        {"kind": "captions", "srclang": "zh", "label": "中文字幕", "src": record.transcript_vtt},
    )
    audio.text = ""
    link = ET.SubElement(audio, "a", {"href": record.audio})
    link.text = "下载音频（MP3）"
    controls = ET.SubElement(player, "div", {"id": "controls", "class": "controls", "hidden": "hidden"})
    for action, label in [
        ("play", "播放"),
        ("back", "后退15秒"),
        ("forward", "前进30秒"),
        ("previous", "上一节"),
        ("next", "下一节"),
        ("slower", "放慢语速"),
        ("faster", "加快语速"),
    ]:
        ET.SubElement(controls, "button", {"type": "button", "data-action": action}).text = label
    rate = ET.SubElement(controls, "span", {"class": "rate"})
    rate.text = "语速 "
    ET.SubElement(rate, "output", {"id": "rate", "aria-live": "polite"}).text = "1×"
    toggle = ET.SubElement(controls, "label", {"class": "toggle"})
    ET.SubElement(toggle, "input", {"type": "checkbox", "id": "follow", "checked": "checked"})
    ET.SubElement(toggle, "span").text = "自动滚动到正在朗读的句子"
    resume = ET.SubElement(player, "p", {"id": "resume", "hidden": "hidden"})
    ET.SubElement(resume, "span", {"id": "resume-text"})
    ET.SubElement(resume, "button", {"type": "button", "data-action": "resume"}).text = "继续收听"
    ET.SubElement(
        player, "p", {"id": "announcer", "class": "visually-hidden", "aria-live": "polite"}
    ).text = ""

    chapters = ET.SubElement(main, "nav", {"class": "chapters", "aria-labelledby": "chapters-h"})
    ET.SubElement(chapters, "h2", {"id": "chapters-h"}).text = "章节"
    listing = ET.SubElement(chapters, "ol")
    for section in record.sections:
        item = ET.SubElement(listing, "li")
        link = ET.SubElement(
            item,
            "a",
            {
                "class": "chapter",
                "href": f"{record.audio}#t={section.start:.3f}",
                "data-start": f"{section.start:.3f}",
            },
        )
        ET.SubElement(link, "span", {"class": "time"}).text = minutes(section.start)
        ET.SubElement(link, "span", {"class": "label"}).text = section.title

    keys = ET.SubElement(main, "details", {"class": "shortcuts"})
    ET.SubElement(keys, "summary").text = "键盘快捷键"
    listing_keys = ET.SubElement(keys, "dl")
    for key, what in SHORTCUTS:
        ET.SubElement(listing_keys, "dt").text = key
        ET.SubElement(listing_keys, "dd").text = what
    ET.SubElement(keys, "p").text = "在输入框里打字时快捷键不起作用。"

    transcript = ET.SubElement(main, "section", {"class": "transcript", "aria-label": "文字稿"})
    for n, section in enumerate(record.sections):
        paragraph = transcript
        for place, piece in layout(section.items):
            if place == "h1" and n == 0:
                continue  # the page's h1 already says it
            if place.startswith("h"):  # every heading an h2 under the page's h1
                heading = ET.SubElement(transcript, "h2")
                _sentence(heading, piece.text, section.start, piece.start, piece.end)
                continue
            if place != "span":
                paragraph = ET.SubElement(transcript, "p", {"class": "credit"} if place == "p.credit" else {})
            _sentence(paragraph, piece.text, section.start, piece.start, piece.end)
    downloads = ET.SubElement(main, "section", {"aria-labelledby": "downloads-h"})
    ET.SubElement(downloads, "h2", {"id": "downloads-h"}).text = "下载"
    listing = ET.SubElement(downloads, "ul")
    ET.SubElement(ET.SubElement(listing, "li"), "a", {"href": record.audio}).text = "音频（MP3，带章节）"
    for href, label in books:
        ET.SubElement(ET.SubElement(listing, "li"), "a", {"href": href}).text = label
    _subscribe(main, feed, up="../")
    return html


def _sentence(parent: ET.Element, text: str, offset: float, start: float | None, end: float | None) -> None:
    if start is None or end is None:
        ET.SubElement(parent, "span").text = text
        return
    ET.SubElement(
        parent,
        "span",
        {"class": "s", "data-start": f"{offset + start:.3f}", "data-end": f"{offset + end:.3f}"},
    ).text = text
