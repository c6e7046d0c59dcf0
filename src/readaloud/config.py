"""readaloud.toml -> Settings. CLI options override what the file says.

Every value is checked here, and a bad one is reported with its key and the fix.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from .errors import ConfigError, FeedError
from .feed import FeedSettings, check_base_url, parse_category

CONFIG_NAME = "readaloud.toml"

TEMPLATE = """\
# readaloud configuration. Command-line options override these values.

[feed]
title = "我的新闻播客"                 # podcast title
description = "每日新闻，朗读版。"       # shown in podcast apps
base_url = "https://example.com/podcast/"   # where OUTPUT is published (http or https)
author = "readaloud"
owner_name = "Your Name"
owner_email = "you@example.com"
# image = "cover.jpg"                 # 1400-3000 px square JPEG/PNG inside the output folder
category = "News/Daily News"          # from Apple's list, "Main" or "Main/Sub"
language = "zh-cn"
explicit = false
mode = "episodes"                     # or "sections": one feed item per section

[speech]
engine = "auto"                       # auto (edge, else kokoro, else espeak) | edge | kokoro | espeak
voice = "yunyang"                     # a preset (readaloud voices) or an Edge voice id
# device = "auto"                     # kokoro: auto (CUDA when onnxruntime-gpu finds one) | cpu | cuda
# rate = "+0%"
# lexicon = "lexicon.toml"            # [words] "重庆" = "崇庆"
# voices_dir = "my-voices"
concurrency = 4
retries = 5

[output]
dir = "output"
# cache_dir = "/srv/readaloud-cache"  # synthesized chunks; default: the user cache folder
bitrate = "64k"
sample_rate = 44100
# formats = ["podcast", "daisy", "epub", "web"]  # talking books and listening pages beside the podcast
"""

MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)  # kbit/s, MPEG-1 layer III
MP3_RATES = (32000, 44100, 48000)  # what MPEG-1 layer III allows
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


@dataclass(frozen=True)
class SpeechSettings:
    """[speech]: each default is defined here and only here."""

    engine: str = "auto"
    device: str = "auto"
    voice: str | None = None  # None: the engine's default preset
    rate: str | None = None
    pitch: str | None = None
    volume: str | None = None
    lexicon: str | None = None
    voices_dir: str | None = None
    concurrency: int = 4
    retries: int = 5
    announce: bool = True


@dataclass(frozen=True)
class OutputSettings:
    """[output]: each default is defined here and only here."""

    dir: str = "output"
    cache_dir: str | None = None  # None: the user cache folder (READALOUD_CACHE_DIR overrides)
    bitrate: str = "64k"
    sample_rate: int = 44100
    sentence_pause: float = 0.35
    section_pause: float = 1.2
    formats: tuple[str, ...] = ("podcast",)  # any of podcast, daisy, epub, web


_SECTIONS: dict[str, type] = {"feed": FeedSettings, "speech": SpeechSettings, "output": OutputSettings}


@dataclass(frozen=True)
class Settings:
    feed: FeedSettings = FeedSettings()
    speech: SpeechSettings = SpeechSettings()
    output: OutputSettings = OutputSettings()
    base_dir: Path = Path(".")  # relative paths in the file are relative to it

    def path(self, value: str | None) -> Path | None:
        return None if value is None else (self.base_dir / value)


def load_settings(path: Path | None) -> Settings:
    """Read a config file; with no path, ./readaloud.toml if present, else defaults.

    Every key is checked here, before any work starts: a wrong type or value is one line
    naming the key, the value and what it should be.
    """
    if path is None:
        default = Path(CONFIG_NAME)
        if not default.exists():
            return Settings()
        path = default
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config {path} does not exist: run `readaloud init` to write one") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"config {path} is a folder: name the readaloud.toml file itself") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path} is not valid TOML ({exc}): fix the line it names") from exc
    where = f"config {path}"
    tables: dict[str, Any] = {}
    for name, table in data.items():
        if name not in _SECTIONS:
            raise ConfigError(
                f"{where}: unknown section [{name}]; use {', '.join(f'[{n}]' for n in _SECTIONS)}"
            )
        if not isinstance(table, dict):
            raise ConfigError(
                f"{where}: {name} = {table!r} must be a section: write [{name}] and its keys under it"
            )
        known = {f.name for f in fields(_SECTIONS[name])}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {unknown[0]!r} in [{name}]; known keys: {', '.join(sorted(known))}"
            )
        tables[name] = table
    return Settings(
        check_feed(_typed(FeedSettings, tables.get("feed", {}), where, "feed"), where=where),
        validate_speech(_typed(SpeechSettings, tables.get("speech", {}), where, "speech"), where=where),
        validate_output(_typed(OutputSettings, tables.get("output", {}), where, "output"), where=where),
        path.parent,
    )


_T = TypeVar("_T")


def _typed(cls: type[_T], values: dict[str, Any], where: str, section: str) -> _T:
    """values checked against the dataclass's annotations: str, int, float, bool, or optional str."""
    hints = get_type_hints(cls)
    for key, value in values.items():
        hint = hints[key]
        wanted: tuple[type, ...]
        if hint is bool:
            wanted, label = (bool,), "true or false"
        elif hint is int:
            wanted, label = (int,), "a whole number"
        elif hint is float:
            wanted, label = (int, float), "a number"
        elif hint == tuple[str, ...]:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(
                    f'{where}: [{section}] {key} = {value!r} must be a list of strings, e.g. ["podcast"]'
                )
            values = {**values, key: tuple(value)}
            continue
        else:
            wanted, label = (str,), "a quoted string"
        if (isinstance(value, bool) and hint is not bool) or not isinstance(value, wanted):
            raise ConfigError(f"{where}: [{section}] {key} = {value!r} must be {label}")
    return cls(**values)


def validate_speech(speech: SpeechSettings, *, where: str) -> SpeechSettings:
    from .engines.base import DEVICES, hertz, percent
    from .engines.registry import ENGINE_NAMES

    if speech.engine not in ENGINE_NAMES:
        raise ConfigError(f"{where}: engine {speech.engine!r} is not one of {', '.join(ENGINE_NAMES)}")
    if speech.device not in DEVICES:
        raise ConfigError(f"{where}: device {speech.device!r} is not one of {', '.join(DEVICES)}")
    if not 1 <= speech.concurrency <= 16:
        raise ConfigError(f"{where}: concurrency {speech.concurrency} must be between 1 and 16")
    if not 1 <= speech.retries <= 20:
        raise ConfigError(f"{where}: retries {speech.retries} must be between 1 and 20 (attempts per chunk)")
    try:
        if speech.rate is not None:
            percent(speech.rate, what="rate")
        if speech.volume is not None:
            percent(speech.volume, what="volume")
        if speech.pitch is not None:
            hertz(speech.pitch)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if speech.voice is not None and not speech.voice.strip():
        raise ConfigError(f"{where}: voice is empty: name a preset (`readaloud voices`) or remove the key")
    return speech


def validate_output(output: OutputSettings, *, where: str) -> OutputSettings:
    match = re.fullmatch(r"(\d+)k", output.bitrate)
    if not match or int(match.group(1)) not in MP3_BITRATES:
        raise ConfigError(
            f"{where}: bitrate {output.bitrate!r} is not an MP3 bitrate; use one of "
            + ", ".join(f"{b}k" for b in MP3_BITRATES)
        )
    if output.sample_rate not in MP3_RATES:
        raise ConfigError(
            f"{where}: sample_rate {output.sample_rate} is not an MP3 rate; use one of "
            + ", ".join(map(str, MP3_RATES))
        )
    for key in ("sentence_pause", "section_pause"):
        value = getattr(output, key)
        if not 0 <= value <= 10:
            raise ConfigError(f"{where}: {key} {value} must be between 0 and 10 seconds")
    if output.cache_dir is not None and not output.cache_dir.strip():
        raise ConfigError(f"{where}: cache_dir is empty: name a folder or remove the key")
    from .publish import FORMATS

    unknown = [f for f in output.formats if f not in FORMATS]
    if unknown or not output.formats:
        raise ConfigError(
            f"{where}: format {unknown[0]!r} is not one of {', '.join(FORMATS)}"
            if unknown
            else f"{where}: formats is empty: name at least one of {', '.join(FORMATS)}"
        )
    if not output.dir.strip():
        raise ConfigError(f'{where}: dir is empty: name the output folder, e.g. "output"')
    return output


def check_feed(settings: FeedSettings, *, where: str) -> FeedSettings:
    try:
        base = check_base_url(settings.base_url)
        parse_category(settings.category)
    except FeedError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if settings.mode not in ("episodes", "sections"):
        raise ConfigError(f"{where}: feed mode must be 'episodes' or 'sections', not {settings.mode!r}")
    if "@" not in settings.owner_email:
        raise ConfigError(f"{where}: owner_email {settings.owner_email!r} is not an e-mail address")
    for key in ("title", "description", "author", "owner_name"):
        if not getattr(settings, key).strip():
            raise ConfigError(f"{where}: feed {key} is empty: podcast apps need one")
    if not _LANGUAGE.match(settings.language.lower()):
        raise ConfigError(
            f"{where}: feed language {settings.language!r} is not a language code like zh-cn or en-us"
        )
    if settings.image is not None and not settings.image.strip():
        raise ConfigError(f"{where}: feed image is empty: name a file in the output folder or remove the key")
    return replace(settings, base_url=base, language=settings.language.lower())


def check_image(path: Path) -> list[str]:
    """Warnings about a cover image: Apple wants a 1400-3000 px square JPEG or PNG."""
    if not path.is_file():
        raise ConfigError(f"cover image {path} is unreadable: fix [feed] image or add the file")
    head = path.read_bytes()[: 64 * 1024]
    size = _png_size(head) or _jpeg_size(head)
    if size is None:
        return [f"cover image {path.name} is not a PNG or JPEG: Apple Podcasts will reject it"]
    w, h = size
    if w != h or not 1400 <= w <= 3000:
        return [f"cover image {path.name} is {w}x{h}: Apple wants a square of 1400 to 3000 px"]
    return []


def _png_size(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    if head[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            i += 1
            continue
        marker = head[i + 1]
        length = int.from_bytes(head[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(head[i + 7 : i + 9], "big"), int.from_bytes(head[i + 5 : i + 7], "big")
        i += 2 + length
    return None
