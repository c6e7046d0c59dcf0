"""Book -> an EPUB 3 file with Media Overlays: the text and its narration, in sync.

One XHTML content document per section (an element per title, heading and
sentence), one SMIL overlay per section pointing each sentence at its clip of
the section MP3, a navigation document, and the package document with the
overlay durations and the accessibility metadata reading systems and
catalogues look for. The MP3s go into the archive as they are (stored, not
deflated: they are compressed already).

Every document is built and serialized by lxml (xmlout.py), so text is always escaped.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .fsutil import atomic_path
from .talkingbook import Book, Part, add_text, clock
from .xmlout import CONTAINER, DC, OPF, OPS, SMIL3, XHTML, Element, element, serialize, sub

ACTIVE_CLASS = "-epub-media-overlay-active"
STYLE = f"""\
body {{ font-family: sans-serif; line-height: 1.7; margin: 0 5%; }}
h1, h2 {{ line-height: 1.3; }}
p.credit {{ color: #444; }}
.{ACTIVE_CLASS} {{ background-color: #ffeb3b; color: #000; }}
"""
SUMMARY = (
    "全文与朗读同步：每一句文字都对应其朗读音频，阅读器可逐句高亮并朗读；"
    "可按标题和章节导航。The full text is synchronized with narration sentence by sentence;"
    " navigation by article and section headings."
)


def write_epub(book: Book, target: Path) -> None:
    """The book as one .epub file, written to a temp file and moved into place."""
    stamp = tuple(int(x) for x in (*book.modified[:10].split("-"), *book.modified[11:19].split(":")))
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w") as zf:

        def add(name: str, data: bytes, *, deflate: bool = True) -> None:
            info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)

        add("mimetype", b"application/epub+zip", deflate=False)  # first and stored: the format's rule
        add("META-INF/container.xml", _xml(_container()))
        add("EPUB/package.opf", _xml(_package(book)))
        add("EPUB/nav.xhtml", _xhtml(_nav(book)))
        add("EPUB/style.css", STYLE.encode("utf-8"))
        for part in book.parts:
            add(f"EPUB/text/{part.key}.xhtml", _xhtml(_document(book, part)))
            add(f"EPUB/smil/{part.key}.smil", _xml(_overlay(part)))
            add(f"EPUB/audio/{part.audio_name}", part.audio.read_bytes(), deflate=False)


def _xml(root: Element) -> bytes:
    return serialize(root)


def _xhtml(root: Element) -> bytes:
    return serialize(root, doctype="<!DOCTYPE html>")


def _container() -> Element:
    root = element("container", {"version": "1.0"}, nsmap={None: CONTAINER})
    files = sub(root, "rootfiles")
    sub(files, "rootfile", {"full-path": "EPUB/package.opf", "media-type": "application/oebps-package+xml"})
    return root


def _page(book: Book, title: str, *, css: str) -> tuple[Element, Element]:
    lang = book.language
    html = element("html", {"lang": lang, "xml:lang": lang}, nsmap={None: XHTML, "epub": OPS})
    head = sub(html, "head")
    sub(head, "meta", {"charset": "utf-8"})
    sub(head, "title").text = title
    sub(head, "link", {"rel": "stylesheet", "type": "text/css", "href": css})
    return html, sub(html, "body")


def _document(book: Book, part: Part) -> Element:
    html, body = _page(book, part.title, css="../style.css")
    attrs = {"id": f"sec-{part.key}", "epub:type": "chapter", "role": "doc-chapter"}
    if part.level == 2:
        attrs = {"id": f"sec-{part.key}", "epub:type": "subchapter"}  # DPUB-ARIA has no role for it
    section = sub(body, "section", attrs)
    add_text(section, part.clips)
    return html


def _nav(book: Book) -> Element:
    html, body = _page(book, book.title, css="style.css")
    nav = sub(body, "nav", {"epub:type": "toc", "id": "toc", "role": "doc-toc"})
    sub(nav, "h1").text = "目录"
    top = sub(nav, "ol")
    under: Element | None = None  # the list of the current article's sections
    for part in book.parts:
        for level, clip in part.headings():
            item = sub(top if level == 1 or under is None else under, "li")
            sub(item, "a", {"href": f"text/{part.key}.xhtml#{clip.id}"}, clip.text)
            if level == 1 or under is None:
                under = sub(item, "ol")
    for sections in list(top.iter(f"{{{XHTML}}}ol"))[1:]:  # an empty list is invalid: drop them
        if len(sections) == 0:
            sections.getparent().remove(sections)
    return html


def _overlay(part: Part) -> Element:
    smil = element("smil", {"version": "3.0"}, nsmap={None: SMIL3, "epub": OPS})
    body = sub(smil, "body")
    seq = sub(
        body, "seq", {"id": f"seq-{part.key}", "epub:textref": f"../text/{part.key}.xhtml#sec-{part.key}"}
    )
    for clip in part.timed:
        assert clip.begin is not None and clip.end is not None
        par = sub(seq, "par", {"id": f"par-{clip.id}"})
        sub(par, "text", {"src": f"../text/{part.key}.xhtml#{clip.id}"})
        sub(
            par,
            "audio",
            {
                "src": f"../audio/{part.audio_name}",
                "clipBegin": clock(clip.begin),
                "clipEnd": clock(clip.end),
            },
        )
    return smil


def _package(book: Book) -> Element:
    package = element(
        "package",
        {"version": "3.0", "unique-identifier": "uid", "xml:lang": book.language},
        nsmap={None: OPF},
    )
    meta = sub(package, "metadata", nsmap={"dc": DC})

    def dc(name: str, text: str, **attrs: str) -> None:
        sub(meta, f"dc:{name}", attrs, text)

    def prop(name: str, text: str, **attrs: str) -> None:
        sub(meta, "meta", {"property": name, **attrs}).text = text

    dc("identifier", book.identifier, id="uid")
    dc("title", book.title)
    dc("language", book.language)
    dc("creator", book.creator)
    dc("publisher", book.publisher)
    dc("date", book.date)
    prop("dcterms:modified", book.modified)
    # durations in whole milliseconds, so the total is exactly the sum a checker adds up
    millis = [round(p.duration * 1000) for p in book.parts]
    for part, ms in zip(book.parts, millis, strict=True):
        prop("media:duration", clock(ms / 1000), refines=f"#mo-{part.key}")
    prop("media:duration", clock(sum(millis) / 1000))
    prop("media:narrator", book.narrator)
    prop("media:active-class", ACTIVE_CLASS)
    for mode in ("textual", "auditory"):
        prop("schema:accessMode", mode)
        prop("schema:accessModeSufficient", mode)
    for feature in ("synchronizedAudioText", "tableOfContents", "readingOrder", "structuralNavigation"):
        prop("schema:accessibilityFeature", feature)
    prop("schema:accessibilityHazard", "none")
    prop("schema:accessibilitySummary", SUMMARY)

    manifest = sub(package, "manifest")
    items = [
        {"id": "nav", "href": "nav.xhtml", "media-type": "application/xhtml+xml", "properties": "nav"},
        {"id": "css", "href": "style.css", "media-type": "text/css"},
    ]
    for part in book.parts:
        items += [
            {
                "id": f"x-{part.key}",
                "href": f"text/{part.key}.xhtml",
                "media-type": "application/xhtml+xml",
                "media-overlay": f"mo-{part.key}",
            },
            {"id": f"mo-{part.key}", "href": f"smil/{part.key}.smil", "media-type": "application/smil+xml"},
            {"id": f"au-{part.key}", "href": f"audio/{part.audio_name}", "media-type": "audio/mpeg"},
        ]
    for attrs in items:
        sub(manifest, "item", attrs)
    spine = sub(package, "spine")
    for part in book.parts:
        sub(spine, "itemref", {"idref": f"x-{part.key}"})
    return package
