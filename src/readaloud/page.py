"""Web pages and Markdown -> article text with headings, plus the page's own metadata.

A news page is mostly furniture: navigation, breadcrumbs, adverts, related
links, share buttons, comments. trafilatura (built for news main-text
extraction) finds the article in it and gives its text with headings as
Markdown; what is left of the furniture then goes through our cleaner like
any text file. The metadata a feed needs comes from the page: the headline
(not <title>, which carries the site's name), the author, the publication
date (JSON-LD `datePublished` or `article:published_time` first: a date in
the URL is often the day it was filed or moved) and the canonical URL.

Markdown goes through markdown-it-py: headings stay `#` lines for the
segmenter, everything else becomes plain lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import InputError


@dataclass(frozen=True)
class Page:
    text: str  # the article: "# title", "## heading" lines and paragraphs
    title: str | None = None
    credit: str | None = None
    date: str | None = None  # ISO 8601
    url: str | None = None  # canonical


def html_page(markup: str, *, url: str | None = None, name: str = "page") -> Page:
    """The article in a web page, or InputError when there is none (a login wall, an index)."""
    import trafilatura
    from lxml import html as lxml_html
    from trafilatura.metadata import extract_metadata

    try:
        tree = lxml_html.fromstring(markup)
    except (ValueError, TypeError) as exc:  # lxml's error for empty or undecodable documents
        raise InputError(f"{name} is not a readable web page ({exc})") from exc
    body = trafilatura.extract(
        tree,
        url=url,
        output_format="markdown",
        include_formatting=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        with_metadata=False,
    )
    if not body or len(_letters(body)) < 40:
        raise InputError(
            f"{name} has no article text (a login wall, a paywall or an index page?):"
            " pass the article's own page"
        )
    meta = extract_metadata(tree, default_url=url)
    title = _clean_line(meta.title) if meta and meta.title else None
    if title and title == _clean_line(" ".join(tree.xpath("//title//text()"))):
        title = headline_of(title, meta.sitename if meta else None)  # no headline found but <title>
    credit = _clean_line(meta.author) if meta and meta.author else None
    canonical = _canonical(tree) or (meta.url if meta and meta.url else None) or url
    date = _structured_date(tree) or (meta.date if meta and meta.date else None)
    text = markdown_text(body)
    if title and not text.lstrip().startswith("# "):
        text = f"# {title}\n\n{text}"
    return Page(text=text, title=title, credit=credit, date=_iso(date), url=canonical)


_TITLE_SEPARATOR = re.compile(r"\s*[_|｜]\s*|\s+[-—–]+\s+")


def headline_of(title: str, sitename: str | None) -> str:
    """A page <title> without what sites append: "标题_民生_东城晚报网", "标题 - 东城晚报" -> "标题".

    The first piece is kept when the last is the site's name, or when every piece after a
    headline-long first one is as short as a channel or site name."""
    pieces = [p for p in _TITLE_SEPARATOR.split(title) if p]
    if len(pieces) < 2:
        return title
    site = (sitename or "").strip()
    named = bool(site) and (pieces[-1] == site or site in pieces[-1] or pieces[-1] in site)
    short = len(pieces[0]) >= 8 and all(len(p) <= 10 for p in pieces[1:])
    return pieces[0] if named or short else title


def _letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def _clean_line(text: str) -> str | None:
    line = re.sub(r"\s+", " ", text).strip()
    return line or None


def _canonical(tree) -> str | None:  # type: ignore[no-untyped-def]
    for link in tree.xpath('//link[@rel="canonical"][@href]'):
        href = link.get("href", "").strip()
        if href.startswith(("http://", "https://")):
            return str(href)
    return None


def _structured_date(tree) -> str | None:  # type: ignore[no-untyped-def]
    """datePublished from JSON-LD, else the Open Graph article:published_time."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content())
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data, *data.get("@graph", [])]:
            if isinstance(item, dict) and isinstance(item.get("datePublished"), str):
                return str(item["datePublished"])
    for meta in tree.xpath('//meta[@property="article:published_time"][@content]'):
        return str(meta.get("content"))
    return None


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:  # a bare date or local time: kept on its day wherever it is read
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def markdown_text(markup: str) -> str:
    """Markdown to text lines: `#` headings kept for the segmenter, all other markup gone."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markup)
    lines: list[str] = []
    level = 0
    for token in tokens:
        if token.type == "heading_open":
            level = int(token.tag[1])
        elif token.type == "heading_close":
            level = 0
        elif token.type == "inline":
            words = "".join(
                "\n" if child.type in ("hardbreak",) else child.content
                for child in token.children or []
                if child.type in ("text", "code_inline", "hardbreak", "softbreak")
            )
            text = re.sub(r"[ \t\u3000\xa0]+", " ", words).strip()
            if text:
                lines.append(f"{'#' * level} {text}" if level else text)
                lines.append("")
    return "\n".join(lines).strip() + "\n"
