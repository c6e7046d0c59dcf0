"""ASCII file names: stable, unique within an article, no way out of the folder."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from readaloud.slug import MAX_LEN, slugify, unique_slugs


def test_chinese_title_becomes_pinyin() -> None:
    assert slugify("开门领题,坚持问需于民") == "kai-men-ling-ti-jian-chi-wen-xu-yu-min"


@given(st.text(max_size=200))
def test_always_a_safe_ascii_name(title: str) -> None:
    slug = slugify(title)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)
    assert len(slug) <= MAX_LEN
    assert slug == slugify(title)  # stable


def test_path_tricks_cannot_escape() -> None:
    for title in ("../../etc/passwd", "/", "..", ".hidden", "a\\b", "C:\\x", "\0", "   "):
        slug = slugify(title)
        assert "/" not in slug and "\\" not in slug and not slug.startswith(".") and slug


@given(st.lists(st.sampled_from(["导语", "导语", "结语", "", "!!!", "A"]), min_size=1, max_size=8))
def test_unique_within_an_article(titles: list[str]) -> None:
    slugs = unique_slugs(titles)
    assert len(set(slugs)) == len(slugs)
    assert slugs == unique_slugs(titles)
