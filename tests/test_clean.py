"""The cleaner: pinyin verified against the characters, chrome, junk, titles, bylines."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readaloud.clean import clean, fullwidth_punctuation, junk_reason, strip_annotations
from readaloud.load import load_article
from tests.conftest import DATA, EXAMPLE


def corpus() -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / "annotations.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            given_text, expected = line.split("\t")
            rows.append((given_text, expected))
    return rows


CASES = corpus()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(("line", "expected"), CASES, ids=[c[0][:12] for c in CASES])
def test_annotation_corpus(line: str, expected: str) -> None:
    result = clean(f"标题\n{line}\n")
    assert result.body == (expected,)


def test_every_annotation_removed_and_no_genuine_group_touched() -> None:
    removed = kept = 0
    for line, expected in CASES:
        groups = re.findall(r"[(（][^()（）]*[)）]", line)
        survivors = re.findall(r"[(（][^()（）]*[)）]", expected)
        kept += len(survivors)
        removed += len(groups) - len(survivors)
        assert clean(f"标题\n{line}\n").body == (expected,)
    assert removed >= 40 and kept >= 12


def test_unverified_pinyin_is_removed_and_reported() -> None:
    result = clean("标题\n这是一个错误(zhèngquè)的注音。\n")
    assert result.body == ("这是一个错误的注音。",)
    assert [(r.reason, r.text) for r in result.removals] == [("pinyin-unverified", "(zhèngquè)")]


def test_example_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = clean(load_article(EXAMPLE))
    golden("example.clean.txt", result.text)
    report = [asdict(r) for r in result.removals]
    golden("example.report.json", json.dumps(report, ensure_ascii=False, indent=1) + "\n")


def test_example_title_credit_and_chrome() -> None:
    result = clean(load_article(EXAMPLE))
    assert result.title == "打造“苏超”赛区“第二现场”！江苏这样办好让群众可感可及的实事"
    assert result.credit == "新华日报·交汇点记者 林元沁"
    text = result.text
    for noise in ("相关推荐", "评论列表", "暂无评论", "发表评论", "欢迎", "(hùdòng)", "(qū)"):
        assert noise not in text
    assert text.count(result.title) == 1
    assert "泰州医药高新区(高港区)" in text
    reasons = {r.reason for r in result.removals}
    assert {"pinyin", "duplicate-title", "boilerplate", "byline"} <= reasons


def test_chrome_is_cut_only_as_a_trailing_block() -> None:
    story = (
        "标题\n"
        "网友在评论列表里留言，相关推荐也被大家讨论，这是正文的一部分，必须保留下来给听众。\n"
        "第二段正文继续讲述这个故事的细节，同样需要完整地朗读出来，不能被删掉。\n"
        "上一篇：另一条新闻\n下一篇：再一条新闻\n分享到：\n责任编辑：王五\n"
    )
    result = clean(story)
    assert len(result.body) == 2
    assert "评论列表" in result.body[0]


def test_junk_and_mojibake_lines() -> None:
    mojibake = "新华日报记者报道".encode().decode("latin-1")
    gbk_mojibake = "新华日报记者报道".encode().decode("gb18030", errors="replace")
    text = f"标题\nqwhdkjaslkd\n{mojibake}\n{gbk_mojibake}\n正文第一段，讲述了一件事情。\n------\n"
    result = clean(text)
    assert result.body == ("正文第一段，讲述了一件事情。",)
    assert {r.reason for r in result.removals} == {"junk"}


def test_english_prose_line_is_kept() -> None:
    assert junk_reason("The ministry said the plan will start in June.") is None
    assert junk_reason("hjdsakhdjks") == "junk"


def test_source_and_bylines_of_other_shapes() -> None:
    result = clean("标题\n来源：人民日报\n正文，有内容的一段话。\n（记者 张三 李四）\n")
    assert result.source == "人民日报"
    assert result.credit == "记者 张三 李四"
    assert result.body == ("正文，有内容的一段话。",)


def test_punctuation() -> None:
    assert fullwidth_punctuation("开门领题,坚持问需") == "开门领题，坚持问需"
    assert fullwidth_punctuation("超1,400万人次") == "超1,400万人次"
    assert fullwidth_punctuation("Hello, world: yes") == "Hello, world: yes"
    assert fullwidth_punctuation("时间是10:30,地点") == "时间是10:30，地点"


def test_cleaning_is_idempotent_on_example() -> None:
    once = clean(load_article(EXAMPLE)).text
    assert clean(once).text == once


HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
PIECE = st.one_of(
    st.text(HAN, min_size=1, max_size=6),
    st.sampled_from(["(hùdòng)", "(qū)", "(AI)", "(高港区)", ",", "。", "1,400", "(2025)", " ", "（试行）"]),
)
LINE = st.lists(PIECE, min_size=1, max_size=12).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=6))
def test_idempotent(lines: list[str]) -> None:
    once = clean("\n".join(["标题", *lines])).text
    assert clean(once).text == once


@settings(max_examples=150, deadline=None)
@given(LINE)
def test_never_drops_han_outside_removed_groups(line: str) -> None:
    from readaloud.clean import _Report

    report = _Report()
    cleaned = strip_annotations(line, 1, report)
    removed = "".join(r.text for r in report.removals)
    han = lambda s: [c for c in s if "\u4e00" <= c <= "\u9fff"]  # noqa: E731
    assert sorted(han(cleaned) + han(removed)) == sorted(han(line))
    for r in report.removals:
        assert not han(r.text)  # an annotation never holds Han characters


def test_encodings_decode_the_same(tmp_path: Path) -> None:
    text = "标题：繁體與简体\n正文第一段。\n"
    expected = load_article(_write(tmp_path / "u.txt", text.encode()))
    for name, data in {
        "bom.txt": b"\xef\xbb\xbf" + text.encode(),
        "u16.txt": text.encode("utf-16"),
        "gb.txt": text.encode("gb18030"),
        "big5.txt": "標題：繁體\n正文第一段。\n".encode("big5"),
    }.items():
        got = load_article(_write(tmp_path / name, data))
        if name == "big5.txt":
            assert got.startswith("標題：繁體")
        else:
            assert got == expected


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ---- furniture only where furniture sits; pinyin that lost its toned vowels ----------------


def _article(*middle: str) -> str:
    return "\n".join(
        [
            "市政府召开新闻发布会",
            "来源：本报",
            "编辑：王敏",
            "正文第一段很长很长的内容，讲述了本次活动的来龙去脉，以及各方的反应和评价。",
            *middle,
            "最后一段同样是正文内容，足够长以便被识别为段落，结尾有句号。",
            "责任编辑：李雷",
            "欢迎",
            "分享到",
        ]
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "欢迎：各位市民周末踊跃参加本次活动",
        "编辑 部署的新规定将于下月起正式实施，相关部门已做好准备。",
        "分享：本次活动的经验将在全市推广",
        "来源于群众的意见建议，已经全部整理成册。",
    ],
)
def test_a_sentence_that_starts_like_furniture_stays(sentence: str) -> None:
    result = clean(_article(sentence))
    assert sentence in result.body
    removed = {r.text for r in result.removals}
    assert {"编辑：王敏", "责任编辑：李雷", "欢迎", "分享到"} <= removed


def test_furniture_mid_article_stays_as_written() -> None:
    """A bare label between paragraphs is not where page furniture sits: it is kept."""
    result = clean(_article("分享到", "中间还有一段正文，同样很长，而且以句号结尾，说明事情的经过。"))
    assert "分享到" in result.body


@pytest.mark.parametrize(
    ("noisy", "clean_text"),
    [
        ("北京(bijng)是首都。", "北京是首都。"),
        ("经济(jngj)发展很快。", "经济发展很快。"),
        ("群众(qnzhng)(qnzhng)很满意。", "群众很满意。"),
        ("高新区(q)(高港区)在这里。", "高新区(高港区)在这里。"),
        ("绿色(l s)出行。", "绿色出行。"),
    ],
)
def test_pinyin_without_its_toned_vowels_is_removed(noisy: str, clean_text: str) -> None:
    assert clean(f"标题\n{noisy}\n").body == (clean_text,)


@pytest.mark.parametrize("kept", ["中国(CN)队", "维生素(C)片", "方案(b)稿", "CPU(CPU)芯片", "部门(BM)代码"])
def test_letters_that_only_fit_the_consonants_stay(kept: str) -> None:
    assert clean(f"标题\n{kept}。\n").body == (f"{kept}。",)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_decoded(tmp_path: Path, codec: str) -> None:
    text = "苏超赛区第二现场\n江苏开门领题，坚持问需于民。群众说：“很好！”\n"
    path = tmp_path / "a.txt"
    path.write_bytes(text.encode(codec))
    assert load_article(path) == text
