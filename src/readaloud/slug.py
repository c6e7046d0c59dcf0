"""Titles -> ASCII file names (Apple Podcasts rejects non-ASCII names).

Han characters become toneless pinyin, everything else outside [a-z0-9] a
hyphen; the result is length-capped at a word boundary. Only [a-z0-9-] ever
survives, so `../`, slashes and dots in titles cannot escape the output folder.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

from pypinyin import Style, lazy_pinyin

MAX_LEN = 48


def slugify(text: str, *, max_len: int = MAX_LEN, fallback: str = "untitled") -> str:
    words = lazy_pinyin(text, style=Style.NORMAL, errors="default", v_to_u=False)
    ascii_text = unicodedata.normalize("NFKD", " ".join(words)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_len:
        cut = slug[:max_len]
        slug = cut.rsplit("-", 1)[0] if "-" in cut[max_len // 2 :] else cut
        slug = slug.strip("-")
    return slug or fallback


def short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]


def unique_slugs(titles: Sequence[str], *, max_len: int = MAX_LEN) -> list[str]:
    """One slug per title; a clash gets a short hash of its title (and position) appended."""
    base = [slugify(t, max_len=max_len) for t in titles]
    seen: set[str] = set()
    out = []
    for i, (title, slug) in enumerate(zip(titles, base, strict=True)):
        candidate = slug
        if base.count(slug) > 1 or candidate in seen:
            candidate = f"{slug}-{short_hash(f'{i}:{title}')}"
        seen.add(candidate)
        out.append(candidate)
    return out
