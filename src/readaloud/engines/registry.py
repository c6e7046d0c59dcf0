"""Engine name (or `auto`) + voice -> a ready engine, the voice it speaks with, and why.

Each engine is registered once, in SPECS: how to build it and how to tell,
cheaply and before any article is spoken, whether it can run here (None, or
the reason in a few words). `auto` walks PREFERENCE from the voice's own
engine down: Edge when its service answers, else the offline neural voice,
else espeak-ng. Engine modules are imported only when their engine is used,
so the CLI starts without onnxruntime or edge-tts.

Voices follow the engine: a preset names its `fallback`, the preset to use
when its engine is skipped (yunyang -> kokoro-yunyang -> espeak-cmn).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, EngineUnavailable, ReadaloudError
from ..model import Voice
from .base import Engine, check_device


@dataclass(frozen=True)
class EngineSettings:
    """What building an engine may need; the CLI fills it from options and the environment."""

    cache_dir: Path  # where the Kokoro model is joined (the user cache folder)
    edge_url: str | None = None
    timeout: float = 30.0
    device: str = "auto"  # where a model runs: auto, cpu or cuda

    def __post_init__(self) -> None:
        check_device(self.device)  # before `auto` decides whether kokoro is needed at all


@dataclass(frozen=True)
class EngineSpec:
    name: str
    summary: str
    default_voice: str  # the preset used when a voice has no fallback for this engine
    build: Callable[[EngineSettings], Engine]
    unavailable: Callable[[EngineSettings], str | None]


@dataclass(frozen=True)
class Choice:
    engine: Engine
    voice: Voice
    why: str  # one line for the user: which engine, which voice, and why not a better one
    # under `auto`, what it takes to move on to the next engine if this one fails mid-run
    later: tuple[str, ...] = ()
    table: Mapping[str, Voice] | None = None
    settings: EngineSettings | None = None


def fallback_for(choice: Choice, specs: Mapping[str, EngineSpec] | None = None) -> Choice | None:
    """The next engine `auto` would have picked, if the chosen one fails for good; else None."""
    specs = specs or SPECS
    if choice.table is None or choice.settings is None:
        return None
    for i, name in enumerate(choice.later):
        if specs[name].unavailable(choice.settings) is None:
            voice = voice_for(name, choice.voice, choice.table)
            return Choice(
                specs[name].build(choice.settings),
                voice,
                _line(name, voice, specs, ""),
                choice.later[i + 1 :],
                choice.table,
                choice.settings,
            )
    return None


def _edge(settings: EngineSettings) -> Engine:
    from .edge import EdgeEngine

    return EdgeEngine(url=settings.edge_url, timeout=settings.timeout)


def _edge_unavailable(settings: EngineSettings) -> str | None:
    from .edge import probe

    return probe(settings.edge_url, timeout=min(settings.timeout, 5.0))


def _kokoro(settings: EngineSettings) -> Engine:
    from .kokoro import KokoroEngine

    return KokoroEngine(cache_dir=settings.cache_dir, device=settings.device)


def _kokoro_unavailable(settings: EngineSettings) -> str | None:
    try:
        from .kokoro import KokoroEngine

        KokoroEngine(cache_dir=settings.cache_dir, device=settings.device).check()
    except ImportError as exc:
        return f"the Kokoro engine cannot be imported ({exc})"
    except ReadaloudError as exc:
        return str(exc)
    return None


def _espeak(settings: EngineSettings) -> Engine:
    from .espeak import EspeakEngine

    return EspeakEngine()


def _espeak_unavailable(settings: EngineSettings) -> str | None:
    try:
        from .espeak import _library

        _library()
    except ReadaloudError as exc:
        return str(exc)
    return None


SPECS: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec("edge", "Microsoft Edge neural voices, online", "yunyang", _edge, _edge_unavailable),
        EngineSpec(
            "kokoro", "Kokoro-82M neural voice, offline", "kokoro-yunyang", _kokoro, _kokoro_unavailable
        ),
        EngineSpec("espeak", "espeak-ng, offline and robotic", "espeak-cmn", _espeak, _espeak_unavailable),
    )
}
PREFERENCE = ("edge", "kokoro", "espeak")
ENGINE_NAMES = ("auto", *PREFERENCE)


def build(name: str, settings: EngineSettings) -> Engine:
    if name not in SPECS:
        raise ConfigError(f"unknown engine {name!r}: use one of {', '.join(PREFERENCE)}")
    return SPECS[name].build(settings)


def voice_for(engine: str, voice: Voice, table: Mapping[str, Voice]) -> Voice:
    """The voice itself if it belongs to engine, else the first of its fallbacks that does."""
    seen: set[str] = set()
    current: Voice | None = voice
    while current is not None and current.name not in seen:
        if current.engine == engine:
            return current
        seen.add(current.name)
        current = table.get(current.fallback or "")
    default = table.get(SPECS[engine].default_voice)
    if default is None:
        raise ConfigError(f"no {engine} voice preset found: reinstall readaloud or add one with --voices-dir")
    return default


def choose(
    requested: str,
    voice: Voice,
    *,
    table: Mapping[str, Voice],
    settings: EngineSettings,
    specs: Mapping[str, EngineSpec] = SPECS,
) -> Choice:
    """Pick the engine for a run; an explicit engine that cannot run is an error, `auto` moves on."""
    if requested not in ENGINE_NAMES:
        raise ConfigError(f"unknown engine {requested!r}: use one of {', '.join(ENGINE_NAMES)}")
    if requested != "auto":
        if requested == "edge" and voice.engine != "edge":
            raise ConfigError(f"voice {voice.name!r} is not an Edge voice: pick one for --engine edge")
        chosen = voice_for(requested, voice, table)
        reason = specs[requested].unavailable(settings)
        if reason is not None:
            hint = {"edge": "use --engine auto or kokoro to work offline", "kokoro": "or use --engine espeak"}
            raise EngineUnavailable(
                f"{requested} cannot be used: {reason}; {hint.get(requested, 'reinstall readaloud')}"
            )
        return Choice(specs[requested].build(settings), chosen, _line(requested, chosen, specs, ""))
    start = PREFERENCE.index(voice.engine) if voice.engine in PREFERENCE else 0
    skipped: list[str] = []
    for name in PREFERENCE[start:]:
        reason = specs[name].unavailable(settings)
        if reason is None:
            chosen = voice_for(name, voice, table)
            why = f"; skipped {'; '.join(skipped)}" if skipped else ""
            later = PREFERENCE[PREFERENCE.index(name) + 1 :]
            line = _line(name, chosen, specs, why)
            return Choice(specs[name].build(settings), chosen, line, later, table, settings)
        skipped.append(f"{name}: {reason}")
    raise EngineUnavailable(f"no speech engine can run here: {'; '.join(skipped)}")


def _line(name: str, voice: Voice, specs: Mapping[str, EngineSpec], why: str) -> str:
    return f"engine: {name} ({specs[name].summary}), voice {voice.voice}{why}"
