"""readaloud: scraped Chinese news articles -> chaptered, podcast-ready audio.

The public names are imported on first use, so `readaloud --help` and the
CLI's light commands do not pay for the whole pipeline (numpy, pypinyin, jieba).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clean import clean
    from .errors import ReadaloudError
    from .model import Article, Cleaned, Section, Sentence, Voice
    from .pipeline import ConvertOptions, convert, prepare
    from .segment import segment

__all__ = [
    "Article",
    "Cleaned",
    "ConvertOptions",
    "ReadaloudError",
    "Section",
    "Sentence",
    "Voice",
    "__version__",
    "clean",
    "convert",
    "prepare",
    "segment",
]
__version__ = "0.1.0"

_HOME = {
    "clean": "clean",
    "ReadaloudError": "errors",
    "Article": "model",
    "Cleaned": "model",
    "Section": "model",
    "Sentence": "model",
    "Voice": "model",
    "ConvertOptions": "pipeline",
    "convert": "pipeline",
    "prepare": "pipeline",
    "segment": "segment",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'readaloud' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
