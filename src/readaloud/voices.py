"""Voice presets (TOML files) -> Voice; engine choice -> (engine, voice, why).

Presets ship in the package (readaloud/voices after install; voices/ in a
checkout) and users may add a folder of their own, which wins on name clashes.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path

from .engines.base import Engine, hertz, percent
from .errors import ConfigError, EngineUnavailable
from .model import Voice

DEFAULT_PRESET = "yunyang"
OFFLINE_PRESET = "espeak-cmn"
ENGINE_NAMES = ("auto", "edge", "espeak")
_FIELDS = ("name", "engine", "voice", "rate", "pitch", "volume", "language", "description", "fallback")


def builtin_dir() -> Path:
    packaged = Path(str(resources.files("readaloud") / "voices"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "voices"  # a source checkout


def load_preset(path: Path) -> Voice:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"voice preset {path} is not valid TOML ({exc}): fix or remove it") from exc
    unknown = set(data) - set(_FIELDS)
    if unknown:
        raise ConfigError(
            f"voice preset {path}: unknown keys {sorted(unknown)}; allowed: {', '.join(_FIELDS)}"
        )
    for key in ("engine", "voice"):
        if not isinstance(data.get(key), str):
            raise ConfigError(f"voice preset {path} needs a string `{key}`")
    if data["engine"] not in ENGINE_NAMES[1:]:
        raise ConfigError(f"voice preset {path}: engine must be edge or espeak, not {data['engine']!r}")
    voice = Voice(**{k: str(v) for k, v in data.items()} | {"name": str(data.get("name", path.stem))})
    validate(voice, where=f"voice preset {path}")
    return voice


def validate(voice: Voice, *, where: str) -> None:
    try:
        percent(voice.rate, what="rate")
        percent(voice.volume, what="volume")
        hertz(voice.pitch)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def presets(user_dir: Path | None = None) -> dict[str, Voice]:
    found: dict[str, Voice] = {}
    folders = [builtin_dir()]
    if user_dir is not None:
        if not user_dir.is_dir():
            raise ConfigError(f"voices folder {user_dir} does not exist: create it or fix --voices-dir")
        folders.append(user_dir)
    for folder in folders:
        for path in sorted(folder.glob("*.toml")):
            voice = load_preset(path)
            found[voice.name] = voice
    return found


def resolve_voice(
    name: str | None,
    *,
    user_dir: Path | None = None,
    rate: str | None = None,
    pitch: str | None = None,
    volume: str | None = None,
) -> Voice:
    """A preset name or a raw Edge voice id (zh-CN-XiaoxiaoNeural), with overrides."""
    table = presets(user_dir)
    key = name or DEFAULT_PRESET
    if key in table:
        voice = table[key]
    elif key.endswith("Neural") and key.count("-") >= 2:
        voice = Voice("edge", key, language="-".join(key.split("-")[:2]), name=key, fallback=OFFLINE_PRESET)
    else:
        raise ConfigError(
            f"unknown voice {key!r}: use a preset ({', '.join(sorted(table))})"
            " or an Edge id like zh-CN-XiaoxiaoNeural"
        )
    changes = {k: v for k, v in (("rate", rate), ("pitch", pitch), ("volume", volume)) if v is not None}
    voice = replace(voice, **changes)
    validate(voice, where="voice options")
    return voice


def choose_engine(
    requested: str,
    voice: Voice,
    *,
    make: Callable[[str], Engine],
    probe: Callable[[], str | None],
    user_dir: Path | None = None,
) -> tuple[Engine, Voice, str]:
    """Pick the engine for a run: (engine, voice to use, one line saying which and why)."""
    if requested not in ENGINE_NAMES:
        raise ConfigError(f"unknown engine {requested!r}: use one of {', '.join(ENGINE_NAMES)}")
    if requested == "espeak":
        if voice.engine != "espeak":
            voice = presets(user_dir)[voice.fallback or OFFLINE_PRESET]
        return make("espeak"), voice, f"engine: espeak (offline), voice {voice.voice}"
    if voice.engine == "espeak":
        if requested == "edge":
            raise ConfigError(
                f"voice {voice.name!r} is an espeak voice: pick an Edge voice for --engine edge"
            )
        return make("espeak"), voice, f"engine: espeak (offline), voice {voice.voice}"
    why = probe()
    if why is None:
        return make("edge"), voice, f"engine: edge, voice {voice.voice}"
    if requested == "edge":
        raise EngineUnavailable(f"Edge TTS is unreachable: {why}; use --engine espeak to work offline")
    fallback = presets(user_dir).get(voice.fallback or OFFLINE_PRESET) or presets(user_dir)[OFFLINE_PRESET]
    return make("espeak"), fallback, f"engine: espeak (offline) because {why}; voice {fallback.voice}"


def make_engine(name: str, *, edge_url: str | None = None, timeout: float = 30.0) -> Engine:
    if name == "edge":
        from .engines.edge import EdgeEngine

        return EdgeEngine(url=edge_url, timeout=timeout)
    if name == "espeak":
        from .engines.espeak import EspeakEngine

        return EspeakEngine()
    raise ConfigError(f"unknown engine {name!r}: use edge or espeak")
