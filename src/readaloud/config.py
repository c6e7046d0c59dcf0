"""readaloud.toml -> Settings. CLI options override what the file says.

Every value is checked here, and a bad one is reported with its key and the fix.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
bitrate = "64k"
sample_rate = 44100
"""

_SECTIONS: dict[str, tuple[str, ...]] = {
    "feed": (
        "title",
        "description",
        "base_url",
        "link",
        "author",
        "owner_name",
        "owner_email",
        "image",
        "category",
        "language",
        "explicit",
        "locked",
        "mode",
    ),
    "speech": (
        "engine",
        "device",
        "voice",
        "rate",
        "pitch",
        "volume",
        "lexicon",
        "voices_dir",
        "concurrency",
        "retries",
        "announce",
    ),
    "output": ("dir", "bitrate", "sample_rate", "sentence_pause", "section_pause"),
}


@dataclass(frozen=True)
class Settings:
    feed: FeedSettings = FeedSettings()
    speech: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    base_dir: Path = Path(".")  # relative paths in the file are relative to it

    def path(self, value: str | None) -> Path | None:
        return None if value is None else (self.base_dir / value)


def load_settings(path: Path | None) -> Settings:
    """Read a config file; with no path, ./readaloud.toml if present, else defaults."""
    if path is None:
        default = Path(CONFIG_NAME)
        if not default.exists():
            return Settings()
        path = default
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config {path} does not exist: run `readaloud init` to write one") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path} is not valid TOML ({exc}): fix the line it names") from exc
    for name, table in data.items():
        if name not in _SECTIONS or not isinstance(table, dict):
            raise ConfigError(f"config {path}: unknown section [{name}]; use {', '.join(_SECTIONS)}")
        unknown = set(table) - set(_SECTIONS[name])
        if unknown:
            raise ConfigError(f"config {path}: unknown key(s) {sorted(unknown)} in [{name}]")
    feed_values = data.get("feed", {})
    feed = _feed(feed_values, path)
    return Settings(feed, dict(data.get("speech", {})), dict(data.get("output", {})), path.parent)


def _feed(values: dict[str, Any], path: Path) -> FeedSettings:
    settings = FeedSettings()
    for key, value in values.items():
        expected = bool if key in ("explicit", "locked") else str
        if not isinstance(value, expected):
            raise ConfigError(f"config {path}: [feed] {key} must be a {expected.__name__}")
    settings = replace(settings, **values)
    return check_feed(settings, where=f"config {path}")


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
    return replace(settings, base_url=base)


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
