"""Spoken text -> Kokoro phonemes: readings, sandhi, erhua, Latin, and nothing unspeakable.

Expected strings are written by hand from the pinyin -> phoneme table in the
model's alphabet (initial, nucleus, tone arrow, coda), not copied from the code.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readaloud.clean import clean
from readaloud.engines.kokoro import MAX_TOKENS, KokoroEngine, english
from readaloud.phonemes import KOKORO_VOCAB, from_espeak, to_phonemes, tokens
from readaloud.segment import segment
from readaloud.speech import plan_chunks, spoken_form


def said(text: str) -> str:
    """Syllables only: where jieba puts word spaces is not what these tests are about."""
    return to_phonemes(text).replace(" ", "")


@pytest.mark.parametrize(
    ("text", "phonemes"),
    [
        ("苏州", "su→ꭧou→"),
        ("群众", "ʨʰy↗nꭧʊ↘ŋ"),
        ("日子", "ɻɨ↘ʦɨ"),  # neutral tone: no arrow; zi/ri take the apical vowel
        ("学习", "ɕɥe↗ɕi↗"),
        ("绿色", "ly↘sɤ↘"),
        ("二", "ɚ↘"),
        ("全省", "ʨʰɥɛ↗nʂə↓ŋ"),
    ],
)
def test_syllables(text: str, phonemes: str) -> None:
    assert said(text) == phonemes


@pytest.mark.parametrize(
    ("text", "phonemes"),
    [
        ("你好", "ni↗xau↓"),  # 3-3: the first rises
        ("领导", "li↗ŋtau↓"),
        ("展览馆", "ꭧa↗nla↗nkwa↓n"),  # a run of thirds: all but the last rise
        ("不对", "pu↗twei↘"),  # 不 before a fourth tone
        ("不好", "pu↘xau↓"),
        ("是不是", "ʂɨ↘puʂɨ↘"),  # A不A: neutral
        ("一天", "i↘tʰjɛ→n"),  # 一 before first, second, third: fourth
        ("一年", "i↘njɛ↗n"),
        ("一个", "i↗kɤ↘"),  # before a fourth: second
        ("第一", "ti↘i→"),  # ordinal and at the end: first tone stays
        ("十一", "ʂɨ↗i→"),
        ("统一", "tʰʊ↓ŋi→"),
        ("十月一日", "ʂɨ↗ɥe↘i→ɻɨ↘"),
        ("看一看", "kʰa↘nikʰa↘n"),  # V一V: neutral
    ],
)
def test_tone_sandhi(text: str, phonemes: str) -> None:
    assert said(text) == phonemes


@pytest.mark.parametrize(
    ("text", "phonemes"),
    [
        ("这儿", "ꭧɤ↘ɻ"),
        ("哪儿", "na↓ɻ"),
        ("一点儿", "i↘tjɛ↓ɻ"),  # the coda n gives way to the r-colouring
        ("女儿", "ny↓ɚ↗"),  # a daughter: 儿 is a syllable
        ("婴儿", "i→ŋɚ↗"),
    ],
)
def test_erhua(text: str, phonemes: str) -> None:
    assert said(text) == phonemes


def test_page_hint_reaches_the_model_with_its_reading() -> None:
    article = segment(clean("标题\n他在银行(yínxíng)里走了很久，看到了很多东西。\n"))
    body = [c for c in plan_chunks(article, max_bytes=210, reads_numbers=False) if c.kind == "sentence"]
    phonemes = to_phonemes(body[0].spoken).replace(" ", "")
    assert "i↗nɕi↗ŋ" in phonemes  # yín xíng, as the page said
    assert "i↗nxa↗ŋ" not in phonemes  # not the dictionary's yín háng
    assert said("他在银行里").count("xa↗ŋ") == 1  # without the hint: háng


def test_lexicon_entry_changes_what_the_model_hears() -> None:
    spoken = spoken_form("重庆发布", lexicon={"重庆": "崇庆"}, reads_numbers=False)
    assert said(spoken).startswith("ꭧʰʊ↗ŋʨʰi↘ŋ")


@pytest.mark.parametrize(
    ("written", "contains"),
    [
        ("完成率达97.84%", "pai↓fə→nꭧɨ→ʨjou↓ʂɨ↗ʨʰi→tjɛ↓npa→sɨ↘"),  # 百分之九十七点八四
        ("拨打12345热线", "jau→ɚ↘sa→nsɨ↘u↓"),  # 幺二三四五
        ("共有46人", "sɨ↘ʂɨ↗ljou↘"),
    ],
)
def test_numbers_reach_the_model_as_words(written: str, contains: str) -> None:
    spoken = spoken_form(written, lexicon={}, reads_numbers=KokoroEngine.reads_numbers)
    assert contains in said(spoken)


def test_acronyms_are_spelled_and_english_words_read() -> None:
    assert to_phonemes("AI") == "ˈA ˈI"
    assert to_phonemes("GDP增长").startswith("ʤˈi dˈi pˈi ")
    assert to_phonemes("5G网络").startswith("u↓ ʤˈi ")
    china = to_phonemes("China", english=english)
    assert china != to_phonemes("China")  # read as a word, not spelled C-H-I-N-A
    assert china.startswith("ʧ") and "n" in china
    # espeak's ties become the model's single letters
    assert from_espeak("t^ʃˈa^ɪnə") == "ʧˈInə"


def test_punctuation_becomes_pauses_the_model_knows() -> None:
    assert to_phonemes("你好，世界。") == "ni↗xau↓, ʂɨ↘ʨje↘."
    assert to_phonemes("他说：“好。”").endswith("“xau↓.”")
    assert to_phonemes("好，，、。") == "xau↓."  # one pause, the strongest


def test_nothing_speakable_is_dropped() -> None:
    assert said("😀表情\ue000私用") == said("表情私用") != ""
    assert to_phonemes("Hello world") != ""  # no Han at all
    assert to_phonemes("😀\ue000★") == ""


def test_a_long_unpunctuated_sentence_fits_the_model() -> None:
    sentence = "群众意见建议得到落实" * 200  # 2,000 characters, no punctuation
    article = segment(clean(f"标题\n{sentence}。\n"))
    chunks = plan_chunks(article, max_bytes=KokoroEngine.max_chunk_bytes, reads_numbers=False)
    body = [c for c in chunks if c.kind == "sentence"]
    assert "".join(c.written for c in body) == sentence + "。"
    assert all(len(tokens(to_phonemes(c.spoken))) <= MAX_TOKENS for c in body)


TEXT = st.text(
    st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs", "Co"]),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_every_symbol_is_in_the_vocabulary_and_han_is_never_lost(text: str) -> None:
    phonemes = to_phonemes(text)
    assert all(c in KOKORO_VOCAB for c in phonemes)
    han = [c for c in text if 0x4E00 <= ord(c) <= 0x9FA5]
    if han:
        arrows_or_syllables = sum(c in "→↗↓↘" for c in phonemes)
        neutral = sum(1 for c in han if c in "的了吗呢吧么着过们子头")
        assert arrows_or_syllables + neutral >= len(han) // 2, (text, phonemes)
