"""audio.encode: the MP3 that comes out is what meets the loudness and peak targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from readaloud import audio

TAGS = audio.Tags(
    title="t", artist="a", album="b", date="2026-01-01", language="chi", comment="c", engine="e", voice="v",
    cover=None,
)  # fmt: skip


def test_encoded_file_meets_the_targets_when_encoding_moves_them(tmp_path: Path) -> None:
    """Hiss with sharp clicks: the MP3 encoder's low-pass takes loudness and its overshoot adds
    peak, as it did with the neural voice (measured on the PCM alone it came out -17.9 LUFS)."""
    rate = 44_100
    rng = np.random.default_rng(1)
    signal = rng.normal(0, 0.06, rate * 20)
    for i in range(0, len(signal) - 10, rate // 20):
        signal[i : i + 3] = [0.95, -0.95, 0.95]
    pcm = tmp_path / "in.pcm"
    pcm.write_bytes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    out = tmp_path / "out.mp3"
    audio.encode([pcm], out, audio.AudioSettings(), TAGS)
    level = audio.loudness(out)  # ffmpeg's ebur128 on the decoded file, as `check` and players see it
    assert abs(level.integrated - audio.TARGET_LUFS) <= 1.0
    assert level.true_peak <= audio.TARGET_TRUE_PEAK
