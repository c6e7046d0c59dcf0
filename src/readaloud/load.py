"""Bytes on disk -> decoded text: encodings, and .txt/.md/.html inputs.

Scraped pages arrive in UTF-8 (with or without BOM), UTF-16, GB18030/GBK or
Big5. We decide by BOM first, then by strict decoding in an order where a
wrong guess fails loudly (UTF-8 before the legacy codecs, which accept
almost anything), and refuse files that look binary.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from .errors import InputError
from .page import Page, html_page, markdown_text

ARTICLE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def decode(data: bytes, *, name: str = "input") -> str:
    """Decode article bytes, or raise InputError saying why not."""
    text = _decode(data, name)
    controls = sum(1 for c in text[:4096] if c < " " and c not in "\n\t\r\f")
    if controls > max(2, len(text[:4096]) // 50):
        raise InputError(f"{name} looks like a binary file, not text: pass a .txt, .md or .html article")
    return text


def _decode(data: bytes, name: str) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec).replace("\r\n", "\n").replace("\r", "\n")
    if _looks_utf16(data):
        codec = "utf-16-le" if data[1:2] == b"\0" else "utf-16-be"
        return data.decode(codec, errors="strict").replace("\r\n", "\n")
    plain_utf8 = b"\0" not in data[:4096] and _is_utf8(data)
    codec16 = None if plain_utf8 else _utf16_by_content(data)
    if codec16 is not None:
        return data.decode(codec16).replace("\r\n", "\n").replace("\r", "\n")
    if b"\0" in data[:4096]:
        raise InputError(f"{name} looks like a binary file, not text: pass a .txt, .md or .html article")
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        pass
    # GB18030 accepts almost any byte string, Big5 bytes included: keep the
    # decoding that reads as common Chinese, not as rare and private-use characters.
    candidates = []
    for codec in ("gb18030", "big5"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _CJK.search(text):
            candidates.append((_commonness(text), text))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1].replace("\r\n", "\n").replace("\r", "\n")
    raise InputError(f"{name} is not UTF-8, UTF-16, GB18030 or Big5 text: re-save it as UTF-8 and try again")


def _is_common(ch: str) -> bool:
    """A character from the frequent-use tables of GB2312 (level 1) or Big5 (level 1)."""
    for codec, low, high in (("gb2312", 0xB0A1, 0xD7F9), ("big5", 0xA440, 0xC67E)):
        try:
            raw = ch.encode(codec)
        except UnicodeEncodeError:
            continue
        if len(raw) == 2 and low <= int.from_bytes(raw, "big") <= high:
            return True
    return False


def _commonness(text: str) -> float:
    han = [c for c in text if _CJK.match(c)]
    private = sum(1 for c in text if "\ue000" <= c <= "\uf8ff")
    if not han:
        return -private
    return sum(1 for c in han if _is_common(c)) / len(han) - private


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _plain(ch: str) -> bool:
    """Characters a Chinese article is made of: Han, ASCII, CJK and full-width punctuation."""
    return (
        "\u4e00" <= ch <= "\u9fff"
        or " " <= ch <= "~"
        or ch in "\n\r\t"
        or "\u3000" <= ch <= "\u303f"
        or "\uff00" <= ch <= "\uffef"
        or "\u2010" <= ch <= "\u206f"
        or "\u00a0" <= ch <= "\u024f"  # Latin letters with accents: pinyin tone marks
        or ch in "·—…"
    )


def _utf16_by_content(data: bytes) -> str | None:
    """UTF-16 without a BOM whose text is mostly Han (so few NUL bytes to go by): the byte order
    under which nearly every character is one an article is made of."""
    if len(data) < 4 or len(data) % 2:
        return None
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            sample = data[:8000].decode(codec)
        except UnicodeDecodeError:
            continue
        if sample and sum(map(_plain, sample)) >= 0.95 * len(sample):
            return codec
    return None


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without BOM: every other byte is NUL for ASCII-heavy text, or Han in pairs."""
    sample = data[:2000]
    if len(sample) < 4 or len(sample) % 2:
        return False
    zeros_odd = sample[1::2].count(0)
    zeros_even = sample[0::2].count(0)
    half = len(sample) // 2
    if max(zeros_odd, zeros_even) < half * 0.3:
        return False
    codec = "utf-16-le" if zeros_odd > zeros_even else "utf-16-be"
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def load_article(path: Path) -> str:
    """Read one article file into plain text with lines, or raise InputError."""
    return load_document(path).text


def load_document(path: Path, *, url: str | None = None) -> Page:
    """One article file: its text with `#` headings, and for a web page the page's metadata."""
    if not path.exists():
        raise InputError(f"{path} does not exist: check the path")
    if path.is_dir():
        raise InputError(f"{path} is a folder: pass the article files inside it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}; check its permissions") from exc
    text = decode(data, name=str(path))
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm") or (suffix == "" and re.match(r"\s*<(!doctype|html)", text, re.I)):
        page = html_page(text, url=url, name=url or str(path))
    elif suffix in (".md", ".markdown"):
        page = Page(markdown_text(text))
    else:
        page = Page(text)
    if not page.text.strip():
        raise InputError(f"{path} is empty: there is nothing to read aloud")
    return page


def find_articles(inputs: list[Path]) -> list[Path]:
    """Expand folders into the article files they hold (sorted), keep files as given."""
    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            inside = sorted(p for p in item.iterdir() if p.suffix.lower() in ARTICLE_SUFFIXES and p.is_file())
            if not inside:
                raise InputError(
                    f"{item} holds no articles ({', '.join(ARTICLE_SUFFIXES)}): add some or pass files"
                )
            found.extend(inside)
        elif not item.exists():
            raise InputError(f"{item} does not exist: check the path")
        else:
            found.append(item)
    return found
