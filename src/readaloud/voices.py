"""Voice presets (TOML files) -> Voice.

Presets ship in the package (readaloud/voices after install; voices/ in a
checkout) and users may add a folder of their own, which wins on name clashes.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path

from .engines.base import hertz, percent
from .engines.registry import PREFERENCE
from .errors import ConfigError
from .model import Voice

DEFAULT_PRESET = "yunyang"
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
    if data["engine"] not in PREFERENCE:
        raise ConfigError(
            f"voice preset {path}: engine must be one of {', '.join(PREFERENCE)}, not {data['engine']!r}"
        )
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
        # no fallback of its own: the registry uses each offline engine's default voice
        voice = Voice("edge", key, language="-".join(key.split("-")[:2]), name=key)
    else:
        raise ConfigError(
            f"unknown voice {key!r}: use a preset ({', '.join(sorted(table))})"
            " or an Edge id like zh-CN-XiaoxiaoNeural"
        )
    changes = {k: v for k, v in (("rate", rate), ("pitch", pitch), ("volume", volume)) if v is not None}
    voice = replace(voice, **changes)
    validate(voice, where="voice options")
    return voice
