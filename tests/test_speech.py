"""Spoken form: numbers, service lines, lexicon, reading hints; chunk limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readaloud.clean import clean
from readaloud.errors import ConfigError
from readaloud.model import ReadingHint
from readaloud.segment import segment
from readaloud.speech import (
    load_lexicon,
    plan_chunks,
    respell,
    speakable,
    split_to_fit,
    spoken_credit,
    spoken_form,
    utf8_len,
)

TABLE = [
    ("完成率达97.84%", "完成率达百分之九十七点八四"),
    ("同比下降46%", "同比下降百分之四十六"),
    ("5月25日", "五月二十五日"),
    ("2025年", "二零二五年"),
    ("2025-05-25", "二零二五年五月二十五日"),
    ("近1.6万名球迷", "近一点六万名球迷"),
    ("3,500人", "三千五百人"),
    ("3-5天", "三到五天"),
    ("2024—2025年", "二零二四到二零二五年"),
    ("150余盏", "一百五十余盏"),
    ("6890米", "六千八百九十米"),
    ("第2个", "第二个"),
    ("第21届", "第二十一届"),
    ("12345热线", "幺二三四五热线"),
    ("拨打110报警", "拨打幺幺零报警"),
    ("“12345”热线", "“幺二三四五”热线"),
    ("手机13812345678", "手机幺三八幺二三四五六七八"),
    ("COVID-19疫情", "COVID 十九疫情"),
]


@pytest.mark.parametrize(("written", "spoken"), TABLE)
def test_offline_engine_hears_words(written: str, spoken: str) -> None:
    assert spoken_form(written, lexicon={}, reads_numbers=False) == spoken


def test_neural_engine_gets_digits_but_hotlines_in_words() -> None:
    assert spoken_form("完成率达97.84%", lexicon={}, reads_numbers=True) == "完成率达97.84%"
    assert spoken_form("12345热线", lexicon={}, reads_numbers=True) == "幺二三四五热线"
    assert spoken_form("共有110人", lexicon={}, reads_numbers=True) == "共有110人"


def test_lexicon_applies_longest_first(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.toml"
    path.write_text('[words]\n"重庆" = "崇庆"\n"重庆银行" = "崇庆银航"\n', encoding="utf-8")
    words = load_lexicon(path)
    assert spoken_form("重庆银行在重庆", lexicon=words, reads_numbers=True) == "崇庆银航在崇庆"


def test_bad_lexicon_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[words]\n"重庆" = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="must map words to strings"):
        load_lexicon(path)


def test_reading_hint_is_respelled_with_an_unambiguous_homophone() -> None:
    from readaloud.pinyin import readings

    spelled = respell(ReadingHint("银行", ("yín", "xíng")))
    assert spelled is not None and spelled[0] == "银" and spelled[1] != "行"
    assert [s.marked for s in readings(spelled[1])] == ["xíng"]


def test_page_hint_reaches_the_spoken_chunks() -> None:
    article = segment(clean("标题\n他在银行(yínxíng)里走了很久，看到了很多东西。\n"))
    assert article.hints == (ReadingHint("银行", ("yín", "xíng")),)
    chunks = plan_chunks(article, max_bytes=1500, reads_numbers=False)
    body = [c for c in chunks if c.kind == "sentence"][0]
    assert "银行" in body.written and "银行" not in body.spoken


def test_announcements_open_and_close_the_episode() -> None:
    article = segment(
        clean(
            "标题\n导语一句话。\n小标题在这里\n正文段落内容足够长，用来说明这是正文而不是标题。\n记者 张三\n"
        )
    )
    chunks = plan_chunks(article, max_bytes=1500, reads_numbers=False)
    assert [c.kind for c in chunks] == ["title", "sentence", "heading", "sentence", "credit"]
    assert plan_chunks(article, max_bytes=1500, reads_numbers=False, announce=False)[0].kind == "sentence"
    assert spoken_credit("新华日报·交汇点记者 林元沁") == "新华日报·交汇点 记者 林元沁"


TEXT = st.text(
    st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        st.sampled_from(list("，、,。！？；…“”1234567890%")),
    ),
    min_size=1,
    max_size=400,
)


@settings(max_examples=200, deadline=None)
@given(TEXT, st.integers(min_value=30, max_value=300))
def test_pieces_fit_and_are_never_punctuation_only(text: str, limit: int) -> None:
    pieces = split_to_fit(text, limit, utf8_len)
    assert "".join(pieces) == text
    for piece in pieces:
        assert utf8_len(piece) <= limit or speakable(piece) is not False
    assert all(speakable(p) for p in pieces) or not speakable(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=4), st.sampled_from([120, 400, 3000]))
def test_planned_chunks_respect_engine_limit(paragraphs: list[str], limit: int) -> None:
    text = "标题\n" + "\n".join(p.replace("\n", "") for p in paragraphs) + "\n"
    article = segment(clean(text))
    for chunk in plan_chunks(article, max_bytes=limit, reads_numbers=False):
        assert utf8_len(chunk.spoken) <= limit
        assert speakable(chunk.spoken)


@pytest.mark.parametrize(
    ("number", "reading"),
    [
        (12, "十二"),
        (101, "一百零一"),
        (110, "一百一十"),
        (10010, "一万零一十"),
        (10000100, "一千万零一百"),
        (100000001, "一亿零一"),
        (123456, "十二万三千四百五十六"),
    ],
)
def test_cardinal_readings(number: int, reading: str) -> None:
    from readaloud.speech import cardinal

    assert cardinal(number) == reading


@pytest.mark.parametrize(("text", "limit"), [("““““““““““0", 30), ("“““““““““““", 30)])
def test_leading_punctuation_joins_the_words_after_it(text: str, limit: int) -> None:
    """Found by hypothesis: a cut right after a run of quotes left a piece with nothing to say."""
    pieces = split_to_fit(text, limit, utf8_len)
    assert "".join(pieces) == text
    assert all(speakable(p) for p in pieces) or not speakable(text)
    assert all(utf8_len(p) <= limit for p in pieces if not speakable(p))
