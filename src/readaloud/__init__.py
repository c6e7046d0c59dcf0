"""readaloud: scraped Chinese news articles -> chaptered, podcast-ready audio."""

from __future__ import annotations

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
