"""Caption layout and the transcript files, checked as a subtitle reader would."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from readaloud.clean import clean
from readaloud.episode import EpisodeRecord
from readaloud.model import Cue
from readaloud.segment import segment
from readaloud.speech import plan_chunks
from readaloud.transcript import caption_cues, line_starts, tokens, webvtt, width, wrap

FULL_WIDTH_LINE = 18

CHINESE = [
    Cue(0.0, 3.1, "深入贯彻中央八项规定精神学习教育开展以来，"),
    Cue(3.25, 5.0, "全省广大党员干部深学、细查、笃行，"),
    Cue(
        5.15,
        16.0,
        "在与群众互动交流的过程中受触动、受教育、受启发，不断创新群众工作方式方法，出实招硬招破解难题。",
    ),
]
MIXED = [Cue(0.0, 6.0, "今年一季度GDP同比增长5.2%，完成率达97.84%，AI产业规模突破3,500亿元。")]
LATIN = [
    Cue(0.0, 9.0, "The quick brown fox jumps over the lazy dog and keeps running far away from the hunters.")
]


def shown(cue: Cue) -> list[str]:
    return wrap(cue.text)


def full_width(line: str) -> float:
    return width(line) / 7


@pytest.mark.parametrize("groups", [[CHINESE], [MIXED], [LATIN]], ids=["chinese", "mixed", "latin"])
def test_cues_obey_the_reading_rules(groups: list[list[Cue]]) -> None:
    cues = caption_cues(groups)
    written = "".join(p.text for g in groups for p in g)
    assert "".join(c.text for c in cues) == written  # nothing lost, nothing added
    for cue in cues:
        lines = shown(cue)
        assert 1 <= len(lines) <= 2, lines
        assert all(full_width(line) <= FULL_WIDTH_LINE for line in lines), lines
        assert cue.end - cue.start <= 7.0 + 1e-9
    starts = [c.start for c in cues]
    assert starts == sorted(starts) and cues[0].start == groups[0][0].start
    assert cues[-1].end == groups[-1][-1].end


def test_numbers_percentages_and_words_stay_whole() -> None:
    text = MIXED[0].text
    assert all(t in tokens(text) for t in ("5.2%，", "97.84%，", "3,500"))
    # every break falls between tokens: no word is cut
    bounds = set()
    at = 0
    for tok in tokens(text):
        at += len(tok)
        bounds.add(at)
    assert set(line_starts(text, limit=7 * 8)[1:]) <= bounds  # narrow lines force many breaks
    assert any("97.84%" in line for line in wrap(text, limit=7 * 8))


def test_pieces_that_fit_keep_the_engines_times() -> None:
    """Clause pieces are timed by the audio: a cue made of them starts and ends where they do."""
    cues = caption_cues([CHINESE[:2]])
    assert [(c.start, c.end) for c in cues] == [(0.0, 3.1), (3.25, 5.0)]


def test_a_long_piece_is_shared_out_only_inside_itself() -> None:
    cues = caption_cues([CHINESE[2:]])
    assert len(cues) >= 3
    assert cues[0].start == 5.15 and cues[-1].end == 16.0
    assert all(a.end == b.start for a, b in itertools.pairwise(cues))


def test_caption_golden(golden) -> None:  # type: ignore[no-untyped-def]
    golden("captions.vtt", webvtt(caption_cues([CHINESE, MIXED, LATIN])))


def test_local_engines_speak_clause_by_clause() -> None:
    article = segment(clean("标题\n今天天气很好，我们去公园散步，看到了很多花。\n"))
    chunks = [c for c in plan_chunks(article, max_bytes=150, reads_numbers=False, by_clause=True)]
    body = [c.written for c in chunks if c.kind == "sentence"]
    assert body == ["今天天气很好，", "我们去公园散步，", "看到了很多花。"]
    whole = plan_chunks(article, max_bytes=150, reads_numbers=False)
    assert [c.written for c in whole if c.kind == "sentence"] == [
        "今天天气很好，我们去公园散步，看到了很多花。"
    ]


def test_credit_is_written_as_written() -> None:
    article = segment(clean("标题\n导语一句话，足够长了。\n新华日报·交汇点记者 林元沁\n"))
    (credit,) = [c for c in plan_chunks(article, max_bytes=150, reads_numbers=False) if c.kind == "credit"]
    assert credit.written == "新华日报·交汇点记者 林元沁"
    assert credit.spoken == "新华日报·交汇点 记者 林元沁"


def test_example_transcript_reads_right(example_episode: Path) -> None:
    record = EpisodeRecord.load(example_episode)
    vtt = (example_episode / record.transcript_vtt).read_text(encoding="utf-8")
    blocks = [b.splitlines() for b in vtt.split("\n\n")[1:] if b.strip()]
    too_long = 0
    for block in blocks:
        lines = block[2:]
        assert 1 <= len(lines) <= 2, block
        assert all(full_width(line) <= FULL_WIDTH_LINE for line in lines), block
        start, end = (
            sum(float(x) * m for x, m in zip(t.split(":"), (3600, 60, 1), strict=True))
            for t in block[1].split(" --> ")
        )
        too_long += end - start > 7.0
    assert too_long == 0
    text = "".join(line for block in blocks for line in block[2:])
    assert "新华日报·交汇点记者" in text and "交汇点 记者" not in text
    body = (example_episode / record.text).read_text(encoding="utf-8")
    assert "97.84%" in text and "百分之九十七" not in text
    for sentence in ("全省广大党员干部深学、细查、笃行", "暂无评论"):
        assert (sentence in text) == (sentence in body)


def test_word_timings_place_cuts_where_the_words_are() -> None:
    """Edge times each word: a cue cut inside a sentence starts where that word was heard."""
    from readaloud.model import Boundary
    from readaloud.transcript import timed_pieces

    written = "今天天气很好，我们一起去城市公园散步，看到了很多美丽的花朵和高大的绿色树木。"
    words = ["今天", "天气", "很", "好", "我们", "一起", "去", "城市", "公园", "散步", "看到", "了", "很多"]
    words += ["美丽", "的", "花朵", "和", "高大", "的", "绿色", "树木"]
    # uneven on purpose: the first words are slow, so times cannot come from proportions
    starts = [0.1 + 0.9 * i if i < 6 else 5.5 + 0.2 * (i - 6) for i in range(len(words))]
    bounds = [Boundary(s, s + 0.15, w) for s, w in zip(starts, words, strict=True)]
    pieces = timed_pieces(written, bounds, 10.0, 9.5)
    assert "".join(p.text for p in pieces) == written
    assert pieces[3].text == "好，" and pieces[3].start == 10.0 + starts[3]
    cues = caption_cues([pieces])
    assert "".join(c.text for c in cues) == written
    heard = {10.0 + s for s in starts}
    assert all(c.start in heard for c in cues)
    assert cues[0].text.endswith("，")  # the first cut is at a clause end, not mid-clause


def test_a_spoken_form_that_differs_keeps_one_piece() -> None:
    from readaloud.model import Boundary
    from readaloud.transcript import timed_pieces

    bounds = [Boundary(0.1, 0.5, "拨打"), Boundary(0.5, 2.0, "幺二三四五")]
    assert timed_pieces("拨打12345", bounds, 3.0, 2.2) == [Cue(3.1, 5.0, "拨打12345")]
