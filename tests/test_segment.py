"""Sections from bare headings, sentences, and the Article golden file."""

from __future__ import annotations

import json
from dataclasses import asdict

from readaloud.clean import clean
from readaloud.load import load_article
from readaloud.segment import segment, split_sentences
from tests.conftest import EXAMPLE

BODY = "这是正文的一个段落，内容足够长，用来说明这里确实是一段正文，而不是标题。"


def headings(text: str) -> list[str | None]:
    return [s.heading for s in segment(clean(text)).sections]


def test_example_has_lead_and_three_sections(golden) -> None:  # type: ignore[no-untyped-def]
    article = segment(clean(load_article(EXAMPLE)))
    assert [s.heading for s in article.sections] == [
        None,
        "开门领题，坚持问需于民问计于民",
        "一线解题，变“问题清单”为“幸福清单”",
        "担当作为，切实转作风提效能",
    ]
    summary = {
        "title": article.title,
        "credit": article.credit,
        "sections": [
            {"heading": s.heading, "sentences": [x.text for x in s.sentences]} for s in article.sections
        ],
    }
    golden("example.article.json", json.dumps(summary, ensure_ascii=False, indent=1) + "\n")


def test_numbered_bracketed_and_markdown_headings() -> None:
    parts = [
        "标题",
        BODY,
        "一、总体要求",
        BODY,
        "（二）主要任务",
        BODY,
        "【专家观点】",
        BODY,
        "## 下一步",
        BODY,
    ]
    text = "\n".join(parts) + "\n"
    assert headings(text) == [None, "一、总体要求", "（二）主要任务", "专家观点", "下一步"]


def test_no_headings_is_one_section() -> None:
    assert headings(f"标题\n{BODY}\n{BODY}\n") == [None]


def test_quoted_line_and_sentences_are_not_headings() -> None:
    text = f"标题\n{BODY}\n“我们一定会做好”\n{BODY}\n这句话以句号结束。\n{BODY}\n"
    assert headings(text) == [None]


def test_article_starting_with_a_heading_has_no_lead() -> None:
    article = segment(clean(f"标题\n第一部分 背景\n{BODY}\n"))
    assert [(s.index, s.heading) for s in article.sections] == [(1, "第一部分 背景")]


def test_sentences_keep_closing_quotes() -> None:
    paragraph = "他说：“要做好‘大文章’！”大家鼓掌。真的吗?是的!Version 2.0 is out; ok"
    got = [s.text for s in split_sentences(paragraph)]
    # "!" before Latin text does not end a sentence; "; " before a space does
    assert got == ["他说：“要做好‘大文章’！”", "大家鼓掌。", "真的吗?", "是的!Version 2.0 is out;", "ok"]


def test_ellipsis_ends_a_sentence() -> None:
    got = [s.text for s in split_sentences("“夏天雷雨多”“暑假快到了”……周娟记录诉求。")]
    assert got == ["“夏天雷雨多”“暑假快到了”……", "周娟记录诉求。"]


def test_model_is_frozen() -> None:
    import dataclasses

    import pytest

    article = segment(clean(f"标题\n{BODY}\n"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        article.title = "x"  # type: ignore[misc]
    assert asdict(article)["title"] == "标题"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        st.one_of(
            st.sampled_from(list("。！？；…!?;”’）》 aZ09")),
            st.characters(min_codepoint=0x4E00, max_codepoint=0x4E20),
        )
    )
)
def test_sentences_lose_no_character(paragraph: str) -> None:
    joined = "".join(s.text for s in split_sentences(paragraph))
    assert joined.replace(" ", "") == paragraph.replace(" ", "").strip()
