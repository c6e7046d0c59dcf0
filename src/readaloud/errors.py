"""Every exception readaloud raises on purpose.

    ReadaloudError                  the only thing the CLI catches
    ├── InputError                  unreadable, empty or undecodable articles
    ├── ConfigError                 bad readaloud.toml, preset, lexicon or option values
    ├── EngineError                 speech synthesis failed
    │   ├── EngineUnavailable       the engine cannot be reached or loaded at all
    │   └── TransientEngineError    one request failed in a way worth retrying
    ├── AudioError                  ffmpeg decoding/encoding or tagging failed
    ├── OutputError                 the output folder cannot be written
    └── FeedError                   the feed or an episode record is invalid

Each message says what went wrong and what to do next, in one line.
"""

from __future__ import annotations


class ReadaloudError(Exception):
    """Base of every error readaloud raises deliberately."""


class InputError(ReadaloudError):
    """An article cannot be read or holds nothing to speak."""


class ConfigError(ReadaloudError):
    """A configuration value, preset or lexicon is invalid."""


class EngineError(ReadaloudError):
    """Speech synthesis failed for good."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached (network) or loaded (library)."""


class TransientEngineError(EngineError):
    """One synthesis request failed in a way that a retry may fix."""


class AudioError(ReadaloudError):
    """Decoding, encoding, measuring or tagging audio failed."""


class OutputError(ReadaloudError):
    """The output location cannot be created or written."""


class FeedError(ReadaloudError):
    """The podcast feed or an episode record is invalid."""
