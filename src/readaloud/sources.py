"""A site's RSS or Atom feed -> the articles in it not converted yet, oldest first.

An entry is done when an episode in the output folder came from its address
(the page's canonical URL or the address it was fetched from): the episodes
are the state, written atomically with them, so nothing else needs keeping
and an entry that failed is simply tried again on the next run.
"""

from __future__ import annotations

import calendar
import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from .episode import EpisodeRecord
from .errors import InputError
from .fetch import FEED_TYPES, Fetched, fetch, is_url, save_page

FULL_TEXT_LETTERS = 150  # content:encoded this long, and well beyond the summary, is the article


def pending_entries(
    source: str, records: list[EpisodeRecord], work: Path, *, limit: int | None, timeout: float
) -> list[str]:
    """Inputs for `convert`: each new entry's URL, or a file made from its full content."""
    import feedparser

    headers = {}
    if is_url(source):
        fetched = fetch(source, accept=FEED_TYPES, read_timeout=timeout)
        data = fetched.text.encode("utf-8")
        headers = {"content-location": fetched.url}  # relative entry links resolve against it
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{source} is neither an http(s) URL nor a feed file: check it")
        data = path.read_bytes()
    parsed = feedparser.parse(data, response_headers=headers)
    if parsed.get("bozo") and not parsed.entries:
        raise InputError(
            f"{source} is not an RSS or Atom feed ({parsed.get('bozo_exception')}): check the address"
        )
    done = {r.link for r in records if r.link} | {r.origin for r in records if r.origin}
    entries = [e for e in parsed.entries if e.get("link") and e.get("link") not in done]
    entries.sort(key=_when)
    if limit is not None:
        entries = entries[: max(0, limit)]
    return [_input(entry, work) for entry in entries]


def _when(entry) -> float:  # type: ignore[no-untyped-def]
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return calendar.timegm(stamp) if stamp else float("inf")


def _input(entry, work: Path) -> str:  # type: ignore[no-untyped-def]
    link = str(entry.get("link"))
    body = ""
    teaser = len(_letters(entry.get("summary", "")))
    for content in entry.get("content", []):
        size = len(_letters(content.get("value", "")))
        if "html" in content.get("type", "") and size >= max(FULL_TEXT_LETTERS, 2 * teaser):
            body = content["value"]
            break
    if not body:
        return link
    # the full text came with the feed: a page of it, with the entry's metadata where trafilatura reads it
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    date = datetime.fromtimestamp(calendar.timegm(stamp), UTC).isoformat() if stamp else None
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "datePublished": date}
    title = html.escape(entry.get("title", ""))
    author = html.escape(entry.get("author", ""))
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        f'<link rel="canonical" href="{html.escape(link)}">'
        + (f'<meta name="author" content="{author}">' if author else "")
        + '<script type="application/ld+json">'
        + json.dumps(data).replace("<", "\\u003c")
        + "</script></head><body><article>"
        f"<h1>{title}</h1>{body}</article></body></html>\n"
    )
    return str(save_page(Fetched(link, "text/html", page), work))  # kept like a fetched page


def _letters(markup: str) -> str:
    return re.sub(r"<[^>]*>|[\W_]+", "", markup)
