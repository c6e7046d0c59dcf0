"""Book -> a DAISY 2.02 full-text, full-audio talking book in a folder.

ncc.html     the navigation centre: metadata, an h1 per article, an h2 per section
content.html the whole text, every title, heading and sentence with an id
NN.smil      one per section MP3: a par per spoken piece, its text and its clip
master.smil  the SMIL files in reading order
*.mp3        the section files, linked from the episode folder (not copied, not re-encoded)

Every document is built and serialized by lxml (xmlout.py), so any text is escaped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import __version__
from .fsutil import atomic_folder
from .publish import NCC
from .talkingbook import Book, Clip, Part, add_text, clock
from .xmlout import XHTML, Element, element, serialize, sub

XHTML_DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"'
    ' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)
SMIL_DOCTYPE = '<!DOCTYPE smil PUBLIC "-//W3C//DTD SMIL 1.0//EN" "http://www.w3.org/TR/REC-smil/SMIL10.dtd">'

CONTENT = "content.html"
GENERATOR = f"readaloud {__version__}"


def write_daisy(book: Book, target: Path) -> None:
    """The whole book in `target`, replaced in one step: a reader never sees half a book."""
    with atomic_folder(target) as tmp:
        for part in book.parts:
            _link(part.audio, tmp / part.audio_name)
        elapsed = 0.0
        for part in book.parts:
            _write(tmp / f"{part.key}.smil", SMIL_DOCTYPE, _smil(book, part, elapsed))
            elapsed += part.duration
        _write(tmp / "master.smil", SMIL_DOCTYPE, _master(book))
        _write(tmp / CONTENT, XHTML_DOCTYPE, _content(book))
        files = 3 + 2 * len(book.parts)  # ncc, content, master; a SMIL and an MP3 per part
        kilobytes = sum(f.stat().st_size for f in tmp.iterdir()) // 1024 + 4  # and about 4 KB of ncc
        _write(tmp / NCC, XHTML_DOCTYPE, _ncc(book, files, kilobytes))


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, target)


def _write(path: Path, doctype: str, root: Element) -> None:
    path.write_bytes(serialize(root, doctype=doctype))


def _xhtml(book: Book, title: str) -> tuple[Element, Element, Element]:
    lang = book.language
    html = element("html", {"lang": lang, "xml:lang": lang}, nsmap={None: XHTML})
    head = sub(html, "head")
    sub(head, "meta", {"http-equiv": "Content-Type", "content": "text/html; charset=utf-8"})
    sub(head, "title").text = title
    return html, head, sub(html, "body")


def _meta(parent: Element, name: str, content: str, **extra: str) -> None:
    sub(parent, "meta", {"name": name, "content": content, **extra})


def _ncc(book: Book, files: int, kilobytes: int) -> Element:
    html, head, body = _xhtml(book, book.title)
    headings = [(level, part, clip) for part in book.parts for level, clip in part.headings()]
    for name, content, extra in [
        ("dc:title", book.title, {}),
        ("dc:creator", book.creator, {}),
        ("dc:publisher", book.publisher, {}),
        ("dc:date", book.date, {"scheme": "yyyy-mm-dd"}),
        ("dc:format", "Daisy 2.02", {}),
        ("dc:identifier", book.identifier, {}),
        ("dc:language", book.language, {"scheme": "ISO 639"}),
        ("ncc:charset", "utf-8", {}),
        ("ncc:generator", GENERATOR, {}),
        ("ncc:multimediaType", "audioFullText", {}),
        ("ncc:narrator", book.narrator, {}),
        ("ncc:totalTime", clock(book.duration, fraction=False), {}),
        ("ncc:tocItems", str(len(headings)), {}),
        ("ncc:depth", str(max(level for level, _, _ in headings)), {}),
        ("ncc:files", str(files), {}),
        ("ncc:kByteSize", str(kilobytes), {}),
        ("ncc:setInfo", "1 of 1", {}),
        ("ncc:footnotes", "0", {}),
        ("ncc:prodNotes", "0", {}),
        ("ncc:sidebars", "0", {}),
        ("ncc:pageFront", "0", {}),
        ("ncc:pageNormal", "0", {}),
        ("ncc:pageSpecial", "0", {}),
        ("ncc:maxPageNormal", "0", {}),
        ("ncc:revisionDate", book.modified[:10], {"scheme": "yyyy-mm-dd"}),
    ]:
        _meta(head, name, content, **extra)
    for n, (level, part, clip) in enumerate(headings):
        attrs = {"id": f"nav-{clip.id}"}
        if n == 0:
            attrs["class"] = "title"  # DAISY 2.02: the first heading is the book's title
        heading = sub(body, f"h{level}", attrs)
        target = part.anchor(clip) or part.timed[0]
        sub(heading, "a", {"href": f"{part.key}.smil#text-{target.id}"}).text = clip.text
    return html


def _content(book: Book) -> Element:
    html, _, body = _xhtml(book, book.title)
    for part in book.parts:
        add_text(body, part.clips)
    return html


def _smil_document(book: Book, title: str, times: dict[str, float]) -> tuple[Element, Element]:
    """A SMIL 1.0 file's root and body, its head holding what every DAISY SMIL file carries."""
    smil = element("smil")
    head = sub(smil, "head")
    _meta(head, "dc:format", "Daisy 2.02")
    _meta(head, "dc:title", title)
    _meta(head, "dc:identifier", book.identifier)
    _meta(head, "ncc:generator", GENERATOR)
    for name, seconds in times.items():
        _meta(head, name, clock(seconds))
    regions = sub(head, "layout")
    sub(regions, "region", {"id": "txtView"})
    return smil, sub(smil, "body")


def _smil(book: Book, part: Part, elapsed: float) -> Element:
    times = {"ncc:totalElapsedTime": elapsed, "ncc:timeInThisSmil": part.duration}
    smil, body = _smil_document(book, part.title, times)
    seq = sub(body, "seq", {"dur": f"{part.duration:.3f}s"})
    for clip in part.timed:
        _par(seq, part, clip)
    return smil


def _par(seq: Element, part: Part, clip: Clip) -> None:
    assert clip.begin is not None and clip.end is not None
    par = sub(seq, "par", {"endsync": "last", "id": f"par-{clip.id}"})
    sub(par, "text", {"src": f"{CONTENT}#{clip.id}", "id": f"text-{clip.id}"})
    audio = sub(sub(par, "seq"), "audio")
    audio.attrib.update(
        {
            "src": part.audio_name,
            "clip-begin": f"npt={clip.begin:.3f}s",
            "clip-end": f"npt={clip.end:.3f}s",
            "id": f"audio-{clip.id}",
        }
    )


def _master(book: Book) -> Element:
    smil, body = _smil_document(book, book.title, {"ncc:timeInThisSmil": book.duration})
    for part in book.parts:
        sub(body, "ref", {"src": f"{part.key}.smil", "title": part.title, "id": f"ref-{part.key}"})
    return smil
