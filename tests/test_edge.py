"""The real edge-tts client against a loopback server speaking Edge's protocol."""

from __future__ import annotations

import io
import itertools
import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest

from readaloud.check import check_episode
from readaloud.engines.edge import EdgeEngine, list_online_voices, probe
from readaloud.engines.registry import EngineSettings, choose
from readaloud.errors import EngineError, EngineUnavailable, TransientEngineError
from readaloud.model import SpokenChunk, Voice
from readaloud.pipeline import ConvertOptions, convert
from readaloud.synthesize import Cache, RetryPolicy, Stats, render_all
from readaloud.voices import presets, resolve_voice
from tests.conftest import run_cli
from tests.edge_server import FAULTS, EdgeServer

VOICE = Voice("edge", "zh-CN-YunyangNeural", language="zh-CN", fallback="espeak-cmn")
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
ARTICLE = (
    "测试标题\n"
    "这是导语部分的第一句话，用来测试在线引擎。这是第二句话，内容也足够长。\n"
    "第一个小标题\n"
    "正文第一段有好几句话，每一句都会单独合成。这里是第二句，用来检查顺序。这里是第三句。\n"
    "第二个小标题\n"
    "最后一段的内容同样足够长，可以说明问题。结束。\n"
    "记者 张三\n"
)


def chunks(n: int) -> list[SpokenChunk]:
    """One sentence in each of n sections: n requests (requests never span sections)."""
    return [
        SpokenChunk(i, 0, f"第{i}句话用来测试顺序和并发。", f"第{i}句话用来测试顺序和并发。")
        for i in range(n)
    ]


def test_synthesizes_with_word_timings(edge_server: EdgeServer) -> None:
    speech = EdgeEngine(url=edge_server.url).synthesize("你好，世界。这是一个测试句子。", VOICE)
    with wave.open(io.BytesIO(speech.audio)) as w:  # the service's MP3, decoded once
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24_000, 1, 2)
        assert speech.duration == pytest.approx(w.getnframes() / 24_000)
    assert speech.format == "wav"
    assert 2.5 < speech.duration < 4.0  # 15 characters at the server's 5 per second
    assert [b.text for b in speech.boundaries] == list("你好世界这是一个测试句子")  # words, no marks
    assert speech.boundaries[0].start == pytest.approx(0.05)
    assert all(a.start < b.start for a, b in itertools.pairwise(speech.boundaries))
    assert speech.boundaries[-1].end <= speech.duration
    assert edge_server.texts == ["你好，世界。这是一个测试句子。"]


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_once_is_retried(edge_server: EdgeServer, tmp_path: Path, fault: str) -> None:
    edge_server.faults.append(fault)
    engine = EdgeEngine(url=edge_server.url, timeout=2)
    stats = Stats()
    [future] = render_all(
        chunks(1), engine=engine, voice=VOICE, cache=Cache(tmp_path), retry=FAST, stats=stats
    )
    done = future.result(timeout=60)
    assert done.duration > 2
    assert edge_server.connections >= 2  # the request really was made again (edge-tts retries a 403 itself)
    assert stats.retries >= (0 if fault == "403" else 1)


@pytest.mark.parametrize("fault", ["no_audio", "reset", "429", "truncate"])
def test_persistent_fault_gives_a_clear_error(edge_server: EdgeServer, fault: str) -> None:
    from readaloud.synthesize import render_group

    edge_server.persistent = fault
    with pytest.raises(TransientEngineError, match="gave up after 3 attempts"):
        render_group(
            chunks(1),
            0,
            engine=EdgeEngine(url=edge_server.url, timeout=2),
            voice=VOICE,
            cache=Cache(Path("/nonexistent-never-written")),
            retry=RetryPolicy(3, 0.01, 0.02),
            stats=Stats(),
        )


def test_concurrency_bound_and_order_under_random_delays(edge_server: EdgeServer, tmp_path: Path) -> None:
    edge_server.delay = (0.0, 0.15)
    items = chunks(16)
    futures = render_all(
        items,
        engine=EdgeEngine(url=edge_server.url),
        voice=VOICE,
        cache=Cache(tmp_path),
        concurrency=3,
        retry=FAST,
    )
    results = [f.result(timeout=60) for f in futures]
    assert [r.chunk for r in results] == items
    assert edge_server.max_active <= 3
    assert edge_server.max_active >= 2  # it really ran in parallel


def test_concurrency_outside_bounds_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="between 1 and 16"):
        render_all(
            chunks(1),
            engine=EdgeEngine(url="ws://127.0.0.1:9/x?y=1"),
            voice=VOICE,
            cache=Cache(tmp_path),
            concurrency=17,
        )


def _convert(
    server_url: str, article: Path, out: Path, stats: Stats, retry: RetryPolicy = FAST, force: bool = False
):  # type: ignore[no-untyped-def]
    return convert(
        article,
        engine=EdgeEngine(url=server_url, timeout=2),
        voice=VOICE,
        options=ConvertOptions(output=out, retry=retry, force=force),
        now=datetime(2026, 1, 2, tzinfo=UTC),
        stats=stats,
    )


def test_cache_makes_reruns_free_and_edits_cheap(edge_server: EdgeServer, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out"
    first = Stats()
    record = _convert(edge_server.url, article, out, first)
    # one request per section, each carrying its heading and sentences (45 for the example before)
    assert first.requests == edge_server.ssml_requests == 3
    assert any(
        "正文第一段有好几句话，每一句都会单独合成。\n这里是第二句，用来检查顺序。" in t
        for t in edge_server.texts
    )
    assert record.engine == "edge" and record.voice == "zh-CN-YunyangNeural"
    cues = read_cues((out / record.slug / record.transcript_vtt).read_text(encoding="utf-8"))
    texts = [text for _, _, text in cues]
    for sentence in (
        "这里是第二句，用来检查顺序。",
        "这里是第三句。",
        "最后一段的内容同样足够长，可以说明问题。",
    ):
        assert any(sentence in t for t in texts)  # every sentence still has its own cue
    starts = [start for start, _, _ in cues]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)

    assert first.encodes == 3  # one per section; the episode is joined from them

    again = Stats()
    _convert(edge_server.url, article, out, again)
    assert (again.skipped, again.requests, again.cache_hits, again.encodes) == (1, 0, 0, 0)

    forced = Stats()
    _convert(edge_server.url, article, out, forced, force=True)
    assert forced.requests == 0 and forced.cache_hits == first.requests
    assert forced.encodes == 0  # every section's recipe is unchanged: its MP3 is kept

    article.write_text(ARTICLE.replace("这里是第三句。", "这里是改过的第三句。"), encoding="utf-8")
    edited = Stats()
    record = _convert(edge_server.url, article, out, edited)
    assert edited.requests == 1 and edited.encodes == 1  # that section only; the episode is a join
    assert "这里是改过的第三句。" in edge_server.texts[-1]
    assert check_episode(out / record.slug) == []


def test_failure_keeps_finished_sections_and_resumes(edge_server: EdgeServer, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out"
    edge_server.fail_texts = {"最后一段的内容同样足够长，可以说明问题。"}
    with pytest.raises(EngineError) as info:
        _convert(edge_server.url, article, out, Stats(), retry=RetryPolicy(2, 0.01, 0.02))
    message = str(info.value)
    assert "a.txt: section 3 (第二个小标题)" in message and "7 of 11 chunks are cached" in message
    assert not list(out.glob("*/*.mp3"))  # an episode is published whole or not at all

    edge_server.fail_texts = set()
    before = edge_server.ssml_requests
    resumed = Stats()
    _convert(edge_server.url, article, out, resumed)
    assert resumed.requests == 1  # only the failed section's request; the others came from the cache
    assert edge_server.ssml_requests - before == 1
    assert sorted(p.name[:3] for p in out.glob("*/[0-9][0-9]-*.mp3")) == ["01-", "02-", "03-"]


def test_probe_and_auto_choice(edge_server: EdgeServer, kokoro_cache: Path) -> None:
    assert probe(edge_server.url) is None
    assert "unreachable" in (probe("ws://127.0.0.1:9/closed?x=1") or "")
    voice = resolve_voice("yunyang")
    up = EngineSettings(cache_dir=kokoro_cache, edge_url=edge_server.url)
    picked = choose("auto", voice, table=presets(), settings=up)
    assert picked.engine.name == "edge" and picked.voice.voice == "zh-CN-YunyangNeural"
    assert picked.why.startswith("engine: edge")
    down = EngineSettings(cache_dir=kokoro_cache, edge_url="ws://127.0.0.1:9/x?y=1")
    picked = choose("auto", voice, table=presets(), settings=down)
    assert (
        picked.engine.name == "kokoro" and picked.voice.voice == "zm_yunyang" and "unreachable" in picked.why
    )
    picked = choose("espeak", voice, table=presets(), settings=down)
    assert picked.engine.name == "espeak" and picked.voice.voice == "cmn"
    with pytest.raises(EngineUnavailable, match="--engine auto or kokoro"):
        choose("edge", voice, table=presets(), settings=down)


def test_online_voice_list(edge_server: EdgeServer) -> None:
    names = [v["ShortName"] for v in list_online_voices(edge_server.url, locale="zh-CN")]
    assert names == ["zh-CN-YunyangNeural", "zh-CN-XiaoxiaoNeural"]


def test_cli_edge_engine_through_env(edge_server: EdgeServer, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    done = run_cli(
        "convert",
        str(article),
        "-o",
        str(tmp_path / "out"),
        "--engine",
        "auto",
        "--quiet",
        env={"READALOUD_EDGE_URL": edge_server.url},
    )
    assert done.returncode == 0, done.stderr
    assert edge_server.ssml_requests >= 4  # the probe's test phrase, then one request per section
    record = (next((tmp_path / "out").glob("*/episode.json"))).read_text(encoding="utf-8")
    assert '"engine": "edge"' in record


def test_cli_edge_unreachable_is_one_clear_line(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    done = run_cli("convert", str(article), "-o", str(tmp_path / "out"), "--engine", "edge")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line
    assert "edge cannot be used" in done.stderr and "unreachable" in done.stderr
    assert "--engine auto or kokoro" in done.stderr and "Traceback" not in done.stderr


def test_corrupt_cache_entry_is_detected_and_redone(edge_server: EdgeServer, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out"
    _convert(edge_server.url, article, out, Stats())
    victim = sorted((out / ".cache").glob("*/*.wav"))[0]
    victim.write_bytes(victim.read_bytes()[:100])  # a torn write from another tool, or disk damage
    again = Stats()
    _convert(edge_server.url, article, out, again, force=True)
    assert again.requests == 1
    assert victim.stat().st_size > 1000


def test_the_library_endpoint_is_put_back_after_each_request(edge_server: EdgeServer) -> None:
    import edge_tts.communicate

    original = edge_tts.communicate.WSS_URL  # type: ignore[attr-defined]
    EdgeEngine(url=edge_server.url).synthesize("你好，世界。", VOICE)
    assert original == edge_tts.communicate.WSS_URL  # type: ignore[attr-defined]


def test_an_unmapped_edge_tts_error_is_a_retryable_engine_error(edge_server: EdgeServer) -> None:
    """A 403 without a Date header makes edge-tts raise SkewAdjustmentError, which was not mapped."""
    edge_server.persistent = "403"
    with pytest.raises(TransientEngineError):
        EdgeEngine(url=edge_server.url, timeout=2).synthesize("你好，世界。", VOICE)


def read_cues(vtt: str) -> list[tuple[float, float, str]]:
    """(start, end, text) per cue, parsed here on its own (not with the code under test)."""
    out = []
    for block in vtt.strip().split("\n\n")[1:]:
        lines = block.splitlines()
        timing = next(i for i, line in enumerate(lines) if "-->" in line)
        a, b = (t.strip().split()[0] for t in lines[timing].split("-->"))

        def seconds(t: str) -> float:
            h, m, s = t.split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)

        out.append((seconds(a), seconds(b), "".join(lines[timing + 1 :])))
    return out
