"""audio.encode and audio.join_episode, judged on the files: loudness by ffmpeg's ebur128, durations
by decoding, and the levelling meter held against pyloudnorm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from readaloud import audio
from readaloud.level import Meter, choose_gain, predict
from readaloud.mp3 import crc16, crc16_combine, read_layout

TAGS = audio.Tags(
    title="t", artist="a", album="b", date="2026-01-01", language="chi", comment="c", engine="e", voice="v",
    cover=None,
)  # fmt: skip
RATE = 22_050


def _pcm(path: Path, signal: np.ndarray) -> Path:
    path.write_bytes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    """Bursts of harmonics with sharp clicks, silent gaps between: peaky like espeak."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(RATE * seconds)) / RATE
    tone = sum(
        np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / k for k, f in enumerate((180, 360, 900, 2500), 1)
    )
    envelope = (np.sin(2 * np.pi * 2.5 * t) > 0.2).astype(float)
    signal = 0.12 * tone * envelope + rng.normal(0, 0.01, len(t)) * envelope
    signal[:: RATE] = 0.6  # a click a second, well above the speech, like a plosive
    return signal


@pytest.mark.parametrize("rate", [16_000, 22_050, 24_000, 44_100])
def test_meter_agrees_with_pyloudnorm(rate: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.05, rate * 12) * (np.arange(rate * 12) % rate < rate * 0.7)
    meter = Meter(rate)
    for i in range(0, len(x), 7919):  # odd block sizes: the result must not depend on them
        meter.add(x[i : i + 7919])
    reference = pyloudnorm.Meter(rate).integrated_loudness(x)
    assert abs(meter.integrated() - reference) < 0.05


def test_gain_lands_on_target_after_limiting() -> None:
    meter = Meter(RATE, peaks=True)
    x = _speechlike(20, 1)
    meter.add(x)
    gain = choose_gain(meter, -16.0, -2.5)
    assert abs(predict(meter, gain, -2.5) - -16.0) < 0.1


def test_encoded_sections_meet_the_targets_and_join_exactly(tmp_path: Path) -> None:
    """Each section file measures -16 LUFS and stays under -1 dBTP after encoding (ffmpeg's
    ebur128 on the decoded file, as `check` and players see it); the joined episode plays
    exactly as long as its Info frame says and each part starts where the chapter says."""
    parts = []
    for n, seconds in enumerate((9.0, 14.0, 6.5)):
        pcm = _pcm(tmp_path / f"{n}.pcm", _speechlike(seconds, n))
        target = tmp_path / f"{n}.mp3"
        done = audio.encode(pcm, RATE, target, audio.AudioSettings(), TAGS, tail=1.2 if n < 2 else 0.0)
        level = audio.loudness(target)
        assert abs(level.integrated - audio.TARGET_LUFS) <= 0.5
        assert level.true_peak <= audio.TARGET_TRUE_PEAK
        expected = seconds + (1.2 if n < 2 else 0.0)
        assert abs(audio.decoded_duration(target, rate=44_100) - expected) < 0.001
        assert abs(done.duration - expected) < 0.001
        parts.append(target)
    episode = tmp_path / "episode.mp3"
    chapters = audio.join_episode(parts, episode, TAGS, ["a", "b", "c"])
    played = audio.decoded_duration(episode, rate=44_100)
    assert abs(played - chapters[-1].end) < 0.001
    assert abs(read_layout(episode).duration - played) < 0.001
    assert [c.start for c in audio.read_chapters(episode)] == [c.start for c in chapters]
    for chapter, part in zip(chapters[1:], parts, strict=False):  # each starts after the one before
        assert (
            0
            <= chapter.start - (chapters[chapters.index(chapter) - 1].start + read_layout(part).duration)
            < 0.06
        )
    level = audio.loudness(episode)
    assert abs(level.integrated - audio.TARGET_LUFS) <= 0.5 and level.true_peak <= audio.TARGET_TRUE_PEAK


def test_joined_music_crc_is_the_crc_of_the_frames(tmp_path: Path) -> None:
    a, b = b"first part of the frames" * 50, b"second part" * 77
    assert crc16_combine(crc16(a), crc16(b), len(b)) == crc16(a + b)


def test_true_peaks_do_not_depend_on_where_blocks_are_cut() -> None:
    """Peaks between samples near a block's edge were measured against zeros; now against the
    real neighbours, so any block size gives the same peaks, one per 5 ms bin of the loudness."""
    x = _speechlike(7.3, 4)
    results = []
    for size in (len(x), 22_050, 4_097, 333):
        meter = Meter(RATE, peaks=True)
        for i in range(0, len(x), size):
            meter.add(x[i : i + size])
        meter.close()
        assert len(meter.bin_peaks()) == len(meter.energies())
        results.append(meter.bin_peaks())
    for other in results[1:]:
        assert np.allclose(other, results[0], atol=1e-6)
    whole = Meter(RATE, peaks=True)
    whole.add(x)
    whole.close()
    assert whole.bin_peaks().max() >= np.abs(x).max()  # a true peak is never below the sample peak


def test_gain_stops_where_the_limiter_takes_everything() -> None:
    """A tone with loud clicks every 140 ms cannot reach -16 LUFS under a -4 dBTP ceiling: the
    gain stops where loudness stops rising, not 97 dB up (it once was) lifting the noise floor."""
    x = _speechlike(14.0, 1)
    x[:: RATE // 7] = 0.99
    meter = Meter(RATE, peaks=True)
    meter.add(x)
    meter.close()
    gain = choose_gain(meter, -15.6, -4.0)
    assert gain <= (-15.6 - meter.integrated()) + 12.0
    assert predict(meter, gain, -4.0) >= predict(meter, gain + 6, -4.0) - 0.3


def test_true_peaks_agree_with_scipys_oversampling() -> None:
    """Our polyphase interpolator against scipy's resample_poly (an independent 4x oversampler):
    the loudest peak of each 5 ms bin within 0.3 dB wherever it is within 20 dB of the top.
    (Lone one-sample clicks are left out: each interpolator rings differently around an impulse.)"""
    from scipy.signal import resample_poly

    x = _speechlike(6.0, 7)
    x[::RATE] = 0.0
    meter = Meter(RATE, peaks=True)
    meter.add(x)
    meter.close()
    ours = meter.bin_peaks()
    up = np.abs(resample_poly(x, 4, 1))
    width = meter.bin * 4
    reference = up[: len(up) // width * width].reshape(-1, width).max(axis=1)
    n = min(len(ours), len(reference))
    loud = reference[:n] > reference.max() / 10
    assert loud.sum() > 50
    assert np.max(np.abs(20 * np.log10(ours[:n][loud] / reference[:n][loud]))) < 0.3


def test_k_weighting_matches_a_recursive_filter() -> None:
    """The frequency-domain K filter against scipy's lfilter running the same two biquads."""
    from scipy.signal import lfilter

    from readaloud.level import _biquads, _KWeighting

    x = np.random.default_rng(5).normal(0, 0.1, RATE * 9)
    reference = x
    for b, a in _biquads(RATE):
        reference = lfilter(b, a, reference)
    weighting = _KWeighting(RATE)
    ours = np.concatenate([weighting(x[i : i + 30_011]) for i in range(0, len(x), 30_011)])
    assert np.max(np.abs(ours - reference)) < 1e-9


def test_an_mp3_chunk_from_an_older_cache_is_still_assembled(tmp_path: Path) -> None:
    """Edge chunks were cached as MP3 before they were decoded at synthesis: such an entry is
    decoded on the way in, at the service's 24 kHz, with the same fades as a WAV chunk."""
    import subprocess

    mp3 = tmp_path / "old.mp3"
    subprocess.run(
        [audio.ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=1.5",
         "-ar", "24000", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k", str(mp3)],
        check=True,
    )  # fmt: skip
    writer = audio.PcmWriter(tmp_path / "s.pcm")
    assert writer.add_chunk(mp3, "mp3") == 0.0
    writer.close()
    assert writer.rate == 24_000
    assert abs(writer.seconds - 1.5) < 0.1
    pcm = np.frombuffer((tmp_path / "s.pcm").read_bytes(), dtype="<i2")
    assert abs(int(pcm[0])) < 200 and np.abs(pcm[len(pcm) // 2 - 100 : len(pcm) // 2 + 100]).max() > 3000  # lavfi sine: 1/8 of full scale
